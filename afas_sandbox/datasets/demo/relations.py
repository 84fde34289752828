"""Writers for KnPerson and KnOrganisation, with AFAS's match rules (MatchPer / MatchOga).

A match value chooses how an incoming element finds an existing relation (afas-rest-api.md
section 6.3): by number (BcCo), BSN or KvK number, name and other fields, or "always insert".
A match found turns an insert into an update; more than one match is an error. Sub-objects with
rows of their own (an organisation's KnContact) go to the ``sub_writers`` after the relation
itself is written; deleting an organisation deletes its contacts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from afas_sandbox.datasets.demo.rows import (
    ENTITY_CONTACT,
    ENTITY_ORGANISATION,
    ENTITY_PERSON,
    columns_of,
    insert_row,
    next_int,
    update_row,
)
from afas_sandbox.datasets.demo.updateconnectors import U_MEMBER_NUMBER, U_NEWSLETTER
from afas_sandbox.updates.writer import DeleteTarget, Element, WriteContext

ADDRESS_COLUMNS = {
    "CoId": "country",
    "Ad": "street",
    "HmNr": "house_number",
    "HmAd": "house_number_add",
    "ZpCd": "zip_code",
    "Rs": "city",
}


@dataclass(frozen=True)
class RelationKind:
    """What differs between persons and organisations."""

    object_name: str
    table: str
    entity: str
    match_field: str
    always_insert: str
    first_number: int
    first_bc_id: int
    columns: dict[str, str]
    matches: dict[str, tuple[str, ...]]
    unsupported: tuple[str, ...] = ()


PERSON_KIND = RelationKind(
    object_name="KnPerson",
    table="persons",
    entity=ENTITY_PERSON,
    match_field="MatchPer",
    always_insert="7",
    first_number=100001,
    first_bc_id=1,
    columns={
        "BcCo": "bc_co",
        "SeNm": "search_name",
        "CaNm": "call_name",
        "FiNm": "first_name",
        "In": "initials",
        "Is": "prefix",
        "LaNm": "last_name",
        "ViGe": "gender",
        "DaBi": "birth_date",
        "SoSe": "bsn",
        "EmAd": "email",
        "TeNr": "phone",
        "MbNr": "mobile",
        U_MEMBER_NUMBER: "member_number",
        U_NEWSLETTER: "newsletter",
    },
    matches={
        "0": ("BcCo",),
        "9": ("BcCo",),
        "1": ("SoSe",),
        "2": ("LaNm", "Is", "In", "ViGe"),
        "3": ("LaNm", "Is", "In", "ViGe", "EmAd"),
        "4": ("LaNm", "Is", "In", "ViGe", "MbNr"),
        "5": ("LaNm", "Is", "In", "ViGe", "TeNr"),
        "6": ("LaNm", "Is", "In", "ViGe", "DaBi"),
    },
)

ORGANISATION_KIND = RelationKind(
    object_name="KnOrganisation",
    table="organisations",
    entity=ENTITY_ORGANISATION,
    match_field="MatchOga",
    always_insert="6",
    first_number=200001,
    first_bc_id=100001,
    columns={
        "BcCo": "bc_co",
        "Nm": "name",
        "CcNr": "coc_number",
        "FiNr": "fiscal_number",
        "ViLe": "legal_form",
        "EmAd": "email",
        "TeNr": "phone",
        "HoPa": "website",
    },
    matches={"0": ("BcCo",), "9": ("BcCo",), "1": ("CcNr",), "2": ("FiNr",), "3": ("Nm",)},
    unsupported=("4", "5"),
)


class SubObjectWriter(Protocol):
    """Writes the elements of one sub-object of a relation (``parent`` is its number)."""

    def apply(self, ctx: WriteContext, parent: str, elements: list[Element]) -> None: ...


class RelationWriter:
    """KnPerson or KnOrganisation: insert, update and delete relations by their number."""

    def __init__(
        self, kind: RelationKind, sub_writers: Mapping[str, SubObjectWriter] | None = None
    ) -> None:
        self.kind = kind
        self.sub_writers = dict(sub_writers or {})

    def insert(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        found = self.find(ctx, element, for_update=False)
        if found is not None:
            result = self._update_found(ctx, element, found)
        else:
            result = self._insert_new(ctx, element)
        return self._sub_objects(ctx, element, result)

    def update(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        found = self.find(ctx, element, for_update=True)
        if found is None:
            raise ctx.reject(
                "record_missing", key=element.value("BcCo"), object=self.kind.object_name
            )
        return self._sub_objects(ctx, element, self._update_found(ctx, element, found))

    def _sub_objects(
        self, ctx: WriteContext, element: Element, result: dict[str, str]
    ) -> dict[str, str]:
        for name, writer in self.sub_writers.items():
            if element.objects.get(name):
                writer.apply(ctx, result["BcCo"], element.objects[name])
        return result

    def delete(self, ctx: WriteContext, target: DeleteTarget) -> None:
        (_, keys), *rest = target.path
        number = keys.get("BcCo")
        if rest or number is None:
            raise ctx.reject("key_required", field="BcCo", object=self.kind.object_name)
        kind = self.kind
        if (
            kind.table == "persons"
            and ctx.conn.execute(
                "SELECT 1 FROM employees WHERE person_bc_co = ?", (number,)
            ).fetchone()
        ):
            raise ctx.reject("record_exists", key=f"employee of {number}", object="AfasEmployee")
        deleted = ctx.conn.execute(f"DELETE FROM {kind.table} WHERE bc_co = ?", (number,))
        if deleted.rowcount == 0:
            raise ctx.reject("record_missing", key=number, object=kind.object_name)
        ctx.log_delete(kind.entity, number)
        if kind.table == "organisations":
            contacts = ctx.conn.execute(
                "DELETE FROM contacts WHERE organisation_bc_co = ? RETURNING cd_id", (number,)
            ).fetchall()
            for (cd_id,) in sorted(contacts):
                ctx.log_delete(ENTITY_CONTACT, str(cd_id))

    def find(
        self, ctx: WriteContext, element: Element, *, for_update: bool
    ) -> tuple[int, str] | None:
        """The (bc_id, bc_co) the element matches, following its match setting."""
        kind = self.kind
        match = element.value(kind.match_field)
        if match is None:
            match = "0" if for_update or element.value("BcCo") is not None else kind.always_insert
        if match in kind.unsupported:
            raise ctx.reject("unsupported_match", match=f"{kind.match_field}={match}")
        if match == kind.always_insert:
            number = element.value("BcCo")
            if number is not None and not element.value("AutoNum") and self._by_number(ctx, number):
                raise ctx.reject("record_exists", key=number, object=kind.object_name)
            return None
        fields = kind.matches[match]
        if any(element.value(f) is None for f in fields if f in ("BcCo", "SoSe", "CcNr", "FiNr")):
            if for_update:
                raise ctx.reject("key_required", field=fields[0], object=kind.object_name)
            return None
        where = " AND ".join(f"{kind.columns[f]} IS ?" for f in fields)
        rows = ctx.conn.execute(
            f"SELECT bc_id, bc_co FROM {kind.table} WHERE {where} LIMIT 2",
            tuple(element.value(f) for f in fields),
        ).fetchall()
        if len(rows) > 1:
            raise ctx.reject(
                "multiple_matches", object=kind.object_name, match=f"{kind.match_field}={match}"
            )
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def _by_number(self, ctx: WriteContext, number: str) -> bool:
        sql = f"SELECT 1 FROM {self.kind.table} WHERE bc_co = ?"
        return ctx.conn.execute(sql, (number,)).fetchone() is not None

    def _values(self, element: Element) -> dict[str, Any]:
        values = columns_of(element, self.kind.columns)
        values.pop("bc_co", None)
        address = element.one("KnBasicAddressAdr")
        if address is not None:
            values.update(columns_of(address, ADDRESS_COLUMNS))
        return values

    def _insert_new(self, ctx: WriteContext, element: Element) -> dict[str, str]:
        kind = self.kind
        conn = ctx.conn
        bc_id = next_int(conn, f"SELECT max(bc_id) FROM {kind.table}", kind.first_bc_id)
        number = element.value("BcCo")
        if number is None or element.value("AutoNum"):
            number = str(
                next_int(
                    conn,
                    f"SELECT max(CAST(bc_co AS INTEGER)) FROM {kind.table}"
                    " WHERE bc_co GLOB '[0-9]*'",
                    kind.first_number,
                )
            )
        values = {"bc_id": bc_id, "bc_co": number, **self._values(element)}
        if kind.table == "persons" and values.get("search_name") is None:
            values["search_name"] = str(values.get("last_name") or "").upper()[:10] or None
        values["created"] = values["modified"] = ctx.stamp
        insert_row(conn, kind.table, values)
        return {"BcId": str(bc_id), "BcCo": number}

    def _update_found(
        self, ctx: WriteContext, element: Element, found: tuple[int, str]
    ) -> dict[str, str]:
        bc_id, number = found
        update_row(ctx.conn, self.kind.table, {"bc_id": bc_id}, self._values(element), ctx.stamp)
        return {"BcId": str(bc_id), "BcCo": number}
