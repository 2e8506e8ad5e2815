"""Tests of the HubSpot connector against a fake HubSpot API shaped on the published reference.

The fake answers like the documented endpoints:

- search: https://developers.hubspot.com/docs-beta/crm/search and
  https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm (``POST
  /crm/v3/objects/{objectType}/search`` with ``filterGroups``/``sorts``/``properties``/``limit``/
  ``after``; answers ``{"total", "results": [{"id", "properties", "createdAt", "updatedAt",
  "archived"}], "paging": {"next": {"after", "link"}}}``; at most 10,000 results a query, a 400
  past them; date filters in epoch milliseconds; 4 search requests a second per token:
  https://developers.hubspot.com/changelog/crm-search-api-rate-limit-increase);
- associations: https://developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/batch/get-associations
  (``POST /crm/v4/associations/{from}/{to}/batch/read``, ``{"inputs": [{"id"}]}`` ->
  ``{"status", "results": [{"from": {"id"}, "to": [{"toObjectId", "associationTypes"}]}]}``);
- e-mails: https://developers.hubspot.com/docs/api/crm/email (``hs_email_direction`` EMAIL /
  INCOMING_EMAIL / FORWARDED_EMAIL, ``hs_email_text``, ``hs_timestamp``);
- survey responses: https://developers.hubspot.com/docs/api/crm/feedback-submissions
  (``hs_survey_type``, ``hs_value``, ``hs_response_group``, ``hs_content``,
  ``hs_submission_timestamp``, ``hs_lastmodifieddate``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

import cxm
from cxm.connectors import Checkpoint
from cxm.connectors import hubspot as hubspot_module
from cxm.connectors.http import RateLimiter, RetryPolicy
from cxm.connectors.hubspot import HubSpotConnector
from cxm.testing import ConnectorContract

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
BASE = "https://api.hubspot.test"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(hours: float) -> str:
    """HubSpot's datetime property form: ISO 8601 with milliseconds and Z."""
    moment = T0 + timedelta(hours=hours)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def millis(value: str) -> int:
    return int(datetime.fromisoformat(value).timestamp() * 1000)


def record(object_id: int, modified_property: str, modified: str, **properties: Any) -> dict:
    return {
        "id": str(object_id),
        "properties": {
            "hs_object_id": str(object_id),
            modified_property: modified,
            **properties,
        },
        "createdAt": at(0),
        "updatedAt": modified,
        "archived": False,
    }


