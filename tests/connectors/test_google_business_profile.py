"""The google-business-profile connector against a fake Business Profile API.

The fake answers are shaped on Google's published reference:

- https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews/list
  (``GET /v4/{parent=accounts/*/locations/*}/reviews``, ``pageSize`` at most 50, ``pageToken``,
  ``orderBy`` defaulting to ``updateTime desc``; answer ``{"reviews", "averageRating",
  "totalReviewCount", "nextPageToken"}``, the token absent on the last page)
- https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews
  (``Review``: ``name``, ``reviewId``, ``reviewer{profilePhotoUrl, displayName, isAnonymous}``,
  ``starRating`` ONE..FIVE, ``comment``, ``createTime``, ``updateTime`` RFC 3339,
  ``reviewReply{comment, updateTime}``)
- https://developers.google.com/identity/protocols/oauth2/web-server#offline (refresh-token
  grant at ``https://oauth2.googleapis.com/token``)
- https://cloud.google.com/apis/design/errors (error body ``{"error": {"code", "message",
  "status"}}``)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import httpx
import pytest

import cxm
from cxm.connectors import Checkpoint
from cxm.connectors.google_business_profile import GoogleBusinessProfileConnector
from cxm.connectors.http import RetryPolicy
from cxm.exceptions import AuthError
from cxm.testing import ConnectorContract, Interrupted, interrupted

BASE = "https://mybusiness.test/v4"
TOKEN_URL = "https://oauth2.test/token"
CLIENT_ID = "1234-app.apps.googleusercontent.com"
CLIENT_SECRET = "gbp-client-secret-77ab"
REFRESH = "1//gbp-refresh-token-c0ffee"
ACCESS = "ya29.gbp-access-token-beef"
LOCATIONS = ["accounts/111/locations/201", "accounts/111/locations/202"]
NO_WAIT = RetryPolicy(attempts=2, sleep=lambda seconds: None)
RATINGS = ["ONE", "TWO", "THREE", "FOUR", "FIVE"]


def make_reviews(location: str, count: int, *, day: int = 1) -> list[dict[str, Any]]:
    """``count`` reviews of a location, updated one hour apart; every third one answered."""
    loc = location.rsplit("/", 1)[-1]
    out = []
    for i in range(count):
        review_id = f"AIe9_{loc}_{i:03d}"
        created = f"2026-03-{day:02d}T{i % 24:02d}:00:00Z"
        updated = f"2026-03-{day:02d}T{i % 24:02d}:15:30.123456789Z"
        review: dict[str, Any] = {
            "name": f"{location}/reviews/{review_id}",
            "reviewId": review_id,
            "reviewer": {
                "profilePhotoUrl": f"https://lh3.googleusercontent.com/a/{i}",
                "displayName": f"Reviewer {i}",
                "isAnonymous": False,
            },
            "starRating": RATINGS[i % 5],
            "comment": f"Visit {i} at {loc}",
            "createTime": created,
            "updateTime": updated,
        }
        if i % 3 == 0:
            review["reviewReply"] = {
                "comment": f"Thanks for visiting, reviewer {i}",
                "updateTime": f"2026-03-{day:02d}T{i % 24:02d}:45:00Z",
            }
        if i % 7 == 6:
            review["reviewer"] = {"displayName": "A Google user", "isAnonymous": True}
            review.pop("comment")  # a rating without text
        out.append(review)
    return out


def google_error(status: int, reason: str) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": status, "message": reason, "status": reason}}
    )


class FakeGoogle:
    """The API: refresh-token grant, reviews newest first by updateTime, ``pageToken`` pages."""

    def __init__(self, reviews: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.reviews = (
            reviews
            if reviews is not None
            else {
                LOCATIONS[0]: make_reviews(LOCATIONS[0], 12),
                LOCATIONS[1]: make_reviews(LOCATIONS[1], 5),
            }
        )
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0

    def review_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/reviews")]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "oauth2.test":
            form = parse_qs(request.content.decode())
            if form.get("refresh_token") != [REFRESH] or form.get("client_secret") != [
                CLIENT_SECRET
            ]:
                return httpx.Response(
                    400, json={"error": "invalid_grant", "error_description": "Bad Request"}
                )
            self.tokens_issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": ACCESS,
                    "expires_in": 3599,
                    "scope": "https://www.googleapis.com/auth/business.manage",
                    "token_type": "Bearer",
                },
            )
        if request.headers.get("authorization") != f"Bearer {ACCESS}":
            return google_error(401, "UNAUTHENTICATED")
        path = request.url.path
        prefix = "/v4/"
        assert path.startswith(prefix), path
        assert path.endswith("/reviews"), path
        location = path[len(prefix) : -len("/reviews")]
        if location not in self.reviews:
            return google_error(404, "NOT_FOUND")
        size = min(int(request.url.params.get("pageSize", "50")), 50)
        start = int(request.url.params.get("pageToken", "0"))
        ordered = sorted(
            self.reviews[location], key=lambda r: r.get("updateTime", ""), reverse=True
        )
        page = ordered[start : start + size]
        body: dict[str, Any] = {
            "reviews": page,
            "averageRating": 3.4,
            "totalReviewCount": len(ordered),
        }
        if start + size < len(ordered):
            body["nextPageToken"] = str(start + size)
        if not page:
            body.pop("reviews")  # Google omits empty repeated fields
        return httpx.Response(200, json=body)


def options(api: Any, **more: Any) -> dict[str, Any]:
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH,
        "locations": LOCATIONS,
        "base_url": BASE,
        "token_url": TOKEN_URL,
        "page_size": 5,
        "transport": httpx.MockTransport(api),
        "retry": NO_WAIT,
        **more,
    }


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[cxm.Workspace]:
    workspace = cxm.Workspace.open(tmp_path / "cxm.db")
    yield workspace
    workspace.close()


class TestGoogleBusinessProfileContract(ConnectorContract):
    connector_class = GoogleBusinessProfileConnector
    invalid_options: ClassVar[list[tuple[dict[str, Any], str]]] = [
        ({"base_url": "ftp://google"}, "base_url"),
        ({"page_size": 51}, "page_size"),
        ({"locations": ["locations/201"]}, "locations"),
        ({"locations": []}, "locations"),
    ]

    def options(self, tmp_path: Path) -> dict[str, Any]:
        return options(FakeGoogle())

    def failing_options(self, tmp_path: Path, status: int) -> dict[str, Any]:
        def fail(request: httpx.Request) -> httpx.Response:
            if request.url.host == "oauth2.test":
                return httpx.Response(200, json={"access_token": ACCESS, "expires_in": 3599})
            return google_error(status, "FAILED")

        return {**self.options(tmp_path), "transport": httpx.MockTransport(fail)}


def test_reviews_replies_ratings_and_locations(ws: cxm.Workspace) -> None:
    api = FakeGoogle()
    report = ws.sync(GoogleBusinessProfileConnector(**options(api)))
    assert report.ok, str(report)
    frame = ws.interactions(attributes=True)
    reviews = frame[frame["kind"] == "review"]
    replies = frame[frame["kind"] == "reply"]
    assert len(reviews) == 12 + 5
    assert len(replies) == 4 + 2  # every third review of each location is answered
    assert set(replies["direction"]) == {"outbound"}
    assert set(reviews["direction"]) == {"inbound"}
    assert set(frame["touchpoint"]) == {"Google Business Profile"}
    assert set(frame["channel"]) == {"review_site"}
    assert "AIe9_201_000:reply" in set(replies["source_id"])
    feedback = ws.feedback()
    assert set(feedback["metric"]) == {"rating"}
    assert sorted(set(feedback["score"])) == [1, 2, 3, 4, 5]
    one = reviews[reviews["source_id"] == "AIe9_201_003"].iloc[0]
    assert one["text"] == "Visit 3 at 201"
    attributes = one["attributes"]
    assert attributes["location"] == LOCATIONS[0]
    assert attributes["location_id"] == "201"
    assert attributes["reviewer_name"] == "Reviewer 3"
    anonymous = reviews[reviews["source_id"] == "AIe9_201_006"].iloc[0]["attributes"]
    assert anonymous["reviewer_anonymous"] is True
    # Pages asked newest first, 5 a page, with the token Google gave.
    first = api.review_requests()[0]
    assert first.url.params["orderBy"] == "updateTime desc"
    assert first.url.params["pageSize"] == "5"
    tokens = [r.url.params.get("pageToken") for r in api.review_requests()]
    assert tokens == [None, "5", "10", None]  # 12 reviews: 3 pages; 5 reviews: 1 page
    assert api.tokens_issued == 1  # one access token for the whole sync
    state = ws.sync_state(GoogleBusinessProfileConnector(**options(api)))
    marks = state["cursor"].iloc[0]["locations"]
    assert marks == {
        LOCATIONS[0]: "2026-03-01T11:15:30.123456789Z",
        LOCATIONS[1]: "2026-03-01T04:15:30.123456789Z",
    }


def test_location_segments_the_ratings(ws: cxm.Workspace) -> None:
    ws.sync(GoogleBusinessProfileConnector(**options(FakeGoogle())))
    frame = ws.interactions(attributes=True)
    frame = frame[frame["kind"] == "review"]
    by_location = frame["attributes"].map(lambda a: a["location_id"]).value_counts().to_dict()
    assert by_location == {"201": 12, "202": 5}


def test_second_sync_stops_at_each_locations_mark(ws: cxm.Workspace) -> None:
    api = FakeGoogle()
    assert ws.sync(GoogleBusinessProfileConnector(**options(api))).ok
    api.requests.clear()
    # Two new reviews at the first location, none at the second.
    api.reviews[LOCATIONS[0]] += make_reviews(LOCATIONS[0], 2, day=5)
    api.reviews[LOCATIONS[0]][-1]["reviewId"] = "AIe9_new_1"
    api.reviews[LOCATIONS[0]][-2]["reviewId"] = "AIe9_new_0"
    second = ws.sync(GoogleBusinessProfileConnector(**options(api)))
    assert second.ok, str(second)
    assert second.stream("reviews").new == 2 + 1  # two reviews and the reply to one of them
    # One page per location, no second page: everything older was known.
    requested = api.review_requests()
    assert [r.url.path for r in requested] == [f"/v4/{loc}/reviews" for loc in LOCATIONS]
    assert all("pageToken" not in r.url.params for r in requested)
    third = ws.sync(GoogleBusinessProfileConnector(**options(api)))
    assert (third.new, third.updated) == (0, 0)


def test_edited_review_is_read_again_and_updated(ws: cxm.Workspace) -> None:
    api = FakeGoogle()
    ws.sync(GoogleBusinessProfileConnector(**options(api)))
    edited = api.reviews[LOCATIONS[1]][0]
    edited["starRating"] = "FIVE"
    edited["comment"] = "Changed my mind"
    edited["updateTime"] = "2026-04-01T10:00:00Z"
    report = ws.sync(GoogleBusinessProfileConnector(**options(api)))
    assert report.stream("reviews").updated == 1, str(report)
    feedback = ws.feedback()
    assert feedback[feedback["comment"] == "Changed my mind"]["score"].tolist() == [5]


def test_no_checkpoint_inside_a_locations_pass() -> None:
    connector = GoogleBusinessProfileConnector(**options(FakeGoogle()))
    items = list(connector.stream("reviews").read(None))
    checkpoints = [i for i, item in enumerate(items) if isinstance(item, Checkpoint)]
    # 12 reviews then the first location's mark, 5 reviews then both marks.
    assert checkpoints == [12, 18]
    assert set(items[12].cursor["locations"]) == {LOCATIONS[0]}


def test_interrupted_mid_pass_resumes_without_skipping_older_reviews(tmp_path: Path) -> None:
    api = FakeGoogle()
    ws = cxm.Workspace.open(tmp_path / "cxm.db")
    try:
        # First sync complete; then 8 new reviews arrive at the first location.
        assert ws.sync(GoogleBusinessProfileConnector(**options(api))).ok
        api.reviews[LOCATIONS[0]] += [
            {**review, "reviewId": f"new-{i}", "name": f"{LOCATIONS[0]}/reviews/new-{i}"}
            for i, review in enumerate(make_reviews(LOCATIONS[0], 8, day=9))
        ]
        before = ws.sync_state(GoogleBusinessProfileConnector(**options(api)))["cursor"].iloc[0]
        # Killed after the 3 newest of them were read (and stored: batch size 1).
        with contextlib.suppress(Interrupted):
            ws.sync(interrupted(GoogleBusinessProfileConnector(**options(api)), 3), batch_size=1)
        after = ws.sync_state(GoogleBusinessProfileConnector(**options(api)))["cursor"].iloc[0]
        # The mark did not move: the 5 older new reviews were not read yet.
        assert after == before
        finished = ws.sync(GoogleBusinessProfileConnector(**options(api)))
        assert finished.ok, str(finished)
        ids = set(ws.interactions()["source_id"])
        assert {f"new-{i}" for i in range(8)} <= ids
        assert len(ids) == (12 + 4) + (5 + 2) + (8 + 3)
    finally:
        ws.close()


def test_rate_limit_waits_retry_after_then_succeeds(ws: cxm.Workspace) -> None:
    api = FakeGoogle()
    slept: list[float] = []
    failures = iter([429, 503])

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/reviews"):
            status = next(failures, None)
            if status == 429:
                return httpx.Response(
                    429,
                    headers={"Retry-After": "7"},
                    json={
                        "error": {
                            "code": 429,
                            "message": "Quota exceeded",
                            "status": "RESOURCE_EXHAUSTED",
                        }
                    },
                )
            if status == 503:
                return google_error(503, "UNAVAILABLE")
        return api(request)

    retry = RetryPolicy(attempts=3, sleep=slept.append, jitter=False)
    report = ws.sync(
        GoogleBusinessProfileConnector(
            **options(api, transport=httpx.MockTransport(flaky), retry=retry)
        )
    )
    assert report.ok, str(report)
    assert slept[0] == 7.0  # Retry-After honoured
    assert len(slept) == 2  # then one backoff after the 503
    assert len(ws.interactions()) == 12 + 4 + 5 + 2


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_raise_auth_error_without_the_secret(status: int) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.host == "oauth2.test":
            return httpx.Response(200, json={"access_token": ACCESS, "expires_in": 3599})
        return google_error(status, "PERMISSION_DENIED")

    connector = GoogleBusinessProfileConnector(
        **options(None, transport=httpx.MockTransport(refuse))
    )
    with pytest.raises(AuthError) as raised:
        connector.check()
    assert raised.value.connector == "google-business-profile"
    for secret in (CLIENT_SECRET, REFRESH, ACCESS):
        assert secret not in str(raised.value)
        assert secret not in (raised.value.request or "")


def test_refused_refresh_token_is_an_auth_error() -> None:
    connector = GoogleBusinessProfileConnector(
        **options(FakeGoogle(), refresh_token="1//revoked-refresh-token")
    )
    with pytest.raises(AuthError) as raised:
        connector.check()
    assert "revoked-refresh-token" not in str(raised.value)


def test_malformed_review_is_quarantined_and_the_rest_land(ws: cxm.Workspace) -> None:
    reviews = make_reviews(LOCATIONS[0], 6)
    reviews[2].pop("createTime")  # a renamed field
    reviews[4]["starRating"] = "SIX"
    api = FakeGoogle({LOCATIONS[0]: reviews, LOCATIONS[1]: []})
    report = ws.sync(GoogleBusinessProfileConnector(**options(api)))
    stream = report.stream("reviews")
    assert stream.quarantined == 2, str(report)
    assert stream.new == 4 + 2  # reviews 0, 1, 3, 5 and the replies to 0 and 3
    reasons = " ".join(ws.quarantined()["reason"])
    assert "google-business-profile.createTime" in reasons
    assert "google-business-profile.starRating" in reasons


def test_full_refresh_rereads_without_duplicates(ws: cxm.Workspace) -> None:
    api = FakeGoogle()
    ws.sync(GoogleBusinessProfileConnector(**options(api)))
    count = len(ws.interactions())
    api.requests.clear()
    report = ws.sync(GoogleBusinessProfileConnector(**options(api)), full_refresh=True)
    assert report.new == 0
    assert report.stream("reviews").unchanged == count
    assert len(ws.interactions()) == count
    assert len(api.review_requests()) == 4  # every page again


def test_state_key_names_the_account_and_new_locations_start_from_scratch(
    ws: cxm.Workspace,
) -> None:
    api = FakeGoogle()
    one = GoogleBusinessProfileConnector(**options(api, locations=LOCATIONS[:1]))
    assert one.state_key == "google-business-profile:accounts/111"
    ws.sync(one)
    api.requests.clear()
    both = GoogleBusinessProfileConnector(**options(api))
    assert both.state_key == one.state_key
    report = ws.sync(both)
    assert report.stream("reviews").new == 5 + 2  # only the added location's reviews
    tokens = [(r.url.path, r.url.params.get("pageToken")) for r in api.review_requests()]
    assert tokens == [(f"/v4/{LOCATIONS[0]}/reviews", None), (f"/v4/{LOCATIONS[1]}/reviews", None)]


def test_built_in_and_synced_by_name(ws: cxm.Workspace) -> None:
    assert cxm.connectors.get("google-business-profile") is GoogleBusinessProfileConnector
    report = ws.sync("google-business-profile", **options(FakeGoogle()))
    assert report.ok
    assert report.new == 12 + 4 + 5 + 2
