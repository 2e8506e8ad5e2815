"""The HTTP toolkit against httpx.MockTransport: auth, retries, rate limits, paging, redaction."""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cxm
from cxm.connectors import Secret
from cxm.connectors.http import (
    IDEMPOTENT_METHODS,
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    HttpClient,
    JsonCursorPaginator,
    KeysetWindow,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OAuth2ClientCredentials,
    OAuth2RefreshToken,
    OffsetPaginator,
    PageNumberPaginator,
    Paginator,
    RateLimiter,
    RetryPolicy,
    SinglePage,
    parse_retry_after,
    redact_text,
    redact_url,
)
from cxm.exceptions import (
    AuthError,
    ConnectorError,
    RateLimitedError,
    UpstreamError,
    ValidationError,
)

BASE = "https://api.example.com"
TOKEN_URL = "https://auth.example.com/oauth/token"
Handler = Callable[[httpx.Request], httpx.Response]


class Api:
    """A MockTransport handler that records every request it answers."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        # A copy: auth flows change the request object in place when they send it again.
        self.requests.append(
            httpx.Request(
                request.method,
                request.url,
                headers=request.headers.copy(),
                content=request.content,
                extensions=dict(request.extensions),
            )
        )
        return self.handler(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def to(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


def sequence(*responses: httpx.Response | Exception) -> Handler:
    """A handler answering with each response in turn (raising the exceptions)."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler


