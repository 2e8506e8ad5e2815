"""The trustpilot connector against a fake Trustpilot API, in public and private (OAuth) mode.

The fake answers are shaped on Trustpilot's published reference:

- https://developers.trustpilot.com/business-units-api and
  https://documentation-apidocumentation.trustpilot.com/business-units-api (``GET
  /v1/private/business-units/{businessUnitId}/reviews``, "Business user OAuth Token";
  parameters ``page`` from 1, ``perPage`` 1..100 default 20, ``orderBy`` ``createdat.asc`` /
  ``createdat.desc`` / ``stars.asc`` / ``stars.desc``, ``startDateTime`` / ``endDateTime``
  "2013-09-07T13:37:00" without a zone; "a page past the last one returns an empty array")
- https://developers.trustpilot.com/business-units-api-overview (the ``apikey`` header;
  ``GET /v1/business-units/find?name=<domain>`` gives the business unit id)
- https://apis.io/examples/trustpilot/trustpilot-get-business-unit-reviews-example/ (the
  public ``GET /v1/business-units/{businessUnitId}/reviews`` and its ``{"reviews": [...]}``
  answer)
- https://documentation-apidocumentation.trustpilot.com/get-started/authentication/grant-type-client-credentials
  (refreshing: ``POST /v1/oauth/oauth-business-users-for-applications/accesstoken`` or
  ``.../refresh``, ``Authorization: Basic base64(API_KEY:API_SECRET)``, form
  ``grant_type=refresh_token&refresh_token=...``; answer ``{access_token, refresh_token,
  expires_in: "359999"}``, a string)
- https://documentation-apidocumentation.trustpilot.com/get-started/rate-limiting (at most 833
  calls per 5 minutes, 10,000 an hour)
- https://github.com/airbytehq/airbyte/blob/master/airbyte-integrations/connectors/source-trustpilot/source_trustpilot/schemas/private_reviews.json
  and ``.../streams.py`` (the private review's fields: ``consumer{id, displayName,
  displayLocation, numberOfReviews}``, ``businessUnit``, ``stars``, ``title``, ``text``,
  ``language``, ``location``, ``createdAt``, ``updatedAt``, ``experiencedAt``,
  ``referralEmail``, ``referenceId``, ``source``, ``companyReply{createdAt, updatedAt, text,
  authorBusinessUserId}``, ``isVerified``, ``status``, all nullable; the answer's ``links``
  list with ``{"href", "method": "GET", "rel": "next-page"}`` while there is a next page)
- https://github.com/trustpilot/python-trustpilot/blob/master/trustpilot/client.py (Trustpilot's
  client sends ``apikey`` together with the bearer token)

Not published, so guessed: the error bodies (Apigee-style ``{"fault": {"faultstring",
"detail": {"errorcode"}}}`` for refused keys and throttling, ``{"message", "errorCode"}`` for the
application's own errors), ``Retry-After`` on a 429, and whether the public answer carries
``links`` (the fake sends them on both; the connector also stops after an empty page).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import httpx
import pandas as pd
import pytest

import cxm
from cxm.connectors import Checkpoint
from cxm.connectors.http import RateLimiter, RetryPolicy
from cxm.connectors.trustpilot import TOKEN_PATH, TrustpilotConnector, review_interactions
from cxm.exceptions import AuthError, ValidationError
from cxm.testing import ConnectorContract, Interrupted, interrupted

BASE = "https://api.trustpilot.test/v1"
TOKEN_URL = f"{BASE}{TOKEN_PATH}"
UNIT = "507f191e810c19729de860ea"
API_KEY = "tp-api-key-5f1e2d3c4b"
API_SECRET = "tp-api-secret-9a8b7c6d"
REFRESH = "tp-refresh-token-0badf00d"
ACCESS = "tp-access-token-deadbeef"
PUBLIC_ONLY = {"referralEmail", "referenceId", "tags", "findReviewer"}
FIRST = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def stamp(moment: datetime, *, naive: bool = False) -> str:
    """Trustpilot's times: ``...Z`` with milliseconds, some without a zone (as its docs show)."""
    if naive:
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def make_reviews(
    count: int, *, start: datetime = FIRST, prefix: str = "6a", hours: int = 2
) -> list[dict[str, Any]]:
    """``count`` private reviews, created ``hours`` apart; every third answered.

    Every fourth is organic (no invitation: ``referralEmail`` and ``referenceId`` null), and
    every fifth has a time without a zone.
    """
    out = []
    for i in range(count):
        created = start + timedelta(hours=hours * i, milliseconds=i * 7)
        invited = i % 4 != 3
        review: dict[str, Any] = {
            "links": [
                {
                    "href": f"https://api.trustpilot.com/v1/reviews/{prefix}{i:022x}",
                    "method": "GET",
                    "rel": "reviews",
                }
            ],
            "id": f"{prefix}{i:022x}",
            "consumer": {
                "id": f"5c{i:022x}",
                "displayName": f"Consumer {i}",
                "displayLocation": "London, GB",
                "numberOfReviews": i + 1,
                "links": [],
            },
            "businessUnit": {
                "id": UNIT,
                "identifyingName": "shop.example.com",
                "displayName": "Example Shop",
                "links": [],
            },
            "location": None,
            "stars": i % 5 + 1,
            "title": f"Order {i}",
            "text": f"Parcel {i} arrived.",
            "language": "en",
            "createdAt": stamp(created, naive=i % 5 == 4),
            "updatedAt": None,
            "experiencedAt": stamp(created - timedelta(days=2)),
            "referralEmail": f"Buyer{i}@Example.com" if invited else None,
            "referenceId": f"ORD-{1000 + i}" if invited else None,
            "source": "InvitationApi" if invited else "Organic",
            "companyReply": None,
            "tags": [],
            "findReviewer": {"isEligible": False, "requests": []},
            "isVerified": invited,
            "numberOfLikes": 0,
            "status": "active",
            "reportData": None,
            "complianceLabels": [],
            "countsTowardsTrustScore": True,
            "countsTowardsLocationTrustScore": None,
            "invitation": {"businessUnitId": UNIT} if invited else None,
            "businessUnitHistory": [],
            "reviewVerificationLevel": "invited" if invited else "notVerified",
        }
        if i % 3 == 0:
            replied = created + timedelta(hours=1)
            review["companyReply"] = {
                "text": f"Thank you, consumer {i}!",
                "authorBusinessUserId": "5b0000000000000000000001",
                "authorBusinessUserName": "Support",
                "createdAt": stamp(replied),
                "updatedAt": None,
            }
        out.append(review)
    return out


