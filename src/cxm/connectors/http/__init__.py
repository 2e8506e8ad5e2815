"""The HTTP toolkit connectors are built on: one client that does the chores of a REST API.

A connector reading a vendor's API needs the same things every time: credentials on each
request, retries with backoff when the vendor stumbles or throttles, a pace that stays under
its quota, a way through its pages that can stop and resume at a checkpoint, errors that say
which connector, stream and request failed, and no credential in any log line, error or repr.
:class:`HttpClient` wraps an ``httpx.Client`` with all of that; auth classes, a
:class:`RetryPolicy`, a :class:`RateLimiter` and paginators plug into it, and every connector
passes ``transport=`` through so it is tested against ``httpx.MockTransport`` with no network.

Examples:
    >>> import httpx
    >>> def api(request):
    ...     page = int(request.url.params["page"])
    ...     tickets = [{"id": page * 10 + i} for i in range(2)] if page <= 2 else []
    ...     return httpx.Response(200, json={"tickets": tickets})
    >>> client = HttpClient("https://support.example.com/api", auth=BearerAuth("tok"),
    ...                     transport=httpx.MockTransport(api))
    >>> pages = client.paginate("/tickets", paginator=PageNumberPaginator(), items="tickets")
    >>> [(page.number, [t["id"] for t in page.items], page.cursor) for page in pages]
    [(1, [10, 11], {'page': 2}), (2, [20, 21], {'page': 3}), (3, [], {'page': 4, 'done': True})]
    >>> client.close()
"""

from __future__ import annotations

from cxm.connectors.http._auth import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    CredentialAuth,
    OAuth2ClientCredentials,
    OAuth2RefreshToken,
)
from cxm.connectors.http._client import HttpClient, ItemsSelector, Page
from cxm.connectors.http._keyset import KeysetWindow
from cxm.connectors.http._paginators import (
    JsonCursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    Paginator,
    SinglePage,
    find_path,
)
from cxm.connectors.http._redaction import (
    REDACTED,
    SENSITIVE_PARAMS,
    is_sensitive_name,
    redact_text,
    redact_url,
)
from cxm.connectors.http._retry import (
    IDEMPOTENT_METHODS,
    RateLimiter,
    RetryPolicy,
    parse_retry_after,
)

__all__ = [
    "IDEMPOTENT_METHODS",
    "REDACTED",
    "SENSITIVE_PARAMS",
    "ApiKeyAuth",
    "BasicAuth",
    "BearerAuth",
    "CredentialAuth",
    "HttpClient",
    "ItemsSelector",
    "JsonCursorPaginator",
    "KeysetWindow",
    "LinkHeaderPaginator",
    "NextUrlPaginator",
    "OAuth2ClientCredentials",
    "OAuth2RefreshToken",
    "OffsetPaginator",
    "Page",
    "PageNumberPaginator",
    "PageRequest",
    "Paginator",
    "RateLimiter",
    "RetryPolicy",
    "SinglePage",
    "find_path",
    "is_sensitive_name",
    "parse_retry_after",
    "redact_text",
    "redact_url",
]
