"""The ``trustpilot`` connector: the reviews written about one Trustpilot business unit.

Trustpilot lists a business unit's reviews a page at a time (``page`` from 1, ``perPage`` at
most 100), sorted here oldest first (``orderBy=createdat.asc``) and filtered by creation time
with ``startDateTime`` (inclusive, whole seconds, no time zone: UTC is sent). Each answer carries
``links``; the connector stops after a page without a ``next-page`` link (or after an empty
page, for an answer without links).

With an API key alone the connector reads the public endpoint
(``GET /v1/business-units/{id}/reviews``, key in the ``apikey`` header), where a reviewer is known
only by a Trustpilot consumer id. With OAuth (a business user's refresh token and the
application's secret) it reads the private endpoint
(``GET /v1/private/business-units/{id}/reviews``, ``Authorization: Bearer`` plus the key),
which adds the ``referralEmail`` and the ``referenceId`` the business sent with the review
invitation, so that a review joins the customer who placed the order. Access tokens come
from Trustpilot's token endpoint with the ``refresh_token`` grant, the key and secret in HTTP
Basic.

Each review becomes an inbound ``review`` interaction with its 1-5 stars as ``rating`` feedback;
the company's reply becomes a separate outbound ``reply`` interaction (``<review id>:reply``) in
the same customer's journey.

The cursor is the newest ``createdAt`` seen, since creation time is what the filter filters on.
A checkpoint follows every page: pages run oldest first and new reviews are appended at the
end, so a sync stopped between pages resumes at the next page of the same query (its
``startDateTime`` is kept in the cursor) without loss. Trustpilot cannot filter on
``updatedAt``, so a reply or an edit made to a review after it was read would never be seen;
the next sync therefore starts ``lookback_days`` before the mark, reads those reviews again,
and the store counts the unchanged ones as unchanged and updates the others (``updatedAt``
decides).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import httpx

from cxm.connectors.base import Checkpoint, Connector, Secret, Stream, optional_secret, secret
from cxm.connectors.http import (
    ApiKeyAuth,
    HttpClient,
    OAuth2RefreshToken,
    PageNumberPaginator,
    RateLimiter,
    RetryPolicy,
)
from cxm.connectors.options import check_rate_limit, check_source, http_url, int_between
from cxm.connectors.payload import MISSING, pick
from cxm.exceptions import ValidationError
from cxm.model import Feedback, Identity, Interaction

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_PAGE_SIZE",
    "TOKEN_PATH",
    "TOUCHPOINT",
    "TrustpilotConfig",
    "TrustpilotConnector",
    "review_interactions",
]

NAME = "trustpilot"
DEFAULT_BASE_URL = "https://api.trustpilot.com/v1"
"""Trustpilot's API root."""
TOKEN_PATH = "/oauth/oauth-business-users-for-applications/accesstoken"  # noqa: S105 - a path
"""The token endpoint, under ``base_url``, used unless ``token_url`` is given."""
TOUCHPOINT = "Trustpilot"
"""The touchpoint of every review and reply (the catalog's name for this review site)."""
MAX_PAGE_SIZE = 100
"""The largest ``perPage`` the reviews endpoints accept."""

_UNIT = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def _token_url(value: Any) -> str | None:
    return None if value is None else http_url(value, "token_url")


def _business_unit_id(value: Any) -> str:
    if not isinstance(value, str) or not _UNIT.fullmatch(value.strip()):
        raise ValidationError(
            "business_unit_id",
            value,
            "must be a Trustpilot business unit id (GET /v1/business-units/find?name=<domain>)",
        )
    return value.strip()


