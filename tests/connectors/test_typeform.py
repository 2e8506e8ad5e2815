"""The typeform connector against a fake Typeform Responses API.

The fake answers are shaped on Typeform's published reference:

- https://www.typeform.com/developers/responses/reference/retrieve-responses/
  (``GET /forms/{form_id}/responses``; ``page_size`` default 25, at most 1000; ``since`` and
  ``until`` inclusive, unix seconds or ISO 8601 UTC to the second, ``2020-03-20T14:00:59``;
  ``sort`` ``submitted_at,asc`` or ``submitted_at,desc``, the default being
  ``submitted_at,desc``; ``after``/``before`` a response token, exclusive, which "could not be
  used together with sort parameter" (the fake answers such a request with a 400
  ``VALIDATION_ERROR``; the exact body Typeform sends there is a guess in the shape of its
  documented error objects); ``response_type`` ``started``, ``partial``, ``completed``)
- https://www.typeform.com/developers/responses/JSON-response-explanation/ (``{"total_items",
  "page_count", "items": [{"landing_id", "token", "landed_at", "submitted_at", "metadata":
  {"user_agent", "platform", "referer", "network_id", "browser"}, "hidden", "calculated":
  {"score"}, "variables", "answers": [{"field": {"id", "type", "ref"}, "type": "text" |
  "number" | "email" | "choice" | "boolean" ..., "<type>": value}]}]}``)
- https://www.typeform.com/developers/get-started/personal-access-token/ (``Authorization:
  Bearer tfp_...``) and https://www.typeform.com/developers/troubleshooting/ (error objects
  ``{"code", "description"}``; ``AUTHENTICATION_ERROR`` with 403)
- https://www.typeform.com/developers/webhooks/ (responses can reach Typeform's database a
  little after they are submitted: the reason for the overlap)
- Rate limit: two requests a second per account for the Create and Responses APIs, 429 above
  it, ``Retry-After`` to be honoured (Typeform's get-started page, as quoted by
  https://rate-limits.apis.io/rate-limits/typeform/typeform-rate-limits/ and
  https://www.ingestdata.ai/docs/connectors/typeform; the 429 body is a guess in the shape of
  the documented error objects).
- Paging: time keyset over documented, combinable parameters only (``sort=submitted_at,asc``,
  ``since``, ``page_size``, ``response_type``), since the reference forbids ``after``/``before``
  with ``sort`` and does not document the order of ``after`` pages; a short page is the last,
  as in Typeform's own client (Typeform/js-api-client ``src/auto-page-items.ts``). The order of
  responses submitted in the same second is not documented: the fake can flip it between
  requests (``flip_ties``) to prove the connector does not rely on it.
"""

from __future__ import annotations

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
from cxm.connectors.typeform import FormSettings, TypeformConnector, response_interaction
from cxm.exceptions import AuthError, UpstreamError, ValidationError
from cxm.testing import ConnectorContract, Interrupted, interrupted

TOKEN = "tfp_943af478d3ff3d4d760020c11af102b79c440513"
BASE = "https://api.typeform.test"
SURVEY = "u6nXL7"  # a post-purchase survey with a mapping
PULSE = "u6nxl7"  # another form: ids are case-sensitive
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
MAPPING = {
    "feedback": {"satisfaction": "csat", "effort": {"metric": "ces"}},
    "hidden": {"customer_id": "shop:customer", "email": "email"},
    "comment": "why",
    "touchpoint": "Post-purchase survey",
}


