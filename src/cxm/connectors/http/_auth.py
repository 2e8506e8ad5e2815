"""Credentials on requests, as ``httpx.Auth`` classes that never print what they hold.

Each class adds its credential to every request the client sends and reports, through
``secrets()``, every value that must be redacted from logs and errors: the token, the key, the
password (and its Basic encoding), the client secret, and for OAuth 2 every access and refresh
token it has been given. The OAuth 2 classes fetch their token lazily from the token endpoint,
through the same client (so the same transport, and in tests the same ``MockTransport``), keep
it until shortly before it expires, and on a 401 fetch a fresh one once and repeat the request.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Generator
from typing import Any, Literal

import httpx
import orjson

from cxm.connectors.base import Secret
from cxm.connectors.http._redaction import redact_text, redact_url
from cxm.exceptions import AuthError, ConnectorError, RateLimitedError, UpstreamError
from cxm.exceptions import ValidationError as _ValidationError

__all__ = [
    "ApiKeyAuth",
    "BasicAuth",
    "BearerAuth",
    "CredentialAuth",
    "OAuth2ClientCredentials",
    "OAuth2RefreshToken",
]

_EXCERPT = 200


def _as_secret(field: str, value: str | Secret) -> Secret:
    try:
        return value if isinstance(value, Secret) else Secret(value)
    except _ValidationError as exc:
        raise _ValidationError(field, exc.value, exc.reason) from None


class CredentialAuth(httpx.Auth):
    """Base of cxm's auth classes: an ``httpx.Auth`` that can list its secrets.

    :class:`~cxm.connectors.http.HttpClient` redacts what :meth:`secrets` returns from every
    log line and error; a custom auth class that subclasses this one gets the same care.
    """

    def secrets(self) -> list[Secret]:
        """Return every credential this auth holds or has obtained."""
        return []


class BearerAuth(CredentialAuth):
    """``Authorization: Bearer <token>`` on every request.

    Args:
        token: The token (a :class:`~cxm.connectors.Secret` or a string, wrapped).

    Examples:
        >>> BearerAuth("tok_123")
        BearerAuth(token=Secret('**********'))
    """

    def __init__(self, token: str | Secret) -> None:
        self.token = _as_secret("BearerAuth.token", token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header and send the request."""
        request.headers["Authorization"] = f"Bearer {self.token.reveal()}"
        yield request

    def secrets(self) -> list[Secret]:
        """Return the token."""
        return [self.token]

    def __repr__(self) -> str:
        return f"BearerAuth(token={self.token!r})"