class Sleeps(list[float]):
    """Stands in for time.sleep: records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def policy(sleeps: Sleeps, **options: Any) -> RetryPolicy:
    options.setdefault("jitter", False)
    return RetryPolicy(sleep=sleeps, **options)


@pytest.fixture
def make_client(sleeps: Sleeps) -> Iterator[Callable[..., HttpClient]]:
    clients: list[HttpClient] = []

    def make(api: Api, **options: Any) -> HttpClient:
        options.setdefault("retry", policy(sleeps))
        options.setdefault("connector", "helpdesk")
        client = HttpClient(BASE, transport=api.transport, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def form(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}


# -- auth ---------------------------------------------------------------------------------------


def test_bearer_auth_sends_the_token_and_hides_it(make_client: Any) -> None:
    api = Api(lambda r: httpx.Response(200, json={}))
    auth = BearerAuth("tok-bearer-123")
    make_client(api, auth=auth).get("/v1/me")
    assert api.requests[0].headers["Authorization"] == "Bearer tok-bearer-123"
    assert isinstance(auth.token, Secret)
    assert "tok-bearer-123" not in repr(auth)


def test_api_key_in_a_header_with_a_prefix(make_client: Any) -> None:
    api = Api(lambda r: httpx.Response(200, json={}))
    make_client(api, auth=ApiKeyAuth("k-1", header="Authorization", prefix="Token ")).get("/x")
    assert api.requests[0].headers["Authorization"] == "Token k-1"
    assert "k-1" not in str(api.requests[0].url)


def test_api_key_in_the_query_replaces_any_value_already_there(make_client: Any) -> None:
    api = Api(lambda r: httpx.Response(200, json={}))
    client = make_client(api, auth=ApiKeyAuth("k-2", query="api_key"))
    client.get("/x", params={"page": 2, "api_key": "stale"})
    assert api.requests[0].url.params.get_list("api_key") == ["k-2"]
    assert api.requests[0].url.params["page"] == "2"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({}, "ApiKeyAuth.header"),
        ({"header": "X-Key", "query": "key"}, "ApiKeyAuth.header"),
        ({"query": "key", "prefix": "Token "}, "ApiKeyAuth.prefix"),
    ],
)
def test_api_key_auth_needs_exactly_one_place(options: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ApiKeyAuth("k", **options)
    assert caught.value.field == field


def test_an_empty_credential_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as caught:
        BearerAuth("")
    assert caught.value.field == "BearerAuth.token"


def test_basic_auth_and_a_username_password_pair(make_client: Any) -> None:
    api = Api(lambda r: httpx.Response(200, json={}))
    make_client(api, auth=BasicAuth("agent@example.com", "pw-9")).get("/x")
    make_client(api, auth=("agent@example.com", "pw-9")).get("/x")
    expected = "Basic " + base64.b64encode(b"agent@example.com:pw-9").decode()
    assert [r.headers["Authorization"] for r in api.requests] == [expected, expected]


class TokenServer:
    """An OAuth 2 token endpoint in front of an API that accepts only the last token issued."""

    def __init__(self, *, expires_in: int | None = 3600, rotate: bool = False) -> None:
        self.expires_in = expires_in
        self.rotate = rotate
        self.issued: list[str] = []
        self.refresh_tokens_seen: list[str] = []
        self.revoked: set[str] = set()
        self.token_answer: Callable[[httpx.Request], httpx.Response] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            if self.token_answer is not None:
                return self.token_answer(request)
            fields = form(request)
            if "refresh_token" in fields:
                self.refresh_tokens_seen.append(fields["refresh_token"])
            token = f"access-{len(self.issued) + 1}-xyz"
            self.issued.append(token)
            answer: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
            if self.expires_in is not None:
                answer["expires_in"] = self.expires_in
            if self.rotate:
                answer["refresh_token"] = f"refresh-{len(self.issued) + 1}-abc"
            return httpx.Response(200, json=answer)
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if presented in self.revoked or presented not in self.issued:
            return httpx.Response(401, json={"error": "invalid_token"})
        return httpx.Response(200, json={"ok": True, "token": presented})


def test_client_credentials_token_is_fetched_lazily_once_and_cached(make_client: Any) -> None:
    server = TokenServer()
    api = Api(server)
    auth = OAuth2ClientCredentials(
        TOKEN_URL, "app-1", "cs-secret-1", scope="tickets:read", audience="https://api"
    )
    client = make_client(api, auth=auth)
    assert api.requests == []
    for _ in range(3):
        client.get("/v1/tickets")
    token_requests = [r for r in api.requests if str(r.url) == TOKEN_URL]
    assert len(token_requests) == 1
    assert form(token_requests[0]) == {
        "grant_type": "client_credentials",
        "client_id": "app-1",
        "client_secret": "cs-secret-1",
        "scope": "tickets:read",
        "audience": "https://api",
    }
    assert [r.headers["Authorization"] for r in api.to("/v1/tickets")] == [
        "Bearer access-1-xyz"
    ] * 3


def test_client_credentials_in_a_basic_header(make_client: Any) -> None:
    api = Api(TokenServer())
    auth = OAuth2ClientCredentials(TOKEN_URL, "app-1", "cs-secret-1", client_auth="basic")
    make_client(api, auth=auth).get("/v1/tickets")
    token_request = api.requests[0]
    assert "client_secret" not in form(token_request)
    expected = base64.b64encode(b"app-1:cs-secret-1").decode()
    assert token_request.headers["Authorization"] == f"Basic {expected}"


def test_the_token_is_renewed_a_margin_before_it_expires(make_client: Any) -> None:
    now = [1000.0]
    api = Api(TokenServer(expires_in=600))
    auth = OAuth2ClientCredentials(TOKEN_URL, "app", "cs", expiry_margin=60, clock=lambda: now[0])
    client = make_client(api, auth=auth)
    client.get("/v1/a")
    now[0] += 539  # 600 - 60 - 1: still good
    client.get("/v1/a")
    now[0] += 2  # past expires_in - margin
    client.get("/v1/a")
    used = [r.headers["Authorization"] for r in api.to("/v1/a")]
    assert used == ["Bearer access-1-xyz", "Bearer access-1-xyz", "Bearer access-2-xyz"]


def test_a_401_on_a_cached_token_refreshes_once_and_repeats_the_request(
    make_client: Any,
) -> None:
    server = TokenServer()
    api = Api(server)
    client = make_client(api, auth=OAuth2ClientCredentials(TOKEN_URL, "app", "cs"))
    client.get("/v1/a")
    server.revoked.add("access-1-xyz")
    answer = client.get("/v1/a")
    assert answer.json() == {"ok": True, "token": "access-2-xyz"}
    assert [r.headers["Authorization"] for r in api.to("/v1/a")] == [
        "Bearer access-1-xyz",
        "Bearer access-1-xyz",
        "Bearer access-2-xyz",
    ]


def test_a_401_on_a_fresh_token_is_an_auth_error_without_a_loop(make_client: Any) -> None:
    server = TokenServer()
    api = Api(server)
    server.revoked.add("access-1-xyz")
    client = make_client(api, auth=OAuth2ClientCredentials(TOKEN_URL, "app", "cs"))
    with pytest.raises(AuthError) as caught:
        client.get("/v1/a", stream="tickets")
    assert caught.value.status == 401
    assert len(api.requests) == 2  # one token, one API call


def test_a_refused_client_secret_is_an_auth_error_naming_the_oauth_error(
    make_client: Any,
) -> None:
    server = TokenServer()
    server.token_answer = lambda r: httpx.Response(
        401,
        json={"error": "invalid_client", "error_description": "bad secret cs-refused-7"},
    )
    api = Api(server)
    client = make_client(api, auth=OAuth2ClientCredentials(TOKEN_URL, "app", "cs-refused-7"))
    with pytest.raises(AuthError) as caught:
        client.get("/v1/a", stream="tickets")
    error = caught.value
    assert (error.connector, error.stream, error.status) == ("helpdesk", "tickets", 401)
    assert error.request == f"POST {TOKEN_URL}"
    assert "invalid_client: bad secret [REDACTED]" in str(error)
    assert "cs-refused-7" not in str(error)
    assert len(api.requests) == 1


def test_a_token_endpoint_outage_is_retried_then_an_upstream_error(
    make_client: Any, sleeps: Sleeps
) -> None:
    server = TokenServer()
    server.token_answer = lambda r: httpx.Response(503, text="maintenance")
    api = Api(server)
    client = make_client(
        api, auth=OAuth2ClientCredentials(TOKEN_URL, "app", "cs"), retry=policy(sleeps, attempts=3)
    )
    with pytest.raises(UpstreamError) as caught:
        client.request("POST", "/v1/search", json={"q": "x"})
    assert not isinstance(caught.value, AuthError)
    assert caught.value.status == 503
    assert len(api.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_a_token_endpoint_that_cannot_be_reached_is_retried(
    make_client: Any, sleeps: Sleeps
) -> None:
    server = TokenServer()
    failures = [httpx.ConnectError("refused")]

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL and failures:
            raise failures.pop()
        return server(request)

    api = Api(handler)
    client = make_client(api, auth=OAuth2ClientCredentials(TOKEN_URL, "app", "cs"))
    # The token lock was released by the failed fetch: the retry fetches and succeeds.
    assert client.get("/v1/a").json()["token"] == "access-1-xyz"
    assert [str(r.url) for r in api.requests] == [TOKEN_URL, TOKEN_URL, f"{BASE}/v1/a"]
    assert sleeps == [0.5]


def test_a_token_answer_without_an_access_token_is_an_auth_error(make_client: Any) -> None:
    server = TokenServer()
    server.token_answer = lambda r: httpx.Response(200, json={"token_type": "Bearer"})
    client = make_client(Api(server), auth=OAuth2ClientCredentials(TOKEN_URL, "app", "cs"))
    with pytest.raises(AuthError, match="without an access_token"):
        client.get("/v1/a")


def test_a_rotated_refresh_token_is_kept_and_handed_to_on_refresh(make_client: Any) -> None:
    now = [0.0]
    server = TokenServer(expires_in=120, rotate=True)
    stored: list[Secret] = []
    auth = OAuth2RefreshToken(
        TOKEN_URL, "app", "cs", "refresh-1-abc", on_refresh=stored.append, clock=lambda: now[0]
    )
    client = make_client(Api(server), auth=auth)
    client.get("/v1/a")
    now[0] += 3600
    client.get("/v1/a")
    assert server.refresh_tokens_seen == ["refresh-1-abc", "refresh-2-abc"]
    assert [secret.reveal() for secret in stored] == ["refresh-2-abc", "refresh-3-abc"]
    assert auth.refresh_token == Secret("refresh-3-abc")


def test_threads_sharing_an_oauth_client_fetch_one_token(make_client: Any) -> None:
    server = TokenServer()

    def slow_token_endpoint(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            time.sleep(0.05)  # keep the fetch in flight while the other threads arrive
        return server(request)

    api = Api(slow_token_endpoint)
    client = make_client(api, auth=OAuth2ClientCredentials(TOKEN_URL, "app", "cs"))
    threads = [threading.Thread(target=client.get, args=("/v1/a",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.issued == ["access-1-xyz"]
    assert len(api.to("/v1/a")) == 8


def test_oauth_auth_refuses_the_async_client() -> None:
    auth = OAuth2ClientCredentials(TOKEN_URL, "app", "cs")
    with pytest.raises(NotImplementedError, match=r"httpx\.Client only"):
        auth.async_auth_flow(httpx.Request("GET", BASE))


# -- retries ------------------------------------------------------------------------------------


def test_5xx_is_retried_with_exponential_backoff(make_client: Any, sleeps: Sleeps) -> None:
    api = Api(sequence(httpx.Response(503), httpx.Response(502), httpx.Response(200, json=[])))
    assert make_client(api).get("/x").status_code == 200
    assert len(api.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_the_backoff_ceiling_is_capped(make_client: Any, sleeps: Sleeps) -> None:
    api = Api(sequence(httpx.Response(500)))
    client = make_client(api, retry=policy(sleeps, attempts=4, multiplier=10, max_backoff=3))
    with pytest.raises(UpstreamError):
        client.get("/x")
    assert sleeps == [0.5, 3.0, 3.0]


def test_full_jitter_draws_each_delay_below_its_ceiling(make_client: Any, sleeps: Sleeps) -> None:
    api = Api(sequence(httpx.Response(500)))
    client = make_client(api, retry=policy(sleeps, jitter=True, rng=random.Random(7)))
    with pytest.raises(UpstreamError):
        client.get("/x")
    twin = random.Random(7)
    assert sleeps == [twin.uniform(0, ceiling) for ceiling in (0.5, 1.0, 2.0, 4.0)]
    assert len(set(sleeps)) == 4


def test_a_huge_retry_count_does_not_overflow() -> None:
    assert RetryPolicy(jitter=False, max_backoff=9).backoff_delay(5000) == 9


def test_retry_after_in_seconds_replaces_the_backoff(make_client: Any, sleeps: Sleeps) -> None:
    api = Api(
        sequence(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={}))
    )
    make_client(api).get("/x")
    assert sleeps == [7.0]


def test_retry_after_as_a_date_is_measured_against_the_servers_date(
    make_client: Any, sleeps: Sleeps
) -> None:
    server_now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    headers = {
        "Date": format_datetime(server_now, usegmt=True),
        "Retry-After": format_datetime(server_now + timedelta(seconds=42), usegmt=True),
    }
    api = Api(sequence(httpx.Response(503, headers=headers), httpx.Response(200, json={})))
    # The client's clock is an hour off; the server's own Date decides.
    client = make_client(api, retry=policy(sleeps, clock=lambda: server_now.timestamp() + 3600))
    client.get("/x")
    assert sleeps == [42.0]


def test_retry_after_as_a_date_without_a_date_header_uses_the_clock(
    make_client: Any, sleeps: Sleeps
) -> None:
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    api = Api(sequence(httpx.Response(429, headers={"Retry-After": later}), httpx.Response(200)))
    make_client(api, retry=policy(sleeps, clock=lambda: now.timestamp() + 30)).get("/x")
    assert sleeps == [60.0]


def test_a_retry_after_beyond_the_cap_gives_up_at_once(make_client: Any, sleeps: Sleeps) -> None:
    api = Api(sequence(httpx.Response(429, headers={"Retry-After": "3600"}, text="slow down")))
    client = make_client(api, retry=policy(sleeps, max_retry_after=300))
    with pytest.raises(RateLimitedError) as caught:
        client.get("/x", stream="reviews")
    assert caught.value.retry_after == 3600
    assert "longer than max_retry_after=300 s" in str(caught.value)
    assert "slow down" in str(caught.value)
    assert len(api.requests) == 1
    assert sleeps == []


def test_429_after_every_attempt_is_rate_limited_with_retry_after(
    make_client: Any, sleeps: Sleeps
) -> None:
    api = Api(sequence(httpx.Response(429, headers={"Retry-After": "2"})))
    client = make_client(api, retry=policy(sleeps, attempts=3))
    with pytest.raises(RateLimitedError) as caught:
        client.get("/x", stream="reviews")
    error = caught.value
    assert (error.status, error.retry_after, error.stream) == (429, 2.0, "reviews")
    assert "after 3 attempts" in str(error)
    assert sleeps == [2.0, 2.0]


def test_post_is_not_retried_on_5xx_unless_opted_in(make_client: Any, sleeps: Sleeps) -> None:
    api = Api(sequence(httpx.Response(503), httpx.Response(200, json={})))
    with pytest.raises(UpstreamError):
        make_client(api).request("POST", "/v1/tickets", json={"subject": "x"})
    assert len(api.requests) == 1

    api = Api(sequence(httpx.Response(503), httpx.Response(200, json={})))
    opted = policy(sleeps, methods=IDEMPOTENT_METHODS | {"post"})
    make_client(api, retry=opted).request("POST", "/v1/tickets", json={"subject": "x"})
    assert len(api.requests) == 2
    assert json.loads(api.requests[1].content) == {"subject": "x"}


def test_post_is_retried_on_429_since_the_server_did_not_act(make_client: Any) -> None:
    api = Api(sequence(httpx.Response(429), httpx.Response(201, json={"id": 5})))
    answer = make_client(api).request("POST", "/v1/tickets", json={"subject": "x"})
    assert answer.status_code == 201
    assert len(api.requests) == 2


def test_transport_errors_are_retried_then_an_upstream_error(
    make_client: Any, sleeps: Sleeps
) -> None:
    api = Api(sequence(httpx.ReadTimeout("timed out")))
    client = make_client(api, retry=policy(sleeps, attempts=3))
    with pytest.raises(UpstreamError) as caught:
        client.get("/v1/x", stream="tickets")
    error = caught.value
    assert isinstance(error.__cause__, httpx.ReadTimeout)
    assert error.status is None
    assert "ReadTimeout after 3 attempts: timed out" in str(error)
    assert sleeps == [0.5, 1.0]


def test_a_read_timeout_on_post_is_not_retried_but_a_connect_error_is(make_client: Any) -> None:
    api = Api(sequence(httpx.ReadTimeout("timed out"), httpx.Response(200, json={})))
    with pytest.raises(UpstreamError):
        make_client(api).request("POST", "/v1/tickets", json={})
    assert len(api.requests) == 1

    api = Api(sequence(httpx.ConnectError("refused"), httpx.Response(200, json={})))
    assert make_client(api).request("POST", "/v1/tickets", json={}).status_code == 200
    assert len(api.requests) == 2


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, ConnectorError),
        (401, AuthError),
        (403, AuthError),
        (404, ConnectorError),
        (422, ConnectorError),
        (500, UpstreamError),
        (501, UpstreamError),
        (503, UpstreamError),
        (429, RateLimitedError),
    ],
)
def test_status_codes_map_to_errors(
    make_client: Any, sleeps: Sleeps, status: int, error_type: type[ConnectorError]
) -> None:
    api = Api(sequence(httpx.Response(status, json={"message": f"reason {status}"})))
    with pytest.raises(ConnectorError) as caught:
        make_client(api).get("/v1/items", params={"page": 2}, stream="items")
    error = caught.value
    assert type(error) is error_type
    assert (error.connector, error.stream, error.status) == ("helpdesk", "items", status)
    assert error.request == f"GET {BASE}/v1/items?page=2"
    assert f"reason {status}" in str(error)
    assert isinstance(error.__cause__, httpx.HTTPStatusError)
    assert error.__cause__.response.status_code == status
    retried = status in RetryPolicy().statuses
    assert len(api.requests) == (5 if retried else 1)


def test_the_error_body_excerpt_is_short(make_client: Any) -> None:
    api = Api(sequence(httpx.Response(400, text="why " * 500)))
    with pytest.raises(ConnectorError) as caught:
        make_client(api).get("/x")
    excerpt = caught.value.message.split(": ", 1)[1]
    assert excerpt.startswith("why why")
    assert len(excerpt) == 200
    assert excerpt.endswith("…")


def test_each_retry_logs_a_warning_with_its_delay(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    api = Api(sequence(httpx.Response(503), httpx.Response(200, json={})))
    with caplog.at_level(logging.WARNING, logger="cxm.connectors.http"):
        make_client(api).get("/v1/x", stream="tickets")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        f"helpdesk/tickets: GET {BASE}/v1/x -> 503; retrying in 0.50 s (attempt 2 of 5)"
    ]


def test_each_request_logs_a_debug_line(make_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    api = Api(lambda r: httpx.Response(200, json={}))
    with caplog.at_level(logging.DEBUG, logger="cxm.connectors.http"):
        make_client(api).get("/v1/x", params={"q": "a"})
    lines = [r.getMessage() for r in caplog.records if r.name == "cxm.connectors.http"]
    assert len(lines) == 1
    assert lines[0].startswith(f"helpdesk: GET {BASE}/v1/x?q=a -> 200 in ")
    assert lines[0].endswith(" ms")


# -- Retry-After parsing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # RFC 850
        "Sun Nov  6 08:49:37 1994",  # asctime
    ],
)
def test_retry_after_reads_every_http_date_form(header: str) -> None:
    now = datetime(1994, 11, 6, 8, 49, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == 37.0


@pytest.mark.parametrize("header", ["", "soon", "-5", "1e9", "Mon, 99 Foo 2020", "12 s"])
def test_unreadable_retry_after_is_none(header: str) -> None:
    assert parse_retry_after(header, now=0.0) is None


@given(st.integers(min_value=0, max_value=10**9))
def test_retry_after_seconds_round_trip(seconds: int) -> None:
    assert parse_retry_after(str(seconds)) == float(seconds)


@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda moment: moment.replace(microsecond=0)),
    st.integers(min_value=-(10**6), max_value=10**6),
)
def test_retry_after_dates_give_the_seconds_until_them(now: datetime, offset: int) -> None:
    header = format_datetime(now + timedelta(seconds=offset), usegmt=True)
    assert parse_retry_after(header, now=now) == max(0, offset)
    assert parse_retry_after(header, now=0.0, date=format_datetime(now, usegmt=True)) == max(
        0, offset
    )


@given(st.text(max_size=40))
def test_retry_after_never_raises_and_never_goes_negative(header: str) -> None:
    delay = parse_retry_after(header, now=0.0)
    assert delay is None or delay >= 0


# -- rate limiting ------------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_bucket_spaces_requests_after_the_burst() -> None:
    fake = FakeTime()
    limiter = RateLimiter(4, burst=3, clock=fake.clock, sleep=fake.sleep)
    waits = [limiter.acquire() for _ in range(6)]
    assert waits == [0.0, 0.0, 0.0, 0.25, 0.25, 0.25]
    fake.now += 100  # a quiet spell refills the bucket, but only up to the burst
    assert [limiter.acquire() for _ in range(4)] == [0.0, 0.0, 0.0, 0.25]


def test_threads_sharing_a_limiter_get_distinct_slots() -> None:
    slept: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            slept.append(seconds)

    limiter = RateLimiter(10, clock=lambda: 0.0, sleep=record)
    threads = [
        threading.Thread(target=lambda: [limiter.acquire() for _ in range(5)]) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(round(s, 9) for s in slept) == [round(0.1 * i, 9) for i in range(1, 20)]


def test_the_client_waits_for_the_limiter_before_each_request(make_client: Any) -> None:
    fake = FakeTime()
    api = Api(lambda r: httpx.Response(200, json={}))
    limiter = RateLimiter(2, clock=fake.clock, sleep=fake.sleep)
    client = make_client(api, rate_limit=limiter)
    for _ in range(3):
        client.get("/x")
    assert fake.slept == [0.5, 0.5]
    assert len(api.requests) == 3


def test_a_number_as_rate_limit_builds_a_limiter(make_client: Any) -> None:
    client = make_client(Api(lambda r: httpx.Response(200)), rate_limit=5)
    assert isinstance(client.rate_limiter, RateLimiter)
    assert client.rate_limiter.per_second == 5


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (True, 1), ("5", 1), (1, 0)])
def test_a_bad_rate_is_refused(rate: Any, burst: Any) -> None:
    with pytest.raises(ValidationError):
        RateLimiter(rate, burst=burst)


@pytest.mark.parametrize("options", [{"attempts": 0}, {"backoff": -1}, {"multiplier": 0.5}])
def test_a_bad_retry_policy_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValidationError) as caught:
        RetryPolicy(**options)  # type: ignore[arg-type]
    assert caught.value.field == f"RetryPolicy.{next(iter(options))}"


# -- paginators ---------------------------------------------------------------------------------

RECORDS = [{"id": n} for n in range(1, 24)]  # 23 records: pages of 5 leave a short last page


def paged_api(style: str, records: list[dict[str, int]] = RECORDS, size: int = 5) -> Handler:
    """One fake API per paging style, each shaped like a vendor's."""
    pages = [records[i : i + size] for i in range(0, len(records), size)]

    def handler(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if style == "page":
            index = int(params.get("page", "1")) - 1
            chunk = pages[index] if index < len(pages) else []
            return httpx.Response(200, json={"data": chunk, "meta": {"pages": len(pages)}})
        if style == "offset":
            offset, limit = int(params["offset"]), int(params["limit"])
            return httpx.Response(
                200, json={"results": records[offset : offset + limit], "total": len(records)}
            )
        index = int(params.get("cursor", params.get("after", "c0"))[1:])
        has_next = index + 1 < len(pages)
        if style == "cursor":
            nxt = f"c{index + 1}" if has_next else None
            return httpx.Response(200, json={"items": pages[index], "meta": {"next_cursor": nxt}})
        link = f"/v1/items?after=c{index + 1}" if has_next else None
        if style == "next-url":
            return httpx.Response(200, json={"items": pages[index], "links": {"next": link}})
        headers = {"Link": f'<{BASE}{link}>; rel="next"'} if link else {}
        return httpx.Response(200, json=pages[index], headers=headers)

    return handler


STYLES: dict[str, tuple[Callable[[], Paginator], str | None]] = {
    "page": (lambda: PageNumberPaginator(total_pages="meta.pages"), "data"),
    "offset": (lambda: OffsetPaginator(limit=5, total="total"), "results"),
    "cursor": (lambda: JsonCursorPaginator("meta.next_cursor", "cursor"), "items"),
    "next-url": (lambda: NextUrlPaginator("links.next"), "items"),
    "link": (LinkHeaderPaginator, None),
}


@pytest.mark.parametrize("style", list(STYLES))
def test_every_paginator_reads_every_record_once(make_client: Any, style: str) -> None:
    paginator, items = STYLES[style]
    api = Api(paged_api(style))
    pages = list(make_client(api).paginate("/v1/items", paginator=paginator(), items=items))
    assert [item for page in pages for item in page.items] == RECORDS
    assert [page.number for page in pages] == [1, 2, 3, 4, 5]
    assert len(api.requests) == 5
    assert pages[-1].cursor["done"] is True
    assert all("done" not in page.cursor for page in pages[:-1])
    json.dumps([page.cursor for page in pages])  # every cursor fits in a Checkpoint


@settings(max_examples=40, deadline=None)
@given(
    style=st.sampled_from(list(STYLES)),
    count=st.integers(min_value=1, max_value=30),
    size=st.integers(min_value=1, max_value=7),
    data=st.data(),
)
def test_resuming_from_any_page_cursor_reads_exactly_the_rest(
    style: str, count: int, size: int, data: st.DataObject
) -> None:
    records = [{"id": n} for n in range(count)]
    factory, items = STYLES[style]
    paginator = factory()
    if isinstance(paginator, OffsetPaginator):
        paginator = OffsetPaginator(limit=size, total="total")
    api = Api(paged_api(style, records, size))
    with HttpClient(BASE, transport=api.transport, retry=RetryPolicy(attempts=1)) as client:
        full = list(client.paginate("/v1/items", paginator=paginator, items=items))
        stop = data.draw(st.integers(min_value=0, max_value=len(full) - 1))
        cursor = json.loads(json.dumps(full[stop].cursor))  # as a checkpoint stores it
        rest = list(client.paginate("/v1/items", paginator=paginator, items=items, resume=cursor))
    read = [item for page in full[: stop + 1] + rest for item in page.items]
    assert read == records
    assert len(rest) == len(full) - stop - 1


def test_page_numbers_stop_on_an_empty_page_and_send_the_page_size(make_client: Any) -> None:
    api = Api(paged_api("page"))
    pager = PageNumberPaginator(page_size=5, size_param="per_page")
    pages = list(make_client(api).paginate("/v1/items", paginator=pager, items="data"))
    assert [dict(r.url.params) for r in api.requests] == [
        {"page": str(n), "per_page": "5"} for n in range(1, 7)
    ]
    assert [len(page.items) for page in pages] == [5, 5, 5, 5, 3, 0]


def test_page_numbers_may_start_at_zero(make_client: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["p"])
        return httpx.Response(200, json={"data": [page] if page < 2 else []})

    api = Api(handler)
    pages = list(
        make_client(api).paginate("/x", paginator=PageNumberPaginator("p", start=0), items="data")
    )
    assert [r.url.params["p"] for r in api.requests] == ["0", "1", "2"]
    assert len(pages) == 3


def test_offsets_advance_by_what_the_server_sent_not_by_the_limit(make_client: Any) -> None:
    def capped(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"rows": RECORDS[offset : offset + 4]})  # caps at 4

    api = Api(capped)
    pages = list(make_client(api).paginate("/x", paginator=OffsetPaginator(limit=10), items="rows"))
    assert [r.url.params["offset"] for r in api.requests] == ["0", "4", "8", "12", "16", "20", "23"]
    assert [item for page in pages for item in page.items] == RECORDS


