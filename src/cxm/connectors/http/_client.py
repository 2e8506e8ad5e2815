"""The client: one ``httpx.Client`` with retries, rate limiting, paging and redaction around it.

:meth:`HttpClient.request` is the one place a request goes out: it waits for the rate limiter,
sends, retries what is worth retrying, logs with credentials redacted, and turns a final failure
into the :class:`~cxm.ConnectorError` subclass a connector author and the sync engine expect.
:meth:`HttpClient.paginate` drives a paginator over it and hands back pages with a resume token.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Self

import attrs
import httpx
import orjson

from cxm._version import __version__
from cxm.connectors.base import Secret
from cxm.connectors.http._auth import BasicAuth, CredentialAuth
from cxm.connectors.http._paginators import PageRequest, Paginator, find_path
from cxm.connectors.http._redaction import REDACTED, redact_text, redact_url, secret_values
from cxm.connectors.http._retry import RateLimiter, RetryPolicy
from cxm.exceptions import (
    AuthError,
    ConnectorError,
    RateLimitedError,
    UpstreamError,
    ValidationError,
)

__all__ = ["HttpClient", "ItemsSelector", "Page"]

logger = logging.getLogger("cxm.connectors.http")

ItemsSelector = str | Callable[[Any], Iterable[Any] | None] | None
_EXCERPT = 200
_MISSING = object()
# Nothing reached the server when these are raised, so even a POST may be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_SEEN_STATES = 1024


@attrs.frozen
class Page:
    """One page of a pagination.

    Attributes:
        items: The records the page carried, as decoded JSON.
        response: The HTTP answer (headers, status, the request that was sent).
        number: 1 for the first page this :meth:`HttpClient.paginate` call read, 2 for the next.
        cursor: The paginator's state after this page, a JSON object to store in a
            :class:`~cxm.connectors.Checkpoint`. ``paginate(..., resume=page.cursor)`` goes on
            with the next page; after the last page it holds ``"done": true`` and resuming
            from it reads nothing.
    """

    items: list[Any]
    response: httpx.Response
    number: int
    cursor: dict[str, Any]

    def __repr__(self) -> str:
        return f"Page(number={self.number}, items={len(self.items)}, cursor={self.cursor!r})"


# -- httpx's own log line ----------------------------------------------------------------------

_clients: weakref.WeakSet[HttpClient] = weakref.WeakSet()
_clients_lock = threading.Lock()


class _RedactHttpxLog(logging.Filter):
    """Redacts httpx's INFO line (``HTTP Request: GET <full URL>``), which shows query keys."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _clients_lock:
            clients = list(_clients)
        secrets = [secret for client in clients for secret in client.known_secrets()]
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        record.msg = redact_text(message, secrets)
        record.args = None
        return True


def _guard_httpx_log() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactHttpxLog) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactHttpxLog())


# -- the client -------------------------------------------------------------------------------