class ApiKeyAuth(CredentialAuth):
    """An API key in a header or in a query parameter.

    Args:
        key: The key (a :class:`~cxm.connectors.Secret` or a string, wrapped).
        header: Name of the header that carries it (``"X-Api-Key"``).
        query: Name of the query parameter that carries it (``"api_key"``).
        prefix: Text put before the key in the header (``"Token "`` gives
            ``Authorization: Token <key>``).

    Raises:
        ValidationError: Unless exactly one of ``header`` and ``query`` is given.

    Examples:
        >>> ApiKeyAuth("k_123", query="api_key")
        ApiKeyAuth(key=Secret('**********'), query='api_key')
    """

    def __init__(
        self,
        key: str | Secret,
        *,
        header: str | None = None,
        query: str | None = None,
        prefix: str = "",
    ) -> None:
        if (header is None) == (query is None):
            raise _ValidationError(
                "ApiKeyAuth.header", header, "give exactly one of header= or query="
            )
        if query is not None and prefix:
            raise _ValidationError("ApiKeyAuth.prefix", prefix, "only applies to a header key")
        self.key = _as_secret("ApiKeyAuth.key", key)
        self.header = header
        self.query = query
        self.prefix = prefix

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the key and send the request."""
        if self.header is not None:
            request.headers[self.header] = f"{self.prefix}{self.key.reveal()}"
        else:
            assert self.query is not None  # noqa: S101 - the constructor guarantees one of them
            request.url = request.url.copy_set_param(self.query, self.key.reveal())
        yield request

    def secrets(self) -> list[Secret]:
        """Return the key."""
        return [self.key]

    def __repr__(self) -> str:
        where = f"header={self.header!r}" if self.header is not None else f"query={self.query!r}"
        prefix = f", prefix={self.prefix!r}" if self.prefix else ""
        return f"ApiKeyAuth(key={self.key!r}, {where}{prefix})"


class BasicAuth(CredentialAuth):
    """HTTP Basic authentication: ``Authorization: Basic base64(username:password)``.

    Some APIs take an API key as the user name and no password (Delighted, Stripe): pass the
    key as a :class:`~cxm.connectors.Secret` user name and ``password=""``; a secret user name
    is masked in ``repr`` and redacted like the password.

    Args:
        username: The user name; a plain string is not secret and is shown in ``repr``.
        password: The password (a :class:`~cxm.connectors.Secret` or a string, wrapped); an
            empty string when the API wants none.

    Examples:
        >>> BasicAuth("agent@example.com/token", "pw")
        BasicAuth(username='agent@example.com/token', password=Secret('**********'))
        >>> BasicAuth(Secret("key-123"), "")
        BasicAuth(username=Secret('**********'), password='')
    """

    def __init__(self, username: str | Secret, password: str | Secret) -> None:
        self.username = username
        self.password: Secret | None = (
            None if password == "" else _as_secret("BasicAuth.password", password)
        )
        user = username.reveal() if isinstance(username, Secret) else username
        secret = self.password.reveal() if self.password is not None else ""
        self._encoded = Secret(base64.b64encode(f"{user}:{secret}".encode()).decode("ascii"))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header and send the request."""
        request.headers["Authorization"] = f"Basic {self._encoded.reveal()}"
        yield request

    def secrets(self) -> list[Secret]:
        """Return the secret parts and the encoded header value (which carries them)."""
        parts = [self.username] if isinstance(self.username, Secret) else []
        if self.password is not None:
            parts.append(self.password)
        return [*parts, self._encoded]

    def __repr__(self) -> str:
        password = "''" if self.password is None else repr(self.password)
        return f"BasicAuth(username={self.username!r}, password={password})"


