"""Zendesk Support: tickets as interactions, their requesters as customers, CSAT as feedback.

The connector reads a Zendesk account through the cursor-based incremental ticket export
(``GET /api/v2/incremental/tickets/cursor.json``). The first request sends ``start_time`` (a
Unix time); every answer carries an opaque ``after_cursor``, and the next page is asked for with
``cursor=<after_cursor>`` until the answer says ``end_of_stream``. The export is ordered by the
tickets' last change and the cursor of a page points just past it, so after each page the stream
yields a checkpoint holding that page's ``after_cursor``: a sync killed at any point resumes at
the page after the last one stored, and the next sync starts from the cursor of the last page
read and receives only the tickets changed since. ``include=users`` side-loads each page's users;
the requesters become customer records carrying their e-mail, phone, Zendesk user
id and external id, and each ticket becomes an inbound ``ticket`` interaction linked to its
requester by the ``zendesk:user`` identity. A ``good`` or ``bad`` satisfaction rating becomes
``csat`` feedback on a binary 0-1 scale. With ``comments=True`` the public comments of each
exported ticket are read too (``GET /api/v2/tickets/{id}/comments.json``, one cursor-paged list
per ticket) before the page's checkpoint. Zendesk allows ten export requests a minute, so export
requests go through their own rate limiter, and every other request through a second one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx

from cxm.connectors.base import Checkpoint, Connector, Secret, Stream, optional_secret
from cxm.connectors.http import (
    BasicAuth,
    BearerAuth,
    HttpClient,
    JsonCursorPaginator,
    RateLimiter,
    RetryPolicy,
)
from cxm.connectors.options import check_source, http_url, int_between
from cxm.connectors.payload import pick
from cxm.exceptions import AuthError, ConnectorError, UpstreamError, ValidationError
from cxm.model import CustomerRecord, Direction, Feedback, Identity, Interaction

__all__ = [
    "CSAT_SCALE",
    "CSAT_SCORES",
    "EXPORT_PATH",
    "ZendeskConfig",
    "ZendeskConnector",
    "comment_interaction",
    "ticket_interaction",
    "user_record",
]

NAME = "zendesk"
EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
"""The cursor-based incremental ticket export."""
CSAT_SCORES = {"good": 1, "bad": 0}
"""The satisfaction scores that are answers, and the CSAT score each becomes."""
CSAT_SCALE = (0, 1)
"""The scale of Zendesk's two-point satisfaction survey: bad 0, good 1."""
_UNANSWERED = frozenset({"offered", "unoffered"})
_USER = "zendesk:user"
_EXTERNAL_ID = "zendesk:external_id"
_DELETED = "deleted"
_SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_ID: Any = int
_SCALAR: Any = (str, int)  # external ids and some traits come as either
_USER_TRAITS = ("name", "role", "organization_id", "time_zone", "locale", "created_at")


def _subdomain(value: Any) -> str:
    if not isinstance(value, str) or not _SUBDOMAIN.fullmatch(value.strip().lower()):
        raise ValidationError(
            "subdomain",
            value,
            "must be the account's subdomain, 'acme' for https://acme.zendesk.com",
        )
    return value.strip().lower()