def at(minutes: float) -> str:
    """Typeform's time form: ISO 8601 UTC to the second with Z."""
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def survey_response(i: int, minutes: float, **changes: Any) -> dict[str, Any]:
    """A completed response to the post-purchase survey, submitted ``minutes`` after T0."""
    token = f"{i:04d}survey8f1c2b7d9e0a3f5b6c7d8e9f"
    item: dict[str, Any] = {
        "landing_id": token,
        "token": token,
        "response_id": token,
        "response_type": "completed",
        "landed_at": at(minutes - 2),
        "submitted_at": at(minutes),
        "metadata": {
            "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
            "platform": "other",
            "referer": f"https://acme.typeform.com/to/{SURVEY}?customer_id=C-{i}",
            "network_id": "a1b2c3d4e5",
            "browser": "default",
        },
        "hidden": {"customer_id": f"C-{i}", "email": f"buyer{i}@example.com"},
        "calculated": {"score": i % 4},
        "variables": [{"key": "score", "type": "number", "number": i % 4}],
        "answers": [
            {
                "field": {"id": "nPsQ1xYz", "type": "nps", "ref": "recommend"},
                "type": "number",
                "number": i % 11,
            },
            {
                "field": {"id": "oPs2aBcD", "type": "opinion_scale", "ref": "satisfaction"},
                "type": "number",
                "number": 1 + i % 5,
            },
            {
                "field": {"id": "oPs3eFgH", "type": "opinion_scale", "ref": "effort"},
                "type": "number",
                "number": 1 + i % 7,
            },
            {
                "field": {"id": "lTx4iJkL", "type": "long_text", "ref": "why"},
                "type": "text",
                "text": f"Order {i} arrived on time",
            },
            {
                "field": {"id": "dRp5mNoP", "type": "dropdown", "ref": "store"},
                "type": "text",
                "text": "Berlin",
            },
            {
                "field": {"id": "cHo6qRsT", "type": "multiple_choice", "ref": "plan"},
                "type": "choice",
                "choice": {"id": "ch1", "ref": "plan-pro", "label": "Pro"},
            },
            {
                "field": {"id": "eMl7uVwX", "type": "email", "ref": "contact_email"},
                "type": "email",
                "email": f"Buyer{i}@Example.com",
            },
        ],
    }
    item.update(changes)
    return item


def pulse_response(i: int, minutes: float) -> dict[str, Any]:
    """A response to the pulse form, read without a mapping."""
    token = f"{i:04d}pulse1a2b3c4d5e6f7a8b9c0d1e2f3"
    return {
        "landing_id": token,
        "token": token,
        "response_type": "completed",
        "landed_at": at(minutes - 1),
        "submitted_at": at(minutes),
        "metadata": {"platform": "mobile", "browser": "touch", "referer": "https://x.test"},
        "hidden": {},
        "answers": [
            {
                "field": {"id": "pNp1", "type": "nps", "ref": "pulse_nps"},
                "type": "number",
                "number": 10 - i % 3,
            },
            {
                "field": {"id": "pRt2", "type": "rating", "ref": "stars"},
                "type": "number",
                "number": 4,
            },
            {
                "field": {"id": "pSt3", "type": "short_text"},
                "type": "text",
                "text": "Keep it up",
            },
        ],
    }


def partial_response(minutes: float) -> dict[str, Any]:
    """A response someone left half-way: it has landed but was never submitted."""
    return {
        "landing_id": "partial0000000000000000000000001",
        "token": "partial0000000000000000000000001",
        "response_type": "partial",
        "landed_at": at(minutes),
        "answers": [
            {
                "field": {"id": "nPsQ1xYz", "type": "nps", "ref": "recommend"},
                "type": "number",
                "number": 2,
            }
        ],
    }


def typeform_error(status: int, code: str, description: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "description": description})