class _OAuth2(CredentialAuth):
    """What both OAuth 2 grants share: the token endpoint, the cache, the retry on 401."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | Secret,
        *,
        scope: str | None,
        client_auth: Literal["post", "basic"],
        expiry_margin: float,
        clock: Callable[[], float],
    ) -> None:
        kind = type(self).__name__
        if client_auth not in ("post", "basic"):
            raise _ValidationError(f"{kind}.client_auth", client_auth, "must be 'post' or 'basic'")
        if not str(token_url).startswith(("https://", "http://")):
            raise _ValidationError(f"{kind}.token_url", token_url, "must be an http(s) URL")
        self.token_url = str(token_url)
        self.client_id = client_id
        self.client_secret = _as_secret(f"{kind}.client_secret", client_secret)
        self.scope = scope
        self.client_auth = client_auth
        self.expiry_margin = expiry_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._access: Secret | None = None
        self._expires_at: float | None = None
        self._seen: list[Secret] = []

    # -- what a grant supplies ---------------------------------------------------------------

    def _grant(self) -> dict[str, str]:
        raise NotImplementedError

    def _accept_extra(self, answer: dict[str, Any]) -> None:
        """Keep what else the token answer carries (a rotated refresh token)."""

    # -- the flow ----------------------------------------------------------------------------

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Send the request with a current access token; on a 401, refresh once and resend."""
        token, fresh = yield from self._current_token(stale=None)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401 or fresh:
            return
        # The cached token was revoked or expired early: fetch one (unless another thread has
        # already) and repeat the request once. A second 401 is the answer.
        token, _ = yield from self._current_token(stale=token)
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def async_auth_flow(self, request: httpx.Request) -> Any:
        """Not supported: the token cache is guarded by a thread lock.

        Raises:
            NotImplementedError: Always.
        """
        raise NotImplementedError(f"{type(self).__name__} works with httpx.Client only")

    def _current_token(
        self, *, stale: str | None
    ) -> Generator[httpx.Request, httpx.Response, tuple[str, bool]]:
        # The lock is held across the token request so that threads sharing this auth fetch
        # one token between them; with a rotating refresh token a second, concurrent refresh
        # would present a token the first one has just used up.
        with self._lock:
            access = self._access
            usable = access is not None and (
                access.reveal() != stale
                if stale is not None
                else self._expires_at is None or self._clock() < self._expires_at
            )
            if access is not None and usable:
                return access.reveal(), False
            answer = yield self._token_request()
            answer.read()
            self._accept(answer)
            assert self._access is not None  # noqa: S101 - _accept sets it or raises
            return self._access.reveal(), True

    def _token_request(self) -> httpx.Request:
        form = self._grant()
        headers = {"Accept": "application/json"}
        if self.client_auth == "basic":
            pair = f"{self.client_id}:{self.client_secret.reveal()}".encode()
            encoded = base64.b64encode(pair).decode("ascii")
            self._remember(Secret(encoded))
            headers["Authorization"] = f"Basic {encoded}"
        else:
            form = {
                **form,
                "client_id": self.client_id,
                "client_secret": self.client_secret.reveal(),
            }
        if self.scope:
            form["scope"] = self.scope
        return httpx.Request("POST", self.token_url, data=form, headers=headers)

    def _accept(self, answer: httpx.Response) -> None:
        where = f"POST {redact_url(self.token_url, self.secrets())}"
        status = answer.status_code
        try:
            body = orjson.loads(answer.content) if answer.content else None
        except orjson.JSONDecodeError:
            body = None
        if status >= 400 or not isinstance(body, dict):
            raise self._refusal(answer, body, where)
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthError(
                "the token endpoint answered without an access_token",
                request=where,
                status=status,
            )
        self._access = Secret(access)
        self._remember(self._access)
        lifetime = body.get("expires_in")
        try:
            seconds = float(lifetime) if lifetime is not None else None
        except (TypeError, ValueError):
            seconds = None
        if seconds is None or seconds <= 0:
            self._expires_at = None  # no lifetime given: keep it until a 401 says otherwise
        else:
            # Renew a margin early so a token never expires in flight; a short-lived token is
            # still used for at least half its life.
            self._expires_at = self._clock() + max(seconds - self.expiry_margin, seconds / 2)
        self._accept_extra(body)

    def _refusal(self, answer: httpx.Response, body: Any, where: str) -> ConnectorError:
        status = answer.status_code
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            reason = body["error"]
            if isinstance(body.get("error_description"), str):
                reason += f": {body['error_description']}"
        else:
            reason = " ".join(answer.text.split())
        reason = redact_text(reason[: _EXCERPT * 4], self.secrets())[:_EXCERPT]
        message = f"token endpoint answered {status} {answer.reason_phrase}: {reason}".rstrip(": ")
        if status == 429:
            return RateLimitedError(message, request=where, status=status)
        if status >= 500:
            # An outage at the token endpoint says nothing about the credentials.
            return UpstreamError(message, request=where, status=status)
        return AuthError(message, request=where, status=status)

    def _remember(self, value: Secret) -> None:
        if value not in self._seen:
            self._seen.append(value)

    def secrets(self) -> list[Secret]:
        """Return the client secret and every token obtained so far."""
        return [self.client_secret, *self._seen]