def _start(value: Any) -> int:
    """The first sync's ``start_time``: Unix seconds, from an int or an ISO 8601 time."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValidationError("start", value, "must not be before 1970")
        return value
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(
                "start", value, "must be an ISO 8601 time or Unix seconds"
            ) from None
    else:
        raise ValidationError("start", value, "must be an ISO 8601 time or Unix seconds")
    if moment.tzinfo is None:
        raise ValidationError("start", value, "must carry a time zone (e.g. 'Z')")
    seconds = int(moment.timestamp())
    if seconds < 0:
        raise ValidationError("start", value, "must not be before 1970")
    return seconds


def _per_minute(field: str) -> Any:
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if isinstance(value, RateLimiter):
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not 0 < value < float("inf")
        ):
            raise ValidationError(
                field, value, "must be requests per minute above 0, or a RateLimiter"
            )

    return check


def _check_email(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or "@" not in value):
        raise ValidationError("email", value, "must be the e-mail address of the API user")


@attrs.frozen(kw_only=True)
class ZendeskConfig:
    """Settings of the ``zendesk`` connector.

    Give either ``email`` and ``api_token`` (sent as Basic ``{email}/token:{api_token}``) or
    ``oauth_token`` (sent as ``Authorization: Bearer``). The export is allowed for admins only.

    Attributes:
        subdomain: The account's subdomain, ``acme`` for ``https://acme.zendesk.com``. It keys
            the sync state.
        email: The e-mail address of the admin whose API token is used.
        api_token: An API token (Admin Center > Apps and integrations > Zendesk API); never
            printed.
        oauth_token: An OAuth access token with the ``read`` scope, instead of an API token;
            never printed.
        base_url: The API's root; default ``https://{subdomain}.zendesk.com``.
        source: The records' ``source``. Ticket and user ids are unique only within one
            account: give each account its own, and never change it afterwards.
        start: On the first sync (and a full refresh), export tickets changed at or after this
            time: an ISO 8601 time with a zone, or Unix seconds.
        page_size: Tickets per export page (``per_page``, at most 1000).
        comments: Also read each exported ticket's public comments (one more request per
            ticket, outside the export limit).
        export_rate_limit: Export requests per minute (Zendesk allows 10, 30 with the High
            Volume API add-on), or a shared :class:`~cxm.connectors.http.RateLimiter`.
        rate_limit: Other requests (comments, ``check()``) per minute (the account-wide limit
            is 200 to 2500 depending on the plan), or a shared
            :class:`~cxm.connectors.http.RateLimiter`.
        transport: An ``httpx`` transport, for tests (``httpx.MockTransport``).
        retry: How failed requests are retried.
    """

    subdomain: str = attrs.field(converter=_subdomain)
    email: str | None = attrs.field(default=None, validator=_check_email)
    api_token: Secret | None = attrs.field(default=None, converter=optional_secret, repr=False)
    oauth_token: Secret | None = attrs.field(default=None, converter=optional_secret, repr=False)
    base_url: str | None = attrs.field(default=None, converter=attrs.converters.optional(http_url))
    source: str = attrs.field(default=NAME, validator=check_source)
    start: int = attrs.field(default=0, converter=_start)
    page_size: int = attrs.field(default=1000, validator=int_between(1, 1000))
    comments: bool = False
    export_rate_limit: float | RateLimiter = attrs.field(
        default=10.0, validator=_per_minute("export_rate_limit")
    )
    rate_limit: float | RateLimiter = attrs.field(
        default=200.0, validator=_per_minute("rate_limit")
    )
    transport: httpx.BaseTransport | None = attrs.field(default=None, repr=False)
    retry: RetryPolicy | None = None

    def __attrs_post_init__(self) -> None:
        if self.api_token is not None and self.oauth_token is not None:
            raise ValidationError(
                "oauth_token", "**********", "give api_token (with email) or oauth_token, not both"
            )
        if self.api_token is None and self.oauth_token is None:
            raise ValidationError("api_token", None, "give api_token (with email) or oauth_token")
        if self.api_token is not None and self.email is None:
            raise ValidationError("email", None, "is required with api_token")

    @property
    def root(self) -> str:
        """The API's root URL: ``base_url``, else ``https://{subdomain}.zendesk.com``."""
        return self.base_url or f"https://{self.subdomain}.zendesk.com"