def test_the_first_cursor_request_has_no_cursor(make_client: Any) -> None:
    api = Api(paged_api("cursor"))
    list(make_client(api).paginate("/v1/items", paginator=JsonCursorPaginator(), items="items"))
    assert "cursor" not in api.requests[0].url.params
    assert [r.url.params["cursor"] for r in api.requests[1:]] == ["c1", "c2", "c3", "c4"]


def test_a_cursor_with_has_more_false_ends_the_pagination(make_client: Any) -> None:
    api = Api(lambda r: httpx.Response(200, json={"data": [1], "next": "same", "has_more": False}))
    pager = JsonCursorPaginator("next", "starting_after", has_more="has_more")
    assert len(list(make_client(api).paginate("/x", paginator=pager, items="data"))) == 1


def test_next_urls_carry_their_own_query(make_client: Any) -> None:
    api = Api(paged_api("next-url"))
    pages = make_client(api).paginate(
        "/v1/items", paginator=NextUrlPaginator(), params={"status": "open"}, items="items"
    )
    list(pages)
    assert str(api.requests[0].url) == f"{BASE}/v1/items?status=open"
    assert str(api.requests[1].url) == f"{BASE}/v1/items?after=c1"


def test_link_headers_with_several_relations(make_client: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":
            return httpx.Response(200, json=[2], headers={"Link": f'<{BASE}/x>; rel="first"'})
        link = f'<{BASE}/x?page=2>; rel="next last", <{BASE}/x>; rel="first"'
        return httpx.Response(200, json=[1], headers={"Link": link})

    pages = list(make_client(Api(handler)).paginate("/x", paginator=LinkHeaderPaginator()))
    assert [page.items for page in pages] == [[1], [2]]


def test_single_page(make_client: Any) -> None:
    api = Api(lambda r: httpx.Response(200, json={"survey": {"id": 1}}))
    pages = list(
        make_client(api).paginate("/x", paginator=SinglePage(), items=lambda body: [body["survey"]])
    )
    assert [page.items for page in pages] == [[{"id": 1}]]
    assert pages[0].cursor == {"done": True}


def test_resuming_a_finished_pagination_reads_nothing(make_client: Any) -> None:
    api = Api(paged_api("cursor"))
    pages = make_client(api).paginate(
        "/v1/items",
        paginator=JsonCursorPaginator(),
        items="items",
        resume={"cursor": None, "done": True},
    )
    assert list(pages) == []
    assert api.requests == []


def test_the_paginator_given_is_not_used_up(make_client: Any) -> None:
    api = Api(paged_api("page"))
    pager = PageNumberPaginator(total_pages="meta.pages")
    client = make_client(api)
    first = list(client.paginate("/v1/items", paginator=pager, items="data"))
    second = list(client.paginate("/v1/items", paginator=pager, items="data"))
    assert len(first) == len(second) == 5
    assert pager.page == 1
    assert pager.has_next


@pytest.mark.parametrize(
    ("paginator", "token"),
    [
        (PageNumberPaginator(), {"cursor": "x"}),
        (PageNumberPaginator(start=1), {"page": 0}),
        (OffsetPaginator(), {"offset": -1}),
        (JsonCursorPaginator(), {"cursor": ["x"]}),
        (NextUrlPaginator(), {"page": 2}),
        (PageNumberPaginator(), "page=2"),
    ],
)
def test_a_resume_token_of_another_kind_is_refused(
    make_client: Any, paginator: Paginator, token: Any
) -> None:
    with pytest.raises(ValidationError) as caught:
        make_client(Api(paged_api("page"))).paginate("/x", paginator=paginator, resume=token)
    assert caught.value.field == f"{type(paginator).__name__}.resume"


def test_a_server_repeating_its_next_cursor_is_stopped(make_client: Any) -> None:
    api = Api(
        lambda r: httpx.Response(
            200,
            json={"items": [r.url.params.get("cursor", "first")], "meta": {"next_cursor": "stuck"}},
        )
    )
    pages = make_client(api).paginate(
        "/v1/items", paginator=JsonCursorPaginator(), items="items", stream="events"
    )
    with pytest.raises(UpstreamError) as caught:
        list(pages)
    error = caught.value
    assert "after page 2 the server pointed again at the page that followed page 1" in str(error)
    assert '"cursor":"stuck"' in str(error)
    assert error.stream == "events"
    assert len(api.requests) == 2


def test_a_cycle_of_cursors_is_stopped(make_client: Any) -> None:
    cycle = {"a": "b", "b": "c", "c": "a"}

    def handler(request: httpx.Request) -> httpx.Response:
        at = request.url.params.get("cursor", "a")
        return httpx.Response(200, json={"items": [at], "meta": {"next_cursor": cycle[at]}})

    api = Api(handler)
    with pytest.raises(UpstreamError, match="pointed again"):
        list(make_client(api).paginate("/x", paginator=JsonCursorPaginator(), items="items"))
    # The first page went without a cursor, so the loop shows once "b" comes round again.
    assert [r.url.params.get("cursor") for r in api.requests] == [None, "b", "c", "a"]


def test_a_server_ignoring_the_page_parameter_is_stopped(make_client: Any) -> None:
    api = Api(lambda r: httpx.Response(200, json={"data": [{"id": 1}]}))
    pages = make_client(api).paginate("/x", paginator=PageNumberPaginator("pg"), items="data")
    with pytest.raises(UpstreamError, match=r"page 2 is the same as page 1.*\['pg'\]"):
        list(pages)
    assert len(api.requests) == 2


def test_a_next_url_on_another_host_is_not_followed(make_client: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [1], "links": {"next": "https://evil.example/x"}})

    api = Api(handler)
    client = make_client(api, auth=BearerAuth("tok-keep-home"))
    with pytest.raises(UpstreamError, match="another host") as caught:
        list(client.paginate("/x", paginator=NextUrlPaginator(), items="items"))
    assert [r.url.host for r in api.requests] == ["api.example.com"]
    assert caught.value.request == "GET https://evil.example/x"


