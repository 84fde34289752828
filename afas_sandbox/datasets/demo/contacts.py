"""Contacts of organisations (KnContact): the demo rows and what a write does with them.

A contact ties an organisation to a person (``PRS``, with the person nested as KnPerson), a
department (``AFD``) or a delivery address (``AFL``). AFAS has no insert of its own for it: it
comes inside a KnOrganisation element, usually through ``POST
/connectors/KnOrganisation/KnContact`` ("update main record in KnOrganisation and insert
subrecord into KnContact", AFAS's OpenAPI). A nested KnPerson follows its ``MatchPer`` like any
person (relations.py). A contact's own address (KnBasicAddressAdr) is checked and not kept.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date

from afas_sandbox.datasets.demo.memos import contact_remark
from afas_sandbox.datasets.demo.relations import RelationWriter
from afas_sandbox.datasets.demo.rows import (
    ENTITY_CONTACT,
    columns_of,
    insert_row,
    next_int,
    update_row,
)
from afas_sandbox.datasets.demo.stamps import AUDIT_LAST_DAY, date_between, stamp_on
from afas_sandbox.updates.writer import Element, WriteContext

CONTACT_COLUMNS = {
    "ViKc": "kind",
    "ExAd": "department",
    "FuDs": "job_title",
    "EmAd": "email",
    "TeNr": "phone",
    "MbNr": "mobile",
    "Re": "remark",
    "Bl": "blocked",
}
CONTACTS_PER_ORGANISATION = (0, 1, 1, 2, 2, 3)
KIND_WEIGHTS = {"PRS": 7, "AFD": 2, "AFL": 1}
REMARK_SHARE = 0.4
_DEPARTMENTS = ("Verkoop", "Inkoop", "Financiële administratie", "Salarisadministratie", "ICT")
_JOB_TITLES = ("Directeur", "Office manager", "Controller", "Inkoper", "HR-adviseur", "Eigenaar")

Row = dict[str, object]


def contact_rows(seed: int, organisations: Sequence[Row], persons: Sequence[Row]) -> list[Row]:
    """The demo contacts, drawn from their own generator (the other tables stay as they were)."""
    rng = random.Random(f"contacts/{seed}")
    rows: list[Row] = []
    for organisation in organisations:
        for _ in range(rng.choice(CONTACTS_PER_ORGANISATION)):
            kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
            person = rng.choice(persons) if kind == "PRS" else None
            created = max(
                str(organisation["created"]),
                str(person["created"]) if person else "",
            )
            day = date_between(rng, date.fromisoformat(created[:10]), AUDIT_LAST_DAY)
            modified = max(created, stamp_on(rng, day))
            domain = str(organisation["email"]).split("@")[-1]
            rows.append(
                {
                    "cd_id": len(rows) + 1,
                    "organisation_bc_co": organisation["bc_co"],
                    "kind": kind,
                    "person_bc_co": person["bc_co"] if person else None,
                    "department": rng.choice(_DEPARTMENTS) if kind == "AFD" else None,
                    "job_title": rng.choice(_JOB_TITLES) if kind == "PRS" else None,
                    "email": _email(person, domain) if kind != "AFL" else None,
                    "phone": organisation["phone"],
                    "mobile": f"06-{rng.randrange(10**8):08d}" if kind == "PRS" else None,
                    "remark": contact_remark(rng) if rng.random() < REMARK_SHARE else None,
                    "blocked": int(rng.random() < 0.03),
                    "created": created,
                    "modified": modified,
                }
            )
    return rows


def _email(person: Row | None, domain: str) -> str:
    if person is None:
        return f"afdeling@{domain}"
    first = str(person["first_name"]).lower().replace(" ", "")
    return f"{first[:1]}.{str(person['last_name']).lower().replace(' ', '')}@{domain}"


class ContactWriter:
    """Applies the KnContact elements of one KnOrganisation element to its contacts."""

    def __init__(self, persons: RelationWriter) -> None:
        self.persons = persons

    def apply(self, ctx: WriteContext, organisation: str, elements: list[Element]) -> None:
        for element in elements:
            if element.action == "insert":
                self._insert(ctx, organisation, element)
            elif element.action == "update":
                self._update(ctx, organisation, element)
            else:
                self._delete(ctx, organisation, element)

    def _insert(self, ctx: WriteContext, organisation: str, element: Element) -> None:
        person = element.one("KnPerson")
        kind = element.value("ViKc") or ("PRS" if person is not None else "AFD")
        if kind == "PRS" and person is None:
            raise ctx.reject("mandatory", label="Persoon", field="KnPerson", object="KnContact")
        number = self.persons.insert(ctx, person)["BcCo"] if person is not None else None
        values = {
            "cd_id": element.value("CdId")
            or next_int(ctx.conn, "SELECT max(cd_id) FROM contacts", 1),
            "organisation_bc_co": organisation,
            **columns_of(element, CONTACT_COLUMNS),
            "kind": kind,
            "person_bc_co": number,
            "blocked": element.value("Bl") or 0,
            "created": ctx.stamp,
            "modified": ctx.stamp,
        }
        taken = ctx.conn.execute("SELECT 1 FROM contacts WHERE cd_id = ?", (values["cd_id"],))
        if taken.fetchone() is not None:
            raise ctx.reject("record_exists", key=values["cd_id"], object="KnContact")
        insert_row(ctx.conn, "contacts", values)

    def _existing(self, ctx: WriteContext, organisation: str, element: Element) -> tuple[int, str]:
        cd_id = element.value("CdId")
        if cd_id is None:
            raise ctx.reject("key_required", field="CdId", object="KnContact")
        row = ctx.conn.execute(
            "SELECT cd_id, person_bc_co FROM contacts WHERE cd_id = ? AND organisation_bc_co = ?",
            (cd_id, organisation),
        ).fetchone()
        if row is None:
            raise ctx.reject("record_missing", key=cd_id, object="KnContact")
        return int(row[0]), str(row[1] or "")

    def _update(self, ctx: WriteContext, organisation: str, element: Element) -> None:
        cd_id, person_number = self._existing(ctx, organisation, element)
        values = columns_of(element, CONTACT_COLUMNS)
        if "blocked" in values:
            values["blocked"] = values["blocked"] or 0
        person = element.one("KnPerson")
        if person is not None and person_number:
            person.fields.pop("MatchPer", None)
            person.fields["BcCo"] = person_number
            self.persons.update(ctx, person)
        update_row(ctx.conn, "contacts", {"cd_id": cd_id}, values, ctx.stamp)

    def _delete(self, ctx: WriteContext, organisation: str, element: Element) -> None:
        cd_id, _ = self._existing(ctx, organisation, element)
        ctx.conn.execute("DELETE FROM contacts WHERE cd_id = ?", (cd_id,))
        ctx.log_delete(ENTITY_CONTACT, str(cd_id))