class ZendeskConnector(Connector):
    """Tickets, their requesters, CSAT ratings and (optionally) comments from Zendesk Support."""

    name = NAME
    summary = "Zendesk Support tickets, requesters, satisfaction ratings and comments"
    Config = ZendeskConfig
    config: ZendeskConfig

    def __init__(self, config: Any = None, /, **options: Any) -> None:
        super().__init__(config, **options)
        # One limiter per budget for every stream and client of this instance: Zendesk counts
        # export requests and other requests separately, per account.
        self._export_limiter = _limiter(self.config.export_rate_limit)
        self._limiter = _limiter(self.config.rate_limit)

    @property
    def state_key(self) -> str:
        """``zendesk:<subdomain>``: the account."""
        return f"{NAME}:{self.config.subdomain}"

    def _client(self, limiter: RateLimiter) -> HttpClient:
        config = self.config
        auth: httpx.Auth
        if config.oauth_token is not None:
            auth = BearerAuth(config.oauth_token)
        else:
            assert config.api_token is not None  # noqa: S101 - the config guarantees one
            auth = BasicAuth(f"{config.email}/token", config.api_token)
        return HttpClient(
            config.root,
            auth=auth,
            transport=config.transport,
            retry=config.retry,
            rate_limit=limiter,
            connector=self.name,
            secrets=self.secrets(),
        )

    def check(self) -> None:
        """Read the authenticated user (``GET /api/v2/users/me.json``).

        Raises:
            AuthError: If the credentials are refused, if Zendesk answers as the anonymous user
                (it does so for requests it could not authenticate), or if the user is not an
                admin (the export is allowed for admins only).
        """
        with self._client(self._limiter) as client:
            answer = client.get_json("/api/v2/users/me.json")
        user = pick(answer, "user", dict, vendor=self.name)
        role = pick(user, "role", str, vendor=f"{self.name}.user", default=None)
        if user.get("id") is None:
            raise AuthError(
                "Zendesk did not recognise the credentials (it answered as the anonymous user)",
                connector=self.name,
                request="GET /api/v2/users/me.json",
            )
        if role != "admin":
            raise AuthError(
                f"the incremental export is allowed for admins only; this user's role is {role!r}",
                connector=self.name,
                request="GET /api/v2/users/me.json",
            )

    def streams(self) -> list[Stream]:
        """Return the one stream, ``tickets``."""
        description = "tickets (channel support, kind ticket) and their requesters"
        if self.config.comments:
            description += ", with their public comments"
        return [
            Stream(
                name="tickets",
                read=self.read_tickets,
                parse=self.parse_item,
                description=description,
            )
        ]

    # -- reading ------------------------------------------------------------------------------

    def read_tickets(self, cursor: Any) -> Iterator[Any]:
        """Yield each export page's requesters, tickets (and comments), then its cursor.

        The cursor is ``{"after_cursor": "<opaque>"}`` once a page has been read, and
        ``{"start_time": <unix>}`` while the account has no ticket to export. ``None`` (the
        first sync, a full refresh) starts at ``start``.
        """
        params: dict[str, Any] = {"include": "users", "per_page": self.config.page_size}
        position: dict[str, Any]
        if isinstance(cursor, Mapping) and isinstance(cursor.get("after_cursor"), str):
            position = {"after_cursor": cursor["after_cursor"]}
        elif isinstance(cursor, Mapping) and isinstance(cursor.get("start_time"), int):
            position = {"start_time": cursor["start_time"]}
        else:
            position = {"start_time": self.config.start}
        export = self._client(self._export_limiter)
        other = self._client(self._limiter) if self.config.comments else None
        try:
            while True:
                if "after_cursor" in position:
                    query = {**params, "cursor": position["after_cursor"]}
                else:
                    query = {**params, "start_time": position["start_time"]}
                page = export.get_json(EXPORT_PATH, params=query, stream="tickets")
                tickets = pick(page, "tickets", list, vendor=self.name)
                users = pick(page, "users", list, vendor=self.name, default=[])
                yield from _requesters(tickets, users)
                for ticket in tickets:
                    yield {"ticket": ticket}
                    if other is not None:
                        yield from self._comments(other, ticket)
                done = pick(page, "end_of_stream", bool, vendor=self.name)
                position = self._advance(page, position, done)
                yield Checkpoint(dict(position))
                if done:
                    return
        finally:
            export.close()
            if other is not None:
                other.close()

    def _advance(self, page: Any, position: dict[str, Any], done: bool) -> dict[str, Any]:
        """Return the position after an export page: its ``after_cursor``, or where it was.

        Raises:
            UpstreamError: If a page that is not the last has no new cursor (paging would
                stop early or loop).
        """
        following: Any = pick(page, "after_cursor", vendor=self.name, default=None)
        if not isinstance(following, str) or not following:
            if done:
                return position  # nothing exported yet: start there again next time
            raise UpstreamError(
                "an export page without end_of_stream carries no after_cursor",
                connector=self.name,
                stream="tickets",
            )
        if not done and following == position.get("after_cursor"):
            raise UpstreamError(
                "the export answered with the cursor it was asked for and no end of stream; "
                "refusing to loop",
                connector=self.name,
                stream="tickets",
            )
        return {"after_cursor": following}

    def _comments(self, client: HttpClient, ticket: Any) -> Iterator[Any]:
        """Yield the comments of one ticket after its first (the ticket's description).

        A deleted ticket's comments are gone (Zendesk answers 404), so none are asked for.
        """
        if not isinstance(ticket, Mapping):
            return
        ticket_id = ticket.get("id")
        if not isinstance(ticket_id, int) or ticket.get("status") == _DELETED:
            return
        context = {"id": ticket_id, "requester_id": ticket.get("requester_id")}
        pages = client.paginate(
            f"/api/v2/tickets/{ticket_id}/comments.json",
            paginator=JsonCursorPaginator(
                cursor_path="meta.after_cursor", param="page[after]", has_more="meta.has_more"
            ),
            params={"page[size]": 100},
            items=lambda body: body.get("comments") or [],
            stream="tickets",
        )
        first = True
        try:
            for page in pages:
                for comment in page.items:
                    if first:
                        # The first comment is the ticket's description, already its text.
                        first = False
                        continue
                    yield {"comment": comment, "ticket": context}
        except ConnectorError as exc:
            if exc.status != 404:
                raise
            # Deleted between the export and this request: its next export marks it deleted.

    # -- parsing ------------------------------------------------------------------------------

    def parse_item(self, item: Mapping[str, Any]) -> CustomerRecord | Interaction | None:
        """Turn one item the stream read into a record.

        Args:
            item: ``{"user": ...}`` (a requester), ``{"ticket": ...}``, or ``{"comment": ...,
                "ticket": {"id", "requester_id"}}``.

        Returns:
            A customer record, an interaction, or ``None`` for a private comment.
        """
        if "user" in item:
            return user_record(item["user"], source=self.source)
        if "comment" in item:
            return comment_interaction(item["comment"], item["ticket"], source=self.source)
        return ticket_interaction(item["ticket"], source=self.source)