class HttpClient:
    """An HTTP client for connectors: auth, retries, rate limits, paging, redaction.

    Wraps one ``httpx.Client``. Every request waits for the rate limiter, is retried by the
    :class:`RetryPolicy`, is logged to the ``cxm.connectors.http`` logger (debug: one line per
    request; warning: one per retry) with every credential redacted, and ends in a response
    with a 2xx status or in an error:

    ========================================== ===================================
    what happened (after the retries)          raises
    ========================================== ===================================
    401, 403                                   :class:`~cxm.AuthError`
    429                                        :class:`~cxm.RateLimitedError`
    5xx, transport error, unreadable answer    :class:`~cxm.UpstreamError`
    any other non-2xx                          :class:`~cxm.ConnectorError`
    ========================================== ===================================

    Each error carries ``connector``, ``stream``, ``status`` and ``request`` (``"GET
    https://host/path?api_key=[REDACTED]"``), holds a short redacted excerpt of the answer's
    body in its message, and is chained to an httpx exception (whose message is redacted too).

    Args:
        base_url: Prepended to relative URLs.
        auth: An ``httpx.Auth``: :class:`BearerAuth`, :class:`ApiKeyAuth`, :class:`BasicAuth`,
            :class:`OAuth2ClientCredentials`, :class:`OAuth2RefreshToken`, or a
            ``(username, password)`` pair for Basic.
        headers: Headers sent with every request.
        params: Query parameters sent with every request.
        timeout: Seconds, or an ``httpx.Timeout``, for connecting, reading and writing.
        retry: When and how to retry; default ``RetryPolicy()``.
        rate_limit: Requests per second (a number), or a :class:`RateLimiter` to share between
            clients; ``None`` for no limit.
        transport: An ``httpx.BaseTransport``; tests pass ``httpx.MockTransport(handler)``.
        connector: The connector's name, put into errors and log lines.
        secrets: More credentials to redact (a connector passes ``self.secrets()``); ``None``
            entries are skipped.
        user_agent: The ``User-Agent`` header.
        follow_redirects: Follow 3xx answers (httpx drops the ``Authorization`` header when a
            redirect leaves the host).

    Examples:
        >>> def api(request):
        ...     return httpx.Response(200, json={"data": [{"id": 1}]})
        >>> transport = httpx.MockTransport(api)
        >>> with HttpClient("https://api.example.com", transport=transport) as client:
        ...     client.get_json("/v1/items")
        {'data': [{'id': 1}]}
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        auth: httpx.Auth | tuple[str, str | Secret] | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        rate_limit: float | RateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
        connector: str | None = None,
        secrets: Iterable[str | Secret | None] = (),
        user_agent: str = f"cxm/{__version__}",
        follow_redirects: bool = True,
    ) -> None:
        if isinstance(auth, tuple):
            auth = BasicAuth(*auth)
        if auth is not None and not isinstance(auth, httpx.Auth):
            raise ValidationError("HttpClient.auth", type(auth).__name__, "must be an httpx.Auth")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ValidationError("HttpClient.retry", retry, "must be a RetryPolicy")
        self.base_url = base_url
        self.auth = auth
        self.connector = connector
        self.retry = retry if retry is not None else RetryPolicy()
        self.rate_limiter = (
            rate_limit
            if isinstance(rate_limit, RateLimiter) or rate_limit is None
            else RateLimiter(rate_limit)
        )
        self._secrets = [
            item if isinstance(item, Secret) else Secret(item)
            for item in secrets
            if item is not None and item != ""
        ]
        self._client = httpx.Client(
            base_url=base_url,
            auth=auth,
            headers={"User-Agent": user_agent, **(headers or {})},
            params=dict(params) if params else None,
            timeout=timeout,
            transport=transport,
            follow_redirects=follow_redirects,
        )
        _guard_httpx_log()
        with _clients_lock:
            _clients.add(self)

    # -- life cycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections; the client cannot be used afterwards."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        parts = [f"base_url={redact_url(self.base_url, self.known_secrets())!r}"]
        if self.connector:
            parts.append(f"connector={self.connector!r}")
        if self.auth is not None:
            # cxm's auth classes mask their secrets in repr; a custom one is scrubbed of them.
            shown = repr(self.auth)
            for value in secret_values(self.known_secrets()):
                shown = shown.replace(value, REDACTED)
            parts.append(f"auth={shown}")
        parts.append(f"retry={self.retry!r}")
        if self.rate_limiter is not None:
            parts.append(f"rate_limit={self.rate_limiter!r}")
        return f"HttpClient({', '.join(parts)})"

    # -- redaction ----------------------------------------------------------------------------

    def known_secrets(self) -> list[Secret]:
        """Return every credential this client redacts.

        These are its auth's (tokens fetched so far included) and those passed as ``secrets=``.
        """
        found = list(self._secrets)
        if isinstance(self.auth, CredentialAuth):
            found.extend(self.auth.secrets())
        return found

    def _describe(self, request: httpx.Request, secrets: list[Secret]) -> str:
        return f"{request.method} {redact_url(request.url, secrets)}"

    # -- requests -----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: str | None = None,
    ) -> httpx.Response:
        """Send a request, retrying per the policy, and return its 2xx answer.

        Args:
            method: ``"GET"``, ``"POST"``, ...
            url: Absolute, or relative to ``base_url``.
            params: Query parameters, merged over the client's.
            json: A JSON body.
            data: A form body.
            headers: Headers, merged over the client's.
            stream: The stream being read, for errors and log lines.

        Returns:
            The answer, read.

        Raises:
            AuthError: On 401 or 403, or when the token endpoint refuses the credentials.
            RateLimitedError: On 429 after the retries, or when ``Retry-After`` asks for longer
                than ``max_retry_after``.
            UpstreamError: On 5xx or a transport error after the retries.
            ConnectorError: On any other non-2xx answer.
        """
        method = method.upper()
        policy = self.retry
        replayable = method in policy.methods
        attempt = 0
        while True:
            attempt += 1
            if self.rate_limiter is not None:
                self.rate_limiter.acquire()
            request = self._client.build_request(
                method, url, params=params, json=json, data=data, headers=headers
            )
            started = time.perf_counter()
            try:
                response = self._client.send(request)
            except httpx.TransportError as exc:
                if attempt < policy.attempts and (replayable or isinstance(exc, _NOT_SENT)):
                    delay = policy.backoff_delay(attempt)
                    self._warn_retry(request, type(exc).__name__, attempt, delay, stream)
                    policy.sleep(delay)
                    continue
                error = self._transport_error(exc, request, attempt, stream)
                raise error from error.__cause__
            except httpx.RequestError as exc:  # too many redirects, an undecodable body
                error = self._transport_error(exc, request, attempt, stream)
                raise error from error.__cause__
            except ConnectorError as exc:
                # Raised by an OAuth 2 auth about its token endpoint. The request itself was
                # not sent, so an outage there is retried whatever the method.
                exc.in_context(connector=self.connector, stream=stream)
                if (
                    attempt < policy.attempts
                    and not isinstance(exc, AuthError)
                    and exc.status in policy.statuses
                ):
                    delay = policy.backoff_delay(attempt)
                    self._warn_retry(
                        request, f"token endpoint {exc.status}", attempt, delay, stream
                    )
                    policy.sleep(delay)
                    continue
                raise
            status = response.status_code
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s%s -> %d in %.1f ms",
                    self._where(stream),
                    self._describe(response.request, self.known_secrets()),
                    status,
                    (time.perf_counter() - started) * 1000,
                )
            if 200 <= status < 300:
                return response
            delay = self._delay_after(response, attempt, replayable, stream)
            self._warn_retry(response.request, str(status), attempt, delay, stream)
            response.close()
            policy.sleep(delay)

    def _delay_after(
        self, response: httpx.Response, attempt: int, replayable: bool, stream: str | None
    ) -> float:
        """Return how long to wait before retrying a failed answer, or raise its error."""
        policy = self.retry
        status = response.status_code
        if status not in policy.statuses:
            raise self._status_error(response, stream, None, "")
        retry_after = policy.retry_after(response.headers)
        # A 429 says the server did not act on the request: safe to repeat for any method.
        if not replayable and status != 429:
            raise self._status_error(response, stream, retry_after, "")
        if retry_after is not None and retry_after > policy.max_retry_after:
            reason = (
                f"the server asked to wait {retry_after:g} s, longer than "
                f"max_retry_after={policy.max_retry_after:g} s"
            )
            raise self._status_error(response, stream, retry_after, reason)
        if attempt >= policy.attempts:
            reason = f"after {attempt} attempts" if attempt > 1 else ""
            raise self._status_error(response, stream, retry_after, reason)
        return retry_after if retry_after is not None else policy.backoff_delay(attempt)

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: str | None = None,
    ) -> httpx.Response:
        """``request("GET", ...)``: see :meth:`request`."""
        return self.request("GET", url, params=params, headers=headers, stream=stream)

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: str | None = None,
    ) -> Any:
        """GET a URL and return its decoded JSON (``None`` for a 204 answer).

        Raises:
            UpstreamError: If the answer is not JSON; the message holds a redacted excerpt.
            AuthError: See :meth:`request` for these and the other errors.
        """
        return self._decode(self.get(url, params=params, headers=headers, stream=stream), stream)

    # -- pagination ---------------------------------------------------------------------------

    def paginate(
        self,
        url: str,
        *,
        paginator: Paginator,
        params: Mapping[str, Any] | None = None,
        items: ItemsSelector = None,
        stream: str | None = None,
        resume: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        method: str = "GET",
        json: Any = None,
    ) -> Iterator[Page]:
        """Read a paginated endpoint page by page.

        The paginator given is copied, so it can be reused. Pagination ends when the paginator
        says so. A server that keeps sending a next page already visited, or the same page
        again, or a next URL on another host (which would receive the credentials) is an
        :class:`~cxm.UpstreamError`, not an endless loop or a leak.

        Args:
            url: The first page's URL, absolute or relative to ``base_url``.
            paginator: How pages are asked for: :class:`PageNumberPaginator`,
                :class:`OffsetPaginator`, :class:`JsonCursorPaginator`,
                :class:`NextUrlPaginator`, :class:`LinkHeaderPaginator`, :class:`SinglePage`.
            params: Query parameters of the first page (kept for the following pages, except
                with next-URL paginators, whose URLs carry their own).
            items: Where the records are: ``None`` when the answer is a JSON list, a dotted path
                (``"data.items"``) into an object, or a callable taking the decoded answer and
                returning the records.
            stream: The stream being read, for errors and log lines.
            resume: A :attr:`Page.cursor` from an earlier pagination: start after that page.
            headers: Headers for every page.
            method: ``"GET"``, or ``"POST"`` for search endpoints that page through a body.
            json: The JSON body, with ``method="POST"``.

        Returns:
            An iterator of :class:`Page`.

        Raises:
            ValidationError: If ``resume`` is not a cursor of this kind of paginator, or
                ``items`` is neither ``None``, a string nor a callable (raised at once).
            UpstreamError: If a page is not JSON, lacks the items, or the paging loops.
        """
        if not isinstance(paginator, Paginator):
            raise ValidationError(
                "HttpClient.paginate.paginator", type(paginator).__name__, "must be a Paginator"
            )
        if items is not None and not isinstance(items, str) and not callable(items):
            raise ValidationError(
                "HttpClient.paginate.items", items, "must be None, a JSON path or a callable"
            )
        pager = paginator.copy()
        if resume is not None:
            pager.resume(resume)
        first = PageRequest(url=url, params=dict(params or {}), json=json)
        return self._pages(
            pager, first, items=items, stream=stream, headers=headers, method=method.upper()
        )

    def _pages(
        self,
        pager: Paginator,
        page_request: PageRequest,
        *,
        items: ItemsSelector,
        stream: str | None,
        headers: Mapping[str, str] | None,
        method: str,
    ) -> Iterator[Page]:
        number = 0
        origin: tuple[bytes, str, int | None] | None = None
        seen: dict[bytes, int] = {}
        previous_body = b""
        while pager.has_next:
            pager.update_request(page_request)
            target = httpx.URL(page_request.url)
            if origin is not None and target.is_absolute_url and _origin(target) != origin:
                raise self._paging_error(
                    f"page {number + 1} would be read from another host, which would receive "
                    "the credentials; refusing to follow",
                    target,
                    stream,
                )
            response = self.request(
                method,
                page_request.url,
                params=page_request.params or None,
                json=page_request.json,
                headers=headers,
                stream=stream,
            )
            number += 1
            if origin is None:
                origin = _origin(response.request.url)
            body = self._decode(response, stream)
            found = self._select(body, items, response, stream)
            if found and response.content == previous_body:
                raise self._paging_error(
                    f"page {number} is the same as page {number - 1}: does the API take the "
                    f"paging parameters {sorted(page_request.params)} this paginator sends?",
                    response.request.url,
                    stream,
                )
            previous_body = response.content
            pager.update_state(response, body, found)
            state = pager.state
            if pager.has_next:
                key = orjson.dumps(state, option=orjson.OPT_SORT_KEYS)
                if key in seen:
                    shown = redact_text(key.decode(), self.known_secrets())
                    raise self._paging_error(
                        f"after page {number} the server pointed again at the page that "
                        f"followed page {seen[key]} ({shown}); stopping instead of looping",
                        response.request.url,
                        stream,
                    )
                seen[key] = number
                if len(seen) > _SEEN_STATES:
                    del seen[next(iter(seen))]
            yield Page(items=found, response=response, number=number, cursor=self._scrub(state))

    def _select(
        self, body: Any, items: ItemsSelector, response: httpx.Response, stream: str | None
    ) -> list[Any]:
        if items is None:
            found = body
        elif isinstance(items, str):
            found = find_path(body, items, default=_MISSING)
            if found is _MISSING:
                keys = sorted(body)[:10] if isinstance(body, dict) else type(body).__name__
                raise self._paging_error(
                    f"the answer has no {items!r} (it has {keys})", response.request.url, stream
                )
        else:
            found = items(body)
        if found is None:
            return []
        if isinstance(found, list):
            return found
        if isinstance(found, dict | str | bytes) or not isinstance(found, Iterable):
            where = "the answer" if items is None else f"the answer's {items!r}"
            hint = "; pass items= to say where the records are" if items is None else ""
            raise self._paging_error(
                f"{where} is a {type(found).__name__}, not a list{hint}",
                response.request.url,
                stream,
            )
        return list(found)

    def _scrub(self, state: dict[str, Any]) -> dict[str, Any]:
        """Drop credentials a server echoed into a next URL, so checkpoints never store them."""
        url = state.get("url")
        if not isinstance(url, str):
            return state
        values = {secret.reveal() for secret in self.known_secrets()}
        if not values:
            return state
        parsed = httpx.URL(url)
        kept: list[tuple[str, str | int | float | bool | None]] = [
            (name, value) for name, value in parsed.params.multi_items() if value not in values
        ]
        if len(kept) == len(parsed.params.multi_items()):
            return state
        return {**state, "url": str(parsed.copy_with(params=httpx.QueryParams(kept)))}

    # -- errors -------------------------------------------------------------------------------

    def _where(self, stream: str | None) -> str:
        where = "/".join(part for part in (self.connector, stream) if part)
        return f"{where}: " if where else ""

    def _warn_retry(
        self, request: httpx.Request, what: str, attempt: int, delay: float, stream: str | None
    ) -> None:
        if logger.isEnabledFor(logging.WARNING):
            logger.warning(
                "%s%s -> %s; retrying in %.2f s (attempt %d of %d)",
                self._where(stream),
                self._describe(request, self.known_secrets()),
                redact_text(what, self.known_secrets()),
                delay,
                attempt + 1,
                self.retry.attempts,
            )

    def _decode(self, response: httpx.Response, stream: str | None) -> Any:
        content = response.content
        if not content and response.status_code == 204:
            return None
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            error: ValueError = exc
        charset = (response.charset_encoding or "utf-8").lower().replace("_", "-")
        if charset not in ("utf-8", "utf8"):
            # JSON in a declared legacy charset (latin-1 from an old helpdesk): decode it so.
            try:
                return json.loads(response.text)
            except ValueError as exc:
                error = exc
        secrets = self.known_secrets()
        excerpt = _excerpt(response.text, secrets) or "an empty body"
        raise UpstreamError(
            f"the answer is not JSON ({response.headers.get('content-type', 'no type')}): "
            f"{excerpt}",
            connector=self.connector,
            stream=stream,
            request=self._describe(response.request, secrets),
            status=response.status_code,
        ) from error

    def _paging_error(self, message: str, url: httpx.URL, stream: str | None) -> UpstreamError:
        return UpstreamError(
            message,
            connector=self.connector,
            stream=stream,
            request=f"GET {redact_url(url, self.known_secrets())}",
        )

    def _status_error(
        self, response: httpx.Response, stream: str | None, retry_after: float | None, note: str
    ) -> ConnectorError:
        secrets = self.known_secrets()
        status = response.status_code
        message = f"{status} {response.reason_phrase}".rstrip()
        if note:
            message += f" ({note})"
        excerpt = _excerpt(response.text, secrets)
        if excerpt:
            message += f": {excerpt}"
        context: dict[str, Any] = {
            "connector": self.connector,
            "stream": stream,
            "request": self._describe(response.request, secrets),
            "status": status,
        }
        error: ConnectorError
        if status in (401, 403):
            error = AuthError(message, **context)
        elif status == 429:
            error = RateLimitedError(message, retry_after=retry_after, **context)
        elif status >= 500:
            error = UpstreamError(message, **context)
        else:
            error = ConnectorError(message, **context)
        # The cause keeps the response reachable (exc.__cause__.response) for its headers; its
        # message is the redacted one, since tracebacks print it.
        cause = httpx.HTTPStatusError(
            f"{message} ({context['request']})", request=response.request, response=response
        )
        error.__cause__ = cause
        error.__suppress_context__ = True
        return error

    def _transport_error(
        self, exc: httpx.RequestError, request: httpx.Request, attempt: int, stream: str | None
    ) -> UpstreamError:
        secrets = self.known_secrets()
        text = str(exc)
        shown = redact_text(text, secrets)
        after = f" after {attempt} attempts" if attempt > 1 else ""
        error = UpstreamError(
            f"{type(exc).__name__}{after}: {shown or 'no detail'}",
            connector=self.connector,
            stream=stream,
            request=self._describe(request, secrets),
        )
        # Chain the httpx error unless its message holds a credential: tracebacks print it.
        if shown == text:
            error.__cause__ = exc
        error.__suppress_context__ = True
        return error


def _origin(url: httpx.URL) -> tuple[bytes, str, int | None]:
    return (url.raw_scheme, url.host, url.port)


def _excerpt(text: str, secrets: list[Secret]) -> str:
    # Redact before cutting, so that a credential straddling the cut is not half shown.
    flat = " ".join(text[: _EXCERPT * 20].split())
    shown = redact_text(flat, secrets)
    return shown if len(shown) <= _EXCERPT else shown[: _EXCERPT - 1] + "…"
