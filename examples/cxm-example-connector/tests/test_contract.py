"""The Acme Helpdesk connector passes cxm's connector contract, plus its own tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import httpx
from cxm_example_connector import HelpdeskConnector
from cxm_example_connector.fake_api import TOKEN, FakeHelpdesk

import cxm
from cxm.connectors.http import RetryPolicy
from cxm.testing import ConnectorContract

NO_WAIT = RetryPolicy(attempts=2, sleep=lambda seconds: None)


class TestHelpdeskContract(ConnectorContract):
    connector_class = HelpdeskConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"base_url": "ftp://acme"}, "base_url"),
        ({"page_size": 500}, "page_size"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return {
            "base_url": "https://acme.test/api/v2",
            "token": TOKEN,
            "page_size": 5,
            "transport": httpx.MockTransport(FakeHelpdesk()),
            "retry": NO_WAIT,
        }

    def failing_options(self, tmp_path: Path, status: int) -> dict[str, Any]:
        return {
            **self.options(tmp_path),
            "transport": httpx.MockTransport(lambda request: httpx.Response(status)),
        }


def test_tickets_become_interactions_with_csat(tmp_path: Path) -> None:
    api = FakeHelpdesk()
    ws = cxm.Workspace.open(tmp_path / "cxm.db")
    report = ws.sync(
        HelpdeskConnector(
            base_url="https://acme.test/api/v2", token=TOKEN, transport=httpx.MockTransport(api)
        )
    )
    tickets = report.stream("tickets")
    assert (tickets.new, tickets.quarantined) == (23, 1)
    feedback = ws.feedback()
    assert set(feedback["metric"]) == {"csat"}
    assert len(feedback) == 23 - 4  # tickets 5, 10, 15, 20 are unrated
    assert "score=9" in ws.quarantined()["reason"].iloc[0]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in api.requests)
    ws.close()
