"""Delighted: NPS, CSAT and CES survey responses, and the people who gave them.

Delighted lists an account's survey responses at ``GET /v1/survey_responses.json`` (HTTP Basic
auth, the API key as user name and an empty password), a page at a time (``per_page`` at most
100, ``page`` from 1), and can filter and sort them on their last change: ``updated_since`` keeps
the responses updated at or after a Unix time and ``order=asc:updated_at`` sorts them oldest
change first. The connector reads that way, so a response edited after it was first read (a
comment added, a note or a tag) comes back on the next sync, and pages through it by *keyset*
rather than by page number: after each page it asks again from the newest ``updated_at`` it has
seen, remembering the ids it has already read at that very second. ``updated_since`` is
inclusive and times are whole seconds, so the responses sharing the boundary second come back
and are skipped by id, none is lost at a page boundary, and a response changed while the sync
pages moves to the end of the order instead of shifting an unread one onto a page already read.
Only when a whole page shares one second does it step to the next page of that second.

After every page the connector yields a checkpoint ``{"updated_since": <unix>, "seen": [ids]}``:
the responses are read in ascending order of change, so everything before it has been read, and a
sync stopped at any point resumes there. Each response asks Delighted to embed its person
(``expand[]=person``) and becomes an inbound ``survey_response`` interaction with the score as
:class:`~cxm.model.Feedback` on the survey type's scale, plus a customer record of the person
(``delighted:person`` id, e-mail, phone) whose traits are the ``person_properties`` sent with the
survey; the interaction carries the ``delighted:person`` identity that links the two.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx

from cxm.connectors.base import Checkpoint, Connector, Record, Secret, Stream, secret
from cxm.connectors.http import BasicAuth, HttpClient, KeysetWindow, RateLimiter, RetryPolicy
from cxm.connectors.options import check_source, http_url, int_between, iso_time, parse_iso_time
from cxm.connectors.payload import pick
from cxm.exceptions import UpstreamError, ValidationError
from cxm.model import CustomerRecord, Feedback, Identity, Interaction

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_PER_PAGE",
    "SURVEY_SCALES",
    "DelightedConfig",
    "DelightedConnector",
    "response_records",
]

NAME = "delighted"
DEFAULT_BASE_URL = "https://api.delighted.com/v1"
MAX_PER_PAGE = 100
"""The most responses Delighted returns on one page."""

SURVEY_SCALES: dict[str, tuple[str, tuple[int, int]]] = {
    "nps": ("nps", (0, 10)),
    "enps": ("custom", (0, 10)),
    "csat": ("csat", (1, 5)),
    "csat3": ("csat", (1, 3)),
    "ces": ("ces", (1, 5)),
    "ces7": ("ces", (1, 7)),
    "stars_five": ("rating", (1, 5)),
    "smileys": ("rating", (1, 5)),
    "pmf": ("custom", (1, 3)),
}
"""Each Delighted ``survey_type`` and the cxm metric and ``(min, max)`` scale its score is read on.

