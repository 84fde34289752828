"""target-afas mappings the target tests share, and the demo UpdateConnectors' custom fields.

Record properties are named like the GetConnector fields the values come back in, so a test
reads what it wrote under the same name.
"""

from __future__ import annotations

import copy
from typing import Any

# Custom field ids of the demo UpdateConnectors (afas_sandbox demo dataset).
U_PROJECT_NAME = "U018A40C7A37A5B7A93502E52BF447225"
U_BUDGET = "U7CAD08037F825575A885C5EDD55A9ABF"
U_START_DATE = "U4D8A1ED93403544A85509B874257E1DF"
U_ACTIVE = "U1C68B5BDF2595E2ABFA1137C65389D71"
U_STATUS = "UC83B6A77368C5BFFB7A8A0DD7CA15045"
U_MEMBER_NUMBER = "U17890CCBFF3B5670A533F9CD449E7FBF"
U_NEWSLETTER = "UCE2C6BF85CCB51B1B8299A59CB55E583"

PEOPLE_FIELDS = {
    "BcCo": "PersonId",
    "FiNm": "FirstName",
    "Is": "Prefix",
    "LaNm": "LastName",
    "ViGe": "Gender",
    "DaBi": "BirthDate",
    "EmAd": "Email",
}
ADDRESS_FIELDS = {
    "CoId": "Country",
    "Ad": "Street",
    "HmNr": "HouseNumber",
    "ZpCd": "ZipCode",
    "Rs": "City",
}
PERSONS_LOOKUP = {"connector": "Profit_Persons", "field": "PersonId"}

# FiEntries journal entries: the entry's properties, its lines under ``lines``.
JOURNAL = {
    "connector": "FiEntries",
    "fields": {"Year": "year", "Peri": "period", "UnId": "unit", "JoCo": "journal"},
    "objects": {
        "FiEntries": {
            "from": "lines",
            "fields": {"VaAs": "kind", "AcNr": "account", "EnDa": "date", "AmDe": "debit",
                       "AmCr": "credit", "Ds": "description"},
        }
    },
}  # fmt: skip


def people_mapping(action: str = "insert", **extra: Any) -> dict[str, Any]:
    """KnPerson keyed by ``BcCo`` (property ``PersonId``), the fields of ``PEOPLE_FIELDS``."""
    mapping: dict[str, Any] = {
        "connector": "KnPerson",
        "action": action,
        "keys": ["BcCo"],
        "fields": dict(PEOPLE_FIELDS),
    }
    mapping.update(extra)
    return mapping


def journal_mapping(**extra: Any) -> dict[str, Any]:
    """``JOURNAL`` (a copy) with ``extra`` settings."""
    return {**copy.deepcopy(JOURNAL), **extra}