def _start(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("start", value, "must be an ISO 8601 time")
    try:
        _parse_time(value)
    except ValueError:
        raise ValidationError("start", value, "must be an ISO 8601 time") from None
    return value


def _parse_time(value: str) -> datetime:
    """Read a Trustpilot time; one without an offset (the docs show them so) is UTC."""
    parsed = datetime.fromisoformat(value.strip())
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _time(review: Any, path: str, *, default: Any = MISSING) -> datetime:
    value: Any = pick(review, path, str, vendor=NAME, default=default)
    if isinstance(value, datetime):  # the default
        return value
    try:
        return _parse_time(value)
    except ValueError:
        raise ValidationError(f"{NAME}.{path}", value, "not an ISO 8601 time") from None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _filter_time(moment: datetime) -> str:
    """Write a time as ``startDateTime`` wants it: UTC, whole seconds, no offset.

    Cutting the fraction off moves the bound earlier, never later, so nothing is skipped.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


@attrs.frozen(kw_only=True)
class TrustpilotConfig:
    """Settings of the ``trustpilot`` connector.

    Attributes:
        business_unit_id: The business unit whose reviews are read
            (``GET /v1/business-units/find?name=example.com`` with the API key gives it).
        api_key: The application's API key (also its OAuth client id). Never printed.
        client_secret: The application's secret. With ``refresh_token``, switches to the
            private endpoint (consumer e-mail and reference id). Never printed.
        refresh_token: A business user's OAuth refresh token (from the password or
            authorization-code grant), for the private endpoint. Never printed.
        token_url: The OAuth token endpoint; default ``base_url`` + :data:`TOKEN_PATH`.
        base_url: The API's root.
        source: The interactions' ``source``. Review ids are unique across Trustpilot, so one
            source serves every business unit; never change it afterwards.
        start: On the first sync (and a full refresh), read reviews created at or after this
            ISO time (all when unset).
        lookback_days: Each later sync reads again the reviews created this many days before
            the newest one already read, to pick up replies and edits made since.
        page_size: Reviews per page, 1 to 100.
        rate_limit: Requests per second (Trustpilot asks for at most 833 calls per 5 minutes),
            or a shared :class:`~cxm.connectors.http.RateLimiter`.
        transport: An ``httpx`` transport, for tests (``httpx.MockTransport``).
        retry: How failed requests are retried.
    """

    business_unit_id: str = attrs.field(converter=_business_unit_id)
    api_key: Secret = attrs.field(converter=secret, repr=False)
    client_secret: Secret | None = attrs.field(default=None, converter=optional_secret, repr=False)
    refresh_token: Secret | None = attrs.field(default=None, converter=optional_secret, repr=False)
    token_url: str | None = attrs.field(default=None, converter=_token_url)
    base_url: str = attrs.field(default=DEFAULT_BASE_URL, converter=http_url)
    source: str = attrs.field(default=NAME, validator=check_source)
    start: str | None = attrs.field(default=None, converter=_start)
    lookback_days: int = attrs.field(default=7, validator=int_between(0, 3650))
    page_size: int = attrs.field(default=MAX_PAGE_SIZE, validator=int_between(1, MAX_PAGE_SIZE))
    rate_limit: float | RateLimiter = attrs.field(default=2.5, validator=check_rate_limit)
    transport: httpx.BaseTransport | None = attrs.field(default=None, repr=False)
    retry: RetryPolicy | None = attrs.field(default=None, repr=False)

    @refresh_token.validator
    def _oauth_pair(self, attribute: Any, value: Secret | None) -> None:
        if (value is None) != (self.client_secret is None):
            raise ValidationError(
                "refresh_token", None, "OAuth needs both client_secret and refresh_token"
            )

    @property
    def private(self) -> bool:
        """Whether the private (OAuth) reviews endpoint is read."""
        return self.refresh_token is not None


class _Pages(PageNumberPaginator):
    """``page``/``perPage``, ending after a page whose ``links`` hold no ``next-page``."""

    def update_state(self, response: httpx.Response, body: Any, items: list[Any]) -> None:
        """Move to the next page; stop after an empty page or one without a next-page link."""
        super().update_state(response, body, items)
        links = body.get("links") if isinstance(body, Mapping) else None
        if isinstance(links, list) and not any(
            isinstance(link, Mapping) and link.get("rel") == "next-page" for link in links
        ):
            self.has_next = False


class TrustpilotConnector(Connector):
    """Reviews of one Trustpilot business unit, with the company's replies."""

    name = NAME
    summary = "Trustpilot business-unit reviews and company replies (API key or OAuth)"
    Config = TrustpilotConfig
    config: TrustpilotConfig

    def __init__(self, config: Any = None, /, **options: Any) -> None:
        super().__init__(config, **options)
        rate = self.config.rate_limit
        # One limiter for every client of this instance: Trustpilot counts per application.
        self._limiter = rate if isinstance(rate, RateLimiter) else RateLimiter(float(rate))

    @property
    def state_key(self) -> str:
        """``trustpilot:<business unit id>``: one cursor per business unit."""
        return f"{NAME}:{self.config.business_unit_id}"

    def _client(self) -> HttpClient:
        config = self.config
        auth: httpx.Auth
        headers: dict[str, str] = {}
        if config.client_secret is not None and config.refresh_token is not None:
            auth = OAuth2RefreshToken(
                config.token_url or f"{config.base_url}{TOKEN_PATH}",
                config.api_key.reveal(),
                config.client_secret,
                config.refresh_token,
                client_auth="basic",
            )
            # Trustpilot's own client sends the key with the bearer token as well.
            headers["apikey"] = config.api_key.reveal()
        else:
            auth = ApiKeyAuth(config.api_key, header="apikey")
        return HttpClient(
            config.base_url,
            auth=auth,
            headers=headers,
            transport=config.transport,
            retry=config.retry,
            rate_limit=self._limiter,
            connector=self.name,
            secrets=self.secrets(),
        )

    @property
    def _reviews_path(self) -> str:
        prefix = "/private" if self.config.private else ""
        return f"{prefix}/business-units/{self.config.business_unit_id}/reviews"

    def check(self) -> None:
        """Read one review: proves the key (or the OAuth grant) and the business unit id."""
        with self._client() as client:
            client.get_json(self._reviews_path, params={"perPage": 1}, stream="reviews")

    def streams(self) -> list[Stream]:
        """Return the one stream, ``reviews``."""
        return [
            Stream(
                name="reviews",
                read=self.read_reviews,
                parse=self.parse_review,
                description="reviews of the business unit, oldest first, and the replies",
            )
        ]

    def read_reviews(self, cursor: Any) -> Iterator[Any]:
        """Yield raw reviews created since the cursor, oldest first, and a checkpoint per page.

        Between syncs the cursor is ``{"since": "<newest createdAt>"}``. During a sweep it is
        ``{"from": "<startDateTime sent>", "page": {...}, "newest": "<createdAt>"}``, so a
        resumed sweep repeats the same query from the next page.
        """
        cursor = cursor if isinstance(cursor, Mapping) else {}
        newest: str | None
        if "page" in cursor:  # resuming a sweep
            start_filter: str | None = cursor.get("from")
            newest = cursor.get("newest")
        else:
            since = cursor.get("since")
            if since is not None:
                mark = _parse_time(since)
                start_filter = _filter_time(mark - timedelta(days=self.config.lookback_days))
                newest = since
            else:
                first = self.config.start
                start_filter = _filter_time(_parse_time(first)) if first else None
                newest = None
        params: dict[str, Any] = {"orderBy": "createdat.asc"}
        if start_filter is not None:
            params["startDateTime"] = start_filter
        pages = _Pages(page_size=self.config.page_size, size_param="perPage")
        with self._client() as client:
            for page in client.paginate(
                self._reviews_path,
                params=params,
                paginator=pages,
                items="reviews",
                stream="reviews",
                resume=cursor.get("page"),
            ):
                yield from page.items
                newest = _newest(newest, page.items)
                if page.cursor.get("done"):
                    yield Checkpoint({"since": newest} if newest else {})
                else:
                    yield Checkpoint({"from": start_filter, "page": page.cursor, "newest": newest})

    def parse_review(self, review: Any) -> list[Interaction]:
        """Turn one API review into its interaction, and its reply's when there is one."""
        return review_interactions(
            review, source=self.source, business_unit_id=self.config.business_unit_id
        )


