"""Google Business Profile reviews: what customers wrote about each location, and the replies.

The Business Profile API (``mybusiness.googleapis.com/v4``) lists a location's reviews newest
first, by ``updateTime``, a page at a time. The connector reads every configured location with
one OAuth 2 refresh token and keeps one high-water mark per location in a single JSON cursor:
on the next sync it pages through each location only until it meets a review it has already
seen. Because the pass runs from new to old, the mark is saved only once a location's pass is
complete; a mark saved half-way would make a crashed sync skip the older reviews it had not
reached yet. Each review becomes an inbound ``review`` interaction with its star rating as
``rating`` feedback and the location as an attribute; an owner's reply becomes a separate
outbound interaction. The API gives no stable id for a reviewer (a display name only), so the
interactions carry no identity.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import attrs
import httpx

from cxm.connectors.base import Checkpoint, Connector, Secret, Stream, secret
from cxm.connectors.http import HttpClient, JsonCursorPaginator, OAuth2RefreshToken, RetryPolicy
from cxm.connectors.options import check_source, http_url, id_list, int_between
from cxm.connectors.payload import pick
from cxm.exceptions import ValidationError
from cxm.model import Feedback, Interaction

__all__ = [
    "DEFAULT_BASE_URL",
    "GOOGLE_TOKEN_URL",
    "STAR_RATINGS",
    "TOUCHPOINT",
    "GoogleBusinessProfileConfig",
    "GoogleBusinessProfileConnector",
    "review_interactions",
]

NAME = "google-business-profile"
DEFAULT_BASE_URL = "https://mybusiness.googleapis.com/v4"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
TOUCHPOINT = "Google Business Profile"
"""The touchpoint of every review and reply (the catalog's name for this review site)."""
STAR_RATINGS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
"""The API's ``starRating`` enum and the 1-5 score each stands for."""

_LOCATION = re.compile(r"^accounts/[^/\s]+/locations/[^/\s]+$")


def _token_url(value: Any) -> str:
    return http_url(value, "token_url")


def _locations(value: Any) -> tuple[str, ...]:
    return id_list(
        value,
        "locations",
        _LOCATION,
        expected="'accounts/<id>/locations/<id>'",
        each="a location name 'accounts/<id>/locations/<id>'",
        trim="/",
    )


@attrs.frozen(kw_only=True)
class GoogleBusinessProfileConfig:
    """Settings of the ``google-business-profile`` connector.

    Attributes:
        client_id: The OAuth 2 client id of your Google Cloud project.
        client_secret: Its client secret (never printed).
        refresh_token: A refresh token a location owner or manager granted with the
            ``https://www.googleapis.com/auth/business.manage`` scope (never printed).
        locations: The location names to read, ``accounts/<account id>/locations/<location
            id>``; one name or a list.
        base_url: The API's root.
        token_url: Google's OAuth 2 token endpoint.
        page_size: Reviews per page (the API allows at most 50).
        source: The interactions' ``source``. Review ids are Google's, unique across accounts,
            so one source serves every location; never change it afterwards.
        transport: An ``httpx`` transport, for tests (``httpx.MockTransport``).
        retry: How failed requests are retried.
    """

    client_id: str = attrs.field(validator=attrs.validators.min_len(1))
    client_secret: Secret = attrs.field(converter=secret, repr=False)
    refresh_token: Secret = attrs.field(converter=secret, repr=False)
    locations: tuple[str, ...] = attrs.field(converter=_locations)
    base_url: str = attrs.field(default=DEFAULT_BASE_URL, converter=http_url)
    token_url: str = attrs.field(default=GOOGLE_TOKEN_URL, converter=_token_url)
    page_size: int = attrs.field(default=50, validator=int_between(1, 50))
    source: str = attrs.field(default=NAME, validator=check_source)
    transport: httpx.BaseTransport | None = attrs.field(default=None, repr=False)
    retry: RetryPolicy | None = None


class GoogleBusinessProfileConnector(Connector):
    """Reviews and owner replies of Google Business Profile locations."""

    name = NAME
    summary = "Reviews and owner replies of Google Business Profile locations (OAuth 2)"
    Config = GoogleBusinessProfileConfig
    config: GoogleBusinessProfileConfig

    @property
    def state_key(self) -> str:
        """``google-business-profile:<accounts>``: the accounts the locations belong to.

        Cursors are kept per location inside the stream's cursor, so adding a location of the
        same account keeps the others' marks and reads the new one from its first review.
        """
        accounts = sorted({name.split("/locations/")[0] for name in self.config.locations})
        key = f"{NAME}:{','.join(accounts)}"
        if len(key) > 128:
            digest = hashlib.sha256(key.encode()).hexdigest()[:16]
            key = f"{key[: 128 - 18]}~{digest}"
        return key

    def _client(self) -> HttpClient:
        config = self.config
        auth = OAuth2RefreshToken(
            config.token_url, config.client_id, config.client_secret, config.refresh_token
        )
        return HttpClient(
            config.base_url,
            auth=auth,
            transport=config.transport,
            retry=config.retry,
            connector=self.name,
            secrets=self.secrets(),
        )

    def check(self) -> None:
        """Fetch a token and one review of the first location."""
        with self._client() as client:
            client.get_json(f"/{self.config.locations[0]}/reviews", params={"pageSize": 1})

    def streams(self) -> list[Stream]:
        """Return the one stream, ``reviews``."""
        return [
            Stream(
                name="reviews",
                read=self.read_reviews,
                parse=self.parse_review,
                description="reviews of each location, newest first, and the owner's replies",
            )
        ]

    # -- reading ------------------------------------------------------------------------------

    def read_reviews(self, cursor: Any) -> Iterator[Any]:
        """Yield each location's reviews changed since its mark, then the location's new mark.

        The cursor is ``{"locations": {"accounts/1/locations/2": "<updateTime>", ...}}``.
        Reviews come newest first, so a location's pass stops at the first review whose
        ``updateTime`` is not after the mark, and the new mark (the newest ``updateTime`` of
        the pass) is checkpointed only when the pass is complete: checkpointing half-way
        would skip the older reviews not yet read if the sync stopped there.
        """
        marks: dict[str, str] = dict((cursor or {}).get("locations") or {})
        with self._client() as client:
            for location in self.config.locations:
                mark = marks.get(location)
                seen = _parse_time(mark) if mark else None
                newest = mark
                newest_time = seen
                pages = client.paginate(
                    f"/{location}/reviews",
                    paginator=JsonCursorPaginator(cursor_path="nextPageToken", param="pageToken"),
                    params={"pageSize": self.config.page_size, "orderBy": "updateTime desc"},
                    items=lambda body: body.get("reviews") or [],
                    stream="reviews",
                )
                for page in pages:
                    reached = False
                    for review in page.items:
                        updated = review.get("updateTime") if isinstance(review, dict) else None
                        when = _parse_time(updated) if isinstance(updated, str) else None
                        if seen is not None and when is not None and when <= seen:
                            reached = True
                            break
                        if when is not None and (newest_time is None or when > newest_time):
                            newest, newest_time = updated, when
                        # The location travels with the review: parse needs it.
                        yield {"location": location, "review": review}
                    if reached:
                        break
                if newest is not None:
                    marks[location] = newest
                yield Checkpoint({"locations": dict(marks)})

    # -- parsing ------------------------------------------------------------------------------

    def parse_review(self, item: dict[str, Any]) -> list[Interaction]:
        """Turn one review (with its location) into the review and, if any, the reply."""
        return review_interactions(item["review"], location=item["location"], source=self.source)


def review_interactions(review: Any, *, location: str, source: str = NAME) -> list[Interaction]:
    """Turn one API review into interactions: the review, then the owner's reply if there is one.

    Args:
        review: A ``Review`` object as the API returns it.
        location: The location's name, ``accounts/<id>/locations/<id>``.
        source: The interactions' ``source``.

    Returns:
        One inbound ``review`` interaction with ``rating`` feedback (1-5, none when the rating
        is ``STAR_RATING_UNSPECIFIED``), and an outbound ``reply`` interaction with source id
        ``<reviewId>:reply`` when the owner replied.

    Raises:
        ValidationError: Naming the field, when one is missing or malformed.

    Examples:
        >>> review = {"name": "accounts/1/locations/2/reviews/r1", "reviewId": "r1",
        ...           "reviewer": {"displayName": "Ann", "isAnonymous": False},
        ...           "starRating": "FOUR", "comment": "Friendly staff",
        ...           "createTime": "2026-03-01T09:30:00Z", "updateTime": "2026-03-01T09:30:00Z",
        ...           "reviewReply": {"comment": "Thanks!",
        ...                           "updateTime": "2026-03-02T08:00:00Z"}}
        >>> found, reply = review_interactions(review, location="accounts/1/locations/2")
        >>> found.feedback[0].score, found.attributes["location"], reply.source_id
        (4, 'accounts/1/locations/2', 'r1:reply')
    """
    review_id = pick(review, "reviewId", str, vendor=NAME)
    created = _time(pick(review, "createTime", str, vendor=NAME), "createTime")
    updated = _time(pick(review, "updateTime", str, vendor=NAME), "updateTime")
    rating = pick(review, "starRating", str, vendor=NAME)
    if rating not in STAR_RATINGS and rating != "STAR_RATING_UNSPECIFIED":
        raise ValidationError(f"{NAME}.starRating", rating, "not one of ONE..FIVE")
    comment = pick(review, "comment", str, vendor=NAME, default=None)
    reviewer = pick(review, "reviewer", dict, vendor=NAME, default={})
    attributes = {
        "location": location,
        "location_id": location.rsplit("/", 1)[-1],
        "review_name": pick(review, "name", str, vendor=NAME, default=None),
        "reviewer_name": pick(
            reviewer, "displayName", str, vendor=f"{NAME}.reviewer", default=None
        ),
        "reviewer_anonymous": pick(
            reviewer, "isAnonymous", bool, vendor=f"{NAME}.reviewer", default=False
        ),
    }
    feedback = (
        [Feedback(metric="rating", score=STAR_RATINGS[rating], scale=(1, 5), comment=comment)]
        if rating in STAR_RATINGS
        else []
    )
    found = [
        Interaction(
            source=source,
            source_id=review_id,
            occurred_at=created,
            updated_at=updated,
            channel="review_site",
            touchpoint=TOUCHPOINT,
            kind="review",
            text=comment,
            attributes=attributes,
            feedback=feedback,
        )
    ]
    reply = pick(review, "reviewReply", dict, vendor=NAME, default=None)
    if reply is not None:
        replied = _time(
            pick(reply, "updateTime", str, vendor=f"{NAME}.reviewReply"), "reviewReply.updateTime"
        )
        found.append(
            Interaction(
                source=source,
                source_id=f"{review_id}:reply",
                occurred_at=replied,
                updated_at=replied,
                channel="review_site",
                touchpoint=TOUCHPOINT,
                kind="reply",
                direction="outbound",
                text=pick(reply, "comment", str, vendor=f"{NAME}.reviewReply"),
                attributes={
                    "location": location,
                    "location_id": attributes["location_id"],
                    "in_reply_to": review_id,
                },
            )
        )
    return found


def _parse_time(value: str) -> datetime:
    # RFC 3339 with 0 to 9 fractional digits; Python reads at most 6.
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    match = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)", text)
    if match and match.group(2):
        text = f"{match.group(1)}{match.group(2)[:7]}{match.group(3)}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return parsed


def _time(value: str, field: str) -> datetime:
    try:
        return _parse_time(value)
    except ValueError:
        raise ValidationError(f"{NAME}.{field}", value, "not an RFC 3339 timestamp") from None
