"""Salesforce: contacts as customer records, and cases, tasks and e-mails as their interactions.

Every stream is one SOQL query through the REST API's ``queryAll`` resource, ordered by
``SystemModstamp`` (the timestamp Salesforce moves on any change, system changes included) and
filtered to records stamped at or after the stream's cursor; the answer's ``nextRecordsUrl``
(a query locator) leads to the following batches of the same result set. After each batch the
stream yields a checkpoint holding the newest ``SystemModstamp`` read so far. SOQL date-time
literals have whole seconds and many records share one ``SystemModstamp`` (a bulk update stamps
thousands alike), so the filter is ``>=`` the cursor's second, never ``>``: a sync stopped
between two batches of records stamped in the same second, or a record changed in that second
after the sync, is read again rather than lost; the records at the boundary are re-read and
counted unchanged. ``queryAll`` rather than ``query`` because it also returns records that
were deleted (or merged away) into the recycle bin: ingest cannot delete a record from cxm, so
a deleted Salesforce record is stored again with ``deleted: true`` (and, for a merged contact,
``merged_into``) instead of being silently left looking alive. Cases, tasks and e-mail messages
carry the customer's ``salesforce:contact`` identity (``salesforce:lead`` for tasks about a
lead), so they join the contact's e-mail and phone on one customer.

Salesforce answers an exhausted API allowance (the org's rolling 24-hour request allocation, or
too many concurrent long requests) with ``403`` and the error code ``REQUEST_LIMIT_EXCEEDED``.
That is a quota, not a refused credential, so it is raised as :class:`~cxm.RateLimitedError`
(with the ``Sforce-Limit-Info`` usage in its message), not :class:`~cxm.AuthError`; it is not
retried, since the allowance frees up over hours, and the batches read before it are kept.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx

from cxm.connectors.base import Checkpoint, Connector, Secret, Stream, optional_secret, secret
from cxm.connectors.http import (
    HttpClient,
    NextUrlPaginator,
    OAuth2ClientCredentials,
    OAuth2RefreshToken,
    RetryPolicy,
)
from cxm.connectors.options import check_source, http_url
from cxm.connectors.payload import pick
from cxm.exceptions import AuthError, RateLimitedError, ValidationError
from cxm.model import CustomerRecord, Direction, Identity, Interaction, check_aware_utc

__all__ = [
    "DEFAULT_API_VERSION",
    "LIMIT_ERROR_CODE",
    "SalesforceConfig",
    "SalesforceConnector",
    "soql_datetime",
]

DEFAULT_API_VERSION = "v60.0"
LIMIT_ERROR_CODE = "REQUEST_LIMIT_EXCEEDED"
"""The ``errorCode`` of Salesforce's 403 for an exhausted API allowance: a RateLimitedError."""
_VERSION = re.compile(r"^v\d{2,3}\.0$")
_REGION = re.compile(r"^[A-Z]{2}$")
_NAME = "salesforce"

_CONTACT_FIELDS = (
    "Id",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "MobilePhone",
    "Title",
    "AccountId",
    "LeadSource",
    "MailingCountry",
    "CreatedDate",
    "SystemModstamp",
    "IsDeleted",
    "MasterRecordId",
)
_CASE_FIELDS = (
    "Id",
    "CaseNumber",
    "ContactId",
    "SuppliedEmail",
    "Subject",
    "Description",
    "Status",
    "Priority",
    "Origin",
    "Type",
    "IsClosed",
    "ClosedDate",
    "CreatedDate",
    "SystemModstamp",
    "IsDeleted",
)
_TASK_FIELDS = (
    "Id",
    "WhoId",
    "WhatId",
    "Subject",
    "Description",
    "Status",
    "TaskSubtype",
    "CallType",
    "CallDurationInSeconds",
    "ActivityDate",
    "CreatedDate",
    "SystemModstamp",
    "IsDeleted",
)
_EMAIL_FIELDS = (
    "Id",
    "ParentId",
    "Parent.ContactId",
    "Subject",
    "TextBody",
    "FromAddress",
    "ToAddress",
    "Incoming",
    "Status",
    "MessageDate",
    "CreatedDate",
    "SystemModstamp",
    "IsDeleted",
)

# Salesforce id prefixes of the people a task can be about (WhoId is polymorphic).
_WHO_KINDS = {"003": "salesforce:contact", "00Q": "salesforce:lead"}
_TASK_CHANNELS = {
    "Call": ("phone", "call"),
    "Email": ("email", "email"),
    "ListEmail": ("email", "email"),
    "LinkedIn": ("social", "message"),
}