def _newest(newest: str | None, reviews: list[Any]) -> str | None:
    """The latest ``createdAt`` among ``reviews`` and ``newest`` (unreadable ones skipped)."""
    best = _parse_time(newest) if newest else None
    for review in reviews:
        value = review.get("createdAt") if isinstance(review, Mapping) else None
        if not isinstance(value, str):
            continue
        try:
            seen = _parse_time(value)
        except ValueError:
            continue  # the parse step quarantines it
        if best is None or seen > best:
            best = seen
    return _iso(best) if best is not None else None


def review_interactions(
    review: Any, *, source: str = NAME, business_unit_id: str | None = None
) -> list[Interaction]:
    r"""Turn one Trustpilot review into interactions: the review, then the company's reply.

    Args:
        review: A review as the reviews endpoints (public or private) return it.
        source: The interactions' ``source``.
        business_unit_id: Kept as an attribute when the review does not name its unit.

    Returns:
        The inbound ``review`` with its stars as ``rating`` feedback (1-5), followed by the
        outbound ``reply`` (source id ``<review id>:reply``) when the company answered.

    Raises:
        ValidationError: Naming the Trustpilot field that is missing or malformed.

    Examples:
        >>> review = {"id": "r1", "stars": 4, "title": "Fast", "text": "Came next day.",
        ...           "createdAt": "2026-04-28T10:15:00Z", "consumer": {"id": "c1"},
        ...           "companyReply": {"text": "Thanks!", "createdAt": "2026-04-29T08:00:00Z"}}
        >>> found, reply = review_interactions(review)
        >>> found.text, found.feedback[0].score, reply.source_id, str(reply.direction)
        ('Fast\n\nCame next day.', 4, 'r1:reply', 'outbound')
    """
    review_id = pick(review, "id", str, vendor=NAME)
    created = _time(review, "createdAt")
    updated = _time(review, "updatedAt", default=created)
    stars = pick(review, "stars", int, vendor=NAME)
    if not 1 <= stars <= 5:
        raise ValidationError(f"{NAME}.stars", stars, "outside Trustpilot's 1..5 stars")
    title = pick(review, "title", str, vendor=NAME, default="").strip()
    body = pick(review, "text", str, vendor=NAME, default="").strip()
    identities = [Identity(f"{NAME}:consumer", pick(review, "consumer.id", str, vendor=NAME))]
    attributes: dict[str, Any] = {
        "business_unit_id": pick(
            review, "businessUnit.id", str, vendor=NAME, default=business_unit_id
        ),
        "consumer_name": pick(review, "consumer.displayName", str, vendor=NAME, default=None),
        "title": title or None,
        "language": pick(review, "language", str, vendor=NAME, default=None),
        "status": pick(review, "status", str, vendor=NAME, default=None),
        "verified": pick(review, "isVerified", bool, vendor=NAME, default=None),
        "review_source": pick(review, "source", str, vendor=NAME, default=None),
        "location_id": pick(review, "location.id", str, vendor=NAME, default=None),
    }
    email = pick(review, "referralEmail", str, vendor=NAME, default="").strip()
    if email:
        try:
            identities.append(Identity("email", email))
        except ValidationError:
            attributes["referral_email"] = email  # kept, but not trusted to join a customer
    reference = pick(review, "referenceId", str, vendor=NAME, default="").strip()
    if reference:
        identities.append(Identity(f"{NAME}:reference", reference))
        attributes["reference_id"] = reference
    attributes = {key: value for key, value in attributes.items() if value is not None}
    text = "\n\n".join(part for part in (title, body) if part) or None
    out = [
        Interaction(
            source=source,
            source_id=review_id,
            occurred_at=created,
            updated_at=updated,
            channel="review_site",
            touchpoint=TOUCHPOINT,
            kind="review",
            direction="inbound",
            text=text,
            identities=identities,
            attributes=attributes,
            feedback=[Feedback(metric="rating", score=stars, scale=(1, 5), comment=body or None)],
        )
    ]
    reply = pick(review, "companyReply", dict, vendor=NAME, default=None)
    if reply is not None:
        replied = _time(review, "companyReply.createdAt")
        reply_attributes = {
            "business_unit_id": attributes.get("business_unit_id"),
            "in_reply_to": review_id,
            "author_business_user_id": pick(
                review, "companyReply.authorBusinessUserId", str, vendor=NAME, default=None
            ),
        }
        out.append(
            Interaction(
                source=source,
                source_id=f"{review_id}:reply",
                occurred_at=replied,
                updated_at=_time(review, "companyReply.updatedAt", default=replied),
                channel="review_site",
                touchpoint=TOUCHPOINT,
                kind="reply",
                direction="outbound",
                text=pick(review, "companyReply.text", str, vendor=NAME),
                identities=identities,
                attributes={k: v for k, v in reply_attributes.items() if v is not None},
            )
        )
    return out