def _limiter(rate: float | RateLimiter) -> RateLimiter:
    return rate if isinstance(rate, RateLimiter) else RateLimiter(float(rate) / 60.0)


def _requesters(tickets: list[Any], users: list[Any]) -> Iterator[dict[str, Any]]:
    """The side-loaded users who requested a ticket of the page, each once."""
    wanted = {t.get("requester_id") for t in tickets if isinstance(t, Mapping)}
    seen: set[Any] = set()
    for user in users:
        key = user.get("id") if isinstance(user, Mapping) else None
        if key in wanted and key not in seen:
            seen.add(key)
            yield {"user": user}


def user_record(user: Any, *, source: str = NAME) -> CustomerRecord:
    """Turn one Zendesk user into a customer record.

    Args:
        user: A user object as the API returns it.
        source: The record's ``source``.

    Returns:
        A record with source id ``user:<id>`` and identities ``zendesk:user``, ``email``,
        ``phone`` and ``zendesk:external_id`` for those the user has. An e-mail address or a
        phone number that cannot be an identity (a phone without a country code) is kept as a
        trait instead.

    Raises:
        ValidationError: Naming the field, when one is missing or malformed.

    Examples:
        >>> record = user_record({"id": 501, "name": "Ann Lee", "email": "Ann@Example.com",
        ...                       "phone": "+44 20 7946 0958", "external_id": "crm-77",
        ...                       "role": "end-user", "updated_at": "2026-03-01T09:00:00Z"})
        >>> for identity in sorted(record.identities):
        ...     print(identity.kind, identity.value)
        email ann@example.com
        phone +442079460958
        zendesk:external_id crm-77
        zendesk:user 501
    """
    vendor = f"{NAME}.users[]"
    user_id = pick(user, "id", _ID, vendor=vendor)
    identities = [Identity(_USER, str(user_id))]
    traits: dict[str, Any] = {}
    for kind in ("email", "phone"):
        value = pick(user, kind, str, vendor=vendor, default="")
        if not value:
            continue
        try:
            identities.append(Identity(kind, value))
        except ValidationError:
            traits[kind] = value
    external = pick(user, "external_id", _SCALAR, vendor=vendor, default=None)
    if external not in (None, ""):
        identities.append(Identity(_EXTERNAL_ID, str(external)))
    for name in _USER_TRAITS:
        value = pick(user, name, _SCALAR, vendor=vendor, default=None)
        if value not in (None, ""):
            traits[name] = value
    tags = pick(user, "tags", list, vendor=vendor, default=[])
    if tags:
        traits["tags"] = tags
    fields = pick(user, "user_fields", dict, vendor=vendor, default={})
    if any(v is not None for v in fields.values()):
        traits["user_fields"] = fields
    return CustomerRecord(
        source=source,
        source_id=f"user:{user_id}",
        identities=identities,
        traits=traits,
        updated_at=_time(pick(user, "updated_at", str, vendor=vendor), f"{vendor}.updated_at"),
    )