def sample_data() -> tuple[dict[str, list[dict]], dict[str, dict[str, list[int]]]]:
    """Objects by type, and contact associations by type and object id."""
    contacts = [
        record(
            100 + i,
            "lastmodifieddate",
            at(i),
            email=f"customer{i}@example.com",
            firstname=f"Ann{i}",
            lastname="Lee",
            phone="+44 20 7946 0958" if i == 1 else None,
            mobilephone="(555) 0100" if i == 2 else None,
            lifecyclestage="customer",
            createdate=at(0),
        )
        for i in range(1, 13)
    ]
    notes = [
        record(
            200 + i,
            "hs_lastmodifieddate",
            at(i + 0.5),
            hs_timestamp=at(i),
            hs_note_body=f"<p>Called about order {i}</p>",
        )
        for i in range(1, 8)
    ]
    emails = [
        record(
            300 + i,
            "hs_lastmodifieddate",
            at(i + 0.25),
            hs_timestamp=at(i),
            hs_email_direction="INCOMING_EMAIL" if i % 2 else "EMAIL",
            hs_email_subject=f"Re: order {i}",
            hs_email_text=f"About order {i}",
            hs_email_status="SENT",
        )
        for i in range(1, 7)
    ]
    # A vendor renamed the direction: this e-mail is quarantined, the rest land.
    emails.append(
        record(
            399,
            "hs_lastmodifieddate",
            at(7.25),
            hs_timestamp=at(7),
            hs_email_text="no direction",
        )
    )
    calls = [
        record(
            400 + i,
            "hs_lastmodifieddate",
            at(i + 0.75),
            hs_timestamp=at(i),
            hs_call_direction="INBOUND" if i == 1 else "OUTBOUND",
            hs_call_title=f"Call {i}",
            hs_call_body="<b>Discussed</b> renewal",
            hs_call_duration="61000",
            hs_call_status="COMPLETED",
        )
        for i in range(1, 5)
    ]
    tickets = [
        record(
            500 + i,
            "hs_lastmodifieddate",
            at(i + 0.1),
            createdate=at(i),
            subject=f"Broken item {i}",
            content=f"Item {i} arrived broken",
            hs_pipeline="0",
            hs_pipeline_stage="1",
            hs_ticket_priority="HIGH",
        )
        for i in range(1, 5)
    ]
    surveys = [("NPS", "9", "PROMOTER"), ("CSAT", "4", None), ("CES", "6", None)]
    surveys += [("NPS", "3", "DETRACTOR"), ("CUSTOM", "yes", None)]
    feedback = [
        record(
            600 + i,
            "hs_lastmodifieddate",
            at(i + 0.2),
            hs_createdate=at(i),
            hs_submission_timestamp=at(i),
            hs_survey_type=kind,
            hs_survey_name=f"{kind} survey",
            hs_survey_id="5",
            hs_survey_channel="EMAIL",
            hs_value=value,
            hs_response_group=group,
            hs_content="Great product!" if i == 1 else None,
        )
        for i, (kind, value, group) in enumerate(surveys, start=1)
    ]
    data = {
        "contacts": contacts,
        "notes": notes,
        "emails": emails,
        "calls": calls,
        "tickets": tickets,
        "feedback_submissions": feedback,
    }
    associations: dict[str, dict[str, list[int]]] = {}
    for object_type, items in data.items():
        if object_type == "contacts":
            continue
        links = {}
        for n, item in enumerate(items):
            if n == 0:
                links[item["id"]] = [101, 102]  # the first contact wins, the other is noted
            elif n < 5:
                links[item["id"]] = [100 + n + 1]
            # the rest have no contact
        associations[object_type] = links
    return data, associations