def fault(status: int, text: str, code: str) -> httpx.Response:
    """The API gateway's error body (guessed; see the module docstring)."""
    return httpx.Response(
        status, json={"fault": {"faultstring": text, "detail": {"errorcode": code}}}
    )


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class FakeTrustpilot:
    """The API: the token endpoint, the public and private reviews endpoints, page numbers."""

    def __init__(self, reviews: list[dict[str, Any]] | None = None) -> None:
        self.reviews = reviews if reviews is not None else make_reviews(12)
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0

    def review_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/reviews")]

    def pages(self) -> list[tuple[str | None, str | None]]:
        """``(startDateTime, page)`` of every reviews request."""
        return [
            (r.url.params.get("startDateTime"), r.url.params.get("page"))
            for r in self.review_requests()
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == f"/v1{TOKEN_PATH}":
            return self._token(request)
        private = path.startswith("/v1/private/")
        if private:
            if request.headers.get("authorization") != f"Bearer {ACCESS}":
                return fault(
                    401, "Invalid access token", "keymanagement.service.invalid_access_token"
                )
        elif request.headers.get("apikey") != API_KEY:
            return fault(401, "Invalid ApiKey", "oauth.v2.InvalidApiKey")
        prefix = "/v1/private/business-units/" if private else "/v1/business-units/"
        assert path.startswith(prefix), path
        assert path.endswith("/reviews"), path
        if path[len(prefix) : -len("/reviews")] != UNIT:
            return httpx.Response(
                404, json={"message": "Business unit not found", "errorCode": 404}
            )
        return self._reviews(request, private=private)

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        if request.headers.get("authorization") != basic(API_KEY, API_SECRET):
            return httpx.Response(401, json={"error": "invalid_client"})
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [REFRESH]:
            return httpx.Response(
                400, json={"error": "invalid_grant", "error_description": "Invalid refresh token"}
            )
        self.tokens_issued += 1
        return httpx.Response(
            200,
            json={"access_token": ACCESS, "refresh_token": REFRESH, "expires_in": "359999"},
        )

    def _reviews(self, request: httpx.Request, *, private: bool) -> httpx.Response:
        params = request.url.params
        per_page = int(params.get("perPage", "20"))
        page = int(params.get("page", "1"))
        if not 1 <= per_page <= 100 or page < 1:
            return httpx.Response(400, json={"message": "Invalid paging", "errorCode": 400})
        found = list(self.reviews)
        start = params.get("startDateTime")
        if start is not None:
            # Sent in UTC without a zone, as the reference shows it.
            assert "+" not in start, start
            assert not start.endswith("Z"), start
            bound = datetime.fromisoformat(start).replace(tzinfo=UTC)
            found = [r for r in found if _created(r) >= bound]
        order = params.get("orderBy", "createdat.desc")
        found.sort(key=_created, reverse=order == "createdat.desc")
        chunk = found[(page - 1) * per_page : page * per_page]
        if not private:
            chunk = [{k: v for k, v in r.items() if k not in PUBLIC_ONLY} for r in chunk]
        here = f"{BASE}{request.url.path[len('/v1') :]}"
        links = []
        if page * per_page < len(found):
            links.append(
                {
                    "href": f"{here}?page={page + 1}&perPage={per_page}",
                    "method": "GET",
                    "rel": "next-page",
                }
            )
        if page > 1:
            links.append(
                {
                    "href": f"{here}?page={page - 1}&perPage={per_page}",
                    "method": "GET",
                    "rel": "prev-page",
                }
            )
        return httpx.Response(200, json={"links": links, "reviews": chunk})


def _created(review: dict[str, Any]) -> datetime:
    value = datetime.fromisoformat(review["createdAt"])
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def no_wait_limiter() -> RateLimiter:
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    return RateLimiter(2.5, clock=lambda: now[0], sleep=advance)


def options(api: Any, *, private: bool = False, **more: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "business_unit_id": UNIT,
        "api_key": API_KEY,
        "base_url": BASE,
        "page_size": 5,
        "rate_limit": no_wait_limiter(),
        "transport": httpx.MockTransport(api),
        "retry": RetryPolicy(attempts=2, sleep=lambda seconds: None),
    }
    if private:
        settings.update(client_secret=API_SECRET, refresh_token=REFRESH)
    return {**settings, **more}


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[cxm.Workspace]:
    workspace = cxm.Workspace.open(tmp_path / "cxm.db")
    yield workspace
    workspace.close()


class TestTrustpilotContract(ConnectorContract):
    connector_class = TrustpilotConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"base_url": "ftp://trustpilot"}, "base_url"),
        ({"token_url": "api.trustpilot.com/token"}, "token_url"),
        ({"page_size": 101}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"business_unit_id": "units/507f"}, "business_unit_id"),
        ({"business_unit_id": ""}, "business_unit_id"),
        ({"source": "Trust Pilot"}, "source"),
        ({"start": "last tuesday"}, "start"),
        ({"lookback_days": -1}, "lookback_days"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"client_secret": API_SECRET}, "refresh_token"),
        ({"refresh_token": REFRESH}, "refresh_token"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return options(FakeTrustpilot())

    def failing_options(self, tmp_path: Path, status: int) -> dict[str, Any]:
        def fail(request: httpx.Request) -> httpx.Response:
            return fault(status, "Failed", "failed")

        return {**self.options(tmp_path), "transport": httpx.MockTransport(fail)}


class TestTrustpilotPrivateContract(TestTrustpilotContract):
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"token_url": "ftp://trustpilot/token"}, "token_url"),
        ({"client_secret": None}, "refresh_token"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return options(FakeTrustpilot(), private=True)

    def failing_options(self, tmp_path: Path, status: int) -> dict[str, Any]:
        def fail(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/accesstoken"):
                return httpx.Response(200, json={"access_token": ACCESS, "expires_in": "359999"})
            return fault(status, "Failed", "failed")

        return {**self.options(tmp_path), "transport": httpx.MockTransport(fail)}


def test_public_reviews_replies_and_mapping(ws: cxm.Workspace) -> None:
    api = FakeTrustpilot()
    report = ws.sync(TrustpilotConnector(**options(api)))
    assert report.ok, str(report)
    assert report.stream("reviews").new == 12 + 4  # reviews 0, 3, 6, 9 are answered
    frame = ws.interactions(attributes=True)
    reviews = frame[frame["kind"] == "review"]
    replies = frame[frame["kind"] == "reply"]
    assert len(reviews) == 12
    assert len(replies) == 4
    assert set(frame["channel"]) == {"review_site"}
    assert set(frame["touchpoint"]) == {"Trustpilot"}
    assert set(reviews["direction"]) == {"inbound"}
    assert set(replies["direction"]) == {"outbound"}
    one = reviews[reviews["source_id"] == f"6a{1:022x}"].iloc[0]
    assert one["source"] == "trustpilot"
    assert one["text"] == "Order 1\n\nParcel 1 arrived."
    assert one["occurred_at"] == pd.Timestamp("2026-03-01T11:00:00.007Z")
    assert one["attributes"] == {
        "business_unit_id": UNIT,
        "consumer_name": "Consumer 1",
        "title": "Order 1",
        "language": "en",
        "status": "active",
        "verified": True,
        "review_source": "InvitationApi",
    }
    # A time without a zone (review 4) is read as UTC.
    naive = reviews[reviews["source_id"] == f"6a{4:022x}"].iloc[0]
    assert naive["occurred_at"] == pd.Timestamp("2026-03-01T17:00:00Z")
    reply = replies[replies["source_id"] == f"6a{3:022x}:reply"].iloc[0]
    assert reply["text"] == "Thank you, consumer 3!"
    assert reply["occurred_at"] == pd.Timestamp("2026-03-01T16:00:00.021Z")
    assert reply["attributes"] == {
        "business_unit_id": UNIT,
        "in_reply_to": f"6a{3:022x}",
        "author_business_user_id": "5b0000000000000000000001",
    }
    feedback = ws.feedback()
    assert set(feedback["metric"]) == {"rating"}
    assert sorted(set(feedback["score"])) == [1, 2, 3, 4, 5]
    assert len(feedback) == 12
    # Public mode: the key in the apikey header, no bearer token, the public path.
    first = api.review_requests()[0]
    assert first.url.path == f"/v1/business-units/{UNIT}/reviews"
    assert first.headers["apikey"] == API_KEY
    assert "authorization" not in first.headers
    assert first.url.params["orderBy"] == "createdat.asc"
    assert first.url.params["perPage"] == "5"
    assert "startDateTime" not in first.url.params
    # 12 reviews at 5 a page: pages 1-3, and no request past the page without a next link.
    assert api.pages() == [(None, "1"), (None, "2"), (None, "3")]
    assert api.tokens_issued == 0


def test_public_reviews_carry_only_the_consumer_id() -> None:
    connector = TrustpilotConnector(**options(FakeTrustpilot()))
    records = [
        r
        for item in connector.stream("reviews").read(None)
        if isinstance(item, dict)
        for r in connector.parse_review(item)
    ]
    assert {i.key for r in records for i in r.identities} == {
        ("trustpilot:consumer", f"5c{n:022x}") for n in range(12)
    }


def test_private_reviews_join_customers_by_email_and_reference(ws: cxm.Workspace) -> None:
    api = FakeTrustpilot()
    report = ws.sync(TrustpilotConnector(**options(api, private=True)))
    assert report.ok, str(report)
    # One token, fetched with the refresh-token grant and the key:secret pair in Basic auth.
    token_requests = [r for r in api.requests if r.url.path.endswith("/accesstoken")]
    assert len(token_requests) == 1
    assert api.tokens_issued == 1
    assert token_requests[0].method == "POST"
    assert token_requests[0].headers["authorization"] == basic(API_KEY, API_SECRET)
    assert parse_qs(token_requests[0].content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH],
    }
    for request in api.review_requests():
        assert request.url.path == f"/v1/private/business-units/{UNIT}/reviews"
        assert request.headers["authorization"] == f"Bearer {ACCESS}"
        assert request.headers["apikey"] == API_KEY
    # An invited review: e-mail, reference id and consumer id all name one customer, who
    # holds the review and the company's reply.
    profile = ws.profile("buyer0@example.com")
    assert {i.key for i in profile.customer.identities} == {
        ("email", "buyer0@example.com"),
        ("trustpilot:reference", "ORD-1000"),
        ("trustpilot:consumer", f"5c{0:022x}"),
    }
    assert sorted(profile.interactions["kind"]) == ["reply", "review"]
    assert ws.customer("trustpilot:reference:ORD-1000").customer_id == profile.customer.customer_id
    frame = ws.interactions(attributes=True)
    invited = frame[frame["source_id"] == f"6a{1:022x}"].iloc[0]
    assert invited["attributes"]["reference_id"] == "ORD-1001"
    # An organic review (3): no e-mail, no reference; known by its consumer id only.
    organic = ws.customer(f"trustpilot:consumer:5c{3:022x}")
    assert [i.kind for i in organic.identities] == ["trustpilot:consumer"]
    assert frame["customer_id"].notna().all()


def test_malformed_referral_email_is_kept_as_an_attribute() -> None:
    review = make_reviews(1)[0]
    review["referralEmail"] = "not an address"
    (found, _reply) = review_interactions(review)
    assert ("email", "not an address") not in {i.key for i in found.identities}
    assert found.attributes["referral_email"] == "not an address"
    assert found.feedback[0].scale == (1, 5)
    assert found.feedback[0].comment == "Parcel 0 arrived."


def test_second_sync_asks_only_for_reviews_since_the_newest(ws: cxm.Workspace) -> None:
    api = FakeTrustpilot()
    assert ws.sync(TrustpilotConnector(**options(api, lookback_days=0))).ok
    state = ws.sync_state(TrustpilotConnector(**options(api)))
    assert state["cursor"].iloc[0] == {"since": "2026-03-02T07:00:00.077000Z"}  # review 11
    api.requests.clear()
    api.reviews += make_reviews(2, start=datetime(2026, 3, 5, tzinfo=UTC), prefix="7b")
    second = ws.sync(TrustpilotConnector(**options(api, lookback_days=0)))
    assert second.ok, str(second)
    assert second.stream("reviews").new == 2 + 1  # two reviews, the reply to the first
    # One page from the newest review already read (whole seconds, no zone), nothing older.
    assert api.pages() == [("2026-03-02T07:00:00", "1")]
    assert second.stream("reviews").unchanged == 1  # review 11, at the inclusive bound
    third = ws.sync(TrustpilotConnector(**options(api, lookback_days=0)))
    assert (third.new, third.updated) == (0, 0)


def test_lookback_rereads_recent_reviews_and_picks_up_a_late_reply(ws: cxm.Workspace) -> None:
    # Reviews six hours apart: review 11 is the newest, 2026-03-03T03:00:00.077Z.
    api = FakeTrustpilot(make_reviews(12, hours=6))
    assert ws.sync(TrustpilotConnector(**options(api, lookback_days=1))).ok
    api.requests.clear()
    # The company answers review 10 (created 2026-03-03T21:00) after it was read.
    api.reviews[10]["companyReply"] = {
        "text": "Sorry about that!",
        "authorBusinessUserId": "5b0000000000000000000001",
        "createdAt": "2026-03-04T10:00:00Z",
        "updatedAt": None,
    }
    api.reviews[10]["updatedAt"] = "2026-03-04T10:00:00Z"
    report = ws.sync(TrustpilotConnector(**options(api, lookback_days=1)))
    assert report.ok, str(report)
    # One day before the newest review: reviews 7 to 11, one page; nothing older is asked for.
    assert api.pages() == [("2026-03-03T03:00:00", "1")]
    stream = report.stream("reviews")
    assert stream.new == 1  # the reply
    assert stream.updated == 1  # review 10, whose updatedAt moved
    assert stream.unchanged == 4 + 1  # reviews 7, 8, 9, 11 and the reply to 9
    replies = ws.interactions(kind="reply", attributes=True)
    late = replies[replies["source_id"] == f"6a{10:022x}:reply"].iloc[0]
    assert late["text"] == "Sorry about that!"
    assert late["direction"] == "outbound"


def test_first_sync_starts_at_the_start_option(ws: cxm.Workspace) -> None:
    api = FakeTrustpilot()
    report = ws.sync(TrustpilotConnector(**options(api, start="2026-03-01T20:30:00+01:00")))
    assert report.ok, str(report)
    assert api.pages()[0] == ("2026-03-01T19:30:00", "1")
    assert report.stream("reviews").new == 6 + 2  # reviews 6..11 and the replies to 6 and 9


def test_checkpoint_after_every_page_holds_the_query() -> None:
    api = FakeTrustpilot()
    connector = TrustpilotConnector(**options(api, lookback_days=0))
    cursor = {"since": "2026-03-01T12:59:59Z"}
    items = list(connector.stream("reviews").read(cursor))
    checkpoints = [item.cursor for item in items if isinstance(item, Checkpoint)]
    assert checkpoints == [
        {
            "from": "2026-03-01T12:59:59",
            "page": {"page": 2},
            "newest": "2026-03-01T21:00:00.042000Z",
        },
        {"since": "2026-03-02T07:00:00.077000Z"},
    ]


def test_interrupted_sync_resumes_at_the_next_page_of_the_same_query(tmp_path: Path) -> None:
    api = FakeTrustpilot()
    ws = cxm.Workspace.open(tmp_path / "cxm.db")
    try:
        assert ws.sync(TrustpilotConnector(**options(api, lookback_days=0))).ok
        api.reviews += make_reviews(9, start=datetime(2026, 3, 8, tzinfo=UTC), prefix="7b")
        api.requests.clear()
        # Killed while reading the second page (5 reviews, a checkpoint, then one more).
        with contextlib.suppress(Interrupted):
            ws.sync(
                interrupted(TrustpilotConnector(**options(api, lookback_days=0)), 7), batch_size=1
            )
        cursor = ws.sync_state(TrustpilotConnector(**options(api)))["cursor"].iloc[0]
        assert cursor["from"] == "2026-03-02T07:00:00"
        assert cursor["page"] == {"page": 2}
        api.requests.clear()
        finished = ws.sync(TrustpilotConnector(**options(api, lookback_days=0)))
        assert finished.ok, str(finished)
        # The same query again, from page 2: nothing before it is read twice, nothing skipped.
        assert api.pages() == [("2026-03-02T07:00:00", "2")]
        ids = set(ws.interactions()["source_id"])
        assert {f"7b{i:022x}" for i in range(9)} <= ids
        assert len(ids) == (12 + 4) + (9 + 3)
    finally:
        ws.close()


def test_rate_limit_waits_retry_after_then_a_server_error_is_retried(ws: cxm.Workspace) -> None:
    api = FakeTrustpilot()
    slept: list[float] = []
    failures = iter([429, 503])

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/reviews"):
            status = next(failures, None)
            if status == 429:
                throttled = fault(
                    429, "Spike arrest violation", "policies.ratelimit.SpikeArrestViolation"
                )
                throttled.headers["Retry-After"] = "7"
                return throttled
            if status == 503:
                return httpx.Response(
                    503, json={"message": "Service Unavailable", "errorCode": 503}
                )
        return api(request)

    retry = RetryPolicy(attempts=3, sleep=slept.append, jitter=False)
    report = ws.sync(
        TrustpilotConnector(**options(api, transport=httpx.MockTransport(flaky), retry=retry))
    )
    assert report.ok, str(report)
    assert slept[0] == 7.0  # Retry-After honoured
    assert len(slept) == 2  # then one backoff after the 503
    assert len(ws.interactions()) == 12 + 4


@pytest.mark.parametrize("private", [False, True])
@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_raise_auth_error_without_a_secret(status: int, private: bool) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/accesstoken"):
            return httpx.Response(200, json={"access_token": ACCESS, "expires_in": "359999"})
        return fault(status, "Invalid ApiKey", "oauth.v2.InvalidApiKey")

    connector = TrustpilotConnector(
        **options(None, private=private, transport=httpx.MockTransport(refuse))
    )
    with pytest.raises(AuthError) as raised:
        connector.check()
    assert raised.value.connector == "trustpilot"
    assert raised.value.status == status
    assert "Invalid ApiKey" in str(raised.value)
    for secret in (API_KEY, API_SECRET, REFRESH, ACCESS, basic(API_KEY, API_SECRET)[6:]):
        assert secret not in str(raised.value)
        assert secret not in (raised.value.request or "")


def test_wrong_api_key_is_refused_by_the_fake_and_named_an_auth_error() -> None:
    connector = TrustpilotConnector(**options(FakeTrustpilot(), api_key="tp-wrong-key-000"))
    with pytest.raises(AuthError) as raised:
        connector.check()
    assert "tp-wrong-key-000" not in str(raised.value)


def test_refused_refresh_token_is_an_auth_error() -> None:
    connector = TrustpilotConnector(
        **options(FakeTrustpilot(), private=True, refresh_token="tp-revoked-refresh-1")
    )
    with pytest.raises(AuthError) as raised:
        connector.check()
    assert raised.value.connector == "trustpilot"
    assert "invalid_grant" in str(raised.value)
    assert "tp-revoked-refresh-1" not in str(raised.value)
    assert API_SECRET not in str(raised.value)


def test_check_reads_one_review() -> None:
    api = FakeTrustpilot()
    TrustpilotConnector(**options(api)).check()
    assert [dict(r.url.params) for r in api.requests] == [{"perPage": "1"}]


def test_unknown_business_unit_fails_check() -> None:
    connector = TrustpilotConnector(**options(FakeTrustpilot(), business_unit_id="0" * 24))
    with pytest.raises(cxm.ConnectorError) as raised:
        connector.check()
    assert raised.value.status == 404
    assert "Business unit not found" in str(raised.value)


def test_malformed_reviews_are_quarantined_and_the_rest_land(ws: cxm.Workspace) -> None:
    reviews = make_reviews(8)
    reviews[1]["stars"] = "five"  # mistyped
    reviews[2]["consumer"] = None  # missing
    reviews[4]["companyReply"] = {"text": "Thanks", "createdAt": "yesterday"}  # malformed
    reviews[5]["stars"] = 6  # off the scale
    api = FakeTrustpilot(reviews)
    report = ws.sync(TrustpilotConnector(**options(api)))
    stream = report.stream("reviews")
    assert stream.quarantined == 4, str(report)
    assert stream.new == 4 + 3  # reviews 0, 3, 6, 7 and the replies to 0, 3 and 6
    reasons = " ".join(ws.quarantined()["reason"])
    for field in (
        "trustpilot.stars",
        "trustpilot.consumer.id",
        "trustpilot.companyReply.createdAt",
    ):
        assert field in reasons, reasons
    assert ws.sync_state(TrustpilotConnector(**options(api)))["cursor"].iloc[0] == {
        "since": "2026-03-01T23:00:00.049000Z"
    }


def test_full_refresh_rereads_without_duplicates(ws: cxm.Workspace) -> None:
    api = FakeTrustpilot()
    ws.sync(TrustpilotConnector(**options(api, private=True)))
    count = len(ws.interactions())
    api.requests.clear()
    report = ws.sync(TrustpilotConnector(**options(api, private=True)), full_refresh=True)
    assert report.new == 0
    assert report.stream("reviews").unchanged == count == 12 + 4
    assert len(ws.interactions()) == count
    assert api.pages() == [(None, "1"), (None, "2"), (None, "3")]


def test_state_key_names_the_business_unit_and_holds_no_secret() -> None:
    connector = TrustpilotConnector(**options(FakeTrustpilot(), private=True))
    assert connector.state_key == f"trustpilot:{UNIT}"
    text = repr(connector)
    for secret in (API_KEY, API_SECRET, REFRESH):
        assert secret not in text


def test_oauth_needs_secret_and_refresh_token_together() -> None:
    with pytest.raises(ValidationError) as raised:
        TrustpilotConnector(**options(FakeTrustpilot(), client_secret=API_SECRET))
    assert raised.value.field == "trustpilot.refresh_token"
    assert API_SECRET not in str(raised.value)