class OAuth2ClientCredentials(_OAuth2):
    """OAuth 2 client-credentials grant (RFC 6749 §4.4): the app authenticates as itself.

    The access token is fetched on the first request and reused until ``expires_in`` minus
    ``expiry_margin`` seconds have passed; a 401 fetches a new one once and repeats the request.

    Args:
        token_url: The token endpoint.
        client_id: The client id (not secret).
        client_secret: The client secret (a :class:`~cxm.connectors.Secret` or a string).
        scope: Space-separated scopes to ask for, if the vendor wants them.
        audience: The API the token is for, for vendors that ask for one (Auth0-style).
        client_auth: ``"post"`` sends the client id and secret in the form body, as most CX
            vendors document; ``"basic"`` sends them as HTTP Basic credentials.
        expiry_margin: Seconds before expiry at which the token is renewed.
        clock: Monotonic seconds; tests pass a fake to expire tokens.

    Examples:
        >>> OAuth2ClientCredentials("https://auth.example.com/token", "app", "s3cr3t")
        ... # doctest: +NORMALIZE_WHITESPACE
        OAuth2ClientCredentials(token_url='https://auth.example.com/token', client_id='app',
            client_secret=Secret('**********'))
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | Secret,
        *,
        scope: str | None = None,
        audience: str | None = None,
        client_auth: Literal["post", "basic"] = "post",
        expiry_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            token_url,
            client_id,
            client_secret,
            scope=scope,
            client_auth=client_auth,
            expiry_margin=expiry_margin,
            clock=clock,
        )
        self.audience = audience

    def _grant(self) -> dict[str, str]:
        form = {"grant_type": "client_credentials"}
        if self.audience:
            form["audience"] = self.audience
        return form

    def __repr__(self) -> str:
        return (
            f"OAuth2ClientCredentials(token_url={redact_url(self.token_url)!r}, "
            f"client_id={self.client_id!r}, client_secret={self.client_secret!r})"
        )


class OAuth2RefreshToken(_OAuth2):
    """OAuth 2 refresh-token grant (RFC 6749 §6): act for a user who authorised the app once.

    Access tokens are obtained with the refresh token, cached and renewed like
    :class:`OAuth2ClientCredentials`. When the token endpoint rotates the refresh token (answers
    with a new ``refresh_token``), the new one is used from then on, exposed as
    :attr:`refresh_token`, and handed to ``on_refresh`` so the connector can store it: the old
    one may stop working at once.

    Args:
        token_url: The token endpoint.
        client_id: The client id (not secret).
        client_secret: The client secret.
        refresh_token: The refresh token.
        scope: Space-separated scopes to ask for, if the vendor wants them.
        on_refresh: Called with the new refresh token (a :class:`~cxm.connectors.Secret`)
            whenever the endpoint rotates it.
        client_auth: ``"post"`` (form body) or ``"basic"`` (HTTP Basic), see
            :class:`OAuth2ClientCredentials`.
        expiry_margin: Seconds before expiry at which the token is renewed.
        clock: Monotonic seconds; tests pass a fake.

    Examples:
        >>> OAuth2RefreshToken("https://auth.example.com/token", "app", "s3cr3t", "r1")
        ... # doctest: +NORMALIZE_WHITESPACE
        OAuth2RefreshToken(token_url='https://auth.example.com/token', client_id='app',
            client_secret=Secret('**********'), refresh_token=Secret('**********'))
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | Secret,
        refresh_token: str | Secret,
        *,
        scope: str | None = None,
        on_refresh: Callable[[Secret], object] | None = None,
        client_auth: Literal["post", "basic"] = "post",
        expiry_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            token_url,
            client_id,
            client_secret,
            scope=scope,
            client_auth=client_auth,
            expiry_margin=expiry_margin,
            clock=clock,
        )
        self._refresh = _as_secret("OAuth2RefreshToken.refresh_token", refresh_token)
        self._remember(self._refresh)
        self.on_refresh = on_refresh

    @property
    def refresh_token(self) -> Secret:
        """The refresh token in use: the latest one the endpoint issued."""
        return self._refresh

    def _grant(self) -> dict[str, str]:
        return {"grant_type": "refresh_token", "refresh_token": self._refresh.reveal()}

    def _accept_extra(self, answer: dict[str, Any]) -> None:
        issued = answer.get("refresh_token")
        if isinstance(issued, str) and issued and issued != self._refresh.reveal():
            self._refresh = Secret(issued)
            self._remember(self._refresh)
            if self.on_refresh is not None:
                self.on_refresh(self._refresh)

    def __repr__(self) -> str:
        return (
            f"OAuth2RefreshToken(token_url={redact_url(self.token_url)!r}, "
            f"client_id={self.client_id!r}, client_secret={self.client_secret!r}, "
            f"refresh_token={self._refresh!r})"
        )