@pytest.mark.parametrize(
    ("items", "body", "message"),
    [
        ("data.items", {"data": {"rows": []}, "meta": {}}, "has no 'data.items'"),
        (None, {"data": []}, "is a dict, not a list; pass items="),
        ("data", {"data": "nope"}, "the answer's 'data' is a str, not a list"),
    ],
)
def test_items_that_are_not_there_are_an_upstream_error(
    make_client: Any, items: str | None, body: Any, message: str
) -> None:
    api = Api(lambda r: httpx.Response(200, json=body))
    with pytest.raises(UpstreamError, match=message):
        list(make_client(api).paginate("/x", paginator=SinglePage(), items=items))


def test_null_items_are_an_empty_page(make_client: Any) -> None:
    api = Api(lambda r: httpx.Response(200, json={"data": None}))
    pages = list(make_client(api).paginate("/x", paginator=PageNumberPaginator(), items="data"))
    assert [page.items for page in pages] == [[]]


def test_items_from_a_callable_returning_a_generator(make_client: Any) -> None:
    api = Api(lambda r: httpx.Response(200, json={"a": [1, 2], "b": [3]}))
    pages = make_client(api).paginate(
        "/x", paginator=SinglePage(), items=lambda body: (x for key in "ab" for x in body[key])
    )
    assert [page.items for page in pages] == [[1, 2, 3]]


