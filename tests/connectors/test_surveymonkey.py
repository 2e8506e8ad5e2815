"""The surveymonkey connector against a fake SurveyMonkey API v3.

The fake answers are shaped on SurveyMonkey's published reference (the source of
https://api.surveymonkey.com/v3/docs, kept at https://github.com/SurveyMonkey/public_api_docs):

- https://github.com/SurveyMonkey/public_api_docs/blob/main/includes/_responses.md
  (``GET /v3/surveys/{id}/responses/bulk``: ``page``, ``per_page`` at most 100,
  ``start_modified_at`` "responses modified after this date", ``status``, ``sort_by=date_modified``,
  ``sort_order``; answer ``{"per_page", "page", "total", "data", "links": {"self", "next",
  "last"}}``; a response's ``id``, ``survey_id``, ``collector_id``, ``recipient_id``,
  ``total_time``, ``custom_value``, ``custom_variables``, ``response_status``,
  ``collection_mode``, ``date_created``, ``date_modified``, ``pages[].questions[].answers[]``
  with ``choice_id``, ``row_id``, ``other_id``, ``text``)
- https://github.com/SurveyMonkey/public_api_docs/blob/main/includes/_questions.md
  (question ``family``/``subtype``, ``headings[].heading``, ``answers.choices[]`` with
  ``position`` and, for rating questions, ``weight``; ``answers.rows``; demographic rows with a
  ``type``; ``display_options.display_type`` ``emoji``/``slider``)
- https://github.com/SurveyMonkey/public_api_docs/blob/main/includes/_overview.md and
  https://api.surveymonkey.com/v3/docs (bearer token; error body ``{"error": {"id", "name",
  "docs", "message", "http_status_code"}}`` with ids 1011 (401), 1014 (403), 1040 (429),
  1051 (503); draft and private apps limited to 120 requests a minute and 500 a day, reported
  in ``X-Ratelimit-App-Global-{Minute,Day}-{Limit,Remaining,Reset}``; dates
  ``YYYY-MM-DDTHH:MM:SS+HH:MM``; paging through ``links.next``)
- A bulk answer captured from the live API (``first_name``, ``last_name``, ``email_address``,
  ``metadata.contact``, ``tag_data``): github.com/musayuksel/and-survey-analyze
  ``src/utils/surveys.js``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

import cxm
from cxm.connectors import Checkpoint
from cxm.connectors.http import RateLimiter, RetryPolicy
from cxm.connectors.surveymonkey import SurveyMonkeyConnector, response_interaction
from cxm.exceptions import AuthError, RateLimitedError, UpstreamError
from cxm.model import Identity, Interaction
from cxm.testing import ConnectorContract, Interrupted, interrupted

BASE = "https://api.surveymonkey.test/v3"
TOKEN = "sm-access-token-5ecret-c0ffee"
SURVEY_A = "405100200"
SURVEY_B = "405100300"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
NO_WAIT = RetryPolicy(attempts=2, sleep=lambda seconds: None)
QUESTIONS = {SURVEY_A: {"701": "nps", "702": "csat", "703": "rating"}, SURVEY_B: {"801": "ces"}}
CSAT = ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"]


def sm_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def question(
    question_id: str, family: str, subtype: str, heading: str, **more: Any
) -> dict[str, Any]:
    return {
        "id": question_id,
        "href": f"{BASE}/surveys/x/pages/y/questions/{question_id}",
        "position": int(question_id[-1]),
        "visible": True,
        "family": family,
        "subtype": subtype,
        "headings": [{"heading": heading}],
        "required": None,
        "sorting": None,
        "validation": None,
        "forced_ranking": False,
        **more,
    }


def details_a() -> dict[str, Any]:
    """An after-purchase survey: NPS, CSAT (choices listed out of order), stars, text, contact."""
    csat_choices = [
        {"id": f"910{n}", "position": n, "visible": True, "text": CSAT[n - 1]}
        for n in (3, 1, 5, 2, 4)  # the reference orders by "position", not by list order
    ]
    questions = [
        question(
            "701",
            "matrix",
            "rating",
            "How likely are you to recommend us to a friend?",
            answers={
                "rows": [{"id": "8001", "position": 1, "visible": True, "text": ""}],
                "choices": [
                    {"id": f"{9000 + n}", "position": n + 1, "visible": True, "text": str(n)}
                    for n in range(11)
                ],
            },
        ),
        question(
            "702",
            "single_choice",
            "vertical",
            "How satisfied are you with your order?",
            answers={
                "choices": csat_choices,
                "other": {
                    "id": "9199",
                    "text": "Other (please specify)",
                    "visible": True,
                    "is_answer_choice": True,
                },
            },
        ),
        question(
            "703",
            "matrix",
            "rating",
            "Rate us",
            display_options={"display_type": "emoji", "display_subtype": "star"},
            answers={
                "rows": [
                    {"id": "8101", "position": 1, "visible": True, "text": "Delivery"},
                    {"id": "8102", "position": 2, "visible": True, "text": "Packaging"},
                ],
                "choices": [
                    *(
                        {"id": f"920{n}", "position": n, "visible": True, "text": "", "weight": n}
                        for n in range(1, 6)
                    ),
                    {
                        "id": "9206",
                        "position": 6,
                        "visible": True,
                        "text": "N/A",
                        "weight": 0,
                        "is_na": True,
                    },
                ],
            },
        ),
        question("704", "open_ended", "essay", "What could we do better?"),
        question(
            "705",
            "demographic",
            "international",
            "Your contact details",
            answers={
                "rows": [
                    {"id": "8300", "position": 1, "visible": True, "type": "name", "text": "Name"},
                    {
                        "id": "8301",
                        "position": 2,
                        "visible": True,
                        "type": "email",
                        "text": "Email",
                    },
                    {
                        "id": "8302",
                        "position": 3,
                        "visible": True,
                        "type": "phone",
                        "text": "Phone",
                    },
                ]
            },
        ),
    ]
    return survey_details(SURVEY_A, "After your order", questions)


def details_b() -> dict[str, Any]:
    """A support follow-up: customer effort on 1-7 and a comment."""
    questions = [
        question(
            "801",
            "matrix",
            "rating",
            "How easy was it to get your issue solved?",
            answers={
                "rows": [{"id": "8401", "position": 1, "visible": True, "text": ""}],
                "choices": [
                    {"id": f"930{n}", "position": n, "visible": True, "text": str(n), "weight": n}
                    for n in range(1, 8)
                ],
            },
        ),
        question("802", "open_ended", "single", "Anything else?"),
    ]
    return survey_details(SURVEY_B, "Support follow-up", questions)


def survey_details(survey_id: str, title: str, questions: list[Any]) -> dict[str, Any]:
    return {
        "id": survey_id,
        "title": title,
        "nickname": "",
        "language": "en",
        "question_count": len(questions),
        "page_count": 1,
        "response_count": 0,
        "date_created": "2026-01-10T08:00:00",
        "date_modified": "2026-01-12T08:00:00",
        "href": f"{BASE}/surveys/{survey_id}",
        "pages": [
            {
                "id": f"{survey_id}01",
                "title": "",
                "description": "",
                "position": 1,
                "question_count": len(questions),
                "href": f"{BASE}/surveys/{survey_id}/pages/{survey_id}01",
                "questions": questions,
            }
        ],
    }


def response_a(i: int, modified: datetime, *, response_id: str | None = None) -> dict[str, Any]:
    """Response ``i`` to survey A; its answers vary with ``i``."""
    answers: list[dict[str, Any]] = [
        {"id": "701", "answers": [{"choice_id": f"{9000 + i % 11}", "row_id": "8001"}]},
        {
            "id": "702",
            "answers": (
                [{"other_id": "9199", "text": "Slow courier"}]
                if i == 1
                else [{"choice_id": f"910{i % 5 + 1}"}]
            ),
        },
        {
            "id": "703",
            "answers": [
                {"choice_id": f"920{i % 5 + 1}", "row_id": "8101"},
                {"choice_id": "9206" if i % 4 == 0 else "9203", "row_id": "8102"},
            ],
        },
    ]
    if i % 3 != 2:
        answers.append({"id": "704", "answers": [{"tag_data": [], "text": f"Comment {i}"}]})
    if i % 2 == 0:
        answers.append(
            {
                "id": "705",
                "answers": [
                    {"row_id": "8300", "text": f"Buyer {i}"},
                    {"row_id": "8301", "text": f"buyer{i}@example.com"},
                ],
            }
        )
    return bulk_response(
        response_id or str(118000000000 + i),
        SURVEY_A,
        modified,
        answers,
        email="" if i % 2 == 0 else f"respondent{i}@example.com",
        contact={"email": {"type": "string", "value": "contact0@example.com"}} if i == 0 else {},
        custom_variables={"order_id": f"A-{i}", "customer_ref": f"C{i:04d}"},
    )


def response_b(i: int, modified: datetime) -> dict[str, Any]:
    answers = [{"id": "801", "answers": [{"choice_id": f"930{i % 7 + 1}", "row_id": "8401"}]}]
    if i % 2:
        answers.append({"id": "802", "answers": [{"text": f"Thanks, agent {i}"}]})
    return bulk_response(str(119000000000 + i), SURVEY_B, modified, answers)


def bulk_response(
    response_id: str,
    survey_id: str,
    modified: datetime,
    questions: list[Any],
    *,
    email: str = "",
    contact: dict[str, Any] | None = None,
    custom_variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": response_id,
        "recipient_id": "",
        "collection_mode": "default",
        "response_status": "completed",
        "custom_value": "",
        "first_name": "",
        "last_name": "",
        "email_address": email,
        "ip_address": "203.0.113.7",
        "logic_path": {},
        "metadata": {"contact": contact or {}},
        "page_path": [],
        "collector_id": "450012345",
        "survey_id": survey_id,
        "custom_variables": custom_variables or {},
        "edit_url": "https://www.surveymonkey.com/r/?sm=x",
        "analyze_url": f"https://www.surveymonkey.com/analyze/browse/x?respondent_id={response_id}",
        "total_time": 95,
        "date_modified": sm_time(modified),
        "date_created": sm_time(modified - timedelta(minutes=10)),
        "href": f"{BASE}/surveys/{survey_id}/responses/{response_id}",
        "pages": [{"id": f"{survey_id}01", "questions": questions}],
    }


def minute(i: int) -> datetime:
    # Responses 5 and 6 were modified in the same second.
    return T0 + timedelta(minutes=5 if i == 6 else i)


def sm_error(status: int, error_id: str, name: str, message: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "error": {
                "id": error_id,
                "name": name,
                "docs": "https://developer.surveymonkey.com/api/v3/#error-codes",
                "message": message,
                "http_status_code": status,
            }
        },
    )


class FakeSurveyMonkey:
    """Bearer auth, survey summaries and details, bulk responses paged by ``page``/``per_page``."""

    def __init__(self) -> None:
        self.details = {SURVEY_A: details_a(), SURVEY_B: details_b()}
        self.responses: dict[str, list[dict[str, Any]]] = {
            SURVEY_A: [response_a(i, minute(i)) for i in range(12)],
            SURVEY_B: [response_b(i, T1 + timedelta(minutes=i)) for i in range(4)],
        }
        self.requests: list[httpx.Request] = []
        self.day_remaining = 500

    def bulk_requests(self, survey_id: str | None = None) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if r.url.path.endswith("/responses/bulk")
            and (survey_id is None or f"/surveys/{survey_id}/" in r.url.path)
        ]

    def queries(self, survey_id: str) -> list[tuple[str | None, str]]:
        return [
            (r.url.params.get("start_modified_at"), r.url.params["page"])
            for r in self.bulk_requests(survey_id)
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return sm_error(
                401, "1011", "Authorization Error", "The authorization token provided was invalid."
            )
        self.day_remaining -= 1
        response = self._answer(request)
        response.headers.update(
            {
                "X-Ratelimit-App-Global-Minute-Limit": "120",
                "X-Ratelimit-App-Global-Minute-Remaining": "119",
                "X-Ratelimit-App-Global-Minute-Reset": "60",
                "X-Ratelimit-App-Global-Day-Limit": "500",
                "X-Ratelimit-App-Global-Day-Remaining": str(self.day_remaining),
                "X-Ratelimit-App-Global-Day-Reset": "43200",
            }
        )
        return response

    def _answer(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        assert parts[:2] == ["v3", "surveys"], request.url.path
        survey_id = parts[2]
        if survey_id not in self.details:
            return sm_error(
                404, "1020", "Resource Not Found", "There was an error retrieving the resource."
            )
        if len(parts) == 3:
            details = self.details[survey_id]
            summary = {k: v for k, v in details.items() if k != "pages"}
            return httpx.Response(200, json=summary)
        if parts[3:] == ["details"]:
            return httpx.Response(200, json=self.details[survey_id])
        assert parts[3:] == ["responses", "bulk"], request.url.path
        return self._bulk(request, survey_id)

    def _bulk(self, request: httpx.Request, survey_id: str) -> httpx.Response:
        params = request.url.params
        per_page = int(params.get("per_page", "50"))
        page = int(params.get("page", "1"))
        if per_page > 100:
            return sm_error(400, "1003", "Bad Request", "Invalid URL parameters.")
        assert params.get("sort_by") == "date_modified"
        found = list(self.responses[survey_id])
        if "status" in params:
            found = [r for r in found if r["response_status"] == params["status"]]
        if "start_modified_at" in params:
            # "Responses modified after this date": strictly after, the least helpful reading.
            since = datetime.fromisoformat(params["start_modified_at"]).replace(tzinfo=UTC)
            found = [r for r in found if datetime.fromisoformat(r["date_modified"]) > since]
        found.sort(
            key=lambda r: (r["date_modified"], r["id"]),
            reverse=params.get("sort_order") == "DESC",
        )
        start = (page - 1) * per_page
        last = max(1, -(-len(found) // per_page))
        url = f"{BASE}/surveys/{survey_id}/responses/bulk"
        links = {"self": str(request.url), "last": f"{url}?page={last}&per_page={per_page}"}
        if start + per_page < len(found):
            links["next"] = f"{url}?page={page + 1}&per_page={per_page}"
        body = {
            "data": found[start : start + per_page],
            "per_page": per_page,
            "page": page,
            "total": len(found),
            "links": links,
        }
        return httpx.Response(200, json=body)


def no_wait_limiter() -> RateLimiter:
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    return RateLimiter(2, clock=lambda: now[0], sleep=advance)


def options(api: Any, **more: Any) -> dict[str, Any]:
    return {
        "token": TOKEN,
        "surveys": [SURVEY_A, SURVEY_B],
        "questions": QUESTIONS,
        "identity_variables": {"customer_ref": "shop:customer"},
        "base_url": BASE,
        "per_page": 5,
        "rate_limit": no_wait_limiter(),
        "transport": httpx.MockTransport(api),
        "retry": NO_WAIT,
        **more,
    }


def parsed(connector: SurveyMonkeyConnector) -> dict[str, Interaction]:
    stream = connector.stream("responses")
    assert stream.parse is not None
    out: dict[str, Interaction] = {}
    for item in stream.read(None):
        if not isinstance(item, Checkpoint):
            record = stream.parse(item)
            assert isinstance(record, Interaction)
            out[record.source_id] = record
    return out


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[cxm.Workspace]:
    workspace = cxm.Workspace.open(tmp_path / "cxm.db")
    yield workspace
    workspace.close()


class TestSurveyMonkeyContract(ConnectorContract):
    connector_class = SurveyMonkeyConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"base_url": "ftp://surveymonkey"}, "base_url"),
        ({"per_page": 101}, "per_page"),
        ({"surveys": []}, "surveys"),
        ({"surveys": ["my-survey"]}, "surveys"),
        ({"status": "done"}, "status"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-01-01T00:00:00"}, "start"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"questions": {"999": {"1": "nps"}}}, "questions"),
        ({"questions": {SURVEY_A: {"701": "stars"}}}, f"questions.{SURVEY_A}.701"),
        ({"questions": {SURVEY_A: {"701": {"metric": "custom"}}}}, f"questions.{SURVEY_A}.701"),
        (
            {"questions": {SURVEY_A: {"701": {"metric": "nps", "scale": [1, 10]}}}},
            f"questions.{SURVEY_A}.701",
        ),
        ({"identity_variables": {"ref": "Customer Ref"}}, "identity_variables.ref"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return options(FakeSurveyMonkey())

    def failing_options(self, tmp_path: Path, status: int) -> dict[str, Any]:
        def fail(request: httpx.Request) -> httpx.Response:
            return sm_error(status, "1050", "Failed", "Oh bananas! We couldn't process it.")

        return {**self.options(tmp_path), "transport": httpx.MockTransport(fail)}


# -- mapping ----------------------------------------------------------------------------------


def test_response_becomes_a_survey_interaction_with_mapped_feedback() -> None:
    found = parsed(SurveyMonkeyConnector(**options(FakeSurveyMonkey())))
    assert len(found) == 12 + 4
    three = found["118000000003"]
    assert (three.channel, three.kind, three.direction) == ("survey", "survey_response", "inbound")
    assert three.source == "surveymonkey"
    assert three.touchpoint == "After your order"
    assert three.occurred_at == minute(3) - timedelta(minutes=10)  # date_created
    assert three.updated_at == minute(3)  # date_modified
    assert three.text == "Comment 3"
    summary = [(f.metric, f.score, f.scale, f.question, f.comment) for f in three.feedback]
    assert summary == [
        ("nps", 3, (0, 10), "How likely are you to recommend us to a friend?", "Comment 3"),
        ("csat", 4, (1, 5), "How satisfied are you with your order?", "Comment 3"),
        ("rating", 4, (1, 5), "Rate us: Delivery", "Comment 3"),
        ("rating", 3, (1, 5), "Rate us: Packaging", "Comment 3"),
    ]
    assert set(three.identities) == {
        Identity("email", "respondent3@example.com"),
        Identity("shop:customer", "C0003"),
    }
    attributes = three.attributes
    assert attributes["survey_id"] == SURVEY_A
    assert attributes["survey_title"] == "After your order"
    assert attributes["collector_id"] == "450012345"
    assert attributes["recipient_id"] is None
    assert attributes["response_status"] == "completed"
    assert attributes["total_time"] == 95
    assert attributes["custom_variables"] == {"order_id": "A-3", "customer_ref": "C0003"}
    assert {
        "question_id": "702",
        "question": "How satisfied are you with your order?",
        "choice": "Satisfied",
    } in attributes["answers"]
    assert "ip_address" not in attributes


def test_contact_rows_na_choices_and_other_comments() -> None:
    found = parsed(SurveyMonkeyConnector(**options(FakeSurveyMonkey())))
    zero = found["118000000000"]
    # The contact e-mail, the demographic question's e-mail row and the custom variable.
    assert set(zero.identities) == {
        Identity("email", "contact0@example.com"),
        Identity("email", "buyer0@example.com"),
        Identity("shop:customer", "C0000"),
    }
    # Contact details stay out of the text and the answers; N/A stars give no score.
    assert zero.text == "Comment 0"
    assert all(a["question_id"] != "705" for a in zero.attributes["answers"])
    assert [f.question for f in zero.feedback if f.metric == "rating"] == ["Rate us: Delivery"]
    assert zero.feedback[0].score == 0  # the first of the 11 NPS choices
    one = found["118000000001"]
    # "Other" was chosen on the CSAT question: no CSAT score, the comment joins the text.
    assert [f.metric for f in one.feedback] == ["nps", "rating", "rating"]
    assert one.text == "Slow courier\nComment 1"
    two = found["118000000002"]
    assert two.text is None
    assert all(f.comment is None for f in two.feedback)
    effort = found["119000000003"]
    assert [(f.metric, f.score, f.scale) for f in effort.feedback] == [("ces", 4, (1, 7))]
    assert effort.touchpoint == "Support follow-up"
    assert effort.text == "Thanks, agent 3"


def test_sync_stores_responses_and_scores(ws: cxm.Workspace) -> None:
    report = ws.sync(SurveyMonkeyConnector(**options(FakeSurveyMonkey())))
    assert report.ok, str(report)
    assert report.stream("responses").new == 12 + 4
    feedback = ws.feedback()
    counts = feedback["metric"].value_counts().to_dict()
    # NPS and CSAT once per survey-A response (CSAT not when "other"), stars once or twice.
    assert counts["nps"] == 12
    assert counts["csat"] == 11
    assert counts["rating"] == 12 + 9
    assert counts["ces"] == 4
    nps = feedback[feedback["metric"] == "nps"]
    assert sorted(nps["score"].astype(int)) == sorted(i % 11 for i in range(12))
    assert set(ws.interactions()["touchpoint"]) == {"After your order", "Support follow-up"}


def test_response_interaction_can_be_called_on_its_own() -> None:
    found = response_interaction(
        response_a(7, minute(7)),
        details_a(),
        questions={"703": {"metric": "custom", "scale": [0, 5]}},
        identity_variables={"order_id": "shop:order"},
        source="sm-eu",
    )
    assert found.source == "sm-eu"
    assert [(f.metric, f.score, f.scale) for f in found.feedback] == [
        ("custom", 3, (0, 5)),
        ("custom", 3, (0, 5)),
    ]
    assert Identity("shop:order", "A-7") in found.identities


# -- reading and cursors ------------------------------------------------------------------------


def test_first_sync_pages_from_each_new_mark(ws: cxm.Workspace) -> None:
    api = FakeSurveyMonkey()
    assert ws.sync(SurveyMonkeyConnector(**options(api))).ok
    # Details once per survey, then responses; each query starts a second before the newest
    # modification of the page before, so the boundary responses are read again.
    paths = [r.url.path.removeprefix("/v3/surveys/") for r in api.requests]
    assert paths[0] == f"{SURVEY_A}/details"
    assert paths.count(f"{SURVEY_A}/details") == 1
    assert paths.count(f"{SURVEY_B}/details") == 1
    assert api.queries(SURVEY_A) == [
        (None, "1"),
        ("2026-03-02T09:03:59", "1"),
        ("2026-03-02T09:07:59", "1"),
    ]
    assert api.queries(SURVEY_B) == [(None, "1")]
    first = api.bulk_requests()[0].url.params
    assert (first["sort_by"], first["sort_order"], first["status"], first["per_page"]) == (
        "date_modified",
        "ASC",
        "completed",
        "5",
    )
    state = ws.sync_state(SurveyMonkeyConnector(**options(api)))
    assert state["cursor"].iloc[0] == {
        "surveys": {SURVEY_A: "2026-03-02T09:11:00+00:00", SURVEY_B: "2026-03-03T14:03:00+00:00"}
    }


def test_second_sync_asks_only_for_what_changed(ws: cxm.Workspace) -> None:
    api = FakeSurveyMonkey()
    assert ws.sync(SurveyMonkeyConnector(**options(api))).ok
    api.requests.clear()
    api.responses[SURVEY_A] += [
        response_a(i, T0 + timedelta(hours=2, minutes=i), response_id=f"11800000010{i}")
        for i in range(2)
    ]
    second = ws.sync(SurveyMonkeyConnector(**options(api)))
    assert second.ok, str(second)
    stream = second.stream("responses")
    assert (stream.new, stream.updated) == (2, 0)
    assert stream.unchanged == 2  # the newest response of each survey, read again at the mark
    assert api.queries(SURVEY_A) == [("2026-03-02T09:10:59", "1")]
    assert api.queries(SURVEY_B) == [("2026-03-03T14:02:59", "1")]
    third = ws.sync(SurveyMonkeyConnector(**options(api)))
    assert (third.new, third.updated) == (0, 0)


def test_a_response_sharing_the_marks_second_is_not_lost(ws: cxm.Workspace) -> None:
    api = FakeSurveyMonkey()
    assert ws.sync(SurveyMonkeyConnector(**options(api))).ok
    # Completed in the same second as the newest response already read.
    api.responses[SURVEY_A].append(response_a(4, minute(11), response_id="118000000099"))
    report = ws.sync(SurveyMonkeyConnector(**options(api)))
    assert report.stream("responses").new == 1, str(report)
    assert "118000000099" in set(ws.interactions()["source_id"])


def test_a_page_within_one_second_steps_to_the_next_page(ws: cxm.Workspace) -> None:
    api = FakeSurveyMonkey()
    api.responses[SURVEY_A] = [
        response_a(i, T0, response_id=f"1180000002{i:02d}") for i in range(7)
    ]
    report = ws.sync(SurveyMonkeyConnector(**options(api, per_page=3)))
    assert report.ok, str(report)
    assert report.stream("responses").new == 7 + 4
    assert api.queries(SURVEY_A) == [
        (None, "1"),
        ("2026-03-02T08:59:59", "1"),
        ("2026-03-02T08:59:59", "2"),
        ("2026-03-02T08:59:59", "3"),
    ]


def test_edited_response_is_read_again_and_updated(ws: cxm.Workspace) -> None:
    api = FakeSurveyMonkey()
    ws.sync(SurveyMonkeyConnector(**options(api)))
    edited = response_a(10, T0 + timedelta(days=1))  # now NPS 10 -> 9 via a new choice
    edited["pages"][0]["questions"][0]["answers"] = [{"choice_id": "9009", "row_id": "8001"}]
    api.responses[SURVEY_A][5] = {**edited, "id": "118000000005"}
    report = ws.sync(SurveyMonkeyConnector(**options(api)))
    assert report.stream("responses").updated == 1, str(report)
    assert len(ws.interactions()) == 12 + 4
    feedback = ws.feedback(metric="nps")
    assert sorted(feedback["score"].astype(int)) == sorted(
        [i % 11 for i in range(12) if i != 5] + [9]
    )


def test_start_limits_the_first_sync(ws: cxm.Workspace) -> None:
    api = FakeSurveyMonkey()
    report = ws.sync(SurveyMonkeyConnector(**options(api, start="2026-03-02T09:07:00Z")))
    assert report.ok, str(report)
    assert api.queries(SURVEY_A)[0] == ("2026-03-02T09:06:59", "1")
    assert report.stream("responses").new == 5 + 4  # responses 7 to 11, and all of B


def test_checkpoint_after_every_page() -> None:
    connector = SurveyMonkeyConnector(**options(FakeSurveyMonkey()))
    items = list(connector.stream("responses").read(None))
    marks = [item.cursor["surveys"] for item in items if isinstance(item, Checkpoint)]
    assert marks[0] == {SURVEY_A: "2026-03-02T09:04:00+00:00"}
    assert marks[1] == {SURVEY_A: "2026-03-02T09:08:00+00:00"}
    assert marks[-1] == {
        SURVEY_A: "2026-03-02T09:11:00+00:00",
        SURVEY_B: "2026-03-03T14:03:00+00:00",
    }


def test_interrupted_sync_resumes_without_loss(tmp_path: Path) -> None:
    api = FakeSurveyMonkey()
    ws = cxm.Workspace.open(tmp_path / "cxm.db")
    try:
        # Killed after the first page (5 responses and its checkpoint) and one more response.
        with contextlib.suppress(Interrupted):
            ws.sync(interrupted(SurveyMonkeyConnector(**options(api)), 7), batch_size=1)
        cursor = ws.sync_state(SurveyMonkeyConnector(**options(api)))["cursor"].iloc[0]
        assert cursor == {"surveys": {SURVEY_A: "2026-03-02T09:04:00+00:00"}}
        api.requests.clear()
        finished = ws.sync(SurveyMonkeyConnector(**options(api)))
        assert finished.ok, str(finished)
        assert api.queries(SURVEY_A)[0] == ("2026-03-02T09:03:59", "1")
        assert len(ws.interactions()) == 12 + 4
        assert len(set(ws.interactions()["source_id"])) == 12 + 4
    finally:
        ws.close()


def test_full_refresh_rereads_without_duplicates(ws: cxm.Workspace) -> None:
    api = FakeSurveyMonkey()
    ws.sync(SurveyMonkeyConnector(**options(api)))
    count = len(ws.interactions())
    api.requests.clear()
    report = ws.sync(SurveyMonkeyConnector(**options(api)), full_refresh=True)
    assert report.new == 0
    assert report.stream("responses").unchanged >= count
    assert len(ws.interactions()) == count
    assert api.queries(SURVEY_A)[0] == (None, "1")


def test_state_key_and_a_new_survey_starts_from_scratch(ws: cxm.Workspace) -> None:
    api = FakeSurveyMonkey()
    one = SurveyMonkeyConnector(**options(api, surveys=[SURVEY_A], questions={}))
    assert one.state_key.startswith("surveymonkey:token-")
    assert TOKEN not in one.state_key
    ws.sync(one)
    api.requests.clear()
    both = SurveyMonkeyConnector(**options(api))
    assert both.state_key == one.state_key
    report = ws.sync(both)
    assert report.stream("responses").new == 4  # only the added survey's responses
    assert api.queries(SURVEY_A) == [("2026-03-02T09:10:59", "1")]
    assert api.queries(SURVEY_B) == [(None, "1")]
    assert SurveyMonkeyConnector(**options(api, account="team-42")).state_key == (
        "surveymonkey:team-42"
    )


def test_requests_are_paced_by_the_rate_limiter() -> None:
    api = FakeSurveyMonkey()
    now = [0.0]
    waits: list[float] = []

    def advance(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(2, clock=lambda: now[0], sleep=advance)
    parsed(SurveyMonkeyConnector(**options(api, rate_limit=limiter)))
    assert waits == [0.5] * (len(api.requests) - 1)  # 120 a minute
    assert SurveyMonkeyConnector(**options(api, rate_limit=2.0)).config.rate_limit == 2.0


# -- configuration checked against the survey's design -----------------------------------------


def test_a_mapped_question_missing_from_the_survey_fails_the_stream(ws: cxm.Workspace) -> None:
    questions = {SURVEY_A: {"799": "nps"}}
    report = ws.sync(SurveyMonkeyConnector(**options(FakeSurveyMonkey(), questions=questions)))
    assert not report.ok
    assert f"surveymonkey.questions.{SURVEY_A}.799" in str(report.stream("responses").error)


def test_nps_needs_eleven_choices(ws: cxm.Workspace) -> None:
    questions = {SURVEY_A: {"702": "nps"}}
    report = ws.sync(SurveyMonkeyConnector(**options(FakeSurveyMonkey(), questions=questions)))
    assert "11 choices" in str(report.stream("responses").error)


# -- errors --------------------------------------------------------------------------------------


def test_rate_limit_waits_retry_after_then_succeeds(ws: cxm.Workspace) -> None:
    api = FakeSurveyMonkey()
    slept: list[float] = []
    failures = iter([429, 503])

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/responses/bulk"):
            status = next(failures, None)
            if status == 429:
                response = sm_error(429, "1040", "Rate Limit Reached", "Too many requests.")
                response.headers["Retry-After"] = "7"
                return response
            if status == 503:
                return sm_error(
                    503, "1051", "Internal Server Error", "Service unreachable. Try again later."
                )
        return api(request)

    retry = RetryPolicy(attempts=3, sleep=slept.append, jitter=False)
    report = ws.sync(
        SurveyMonkeyConnector(**options(api, transport=httpx.MockTransport(flaky), retry=retry))
    )
    assert report.ok, str(report)
    assert slept == [7.0, 1.0]  # Retry-After honoured, then one backoff after the 503
    assert len(ws.interactions()) == 12 + 4


def test_429_without_retry_after_waits_for_the_minute_reset() -> None:
    api = FakeSurveyMonkey()
    slept: list[float] = []
    throttled = [True]

    def minute_spent(request: httpx.Request) -> httpx.Response:
        if throttled[0]:
            throttled[0] = False
            response = sm_error(429, "1040", "Rate Limit Reached", "Too many requests.")
            response.headers.update(
                {
                    "X-Ratelimit-App-Global-Minute-Remaining": "0",
                    "X-Ratelimit-App-Global-Minute-Reset": "23",
                    "X-Ratelimit-App-Global-Day-Remaining": "310",
                    "X-Ratelimit-App-Global-Day-Reset": "40000",
                }
            )
            return response
        return api(request)

    retry = RetryPolicy(attempts=3, sleep=slept.append, jitter=False)
    connector = SurveyMonkeyConnector(
        **options(api, transport=httpx.MockTransport(minute_spent), retry=retry)
    )
    connector.check()
    assert slept == [23.0]


def test_spent_daily_quota_stops_with_when_to_come_back() -> None:
    slept: list[float] = []

    def day_spent(request: httpx.Request) -> httpx.Response:
        response = sm_error(429, "1040", "Rate Limit Reached", "Too many requests.")
        response.headers.update(
            {
                "X-Ratelimit-App-Global-Minute-Remaining": "80",
                "X-Ratelimit-App-Global-Minute-Reset": "12",
                "X-Ratelimit-App-Global-Day-Remaining": "0",
                "X-Ratelimit-App-Global-Day-Reset": "40000",
            }
        )
        return response

    retry = RetryPolicy(attempts=3, sleep=slept.append, jitter=False)
    connector = SurveyMonkeyConnector(
        **options(None, transport=httpx.MockTransport(day_spent), retry=retry)
    )
    with pytest.raises(RateLimitedError) as raised:
        connector.check()
    assert raised.value.retry_after == 40000.0
    assert slept == []  # not worth waiting eleven hours inside a sync


@pytest.mark.parametrize(
    ("status", "error_id", "name"),
    [(401, "1011", "Authorization Error"), (403, "1014", "Permission Error")],
)
def test_refused_token_raises_auth_error_without_the_secret(
    status: int, error_id: str, name: str
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return sm_error(status, error_id, name, "Permission has not been granted.")

    connector = SurveyMonkeyConnector(**options(None, transport=httpx.MockTransport(refuse)))
    with pytest.raises(AuthError) as raised:
        connector.check()
    assert raised.value.connector == "surveymonkey"
    assert raised.value.status == status
    assert TOKEN not in str(raised.value)
    assert TOKEN not in (raised.value.request or "")
    assert f"/surveys/{SURVEY_A}" in (raised.value.request or "")


def test_wrong_token_is_refused_by_the_fake_api() -> None:
    connector = SurveyMonkeyConnector(**options(FakeSurveyMonkey(), token="sm-revoked-token"))
    with pytest.raises(AuthError) as raised:
        connector.check()
    assert "sm-revoked-token" not in str(raised.value)


def test_malformed_response_is_quarantined_and_the_rest_land(ws: cxm.Workspace) -> None:
    api = FakeSurveyMonkey()
    api.responses[SURVEY_A][2].pop("date_created")  # a renamed field
    api.responses[SURVEY_A][4]["pages"][0]["questions"][0]["answers"] = [
        {"choice_id": "4242", "row_id": "8001"}  # a choice the survey's design does not have
    ]
    report = ws.sync(SurveyMonkeyConnector(**options(api)))
    stream = report.stream("responses")
    assert stream.new == 10 + 4, str(report)
    # Response 4 closes the first page, so the next query reads it again: counted twice,
    # quarantined once (the quarantine keys an item on its payload and reason).
    assert stream.quarantined == 3
    assert len(ws.quarantined()) == 2
    reasons = " ".join(ws.quarantined()["reason"])
    assert "surveymonkey.date_created" in reasons
    assert "surveymonkey.pages.questions.answers.choice_id" in reasons
    # The cursor still moved past them: a fixed response comes back when it is modified.
    cursor = ws.sync_state(SurveyMonkeyConnector(**options(api)))["cursor"].iloc[0]
    assert cursor["surveys"][SURVEY_A] == "2026-03-02T09:11:00+00:00"


def test_an_api_that_ignores_paging_fails_instead_of_looping(ws: cxm.Workspace) -> None:
    api = FakeSurveyMonkey()
    api.responses[SURVEY_A] = [
        response_a(i, T0, response_id=f"1180000003{i:02d}") for i in range(7)
    ]

    def stuck(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/responses/bulk"):
            # Always the first page, whatever "page" asks for.
            url = request.url.copy_set_param("page", "1")
            request = httpx.Request("GET", url, headers=request.headers)
        return api(request)

    report = ws.sync(
        SurveyMonkeyConnector(**options(api, per_page=3, transport=httpx.MockTransport(stuck)))
    )
    error = report.stream("responses").exception
    assert isinstance(error, UpstreamError)
    assert "is the same as page 1" in str(error)
    assert len(api.bulk_requests(SURVEY_A)) == 3  # page 1, page 1 from the mark, then page 2