def ticket_interaction(ticket: Any, *, source: str = NAME) -> Interaction:
    """Turn one exported ticket into an inbound ``ticket`` interaction.

    Args:
        ticket: A ticket object as the export returns it.
        source: The interaction's ``source``.

    Returns:
        An interaction with source id ``<ticket id>`` on the support channel, its description
        as text, linked to the requester by the ``zendesk:user`` identity. A ``good`` or
        ``bad`` satisfaction rating becomes ``csat`` feedback, 1 or 0 on the scale 0-1; an
        ``offered`` or ``unoffered`` one gives none. A deleted ticket (status ``deleted``)
        keeps its id, times and requester but loses its text and feedback, so the stored copy
        is marked deleted and its rating no longer counts.

    Raises:
        ValidationError: Naming the field, when one is missing or malformed.

    Examples:
        >>> found = ticket_interaction({
        ...     "id": 35436, "subject": "Printer on fire", "description": "It burns.",
        ...     "status": "solved", "priority": "high", "requester_id": 501,
        ...     "via": {"channel": "email"}, "tags": ["hardware"],
        ...     "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-02T10:00:00Z",
        ...     "satisfaction_rating": {"id": 9, "score": "good", "comment": "Quick!"}})
        >>> found.kind, found.channel, found.identities[0].key
        ('ticket', <Channel.SUPPORT: 'support'>, ('zendesk:user', '501'))
        >>> rating = found.feedback[0]
        >>> rating.metric, rating.score, rating.scale, rating.comment
        (<Metric.CSAT: 'csat'>, 1, (0, 1), 'Quick!')
    """
    ticket_id = pick(ticket, "id", _ID, vendor=NAME + ".tickets[]")
    vendor = f"{NAME}.tickets[{ticket_id}]"
    created = _time(pick(ticket, "created_at", str, vendor=vendor), f"{vendor}.created_at")
    updated = _time(pick(ticket, "updated_at", str, vendor=vendor), f"{vendor}.updated_at")
    status = pick(ticket, "status", str, vendor=vendor)
    requester = pick(ticket, "requester_id", _ID, vendor=vendor, default=None)
    identities = [Identity(_USER, str(requester))] if requester is not None else []
    if status == _DELETED:
        return Interaction(
            source=source,
            source_id=str(ticket_id),
            occurred_at=created,
            updated_at=updated,
            channel="support",
            kind="ticket",
            identities=identities,
            attributes={"status": _DELETED, "deleted": True},
        )
    rating = pick(ticket, "satisfaction_rating", dict, vendor=vendor, default=None)
    feedback: list[Feedback] = []
    score = None
    if rating is not None:
        score = pick(rating, "score", str, vendor=f"{vendor}.satisfaction_rating")
        if score in CSAT_SCORES:
            comment = pick(
                rating, "comment", str, vendor=f"{vendor}.satisfaction_rating", default=None
            )
            feedback.append(
                Feedback(
                    metric="csat",
                    score=CSAT_SCORES[score],
                    scale=CSAT_SCALE,
                    comment=comment or None,
                )
            )
        elif score not in _UNANSWERED:
            raise ValidationError(
                f"{vendor}.satisfaction_rating.score",
                score,
                "expected good, bad, offered or unoffered",
            )
    description = pick(ticket, "description", str, vendor=vendor, default=None)
    attributes = {
        "subject": pick(ticket, "subject", str, vendor=vendor, default=None),
        "status": status,
        "priority": pick(ticket, "priority", str, vendor=vendor, default=None),
        "type": pick(ticket, "type", str, vendor=vendor, default=None),
        "via_channel": pick(ticket, "via.channel", str, vendor=vendor, default=None),
        "tags": pick(ticket, "tags", list, vendor=vendor, default=[]) or None,
        "organization_id": pick(ticket, "organization_id", _ID, vendor=vendor, default=None),
        "assignee_id": pick(ticket, "assignee_id", _ID, vendor=vendor, default=None),
        "group_id": pick(ticket, "group_id", _ID, vendor=vendor, default=None),
        "satisfaction": score,
    }
    return Interaction(
        source=source,
        source_id=str(ticket_id),
        occurred_at=created,
        updated_at=updated,
        channel="support",
        kind="ticket",
        text=description or None,
        identities=identities,
        attributes={k: v for k, v in attributes.items() if v is not None},
        feedback=feedback,
    )