def test_a_bad_items_selector_is_refused_at_once(make_client: Any) -> None:
    with pytest.raises(ValidationError):
        make_client(Api(paged_api("page"))).paginate("/x", paginator=SinglePage(), items=3)  # type: ignore[arg-type]


# -- JSON answers -------------------------------------------------------------------------------


def test_an_answer_that_is_not_json_is_an_upstream_error_with_an_excerpt(
    make_client: Any,
) -> None:
    api = Api(
        lambda r: httpx.Response(
            200, text="<html>Maintenance until 14:00</html>", headers={"Content-Type": "text/html"}
        )
    )
    with pytest.raises(UpstreamError) as caught:
        make_client(api).get_json("/v1/x", stream="tickets")
    error = caught.value
    assert "not JSON (text/html" in str(error)
    assert "Maintenance until 14:00" in str(error)
    assert (error.status, error.stream) == (200, "tickets")


def test_json_in_a_declared_charset_is_decoded(make_client: Any) -> None:
    body = '{"name": "Zoë"}'.encode("latin-1")
    api = Api(
        lambda r: httpx.Response(
            200, content=body, headers={"Content-Type": "application/json; charset=latin-1"}
        )
    )
    assert make_client(api).get_json("/x") == {"name": "Zoë"}


def test_no_content_is_none(make_client: Any) -> None:
    assert make_client(Api(lambda r: httpx.Response(204))).get_json("/x") is None