def _instance_url(value: Any) -> str:
    return http_url(value, "instance_url")


def _token_url(value: Any) -> str | None:
    return None if value is None else http_url(value, "token_url")


def _api_version(value: Any) -> str:
    if isinstance(value, str) and re.fullmatch(r"\d{2,3}\.0", value):
        value = f"v{value}"
    if not isinstance(value, str) or not _VERSION.fullmatch(value):
        raise ValidationError("api_version", value, "must look like 'v60.0'")
    return value


def _check_region(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not _REGION.fullmatch(value)):
        raise ValidationError("phone_region", value, "must be a two-letter ISO region like 'GB'")


def _moment(value: Any) -> datetime:
    """Read a Salesforce or ISO 8601 date-time (``2024-01-05T10:00:00.000+0000``) as UTC."""
    return check_aware_utc(
        "start", value.replace("Z", "+00:00") if isinstance(value, str) else value
    )


def _start(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    return _iso(_moment(value))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def soql_datetime(value: str | datetime) -> str:
    """Return a SOQL date-time literal: UTC, whole seconds, no quotes.

    SOQL takes date-times unquoted in the form ``YYYY-MM-DDThh:mm:ssZ``, without fractions of a
    second. A fraction is cut off (rounded down), so ``SystemModstamp >= <literal>`` matches
    the whole second the cursor points into: records stamped in that second are read again
    (and stored as unchanged) rather than missed.

    Args:
        value: An aware ``datetime`` or an ISO 8601 / Salesforce date-time string.

    Returns:
        The literal.

    Examples:
        >>> soql_datetime("2024-01-05T10:00:00.250+0000")
        '2024-01-05T10:00:00Z'
        >>> soql_datetime("2024-01-05T12:00:00+02:00")
        '2024-01-05T10:00:00Z'
    """
    moment = value if isinstance(value, datetime) else _moment(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.frozen(kw_only=True)
class SalesforceConfig:
    """Settings of the ``salesforce`` connector.

    Attributes:
        instance_url: The org's My Domain URL, e.g. ``https://acme.my.salesforce.com`` (the
            connector's base URL; the ``instance_url`` of the org's token answers). There is
            no shared default: every org has its own.
        client_id: The connected app's consumer key.
        client_secret: The connected app's consumer secret (never printed).
        refresh_token: A refresh token of a user who authorised the app (OAuth 2 refresh-token
            grant). Without it the client-credentials grant is used (the connected app must
            have a run-as user).
        token_url: The token endpoint; default ``<instance_url>/services/oauth2/token``.
        api_version: REST API version, ``"v60.0"``.
        start: Read records stamped at or after this ISO time on the first sync (and a full
            refresh).
        phone_region: ISO region for national phone numbers (``"GB"``); without it numbers
            not written in international form are left out, with a note.
        source: The records' ``source``. Give each org its own (ids are unique per org) and
            never change it afterwards.
        transport: An ``httpx`` transport, for tests (``httpx.MockTransport``).
        retry: How failed requests are retried.
    """

    instance_url: str = attrs.field(converter=_instance_url)
    client_id: str = attrs.field()
    client_secret: Secret = attrs.field(converter=secret, repr=False)
    refresh_token: Secret | None = attrs.field(default=None, converter=optional_secret, repr=False)
    token_url: str | None = attrs.field(default=None, converter=_token_url)
    api_version: str = attrs.field(default=DEFAULT_API_VERSION, converter=_api_version)
    start: str = attrs.field(default="1970-01-01T00:00:00Z", converter=_start)
    phone_region: str | None = attrs.field(default=None, validator=_check_region)
    source: str = attrs.field(default=_NAME, validator=check_source)
    transport: httpx.BaseTransport | None = attrs.field(default=None, repr=False)
    retry: RetryPolicy | None = None

    @client_id.validator
    def _client_id(self, attribute: Any, value: Any) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("client_id", value, "must be a non-empty string")


class SalesforceConnector(Connector):
    """Contacts, cases, tasks and e-mail messages from a Salesforce org."""

    name = _NAME
    summary = "Salesforce contacts, cases, tasks and e-mail messages (REST API, SOQL queryAll)"
    Config = SalesforceConfig
    config: SalesforceConfig

    @property
    def state_key(self) -> str:
        """``salesforce:<instance host>``: one set of cursors per org."""
        return f"salesforce:{httpx.URL(self.config.instance_url).host}"

    @functools.cached_property
    def _auth(self) -> OAuth2RefreshToken | OAuth2ClientCredentials:
        # One auth for every stream of this instance: it caches the access token (and renews
        # it on a 401), so a sync asks for one token, not one per stream.
        config = self.config
        token_url = config.token_url or f"{config.instance_url}/services/oauth2/token"
        if config.refresh_token is not None:
            return OAuth2RefreshToken(
                token_url, config.client_id, config.client_secret, config.refresh_token
            )
        return OAuth2ClientCredentials(token_url, config.client_id, config.client_secret)

    def _client(self) -> HttpClient:
        config = self.config
        return HttpClient(
            config.instance_url,
            auth=self._auth,
            transport=config.transport,
            retry=config.retry,
            connector=self.name,
            secrets=self.secrets(),
            headers={"Accept": "application/json"},
        )

    def _query_path(self) -> str:
        return f"/services/data/{self.config.api_version}/queryAll"

    def check(self) -> None:
        """Fetch a token and run ``SELECT Id FROM Contact LIMIT 1``.

        Raises:
            AuthError: If the token endpoint or the API refuses the credentials.
            RateLimitedError: If the org's API allowance is spent (``REQUEST_LIMIT_EXCEEDED``).
        """
        with self._client() as client, _request_limits():
            client.get_json(self._query_path(), params={"q": "SELECT Id FROM Contact LIMIT 1"})

    def streams(self) -> list[Stream]:
        """``contacts``, ``cases``, ``tasks`` and ``email_messages``."""
        return [
            Stream(
                name="contacts",
                read=self._reader("Contact", _CONTACT_FIELDS, "contacts"),
                parse=self.parse_contact,
                description="Contact records as customer records",
            ),
            Stream(
                name="cases",
                read=self._reader("Case", _CASE_FIELDS, "cases"),
                parse=self.parse_case,
                description="Cases as support tickets of their contact",
            ),
            Stream(
                name="tasks",
                read=self._reader("Task", _TASK_FIELDS, "tasks"),
                parse=self.parse_task,
                description="Tasks (calls, e-mails, to-dos) about a contact or lead",
            ),
            Stream(
                name="email_messages",
                read=self._reader("EmailMessage", _EMAIL_FIELDS, "email_messages"),
                parse=self.parse_email_message,
                description="E-mail messages of cases (Email-to-Case, Enhanced Email)",
            ),
        ]

    # -- reading ----------------------------------------------------------------------------

    def _reader(
        self, sobject: str, fields: tuple[str, ...], stream: str
    ) -> Callable[[Any], Iterator[Any]]:
        def read(cursor: Any) -> Iterator[Any]:
            return self.read_query(sobject, fields, stream, cursor)

        return read

    def read_query(
        self, sobject: str, fields: tuple[str, ...], stream: str, cursor: Any
    ) -> Iterator[Any]:
        """Yield the records of ``sobject`` stamped since the cursor, with a checkpoint a batch.

        Args:
            sobject: ``"Contact"``, ``"Case"``, ...
            fields: The fields to select.
            stream: The stream's name, for errors.
            cursor: ``{"system_modstamp": "<ISO time>"}`` or ``None`` (use ``start``).

        Yields:
            The raw records of each batch, then ``Checkpoint({"system_modstamp": ...})``
            holding the newest ``SystemModstamp`` read so far. The next query asks for
            ``SystemModstamp >=`` that second, so records sharing it are never skipped.

        Raises:
            RateLimitedError: When Salesforce answers 403 ``REQUEST_LIMIT_EXCEEDED``; the
                checkpoints yielded before it stand.
        """
        since = self.config.start
        if isinstance(cursor, dict) and isinstance(cursor.get("system_modstamp"), str):
            since = cursor["system_modstamp"]
        newest = _moment(since)
        soql = (
            f"SELECT {', '.join(fields)} FROM {sobject} "
            f"WHERE SystemModstamp >= {soql_datetime(newest)} ORDER BY SystemModstamp ASC"
        )
        with self._client() as client, _request_limits():
            pages = client.paginate(
                self._query_path(),
                paginator=NextUrlPaginator("nextRecordsUrl"),
                params={"q": soql},
                items="records",
                stream=stream,
            )
            for page in pages:
                yield from page.items
                for record in page.items:
                    stamp = record.get("SystemModstamp") if isinstance(record, dict) else None
                    try:
                        moment = _moment(stamp)
                    except ValidationError:
                        continue  # parse quarantines the record; it cannot move the cursor
                    newest = max(newest, moment)
                yield Checkpoint({"system_modstamp": _iso(newest)})

    # -- parsing ----------------------------------------------------------------------------

    def _time(self, record: Any, field: str, default: datetime | None = None) -> datetime:
        value: Any = pick(record, field, str, vendor=self.name, default=default)
        if isinstance(value, datetime):
            return value
        try:
            return _moment(value)
        except ValidationError:
            raise ValidationError(
                f"{self.name}.{field}", value, "not a date-time in the API's answer"
            ) from None

    def _deletion(self, record: Any) -> dict[str, Any]:
        if pick(record, "IsDeleted", bool, vendor=self.name, default=False):
            return {"deleted": True}
        return {}

    def parse_contact(self, record: Any) -> CustomerRecord:
        """Turn one Contact into a customer record (e-mail, phones and the contact id)."""
        contact_id = pick(record, "Id", str, vendor=self.name)
        problems: list[str] = []
        identities = [Identity("salesforce:contact", contact_id)]
        for field, kind in (("Email", "email"), ("Phone", "phone"), ("MobilePhone", "phone")):
            found = self._identity(record, field, kind, problems)
            if found is not None:
                identities.append(found)
        traits: dict[str, Any] = {
            "first_name": pick(record, "FirstName", str, vendor=self.name, default=None),
            "last_name": pick(record, "LastName", str, vendor=self.name, default=None),
            "title": pick(record, "Title", str, vendor=self.name, default=None),
            "account_id": pick(record, "AccountId", str, vendor=self.name, default=None),
            "lead_source": pick(record, "LeadSource", str, vendor=self.name, default=None),
            "country": pick(record, "MailingCountry", str, vendor=self.name, default=None),
            "created_at": _iso(self._time(record, "CreatedDate")),
            **self._deletion(record),
        }
        merged_into = pick(record, "MasterRecordId", str, vendor=self.name, default=None)
        if merged_into:
            traits["merged_into"] = merged_into
        if problems:
            traits["identity_problems"] = problems
        return CustomerRecord(
            source=self.config.source,
            source_id=contact_id,
            identities=identities,
            traits={key: value for key, value in traits.items() if value is not None},
            updated_at=self._time(record, "SystemModstamp"),
        )

    def parse_case(self, record: Any) -> Interaction:
        """Turn one Case into a support ticket of its contact."""
        problems: list[str] = []
        identities = self._who(record, "ContactId")
        if not identities:
            # Web-to-Case and Email-to-Case cases without a matched contact.
            supplied = self._identity(record, "SuppliedEmail", "email", problems)
            identities = [supplied] if supplied is not None else []
        attributes = {
            "case_number": pick(record, "CaseNumber", str, vendor=self.name, default=None),
            "subject": pick(record, "Subject", str, vendor=self.name, default=None),
            "status": pick(record, "Status", str, vendor=self.name, default=None),
            "priority": pick(record, "Priority", str, vendor=self.name, default=None),
            "origin": pick(record, "Origin", str, vendor=self.name, default=None),
            "type": pick(record, "Type", str, vendor=self.name, default=None),
            "closed": pick(record, "IsClosed", bool, vendor=self.name, default=None),
            "closed_at": pick(record, "ClosedDate", str, vendor=self.name, default=None),
            **self._deletion(record),
        }
        if problems:
            attributes["identity_problems"] = problems
        return Interaction(
            source=self.config.source,
            source_id=pick(record, "Id", str, vendor=self.name),
            occurred_at=self._time(record, "CreatedDate"),
            channel="support",
            kind="ticket",
            text=pick(record, "Description", str, vendor=self.name, default=None),
            identities=identities,
            attributes=_present(attributes),
            updated_at=self._time(record, "SystemModstamp"),
        )

    def parse_task(self, record: Any) -> Interaction:
        """Turn one Task into an interaction: a call, an e-mail or a to-do about a person."""
        subtype = pick(record, "TaskSubtype", str, vendor=self.name, default="Task")
        channel, kind = _TASK_CHANNELS.get(subtype, ("crm", "task"))
        call_type = pick(record, "CallType", str, vendor=self.name, default=None)
        # A task is logged by the company; only a call the customer placed is inbound.
        direction = Direction.INBOUND if call_type == "Inbound" else Direction.OUTBOUND
        attributes = {
            "subject": pick(record, "Subject", str, vendor=self.name, default=None),
            "status": pick(record, "Status", str, vendor=self.name, default=None),
            "task_subtype": subtype,
            "call_type": call_type,
            "call_duration_seconds": pick(
                record, "CallDurationInSeconds", int, vendor=self.name, default=None
            ),
            "activity_date": pick(record, "ActivityDate", str, vendor=self.name, default=None),
            "related_to_id": pick(record, "WhatId", str, vendor=self.name, default=None),
            **self._deletion(record),
        }
        return Interaction(
            source=self.config.source,
            source_id=pick(record, "Id", str, vendor=self.name),
            occurred_at=self._time(record, "CreatedDate"),
            channel=channel,
            kind=kind,
            direction=direction,
            text=pick(record, "Description", str, vendor=self.name, default=None),
            identities=self._who(record, "WhoId"),
            attributes=_present(attributes),
            updated_at=self._time(record, "SystemModstamp"),
        )

    def parse_email_message(self, record: Any) -> Interaction:
        """Turn one EmailMessage into an e-mail of the customer of its case."""
        incoming = pick(record, "Incoming", bool, vendor=self.name, default=False)
        problems: list[str] = []
        identities = self._who(record, "Parent.ContactId")
        if not identities:
            # No case contact: the customer's side of the message, never the agent's address.
            field = "FromAddress" if incoming else "ToAddress"
            address = pick(record, field, str, vendor=self.name, default="")
            if address and ";" not in address:
                found = self._identity(record, field, "email", problems)
                identities = [found] if found is not None else []
        attributes = {
            "subject": pick(record, "Subject", str, vendor=self.name, default=None),
            "from": pick(record, "FromAddress", str, vendor=self.name, default=None),
            "to": pick(record, "ToAddress", str, vendor=self.name, default=None),
            "status": pick(record, "Status", str, vendor=self.name, default=None),
            "case_id": pick(record, "ParentId", str, vendor=self.name, default=None),
            **self._deletion(record),
        }
        if problems:
            attributes["identity_problems"] = problems
        created = self._time(record, "CreatedDate")
        return Interaction(
            source=self.config.source,
            source_id=pick(record, "Id", str, vendor=self.name),
            occurred_at=self._time(record, "MessageDate", default=created),
            channel="email",
            kind="email",
            direction=Direction.INBOUND if incoming else Direction.OUTBOUND,
            text=pick(record, "TextBody", str, vendor=self.name, default=None),
            identities=identities,
            attributes=_present(attributes),
            updated_at=self._time(record, "SystemModstamp"),
        )

    def _who(self, record: Any, field: str) -> list[Identity]:
        who = pick(record, field, str, vendor=self.name, default=None)
        kind = _WHO_KINDS.get(who[:3]) if who else None
        return [Identity(kind, who)] if kind and who else []

    def _identity(self, record: Any, field: str, kind: str, problems: list[str]) -> Identity | None:
        value = pick(record, field, str, vendor=self.name, default=None)
        if not value or not value.strip():
            return None
        try:
            return Identity(kind, value, region=self.config.phone_region)
        except ValidationError as exc:
            # One bad phone number should not cost the whole contact: keep it without it.
            problems.append(f"{field}={value!r}: {exc.reason}")
            return None


@contextlib.contextmanager
def _request_limits() -> Iterator[None]:
    """Re-raise Salesforce's 403 ``REQUEST_LIMIT_EXCEEDED`` as a RateLimitedError.

    The HTTP client maps every 403 to :class:`~cxm.AuthError`; Salesforce also uses 403 for an
    exhausted API allowance, which new credentials would not fix.
    """
    try:
        yield
    except AuthError as error:
        response = getattr(error.__cause__, "response", None)
        if error.status != 403 or not isinstance(response, httpx.Response):
            raise
        if LIMIT_ERROR_CODE not in _error_codes(response):
            raise
        message = error.message
        usage = response.headers.get("Sforce-Limit-Info")
        if usage:
            message += f" [Sforce-Limit-Info: {usage}]"
        raise RateLimitedError(
            message,
            connector=error.connector,
            stream=error.stream,
            request=error.request,
            status=error.status,
        ) from error.__cause__


def _error_codes(response: httpx.Response) -> set[str]:
    """The ``errorCode`` values of a REST API error body ``[{"message", "errorCode"}, ...]``."""
    try:
        body = response.json()
    except ValueError:
        return set()
    errors = body if isinstance(body, list) else [body]
    return {str(e["errorCode"]) for e in errors if isinstance(e, dict) and "errorCode" in e}


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
