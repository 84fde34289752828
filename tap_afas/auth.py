"""The ``Authorization: AfasToken …`` header as a requests auth object that never shows it."""

from __future__ import annotations

import requests

from afas_profit.token import AFASToken


class AFASTokenAuth(requests.auth.AuthBase):
    """Adds the AfasToken header to every request."""

    def __init__(self, token: AFASToken) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._token.header
        return request

    def __repr__(self) -> str:
        return "AFASTokenAuth(<redacted>)"
