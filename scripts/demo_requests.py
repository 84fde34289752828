"""Show a running afas-sandbox answering AFAS REST requests (used by scripts/demo).

Prints each request as the equivalent curl command and a short view of the answer.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import requests

from afas_sandbox.datasets import load_dataset


def show(session: requests.Session, method: str, url: str, body: Any = None) -> Any:
    print(f"$ curl -X {method} -H 'Authorization: AfasToken …' '{url}'")
    response = session.request(method, url, json=body, timeout=30)
    text = response.text
    print(f"  -> HTTP {response.status_code}: {text[:300]}{' …' if len(text) > 300 else ''}\n")
    return response.json() if text else None


def main(base_url: str) -> None:
    token = next(t for t in load_dataset("demo").tokens if t.name == "full")
    session = requests.Session()
    session.headers["Authorization"] = token.header
    show(session, "GET", f"{base_url}/profitversion")
    meta = show(session, "GET", f"{base_url}/metainfo")
    print("GetConnectors:", ", ".join(c["id"] for c in meta["getConnectors"]), "\n")
    show(session, "GET", f"{base_url}/metainfo/get/Profit_Employees")
    show(
        session,
        "GET",
        f"{base_url}/connectors/Profit_Persons?skip=0&take=2&orderbyfieldids=PersonId",
    )
    show(
        session,
        "GET",
        f"{base_url}/connectors/Profit_Transactions?take=2&orderbyfieldids=-Mutatiedatum"
        "&filterfieldids=UnitId,AmountDebit&filtervalues=1,1000&operatortypes=1,4",
    )
    person = {
        "KnPerson": {"Element": {"Fields": {"MatchPer": "7", "FiNm": "Anna", "LaNm": "Demo"}}}
    }
    result = show(session, "POST", f"{base_url}/connectors/KnPerson", person)
    number = result["results"]["KnPerson"]["BcCo"]
    show(
        session,
        "GET",
        f"{base_url}/connectors/Profit_Persons?filterfieldids=PersonId"
        f"&filtervalues={number}&operatortypes=1",
    )
    print(json.dumps({"sandbox": base_url, "demo": "ok"}))


if __name__ == "__main__":
    main(sys.argv[1])