def comment_interaction(
    comment: Any, ticket: Mapping[str, Any], *, source: str = NAME
) -> Interaction | None:
    """Turn one public ticket comment into a ``message`` interaction.

    Args:
        comment: A comment object as ``GET /api/v2/tickets/{id}/comments.json`` returns it.
        ticket: ``{"id": <ticket id>, "requester_id": <user id>}``.
        source: The interaction's ``source``.

    Returns:
        An interaction with source id ``<ticket id>:comment:<comment id>`` on the support
        channel: inbound when the requester wrote it, outbound otherwise (an agent's reply),
        linked to the requester. ``None`` for a private comment (an internal note).

    Raises:
        ValidationError: Naming the field, when one is missing or malformed.

    Examples:
        >>> reply = comment_interaction(
        ...     {"id": 7, "type": "Comment", "author_id": 9, "public": True,
        ...      "body": "We sent a new one.", "plain_body": "We sent a new one.",
        ...      "created_at": "2026-03-01T10:00:00Z"},
        ...     {"id": 35436, "requester_id": 501})
        >>> reply.source_id, reply.direction, reply.identities[0].value
        ('35436:comment:7', <Direction.OUTBOUND: 'outbound'>, '501')
    """
    ticket_id = ticket["id"]
    vendor = f"{NAME}.comments[]"
    comment_id = pick(comment, "id", _ID, vendor=vendor)
    vendor = f"{NAME}.tickets[{ticket_id}].comments[{comment_id}]"
    public = pick(comment, "public", bool, vendor=vendor)
    if not public:
        return None
    author = pick(comment, "author_id", _ID, vendor=vendor)
    created = _time(pick(comment, "created_at", str, vendor=vendor), f"{vendor}.created_at")
    text = pick(comment, "plain_body", str, vendor=vendor, default=None) or pick(
        comment, "body", str, vendor=vendor, default=None
    )
    requester = ticket.get("requester_id")
    attributes = {
        "ticket_id": ticket_id,
        "author_id": author,
        "type": pick(comment, "type", str, vendor=vendor, default=None),
        "via_channel": pick(comment, "via.channel", str, vendor=vendor, default=None),
    }
    return Interaction(
        source=source,
        source_id=f"{ticket_id}:comment:{comment_id}",
        occurred_at=created,
        updated_at=created,
        channel="support",
        kind="message",
        direction=Direction.INBOUND if author == requester else Direction.OUTBOUND,
        text=text or None,
        identities=[Identity(_USER, str(requester))] if requester is not None else [],
        attributes={k: v for k, v in attributes.items() if v is not None},
    )


def _time(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(field, value, "not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValidationError(field, value, "has no time zone")
    return moment.astimezone(UTC)
