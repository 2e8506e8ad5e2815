"""The ``yelp`` connector: the reviews Yelp Fusion shows for a list of businesses.

Yelp Fusion (the Yelp Places API) lists a business's reviews with
``GET /v3/businesses/{business_id_or_alias}/reviews`` and a bearer API key. The endpoint has no
date filter and, on most plans, answers with only the latest few reviews (three on the base
plans), so the connector *polls*: every sync asks each configured business again and stores what
it gets, keyed by Yelp's review id. A review seen before is an unchanged upsert, an edited one an
update; nothing is stored twice.

By default one request per business and sync is sent, without paging parameters, so a sync costs
as many calls of the daily quota as there are businesses. With ``page_size`` set (for plans that
return more reviews) the connector pages with ``limit`` and ``offset``, newest first
(``sort_by=newest``), until a short or empty page, the business's ``total`` or Yelp's offset cap.
The cursor keeps, per business, the newest ``time_created`` seen; a later sync stops paging at
the first page that reaches it, so only the first page or two are asked for again. The reviews
come newest first, so a business's mark is checkpointed only when its pass is complete: a mark
saved half-way would skip the older reviews not read yet if the sync stopped there.

Yelp counts every call against a daily quota that resets at midnight UTC and reports it in the
``RateLimit-DailyLimit``, ``RateLimit-Remaining`` and ``RateLimit-ResetTime`` headers. A ``429``
whose body says ``TOO_MANY_REQUESTS_PER_SECOND`` is retried (after ``Retry-After`` when sent,
else with backoff); one that says ``ACCESS_LIMIT_REACHED``, or a ``RateLimit-Remaining: 0``
before the next call, stops the stream at once with :class:`~cxm.RateLimitedError` naming the
reset time, after the reviews already read are stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import attrs
import httpx

from cxm.connectors.base import Checkpoint, Connector, Secret, Stream, secret
from cxm.connectors.http import BearerAuth, HttpClient, RetryPolicy
from cxm.connectors.options import check_source, http_url, id_list, int_between
from cxm.connectors.payload import pick
from cxm.exceptions import RateLimitedError, UpstreamError, ValidationError
from cxm.model import Feedback, Identity, Interaction

__all__ = [
    "DAILY_LIMIT_CODE",
    "DEFAULT_BASE_URL",
    "MAX_OFFSET",
    "MAX_PAGE_SIZE",
    "TOUCHPOINT",
    "YELP_TIME_ZONE",
    "YelpConfig",
    "YelpConnector",
    "review_interaction",
]

NAME = "yelp"
DEFAULT_BASE_URL = "https://api.yelp.com/v3"
"""Yelp Fusion's API root."""
TOUCHPOINT = "Yelp"
"""The touchpoint every Yelp interaction carries."""
YELP_TIME_ZONE = ZoneInfo("America/Los_Angeles")
"""Yelp writes ``time_created`` without an offset, documented as Pacific time ("PST")."""
DAILY_LIMIT_CODE = "ACCESS_LIMIT_REACHED"
"""The ``error.code`` of Yelp's 429 once the daily quota is spent."""
MAX_PAGE_SIZE = 50
"""The largest ``limit`` Yelp accepts on the reviews endpoint."""
MAX_OFFSET = 1000
"""The largest ``offset`` Yelp accepts; paging stops there."""

_BUSINESS_ID = re.compile(r"[^/?#\s]+")
_LOCALE = re.compile(r"^[a-z]{2,3}_[A-Z]{2}$")
_SORTS = ("newest", "yelp_sort")


def _business_ids(value: Any) -> tuple[str, ...]:
    return id_list(
        value,
        "business_ids",
        _BUSINESS_ID,
        expected="Yelp ids",
        each="a Yelp business id or alias",
    )


def _check_locale(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not _LOCALE.fullmatch(value)):
        raise ValidationError("locale", value, "must be a Yelp locale such as 'en_US' or 'fr_FR'")


def _check_sort_by(instance: Any, attribute: Any, value: Any) -> None:
    if value not in _SORTS:
        raise ValidationError("sort_by", value, "must be 'newest' or 'yelp_sort'")


