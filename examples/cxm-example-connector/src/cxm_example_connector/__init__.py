"""A cxm connector for the Acme Helpdesk API: support tickets with their CSAT ratings.

The API (fictional, shaped like the help-desk APIs it stands for) answers
``GET /tickets?updated_since=<ISO time>&per_page=<n>&cursor=<token>`` with::

    {"tickets": [{"id": 812, "subject": "...", "description": "...", "status": "solved",
                  "requester": {"email": "ann@example.com", "name": "Ann"},
                  "created_at": "2026-03-01T09:30:00Z", "updated_at": "2026-03-02T11:00:00Z",
                  "satisfaction": {"score": 4, "comment": "quick and kind"}}],
     "meta": {"next_cursor": "c2"}}

``satisfaction`` is ``null`` until the customer rates the ticket (1 to 5). ``GET /me`` checks
the token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs
import httpx

import cxm
from cxm.connectors import Checkpoint, Connector, Secret, Stream, hookimpl, secret
from cxm.connectors.http import BearerAuth, HttpClient, JsonCursorPaginator, RetryPolicy
from cxm.connectors.options import check_source, http_url, int_between

__version__ = "0.1.0"


@attrs.frozen(kw_only=True)
class HelpdeskConfig:
    """Settings of the ``acme-helpdesk`` connector.

    Attributes:
        base_url: The API's root, e.g. ``https://acme.example.com/api/v2``.
        token: The API token (never printed).
        source: The interactions' ``source``. Give each Acme account its own (ticket ids are
            only unique within an account), and never change it afterwards.
        start: Read tickets updated at or after this ISO time on the first sync.
        page_size: Tickets per page (at most 100).
        transport: An ``httpx`` transport, for tests (``httpx.MockTransport``).
        retry: How failed requests are retried.
    """

    base_url: str = attrs.field(converter=http_url)
    token: Secret = attrs.field(converter=secret)
    source: str = attrs.field(default="acme-helpdesk", validator=check_source)
    start: str = "1970-01-01T00:00:00Z"
    page_size: int = attrs.field(default=100, validator=int_between(1, 100))
    transport: httpx.BaseTransport | None = None
    retry: RetryPolicy | None = None


class HelpdeskConnector(Connector):
    """Support tickets and CSAT ratings from Acme Helpdesk."""

    name = "acme-helpdesk"
    Config = HelpdeskConfig

    @property
    def state_key(self) -> str:
        return f"acme-helpdesk:{self.config.base_url}"

    def _client(self) -> HttpClient:
        return HttpClient(
            self.config.base_url,
            auth=BearerAuth(self.config.token),
            transport=self.config.transport,
            retry=self.config.retry,
            connector=self.name,
        )

    def check(self) -> None:
        with self._client() as client:
            client.get_json("/me")

    def streams(self) -> list[Stream]:
        return [Stream(name="tickets", read=self.read_tickets, parse=self.parse_ticket)]

    def parse_ticket(self, ticket: dict[str, Any]) -> cxm.Interaction:
        """Turn one ticket into an interaction of this account's ``source``."""
        return ticket_interaction(ticket, source=self.config.source)

    def read_tickets(self, cursor: Any) -> Iterator[Any]:
        since = cursor["updated_since"] if cursor else self.config.start
        newest = since
        with self._client() as client:
            pages = client.paginate(
                "/tickets",
                paginator=JsonCursorPaginator(cursor_path="meta.next_cursor", param="cursor"),
                params={"updated_since": since, "per_page": self.config.page_size},
                items="tickets",
                stream="tickets",
            )
            for page in pages:
                yield from page.items
                newest = max([newest, *(t.get("updated_at") or since for t in page.items)])
                # The API's updated_since is inclusive: the boundary ticket is read again next
                # time, and the store counts it as unchanged.
                yield Checkpoint({"updated_since": newest})


def ticket_interaction(ticket: dict[str, Any], *, source: str = "acme-helpdesk") -> cxm.Interaction:
    """Turn one API ticket into an interaction (a KeyError or ValidationError quarantines it)."""
    satisfaction = ticket.get("satisfaction")
    requester = ticket.get("requester") or {}
    return cxm.Interaction(
        source=source,
        source_id=str(ticket["id"]),
        occurred_at=ticket["created_at"].replace("Z", "+00:00"),
        updated_at=ticket["updated_at"].replace("Z", "+00:00"),
        channel="support",
        kind="ticket",
        touchpoint="helpdesk",
        text=ticket.get("description"),
        identities=[cxm.Identity("email", requester["email"])] if requester.get("email") else [],
        attributes={"subject": ticket.get("subject"), "status": ticket.get("status")},
        feedback=[
            cxm.Feedback(
                metric="csat", score=satisfaction["score"], comment=satisfaction.get("comment")
            )
        ]
        if satisfaction
        else [],
    )


@hookimpl
def cxm_register_connectors(register: Callable[[type[Connector]], None]) -> None:
    """Register the Acme Helpdesk connector with cxm."""
    register(HelpdeskConnector)
