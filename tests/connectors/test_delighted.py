"""The delighted connector against a fake Delighted API.

The fake answers are shaped on Delighted's published reference:

- https://delighted.com/docs/api (HTTP Basic auth with the API key as user name and an empty
  password; status codes 401 invalid key, 403 feature not on the plan, 429 rate limited with
  ``Retry-After`` in seconds, 500, 503; error body ``{"status", "message", "errors"}``)
- https://app.delighted.com/docs/api/listing-survey-responses
  (``GET /v1/survey_responses.json``: ``per_page`` default 20 and at most 100, ``page`` from 1,
  ``since``/``until`` on ``created_at`` and ``updated_since``/``updated_until`` on
  ``updated_at``, Unix seconds, inclusive; ``trend``, ``person_id``, ``person_email``; ``order``
  ``asc`` (default, creation order), ``desc``, ``asc:updated_at``, ``desc:updated_at``;
  ``expand[]=person`` embeds the person; the answer is a bare JSON array, shorter than
  ``per_page`` on the last page; a response is ``{"id", "person", "survey_type", "score",
  "comment", "permalink", "created_at", "updated_at" (null in the example), "person_properties",
  "notes", "tags", "additional_answers": [{"id", "value": {"free_response", "scale",
  "select_one", "select_many"}, "question": {"id", "type", "text"}}]}``)
- https://app.delighted.com/docs/api/listing-people (the person object: ``id``, ``email``,
  ``name``, ``created_at``, ``phone_number`` in E.164, ``last_sent_at``, ...)
- https://help.delighted.com/article/530-survey-types-overview and
  https://help.delighted.com/article/534-ces-surveys (the survey types' scales)
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

import cxm
from cxm.connectors import Checkpoint
from cxm.connectors.delighted import SURVEY_SCALES, DelightedConnector, response_records
from cxm.connectors.http import RetryPolicy
from cxm.exceptions import AuthError, UpstreamError, ValidationError
from cxm.model import CustomerRecord, Identity, Interaction
from cxm.testing import ConnectorContract, Interrupted, interrupted

BASE = "https://delighted.test/v1"
API_KEY = "dlt-secret-api-key-5f0c1d"
BASIC = base64.b64encode(f"{API_KEY}:".encode()).decode()
NO_WAIT = RetryPolicy(attempts=2, sleep=lambda seconds: None)
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z

PEOPLE = {
    "10": {
        "id": "10",
        "email": "Ann.Lee@example.com",
        "name": "Ann Lee",
        "created_at": T0 - 86_400,
        "phone_number": "+17132746524",
        "last_sent_at": T0 - 3_600,
        "last_responded_at": T0,
        "next_survey_scheduled_at": None,
    },
    "11": {
        "id": "11",
        "email": "bo@example.org",
        "name": None,
        "created_at": T0 - 86_400,
        "last_sent_at": T0 - 3_600,
    },
    "12": {
        "id": "12",
        "email": "cy@example.net",
        "name": "Cy",
        "created_at": T0 - 86_400,
        "phone_number": "+447700900123",
    },
    "13": {"id": "13", "email": "di@example.com", "name": "Di", "created_at": T0 - 86_400},
}


def make_responses(count: int, *, first: int = 1, start: int = T0) -> list[dict[str, Any]]:
    """``count`` NPS responses; three at a time share one ``updated_at`` second."""
    out = []
    for n in range(first, first + count):
        i = n - 1
        created = start + i * 60
        response: dict[str, Any] = {
            "id": str(n),
            "person": str(10 + i % 4),
            "survey_type": "nps",
            "score": i % 11,
            "comment": f"Comment {n}" if i % 4 != 3 else None,
            "permalink": f"https://app.delighted.com/r/token{n}",
            "created_at": created,
            "updated_at": start + (i // 3) * 600 + 3_600,
            "person_properties": {
                "Purchase Experience": "Retail Store" if i % 2 else "Mobile App",
                "country": "USA",
                "plan": f"plan-{n}",
                "Delighted Source": "Email",
            },
            "notes": [],
            "tags": [],
            "additional_answers": [],
        }
        if n == 2:
            response["notes"] = [
                {
                    "id": "77",
                    "text": "Called back",
                    "user_email": "agent@shop.example",
                    "created_at": created + 100,
                }
            ]
            response["tags"] = ["delivery"]
            response["additional_answers"] = [
                {
                    "id": "4",
                    "value": {
                        "free_response": None,
                        "scale": None,
                        "select_one": None,
                        "select_many": [
                            {"id": "DxmjNj", "text": "Convenience"},
                            {"id": "uNQIig", "text": "Friendly staff"},
                        ],
                    },
                    "question": {
                        "id": "enum_z9EvYV",
                        "type": "select_many",
                        "text": "What did you enjoy?",
                    },
                },
                {
                    "id": "5",
                    "value": {
                        "free_response": None,
                        "scale": 4,
                        "select_one": None,
                        "select_many": None,
                    },
                    "question": {"id": "integer_1", "type": "scale", "text": "How easy?"},
                },
            ]
        out.append(response)
    return out


def delighted_error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"status": status, "message": message})


class FakeDelighted:
    """The API: Basic auth with the key, the survey responses list with its filters and pages."""

    def __init__(self, responses: list[dict[str, Any]] | None = None) -> None:
        self.responses = responses if responses is not None else make_responses(12)
        self.requests: list[httpx.Request] = []
        self.before_page: Any = None  # called with the page number before answering

    def list_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/survey_responses.json")]

    def params(self) -> list[dict[str, str]]:
        return [dict(r.url.params) for r in self.list_requests()]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Basic {BASIC}":
            return delighted_error(401, "Unauthorized")
        if request.url.path != "/v1/survey_responses.json":
            return delighted_error(404, "Not Found")
        q = request.url.params
        per_page = min(int(q.get("per_page", "20")), 100)
        page = int(q.get("page", "1"))
        if self.before_page is not None:
            self.before_page(page, q)

        def changed(r: dict[str, Any]) -> int:
            return int(r.get("updated_at") or r["created_at"])

        found = list(self.responses)
        if "since" in q:
            found = [r for r in found if r["created_at"] >= int(q["since"])]
        if "until" in q:
            found = [r for r in found if r["created_at"] <= int(q["until"])]
        if "updated_since" in q:
            found = [r for r in found if changed(r) >= int(q["updated_since"])]
        if "updated_until" in q:
            found = [r for r in found if changed(r) <= int(q["updated_until"])]
        if "trend" in q:
            found = [r for r in found if r.get("trend") == q["trend"]]
        order = q.get("order", "asc")
        if order not in ("asc", "desc", "asc:updated_at", "desc:updated_at"):
            return httpx.Response(
                422,
                json={"status": 422, "message": "Unprocessable Entity", "errors": {"order": []}},
            )
        by_update = order.endswith(":updated_at")
        found.sort(
            key=lambda r: (changed(r) if by_update else r["created_at"], int(r["id"])),
            reverse=order.startswith("desc"),
        )
        chunk = found[(page - 1) * per_page : page * per_page]
        expand = q.get_list("expand[]")
        body = []
        for response in chunk:
            shown = dict(response)
            if "person" in expand and not isinstance(response["person"], dict):
                shown["person"] = PEOPLE[str(response["person"])]
            body.append(shown)
        return httpx.Response(200, json=body)


def options(api: Any, **more: Any) -> dict[str, Any]:
    return {
        "api_key": API_KEY,
        "project": "acme-nps",
        "base_url": BASE,
        "per_page": 5,
        "transport": httpx.MockTransport(api),
        "retry": NO_WAIT,
        **more,
    }


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[cxm.Workspace]:
    workspace = cxm.Workspace.open(tmp_path / "cxm.db")
    yield workspace
    workspace.close()


class TestDelightedContract(ConnectorContract):
    connector_class = DelightedConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"base_url": "ftp://delighted"}, "base_url"),
        ({"per_page": 101}, "per_page"),
        ({"per_page": 0}, "per_page"),
        ({"start": "2026-01-01T00:00:00"}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"source": "Delighted EU"}, "source"),
        ({"project": "acme nps"}, "project"),
        ({"trend": ""}, "trend"),
        ({"touchpoint": " "}, "touchpoint"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return options(FakeDelighted())

    def failing_options(self, tmp_path: Path, status: int) -> dict[str, Any]:
        return {
            **self.options(tmp_path),
            "transport": httpx.MockTransport(lambda request: delighted_error(status, "Failed")),
        }


def test_responses_become_survey_interactions_with_nps_feedback(ws: cxm.Workspace) -> None:
    api = FakeDelighted()
    report = ws.sync(DelightedConnector(**options(api, touchpoint="Post-purchase survey")))
    assert report.ok, str(report)
    frame = ws.interactions(attributes=True)
    assert len(frame) == 12
    assert set(frame["channel"]) == {"survey"}
    assert set(frame["kind"]) == {"survey_response"}
    assert set(frame["direction"]) == {"inbound"}
    assert set(frame["touchpoint"]) == {"Post-purchase survey"}
    two = frame[frame["source_id"] == "2"].iloc[0]
    assert two["source"] == "delighted"
    assert two["text"] == "Comment 2"
    assert two["occurred_at"].timestamp() == T0 + 60
    assert two["updated_at"].timestamp() == T0 + 3_600
    attributes = two["attributes"]
    assert attributes["survey_type"] == "nps"
    assert attributes["permalink"] == "https://app.delighted.com/r/token2"
    assert attributes["tags"] == ["delivery"]
    assert attributes["notes"] == [
        {"text": "Called back", "user_email": "agent@shop.example", "created_at": T0 + 160}
    ]
    assert attributes["additional_answers"] == [
        {
            "question_id": "enum_z9EvYV",
            "question": "What did you enjoy?",
            "type": "select_many",
            "answer": ["Convenience", "Friendly staff"],
        },
        {"question_id": "integer_1", "question": "How easy?", "type": "scale", "answer": 4},
    ]
    assert attributes["person_properties"]["Purchase Experience"] == "Retail Store"
    feedback = ws.feedback()
    assert set(feedback["metric"]) == {"nps"}
    assert (feedback["scale_min"].unique().tolist(), feedback["scale_max"].unique().tolist()) == (
        [0],
        [10],
    )
    assert sorted(feedback["score"].tolist()) == [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    four = feedback[
        feedback["interaction_id"] == frame[frame["source_id"] == "4"].iloc[0]["interaction_id"]
    ].iloc[0]
    assert (four["score"], four["comment"]) == (3, None)  # a score without a comment


def test_people_become_customers_with_properties_as_traits(ws: cxm.Workspace) -> None:
    ws.sync(DelightedConnector(**options(FakeDelighted())))
    customers = ws.customers()
    assert len(customers) == 4
    ann = customers[customers["email"] == "ann.lee@example.com"].iloc[0]
    assert ann["phone"] == "+17132746524"
    assert ann["name"] == "Ann Lee"
    assert ann["country"] == "USA"
    # Ann answered responses 1, 5 and 9: the traits are those sent with the newest, 9.
    assert ann["plan"] == "plan-9"
    assert ann["Purchase Experience"] == "Mobile App"
    assert "Delighted Source" not in customers.columns  # about the survey, not the person
    assert ann["n_interactions"] == 3
    bo = customers[customers["email"] == "bo@example.org"].iloc[0]
    assert bo["n_interactions"] == 3
    profile = ws.profile("ann.lee@example.com")
    kinds = {identity.kind for identity in profile.identities}
    assert kinds == {"delighted:person", "email", "phone"}


def test_pages_are_asked_by_update_time_with_the_person_embedded(ws: cxm.Workspace) -> None:
    api = FakeDelighted()
    ws.sync(DelightedConnector(**options(api)))
    asked = api.params()
    assert all(p["order"] == "asc:updated_at" for p in asked)
    assert all(p["expand[]"] == "person" and p["per_page"] == "5" for p in asked)
    assert all(r.headers["authorization"] == f"Basic {BASIC}" for r in api.list_requests())
    # Seconds: 1-3 at +3600, 4-6 at +4200, 7-9 at +4800, 10-12 at +5400. Each request starts
    # from the newest second read so far, so the boundary second's responses come again.
    assert [(p.get("updated_since"), p["page"]) for p in asked] == [
        (None, "1"),  # 1-5
        (str(T0 + 4_200), "1"),  # 4-8 (4, 5 skipped)
        (str(T0 + 4_800), "1"),  # 7-11 (7, 8 skipped)
        (str(T0 + 5_400), "1"),  # 10-12: short page, the end
    ]
    state = ws.sync_state(DelightedConnector(**options(api)))
    assert state["cursor"].iloc[0] == {"updated_since": T0 + 5_400, "seen": ["10", "11", "12"]}


def test_second_sync_asks_only_from_the_last_second(ws: cxm.Workspace) -> None:
    api = FakeDelighted()
    assert ws.sync(DelightedConnector(**options(api))).ok
    api.requests.clear()
    second = ws.sync(DelightedConnector(**options(api)))
    assert (second.new, second.updated) == (0, 0), str(second)
    assert api.params() == [
        {
            "per_page": "5",
            "page": "1",
            "order": "asc:updated_at",
            "expand[]": "person",
            "updated_since": str(T0 + 5_400),
        }
    ]
    # Two new responses arrive: the next sync reads them and nothing older.
    api.responses += make_responses(2, first=13)
    api.requests.clear()
    third = ws.sync(DelightedConnector(**options(api)))
    assert third.ok, str(third)
    interactions = ws.interactions()
    assert len(interactions) == 14
    # A full page (10-12 again, then 13, 14), then from 13 and 14's second: nothing more.
    assert [p["updated_since"] for p in api.params()] == [str(T0 + 5_400), str(T0 + 6_000)]
    assert third.stream("survey_responses").new == 2  # people 10 and 11 were known


def test_edited_response_is_read_again_and_updated(ws: cxm.Workspace) -> None:
    api = FakeDelighted()
    ws.sync(DelightedConnector(**options(api)))
    edited = api.responses[0]
    edited["comment"] = "Added a comment later"
    edited["notes"] = [{"id": "78", "text": "Refunded", "created_at": T0 + 9_000}]
    edited["updated_at"] = T0 + 9_000
    api.requests.clear()
    report = ws.sync(DelightedConnector(**options(api)))
    assert report.ok, str(report)
    assert report.stream("survey_responses").updated >= 1
    frame = ws.interactions(attributes=True)
    one = frame[frame["source_id"] == "1"].iloc[0]
    assert one["text"] == "Added a comment later"
    assert one["attributes"]["notes"][0]["text"] == "Refunded"
    feedback = ws.feedback()
    assert "Added a comment later" in set(feedback["comment"])
    assert len(frame) == 12


def test_responses_sharing_a_second_across_pages_are_all_read(ws: cxm.Workspace) -> None:
    # Seven responses changed in the same second, three a page: the window cannot move, so the
    # connector steps through the pages of that second; none is lost or read twice.
    responses = make_responses(9)
    for response in responses[:7]:
        response["updated_at"] = T0 + 7_200
    api = FakeDelighted(responses)
    report = ws.sync(DelightedConnector(**options(api, per_page=3)))
    assert report.ok, str(report)
    assert sorted(ws.interactions()["source_id"], key=int) == [str(n) for n in range(1, 10)]
    # Responses 8 and 9 changed earlier (T0+4800), so they come first.
    assert [(p.get("updated_since"), p["page"]) for p in api.params()] == [
        (None, "1"),  # 8, 9, 1: the window moves to T0+7200
        (str(T0 + 7_200), "1"),  # 1, 2, 3: all at that second, cannot move
        (str(T0 + 7_200), "2"),  # 4, 5, 6
        (str(T0 + 7_200), "3"),  # 7: short page, the end
    ]
    api.requests.clear()
    again = ws.sync(DelightedConnector(**options(api, per_page=3)))
    assert (again.new, again.updated) == (0, 0), str(again)


def test_a_response_changed_while_paging_is_not_lost(ws: cxm.Workspace) -> None:
    # Page numbers over a list sorted by update time drift when a response already read is
    # changed mid-sync (it jumps to the end and every later one moves up a place): a page-number
    # reader would skip one. The keyset window asks again from the newest second and skips none.
    api = FakeDelighted()

    def edit_first(page: int, params: Any) -> None:
        if "updated_since" in params and api.responses[0]["updated_at"] < T0 + 9_000:
            api.responses[0]["updated_at"] = T0 + 9_000
            api.responses[0]["comment"] = "Edited during the sync"

    api.before_page = edit_first
    report = ws.sync(DelightedConnector(**options(api)))
    assert report.ok, str(report)
    frame = ws.interactions()
    assert sorted(frame["source_id"], key=int) == [str(n) for n in range(1, 13)]
    assert frame[frame["source_id"] == "1"].iloc[0]["text"] == "Edited during the sync"


def test_checkpoint_after_every_page() -> None:
    connector = DelightedConnector(**options(FakeDelighted()))
    items = list(connector.stream("survey_responses").read(None))
    marks = [(i, item.cursor) for i, item in enumerate(items) if isinstance(item, Checkpoint)]
    assert marks == [
        (5, {"updated_since": T0 + 4_200, "seen": ["4", "5"]}),
        (9, {"updated_since": T0 + 4_800, "seen": ["7", "8"]}),
        (13, {"updated_since": T0 + 5_400, "seen": ["10", "11"]}),
        (15, {"updated_since": T0 + 5_400, "seen": ["10", "11", "12"]}),
    ]


def test_interrupted_sync_resumes_without_loss_or_repeats(tmp_path: Path) -> None:
    api = FakeDelighted()
    ws = cxm.Workspace.open(tmp_path / "cxm.db")
    try:
        # Killed after 7 items (5 responses, a checkpoint, 1 more response), stored one by one.
        with contextlib.suppress(Interrupted):
            ws.sync(interrupted(DelightedConnector(**options(api)), 7), batch_size=1)
        state = ws.sync_state(DelightedConnector(**options(api)))["cursor"].iloc[0]
        assert state == {"updated_since": T0 + 4_200, "seen": ["4", "5"]}
        assert len(ws.interactions()) == 6
        api.requests.clear()
        finished = ws.sync(DelightedConnector(**options(api)))
        assert finished.ok, str(finished)
        assert api.params()[0]["updated_since"] == str(T0 + 4_200)
        assert finished.stream("survey_responses").quarantined == 0
        assert sorted(ws.interactions()["source_id"], key=int) == [str(n) for n in range(1, 13)]
    finally:
        ws.close()


def test_start_bounds_the_first_sync(ws: cxm.Workspace) -> None:
    api = FakeDelighted()
    report = ws.sync(DelightedConnector(**options(api, start="2026-01-01T01:10:00Z")))
    assert report.ok, str(report)
    assert api.params()[0]["updated_since"] == str(T0 + 4_200)
    assert sorted(ws.interactions()["source_id"], key=int) == [str(n) for n in range(4, 13)]


def test_trend_is_passed_and_keys_the_state() -> None:
    api = FakeDelighted([{**r, "trend": "7"} for r in make_responses(3)])
    connector = DelightedConnector(**options(api, trend="7"))
    assert connector.state_key == "delighted:acme-nps:trend-7"
    items = list(connector.stream("survey_responses").read(None))
    assert len([i for i in items if isinstance(i, dict)]) == 3
    assert api.params()[0]["trend"] == "7"


def test_rate_limit_waits_retry_after_then_a_5xx_then_succeeds(ws: cxm.Workspace) -> None:
    api = FakeDelighted()
    slept: list[float] = []
    failures = iter([429, 503])

    def flaky(request: httpx.Request) -> httpx.Response:
        status = next(failures, None)
        if status == 429:
            return httpx.Response(
                429,
                headers={"Retry-After": "7"},
                json={"status": 429, "message": "Too Many Requests"},
            )
        if status == 503:
            return delighted_error(503, "Service Unavailable")
        return api(request)

    retry = RetryPolicy(attempts=3, sleep=slept.append, jitter=False)
    report = ws.sync(
        DelightedConnector(**options(api, transport=httpx.MockTransport(flaky), retry=retry))
    )
    assert report.ok, str(report)
    assert slept == [7.0, 1.0]  # Retry-After honoured; then the second backoff step (0.5 * 2)
    assert len(ws.interactions()) == 12


@pytest.mark.parametrize(
    ("status", "message"), [(401, "Unauthorized"), (403, "Feature not available on your plan")]
)
def test_refused_key_is_an_auth_error_without_the_secret(status: int, message: str) -> None:
    connector = DelightedConnector(
        **options(None, transport=httpx.MockTransport(lambda r: delighted_error(status, message)))
    )
    with pytest.raises(AuthError) as raised:
        connector.check()
    error = raised.value
    assert error.connector == "delighted"
    assert error.status == status
    for secret in (API_KEY, BASIC):
        assert secret not in str(error)
        assert secret not in repr(error)
        assert secret not in (error.request or "")
    assert "/survey_responses.json" in (error.request or "")


def test_wrong_key_is_refused_by_the_fake_and_reported() -> None:
    connector = DelightedConnector(**options(FakeDelighted(), api_key="dlt-wrong-key-000"))
    with pytest.raises(AuthError) as raised:
        connector.check()
    assert "dlt-wrong-key-000" not in str(raised.value)


def test_check_is_one_request_for_one_response() -> None:
    api = FakeDelighted()
    DelightedConnector(**options(api)).check()
    assert api.params() == [{"per_page": "1"}]


def test_malformed_responses_are_quarantined_and_the_rest_land(ws: cxm.Workspace) -> None:
    responses = make_responses(8)
    responses[1].pop("created_at")  # a renamed field
    responses[1]["updated_at"] = T0 + 3_600
    responses[3]["survey_type"] = "thumbs"  # no known scale
    responses[5]["score"] = 11  # outside NPS
    responses[6]["person"] = {"email": "no-id@example.com"}  # a person without an id
    api = FakeDelighted(responses)
    report = ws.sync(DelightedConnector(**options(api)))
    stream = report.stream("survey_responses")
    assert stream.quarantined == 4, str(report)
    assert sorted(ws.interactions()["source_id"], key=int) == ["1", "3", "5", "8"]
    reasons = " ".join(ws.quarantined()["reason"])
    assert "delighted.created_at" in reasons
    assert "delighted.survey_type='thumbs'" in reasons
    assert "delighted.score" in reasons
    assert "delighted.person.id" in reasons


def test_full_refresh_rereads_without_duplicates(ws: cxm.Workspace) -> None:
    api = FakeDelighted()
    ws.sync(DelightedConnector(**options(api)))
    count = len(ws.interactions())
    customers = len(ws.customers())
    api.requests.clear()
    report = ws.sync(DelightedConnector(**options(api)), full_refresh=True)
    assert report.ok, str(report)
    assert (report.new, report.updated) == (0, 0)
    assert len(ws.interactions()) == count == 12
    assert len(ws.customers()) == customers == 4
    assert "updated_since" not in api.params()[0]  # from the beginning again
    assert len(api.params()) == 4


def test_state_key_names_the_project_or_a_fingerprint_never_the_key() -> None:
    named = DelightedConnector(**options(FakeDelighted()))
    assert named.state_key == "delighted:acme-nps"
    anonymous = DelightedConnector(**{**options(FakeDelighted()), "project": None})
    assert anonymous.state_key.startswith("delighted:key-")
    assert API_KEY not in anonymous.state_key
    other = DelightedConnector(**{**options(FakeDelighted()), "project": None, "api_key": "k2"})
    assert other.state_key != anonymous.state_key
    assert API_KEY not in repr(named)


def test_a_non_array_answer_is_an_upstream_error() -> None:
    def odd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"survey_responses": []})

    connector = DelightedConnector(**options(None, transport=httpx.MockTransport(odd)))
    with pytest.raises(UpstreamError, match="not a JSON array"):
        list(connector.stream("survey_responses").read(None))


@pytest.mark.parametrize(
    ("survey_type", "score", "metric", "scale"),
    [
        ("csat", 4, "csat", (1, 5)),
        ("csat3", 3, "csat", (1, 3)),
        ("ces", 5, "ces", (1, 5)),
        ("ces7", 7, "ces", (1, 7)),
        ("stars_five", 1, "rating", (1, 5)),
        ("smileys", 2, "rating", (1, 5)),
        ("enps", 10, "custom", (0, 10)),
        ("pmf", 3, "custom", (1, 3)),
    ],
)
def test_survey_types_are_read_on_their_scale(
    survey_type: str, score: int, metric: str, scale: tuple[int, int]
) -> None:
    response = {**make_responses(1)[0], "survey_type": survey_type, "score": score}
    _person, answer = response_records(response)
    assert isinstance(answer, Interaction)
    (feedback,) = answer.feedback
    assert (feedback.metric.value, feedback.score, feedback.scale) == (metric, score, scale)
    assert SURVEY_SCALES[survey_type] == (metric, scale)


def test_a_score_outside_the_type_scale_names_the_field() -> None:
    response = {**make_responses(1)[0], "survey_type": "ces7", "score": 0}
    with pytest.raises(ValidationError) as raised:
        response_records(response)
    assert raised.value.field == "delighted.score"


def test_a_person_given_only_by_id_links_through_the_id() -> None:
    response = make_responses(1)[0]  # "person": "10", not expanded
    person, answer = response_records(response, source="delighted-eu")
    assert isinstance(person, CustomerRecord)
    assert person.identities == (Identity("delighted:person", "10"),)
    assert person.source == answer.source == "delighted-eu"
    assert answer.identities == (Identity("delighted:person", "10"),)
    assert person.traits == {
        "Purchase Experience": "Mobile App",
        "country": "USA",
        "plan": "plan-1",
    }


def test_unusable_contact_details_stay_traits() -> None:
    response = {
        **make_responses(1)[0],
        "person": {"id": "99", "email": "not-an-address", "phone_number": "12"},
        "updated_at": None,  # never edited
    }
    person, answer = response_records(response)
    assert isinstance(person, CustomerRecord)
    assert isinstance(answer, Interaction)
    assert person.identities == (Identity("delighted:person", "99"),)
    assert person.traits["email"] == "not-an-address"
    assert person.traits["phone_number"] == "12"
    assert answer.updated_at == answer.occurred_at
