"""The zendesk connector against a fake Zendesk Support API shaped on the published reference.

The fake answers like the documented endpoints:

- https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
  (``GET /api/v2/incremental/tickets/cursor.json`` with ``start_time`` on the first request and
  ``cursor`` afterwards; answer ``{"tickets", "after_url", "after_cursor", "before_url",
  "before_cursor", "end_of_stream"}``; ``include=users`` side-loads ``users``; 10 requests a
  minute; admins only) and the schema ``CursorBasedExportIncrementalTicketsResponse`` of
  Zendesk's OpenAPI document (mirrored at https://apis.apis.io/apis/zendesk/incremental/);
- https://developer.zendesk.com/documentation/ticketing/managing-tickets/using-the-incremental-export-api
  (cursor-based exports: no start time after the first request, a page's cursor is the start of
  the next page or the next export; deleted tickets are exported with status ``deleted``);
- https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/ (the ticket object:
  ``id``, ``subject``, ``description``, ``status``, ``priority``, ``type``, ``via.channel``,
  ``requester_id``, ``assignee_id``, ``tags``, ``created_at``, ``updated_at``,
  ``satisfaction_rating {id, score, comment}``, score ``offered``/``unoffered``/``good``/``bad``);
- https://developer.zendesk.com/api-reference/ticketing/users/users/ (the user object and
  ``GET /api/v2/users/me.json``);
- https://developer.zendesk.com/rest_api/docs/support/ticket_comments/ and
  https://developer.zendesk.com/api-reference/introduction/pagination/ (``GET
  /api/v2/tickets/{id}/comments.json`` with ``page[size]``/``page[after]``; answer
  ``{"comments", "meta": {"has_more", "after_cursor", "before_cursor"}, "links": {"next",
  "prev"}}``; comment ``id``, ``type``, ``author_id``, ``body``, ``plain_body``, ``public``,
  ``created_at``, ``via``);
- https://developer.zendesk.com/documentation/api-basics/best-practices/best-practices-for-avoiding-rate-limiting
  (429 with ``Retry-After`` in seconds; ``X-Rate-Limit`` headers); error bodies ``{"error":
  "Couldn't authenticate you"}`` (401) and ``{"error": "Forbidden", "description": ...}`` (403).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

import cxm
from cxm.connectors import Checkpoint
from cxm.connectors.http import RateLimiter, RetryPolicy
from cxm.connectors.zendesk import ZendeskConnector
from cxm.exceptions import AuthError, UpstreamError
from cxm.testing import ConnectorContract, Interrupted, interrupted

SUBDOMAIN = "acme"
BASE = "https://acme.zendesk.test"
EMAIL = "admin@acme.example"
API_TOKEN = "zd-api-token-6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv"
OAUTH_TOKEN = "zd-oauth-token-0b8a1f77c2d94e1a"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
AGENT_ID = 9001


def at(hours: float) -> str:
    """Zendesk's time form: ISO 8601, seconds, ``Z``."""
    return (T0 + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix(value: str) -> int:
    return int(datetime.fromisoformat(value).timestamp())


def make_user(user_id: int, **fields: Any) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": user_id,
        "url": f"{BASE}/api/v2/users/{user_id}.json",
        "name": f"Customer {user_id}",
        "email": f"customer{user_id}@example.com",
        "phone": None,
        "external_id": None,
        "created_at": at(-100),
        "updated_at": at(-50),
        "role": "end-user",
        "organization_id": None,
        "time_zone": "Europe/London",
        "locale": "en-GB",
        "tags": [],
        "user_fields": {"plan": None},
        "active": True,
        "verified": True,
    }
    user.update(fields)
    return user