# -- the client ---------------------------------------------------------------------------------


def test_user_agent_timeout_headers_and_params(make_client: Any) -> None:
    api = Api(lambda r: httpx.Response(200, json={}))
    client = make_client(api, timeout=5, headers={"Accept": "application/json"}, params={"v": 2})
    client.get("/x", params={"q": "a"})
    sent = api.requests[0]
    assert sent.headers["User-Agent"] == f"cxm/{cxm.__version__}"
    assert sent.headers["Accept"] == "application/json"
    assert sent.extensions["timeout"] == {"connect": 5, "read": 5, "write": 5, "pool": 5}
    assert dict(sent.url.params) == {"v": "2", "q": "a"}


def test_a_closed_client_sends_nothing() -> None:
    api = Api(lambda r: httpx.Response(200, json={}))
    with HttpClient(BASE, transport=api.transport) as client:
        client.get("/x")
    with pytest.raises(RuntimeError):
        client.get("/x")
    assert len(api.requests) == 1


def test_constructor_refuses_what_is_not_auth_or_a_policy() -> None:
    with pytest.raises(ValidationError, match=r"HttpClient\.auth"):
        HttpClient(BASE, auth="token")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"HttpClient\.retry"):
        HttpClient(BASE, retry=3)  # type: ignore[arg-type]


# -- redaction ----------------------------------------------------------------------------------


def test_redact_url() -> None:
    url = "https://bob:pw@api.example.com/v1/k-77/items?hapikey=abc&X-Amz-Signature=s&page=2"
    assert redact_url(url, ["k-77"]) == (
        "https://api.example.com/v1/[REDACTED]/items?hapikey=[REDACTED]"
        "&X-Amz-Signature=[REDACTED]&page=2"
    )


def test_redact_text_catches_encoded_secrets_pairs_members_and_schemes() -> None:
    secret = "p@ss word/1"
    text = (
        "sent password=p%40ss%20word%2F1 and p%40ss+word%2F1 and p@ss word/1; "
        'body {"refresh_token": "r-1", "name": "x"} client_secret=zz '
        "Authorization: Basic dXNlcjpwYXNz"
    )
    shown = redact_text(text, [Secret(secret)])
    assert shown == (
        "sent password=[REDACTED] and [REDACTED] and [REDACTED]; "
        'body {"refresh_token": "[REDACTED]", "name": "x"} client_secret=[REDACTED] '
        "Authorization: Basic [REDACTED]"
    )


def test_a_vendors_json_error_code_is_shown_but_an_oauth_code_pair_is_not() -> None:
    body = '{"error": {"code": "TOKEN_INVALID", "description": "Invalid access token"}}'
    assert redact_text(body) == body
    assert redact_text("POST /token grant_type=authorization_code&code=4/0Ab-xyz") == (
        "POST /token grant_type=authorization_code&code=[REDACTED]"
    )


SECRET = "S3cr3t-Value-42"
ACCESS = "AcCeSs-Token-77"  # what the token endpoint hands out: a secret too
BASIC_BLOB = base64.b64encode(f"agent:{SECRET}".encode()).decode()  # carries SECRET