@attrs.frozen(kw_only=True)
class YelpConfig:
    """Settings of the ``yelp`` connector.

    Attributes:
        api_key: The Yelp Fusion API key, sent as ``Authorization: Bearer``. Never printed.
        business_ids: The Yelp business ids (or aliases) whose reviews are polled; one or a
            list. Prefer the 22-character ids: an alias can change, and the value given is
            the ``business_id`` attribute the reviews are segmented by.
        base_url: The API's root.
        source: The interactions' ``source``; the sync state is keyed ``yelp:<source>``.
        locale: Ask for reviews in this locale (``"en_US"``, ``"fr_FR"``); Yelp's default
            when unset.
        sort_by: Yelp's ``sort_by``: ``"newest"`` (lets later syncs stop at the first known
            review) or ``"yelp_sort"`` (Yelp's default order; every page is read every sync).
        page_size: ``None`` (default): one request per business, without ``limit`` and
            ``offset``, for plans that return a few reviews. A number (1 to 50): page through
            the reviews that many at a time, for plans that return more.
        transport: An ``httpx`` transport, for tests (``httpx.MockTransport``).
        retry: How failed requests are retried (5xx, and 429 per-second limits).
    """

    api_key: Secret = attrs.field(converter=secret, repr=False)
    business_ids: tuple[str, ...] = attrs.field(converter=_business_ids)
    base_url: str = attrs.field(default=DEFAULT_BASE_URL, converter=http_url)
    source: str = attrs.field(default=NAME, validator=check_source)
    locale: str | None = attrs.field(default=None, validator=_check_locale)
    sort_by: Literal["newest", "yelp_sort"] = attrs.field(
        default="newest", validator=_check_sort_by
    )
    page_size: int | None = attrs.field(
        default=None, validator=int_between(1, MAX_PAGE_SIZE, optional=True)
    )
    transport: httpx.BaseTransport | None = attrs.field(default=None, repr=False)
    retry: RetryPolicy | None = attrs.field(default=None, repr=False)