def _time(value: str) -> datetime:
    """A ``since``/``until`` value as Typeform reads it: ISO UTC to the second, or unix."""
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class FakeTypeform:
    """The Responses API: bearer token, since/until, sort, after/before, response types."""

    def __init__(self, responses: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.responses = (
            responses
            if responses is not None
            else {
                SURVEY: [survey_response(i, i * 5) for i in range(1, 13)] + [partial_response(3)],
                PULSE: [pulse_response(i, i * 7) for i in range(1, 5)],
            }
        )
        self.requests: list[httpx.Request] = []
        self.flip_ties = False  # reverse the order within a second on every other request

    def params(self, form: str | None = None) -> list[dict[str, str]]:
        """The query parameters of the response requests made (for one form)."""
        return [
            dict(r.url.params)
            for r in self.requests
            if form is None or r.url.path == f"/forms/{form}/responses"
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        auth = request.headers.get("authorization")
        if auth is None:
            return typeform_error(
                401,
                "AUTHENTICATION_FAILED",
                "Authentication credentials not found on the Request Headers",
            )
        if auth != f"Bearer {TOKEN}":
            return typeform_error(403, "AUTHENTICATION_ERROR", "the access token is incorrect")
        parts = request.url.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "forms" or parts[2] != "responses":
            return typeform_error(404, "NOT_FOUND", "Endpoint not found")
        if parts[1] not in self.responses:
            return typeform_error(404, "FORM_NOT_FOUND", f"Non existing form with uid {parts[1]}")
        return self.list_responses(parts[1], request.url.params)

    def list_responses(self, form: str, params: httpx.QueryParams) -> httpx.Response:
        size = int(params.get("page_size", "25"))
        if not 1 <= size <= 1000:
            return typeform_error(400, "VALIDATION_ERROR", "page_size must be at most 1000")
        cursor = next((name for name in ("after", "before") if name in params), None)
        if cursor is not None and "sort" in params:
            return httpx.Response(
                400,
                json={
                    "code": "VALIDATION_ERROR",
                    "description": "The request contains invalid parameters",
                    "details": [
                        {
                            "code": "INVALID_QUERY_PARAMETER",
                            "description": f"{cursor} cannot be used together with sort",
                            "field": cursor,
                            "in": "query",
                        }
                    ],
                },
            )
        sort = params.get("sort", "submitted_at,desc")
        if sort not in ("submitted_at,asc", "submitted_at,desc"):
            return typeform_error(400, "VALIDATION_ERROR", f"invalid sort {sort!r}")
        types = (params.get("response_type") or "completed").split(",")
        items = [r for r in self.responses[form] if r.get("response_type", "completed") in types]
        # since/until filter on submitted_at for completed responses, landed_at otherwise.
        key = "submitted_at" if types == ["completed"] else "landed_at"
        if "since" in params:
            items = [r for r in items if _time(r[key]) >= _time(params["since"])]
        if "until" in params:
            items = [r for r in items if _time(r[key]) <= _time(params["until"])]
        # Processing order is submission order; the order within one second is not
        # documented: by token, or reversed on every other request when flip_ties is set.
        flip = self.flip_ties and len(self.requests) % 2 == 1
        by_token = sorted(items, key=lambda r: str(r.get("token")), reverse=flip)
        ordered = sorted(by_token, key=lambda r: _time(r[key]) if r.get(key) else T0)
        if cursor is not None:
            # Exclusive of the token, in processing order (the order Typeform returns such
            # pages in is not documented; the connector never asks this way).
            tokens = [r.get("token") for r in ordered]
            where = tokens.index(params[cursor]) if params[cursor] in tokens else len(tokens)
            ordered = ordered[where + 1 :] if cursor == "after" else ordered[:where]
        elif sort == "submitted_at,desc":
            ordered.reverse()
        page = ordered[:size]
        return httpx.Response(
            200,
            json={
                "total_items": len(ordered),
                "page_count": max(1, -(-len(ordered) // size)),
                "items": page,
            },
        )


def no_wait_limiter() -> RateLimiter:
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    return RateLimiter(2, clock=lambda: now[0], sleep=advance)


def options(api: Callable[[httpx.Request], httpx.Response], **more: Any) -> dict[str, Any]:
    return {
        "token": TOKEN,
        "forms": {SURVEY: MAPPING, PULSE: None},
        "account_id": "acme",
        "base_url": BASE,
        "page_size": 5,
        "transport": httpx.MockTransport(api),
        "rate_limit": no_wait_limiter(),
        "retry": RetryPolicy(attempts=2, sleep=lambda seconds: None),
        **more,
    }


def connector(api: Callable[[httpx.Request], httpx.Response], **more: Any) -> TypeformConnector:
    return TypeformConnector(**options(api, **more))


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[cxm.Workspace]:
    workspace = cxm.Workspace.open(tmp_path / "cxm.db")
    yield workspace
    workspace.close()


class TestTypeformContract(ConnectorContract):
    connector_class = TypeformConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"base_url": "ftp://api.typeform.com"}, "base_url"),
        ({"page_size": 1001}, "page_size"),
        ({"forms": []}, "forms"),
        ({"forms": ["has space"]}, "forms"),
        ({"forms": {SURVEY: {"feedback": {"q1": "happiness"}}}}, f"forms.{SURVEY}.feedback.q1"),
        (
            {"forms": {SURVEY: {"feedback": {"q1": {"metric": "nps", "scale": [1, 10]}}}}},
            f"forms.{SURVEY}.feedback.q1",
        ),
        ({"forms": {SURVEY: {"hidden": {"uid": "Customer ID"}}}}, f"forms.{SURVEY}.hidden.uid"),
        ({"forms": {SURVEY: {"scores": {}}}}, f"forms.{SURVEY}.scores"),
        ({"overlap": -60}, "overlap"),
        ({"start": "yesterday"}, "start"),
        ({"source": "Typeform EU"}, "source"),
        ({"rate_limit": 0}, "rate_limit"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return options(FakeTypeform())

    def failing_options(self, tmp_path: Path, status: int) -> dict[str, Any]:
        def fail(request: httpx.Request) -> httpx.Response:
            return typeform_error(status, "FAILED", "failed")

        return {**self.options(tmp_path), "transport": httpx.MockTransport(fail)}


# -- the mapping --------------------------------------------------------------------------------


def test_responses_become_survey_interactions_with_scores_and_identities(
    ws: cxm.Workspace,
) -> None:
    report = ws.sync(connector(FakeTypeform()))
    assert report.ok, str(report)
    assert report.stream("responses").new == 12 + 4
    frame = ws.interactions(attributes=True)
    assert set(frame["channel"]) == {"survey"}
    assert set(frame["kind"]) == {"survey_response"}
    assert set(frame["direction"]) == {"inbound"}
    one = frame[frame["source_id"] == f"{SURVEY}:0007survey8f1c2b7d9e0a3f5b6c7d8e9f"].iloc[0]
    assert one["occurred_at"] == T0 + timedelta(minutes=35)
    assert one["touchpoint"] == "Post-purchase survey"
    assert one["text"] == "Order 7 arrived on time"  # free text only: not the dropdown
    attributes = one["attributes"]
    assert attributes["form_id"] == SURVEY
    assert attributes["answers"]["plan"] == "Pro"
    assert attributes["answers"]["store"] == "Berlin"
    assert attributes["answers"]["recommend"] == 7
    assert attributes["hidden"] == {"customer_id": "C-7", "email": "buyer7@example.com"}
    assert attributes["score"] == 3
    assert attributes["variables"] == {"score": 3}
    assert attributes["landed_at"] == at(33)
    assert attributes["platform"] == "other"
    assert "user_agent" not in attributes
    feedback = ws.feedback()
    mine = feedback[feedback["interaction_id"] == one["interaction_id"]]
    scores = {
        row["metric"]: (row["score"], row["scale_min"], row["scale_max"])
        for _, row in mine.iterrows()
    }
    assert scores == {"nps": (7, 0, 10), "csat": (3, 1, 5), "ces": (1, 1, 7)}
    assert set(mine["comment"]) == {"Order 7 arrived on time"}
    assert set(mine["question"]) == {"recommend", "satisfaction", "effort"}
    # Hidden customer id, hidden e-mail and the e-mail answer resolve to one customer.
    profile = ws.profile("buyer7@example.com")
    assert one["customer_id"] == profile.customer.customer_id
    pulse = frame[frame["source_id"].str.startswith(f"{PULSE}:")]
    assert len(pulse) == 4
    assert pulse["customer_id"].isna().all()  # no identities on the pulse form
    assert set(pulse["touchpoint"].dropna()) == set()


def test_response_interaction_identities_and_feedback_values() -> None:
    form = FormSettings.from_options(SURVEY, MAPPING)
    found = response_interaction(survey_response(4, 20), form, source="typeform-eu")
    assert found.source == "typeform-eu"
    assert sorted(i.key for i in found.identities) == [
        ("email", "buyer4@example.com"),
        ("shop:customer", "C-4"),
    ]
    assert [(f.metric.value, f.score, f.scale) for f in found.feedback] == [
        ("nps", 4, (0, 10)),
        ("csat", 5, (1, 5)),
        ("ces", 5, (1, 7)),
    ]
    # Without a mapping only the NPS-type field is a score; the rating is an answer.
    bare = response_interaction(pulse_response(1, 7), FormSettings(form_id=PULSE))
    assert [(f.metric.value, f.score) for f in bare.feedback] == [("nps", 9)]
    assert bare.attributes["answers"] == {"pulse_nps": 9, "stars": 4, "pSt3": "Keep it up"}
    assert bare.text == "Keep it up"
    assert bare.identities == ()


def test_rating_and_custom_scales_from_the_mapping() -> None:
    form = FormSettings.from_options(
        PULSE,
        {"feedback": {"stars": {"metric": "rating", "scale": [1, 10]}, "pulse_nps": "nps"}},
    )
    found = response_interaction(pulse_response(2, 14), form)
    assert [(f.metric.value, f.score, f.scale) for f in found.feedback] == [
        ("nps", 8, (0, 10)),
        ("rating", 4, (1, 10)),
    ]


def test_placeholder_in_a_hidden_field_is_not_an_identity() -> None:
    form = FormSettings.from_options(SURVEY, MAPPING)
    response = survey_response(5, 25, hidden={"customer_id": "", "email": "xxxxx"})
    response["answers"] = [a for a in response["answers"] if a["type"] != "email"]
    found = response_interaction(response, form)
    assert found.identities == ()
    assert found.attributes["unresolved_identities"] == ["hidden.email"]
    assert len(found.feedback) == 3  # the scores still count


def test_email_answers_can_be_left_out() -> None:
    form = FormSettings.from_options(SURVEY, {"email_answers": False})
    found = response_interaction(survey_response(6, 30), form)
    assert found.identities == ()


def test_bad_and_out_of_scale_responses_are_quarantined_and_the_rest_land(
    ws: cxm.Workspace,
) -> None:
    responses = [survey_response(i, i * 5) for i in range(1, 7)]
    responses[1]["answers"][1]["number"] = 6  # CSAT 6 on a 1-5 scale
    del responses[3]["token"]  # a renamed field
    responses[4]["answers"][0]["number"] = "9"  # a number sent as text
    api = FakeTypeform({SURVEY: responses, PULSE: []})
    report = ws.sync(connector(api))
    stream = report.stream("responses")
    assert (stream.new, stream.quarantined) == (3, 3), str(report)
    reasons = " | ".join(ws.quarantined()["reason"])
    assert "typeform.answers[satisfaction].number=6: outside the csat scale 1..5" in reasons
    assert "typeform.token" in reasons
    assert "typeform.answers[recommend].number" in reasons


# -- reading and incremental syncs --------------------------------------------------------------


def survey_token(i: int) -> str:
    return f"{i:04d}survey8f1c2b7d9e0a3f5b6c7d8e9f"


def pulse_token(i: int) -> str:
    return f"{i:04d}pulse1a2b3c4d5e6f7a8b9c0d1e2f3"


def read_tokens(items: list[Any]) -> list[str]:
    """The tokens of the responses a stream yielded, in order."""
    return [item["response"]["token"] for item in items if not isinstance(item, Checkpoint)]


def test_fake_refuses_after_with_sort_and_lists_newest_first_by_default() -> None:
    api = FakeTypeform()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(transport=httpx.MockTransport(api), base_url=BASE) as client:
        for cursor in ("after", "before"):
            refused = client.get(
                f"/forms/{SURVEY}/responses",
                params={"sort": "submitted_at,asc", cursor: survey_token(5)},
                headers=headers,
            )
            assert refused.status_code == 400
            assert refused.json()["code"] == "VALIDATION_ERROR"
            assert refused.json()["details"][0]["field"] == cursor
        default = client.get(f"/forms/{SURVEY}/responses", headers=headers).json()
    assert [item["token"] for item in default["items"]][:2] == [survey_token(12), survey_token(11)]


def test_pages_ask_since_the_newest_second_of_the_page_before(ws: cxm.Workspace) -> None:
    api = FakeTypeform()
    assert ws.sync(connector(api)).ok
    pages = api.params(SURVEY)
    # 12 completed responses, 5 minutes apart, pages of 5: each page asks again from the newest
    # second of the one before and skips the response it already read there.
    assert [p.get("since") for p in pages] == [
        None,
        "2026-03-01T10:25:00",
        "2026-03-01T10:45:00",
    ]
    for page in api.params():
        assert page["sort"] == "submitted_at,asc"
        assert page["response_type"] == "completed"
        assert page["page_size"] == "5"
        assert "after" not in page
        assert "before" not in page
    ids = list(ws.interactions()["source_id"])
    assert len(ids) == len(set(ids)) == 12 + 4
    assert "partial0000000000000000000000001" not in {i.split(":")[1] for i in ids}
    state = ws.sync_state(connector(api))
    assert state["cursor"].iloc[0] == {
        "forms": {
            SURVEY: {"mark": at(60), "seen": [survey_token(12)]},
            PULSE: {"mark": at(28), "seen": [pulse_token(4)]},
        }
    }


@pytest.mark.parametrize("flip_ties", [False, True])
def test_responses_sharing_a_second_across_a_page_boundary_are_read_once(
    ws: cxm.Workspace, flip_ties: bool
) -> None:
    # Three at 10:05, four in the same second 10:10:00 (split by the first page), two at 10:15.
    minutes = [5, 5, 5, 10, 10, 10, 10, 15, 15]
    api = FakeTypeform({SURVEY: [survey_response(i, m) for i, m in enumerate(minutes, 1)]})
    api.flip_ties = flip_ties  # the order within a second may differ from request to request
    items = list(connector(api, forms=[SURVEY]).stream("responses").read(None))
    tokens = read_tokens(items)
    assert sorted(tokens) == [survey_token(i) for i in range(1, 10)]  # each exactly once
    assert [p.get("since") for p in api.params(SURVEY)] == [
        None,
        "2026-03-01T10:10:00",
        "2026-03-01T10:15:00",
    ]
    first_page_at_10 = {t for t in tokens[:5] if t in {survey_token(i) for i in range(4, 8)}}
    assert len(first_page_at_10) == 2
    cursors = [item.cursor for item in items if isinstance(item, Checkpoint)]
    assert cursors[0] == {
        "forms": {SURVEY: {"mark": at(10), "seen": sorted(first_page_at_10), "paging": True}}
    }
    api.requests.clear()
    report = ws.sync(connector(api, forms=[SURVEY]))
    assert (report.new, report.stream("responses").unchanged) == (9, 0)


def test_more_responses_in_one_second_than_a_page_stops_instead_of_looping() -> None:
    crowded = [survey_response(i, 5) for i in range(1, 8)]  # seven in the second 10:05:00
    api = FakeTypeform({SURVEY: crowded})
    stream = connector(api, forms=[SURVEY]).stream("responses")
    items: list[Any] = []
    with pytest.raises(UpstreamError) as raised:
        items.extend(stream.read(None))  # keeps what was yielded before the error
    message = str(raised.value)
    assert f"form {SURVEY}" in message
    assert "2026-03-01T10:05:00Z" in message
    assert "raise page_size (at most 1000)" in message
    assert len(api.requests) == 2  # the first page, then the same page again: no loop
    assert read_tokens(items) == [survey_token(i) for i in range(1, 6)]
    # A page that holds the whole second reads them all.
    roomy = FakeTypeform({SURVEY: crowded})
    wide = connector(roomy, forms=[SURVEY], page_size=10).stream("responses")
    tokens = read_tokens(list(wide.read(None)))
    assert sorted(tokens) == [survey_token(i) for i in range(1, 8)]


def test_more_responses_in_one_second_than_the_largest_page_says_so() -> None:
    api = FakeTypeform({SURVEY: [survey_response(i, 5) for i in range(1001)]})
    stream = connector(api, forms=[SURVEY], page_size=1000).stream("responses")
    with pytest.raises(UpstreamError, match="already the most Typeform allows, 1000"):
        list(stream.read(None))
    assert len(api.requests) == 2


def test_a_server_ignoring_since_stops_the_stream() -> None:
    stuck = [survey_response(i, 5 + i) for i in range(1, 6)]

    def same_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"total_items": 9, "page_count": 2, "items": stuck})

    stream = connector(same_page, forms=[SURVEY]).stream("responses")
    with pytest.raises(UpstreamError, match=r"nothing past 2026-03-01T10:10:00Z"):
        list(stream.read(None))


def test_second_sync_asks_only_from_the_mark_less_the_overlap(ws: cxm.Workspace) -> None:
    api = FakeTypeform()
    assert ws.sync(connector(api)).ok
    api.requests.clear()
    second = ws.sync(connector(api))
    assert second.ok, str(second)
    assert second.new == 0
    # Survey mark 11:00 less ten minutes: 10:50, 10:55 and 11:00 again; pulse 10:21 and 10:28.
    assert second.stream("responses").unchanged == 3 + 2
    assert api.params(SURVEY) == [
        {
            "page_size": "5",
            "response_type": "completed",
            "sort": "submitted_at,asc",
            "since": "2026-03-01T10:50:00",
        }
    ]
    assert api.params(PULSE) == [
        {
            "page_size": "5",
            "response_type": "completed",
            "sort": "submitted_at,asc",
            "since": "2026-03-01T10:18:00",
        }
    ]


def test_a_response_stored_late_is_picked_up_on_the_next_sync(ws: cxm.Workspace) -> None:
    api = FakeTypeform()
    assert ws.sync(connector(api)).ok
    api.requests.clear()
    # Submitted at 10:56, four minutes before the mark, but stored after the first sync; one
    # more arrives after the mark, and one stored later than the overlap covers is not seen.
    api.responses[SURVEY] += [
        survey_response(40, 56),
        survey_response(41, 70),
        survey_response(42, 45),
    ]
    second = ws.sync(connector(api))
    assert second.ok, str(second)
    assert second.stream("responses").new == 2
    assert second.stream("responses").unchanged == 3 + 2
    ids = set(ws.interactions()["source_id"])
    assert f"{SURVEY}:{survey_token(40)}" in ids
    assert f"{SURVEY}:{survey_token(41)}" in ids
    assert f"{SURVEY}:{survey_token(42)}" not in ids
    # 10:50, 10:55, 10:56, 11:00, 11:10 fill a page; the next asks from 11:10 and ends.
    assert [p.get("since") for p in api.params(SURVEY)] == [
        "2026-03-01T10:50:00",
        "2026-03-01T11:10:00",
    ]


def test_overlap_and_start_are_options(ws: cxm.Workspace) -> None:
    api = FakeTypeform()
    first = connector(api, overlap=0, start="2026-03-01T11:00:00+01:00")
    assert ws.sync(first).ok
    assert api.params(SURVEY)[0]["since"] == "2026-03-01T10:00:00"  # start, in UTC
    api.requests.clear()
    second = ws.sync(connector(api, overlap=0))
    assert api.params(SURVEY)[0]["since"] == "2026-03-01T11:00:00"  # the mark itself
    assert second.stream("responses").unchanged == 0  # its tokens are known read
    api.requests.clear()
    assert ws.sync(connector(api, overlap=timedelta(hours=1))).ok
    assert api.params(SURVEY)[0]["since"] == "2026-03-01T10:00:00"


def test_full_refresh_rereads_without_duplicates(ws: cxm.Workspace) -> None:
    api = FakeTypeform()
    assert ws.sync(connector(api)).ok
    count = len(ws.interactions())
    api.requests.clear()
    refreshed = ws.sync(connector(api), full_refresh=True)
    assert refreshed.new == 0
    assert refreshed.stream("responses").unchanged == count
    assert len(ws.interactions()) == count == 16
    assert "since" not in api.params(SURVEY)[0]
    assert "since" not in api.params(PULSE)[0]
    assert len(api.requests) == 3 + 1


def test_checkpoint_after_every_page_and_entries_of_other_forms_are_kept() -> None:
    api = FakeTypeform()
    survey_only = connector(api, forms=[SURVEY])
    # A plain mark (as saved before the cursor listed the boundary tokens) is still read.
    cursor = {"forms": {"Removed1": at(-100), SURVEY: at(1)}}
    items = list(survey_only.stream("responses").read(cursor))
    assert api.params(SURVEY)[0]["since"] == "2026-03-01T09:51:00"
    checkpoints = [(i, item.cursor) for i, item in enumerate(items) if isinstance(item, Checkpoint)]
    assert [i for i, _ in checkpoints] == [5, 10, 14]
    assert checkpoints[0][1] == {
        "forms": {
            "Removed1": at(-100),
            SURVEY: {"mark": at(25), "seen": [survey_token(5)], "paging": True},
        }
    }
    # The last page of the last form ends the pass: no form is left flagged.
    assert checkpoints[-1][1] == {
        "forms": {"Removed1": at(-100), SURVEY: {"mark": at(60), "seen": [survey_token(12)]}}
    }


def test_interrupted_sync_resumes_without_loss(tmp_path: Path) -> None:
    api = FakeTypeform()
    ws = cxm.Workspace.open(tmp_path / "cxm.db")
    try:
        with contextlib.suppress(Interrupted):
            ws.sync(interrupted(connector(api), 8), batch_size=1)
        # Killed on the second page: the first page's position was saved with it.
        state = ws.sync_state(connector(api))
        assert state["cursor"].iloc[0] == {
            "forms": {SURVEY: {"mark": at(25), "seen": [survey_token(5)], "paging": True}}
        }
        api.requests.clear()
        finished = ws.sync(connector(api))
        assert finished.ok, str(finished)
        # It goes on from the mark itself, not from mark - overlap (10:15).
        assert api.params(SURVEY)[0]["since"] == "2026-03-01T10:25:00"
        assert len(ws.interactions()) == 16
        assert finished.stream("responses").new == 16 - 7
        assert finished.stream("responses").unchanged == 2  # 6 and 7, read before the cut
        final = ws.sync_state(connector(api))["cursor"].iloc[0]
        assert final == {
            "forms": {
                SURVEY: {"mark": at(60), "seen": [survey_token(12)]},
                PULSE: {"mark": at(28), "seen": [pulse_token(4)]},
            }
        }
    finally:
        ws.close()


def test_interrupted_in_a_later_form_goes_on_without_the_overlap(ws: cxm.Workspace) -> None:
    api = FakeTypeform()
    # The survey takes 12 responses and 3 checkpoints; cut after two pulse responses.
    with contextlib.suppress(Interrupted):
        ws.sync(interrupted(connector(api), 12 + 3 + 2), batch_size=1)
    state = ws.sync_state(connector(api))["cursor"].iloc[0]
    assert state == {
        "forms": {SURVEY: {"mark": at(60), "seen": [survey_token(12)], "paging": True}}
    }
    api.requests.clear()
    finished = ws.sync(connector(api))
    assert finished.ok, str(finished)
    # The survey was read through in this pass: one request from its mark, nothing re-read.
    assert [p.get("since") for p in api.params(SURVEY)] == ["2026-03-01T11:00:00"]
    assert (finished.new, finished.stream("responses").unchanged) == (2, 2)
    assert len(ws.interactions()) == 16


# -- HTTP behaviour -----------------------------------------------------------------------------


def test_429_waits_retry_after_then_a_5xx_backs_off(ws: cxm.Workspace) -> None:
    api = FakeTypeform()
    slept: list[float] = []
    failures = iter([429, 503])

    def flaky(request: httpx.Request) -> httpx.Response:
        status = next(failures, None)
        if status == 429:
            api.requests.append(request)
            return httpx.Response(
                429,
                headers={"Retry-After": "7"},
                json={"code": "TOO_MANY_REQUESTS", "description": "Rate limit exceeded"},
            )
        if status == 503:
            api.requests.append(request)
            return typeform_error(503, "SERVICE_UNAVAILABLE", "try again later")
        return api(request)

    retry = RetryPolicy(attempts=3, sleep=slept.append, jitter=False)
    report = ws.sync(connector(flaky, retry=retry))
    assert report.ok, str(report)
    assert slept == [7.0, 1.0]  # Retry-After honoured, then the second backoff step
    assert len(ws.interactions()) == 16
    assert len(api.params(SURVEY)) == 3 + 2


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_is_an_auth_error_without_the_token(status: int) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return typeform_error(status, "AUTHENTICATION_ERROR", f"bad token {TOKEN}")

    with pytest.raises(AuthError) as raised:
        connector(refuse).check()
    assert raised.value.connector == "typeform"
    assert raised.value.status == status
    assert TOKEN not in str(raised.value)
    assert TOKEN not in (raised.value.request or "")
    with pytest.raises(AuthError):
        list(connector(refuse).stream("responses").read(None))


def test_wrong_token_against_the_fake_is_refused() -> None:
    with pytest.raises(AuthError) as raised:
        connector(FakeTypeform(), token="tfp_not_the_right_one_0000").check()
    assert raised.value.status == 403


def test_requests_are_spaced_to_two_a_second() -> None:
    now = [0.0]
    waits: list[float] = []

    def advance(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    api = FakeTypeform()
    limiter = RateLimiter(2, clock=lambda: now[0], sleep=advance)
    list(connector(api, rate_limit=limiter).stream("responses").read(None))
    assert len(api.requests) == 3 + 1
    assert waits == [0.5] * 3
    assert now[0] == pytest.approx(1.5)


def test_check_reads_one_response_of_the_first_form() -> None:
    api = FakeTypeform()
    connector(api).check()
    assert [(r.url.path, dict(r.url.params)) for r in api.requests] == [
        (f"/forms/{SURVEY}/responses", {"page_size": "1"})
    ]
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_state_key_names_the_account_without_the_token() -> None:
    api = FakeTypeform()
    assert connector(api).state_key == "typeform:acme"
    keyed = connector(api, account_id=None).state_key
    assert keyed.startswith("typeform:token-")
    assert TOKEN not in keyed


# -- options ------------------------------------------------------------------------------------


def test_forms_keep_their_case_and_order() -> None:
    typeform = connector(FakeTypeform(), forms=[PULSE, SURVEY, PULSE])
    assert [f.form_id for f in typeform.config.forms] == [PULSE, SURVEY]
    assert connector(FakeTypeform(), forms=SURVEY).config.forms[0].form_id == SURVEY


def test_mapping_errors_name_the_option() -> None:
    with pytest.raises(ValidationError) as raised:
        connector(FakeTypeform(), forms={SURVEY: {"feedback": {"stars": {"metric": "custom"}}}})
    assert raised.value.field == f"typeform.forms.{SURVEY}.feedback.stars"
    assert "needs a scale" in raised.value.reason
    with pytest.raises(ValidationError) as raised:
        connector(FakeTypeform(), forms={SURVEY: {"email_answers": "yes"}})
    assert raised.value.field == f"typeform.forms.{SURVEY}.email_answers"


def test_token_is_never_printed() -> None:
    typeform = connector(FakeTypeform())
    assert TOKEN not in repr(typeform)
    assert TOKEN not in repr(typeform.config)