def _scenarios() -> dict[str, Callable[[], tuple[httpx.Auth, Handler]]]:
    """Per auth kind: the auth holding SECRET, and an API that accepts it."""

    def plain(check: Callable[[httpx.Request], bool]) -> Handler:
        def handler(request: httpx.Request) -> httpx.Response:
            assert check(request), "the credential was not sent"
            return api_answer(request)

        return handler

    def oauth(token_check: Callable[[httpx.Request], bool], grant_secret: bool) -> Handler:
        def handler(request: httpx.Request) -> httpx.Response:
            if str(request.url) == TOKEN_URL:
                assert token_check(request)
                # The access token handed out is itself the secret under test.
                return httpx.Response(200, json={"access_token": ACCESS, "expires_in": 60})
            assert request.headers["Authorization"] == f"Bearer {ACCESS}"
            return api_answer(request)

        return handler

    return {
        "bearer": lambda: (
            BearerAuth(SECRET),
            plain(lambda r: r.headers["Authorization"] == f"Bearer {SECRET}"),
        ),
        "api-key-query": lambda: (
            ApiKeyAuth(SECRET, query="key"),
            plain(lambda r: r.url.params["key"] == SECRET),
        ),
        "basic": lambda: (
            BasicAuth("agent", SECRET),
            plain(
                lambda r: base64.b64decode(r.headers["Authorization"][6:]).decode().endswith(SECRET)
            ),
        ),
        "oauth-client-secret": lambda: (
            OAuth2ClientCredentials(TOKEN_URL, "app", SECRET),
            oauth(lambda r: form(r)["client_secret"] == SECRET, True),
        ),
        "oauth-refresh-token": lambda: (
            OAuth2RefreshToken(TOKEN_URL, "app", "cs-other", SECRET),
            oauth(lambda r: form(r)["refresh_token"] == SECRET, True),
        ),
    }


def api_answer(request: httpx.Request) -> httpx.Response:
    """Echo the request back in error bodies, as careless vendors do."""
    presented = request.headers.get("Authorization", "").rpartition(" ")[2]
    # Unlabelled, as prose: only the client's knowledge of its secrets can catch these.
    echo = (
        f"{request.url} {request.headers.get('Authorization', '')} unknown ({presented}) {SECRET}"
    )
    if request.url.path == "/flaky" and request.headers.get("X-Attempt") != "done":
        return httpx.Response(503, text=f"busy, retry {echo}")
    if request.url.path == "/broken":
        return httpx.Response(500, json={"error": "boom", "request": echo, "key": SECRET})
    if request.url.path == "/denied":
        return httpx.Response(403, text=f"forbidden for {echo}")
    if request.url.path == "/garbled":
        return httpx.Response(200, text=f"<html>{echo}</html>")
    return httpx.Response(200, json={"items": [1], "next": f"{request.url}&page=2"})


def _chain_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


@pytest.mark.parametrize("kind", list(_scenarios()))
def test_a_secret_never_shows_in_logs_errors_or_reprs(
    kind: str, caplog: pytest.LogCaptureFixture, sleeps: Sleeps
) -> None:
    auth, handler = _scenarios()[kind]()
    api = Api(handler)
    seen: list[str] = []
    with (
        caplog.at_level(logging.DEBUG),
        HttpClient(
            BASE,
            auth=auth,
            transport=api.transport,
            connector="helpdesk",
            retry=policy(sleeps, attempts=2),
        ) as client,
    ):
        client.get("/ok", params={"page": 1})
        with pytest.raises(UpstreamError) as flaky:
            client.get("/flaky")
        for path, error_type in (
            ("/broken", UpstreamError),
            ("/denied", AuthError),
            ("/garbled", UpstreamError),
        ):
            with pytest.raises(error_type) as caught:
                client.get_json(path, params={"page": 1}, stream="tickets")
            seen += [str(caught.value), repr(caught.value), _chain_text(caught.value)]
            seen += [caught.value.request or ""]
        pages = list(client.paginate("/ok", paginator=SinglePage(), items="items"))
        seen += [str(flaky.value), repr(flaky.value), _chain_text(flaky.value)]
        seen += [repr(client), repr(auth), caplog.text, repr(pages), json.dumps(pages[0].cursor)]
    assert api.requests, "nothing was sent"
    assert "[REDACTED]" in " ".join(seen)
    assert any(r.name == "httpx" for r in caplog.records)  # httpx's own line was checked too
    leaks = [text for text in seen if any(s in text for s in (SECRET, ACCESS, BASIC_BLOB))]
    assert leaks == []
    if kind == "api-key-query":
        assert "key=[REDACTED]" in caplog.text


def test_a_transport_error_holding_a_secret_is_not_chained(make_client: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}")

    client = make_client(
        Api(handler), auth=ApiKeyAuth("qk-secret", query="token"), retry=RetryPolicy(attempts=1)
    )
    with pytest.raises(UpstreamError) as caught:
        client.get("/x")
    assert "qk-secret" not in _chain_text(caught.value)
    assert "token=[REDACTED]" in str(caught.value)
    assert caught.value.__cause__ is None