class YelpConnector(Connector):
    """Yelp Fusion reviews of a list of businesses, polled and de-duplicated by review id."""

    name = NAME
    summary = "Yelp Fusion business reviews (bearer API key), polled per business"
    Config = YelpConfig
    config: YelpConfig

    @property
    def state_key(self) -> str:
        """``yelp:<source>``: one cursor holding a mark per business.

        Adding a business keeps the other businesses' marks and reads the new one from its
        first review; the API key is not part of the key, so a rotated key goes on as before.
        """
        return f"{NAME}:{self.config.source}"

    # -- requests -----------------------------------------------------------------------------

    def _policy(self) -> RetryPolicy:
        return self.config.retry if self.config.retry is not None else RetryPolicy()

    def _client(self) -> HttpClient:
        config = self.config
        policy = self._policy()
        # 429s are handled in _get(): only the per-second one is worth another try.
        return HttpClient(
            config.base_url,
            auth=BearerAuth(config.api_key),
            transport=config.transport,
            retry=attrs.evolve(policy, statuses=policy.statuses - {429}),
            connector=self.name,
            secrets=self.secrets(),
        )

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"sort_by": self.config.sort_by}
        if self.config.locale:
            params["locale"] = self.config.locale
        return params

    def _get(
        self, client: HttpClient, url: str, params: dict[str, Any], stream: str | None
    ) -> httpx.Response:
        """GET with Yelp's two 429s told apart: retry the per-second one, stop on the daily one.

        Raises:
            RateLimitedError: At once for ``ACCESS_LIMIT_REACHED`` (with the reset time); for
                the per-second limit after the policy's attempts, or when ``Retry-After`` asks
                for longer than ``max_retry_after``.
        """
        policy = self._policy()
        attempt = 0
        while True:
            attempt += 1
            try:
                return client.get(url, params=params, stream=stream)
            except RateLimitedError as exc:
                response = _response_of(exc)
                if response is None:
                    raise
                if _error_code(response) == DAILY_LIMIT_CODE:
                    raise self._quota_error(
                        response.headers, stream, exc.request, status=429
                    ) from None
                wait = policy.retry_after(response.headers)
                exc.retry_after = wait
                if 429 not in policy.statuses or attempt >= policy.attempts:
                    raise
                if wait is not None and wait > policy.max_retry_after:
                    raise
                policy.sleep(wait if wait is not None else policy.backoff_delay(attempt))

    def _quota_error(
        self,
        headers: httpx.Headers,
        stream: str | None,
        request: str | None,
        *,
        status: int | None = None,
    ) -> RateLimitedError:
        """The error that stops a sync when the daily quota is spent, saying when it resets."""
        limit = headers.get("ratelimit-dailylimit")
        reset_text = headers.get("ratelimit-resettime")
        now = _server_time(headers.get("date"), self._policy().clock())
        reset = _reset_time(reset_text, now)
        quota = f" of {limit} calls" if limit else ""
        return RateLimitedError(
            f"Yelp's daily API quota{quota} is used up ({DAILY_LIMIT_CODE}); it resets at "
            f"{reset.isoformat()}; the next sync goes on from the last checkpoint",
            retry_after=max(0.0, (reset - now).total_seconds()),
            connector=self.name,
            stream=stream,
            request=request,
            status=status,
        )

    # -- the connector ------------------------------------------------------------------------

    def check(self) -> None:
        """Ask for the first business's reviews once: proves the key, the plan and the id."""
        with self._client() as client:
            business = self.config.business_ids[0]
            self._get(client, f"/businesses/{business}/reviews", self._params(), None)

    def streams(self) -> list[Stream]:
        """Return the one stream, ``reviews``."""
        return [
            Stream(
                name="reviews",
                read=self.read_reviews,
                parse=self.parse_review,
                description="the latest reviews of each business, polled and de-duplicated",
            )
        ]

    def read_reviews(self, cursor: Any) -> Iterator[Any]:
        """Yield each business's reviews, then a checkpoint with the business's new mark.

        The cursor is ``{"businesses": {"<business id>": "<newest time_created>"}}``. Every
        review of every page read is yielded as ``{"business_id": ..., "review": ...}``; those
        stored before come back unchanged. With ``page_size`` and ``sort_by="newest"``, paging
        stops after the first page holding a review not newer than the business's mark.

        Raises:
            RateLimitedError: When the daily quota is spent; what was read is stored first.
            UpstreamError: When an answer holds no ``reviews`` list.
        """
        config = self.config
        marks: dict[str, str] = dict((cursor or {}).get("businesses") or {})
        with self._client() as client:
            last = len(config.business_ids) - 1
            for index, business in enumerate(config.business_ids):
                mark = _local_time(marks.get(business))
                newest, newest_time = marks.get(business), mark
                offset = 0
                while True:
                    params = self._params()
                    if config.page_size is not None:
                        params.update(limit=config.page_size, offset=offset)
                    response = self._get(
                        client, f"/businesses/{business}/reviews", params, "reviews"
                    )
                    body, reviews = _reviews_of(response)
                    reached = False
                    for review in reviews:
                        created = review.get("time_created") if isinstance(review, dict) else None
                        when = _local_time(created)
                        if when is not None and isinstance(created, str):
                            reached = reached or (mark is not None and when <= mark)
                            if newest_time is None or when > newest_time:
                                newest, newest_time = created, when
                        yield {"business_id": business, "review": review}
                    offset += len(reviews)
                    if not self._more_pages(body, reviews, offset, reached):
                        break
                    self._stop_if_spent(response)
                if newest is not None:
                    marks[business] = newest
                yield Checkpoint({"businesses": dict(marks)})
                if index < last:
                    self._stop_if_spent(response)

    def _more_pages(self, body: Any, reviews: list[Any], offset: int, reached: bool) -> bool:
        size = self.config.page_size
        if size is None or len(reviews) < size or offset >= MAX_OFFSET:
            return False
        if reached and self.config.sort_by == "newest":
            return False  # everything further down is older than the mark
        total = body.get("total")
        return not (isinstance(total, int) and offset >= total)

    def _stop_if_spent(self, response: httpx.Response) -> None:
        """Raise before a call that Yelp would refuse: ``RateLimit-Remaining`` is ``0``."""
        remaining = response.headers.get("ratelimit-remaining")
        if remaining is not None and remaining.strip() == "0":
            raise self._quota_error(response.headers, "reviews", None)

    def parse_review(self, item: dict[str, Any]) -> Interaction:
        """Turn one review (with its business, as :meth:`read_reviews` yields it) into a record."""
        return review_interaction(
            item["review"], business_id=item["business_id"], source=self.source
        )


