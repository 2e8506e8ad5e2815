"""Redaction: credentials out of URLs, log lines, error messages and reprs.

Two nets catch a credential. The first knows the values: every :class:`~cxm.connectors.Secret`
the client holds (its auth's token, key, password or client secret, and whatever it passed as
``secrets=``) is replaced wherever it shows, raw or percent-encoded. The second knows the names:
a query parameter, a ``name=value`` pair or a JSON member whose name looks like a credential
(``api_key``, ``access_token``, ``client_secret``, ``*_token``, ...) has its value replaced even
when the value was never handed to the client, and user-info is stripped from URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

from cxm.connectors.base import Secret

__all__ = ["REDACTED", "SENSITIVE_PARAMS", "is_sensitive_name", "redact_text", "redact_url"]

REDACTED = "[REDACTED]"

SENSITIVE_PARAMS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "client_secret",
        "code",
        "key",
        "passwd",
        "password",
        "refresh_token",
        "secret",
        "sig",
        "signature",
        "token",
    }
)
# Vendors decorate the names (``hapikey``, ``x-api-key``, ``X-Amz-Signature``, ``auth_token``):
# a name ending like a credential is treated as one. A page token named ``page_token`` is
# redacted too; in a log line that costs a little detail, never a credential.
_SENSITIVE_ENDINGS = ("apikey", "_key", "_token", "_secret", "_password", "_signature")

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@?#]+@")
_PAIR = re.compile(r"(?<![\w.-])(?P<name>[\w.-]{1,64})=(?P<value>[^&\s\"'<>,;]+)")
_JSON_MEMBER = re.compile(r'"(?P<name>[\w.-]{1,64})"(?P<colon>\s*:\s*)"(?:[^"\\]|\\.)*"')
_SCHEME_TOKEN = re.compile(r"\b(?P<scheme>Bearer|Basic|Token|Bot)\s+[A-Za-z0-9._~+/=-]{8,}")


def is_sensitive_name(name: str) -> bool:
    """Return whether a parameter or member called ``name`` probably holds a credential.

    Args:
        name: A query parameter, form field or JSON member name, in any case, with ``-`` or
            ``_`` between words.

    Returns:
        ``True`` for the names in :data:`SENSITIVE_PARAMS` and for names ending in ``apikey``,
        ``_key``, ``_token``, ``_secret``, ``_password`` or ``_signature``.

    Examples:
        >>> is_sensitive_name("X-Api-Key"), is_sensitive_name("hapikey"), is_sensitive_name("page")
        (True, True, False)
    """
    normalised = name.strip().lower().replace("-", "_")
    return normalised in SENSITIVE_PARAMS or normalised.endswith(_SENSITIVE_ENDINGS)


def secret_values(secrets: Iterable[str | Secret | None]) -> list[str]:
    """Return every form in which the given secrets may show in text, longest first.

    A secret may be a prefix of another; replacing the longest first leaves no stub behind.
    """
    forms: set[str] = set()
    for item in secrets:
        if item is None:
            continue
        value = item.reveal() if isinstance(item, Secret) else item
        if not value:
            continue
        forms.update((value, quote(value, safe=""), quote_plus(value, safe="")))
    return sorted(forms, key=len, reverse=True)


def _replace_values(text: str, values: list[str]) -> str:
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def _redact_query(query: str) -> str:
    pairs = []
    for pair in query.split("&"):
        name, equals, _ = pair.partition("=")
        sensitive = equals and is_sensitive_name(unquote_plus(name))
        pairs.append(f"{name}={REDACTED}" if sensitive else pair)
    return "&".join(pairs)


def redact_url(url: object, secrets: Iterable[str | Secret | None] = ()) -> str:
    """Return ``url`` as text that is safe to log: no user-info, no credential.

    Args:
        url: A URL as ``str`` or ``httpx.URL``.
        secrets: Credential values to hide wherever they appear (in the path, the query, the
            fragment), as :class:`~cxm.connectors.Secret` or plain strings.

    Returns:
        The URL with user-info removed, the values of sensitive query parameters (see
        :func:`is_sensitive_name`) and of every secret replaced by ``[REDACTED]``.

    Examples:
        >>> redact_url("https://bob:pw@api.example.com/v1/items?api_key=k1&page=2")
        'https://api.example.com/v1/items?api_key=[REDACTED]&page=2'
        >>> redact_url("https://api.example.com/bot12345:abcdef/getUpdates", ["12345:abcdef"])
        'https://api.example.com/bot[REDACTED]/getUpdates'
    """
    text = str(url)
    values = secret_values(secrets)
    try:
        parts = urlsplit(text)
    except ValueError:
        # Not a URL after all (a bracket in the host, say): redact it as prose.
        return redact_text(text, values)
    netloc = parts.netloc.rpartition("@")[2]
    query = _redact_query(parts.query) if parts.query else parts.query
    rebuilt = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return _replace_values(rebuilt, values)


def _redact_pair(match: re.Match[str]) -> str:
    name = match["name"]
    return f"{name}={REDACTED}" if is_sensitive_name(name) else match[0]


# An OAuth authorization code travels in a query or a form (``code=...``, still redacted); a
# JSON member called "code" is a vendor's error code ("TOKEN_INVALID"), which people need to see.
_JSON_NOT_SENSITIVE = frozenset({"code"})


def _redact_member(match: re.Match[str]) -> str:
    name = match["name"]
    if name.lower() in _JSON_NOT_SENSITIVE or not is_sensitive_name(name):
        return match[0]
    return f'"{name}"{match["colon"]}"{REDACTED}"'


def redact_text(text: str, secrets: Iterable[str | Secret | None] = ()) -> str:
    """Return ``text`` (an error body, a log line, an exception message) without credentials.

    Args:
        text: Any text.
        secrets: Credential values to hide wherever they appear.

    Returns:
        The text with every secret value, the value of every sensitive ``name=value`` pair and
        JSON member, every ``Bearer``/``Basic``/``Token`` credential and the user-info of every
        URL replaced by ``[REDACTED]`` (user-info is dropped).

    Examples:
        >>> redact_text('{"error": "bad key", "api_key": "k1"} see https://u:p@h.example/x?token=t')
        '{"error": "bad key", "api_key": "[REDACTED]"} see https://h.example/x?token=[REDACTED]'
        >>> redact_text("Authorization: Bearer eyJhbGciOi.J9.abc")
        'Authorization: Bearer [REDACTED]'
    """
    text = _replace_values(text, secret_values(secrets))
    text = _USERINFO.sub(r"\g<scheme>", text)
    text = _PAIR.sub(_redact_pair, text)
    text = _JSON_MEMBER.sub(_redact_member, text)
    return _SCHEME_TOKEN.sub(rf"\g<scheme> {REDACTED}", text)
