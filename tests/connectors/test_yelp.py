"""The yelp connector against a fake Yelp Fusion (Yelp Places) API.

The fake answers are shaped on Yelp's published material:

- https://github.com/Yelp/yelp-fusion/blob/master/docs/api-references/businesses-id-reviews.md
  (Yelp's v3 reference: ``GET /v3/businesses/{id}/reviews``, answer ``{"reviews": [{"url",
  "text", "rating", "user": {...}}], "total"}``). The current reference,
  https://docs.developer.yelp.com/reference/v3_business_reviews, was not readable here; its
  fields (review ``id``, ``time_created`` as ``"YYYY-MM-DD HH:MM:SS"`` "in PST", ``user.id``,
  ``user.profile_url``, ``possible_languages``; query ``locale``, ``limit`` at most 50,
  ``offset``, ``sort_by``) are taken from the client libraries generated from it, e.g. the
  ``Review``/``Reviews`` models of yelp-fusion clients ("The time that the review was created in
  PST"; "total: the total number of reviews that the business has").
- https://docs.developer.yelp.com/docs/fusion-rate-limiting (and
  https://docs.developer.yelp.com/docs/places-rate-limiting): headers
  ``RateLimit-DailyLimit``, ``RateLimit-Remaining``, ``RateLimit-ResetTime`` (ISO 8601; the
  quota resets at midnight UTC) on every answer; 429 bodies ``{"error": {"code":
  "TOO_MANY_REQUESTS_PER_SECOND" | "ACCESS_LIMIT_REACHED", "description": ...}}``. Yelp does
  not document a ``Retry-After``; the fake sends one in one test only.
- Bearer API key (``Authorization: Bearer <key>``); a refused key answers 401 with an
  ``{"error": {"code": "TOKEN_INVALID", ...}}`` body (the code as seen in clients, not in a
  reference page read here).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

import cxm
from cxm.connectors import Checkpoint
from cxm.connectors.http import RetryPolicy
from cxm.connectors.yelp import YelpConnector, review_interaction
from cxm.exceptions import AuthError, RateLimitedError, UpstreamError
from cxm.testing import ConnectorContract, Interrupted, interrupted

BASE = "https://yelp.test/v3"
API_KEY = "yelp-api-key-S3cr3t-9f8e7d6c5b4a"
BUSINESSES = ["WavvLdfdP6g8aZTtbBQHTw", "gary-danko-san-francisco"]
NO_WAIT = RetryPolicy(attempts=2, sleep=lambda seconds: None)
NOW = datetime(2026, 3, 25, 18, 0, 0, tzinfo=UTC)
RESET = "2026-03-26T00:00:00+00:00"  # midnight UTC after NOW: 6 hours later
QPS_DESCRIPTION = "You have exceeded the queries-per-second limit for this endpoint."


def make_reviews(business: str, count: int, *, day: int = 1) -> list[dict[str, Any]]:
    """``count`` reviews of a business, created an hour apart on 2026-03-<day> (Pacific)."""
    out = []
    for i in range(count):
        review_id = f"{business[:6]}-{day:02d}-{i:02d}"
        out.append(
            {
                "id": review_id,
                "url": f"https://www.yelp.com/biz/{business}?hrid={review_id}",
                "text": f"Visit {i} on day {day}...",
                "rating": i % 5 + 1,
                "time_created": f"2026-03-{day:02d} {i:02d}:15:00",
                "user": {
                    "id": f"user-{day:02d}-{i:02d}",
                    "profile_url": f"https://www.yelp.com/user_details?userid=user-{day}-{i}",
                    "image_url": None,
                    "name": f"Reviewer {i}.",
                },
            }
        )
    return out


def yelp_error(status: int, code: str, description: str = "") -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "description": description or code.lower()}}
    )


class FakeYelp:
    """The reviews endpoint: newest first with ``sort_by=newest``, ``limit``/``offset`` pages.

    Without ``limit`` it answers like a base plan: the ``plan_cap`` newest reviews. Every answer
    carries the daily-quota headers; once ``remaining`` is spent it answers 429
    ``ACCESS_LIMIT_REACHED``.
    """

    def __init__(
        self,
        reviews: dict[str, list[dict[str, Any]]] | None = None,
        *,
        daily_limit: int = 500,
        plan_cap: int = 3,
    ) -> None:
        self.reviews = (
            reviews
            if reviews is not None
            else {
                BUSINESSES[0]: make_reviews(BUSINESSES[0], 5),
                BUSINESSES[1]: make_reviews(BUSINESSES[1], 4, day=2),
            }
        )
        self.daily_limit = daily_limit
        self.remaining = daily_limit
        self.plan_cap = plan_cap
        self.requests: list[httpx.Request] = []

    def quota_headers(self) -> dict[str, str]:
        return {
            "RateLimit-DailyLimit": str(self.daily_limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-ResetTime": RESET,
            "Date": format_datetime(NOW, usegmt=True),
        }

    def calls(self, business: str | None = None) -> list[tuple[str, str | None]]:
        """``(business, offset)`` of every reviews request, in order."""
        out = []
        for request in self.requests:
            name = request.url.path.split("/")[-2]
            if business is None or name == business:
                out.append((name, request.url.params.get("offset")))
        return out

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return yelp_error(401, "TOKEN_INVALID", "Invalid access token or header.")
        if self.remaining <= 0:
            response = yelp_error(
                429, "ACCESS_LIMIT_REACHED", "You've reached the access limit for this client."
            )
            response.headers.update(self.quota_headers())
            return response
        self.remaining -= 1
        parts = request.url.path.split("/")
        assert parts[:3] == ["", "v3", "businesses"], parts
        assert parts[-1] == "reviews", parts
        business = parts[3]
        if business not in self.reviews:
            return yelp_error(404, "BUSINESS_NOT_FOUND", "The requested business not found.")
        params = request.url.params
        ordered = list(self.reviews[business])
        if params.get("sort_by") == "newest":
            ordered.sort(key=lambda r: str(r.get("time_created", "")), reverse=True)
        if "limit" in params:
            limit = int(params["limit"])
            assert 1 <= limit <= 50
            start = int(params.get("offset", "0"))
            page = ordered[start : start + limit]
        else:
            page = ordered[: self.plan_cap]
        body = {"reviews": page, "total": len(ordered), "possible_languages": ["en"]}
        return httpx.Response(200, json=body, headers=self.quota_headers())


def options(api: Any, **more: Any) -> dict[str, Any]:
    return {
        "api_key": API_KEY,
        "business_ids": BUSINESSES,
        "base_url": BASE,
        "transport": httpx.MockTransport(api),
        "retry": NO_WAIT,
        **more,
    }


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[cxm.Workspace]:
    workspace = cxm.Workspace.open(tmp_path / "cxm.db")
    yield workspace
    workspace.close()


class TestYelpContract(ConnectorContract):
    connector_class = YelpConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"base_url": "ftp://yelp"}, "base_url"),
        ({"business_ids": []}, "business_ids"),
        ({"business_ids": ["biz/../../admin"]}, "business_ids"),
        ({"page_size": 51}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"locale": "english"}, "locale"),
        ({"sort_by": "rating"}, "sort_by"),
        ({"source": "Yelp Reviews"}, "source"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return options(FakeYelp(), page_size=2)

    def failing_options(self, tmp_path: Path, status: int) -> dict[str, Any]:
        def fail(request: httpx.Request) -> httpx.Response:
            return yelp_error(status, "FAILED")

        return {**self.options(tmp_path), "transport": httpx.MockTransport(fail)}


# -- mapping --------------------------------------------------------------------------------------


def test_reviews_map_to_inbound_review_interactions(ws: cxm.Workspace) -> None:
    api = FakeYelp()
    report = ws.sync(YelpConnector(**options(api)))
    assert report.ok, str(report)
    # Base plan: one call per business, no paging parameters, the 3 newest (newest first).
    assert api.calls() == [(BUSINESSES[0], None), (BUSINESSES[1], None)]
    assert all(r.url.params["sort_by"] == "newest" for r in api.requests)
    assert all("limit" not in r.url.params for r in api.requests)
    frame = ws.interactions(attributes=True)
    assert len(frame) == 3 + 3
    assert set(frame["channel"]) == {"review_site"}
    assert set(frame["kind"]) == {"review"}
    assert set(frame["direction"]) == {"inbound"}
    assert set(frame["touchpoint"]) == {"Yelp"}
    assert set(frame["source"]) == {"yelp"}
    one = frame[frame["source_id"] == "WavvLd-01-04"].iloc[0]
    assert one["text"] == "Visit 4 on day 1..."
    # 2026-03-01 04:15 Pacific Standard Time (UTC-8) is 12:15 UTC.
    assert one["occurred_at"] == datetime(2026, 3, 1, 12, 15, tzinfo=UTC)
    assert one["attributes"] == {
        "business_id": BUSINESSES[0],
        "url": f"https://www.yelp.com/biz/{BUSINESSES[0]}?hrid=WavvLd-01-04",
        "reviewer_name": "Reviewer 4.",
        "reviewer_profile_url": "https://www.yelp.com/user_details?userid=user-1-4",
    }
    feedback = ws.feedback()
    assert set(feedback["metric"]) == {"rating"}
    row = feedback[feedback["comment"] == "Visit 4 on day 1..."].iloc[0]
    assert row["score"] == 5
    assert sorted(set(feedback["score"])) == [2, 3, 4, 5]  # the 3 newest of each
    # The reviewer's Yelp user id is an identity, so their reviews gather on one customer.
    customer = ws.customer("yelp:user:user-01-04")
    assert [(i.kind, i.value) for i in customer.identities] == [("yelp:user", "user-01-04")]


def test_summer_time_and_fractional_ratings() -> None:
    review = make_reviews(BUSINESSES[0], 1, day=20)[0]
    review["time_created"] = "2026-07-04 19:32:11"  # Pacific Daylight Time, UTC-7
    review["rating"] = 4.0
    interaction = review_interaction(review, business_id="biz")
    assert interaction.occurred_at == datetime(2026, 7, 5, 2, 32, 11, tzinfo=UTC)
    assert interaction.feedback[0].score == 4
    assert interaction.feedback[0].scale == (1, 5)


def test_business_id_segments_the_ratings(ws: cxm.Workspace) -> None:
    ws.sync(YelpConnector(**options(FakeYelp(), page_size=50)))
    frame = ws.interactions(attributes=True)
    by_business = frame["attributes"].map(lambda a: a["business_id"]).value_counts().to_dict()
    assert by_business == {BUSINESSES[0]: 5, BUSINESSES[1]: 4}


# -- paging and incremental syncs ------------------------------------------------------------------


def test_pages_with_limit_and_offset_newest_first(ws: cxm.Workspace) -> None:
    api = FakeYelp()
    report = ws.sync(YelpConnector(**options(api, page_size=2, locale="en_US")))
    assert report.ok, str(report)
    # 5 reviews: pages at 0, 2, 4 (a short page ends it); 4 reviews: 0, 2 (offset = total).
    assert api.calls() == [
        (BUSINESSES[0], "0"),
        (BUSINESSES[0], "2"),
        (BUSINESSES[0], "4"),
        (BUSINESSES[1], "0"),
        (BUSINESSES[1], "2"),
    ]
    first = api.requests[0].url.params
    assert (first["limit"], first["sort_by"], first["locale"]) == ("2", "newest", "en_US")
    assert len(ws.interactions()) == 5 + 4
    state = ws.sync_state(YelpConnector(**options(api)))
    assert state["cursor"].iloc[0] == {
        "businesses": {BUSINESSES[0]: "2026-03-01 04:15:00", BUSINESSES[1]: "2026-03-02 03:15:00"}
    }


def test_second_sync_stops_at_each_businesss_mark(ws: cxm.Workspace) -> None:
    api = FakeYelp()
    assert ws.sync(YelpConnector(**options(api, page_size=2))).ok
    api.requests.clear()
    api.reviews[BUSINESSES[0]] += make_reviews(BUSINESSES[0], 1, day=9)
    second = ws.sync(YelpConnector(**options(api, page_size=2)))
    assert second.ok, str(second)
    # One page per business: the first page already reaches what was stored.
    assert api.calls() == [(BUSINESSES[0], "0"), (BUSINESSES[1], "0")]
    stream = second.stream("reviews")
    assert (stream.new, stream.updated, stream.unchanged) == (1, 0, 1 + 2)
    third = ws.sync(YelpConnector(**options(api, page_size=2)))
    assert (third.new, third.updated) == (0, 0)
    assert len(ws.interactions()) == 5 + 1 + 4


def test_polling_again_stores_no_duplicates(ws: cxm.Workspace) -> None:
    api = FakeYelp()
    first = ws.sync(YelpConnector(**options(api)))
    assert first.new == 6
    second = ws.sync(YelpConnector(**options(api)))
    assert (second.new, second.updated, second.unchanged) == (0, 0, 6)
    assert len(ws.interactions()) == 6
    # A new review pushes the oldest of the three out of the answer; the stored one stays.
    api.reviews[BUSINESSES[1]] += make_reviews(BUSINESSES[1], 1, day=9)
    third = ws.sync(YelpConnector(**options(api)))
    assert (third.new, third.unchanged) == (1, 5)
    assert len(ws.interactions()) == 7
    assert len(ws.interactions()["source_id"].unique()) == 7


def test_yelp_sort_reads_every_page_each_sync(ws: cxm.Workspace) -> None:
    api = FakeYelp()
    ws.sync(YelpConnector(**options(api, page_size=2, sort_by="yelp_sort")))
    api.requests.clear()
    again = ws.sync(YelpConnector(**options(api, page_size=2, sort_by="yelp_sort")))
    # Not date-ordered, so a known review says nothing about the next page.
    assert len(api.calls()) == 5
    assert {r.url.params["sort_by"] for r in api.requests} == {"yelp_sort"}
    assert (again.new, again.unchanged) == (0, 9)


def test_edited_review_is_updated(ws: cxm.Workspace) -> None:
    api = FakeYelp()
    ws.sync(YelpConnector(**options(api)))
    edited = api.reviews[BUSINESSES[0]][-1]
    edited["rating"] = 1
    edited["text"] = "Changed my mind"
    report = ws.sync(YelpConnector(**options(api)))
    assert report.stream("reviews").updated == 1, str(report)
    feedback = ws.feedback()
    assert feedback[feedback["comment"] == "Changed my mind"]["score"].tolist() == [1]


def test_no_checkpoint_inside_a_businesss_pass() -> None:
    connector = YelpConnector(**options(FakeYelp(), page_size=2))
    items = list(connector.stream("reviews").read(None))
    checkpoints = [i for i, item in enumerate(items) if isinstance(item, Checkpoint)]
    assert checkpoints == [5, 10]  # after the 5 reviews of one, then the 4 of the other
    assert set(items[5].cursor["businesses"]) == {BUSINESSES[0]}


def test_interrupted_mid_pass_resumes_without_skipping_older_reviews(tmp_path: Path) -> None:
    api = FakeYelp()
    ws = cxm.Workspace.open(tmp_path / "cxm.db")
    try:
        assert ws.sync(YelpConnector(**options(api, page_size=2))).ok
        api.reviews[BUSINESSES[0]] += make_reviews(BUSINESSES[0], 5, day=9)
        before = ws.sync_state(YelpConnector(**options(api)))["cursor"].iloc[0]
        # Killed after the 3 newest of the 5 new reviews were read and stored.
        with contextlib.suppress(Interrupted):
            ws.sync(interrupted(YelpConnector(**options(api, page_size=2)), 3), batch_size=1)
        after = ws.sync_state(YelpConnector(**options(api)))["cursor"].iloc[0]
        assert after == before  # the mark did not move: two new reviews were not read yet
        assert len(ws.interactions()) == 9 + 3
        finished = ws.sync(YelpConnector(**options(api, page_size=2)))
        assert finished.ok, str(finished)
        assert finished.new == 2
        assert len(ws.interactions()) == 9 + 5
    finally:
        ws.close()


def test_full_refresh_rereads_without_duplicates(ws: cxm.Workspace) -> None:
    api = FakeYelp()
    ws.sync(YelpConnector(**options(api, page_size=2)))
    api.requests.clear()
    report = ws.sync(YelpConnector(**options(api, page_size=2)), full_refresh=True)
    assert (report.new, report.updated, report.unchanged) == (0, 0, 9)
    assert len(ws.interactions()) == 9
    assert len(api.calls()) == 5  # every page again


def test_state_key_names_the_source_and_new_businesses_start_from_scratch(
    ws: cxm.Workspace,
) -> None:
    api = FakeYelp()
    one = YelpConnector(**options(api, business_ids=BUSINESSES[:1], page_size=2))
    assert one.state_key == "yelp:yelp"
    assert API_KEY not in one.state_key
    ws.sync(one)
    api.requests.clear()
    both = YelpConnector(**options(api, page_size=2))
    assert both.state_key == one.state_key
    report = ws.sync(both)
    assert report.new == 4
    assert api.calls() == [(BUSINESSES[0], "0"), (BUSINESSES[1], "0"), (BUSINESSES[1], "2")]


# -- rate limits and errors ------------------------------------------------------------------------


def test_per_second_429_waits_retry_after_then_a_5xx_backs_off(ws: cxm.Workspace) -> None:
    api = FakeYelp()
    slept: list[float] = []
    failures = iter(["qps", "503"])

    def flaky(request: httpx.Request) -> httpx.Response:
        failure = next(failures, None)
        if failure == "qps":
            response = yelp_error(429, "TOO_MANY_REQUESTS_PER_SECOND")
            response.headers["Retry-After"] = "2"
            return response
        if failure == "503":
            return yelp_error(503, "INTERNAL_ERROR")
        return api(request)

    retry = RetryPolicy(attempts=3, sleep=slept.append, jitter=False)
    report = ws.sync(
        YelpConnector(**options(api, transport=httpx.MockTransport(flaky), retry=retry))
    )
    assert report.ok, str(report)
    assert slept == [2.0, 0.5]  # Retry-After honoured, then the policy's first backoff
    assert len(ws.interactions()) == 6


def test_per_second_429_without_retry_after_backs_off() -> None:
    api = FakeYelp()
    slept: list[float] = []
    answers = iter([yelp_error(429, "TOO_MANY_REQUESTS_PER_SECOND")] * 2)

    def flaky(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or api(request)

    retry = RetryPolicy(attempts=3, sleep=slept.append, jitter=False)
    connector = YelpConnector(**options(api, transport=httpx.MockTransport(flaky), retry=retry))
    connector.check()
    assert slept == [0.5, 1.0]


def test_per_second_429_gives_up_after_the_attempts() -> None:
    slept: list[float] = []

    def always(request: httpx.Request) -> httpx.Response:
        return yelp_error(429, "TOO_MANY_REQUESTS_PER_SECOND", QPS_DESCRIPTION)

    retry = RetryPolicy(attempts=3, sleep=slept.append, jitter=False)
    connector = YelpConnector(**options(None, transport=httpx.MockTransport(always), retry=retry))
    with pytest.raises(RateLimitedError) as raised:
        connector.check()
    assert len(slept) == 2
    assert raised.value.connector == "yelp"
    assert QPS_DESCRIPTION in str(raised.value)
    assert raised.value.retry_after is None  # Yelp sent no Retry-After


def test_daily_limit_429_stops_at_once_keeping_what_was_read(ws: cxm.Workspace) -> None:
    api = FakeYelp()
    slept: list[float] = []

    def spent_on_second_business(request: httpx.Request) -> httpx.Response:
        if BUSINESSES[1] in request.url.path:
            api.remaining = 0
        return api(request)

    retry = RetryPolicy(attempts=5, sleep=slept.append, jitter=False)
    transport = httpx.MockTransport(spent_on_second_business)
    report = ws.sync(YelpConnector(**options(api, transport=transport, retry=retry)))
    assert not report.ok
    error = report.stream("reviews").exception
    assert isinstance(error, RateLimitedError)
    assert error.connector == "yelp"
    assert error.status == 429
    assert error.retry_after == 6 * 3600  # from the answer's Date to RateLimit-ResetTime
    assert RESET in str(error)
    assert "500 calls" in str(error)
    assert API_KEY not in str(error)
    assert slept == []  # not retried
    assert api.calls() == [(BUSINESSES[0], None), (BUSINESSES[1], None)]
    # The first business's reviews and mark were stored.
    assert len(ws.interactions()) == 3
    state = ws.sync_state(YelpConnector(**options(api)))
    assert set(state["cursor"].iloc[0]["businesses"]) == {BUSINESSES[0]}
    # Tomorrow the quota is back and the sync completes.
    api.remaining = 500
    tomorrow = ws.sync(YelpConnector(**options(api)))
    assert tomorrow.ok, str(tomorrow)
    assert (tomorrow.new, tomorrow.unchanged) == (3, 3)


def test_remaining_zero_stops_before_the_call_yelp_would_refuse(ws: cxm.Workspace) -> None:
    api = FakeYelp(daily_limit=2)
    report = ws.sync(YelpConnector(**options(api, page_size=2)))
    assert not report.ok
    error = report.stream("reviews").exception
    assert isinstance(error, RateLimitedError)
    assert RESET in str(error)
    assert RESET in str(report)  # the sync's report says when the quota resets
    assert error.status is None  # stopped before Yelp had to refuse a call
    assert error.retry_after == 6 * 3600
    # Two calls were allowed; the third page was never asked for.
    assert api.calls() == [(BUSINESSES[0], "0"), (BUSINESSES[0], "2")]
    assert len(ws.interactions()) == 4  # kept, though the pass was not complete
    assert ws.sync_state(YelpConnector(**options(api))).empty  # so the mark did not move


def test_daily_limit_in_check_names_the_reset_time() -> None:
    api = FakeYelp(daily_limit=0)
    with pytest.raises(RateLimitedError) as raised:
        YelpConnector(**options(api)).check()
    assert "ACCESS_LIMIT_REACHED" in str(raised.value)
    assert RESET in str(raised.value)
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("status", "code"), [(401, "TOKEN_INVALID"), (401, "UNAUTHORIZED_ACCESS_TOKEN"), (403, "")]
)
def test_refused_key_raises_auth_error_without_the_secret(status: int, code: str) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return yelp_error(status, code or "FORBIDDEN")

    connector = YelpConnector(**options(None, transport=httpx.MockTransport(refuse)))
    with pytest.raises(AuthError) as raised:
        connector.check()
    assert raised.value.connector == "yelp"
    assert raised.value.status == status
    assert API_KEY not in str(raised.value)
    assert API_KEY not in (raised.value.request or "")
    assert API_KEY not in repr(connector)


def test_check_sends_the_key_as_bearer_once() -> None:
    api = FakeYelp()
    YelpConnector(**options(api)).check()
    assert len(api.requests) == 1
    assert api.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert api.requests[0].url.path == f"/v3/businesses/{BUSINESSES[0]}/reviews"


def test_wrong_key_is_refused_by_the_fake(ws: cxm.Workspace) -> None:
    report = ws.sync(YelpConnector(**options(FakeYelp(), api_key="not-the-key")))
    assert isinstance(report.stream("reviews").exception, AuthError)


def test_answer_without_reviews_is_an_upstream_error() -> None:
    def odd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"total": 3})

    connector = YelpConnector(**options(None, transport=httpx.MockTransport(odd)))
    with pytest.raises(UpstreamError, match="'reviews'"):
        list(connector.stream("reviews").read(None))


def test_malformed_review_is_quarantined_and_the_rest_land(ws: cxm.Workspace) -> None:
    reviews = make_reviews(BUSINESSES[0], 6)
    reviews[1].pop("time_created")
    reviews[2]["rating"] = 6
    reviews[3]["user"].pop("id")
    reviews[4]["time_created"] = "yesterday"
    api = FakeYelp({BUSINESSES[0]: reviews, BUSINESSES[1]: []})
    report = ws.sync(YelpConnector(**options(api, page_size=50)))
    stream = report.stream("reviews")
    assert stream.quarantined == 4, str(report)
    assert stream.new == 2
    assert set(ws.interactions()["source_id"]) == {"WavvLd-01-00", "WavvLd-01-05"}
    reasons = " ".join(ws.quarantined()["reason"])
    for field in ("yelp.time_created", "yelp.rating", "yelp.user.id"):
        assert field in reasons