def test_secrets_passed_to_the_client_are_redacted_too(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    api = Api(lambda r: httpx.Response(404, text="no account acct-secret-5"))
    client = make_client(api, secrets=[Secret("acct-secret-5"), None])
    with caplog.at_level(logging.DEBUG), pytest.raises(ConnectorError) as caught:
        client.get("/accounts/acct-secret-5/tickets")
    assert "acct-secret-5" not in str(caught.value) + caplog.text
    assert caught.value.request == f"GET {BASE}/accounts/[REDACTED]/tickets"


def test_a_next_url_echoing_the_api_key_is_stored_without_it(make_client: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        nxt = (
            f"{BASE}/x?page={page + 1}&api_key={request.url.params['api_key']}"
            if page < 3
            else None
        )
        return httpx.Response(200, json={"items": [page], "next": nxt})

    api = Api(handler)
    client = make_client(api, auth=ApiKeyAuth("ak-echoed", query="api_key"))
    pages = list(client.paginate("/x", paginator=NextUrlPaginator("next"), items="items"))
    assert pages[0].cursor == {"url": f"{BASE}/x?page=2"}
    rest = list(
        client.paginate(
            "/x", paginator=NextUrlPaginator("next"), items="items", resume=pages[0].cursor
        )
    )
    assert [page.items for page in rest] == [[2], [3]]
    assert api.requests[-1].url.params["api_key"] == "ak-echoed"


# -- the docs' example --------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "connectors" / "http.md"


def _docs_example() -> str:
    text = DOCS.read_text()
    start = text.index("```python\n", text.index("## A complete stream")) + len("```python\n")
    return text[start : text.index("```", start)]


def _load_docs_example() -> type[Any]:
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(_docs_example(), str(DOCS), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["HelpdeskConnector"]  # type: ignore[no-any-return]


class Helpdesk:
    """The helpdesk the docs' example reads: tickets changed since a time, by page."""

    def __init__(self, count: int) -> None:
        self.tickets = [
            {
                "id": n,
                "subject": f"Ticket {n}",
                "requester": {"email": f"c{n}@example.com"},
                "created_at": f"2025-01-{n:02d}T10:00:00+00:00",
                "updated_at": f"2025-01-{n:02d}T11:00:00+00:00",
            }
            for n in range(1, count + 1)
        ]
        self.api = Api(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer docs-token"
        params = request.url.params
        since = params["updated_since"].replace("Z", "+00:00")
        changed = [t for t in self.tickets if t["updated_at"] >= since]
        size, page = int(params["per_page"]), int(params["page"])
        total = -(-len(changed) // size)
        chunk = changed[(page - 1) * size : page * size]
        return httpx.Response(200, json={"tickets": chunk, "meta": {"total_pages": total}})

    def connector(self, connector_class: type[Any]) -> Any:
        return connector_class(
            token="docs-token",
            transport=self.api.transport,
            page_size=3,
            requests_per_second=1000.0,
        )


def test_the_docs_example_reads_and_resumes_from_a_checkpoint() -> None:
    helpdesk = Helpdesk(7)
    connector = helpdesk.connector(_load_docs_example())
    (stream,) = connector.streams()
    items = list(stream.read(None))
    checkpoints = [item.cursor for item in items if isinstance(item, cxm.connectors.Checkpoint)]
    records = [stream.parse(item) for item in items if isinstance(item, dict)]
    assert [r.source_id for r in records] == [str(n) for n in range(1, 8)]
    assert checkpoints[-1] == {"since": "2025-01-07T11:00:00+00:00"}
    assert len(checkpoints) == 3
    resumed = [item for item in stream.read(checkpoints[0]) if isinstance(item, dict)]
    assert [t["id"] for t in resumed] == [4, 5, 6, 7]
    assert "docs-token" not in repr(connector)


def test_the_docs_example_syncs_incrementally(tmp_path: Path) -> None:
    helpdesk = Helpdesk(7)
    connector = helpdesk.connector(_load_docs_example())
    with cxm.Workspace.open(tmp_path / "cxm.db") as workspace:
        first = workspace.sync(connector).stream("tickets")
        assert (first.new, first.error) == (7, None)
        again = workspace.sync(connector).stream("tickets")
        # Only the newest ticket is read again (updated_since is inclusive), and it is unchanged.
        assert (again.new, again.updated, again.unchanged) == (0, 0, 1)
        helpdesk.tickets[1]["updated_at"] = "2025-02-01T09:00:00+00:00"
        helpdesk.tickets[1]["subject"] = "Ticket 2, reopened"
        third = workspace.sync(connector).stream("tickets")
        assert (third.new, third.updated) == (0, 1)
        assert len(workspace.interactions()) == 7


# -- the public surface -------------------------------------------------------------------------


def test_every_public_name_is_exported_and_documented() -> None:
    import inspect

    from cxm.connectors import http

    public = {
        name
        for name, value in vars(http).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public == set(http.__all__)
    assert len(http.__all__) == len(set(http.__all__))
    undocumented = [
        name
        for name in http.__all__
        if (inspect.isclass(getattr(http, name)) or inspect.isfunction(getattr(http, name)))
        and not inspect.getdoc(getattr(http, name))
    ]
    assert undocumented == []


def test_the_client_repr_shows_its_settings_but_no_secret() -> None:
    client = HttpClient(
        "https://ann:pw-77@api.example.com/v2?api_key=qk-77",
        auth=BearerAuth("tok-77"),
        rate_limit=2,
        connector="helpdesk",
    )
    with client:
        shown = repr(client)
    assert shown.startswith(
        "HttpClient(base_url='https://api.example.com/v2?api_key=[REDACTED]', "
        "connector='helpdesk', auth=BearerAuth(token=Secret('**********')), retry=RetryPolicy("
    )
    assert shown.endswith("rate_limit=RateLimiter(per_second=2, burst=1))")
    assert not any(secret in shown for secret in ("pw-77", "qk-77", "tok-77"))


# -- KeysetWindow -------------------------------------------------------------------------------


def _keyset(since: int | None = None, seen: set[str] | None = None) -> KeysetWindow[int]:
    return KeysetWindow(
        since,
        seen or set(),
        time=lambda item: item.get("t") if isinstance(item, dict) else None,
        key=lambda item: item.get("id") if isinstance(item, dict) else None,
    )


def _ids(items: list[Any]) -> list[Any]:
    return [item["id"] for item in items]


def test_keyset_window_from_the_start_reads_everything_and_moves_to_the_newest_time() -> None:
    window = _keyset()
    page = [{"id": "a", "t": 1}, {"id": "b", "t": 3}, {"id": "c", "t": 3}, {"id": "d", "t": 2}]
    assert _ids(window.unread(page)) == ["a", "b", "c", "d"]
    assert window.move(page) is True
    assert (window.since, window.seen, window.page) == (3, {"b", "c"}, 1)


def test_keyset_window_skips_only_the_keys_read_at_its_own_time() -> None:
    window = _keyset(5, {"a", "b"})
    page = [{"id": "a", "t": 5}, {"id": "c", "t": 5}, {"id": "b", "t": 6}, {"id": "a", "t": 4}]
    # "b" at a later time is an edit, and "a" at another time is not at the boundary.
    assert _ids(window.unread(page)) == ["c", "b", "a"]


def test_keyset_window_that_cannot_move_pages_within_its_time() -> None:
    window = _keyset(5, {"a"})
    first = [{"id": "a", "t": 5}, {"id": "b", "t": 5}]
    assert window.move(first) is True  # "b" is new at 5
    assert (window.since, window.seen, window.page) == (5, {"a", "b"}, 2)
    assert window.move(first) is False  # the same page again brings nothing new
    assert window.page == 3
    later = [{"id": "c", "t": 5}, {"id": "d", "t": 7}]
    assert window.move(later) is True
    assert (window.since, window.seen, window.page) == (7, {"d"}, 1)


def test_keyset_window_passes_over_items_without_a_time_or_a_key() -> None:
    window = _keyset(5, {"a"})
    page = [{"id": "x"}, {"t": 9}, "junk", {"id": "a", "t": 5}]
    assert window.unread(page) == [{"id": "x"}, {"t": 9}, "junk"]
    assert window.move(page) is False
    assert (window.since, window.seen, window.page) == (5, {"a"}, 2)
    assert _keyset().move([{"id": "x"}]) is False  # nothing readable: still from the start


def test_keyset_window_orders_datetimes_too() -> None:
    noon = datetime(2026, 3, 1, 12, tzinfo=UTC)
    window: KeysetWindow[datetime] = KeysetWindow(
        noon, {"a"}, time=lambda item: item[1], key=lambda item: item[0]
    )
    page = [("a", noon), ("b", noon + timedelta(seconds=1))]
    assert window.unread(page) == [("b", noon + timedelta(seconds=1))]
    assert window.move(page) is True
    assert (window.since, window.seen) == (noon + timedelta(seconds=1), {"b"})