eNPS asks employees, not customers, so it is kept out of the customer NPS as a ``custom`` metric
on 0..10; the product/market-fit question (``pmf``: 1 not, 2 somewhat, 3 very disappointed) is a
``custom`` metric on 1..3. A type not listed here (``thumbs``, or one Delighted adds later) has no
known scale, and its responses are quarantined with the type named.
"""

_TRAIT_EXCLUDED_PREFIXES = ("Delighted ", "delighted_", "question_", "thank_you_")
"""``person_properties`` that configure or describe the survey, not the person: kept on the
interaction, left out of the traits."""
_PERSON = "delighted:person"
_ID: Any = (str, int)  # ids are strings in the reference; accept numbers too
_PERSON_FORMS: Any = (dict, str, int)  # embedded with expand[]=person, else the id
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


# -- settings -----------------------------------------------------------------------------------


def _start(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("start", value, "must be an ISO 8601 time ('2025-01-01T00:00Z')")
    return iso_time(value)


def _unix(value: str, field: str) -> int:
    """Whole seconds since the epoch of an ISO time (Delighted's time form)."""
    return int(parse_iso_time(value, field).timestamp())


def _check_name(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not _NAME_PATTERN.fullmatch(value)):
        raise ValidationError(
            attribute.name, value, "must be 1-64 letters, digits, '_', '.', ':' or '-'"
        )


def _check_touchpoint(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValidationError("touchpoint", value, "must be a non-empty name")


@attrs.frozen(kw_only=True)
class DelightedConfig:
    """Settings of the ``delighted`` connector.

    Attributes:
        api_key: The project's API key (Delighted: Integrations > API; never printed). Each
            Delighted project has its own key, and the key sees that project's responses only.
        project: A name for the project, used to key the sync state (``delighted:<project>``).
            Without it the state is keyed on a fingerprint of the key, so a new key starts over.
        source: The records' ``source``. Response and person ids are Delighted's, unique within
            one account; never change it afterwards.
        base_url: The API's root.
        start: On the first sync (and a full refresh), read responses updated at or after this
            ISO time; by default every response.
        trend: Read only the responses of this Delighted trend (its id).
        per_page: Responses per page, 1 to 100.
        touchpoint: The catalog touchpoint every response is filed under (``"Post-purchase
            survey"``); by default none.
        rate_limit: Requests per second, or a shared :class:`~cxm.connectors.http.RateLimiter`;
            by default none (a 429 is waited out for its ``Retry-After``).
        transport: An ``httpx`` transport, for tests (``httpx.MockTransport``).
        retry: How failed requests are retried.
    """

    api_key: Secret = attrs.field(converter=secret, repr=False)
    project: str | None = attrs.field(default=None, validator=_check_name)
    source: str = attrs.field(default=NAME, validator=check_source)
    base_url: str = attrs.field(default=DEFAULT_BASE_URL, converter=http_url)
    start: str | None = attrs.field(default=None, converter=_start)
    trend: str | None = attrs.field(default=None, validator=_check_name)
    per_page: int = attrs.field(default=MAX_PER_PAGE, validator=int_between(1, MAX_PER_PAGE))
    touchpoint: str | None = attrs.field(default=None, validator=_check_touchpoint)
    rate_limit: float | RateLimiter | None = None
    transport: httpx.BaseTransport | None = attrs.field(default=None, repr=False)
    retry: RetryPolicy | None = None


def _window(since: int | None, seen: set[str]) -> KeysetWindow[int]:
    """Where the keyset paging stands: the second asked from, the ids read at it, the page."""
    return KeysetWindow(since, seen, time=_changed_at, key=_key)


# -- the connector ------------------------------------------------------------------------------


class DelightedConnector(Connector):
    """Survey responses of a Delighted project, with the people who answered."""

    name = NAME
    summary = "Delighted NPS, CSAT and CES survey responses, with person properties as traits"
    Config = DelightedConfig
    config: DelightedConfig

    def __init__(self, config: Any = None, /, **options: Any) -> None:
        super().__init__(config, **options)
        rate = self.config.rate_limit
        self._limiter = (
            rate if isinstance(rate, RateLimiter) or rate is None else RateLimiter(float(rate))
        )

    @property
    def state_key(self) -> str:
        """``delighted:<project>`` or ``delighted:key-<fingerprint>``, then ``:trend-<id>``."""
        if self.config.project:
            key = f"{NAME}:{self.config.project}"
        else:
            digest = hashlib.sha256(self.config.api_key.reveal().encode()).hexdigest()[:16]
            key = f"{NAME}:key-{digest}"
        if self.config.trend:
            key = f"{key}:trend-{self.config.trend}"
        return key

    def _client(self) -> HttpClient:
        return HttpClient(
            self.config.base_url,
            auth=BasicAuth(self.config.api_key, ""),  # the key is the user name
            headers={"Accept": "application/json"},
            transport=self.config.transport,
            retry=self.config.retry,
            rate_limit=self._limiter,
            connector=self.name,
            secrets=self.secrets(),
        )

    def check(self) -> None:
        """Read one survey response: a refused key raises :class:`~cxm.AuthError`."""
        with self._client() as client:
            client.get_json("/survey_responses.json", params={"per_page": 1})

    def streams(self) -> list[Stream]:
        """Return the one stream, ``survey_responses``."""
        return [
            Stream(
                name="survey_responses",
                read=self.read_responses,
                parse=self.parse_response,
                description="survey responses, oldest change first, with their person",
            )
        ]

    # -- reading ------------------------------------------------------------------------------

    def read_responses(self, cursor: Any) -> Iterator[Any]:
        """Yield the responses updated since the cursor, a checkpoint after every page.

        The cursor is ``{"updated_since": <unix seconds>, "seen": ["<id>", ...]}``: every
        response updated before that second has been read, and so have the listed ones updated
        at it. Each request asks from the newest second seen so far, page 1; the responses of
        that second already read are skipped by id. A page whose responses all share the
        second asked from cannot move the window, so the next request asks for the next page
        of that second instead.
        """
        if isinstance(cursor, Mapping) and isinstance(cursor.get("updated_since"), int):
            window = _window(cursor["updated_since"], {str(i) for i in cursor.get("seen") or []})
        else:
            start = self.config.start
            window = _window(_unix(start, "start") if start else None, set())
        size = self.config.per_page
        with self._client() as client:
            while True:
                params: dict[str, Any] = {
                    "per_page": size,
                    "page": window.page,
                    "order": "asc:updated_at",
                    "expand[]": "person",
                }
                if window.since is not None:
                    params["updated_since"] = window.since
                if self.config.trend:
                    params["trend"] = self.config.trend
                body = client.get_json(
                    "/survey_responses.json", params=params, stream="survey_responses"
                )
                if not isinstance(body, list):
                    raise UpstreamError(
                        "the answer to GET /survey_responses.json is not a JSON array "
                        f"(got {type(body).__name__})",
                        connector=self.name,
                        stream="survey_responses",
                    )
                yield from window.unread(body)
                window.move(body)
                if window.since is not None:
                    yield Checkpoint({"updated_since": window.since, "seen": sorted(window.seen)})
                if len(body) < size:
                    return

    # -- parsing ------------------------------------------------------------------------------

    def parse_response(self, item: Any) -> list[Record]:
        """Turn one survey response into its person's customer record and the interaction."""
        return response_records(item, source=self.config.source, touchpoint=self.config.touchpoint)


def response_records(
    response: Any, *, source: str = NAME, touchpoint: str | None = None
) -> list[Record]:
    """Turn one survey response into records: the person's customer record, then the response.

    Args:
        response: A survey response as ``GET /v1/survey_responses.json`` returns it, with the
            person embedded (``expand[]=person``) or as an id.
        source: The records' ``source``.
        touchpoint: The interaction's touchpoint, if any.

    Returns:
        A :class:`~cxm.model.CustomerRecord` ``person:<id>`` with the ``delighted:person``,
        ``email`` and ``phone`` identities and the ``person_properties`` as traits, dated by the
        response's ``created_at`` (when those properties were sent); then an inbound
        ``survey_response`` :class:`~cxm.model.Interaction` on the survey channel with the score
        as feedback on the survey type's scale (see :data:`SURVEY_SCALES`).

    Raises:
        ValidationError: Naming the Delighted field, when one is missing or malformed, the
            survey type is unknown or the score lies outside its scale.

    Examples:
        >>> response = {"id": "1", "survey_type": "nps", "score": 9, "comment": "Fast!",
        ...             "created_at": 1713418460, "updated_at": 1713418460,
        ...             "person": {"id": "10", "email": "Ann@Example.com", "name": "Ann"},
        ...             "person_properties": {"plan": "pro"}}
        >>> person, answer = response_records(response)
        >>> person.source_id, person.traits, [i.kind for i in person.identities]
        ('person:10', {'plan': 'pro', 'name': 'Ann'}, ['delighted:person', 'email'])
        >>> answer.feedback[0].metric.value, answer.feedback[0].score, answer.text
        ('nps', 9, 'Fast!')
    """
    response_id = str(pick(response, "id", _ID, vendor=NAME))
    created = _time(pick(response, "created_at", int, vendor=NAME), "created_at")
    # A response never edited may carry "updated_at": null (the reference's example does).
    updated_raw: int | None = pick(response, "updated_at", int, vendor=NAME, default=None)
    updated = created if updated_raw is None else _time(updated_raw, "updated_at")
    survey_type = pick(response, "survey_type", str, vendor=NAME)
    score = pick(response, "score", int, vendor=NAME)
    comment = pick(response, "comment", str, vendor=NAME, default=None) or None
    properties = pick(response, "person_properties", dict, vendor=NAME, default={})
    if survey_type not in SURVEY_SCALES:
        known = ", ".join(SURVEY_SCALES)
        raise ValidationError(
            f"{NAME}.survey_type", survey_type, f"no known score scale; known types: {known}"
        )
    metric, (low, high) = SURVEY_SCALES[survey_type]
    if not low <= score <= high:
        raise ValidationError(
            f"{NAME}.score", score, f"outside the {survey_type} scale {low}..{high}"
        )
    person = _person(response)
    person_id = str(pick(person, "id", _ID, vendor=f"{NAME}.person"))
    records: list[Record] = [
        _customer_record(person, person_id, properties, created, source),
        Interaction(
            source=source,
            source_id=response_id,
            occurred_at=created,
            updated_at=updated,
            channel="survey",
            kind="survey_response",
            touchpoint=touchpoint,
            text=comment,
            identities=[Identity(_PERSON, person_id)],
            feedback=[
                Feedback(
                    metric=metric,
                    score=score,
                    scale=None if metric == "nps" else (low, high),
                    comment=comment,
                )
            ],
            attributes=_attributes(response, survey_type, properties),
        ),
    ]
    return records


def _person(response: Any) -> dict[str, Any]:
    """The embedded person, or ``{"id": ...}`` when the answer carries only the id."""
    person = pick(response, "person", _PERSON_FORMS, vendor=NAME)
    return person if isinstance(person, dict) else {"id": person}


def _customer_record(
    person: dict[str, Any],
    person_id: str,
    properties: dict[str, Any],
    created: datetime,
    source: str,
) -> CustomerRecord:
    vendor = f"{NAME}.person"
    identities = [Identity(_PERSON, person_id)]
    traits: dict[str, Any] = {
        key: value
        for key, value in properties.items()
        if not key.startswith(_TRAIT_EXCLUDED_PREFIXES) and value not in (None, "")
    }
    name = pick(person, "name", str, vendor=vendor, default=None)
    if name:
        traits["name"] = name
    for kind, field in (("email", "email"), ("phone", "phone_number")):
        value = pick(person, field, str, vendor=vendor, default=None)
        if not value:
            continue
        try:
            identities.append(Identity(kind, value))
        except ValidationError:
            # Kept, but not used to link customers: a malformed address matches nothing.
            traits[field] = value
    return CustomerRecord(
        source=source,
        source_id=f"person:{person_id}",
        identities=identities,
        traits=traits,
        updated_at=created,
    )


def _attributes(response: Any, survey_type: str, properties: dict[str, Any]) -> dict[str, Any]:
    answers = []
    for index, answer in enumerate(
        pick(response, "additional_answers", list, vendor=NAME, default=[])
    ):
        vendor = f"{NAME}.additional_answers.{index}"
        answers.append(
            {
                "question_id": pick(answer, "question.id", _ID, vendor=vendor, default=None),
                "question": pick(answer, "question.text", str, vendor=vendor, default=None),
                "type": pick(answer, "question.type", str, vendor=vendor, default=None),
                "answer": _answer_value(pick(answer, "value", dict, vendor=vendor, default={})),
            }
        )
    notes = [
        {
            "text": pick(note, "text", str, vendor=f"{NAME}.notes.{i}", default=None),
            "user_email": pick(note, "user_email", str, vendor=f"{NAME}.notes.{i}", default=None),
            "created_at": pick(note, "created_at", int, vendor=f"{NAME}.notes.{i}", default=None),
        }
        for i, note in enumerate(pick(response, "notes", list, vendor=NAME, default=[]))
    ]
    attributes = {
        "survey_type": survey_type,
        "permalink": pick(response, "permalink", str, vendor=NAME, default=None),
        "person_properties": properties or None,
        "tags": pick(response, "tags", list, vendor=NAME, default=[]) or None,
        "notes": notes or None,
        "additional_answers": answers or None,
    }
    return {key: value for key, value in attributes.items() if value is not None}


def _answer_value(value: dict[str, Any]) -> Any:
    """The answer of an additional question, whichever of its four forms it took."""
    if value.get("free_response") is not None:
        return value["free_response"]
    if value.get("scale") is not None:
        return value["scale"]
    one = value.get("select_one")
    if isinstance(one, dict):
        return one.get("text")
    many = value.get("select_many")
    if isinstance(many, list):
        return [choice.get("text") for choice in many if isinstance(choice, dict)]
    return None


def _time(value: int, field: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValidationError(f"{NAME}.{field}", value, "not a Unix time in seconds") from None


def _changed_at(response: Any) -> int | None:
    """The second a response last changed (``updated_at``, else ``created_at``), if readable."""
    if not isinstance(response, dict):
        return None
    for field in ("updated_at", "created_at"):
        value = response.get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _key(response: Any) -> str | None:
    if isinstance(response, dict) and isinstance(response.get("id"), (str, int)):
        return str(response["id"])
    return None