class FakeHubSpot:
    """The HubSpot API: bearer auth, CRM search with its cap, v4 association batch reads."""

    def __init__(
        self,
        data: dict[str, list[dict]] | None = None,
        associations: dict[str, dict[str, list[int]]] | None = None,
        *,
        cap: int = 10_000,
    ) -> None:
        sample, links = sample_data()
        self.data = sample if data is None else data
        self.associations = links if associations is None else associations
        self.cap = cap
        self.requests: list[httpx.Request] = []

    def searches(self, object_type: str) -> list[dict[str, Any]]:
        """The bodies of the search requests made for ``object_type``."""
        return [
            json.loads(r.content)
            for r in self.requests
            if r.url.path == f"/crm/v3/objects/{object_type}/search"
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(
                401,
                json={
                    "status": "error",
                    "message": "Authentication credentials not found.",
                    "correlationId": "4f3a1c5e-0000-0000-0000-000000000000",
                    "category": "INVALID_AUTHENTICATION",
                },
            )
        parts = request.url.path.strip("/").split("/")
        if request.method == "GET" and parts == ["crm", "v3", "objects", "contacts"]:
            return httpx.Response(200, json={"results": self.data["contacts"][:1]})
        if (
            request.method == "POST"
            and parts[:3] == ["crm", "v3", "objects"]
            and parts[-1] == "search"
        ):
            return self.search(parts[3], json.loads(request.content))
        if request.method == "POST" and parts[:3] == ["crm", "v4", "associations"]:
            return self.batch_read(parts[3], json.loads(request.content))
        return httpx.Response(404, json={"status": "error", "message": "not found"})

    def search(self, object_type: str, body: dict[str, Any]) -> httpx.Response:
        limit = int(body.get("limit", 10))
        after = int(body.get("after") or 0)
        if limit > 200:
            return self._invalid("limit must be at most 200")
        if after + limit > self.cap:
            return self._invalid(f"paging past {self.cap} results is not supported")
        items = list(self.data[object_type])
        for group in body.get("filterGroups", []):
            for condition in group["filters"]:
                name, bound = condition["propertyName"], int(condition["value"])
                if condition["operator"] == "GTE":
                    items = [i for i in items if millis(i["properties"][name]) >= bound]
                elif condition["operator"] == "GT":
                    items = [i for i in items if millis(i["properties"][name]) > bound]
        for sort in body.get("sorts", []):
            items.sort(key=lambda i, p=sort["propertyName"]: millis(i["properties"][p]))
        wanted = set(body.get("properties", []))
        page = [
            {**item, "properties": {k: v for k, v in item["properties"].items() if k in wanted}}
            for item in items[after : after + limit]
        ]
        answer: dict[str, Any] = {"total": len(items), "results": page}
        if after + limit < len(items):
            following = str(after + limit)
            answer["paging"] = {"next": {"after": following, "link": f"?after={following}"}}
        return httpx.Response(200, json=answer)

    def batch_read(self, object_type: str, body: dict[str, Any]) -> httpx.Response:
        links = self.associations.get(object_type, {})
        results, errors = [], []
        for entry in body["inputs"]:
            contacts = links.get(entry["id"])
            if not contacts:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                        "message": f"No contacts is associated with {entry['id']}.",
                        "context": {"fromObjectId": [entry["id"]]},
                    }
                )
                continue
            to = [
                {
                    "toObjectId": c,
                    "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": 202, "label": None}
                    ],
                }
                for c in contacts
            ]
            results.append({"from": {"id": entry["id"]}, "to": to})
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": "2026-03-01T00:00:00.000Z",
            "completedAt": "2026-03-01T00:00:00.100Z",
        }
        if errors:
            answer["numErrors"] = len(errors)
            answer["errors"] = errors
        return httpx.Response(207 if errors else 200, json=answer)

    @staticmethod
    def _invalid(message: str) -> httpx.Response:
        return httpx.Response(
            400,
            json={
                "status": "error",
                "message": message,
                "correlationId": "9b1c2d3e-0000-0000-0000-000000000000",
                "category": "VALIDATION_ERROR",
            },
        )


def no_wait_limiter() -> RateLimiter:
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    return RateLimiter(4, clock=lambda: now[0], sleep=advance)


def connector(api: Callable[[httpx.Request], httpx.Response], **options: Any) -> HubSpotConnector:
    settings: dict[str, Any] = {
        "token": TOKEN,
        "portal_id": "62515",
        "base_url": BASE,
        "transport": httpx.MockTransport(api),
        "rate_limit": no_wait_limiter(),
        "retry": RetryPolicy(attempts=3, sleep=lambda seconds: None),
        **options,
    }
    return HubSpotConnector(**settings)


@pytest.fixture
def ws(tmp_path: Path):
    workspace = cxm.Workspace.open(tmp_path / "cxm.db")
    yield workspace
    workspace.close()


# -- the contract -----------------------------------------------------------------------------


