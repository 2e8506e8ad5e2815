"""A fake Acme Helpdesk API for tests: an ``httpx.MockTransport`` handler over a ticket list."""

from __future__ import annotations

from typing import Any

import httpx

TOKEN = "acme-test-token-9f3c"  # noqa: S105 - the fake API's made-up token


def tickets(count: int = 23) -> list[dict[str, Any]]:
    """Return ``count`` made-up tickets, updated one hour apart; every fifth one is unrated."""
    out = []
    for i in range(1, count + 1):
        out.append(
            {
                "id": 800 + i,
                "subject": f"Order {i} arrived damaged",
                "description": f"The parcel for order {i} was crushed.",
                "status": "solved" if i % 3 else "open",
                "requester": {"email": f"customer{i % 7}@example.com", "name": f"C{i}"},
                "created_at": f"2026-03-01T{i % 24:02d}:00:00Z",
                "updated_at": f"2026-03-{1 + i // 24:02d}T{i % 24:02d}:30:00Z",
                "satisfaction": None if i % 5 == 0 else {"score": 1 + i % 5, "comment": None},
            }
        )
    # One ticket the connector cannot read: its rating is off the 1-5 scale.
    out.append({**out[-1], "id": 999, "satisfaction": {"score": 9}})
    return out


class FakeHelpdesk:
    """The API: bearer-token auth, ``updated_since`` filter, cursor pages of ``per_page``."""

    def __init__(self, data: list[dict[str, Any]] | None = None) -> None:
        self.tickets = tickets() if data is None else data
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"error": "invalid token"})
        if request.url.path.endswith("/me"):
            return httpx.Response(200, json={"account": "acme"})
        since = request.url.params.get("updated_since", "")
        size = int(request.url.params.get("per_page", "100"))
        start = int(request.url.params.get("cursor", "0"))
        matching = sorted(
            (t for t in self.tickets if t["updated_at"] >= since), key=lambda t: t["updated_at"]
        )
        page = matching[start : start + size]
        following = start + size
        meta = {"next_cursor": str(following) if following < len(matching) else None}
        return httpx.Response(200, json={"tickets": page, "meta": meta})
