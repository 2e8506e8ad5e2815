"""HubSpot: contacts as customer records; notes, e-mails, calls, tickets, surveys as interactions.

Every object type is one stream read through the CRM search API (``POST
/crm/v3/objects/{objectType}/search``), filtered on its last-modified property (``lastmodifieddate``
for contacts, ``hs_lastmodifieddate`` for the others) at or after the stream's cursor, sorted by
it ascending and paged with ``after``. A search returns at most 10,000 results, so when the next
page would pass that cap the stream opens a new window from the newest modification it has seen.
After each page it yields a checkpoint holding that newest time: everything modified before it has
been read, and the records sharing it are read again (and counted unchanged) on the next sync.
Search results carry no associations, so each page of activities is followed by one batch read of
their associated contacts (``POST /crm/v4/associations/{objectType}/contacts/batch/read``); the
first contact becomes the interaction's ``hubspot:contact`` identity, which links it to the
customer record the ``contacts`` stream writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx

from cxm.connectors.base import Checkpoint, Connector, Secret, Stream, secret
from cxm.connectors.http import (
    BearerAuth,
    HttpClient,
    RateLimiter,
    RetryPolicy,
)
from cxm.connectors.mail import html_to_text
from cxm.connectors.options import check_source, http_url, int_between, iso_time, parse_iso_time
from cxm.connectors.payload import pick
from cxm.exceptions import UpstreamError, ValidationError
from cxm.model import CustomerRecord, Direction, Feedback, Identity, Interaction

__all__ = [
    "DEFAULT_BASE_URL",
    "SEARCH_RESULT_CAP",
    "HubSpotConfig",
    "HubSpotConnector",
]

DEFAULT_BASE_URL = "https://api.hubapi.com"
SEARCH_RESULT_CAP = 10_000
"""The most results one search query returns; paging past it is answered with a 400."""

_VENDOR = "hubspot"
_ID: Any = (str, int)  # HubSpot writes ids as strings, some association answers as numbers
_CONTACT = "hubspot:contact"
_EPOCH = "1970-01-01T00:00:00Z"


@attrs.frozen(kw_only=True)
class _ObjectType:
    """One HubSpot object type read by one stream."""

    stream: str
    object_type: str
    modified: str
    properties: tuple[str, ...]
    description: str
    associated: bool = True


_CONTACT_TRAITS = (
    "firstname",
    "lastname",
    "company",
    "jobtitle",
    "lifecyclestage",
    "city",
    "country",
    "createdate",
)

OBJECT_TYPES: tuple[_ObjectType, ...] = (
    _ObjectType(
        stream="contacts",
        object_type="contacts",
        modified="lastmodifieddate",
        properties=("email", "phone", "mobilephone", "lastmodifieddate", *_CONTACT_TRAITS),
        description="CRM contacts: customer records with e-mail, phone and contact-id identities",
        associated=False,
    ),
    _ObjectType(
        stream="notes",
        object_type="notes",
        modified="hs_lastmodifieddate",
        properties=("hs_timestamp", "hs_note_body", "hs_lastmodifieddate"),
        description="Notes logged on contacts (channel crm, kind note)",
    ),
    _ObjectType(
        stream="emails",
        object_type="emails",
        modified="hs_lastmodifieddate",
        properties=(
            "hs_timestamp",
            "hs_email_direction",
            "hs_email_subject",
            "hs_email_text",
            "hs_email_html",
            "hs_email_status",
            "hs_lastmodifieddate",
        ),
        description="E-mails logged on contacts (channel email, in- or outbound)",
    ),
    _ObjectType(
        stream="calls",
        object_type="calls",
        modified="hs_lastmodifieddate",
        properties=(
            "hs_timestamp",
            "hs_call_title",
            "hs_call_body",
            "hs_call_direction",
            "hs_call_duration",
            "hs_call_status",
            "hs_call_disposition",
            "hs_lastmodifieddate",
        ),
        description="Calls logged on contacts (channel phone, kind call)",
    ),
    _ObjectType(
        stream="tickets",
        object_type="tickets",
        modified="hs_lastmodifieddate",
        properties=(
            "createdate",
            "subject",
            "content",
            "hs_pipeline",
            "hs_pipeline_stage",
            "hs_ticket_priority",
            "hs_ticket_category",
            "hs_lastmodifieddate",
        ),
        description="Support tickets (channel support, kind ticket)",
    ),
    _ObjectType(
        stream="feedback_submissions",
        object_type="feedback_submissions",
        modified="hs_lastmodifieddate",
        properties=(
            "hs_createdate",
            "hs_submission_timestamp",
            "hs_survey_type",
            "hs_survey_name",
            "hs_survey_id",
            "hs_survey_channel",
            "hs_value",
            "hs_response_group",
            "hs_content",
            "hs_sentiment",
            "hs_lastmodifieddate",
        ),
        description="Survey responses with their NPS, CSAT or CES score (channel survey)",
    ),
)
_BY_STREAM = {spec.stream: spec for spec in OBJECT_TYPES}

_EMAIL_DIRECTIONS = {
    "EMAIL": Direction.OUTBOUND,
    "INCOMING_EMAIL": Direction.INBOUND,
    "FORWARDED_EMAIL": Direction.INBOUND,
}
_CALL_DIRECTIONS = {"INBOUND": Direction.INBOUND, "OUTBOUND": Direction.OUTBOUND}
_SURVEY_METRICS = {"NPS": "nps", "CSAT": "csat", "CES": "ces"}


def _millis(value: str, field: str) -> int:
    """Milliseconds since the epoch of an ISO time (HubSpot's datetime property form)."""
    return int(parse_iso_time(value, field).timestamp() * 1000)


def _iso(millis: int) -> str:
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@attrs.frozen(kw_only=True)
class HubSpotConfig:
    """Settings of the ``hubspot`` connector.

    Attributes:
        token: A private app's access token (never printed). It needs the read scopes of the
            objects synced (``crm.objects.contacts.read``, ``tickets``,
            ``crm.objects.feedback_submissions.read``, ...).
        portal_id: The HubSpot account (portal) id, used to key the sync state. Without it the
            state is keyed on a fingerprint of the token, so a new token starts over.
        source: The records' ``source``. Ids are unique only within one HubSpot account: give
            each account its own, and never change it afterwards.
        base_url: The API's root.
        start: On the first sync, read records modified at or after this ISO time.
        page_size: Records per search page (HubSpot allows at most 200).
        streams: The streams to read (default: all six).
        rate_limit: Requests per second (HubSpot's search API allows four per second per
            token), or a shared :class:`~cxm.connectors.http.RateLimiter`.
        transport: An ``httpx`` transport, for tests (``httpx.MockTransport``).
        retry: How failed requests are retried. Searches and batch reads only read, so they
            are retried like GETs whatever ``methods`` says.
    """

    token: Secret = attrs.field(converter=secret)
    portal_id: str | None = None
    source: str = attrs.field(default="hubspot", validator=check_source)
    base_url: str = attrs.field(default=DEFAULT_BASE_URL, converter=http_url)
    start: str = attrs.field(default=_EPOCH, converter=iso_time)
    page_size: int = attrs.field(default=100, validator=int_between(1, 200))
    streams: tuple[str, ...] = attrs.field(
        default=tuple(spec.stream for spec in OBJECT_TYPES), converter=tuple
    )
    rate_limit: float | RateLimiter = 4.0
    transport: httpx.BaseTransport | None = attrs.field(default=None, repr=False)
    retry: RetryPolicy | None = None

    @streams.validator
    def _streams(self, attribute: Any, value: tuple[str, ...]) -> None:
        unknown = [name for name in value if name not in _BY_STREAM]
        if unknown or not value:
            known = ", ".join(_BY_STREAM)
            raise ValidationError("streams", list(value), f"streams are: {known}")


class HubSpotConnector(Connector):
    """Contacts, notes, e-mails, calls, tickets and survey responses from a HubSpot account."""

    name = "hubspot"
    summary = "HubSpot CRM contacts, activities, tickets and feedback submissions"
    Config = HubSpotConfig
    config: HubSpotConfig

    def __init__(self, config: Any = None, /, **options: Any) -> None:
        super().__init__(config, **options)
        rate = self.config.rate_limit
        # One limiter for every stream of this instance: HubSpot counts per token.
        self._limiter = rate if isinstance(rate, RateLimiter) else RateLimiter(float(rate))

    @property
    def state_key(self) -> str:
        """``hubspot:<portal id>``, or ``hubspot:token-<fingerprint>`` without a portal id."""
        if self.config.portal_id:
            return f"hubspot:{self.config.portal_id}"
        token = self.config.token.reveal().encode()
        return f"hubspot:token-{hashlib.sha256(token).hexdigest()[:16]}"

    def _client(self) -> HttpClient:
        policy = self.config.retry if self.config.retry is not None else RetryPolicy()
        # Searches and association reads are POSTs that change nothing: safe to repeat.
        policy = attrs.evolve(policy, methods=policy.methods | {"POST"})
        return HttpClient(
            self.config.base_url,
            auth=BearerAuth(self.config.token),
            transport=self.config.transport,
            retry=policy,
            rate_limit=self._limiter,
            connector=self.name,
        )

    def check(self) -> None:
        """Read one contact: refused credentials raise :class:`~cxm.AuthError`."""
        with self._client() as client:
            client.get("/crm/v3/objects/contacts", params={"limit": 1})

    def streams(self) -> list[Stream]:
        """One stream per object type named in ``streams``."""
        out = []
        for name in self.config.streams:
            spec = _BY_STREAM[name]
            out.append(
                Stream(
                    name=spec.stream,
                    read=self._reader(spec),
                    parse=self._parser(spec),
                    description=spec.description,
                )
            )
        return out

    # -- reading ------------------------------------------------------------------------------

    def _reader(self, spec: _ObjectType) -> Any:
        def read(cursor: Any) -> Iterator[Any]:
            return self._search(spec, cursor)

        return read

    def _search(self, spec: _ObjectType, cursor: Any) -> Iterator[Any]:
        since = cursor["since"] if isinstance(cursor, Mapping) else self.config.start
        window = _millis(since, f"{self.name}.cursor")
        newest = window
        after: str | None = None
        size = self.config.page_size
        with self._client() as client:
            while True:
                body: dict[str, Any] = {
                    "filterGroups": [
                        {
                            "filters": [
                                {
                                    "propertyName": spec.modified,
                                    "operator": "GTE",
                                    "value": str(window),
                                }
                            ]
                        }
                    ],
                    "sorts": [{"propertyName": spec.modified, "direction": "ASCENDING"}],
                    "properties": list(spec.properties),
                    "limit": size,
                }
                if after is not None:
                    body["after"] = after
                answer = self._post(
                    client, f"/crm/v3/objects/{spec.object_type}/search", body, spec.stream
                )
                results = pick(answer, "results", list, vendor=self.name)
                contacts: dict[str, list[str]] = {}
                if spec.associated and results:
                    ids = [str(pick(item, "id", _ID, vendor=self.name)) for item in results]
                    contacts = self._associated_contacts(client, spec, ids)
                for found in results:
                    item = found
                    if spec.associated and isinstance(found, dict):
                        key = str(found.get("id"))
                        item = {**found, "associations": {"contacts": contacts.get(key, [])}}
                    yield item
                    modified = _modified(item, spec)
                    if modified is not None:
                        newest = max(newest, modified)
                yield Checkpoint({"since": _iso(newest)})
                following = pick(answer, "paging.next.after", _ID, vendor=self.name, default=None)
                if following is None or not results:
                    return
                if int(following) + size > SEARCH_RESULT_CAP:
                    # The next page would pass the search cap: a new query from the newest
                    # modification seen. Records sharing that instant are read again.
                    if newest <= window:
                        raise UpstreamError(
                            f"more than {SEARCH_RESULT_CAP} {spec.stream} share the modification "
                            f"time {_iso(window)}; the search API cannot page past them",
                            connector=self.name,
                            stream=spec.stream,
                        )
                    window, after = newest, None
                else:
                    after = str(following)

    def _post(self, client: HttpClient, url: str, body: Any, stream: str) -> Any:
        response = client.request("POST", url, json=body, stream=stream)
        try:
            return response.json()
        except ValueError:
            raise UpstreamError(
                f"the answer to POST {url} is not JSON", connector=self.name, stream=stream
            ) from None

    def _associated_contacts(
        self, client: HttpClient, spec: _ObjectType, ids: Sequence[str]
    ) -> dict[str, list[str]]:
        """Map each object id to its associated contact ids, in HubSpot's order."""
        answer = self._post(
            client,
            f"/crm/v4/associations/{spec.object_type}/contacts/batch/read",
            {"inputs": [{"id": object_id} for object_id in ids]},
            spec.stream,
        )
        found: dict[str, list[str]] = {}
        # Objects without contacts come back under "errors" (NO_ASSOCIATIONS_FOUND): none here.
        for entry in pick(answer, "results", list, vendor=self.name, default=[]):
            origin = str(pick(entry, "from.id", _ID, vendor=self.name))
            targets = pick(entry, "to", list, vendor=self.name, default=[])
            found[origin] = [
                str(pick(target, "toObjectId", _ID, vendor=self.name)) for target in targets
            ]
        return found

    # -- parsing ------------------------------------------------------------------------------

    def _parser(self, spec: _ObjectType) -> Any:
        parsers = {
            "contacts": self.parse_contact,
            "notes": self.parse_note,
            "emails": self.parse_email,
            "calls": self.parse_call,
            "tickets": self.parse_ticket,
            "feedback_submissions": self.parse_feedback_submission,
        }
        return parsers[spec.stream]

    def _prop(self, item: Any, name: str, default: Any = None) -> Any:
        return pick(item, f"properties.{name}", str, vendor=self.name, default=default)

    def _time(self, item: Any, name: str) -> datetime:
        value = self._prop(item, name)
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(
                f"{self.name}.properties.{name}", value, "expected an ISO 8601 time"
            ) from None

    def parse_contact(self, item: Mapping[str, Any]) -> CustomerRecord:
        """Turn one contact into a customer record."""
        contact_id = str(pick(item, "id", _ID, vendor=self.name))
        identities = [Identity(_CONTACT, contact_id)]
        traits: dict[str, Any] = {}
        email = self._prop(item, "email")
        if email:
            identities.append(Identity("email", email))
        for field in ("phone", "mobilephone"):
            number = self._prop(item, field)
            if not number:
                continue
            try:
                identities.append(Identity("phone", number))
            except ValidationError:
                # HubSpot keeps phone numbers as typed; one without a country code stays a trait.
                traits[field] = number
        for field in _CONTACT_TRAITS:
            value = self._prop(item, field)
            if value not in (None, ""):
                traits[field] = value
        return CustomerRecord(
            source=self.config.source,
            source_id=f"contact:{contact_id}",
            identities=identities,
            traits=traits,
            updated_at=self._time(item, "lastmodifieddate"),
        )

    def _activity(
        self,
        item: Mapping[str, Any],
        kind_prefix: str,
        occurred: str,
        **fields: Any,
    ) -> Interaction:
        object_id = str(pick(item, "id", _ID, vendor=self.name))
        contacts = [
            str(c) for c in pick(item, "associations.contacts", list, vendor=self.name, default=[])
        ]
        attributes = dict(fields.pop("attributes", {}))
        if len(contacts) > 1:
            attributes["other_contacts"] = contacts[1:]
        return Interaction(
            source=self.config.source,
            source_id=f"{kind_prefix}:{object_id}",
            occurred_at=self._time(item, occurred),
            updated_at=self._time(item, "hs_lastmodifieddate"),
            identities=[Identity(_CONTACT, contacts[0])] if contacts else [],
            attributes={k: v for k, v in attributes.items() if v not in (None, "")},
            **fields,
        )

    def parse_note(self, item: Mapping[str, Any]) -> Interaction:
        """Turn one note into an outbound ``note`` interaction on the crm channel."""
        body = self._prop(item, "hs_note_body")
        return self._activity(
            item,
            "note",
            "hs_timestamp",
            channel="crm",
            kind="note",
            direction=Direction.OUTBOUND,
            text=html_to_text(body) if body else None,
        )

    def parse_email(self, item: Mapping[str, Any]) -> Interaction:
        """Turn one logged e-mail into a ``message`` on the e-mail channel."""
        direction = self._prop(item, "hs_email_direction")
        if direction not in _EMAIL_DIRECTIONS:
            raise ValidationError(
                f"{self.name}.properties.hs_email_direction",
                direction,
                f"expected one of {', '.join(_EMAIL_DIRECTIONS)}",
            )
        text = self._prop(item, "hs_email_text")
        if not text:
            html = self._prop(item, "hs_email_html")
            text = html_to_text(html) if html else None
        return self._activity(
            item,
            "email",
            "hs_timestamp",
            channel="email",
            kind="message",
            direction=_EMAIL_DIRECTIONS[direction],
            text=text or None,
            attributes={
                "subject": self._prop(item, "hs_email_subject"),
                "status": self._prop(item, "hs_email_status"),
                "email_direction": direction,
            },
        )

    def parse_call(self, item: Mapping[str, Any]) -> Interaction:
        """Turn one logged call into a ``call`` on the phone channel."""
        direction = self._prop(item, "hs_call_direction", default="OUTBOUND")
        if direction not in _CALL_DIRECTIONS:
            raise ValidationError(
                f"{self.name}.properties.hs_call_direction",
                direction,
                "expected INBOUND or OUTBOUND",
            )
        body = self._prop(item, "hs_call_body")
        duration = self._prop(item, "hs_call_duration")
        return self._activity(
            item,
            "call",
            "hs_timestamp",
            channel="phone",
            kind="call",
            direction=_CALL_DIRECTIONS[direction],
            text=html_to_text(body) if body else None,
            attributes={
                "title": self._prop(item, "hs_call_title"),
                "status": self._prop(item, "hs_call_status"),
                "disposition": self._prop(item, "hs_call_disposition"),
                "duration_ms": int(duration) if duration and duration.isdigit() else None,
            },
        )

    def parse_ticket(self, item: Mapping[str, Any]) -> Interaction:
        """Turn one ticket into an inbound ``ticket`` on the support channel."""
        return self._activity(
            item,
            "ticket",
            "createdate",
            channel="support",
            kind="ticket",
            text=self._prop(item, "content") or None,
            attributes={
                "subject": self._prop(item, "subject"),
                "pipeline": self._prop(item, "hs_pipeline"),
                "pipeline_stage": self._prop(item, "hs_pipeline_stage"),
                "priority": self._prop(item, "hs_ticket_priority"),
                "category": self._prop(item, "hs_ticket_category"),
            },
        )

    def parse_feedback_submission(self, item: Mapping[str, Any]) -> Interaction:
        """Turn one survey response into a ``survey_response`` with its score as feedback.

        NPS, CSAT and CES responses carry a :class:`~cxm.Feedback` on cxm's default scale
        for that metric (NPS 0-10, CSAT 1-5, CES 1-7); a score outside it quarantines the
        response. Other survey types (custom, knowledge base) carry no feedback.
        """
        survey_type = self._prop(item, "hs_survey_type", default="")
        comment = self._prop(item, "hs_content") or None
        feedback = []
        metric = _SURVEY_METRICS.get(survey_type.upper())
        if metric is not None:
            raw = self._prop(item, "hs_value")
            feedback.append(
                Feedback(
                    metric=metric,
                    score=_number(raw, f"{self.name}.properties.hs_value"),
                    question=self._prop(item, "hs_survey_name"),
                    comment=comment,
                )
            )
        occurred = (
            "hs_submission_timestamp"
            if self._prop(item, "hs_submission_timestamp")
            else "hs_createdate"
        )
        return self._activity(
            item,
            "feedback_submission",
            occurred,
            channel="survey",
            kind="survey_response",
            text=comment,
            feedback=feedback,
            attributes={
                "survey_type": survey_type,
                "survey_id": self._prop(item, "hs_survey_id"),
                "survey_name": self._prop(item, "hs_survey_name"),
                "survey_channel": self._prop(item, "hs_survey_channel"),
                "response_group": self._prop(item, "hs_response_group"),
                "sentiment": self._prop(item, "hs_sentiment"),
                "value": None if metric else self._prop(item, "hs_value"),
            },
        )


def _modified(item: Any, spec: _ObjectType) -> int | None:
    """The record's last-modified time in milliseconds, or ``None`` when unreadable."""
    try:
        value = pick(item, f"properties.{spec.modified}", str, vendor=_VENDOR)
        return _millis(value, spec.modified)
    except ValidationError:
        return None  # parse quarantines the record; the cursor just does not move for it


def _number(value: str, field: str) -> int | float:
    try:
        number = float(value)
    except ValueError:
        raise ValidationError(field, value, "expected a number") from None
    return int(number) if number.is_integer() else number