def review_interaction(review: Any, *, business_id: str, source: str = NAME) -> Interaction:
    """Turn one Yelp Fusion review into an inbound ``review`` interaction.

    Args:
        review: A review from ``GET /v3/businesses/{id}/reviews``.
        business_id: The business (id or alias, as configured) the review was read for.
        source: The interaction's ``source``.

    Returns:
        The interaction, with a 1-5 ``rating`` feedback, the reviewer's ``yelp:user``
        identity and the ``business_id`` attribute.

    Raises:
        ValidationError: Naming the Yelp field that is missing or malformed.

    Examples:
        >>> review = {"id": "xAG4", "rating": 5, "text": "Great tacos",
        ...           "time_created": "2026-04-18 19:32:11",
        ...           "user": {"id": "u1", "name": "Ann B."}}
        >>> interaction = review_interaction(review, business_id="biz-1")
        >>> interaction.occurred_at.isoformat(), interaction.identities[0].kind
        ('2026-04-19T02:32:11+00:00', 'yelp:user')
        >>> interaction.feedback[0].score, interaction.attributes["business_id"]
        (5, 'biz-1')
    """
    review_id = pick(review, "id", str, vendor=NAME)
    created = pick(review, "time_created", str, vendor=NAME)
    occurred = _local_time(created)
    if occurred is None:
        raise ValidationError(
            f"{NAME}.time_created", created, "expected 'YYYY-MM-DD HH:MM:SS' in the API's answer"
        )
    rating = pick(review, "rating", float, vendor=NAME)
    if isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValidationError(f"{NAME}.rating", rating, "outside Yelp's 1-5 stars")
    user_id = pick(review, "user.id", str, vendor=NAME)
    text = pick(review, "text", str, vendor=NAME, default=None) or None
    attributes: dict[str, Any] = {
        "business_id": business_id,
        "url": pick(review, "url", str, vendor=NAME, default=None),
        "reviewer_name": pick(review, "user.name", str, vendor=NAME, default=None),
        "reviewer_profile_url": pick(review, "user.profile_url", str, vendor=NAME, default=None),
    }
    score = int(rating) if float(rating).is_integer() else rating
    return Interaction(
        source=source,
        source_id=review_id,
        occurred_at=occurred,
        channel="review_site",
        touchpoint=TOUCHPOINT,
        kind="review",
        direction="inbound",
        text=text,
        identities=[Identity("yelp:user", user_id)],
        attributes={key: value for key, value in attributes.items() if value is not None},
        feedback=[Feedback(metric="rating", score=score, scale=(1, 5), comment=text)],
    )


# -- helpers ----------------------------------------------------------------------------------


def _local_time(value: Any) -> datetime | None:
    """``time_created`` as an aware datetime (Pacific time unless it carries an offset)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=YELP_TIME_ZONE)


def _reviews_of(response: httpx.Response) -> tuple[dict[str, Any], list[Any]]:
    try:
        body = response.json()
    except ValueError:
        body = None
    reviews = body.get("reviews") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(reviews, list):
        raise UpstreamError(
            "the answer holds no 'reviews' list",
            connector=NAME,
            stream="reviews",
            status=response.status_code,
        )
    return body, reviews


def _response_of(error: Exception) -> httpx.Response | None:
    cause = error.__cause__
    return cause.response if isinstance(cause, httpx.HTTPStatusError) else None


def _error_code(response: httpx.Response) -> str | None:
    """Yelp's ``error.code`` (``TOO_MANY_REQUESTS_PER_SECOND``, ``ACCESS_LIMIT_REACHED``)."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _server_time(date: str | None, clock: float) -> datetime:
    """The answer's ``Date`` header when readable (the server's clock), else ``clock``."""
    if date:
        try:
            moment = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError):
            moment = None
        if moment is not None:
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return datetime.fromtimestamp(clock, UTC)


def _reset_time(value: str | None, now: datetime) -> datetime:
    """``RateLimit-ResetTime`` (ISO 8601), else the next midnight UTC, when Yelp resets."""
    if value:
        try:
            reset = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            reset = None
        if reset is not None:
            return reset if reset.tzinfo is not None else reset.replace(tzinfo=UTC)
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)