def make_ticket(ticket_id: int, requester: int, hours: float, **fields: Any) -> dict[str, Any]:
    ticket: dict[str, Any] = {
        "url": f"{BASE}/api/v2/tickets/{ticket_id}.json",
        "id": ticket_id,
        "external_id": None,
        "via": {"channel": "email", "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": at(hours - 1),
        "updated_at": at(hours),
        "generated_timestamp": unix(at(hours)),
        "type": "question",
        "subject": f"Order {ticket_id} arrived broken",
        "raw_subject": f"Order {ticket_id} arrived broken",
        "description": f"My order {ticket_id} arrived broken.",
        "priority": "normal",
        "status": "open",
        "recipient": "support@acme.example",
        "requester_id": requester,
        "submitter_id": requester,
        "assignee_id": AGENT_ID,
        "organization_id": None,
        "group_id": 360001,
        "collaborator_ids": [],
        "follower_ids": [],
        "has_incidents": False,
        "tags": ["broken"],
        "custom_fields": [],
        "satisfaction_rating": {"score": "unoffered"},
    }
    ticket.update(fields)
    return ticket


def sample() -> tuple[dict[int, dict[str, Any]], list[dict[str, Any]]]:
    """Ten customers and an agent; twelve tickets, one changed every hour."""
    users = {i: make_user(i) for i in range(501, 511)}
    users[501].update(phone="+44 20 7946 0958", external_id="crm-501", tags=["vip"])
    users[502].update(phone="(555) 0100", user_fields={"plan": "pro"})
    users[AGENT_ID] = make_user(AGENT_ID, role="agent", email="agent@acme.example")
    tickets = [make_ticket(100 + i, 501 + (i % 10), i) for i in range(1, 13)]
    tickets[0]["satisfaction_rating"] = {"id": 71, "score": "good", "comment": "Quick and kind"}
    tickets[1]["satisfaction_rating"] = {"id": 72, "score": "bad", "comment": ""}
    tickets[2]["satisfaction_rating"] = {"id": 73, "score": "offered", "comment": None}
    tickets[3]["satisfaction_rating"] = None
    tickets[4]["via"] = {"channel": "web"}
    tickets[4]["status"] = "solved"
    return users, tickets


def encode(position: tuple[int, int]) -> str:
    return base64.b64encode(f"{position[0]}.0||{position[1]}|".encode()).decode()


def decode(cursor: str) -> tuple[int, int]:
    stamp, _, rest = base64.b64decode(cursor).decode().partition("||")
    return int(float(stamp)), int(rest.strip("|"))


def zendesk_error(status: int, error: str, description: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"error": error}
    if description is not None:
        body["description"] = description
    return httpx.Response(status, json=body)


class FakeZendesk:
    """Users, tickets and comments; the cursor export, comments lists and ``users/me``."""

    def __init__(
        self,
        users: dict[int, dict[str, Any]] | None = None,
        tickets: list[dict[str, Any]] | None = None,
    ) -> None:
        default_users, default_tickets = sample()
        self.users = users if users is not None else default_users
        self.tickets = tickets if tickets is not None else default_tickets
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[httpx.Request] = []
        self.me: dict[str, Any] = {"id": 1, "name": "Admin", "email": EMAIL, "role": "admin"}

    def exports(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.startswith("/api/v2/incremental/")]

    def comment_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/comments.json")]

    def authorised(self, request: httpx.Request) -> bool:
        basic = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
        return request.headers.get("authorization") in (f"Basic {basic}", f"Bearer {OAUTH_TOKEN}")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.authorised(request):
            return zendesk_error(401, "Couldn't authenticate you")
        path = request.url.path
        if path == "/api/v2/users/me.json":
            return httpx.Response(200, json={"user": self.me})
        if path == "/api/v2/incremental/tickets/cursor.json":
            return self.export(request.url.params)
        if path.startswith("/api/v2/tickets/") and path.endswith("/comments.json"):
            return self.list_comments(int(path.split("/")[4]), request.url.params)
        return zendesk_error(404, "InvalidEndpoint", "Not found")

    def export(self, params: httpx.QueryParams) -> httpx.Response:
        size = min(int(params.get("per_page", "1000")), 1000)
        ordered = sorted(self.tickets, key=lambda t: (t["generated_timestamp"], t["id"]))
        if "cursor" in params:
            after = decode(params["cursor"])
            remaining = [t for t in ordered if (t["generated_timestamp"], t["id"]) > after]
        elif "start_time" in params:
            start = int(params["start_time"])
            after = (start - 1, 0)
            remaining = [t for t in ordered if t["generated_timestamp"] >= start]
        else:
            return zendesk_error(400, "InvalidPaginationParameter", "start_time is required")
        page = remaining[:size]
        last = (page[-1]["generated_timestamp"], page[-1]["id"]) if page else after
        cursor = encode(last)
        body: dict[str, Any] = {
            "tickets": page,
            "after_url": f"{BASE}/api/v2/incremental/tickets/cursor.json?cursor={cursor}",
            "after_cursor": cursor,
            "before_url": None,
            "before_cursor": None,
            "end_of_stream": len(remaining) <= size,
        }
        if params.get("include") == "users":
            wanted: set[int] = set()
            for ticket in page:
                wanted.update(
                    i for i in (ticket.get("requester_id"), ticket.get("assignee_id")) if i
                )
            body["users"] = [self.users[i] for i in sorted(wanted, key=str) if i in self.users]
        return httpx.Response(200, json=body, headers={"X-Rate-Limit": "700"})

    def list_comments(self, ticket_id: int, params: httpx.QueryParams) -> httpx.Response:
        ticket = next((t for t in self.tickets if t["id"] == ticket_id), None)
        if ticket is None or ticket["status"] == "deleted":
            return zendesk_error(404, "RecordNotFound", "Not found")
        comments = self.comments.get(ticket_id) or [
            {
                "id": ticket_id * 10,
                "type": "Comment",
                "author_id": ticket["requester_id"],
                "body": ticket["description"],
                "plain_body": ticket["description"],
                "public": True,
                "created_at": ticket["created_at"],
                "via": {"channel": "email"},
            }
        ]
        size = int(params.get("page[size]", "100"))
        start = int(params.get("page[after]", "0"))
        page = comments[start : start + size]
        more = start + size < len(comments)
        meta = {
            "has_more": more,
            "after_cursor": str(start + size) if more else None,
            "before_cursor": str(start),
        }
        return httpx.Response(200, json={"comments": page, "meta": meta, "links": {}})


def no_wait() -> RateLimiter:
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    return RateLimiter(1.0, clock=lambda: now[0], sleep=advance)


def options(api: Callable[[httpx.Request], httpx.Response] | None, **more: Any) -> dict[str, Any]:
    return {
        "subdomain": SUBDOMAIN,
        "email": EMAIL,
        "api_token": API_TOKEN,
        "base_url": BASE,
        "page_size": 5,
        "transport": httpx.MockTransport(api) if api is not None else None,
        "export_rate_limit": no_wait(),
        "rate_limit": no_wait(),
        "retry": RetryPolicy(attempts=2, sleep=lambda seconds: None),
        **more,
    }


def connector(api: Callable[[httpx.Request], httpx.Response], **more: Any) -> ZendeskConnector:
    return ZendeskConnector(**options(api, **more))


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[cxm.Workspace]:
    workspace = cxm.Workspace.open(tmp_path / "cxm.db")
    yield workspace
    workspace.close()


# -- the contract -----------------------------------------------------------------------------


class TestZendeskContract(ConnectorContract):
    connector_class = ZendeskConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"subdomain": "https://acme.zendesk.com"}, "subdomain"),
        ({"base_url": "ftp://acme.zendesk.com"}, "base_url"),
        ({"page_size": 1001}, "page_size"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-03-01T00:00:00"}, "start"),
        ({"export_rate_limit": 0}, "export_rate_limit"),
        ({"source": "Zendesk EU"}, "source"),
        ({"api_token": None}, "api_token"),
        ({"oauth_token": OAUTH_TOKEN}, "oauth_token"),
        ({"email": None}, "email"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return options(FakeZendesk())

    def failing_options(self, tmp_path: Path, status: int) -> dict[str, Any]:
        return {
            **self.options(tmp_path),
            "transport": httpx.MockTransport(
                lambda request: zendesk_error(status, "Failed", f"status {status}")
            ),
        }


# -- mapping ----------------------------------------------------------------------------------


def test_tickets_requesters_and_csat_land_linked(ws: cxm.Workspace) -> None:
    report = ws.sync(connector(FakeZendesk()))
    assert report.ok, str(report)
    stream = report.stream("tickets")
    assert (stream.new, stream.quarantined) == (12 + 10, 0)  # tickets and their requesters
    frame = ws.interactions(attributes=True)
    assert set(frame["channel"]) == {"support"}
    assert set(frame["kind"]) == {"ticket"}
    assert set(frame["direction"]) == {"inbound"}
    first = frame[frame["source_id"] == "101"].iloc[0]
    assert first["text"] == "My order 101 arrived broken."
    assert first["attributes"] == {
        "subject": "Order 101 arrived broken",
        "status": "open",
        "priority": "normal",
        "type": "question",
        "via_channel": "email",
        "tags": ["broken"],
        "assignee_id": AGENT_ID,
        "group_id": 360001,
        "satisfaction": "good",
    }
    assert frame[frame["source_id"] == "105"].iloc[0]["attributes"]["via_channel"] == "web"
    # The ticket belongs to its requester's customer, found by e-mail.
    profile = ws.profile("customer502@example.com")
    assert first["customer_id"] == profile.customer.customer_id
    assert set(profile.interactions["source_id"]) == {"101", "111"}
    # The agent is never a customer: only requesters become customer records.
    customers = ws.customers()
    assert len(customers) == 10
    assert "agent@acme.example" not in set(customers["email"])
    # good -> 1 and bad -> 0 on the 0-1 scale; offered, unoffered and no rating give none.
    feedback = ws.feedback().sort_values("score")
    assert feedback["metric"].tolist() == ["csat", "csat"]
    assert feedback["score"].tolist() == [0, 1]
    assert feedback["comment"].isna().tolist() == [True, False]
    assert feedback["comment"].iloc[1] == "Quick and kind"
    assert list(profile.feedback["score"]) == [1]  # ticket 101's good rating is 502's


def test_requester_identities_and_traits() -> None:
    api = FakeZendesk()
    items = list(connector(api).stream("tickets").read(None))
    users = {
        item["user"]["id"]: item["user"]
        for item in items
        if isinstance(item, dict) and "user" in item
    }
    zendesk = connector(api)
    ann = zendesk.parse_item({"user": users[501]})
    assert isinstance(ann, cxm.CustomerRecord)
    assert ann.source_id == "user:501"
    assert {i.key for i in ann.identities} == {
        ("zendesk:user", "501"),
        ("email", "customer501@example.com"),
        ("phone", "+442079460958"),
        ("zendesk:external_id", "crm-501"),
    }
    assert ann.traits["tags"] == ["vip"]
    assert ann.traits["role"] == "end-user"
    assert ann.traits["time_zone"] == "Europe/London"
    assert "user_fields" not in ann.traits  # every custom field empty
    assert ann.updated_at == T0 - timedelta(hours=50)
    bob = zendesk.parse_item({"user": users[502]})
    assert isinstance(bob, cxm.CustomerRecord)
    # A phone number without a country code cannot be an identity: it stays a trait.
    assert bob.traits["phone"] == "(555) 0100"
    assert "phone" not in {i.kind for i in bob.identities}
    assert bob.traits["user_fields"] == {"plan": "pro"}
    assert AGENT_ID not in users


def test_ticket_feedback_mapping() -> None:
    api = FakeZendesk()
    zendesk = connector(api)
    good = zendesk.parse_item({"ticket": api.tickets[0]})
    bad = zendesk.parse_item({"ticket": api.tickets[1]})
    offered = zendesk.parse_item({"ticket": api.tickets[2]})
    assert isinstance(good, cxm.Interaction)
    assert isinstance(bad, cxm.Interaction)
    assert [(f.metric, f.score, f.scale, f.comment) for f in good.feedback] == [
        ("csat", 1, (0, 1), "Quick and kind")
    ]
    assert [(f.score, f.comment) for f in bad.feedback] == [(0, None)]
    assert isinstance(offered, cxm.Interaction)
    assert offered.feedback == ()
    assert offered.attributes["satisfaction"] == "offered"
    assert good.identities == (cxm.Identity("zendesk:user", "502"),)
    assert good.occurred_at == T0
    assert good.updated_at == T0 + timedelta(hours=1)


# -- paging and incremental syncs -------------------------------------------------------------


def test_pages_follow_the_after_cursor_and_checkpoint_each(ws: cxm.Workspace) -> None:
    api = FakeZendesk()
    items = list(connector(api).stream("tickets").read(None))
    exports = api.exports()
    assert len(exports) == 3  # 12 tickets, 5 a page
    assert dict(exports[0].url.params) == {"include": "users", "per_page": "5", "start_time": "0"}
    cursors = [item.cursor for item in items if isinstance(item, Checkpoint)]
    assert [r.url.params.get("cursor") for r in exports[1:]] == [
        c["after_cursor"] for c in cursors[:2]
    ]
    assert all("start_time" not in r.url.params for r in exports[1:])
    # A checkpoint closes each page, after its requesters (5, 5, 2) and tickets (5, 5, 2).
    positions = [i for i, item in enumerate(items) if isinstance(item, Checkpoint)]
    assert positions == [10, 21, 26]
    assert len(items) == 27
    assert cursors[-1] == {"after_cursor": encode((unix(at(12)), 112))}


def test_second_sync_asks_only_for_what_changed(ws: cxm.Workspace) -> None:
    api = FakeZendesk()
    assert ws.sync(connector(api)).ok
    saved = ws.sync_state(connector(api))["cursor"].iloc[0]
    api.requests.clear()
    second = ws.sync(connector(api))
    assert (second.new, second.updated) == (0, 0)
    # One request, from the saved cursor: nothing old is fetched again.
    assert [dict(r.url.params) for r in api.exports()] == [
        {"include": "users", "per_page": "5", "cursor": saved["after_cursor"]}
    ]
    # A ticket rated later is exported again and updated in place.
    changed = api.tickets[5]
    changed.update(
        satisfaction_rating={"id": 80, "score": "bad", "comment": "Still broken"},
        updated_at=at(20),
        generated_timestamp=unix(at(20)),
    )
    api.requests.clear()
    third = ws.sync(connector(api))
    assert third.stream("tickets").updated == 1, str(third)
    assert [r.url.params["cursor"] for r in api.exports()] == [saved["after_cursor"]]
    feedback = ws.feedback()
    assert feedback[feedback["comment"] == "Still broken"]["score"].tolist() == [0]
    assert len(ws.interactions()) == 12


def test_start_limits_the_first_sync() -> None:
    api = FakeZendesk()
    items = list(connector(api, start=at(10)).stream("tickets").read(None))
    assert api.exports()[0].url.params["start_time"] == str(unix(at(10)))
    assert [i["ticket"]["id"] for i in items if isinstance(i, dict) and "ticket" in i] == [
        110,
        111,
        112,
    ]


def test_full_refresh_rereads_without_duplicates(ws: cxm.Workspace) -> None:
    api = FakeZendesk()
    assert ws.sync(connector(api)).ok
    api.requests.clear()
    refreshed = ws.sync(connector(api), full_refresh=True)
    assert refreshed.ok
    assert refreshed.new == 0
    # Requesters come with each page they requested a ticket on: 5 + 5 + 2 of them.
    assert refreshed.stream("tickets").unchanged == 12 + 12
    assert api.exports()[0].url.params["start_time"] == "0"
    assert len(api.exports()) == 3
    assert len(ws.interactions()) == 12
    assert len(ws.customers()) == 10


def test_interrupted_sync_resumes_from_the_last_stored_page(tmp_path: Path) -> None:
    api = FakeZendesk()
    ws = cxm.Workspace.open(tmp_path / "cxm.db")
    try:
        # Page one holds 5 requesters, 5 tickets and a checkpoint; killed in page two.
        with contextlib.suppress(Interrupted):
            ws.sync(interrupted(connector(api), 14), batch_size=1)
        state = ws.sync_state(connector(api))["cursor"].iloc[0]
        assert state == {"after_cursor": encode((unix(at(5)), 105))}
        api.requests.clear()
        finished = ws.sync(connector(api))
        assert finished.ok, str(finished)
        assert api.exports()[0].url.params["cursor"] == state["after_cursor"]
        assert len(api.exports()) == 2  # pages two and three, nothing before
        assert sorted(ws.interactions()["source_id"], key=int) == [str(i) for i in range(101, 113)]
    finally:
        ws.close()


def test_an_empty_account_keeps_its_start_time(ws: cxm.Workspace) -> None:
    api = FakeZendesk(users={}, tickets=[])
    api_export = api.export

    def no_cursor(params: httpx.QueryParams) -> httpx.Response:
        answer = api_export(params)
        body = answer.json()
        body.update(after_cursor=None, after_url=None)
        return httpx.Response(200, json=body)

    api.export = no_cursor  # type: ignore[method-assign]
    report = ws.sync(connector(api, start=1_700_000_000))
    assert report.ok, str(report)
    assert ws.sync_state(connector(api))["cursor"].iloc[0] == {"start_time": 1_700_000_000}


def test_a_cursor_that_does_not_move_is_an_error() -> None:
    api = FakeZendesk()

    def stuck(request: httpx.Request) -> httpx.Response:
        answer = api(request)
        if "cursor" in request.url.params:
            body = answer.json()
            body.update(after_cursor=request.url.params["cursor"], end_of_stream=False)
            return httpx.Response(200, json=body)
        return answer

    with pytest.raises(UpstreamError, match="refusing to loop"):
        list(connector(stuck).stream("tickets").read(None))


# -- deleted tickets and comments -------------------------------------------------------------


def test_deleted_ticket_is_marked_and_loses_text_and_rating(ws: cxm.Workspace) -> None:
    api = FakeZendesk()
    assert ws.sync(connector(api, comments=True)).ok
    deleted = api.tickets[0]
    deleted.update(status="deleted", updated_at=at(30), generated_timestamp=unix(at(30)))
    api.requests.clear()
    report = ws.sync(connector(api, comments=True))
    assert report.stream("tickets").updated == 1, str(report)
    frame = ws.interactions(attributes=True)
    row = frame[frame["source_id"] == "101"].iloc[0]
    assert row["attributes"] == {"status": "deleted", "deleted": True}
    assert row["text"] is None
    assert ws.feedback()["score"].tolist() == [0]  # only the bad rating of ticket 102 is left
    # A deleted ticket's comments are gone: they are not asked for.
    assert api.comment_requests() == []


def test_comments_become_messages_in_and_out(ws: cxm.Workspace) -> None:
    api = FakeZendesk(tickets=[make_ticket(101, 501, 1), make_ticket(102, 502, 2)])
    description = {
        "id": 1010,
        "type": "Comment",
        "author_id": 501,
        "body": "My order 101 arrived broken.",
        "plain_body": "My order 101 arrived broken.",
        "public": True,
        "created_at": at(0),
        "via": {"channel": "email"},
    }
    replies = [
        {
            **description,
            "id": 1011 + i,
            "author_id": AGENT_ID if i % 2 == 0 else 501,
            "body": f"<p>Reply {i}</p>",
            "plain_body": f"Reply {i}",
            "public": i != 3,  # an internal note
            "created_at": at(1 + i / 100),
            "via": {"channel": "web"},
        }
        for i in range(104)
    ]
    api.comments[101] = [description, *replies]
    report = ws.sync(connector(api, comments=True))
    assert report.ok, str(report)
    frame = ws.interactions(attributes=True)
    messages = frame[frame["kind"] == "message"]
    # 104 replies minus the internal note; the description is the ticket's own text.
    assert len(messages) == 103
    assert "101:comment:1010" not in set(messages["source_id"])
    assert "101:comment:1014" not in set(messages["source_id"])  # private
    reply = messages[messages["source_id"] == "101:comment:1011"].iloc[0]
    assert (reply["direction"], reply["channel"], reply["text"]) == (
        "outbound",
        "support",
        "Reply 0",
    )
    assert reply["attributes"] == {
        "ticket_id": 101,
        "author_id": AGENT_ID,
        "type": "Comment",
        "via_channel": "web",
    }
    answer = messages[messages["source_id"] == "101:comment:1012"].iloc[0]
    assert answer["direction"] == "inbound"
    ticket = frame[frame["source_id"] == "101"].iloc[0]
    assert reply["customer_id"] == ticket["customer_id"]  # on the requester's journey
    # Comment lists are cursor-paged, 100 a page.
    pages = [
        (r.url.path, r.url.params.get("page[size]"), r.url.params.get("page[after]"))
        for r in api.comment_requests()
    ]
    assert pages == [
        ("/api/v2/tickets/101/comments.json", "100", None),
        ("/api/v2/tickets/101/comments.json", "100", "100"),
        ("/api/v2/tickets/102/comments.json", "100", None),
    ]


def test_ticket_deleted_before_its_comments_are_read_is_kept(ws: cxm.Workspace) -> None:
    api = FakeZendesk()

    def gone(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/tickets/103/comments.json":
            api.requests.append(request)
            return zendesk_error(404, "RecordNotFound", "Not found")
        return api(request)

    report = ws.sync(connector(gone, comments=True))
    assert report.ok, str(report)
    assert len(api.comment_requests()) == 12
    assert "103" in set(ws.interactions()["source_id"])


def test_comments_are_off_by_default(ws: cxm.Workspace) -> None:
    api = FakeZendesk()
    assert ws.sync(connector(api)).ok
    assert api.comment_requests() == []


# -- HTTP behaviour ---------------------------------------------------------------------------


def test_429_honours_retry_after_then_a_5xx_is_retried(ws: cxm.Workspace) -> None:
    api = FakeZendesk()
    slept: list[float] = []
    failures = [
        httpx.Response(
            429,
            headers={"Retry-After": "7", "X-Rate-Limit": "10", "X-Rate-Limit-Remaining": "0"},
            json={
                "error": "APIRateLimitExceeded",
                "description": "Number of allowed incremental export API requests per minute "
                "exceeded",
            },
        ),
        zendesk_error(503, "ServiceUnavailable", "Try again later"),
    ]

    def flaky(request: httpx.Request) -> httpx.Response:
        if failures and request.url.path.startswith("/api/v2/incremental/"):
            api.requests.append(request)
            return failures.pop(0)
        return api(request)

    retry = RetryPolicy(attempts=3, sleep=slept.append, jitter=False)
    report = ws.sync(connector(flaky, retry=retry))
    assert report.ok, str(report)
    assert slept == [7.0, 1.0]  # Retry-After, then the second backoff step
    assert len(ws.interactions()) == 12
    assert len(api.exports()) == 3 + 2


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "Couldn't authenticate you"}),
        (
            403,
            {
                "error": "Forbidden",
                "description": "You do not have access to this page. Please contact the "
                "account owner of this help desk for further help.",
            },
        ),
    ],
)
def test_refused_credentials_raise_auth_error_without_the_secret(
    status: int, body: dict[str, Any]
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    encoded = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
    for attempt in (
        lambda: connector(refuse).check(),
        lambda: list(connector(refuse).stream("tickets").read(None)),
    ):
        with pytest.raises(AuthError) as raised:
            attempt()
        assert raised.value.connector == "zendesk"
        assert raised.value.status == status
        for secret in (API_TOKEN, encoded):
            assert secret not in str(raised.value)
            assert secret not in (raised.value.request or "")


def test_check_reads_the_current_user_and_wants_an_admin() -> None:
    api = FakeZendesk()
    connector(api).check()
    assert [(r.method, r.url.path) for r in api.requests] == [("GET", "/api/v2/users/me.json")]
    api.me = {"id": 2, "name": "Agent", "role": "agent"}
    with pytest.raises(AuthError, match="admins only"):
        connector(api).check()
    api.me = {"id": None, "name": "Anonymous user", "role": "end-user"}
    with pytest.raises(AuthError, match="anonymous"):
        connector(api).check()


def test_oauth_token_is_sent_as_bearer(ws: cxm.Workspace) -> None:
    api = FakeZendesk()
    settings = {**options(api), "oauth_token": OAUTH_TOKEN}
    del settings["api_token"], settings["email"]
    report = ws.sync(ZendeskConnector(**settings))
    assert report.ok, str(report)
    assert {r.headers["authorization"] for r in api.requests} == {f"Bearer {OAUTH_TOKEN}"}


def test_export_requests_are_spaced_to_ten_a_minute() -> None:
    now = [0.0]
    waits: list[float] = []

    def advance(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    api = FakeZendesk()
    limiter = RateLimiter(10 / 60, clock=lambda: now[0], sleep=advance)
    zendesk = connector(api, export_rate_limit=limiter, comments=True)
    list(zendesk.stream("tickets").read(None))
    assert len(api.exports()) == 3
    assert len(api.comment_requests()) == 12
    # Comment requests do not spend the export budget: only the export pages were spaced.
    assert waits == pytest.approx([6.0, 6.0])
    assert now[0] == pytest.approx(12.0)


def test_rates_are_given_per_minute() -> None:
    zendesk = ZendeskConnector(**{**options(FakeZendesk()), "export_rate_limit": 30})
    assert zendesk._export_limiter.per_second == pytest.approx(0.5)
    default = {k: v for k, v in options(FakeZendesk()).items() if not k.endswith("rate_limit")}
    plain = ZendeskConnector(**default)
    assert plain._export_limiter.per_second == pytest.approx(10 / 60)
    assert plain._limiter.per_second == pytest.approx(200 / 60)


# -- bad records ------------------------------------------------------------------------------


def test_malformed_tickets_are_quarantined_and_the_rest_land(ws: cxm.Workspace) -> None:
    api = FakeZendesk()
    del api.tickets[2]["created_at"]  # a renamed field
    api.tickets[6]["satisfaction_rating"] = {"id": 9, "score": "great"}
    api.tickets[8]["requester_id"] = "501"  # mistyped
    report = ws.sync(connector(api))
    stream = report.stream("tickets")
    assert stream.quarantined == 3, str(report)
    assert len(ws.interactions()) == 9
    reasons = " ".join(ws.quarantined()["reason"])
    assert "zendesk.tickets[103].created_at" in reasons
    assert "zendesk.tickets[107].satisfaction_rating.score" in reasons
    assert "zendesk.tickets[109].requester_id" in reasons


def test_state_key_names_the_account() -> None:
    zendesk = connector(FakeZendesk())
    assert zendesk.state_key == "zendesk:acme"
    assert API_TOKEN not in repr(zendesk)