class TestHubSpotContract(ConnectorContract):
    connector_class = HubSpotConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"base_url": "ftp://api.hubapi.com"}, "base_url"),
        ({"page_size": 500}, "page_size"),
        ({"streams": ["deals"]}, "streams"),
        ({"start": "yesterday"}, "start"),
        ({"source": "HubSpot EU"}, "source"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return {
            "token": TOKEN,
            "portal_id": "62515",
            "base_url": BASE,
            "page_size": 3,
            "transport": httpx.MockTransport(FakeHubSpot()),
            "rate_limit": no_wait_limiter(),
            "retry": RetryPolicy(attempts=2, sleep=lambda seconds: None),
        }

    def failing_options(self, tmp_path: Path, status: int) -> dict[str, Any]:
        return {
            **self.options(tmp_path),
            "transport": httpx.MockTransport(lambda request: httpx.Response(status)),
        }


# -- records --------------------------------------------------------------------------------


def test_sync_stores_contacts_and_links_activities_to_them(ws: cxm.Workspace) -> None:
    report = ws.sync(connector(FakeHubSpot()))
    counts = {s.stream: (s.new, s.quarantined) for s in report.streams}
    assert counts == {
        "contacts": (12, 0),
        "notes": (7, 0),
        "emails": (6, 1),
        "calls": (4, 0),
        "tickets": (4, 0),
        "feedback_submissions": (5, 0),
    }
    reason = ws.quarantined()["reason"].iloc[0]
    assert "hubspot.properties.hs_email_direction" in reason
    # The note on contacts 101 and 102 belongs to 101's customer, found by e-mail too.
    profile = ws.profile("customer1@example.com")
    interactions = ws.interactions(attributes=True)
    note = interactions[interactions["source_id"] == "note:201"].iloc[0]
    assert note["customer_id"] == profile.customer.customer_id
    assert note["channel"] == "crm"
    assert note["kind"] == "note"
    assert note["text"] == "Called about order 1"
    assert note["attributes"]["other_contacts"] == ["102"]
    # An activity without an associated contact still lands, with no customer.
    assert interactions[interactions["source_id"] == "note:207"]["customer_id"].isna().all()


def test_contact_identities_and_traits() -> None:
    api = FakeHubSpot()
    hubspot = connector(api)
    first = hubspot.parse_contact(api.data["contacts"][0])
    assert {i.key for i in first.identities} == {
        ("hubspot:contact", "101"),
        ("email", "customer1@example.com"),
        ("phone", "+442079460958"),
    }
    assert first.traits["firstname"] == "Ann1"
    assert first.source_id == "contact:101"
    assert first.updated_at == T0 + timedelta(hours=1)
    # A phone without a country code cannot be an identity: it is kept as a trait.
    second = hubspot.parse_contact(api.data["contacts"][1])
    assert second.traits["mobilephone"] == "(555) 0100"
    assert "phone" not in {i.kind for i in second.identities}


def test_email_call_ticket_and_survey_mapping() -> None:
    api = FakeHubSpot()
    hubspot = connector(api)
    contact = {"associations": {"contacts": ["105"]}}
    incoming = hubspot.parse_email({**api.data["emails"][0], **contact})
    outgoing = hubspot.parse_email({**api.data["emails"][1], **contact})
    assert (incoming.channel, incoming.kind, incoming.direction) == ("email", "message", "inbound")
    assert outgoing.direction == "outbound"
    assert incoming.text == "About order 1"
    assert incoming.identities == (cxm.Identity("hubspot:contact", "105"),)
    call = hubspot.parse_call({**api.data["calls"][0], **contact})
    assert (call.channel, call.kind, call.direction) == ("phone", "call", "inbound")
    assert call.text == "Discussed renewal"
    assert call.attributes["duration_ms"] == 61000
    ticket = hubspot.parse_ticket(api.data["tickets"][0])
    assert (ticket.channel, ticket.kind, ticket.identities) == ("support", "ticket", ())
    assert ticket.attributes["subject"] == "Broken item 1"
    scores = [
        hubspot.parse_feedback_submission(f).feedback for f in api.data["feedback_submissions"]
    ]
    assert [(f[0].metric, f[0].score) for f in scores[:4]] == [
        ("nps", 9),
        ("csat", 4),
        ("ces", 6),
        ("nps", 3),
    ]
    assert scores[0][0].comment == "Great product!"
    assert scores[4] == ()  # a custom survey has no standard score


def test_nps_above_ten_is_refused() -> None:
    api = FakeHubSpot()
    item = api.data["feedback_submissions"][0]
    item = {**item, "properties": {**item["properties"], "hs_value": "11"}}
    with pytest.raises(cxm.ValidationError):
        connector(api).parse_feedback_submission(item)


# -- reading: paging, incremental, the search cap -------------------------------------------


def test_pages_are_read_with_after_sorted_by_last_modified(ws: cxm.Workspace) -> None:
    api = FakeHubSpot()
    report = ws.sync(connector(api, page_size=5, streams=["contacts", "notes"]))
    assert report.stream("contacts").new == 12
    bodies = api.searches("contacts")
    assert [b.get("after") for b in bodies] == [None, "5", "10"]
    assert bodies[0]["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert bodies[0]["filterGroups"][0]["filters"][0]["propertyName"] == "lastmodifieddate"
    assert api.searches("notes")[0]["sorts"][0]["propertyName"] == "hs_lastmodifieddate"
    # One association batch read per page of notes, none for contacts.
    reads = [r for r in api.requests if r.url.path.startswith("/crm/v4/associations/")]
    assert [r.url.path for r in reads] == ["/crm/v4/associations/notes/contacts/batch/read"] * 2
    assert [len(json.loads(r.content)["inputs"]) for r in reads] == [5, 2]


def test_second_sync_asks_only_for_what_changed(ws: cxm.Workspace) -> None:
    api = FakeHubSpot()
    assert ws.sync(connector(api, page_size=5)).ok
    api.requests.clear()
    second = ws.sync(connector(api, page_size=5))
    assert second.new == 0
    assert second.updated == 0
    bound = api.searches("contacts")[0]["filterGroups"][0]["filters"][0]
    assert bound == {
        "propertyName": "lastmodifieddate",
        "operator": "GTE",
        "value": str(millis(at(12))),
    }
    # Only the newest contact (the boundary) comes back; nothing older is fetched.
    assert len(api.searches("contacts")) == 1
    # A contact changed in HubSpot is read and updated by the next sync.
    changed = api.data["contacts"][3]
    changed["properties"].update(lastmodifieddate=at(20), firstname="Renamed")
    third = ws.sync(connector(api, page_size=5, streams=["contacts"]))
    assert third.stream("contacts").updated == 1
    assert third.stream("contacts").cursor_after == {"since": at(20)}


def test_full_refresh_reads_from_start_without_duplicates(ws: cxm.Workspace) -> None:
    api = FakeHubSpot()
    assert ws.sync(connector(api)).ok
    api.requests.clear()
    refreshed = ws.sync(connector(api), full_refresh=True)
    assert refreshed.new == 0
    assert api.searches("contacts")[0]["filterGroups"][0]["filters"][0]["value"] == "0"
    assert len(ws.interactions()) == 7 + 6 + 4 + 4 + 5


def test_rewindows_at_the_ten_thousand_result_cap() -> None:
    count = 10_450
    contacts = [
        record(i, "lastmodifieddate", at(i / 3600), email=f"c{i}@example.com")
        for i in range(1, count + 1)
    ]
    api = FakeHubSpot({"contacts": contacts}, {})
    stream = connector(api, page_size=200, streams=["contacts"]).stream("contacts")
    items = list(stream.read(None))
    ids = [item["id"] for item in items if not isinstance(item, Checkpoint)]
    assert set(ids) == {str(i) for i in range(1, count + 1)}
    bodies = api.searches("contacts")
    # 50 pages reach the cap; then a new window from the newest record seen (the 10,000th).
    assert [b.get("after") for b in bodies[49:52]] == ["9800", None, "200"]
    assert bodies[50]["filterGroups"][0]["filters"][0]["value"] == str(millis(at(10_000 / 3600)))
    assert len(ids) == count + 1  # only the boundary record is read twice
    checkpoints = [item.cursor for item in items if isinstance(item, Checkpoint)]
    assert checkpoints[-1] == {"since": at(count / 3600)}


def test_fake_enforces_the_cap() -> None:
    api = FakeHubSpot()
    response = api.search("contacts", {"limit": 200, "after": "9900"})
    assert response.status_code == 400


def test_a_window_that_cannot_move_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hubspot_module, "SEARCH_RESULT_CAP", 10)
    same = [record(i, "lastmodifieddate", at(1)) for i in range(1, 16)]
    api = FakeHubSpot({"contacts": same}, {}, cap=10)
    stream = connector(api, page_size=5, streams=["contacts"]).stream("contacts")
    with pytest.raises(cxm.UpstreamError, match="share the modification time"):
        list(stream.read(None))


# -- HTTP behaviour ---------------------------------------------------------------------------


def flaky(api: FakeHubSpot, *answers: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    """The API, answering the first searches with ``answers``."""
    pending = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        if pending and request.url.path.endswith("/search"):
            api.requests.append(request)
            return pending.pop(0)
        return api(request)

    return handler


def test_search_post_is_retried_after_429_honouring_retry_after(ws: cxm.Workspace) -> None:
    api = FakeHubSpot()
    slept: list[float] = []
    throttled = httpx.Response(
        429,
        headers={"Retry-After": "7"},
        json={
            "status": "error",
            "message": "You have reached your secondly limit.",
            "errorType": "RATE_LIMIT",
            "policyName": "SECONDLY",
        },
    )
    hubspot = connector(
        flaky(api, throttled), retry=RetryPolicy(sleep=slept.append), streams=["contacts"]
    )
    report = ws.sync(hubspot)
    assert report.ok
    assert report.stream("contacts").new == 12
    assert slept == [7.0]
    assert len(api.searches("contacts")) == 2


def test_search_post_is_retried_after_a_5xx(ws: cxm.Workspace) -> None:
    api = FakeHubSpot()
    slept: list[float] = []
    hubspot = connector(
        flaky(api, httpx.Response(502)),
        retry=RetryPolicy(sleep=slept.append, jitter=False, backoff=0.5),
        streams=["notes"],
    )
    report = ws.sync(hubspot)
    assert report.ok
    assert report.stream("notes").new == 7
    assert slept == [0.5]


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_is_an_auth_error_without_the_token(status: int) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            json={
                "status": "error",
                "message": f"nope {TOKEN}",
                "category": "INVALID_AUTHENTICATION",
            },
        )

    with pytest.raises(cxm.AuthError) as raised:
        connector(refuse).check()
    assert raised.value.connector == "hubspot"
    assert TOKEN not in str(raised.value)
    with pytest.raises(cxm.AuthError):
        list(connector(refuse).stream("contacts").read(None))


def test_requests_are_spaced_to_four_a_second() -> None:
    now = [0.0]
    waits: list[float] = []

    def advance(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    api = FakeHubSpot()
    limiter = RateLimiter(4, clock=lambda: now[0], sleep=advance)
    hubspot = connector(api, rate_limit=limiter, page_size=5, streams=["contacts", "notes"])
    for stream in hubspot.streams():
        list(stream.read(None))
    assert len(api.requests) == 3 + 2 + 2  # contacts pages; notes pages and association reads
    assert waits == [0.25] * (len(api.requests) - 1)
    assert now[0] == pytest.approx((len(api.requests) - 1) / 4)


def test_check_reads_one_contact() -> None:
    api = FakeHubSpot()
    connector(api).check()
    assert [(r.method, r.url.path, r.url.params["limit"]) for r in api.requests] == [
        ("GET", "/crm/v3/objects/contacts", "1")
    ]


def test_state_key_names_the_account() -> None:
    api = FakeHubSpot()
    assert connector(api).state_key == "hubspot:62515"
    keyed = connector(api, portal_id=None).state_key
    assert keyed.startswith("hubspot:token-")
    assert TOKEN not in keyed
