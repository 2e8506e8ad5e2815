"""The domain: what a customer interaction, a piece of feedback and a customer are.

Every class is an immutable ``attrs`` value validated on construction: a record that exists is a
record that is valid, so nothing downstream re-checks it. Bad input raises
:class:`~cxm.exceptions.ValidationError` naming the field and the value. Times must be
time-zone aware and are converted to UTC; channels, directions and feedback metrics are closed
vocabularies; scores must lie inside their scale. Connectors produce :class:`Interaction` and
:class:`CustomerRecord`; only the store produces :class:`Customer`.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from numbers import Real
from typing import Any, ClassVar

import attrs
import orjson

from cxm.exceptions import ValidationError
from cxm.identity import normalize_identity

__all__ = [
    "Channel",
    "Customer",
    "CustomerRecord",
    "Direction",
    "Feedback",
    "Identity",
    "Interaction",
    "JourneyStage",
    "Metric",
    "Touchpoint",
    "record_from_dict",
]

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_SOURCE_ID_LENGTH = 255
MAX_TOUCHPOINT_LENGTH = 255
#: Money is stored exactly as an integer number of millionths.
MONEY_DECIMALS = 6
_MAX_MONEY = Decimal("9000000000000")


class Channel(enum.StrEnum):
    """The medium an interaction happened through. Unknown channels are an error, not "other"."""

    WEB = "web"
    APP = "app"
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    SMS = "sms"
    SOCIAL = "social"
    REVIEW_SITE = "review_site"
    STORE = "store"
    SUPPORT = "support"
    SURVEY = "survey"
    CRM = "crm"
    ADS = "ads"


class Direction(enum.StrEnum):
    """Who spoke: the customer to the company (inbound) or the company to the customer."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Metric(enum.StrEnum):
    """What a piece of feedback measures."""

    NPS = "nps"
    CSAT = "csat"
    CES = "ces"
    RATING = "rating"
    CUSTOM = "custom"


class JourneyStage(enum.StrEnum):
    """The default lifecycle stages, ordered: awareness < evaluation < ... < advocacy.

    Comparison follows the lifecycle, not the alphabet. Projects with their own stages keep them
    as plain strings in an ordered list (see ``cxm.journey``).

    Examples:
        >>> JourneyStage.AWARENESS < JourneyStage.PURCHASE < JourneyStage.ADVOCACY
        True
        >>> JourneyStage("post_purchase").rank
        3
    """

    AWARENESS = "awareness"
    EVALUATION = "evaluation"
    PURCHASE = "purchase"
    POST_PURCHASE = "post_purchase"
    ADVOCACY = "advocacy"

    @property
    def rank(self) -> int:
        """Position of the stage in the lifecycle, from 0."""
        return _STAGE_RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, JourneyStage):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, JourneyStage):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, JourneyStage):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, JourneyStage):
            return NotImplemented
        return self.rank >= other.rank

    __hash__ = enum.StrEnum.__hash__


_STAGE_RANK = {stage: rank for rank, stage in enumerate(JourneyStage)}

# The scale each metric is read on unless a Feedback says otherwise.
DEFAULT_SCALES: dict[Metric, tuple[float, float]] = {
    Metric.NPS: (0, 10),
    Metric.CSAT: (1, 5),
    Metric.CES: (1, 7),
    Metric.RATING: (1, 5),
}


def _check_enum(enum_type: type[enum.StrEnum], field: str, value: Any) -> Any:
    # The value map is what Enum.__call__ consults, without its overhead (members hash and
    # compare as their string values, so a member finds itself too).
    try:
        return enum_type._value2member_map_[value]
    except (KeyError, TypeError):
        allowed = ", ".join(sorted(member.value for member in enum_type))
        raise ValidationError(field, value, f"must be one of: {allowed}") from None


def check_aware_utc(field: str, value: Any) -> datetime:
    """Return ``value`` as an aware UTC datetime, or raise naming ``field``.

    Accepts an aware :class:`~datetime.datetime` (``pandas.Timestamp`` included) or an ISO 8601
    string with an offset. Naive values are refused: guessing their zone silently shifts every
    time by hours.
    """
    given = value  # errors report the value as it was passed, not as it was parsed
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(field, given, "not an ISO 8601 date-time") from None
    if not isinstance(value, datetime):
        raise ValidationError(field, given, "must be a time-zone aware datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            field, given, "naive date-time has no time zone; give an offset (tzinfo=UTC, 'Z')"
        )
    if type(value) is not datetime:  # pandas.Timestamp and friends
        value = datetime.fromisoformat(value.isoformat())
    return value.astimezone(UTC) if value.tzinfo is not UTC else value  # type: ignore[no-any-return]


def _check_source(field: str, value: Any) -> str:
    if not isinstance(value, str) or not _SOURCE.fullmatch(value):
        raise ValidationError(
            field, value, "must be a lower-case name of letters, digits, '_', '.' or '-'"
        )
    return value


def _check_source_id(field: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, value, "must be a non-empty string")
    if len(value) > MAX_SOURCE_ID_LENGTH:
        raise ValidationError(field, value, f"longer than {MAX_SOURCE_ID_LENGTH} characters")
    return value


def _check_json_object(field: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(field, value, "must be a mapping of names to JSON values")
    if not value:
        return {}
    out = dict(value)
    for key in out:
        if not isinstance(key, str):
            raise ValidationError(field, value, f"key {key!r} is not a string")
    try:
        # A round trip is the test: a value that serialises as something else (a tuple as a
        # list, a datetime as a string, NaN as null) does not read back as what was given.
        round_trip = orjson.loads(orjson.dumps(out, option=orjson.OPT_SORT_KEYS))
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, value, f"must hold only JSON values: {exc}") from None
    if round_trip != out:
        raise ValidationError(
            field, value, "must hold only JSON values (string keys at every level, lists)"
        )
    return out


def _check_optional_text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(field, value, "must be a string")
    return value


@attrs.frozen(init=False, repr=True)
class Identity:
    """One identifier of a customer: an e-mail address, a phone number or a source's id.

    The value is normalised on construction, so two spellings of one identifier compare equal.

    Args:
        kind: ``"email"``, ``"phone"``, or ``"<source>:<id-type>"`` such as ``"hubspot:contact"``.
        value: The identifier as written.
        region: ISO region for national phone numbers (``"GB"`` reads ``"020 7946 0958"``).

    Raises:
        ValidationError: If the kind is unknown or the value malformed.

    Examples:
        >>> Identity("email", "Ann@Example.com")
        Identity(kind='email', value='ann@example.com')
        >>> Identity("phone", "020 7946 0958", region="GB").value
        '+442079460958'
    """

    kind: str
    value: str

    def __init__(self, kind: str, value: str, *, region: str | None = None) -> None:
        normalised_kind, normalised_value = normalize_identity(kind, value, region)
        self.__attrs_init__(normalised_kind, normalised_value)

    @property
    def key(self) -> tuple[str, str]:
        """``(kind, value)``, the form the store and the resolver use."""
        return (self.kind, self.value)

    def __lt__(self, other: Identity) -> bool:
        return self.key < other.key


def _check_identities(field: str, value: Any) -> tuple[Identity, ...]:
    if value is None:
        return ()
    # Lists and tuples skip the slower abstract-base-class checks.
    if (type(value) is not list and type(value) is not tuple) and (
        isinstance(value, (str, bytes, Identity)) or not isinstance(value, Iterable)
    ):
        raise ValidationError(field, value, "must be a list of Identity")
    out: list[Identity] = []
    for item in value:
        if isinstance(item, Identity):
            out.append(item)
        elif isinstance(item, tuple) and len(item) == 2:
            out.append(Identity(item[0], item[1]))
        else:
            raise ValidationError(field, item, "must be an Identity or a (kind, value) pair")
    if len(out) == 1:
        return (out[0],)
    return tuple(dict.fromkeys(out))


# Named converters, one per field, so that error messages name the field and type checkers see
# a function (attrs' mypy plugin reads converters only from named functions).
def _metric(value: Any) -> Metric:
    return _check_enum(Metric, "Feedback.metric", value)  # type: ignore[no-any-return]


def _feedback_question(value: Any) -> str | None:
    return _check_optional_text("Feedback.question", value)


def _feedback_comment(value: Any) -> str | None:
    return _check_optional_text("Feedback.comment", value)


def _touchpoint_channel(value: Any) -> Channel:
    return _check_enum(Channel, "Touchpoint.channel", value)  # type: ignore[no-any-return]


def _touchpoint_stage(value: Any) -> str | None:
    return _check_optional_text("Touchpoint.stage", value)


def _interaction_source(value: Any) -> str:
    return _check_source("Interaction.source", value)


def _interaction_source_id(value: Any) -> str:
    return _check_source_id("Interaction.source_id", value)


def _interaction_occurred_at(value: Any) -> datetime:
    return check_aware_utc("Interaction.occurred_at", value)


def _interaction_channel(value: Any) -> Channel:
    return _check_enum(Channel, "Interaction.channel", value)  # type: ignore[no-any-return]


def _interaction_direction(value: Any) -> Direction:
    return _check_enum(Direction, "Interaction.direction", value)  # type: ignore[no-any-return]


def _interaction_text(value: Any) -> str | None:
    return _check_optional_text("Interaction.text", value)


def _interaction_identities(value: Any) -> tuple[Identity, ...]:
    return _check_identities("Interaction.identities", value)


def _interaction_attributes(value: Any) -> dict[str, Any]:
    return _check_json_object("Interaction.attributes", value)


def _interaction_updated_at(value: Any) -> datetime | None:
    return None if value is None else check_aware_utc("Interaction.updated_at", value)


def _record_source(value: Any) -> str:
    return _check_source("CustomerRecord.source", value)


def _record_source_id(value: Any) -> str:
    return _check_source_id("CustomerRecord.source_id", value)


def _record_identities(value: Any) -> tuple[Identity, ...]:
    return _check_identities("CustomerRecord.identities", value)


def _record_traits(value: Any) -> dict[str, Any]:
    return _check_json_object("CustomerRecord.traits", value)


def _record_updated_at(value: Any) -> datetime | None:
    return None if value is None else check_aware_utc("CustomerRecord.updated_at", value)


def _score(value: Any) -> float:
    if type(value) is int:
        return value
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValidationError("Feedback.score", value, "must be a number")
    if not math.isfinite(value):
        raise ValidationError("Feedback.score", value, "must be finite")
    return value  # type: ignore[return-value]


def _scale(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        low, high = value
    except (TypeError, ValueError):
        raise ValidationError("Feedback.scale", value, "must be a (min, max) pair") from None
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, Real) or not math.isfinite(bound):
            raise ValidationError("Feedback.scale", value, "bounds must be finite numbers")
    if not low < high:
        raise ValidationError("Feedback.scale", value, "min must be below max")
    return (low, high)


@attrs.frozen(kw_only=True)
class Feedback:
    """A score a customer gave, with its scale, the question and their comment.

    Scales default by metric: NPS 0..10 (integers only, the scale cannot be changed), CSAT 1..5,
    CES 1..7, rating 1..5; ``custom`` needs an explicit ``scale``.

    Attributes:
        metric: ``nps``, ``csat``, ``ces``, ``rating`` or ``custom``.
        score: The answer, inside ``scale``.
        scale: ``(min, max)`` of the answer scale.
        question: The question as asked, if known.
        comment: The customer's free-text comment, if any.

    Raises:
        ValidationError: If the score is not a number or lies outside its scale.

    Examples:
        >>> Feedback(metric="nps", score=9).scale
        (0, 10)
        >>> Feedback(metric="csat", score=0)
        Traceback (most recent call last):
        ...
        cxm.exceptions.ValidationError: Feedback.score=0: outside the csat scale 1..5
    """

    metric: Metric = attrs.field(converter=_metric)
    score: float | int = attrs.field(converter=_score)
    scale: tuple[float, float] = attrs.field(default=None, converter=_scale)
    question: str | None = attrs.field(default=None, converter=_feedback_question)
    comment: str | None = attrs.field(default=None, converter=_feedback_comment)

    def __attrs_post_init__(self) -> None:
        metric = self.metric
        # ``None`` until the metric's default scale is filled in here.
        scale: tuple[float, float] | None = self.scale
        if scale is None:
            if metric is Metric.CUSTOM:
                raise ValidationError("Feedback.scale", None, "a custom metric needs a scale")
            scale = DEFAULT_SCALES[metric]
            object.__setattr__(self, "scale", scale)
        elif metric is Metric.NPS and tuple(scale) != (0, 10):
            raise ValidationError("Feedback.scale", scale, "NPS is always asked on 0..10")
        low, high = scale
        if not low <= self.score <= high:
            raise ValidationError(
                "Feedback.score", self.score, f"outside the {metric} scale {low:g}..{high:g}"
            )
        if metric is Metric.NPS and self.score != int(self.score):
            raise ValidationError("Feedback.score", self.score, "NPS answers are whole numbers")


def _feedback(value: Any) -> tuple[Feedback, ...]:
    if value is None:
        return ()
    if isinstance(value, Feedback):
        return (value,)
    if (type(value) is not list and type(value) is not tuple) and (
        isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable)
    ):
        raise ValidationError("Interaction.feedback", value, "must be a list of Feedback")
    out = tuple(value)
    for item in out:
        if not isinstance(item, Feedback):
            raise ValidationError("Interaction.feedback", item, "must be a Feedback")
    return out


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError("Interaction.value", value, "must be an amount of money")
    try:
        amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError("Interaction.value", value, "must be an amount of money") from None
    if not amount.is_finite():
        raise ValidationError("Interaction.value", value, "must be finite")
    if abs(amount) >= _MAX_MONEY:
        raise ValidationError("Interaction.value", value, f"magnitude must be below {_MAX_MONEY}")
    exponent = amount.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and exponent < -MONEY_DECIMALS
        and amount != amount.quantize(Decimal(1).scaleb(-MONEY_DECIMALS))
    ):
        raise ValidationError(
            "Interaction.value", value, f"more than {MONEY_DECIMALS} decimal places"
        )
    return amount


def _currency(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise ValidationError("Interaction.currency", value, "must be an ISO 4217 code like 'EUR'")
    return value


def _kind(value: Any) -> str:
    if not isinstance(value, str) or not _KIND.fullmatch(value):
        raise ValidationError(
            "Interaction.kind", value, "must be a lower-case word such as 'review' or 'purchase'"
        )
    return value


def _touchpoint_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Touchpoint.name", value, "must be a non-empty name")
    if len(value) > MAX_TOUCHPOINT_LENGTH:
        raise ValidationError(
            "Touchpoint.name", value, f"longer than {MAX_TOUCHPOINT_LENGTH} characters"
        )
    return value


def _touchpoint(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Interaction.touchpoint", value, "must be a non-empty name")
    if len(value) > MAX_TOUCHPOINT_LENGTH:
        raise ValidationError(
            "Interaction.touchpoint", value, f"longer than {MAX_TOUCHPOINT_LENGTH} characters"
        )
    return value


@attrs.frozen(kw_only=True)
class Touchpoint:
    """A catalog entry: a named point of contact, its channel and its default journey stage.

    Attributes:
        name: The name interactions refer to, e.g. ``"Checkout"``.
        channel: The channel it belongs to.
        stage: The lifecycle stage it usually sits in, or ``None``.
    """

    name: str = attrs.field(converter=_touchpoint_name)
    channel: Channel = attrs.field(converter=_touchpoint_channel)
    stage: str | None = attrs.field(default=None, converter=_touchpoint_stage)


@attrs.frozen(kw_only=True)
class Interaction:
    """One thing that happened between the company and a customer.

    ``(source, source_id)`` is the idempotency key: ingesting the same pair again updates the
    stored interaction instead of adding a second one.

    Attributes:
        source: The system it came from, lower case, e.g. ``"zendesk"``.
        source_id: Its id in that system; never empty.
        occurred_at: When it happened; time-zone aware, converted to UTC.
        channel: The :class:`Channel`.
        kind: What it was: ``review``, ``message``, ``ticket``, ``call``, ``purchase``,
            ``page_view``, ``survey_response``, ... (a lower-case word).
        touchpoint: The catalog name of the point of contact, e.g. ``"Checkout"``.
        direction: ``inbound`` (from the customer, the default) or ``outbound``.
        text: Free text: the review, the message body, the ticket description.
        value: Money involved, exactly (``Decimal``), at most 6 decimal places.
        currency: ISO 4217 code of ``value``.
        identities: The customer's identities this record asserts (all of one customer).
        attributes: Any further JSON-serialisable facts.
        feedback: Scores given in this interaction.
        updated_at: When the source last changed the record; a stored copy with a newer
            ``updated_at`` is not overwritten by an older one.

    Raises:
        ValidationError: If a field is invalid; the message names the field and the value.
    """

    source: str = attrs.field(converter=_interaction_source)
    source_id: str = attrs.field(converter=_interaction_source_id)
    occurred_at: datetime = attrs.field(converter=_interaction_occurred_at)
    channel: Channel = attrs.field(converter=_interaction_channel)
    kind: str = attrs.field(converter=_kind)
    touchpoint: str | None = attrs.field(default=None, converter=_touchpoint)
    direction: Direction = attrs.field(default=Direction.INBOUND, converter=_interaction_direction)
    text: str | None = attrs.field(default=None, converter=_interaction_text)
    value: Decimal | None = attrs.field(default=None, converter=_money)
    currency: str | None = attrs.field(default=None, converter=_currency)
    identities: tuple[Identity, ...] = attrs.field(default=(), converter=_interaction_identities)
    attributes: dict[str, Any] = attrs.field(
        factory=dict, converter=_interaction_attributes, hash=False
    )
    feedback: tuple[Feedback, ...] = attrs.field(default=(), converter=_feedback)
    updated_at: datetime | None = attrs.field(default=None, converter=_interaction_updated_at)

    record_type: ClassVar[str] = "interaction"


@attrs.frozen(kw_only=True)
class CustomerRecord:
    """What one source knows about one customer: identities and traits.

    A CRM contact, a survey-panel member or a shop account. Records that share an identity are
    resolved into one :class:`Customer`; traits merge with the newest ``updated_at`` winning per
    trait.

    Attributes:
        source: The system it came from.
        source_id: Its id there.
        identities: At least one identity.
        traits: JSON-serialisable facts (``{"plan": "pro"}``).
        updated_at: When the source last changed it; decides trait precedence.

    Raises:
        ValidationError: If a field is invalid or there is no identity.
    """

    source: str = attrs.field(converter=_record_source)
    source_id: str = attrs.field(converter=_record_source_id)
    identities: tuple[Identity, ...] = attrs.field(converter=_record_identities)
    traits: dict[str, Any] = attrs.field(factory=dict, converter=_record_traits, hash=False)
    updated_at: datetime | None = attrs.field(default=None, converter=_record_updated_at)

    record_type: ClassVar[str] = "customer_record"

    def __attrs_post_init__(self) -> None:
        if not self.identities:
            raise ValidationError(
                "CustomerRecord.identities",
                [],
                f"needs at least one identity (source={self.source!r}, "
                f"source_id={self.source_id!r})",
            )


@attrs.frozen(kw_only=True)
class Customer:
    """One resolved customer, as the store holds it. Never built by connectors.

    Attributes:
        customer_id: Stable, opaque id (``"cus_..."``).
        identities: Every identity resolved to this customer.
        traits: Traits merged from its records, newest ``updated_at`` first per trait.
        created_at: When the store first saw the customer.
    """

    customer_id: str
    identities: tuple[Identity, ...]
    traits: dict[str, Any] = attrs.field(hash=False)
    created_at: datetime


def _feedback_from_dict(item: Mapping[str, Any]) -> Feedback:
    scale = item.get("scale")
    return Feedback(
        metric=item.get("metric"),
        score=item.get("score"),
        scale=tuple(scale) if scale is not None else None,
        question=item.get("question"),
        comment=item.get("comment"),
    )


def _identities_from_dict(items: Any, field: str, region: str | None) -> list[Identity]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise ValidationError(field, items, "must be a list of {kind, value} objects")
    out = []
    for item in items:
        if isinstance(item, Mapping):
            out.append(Identity(item.get("kind"), item.get("value"), region=region))  # type: ignore[arg-type]
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            out.append(Identity(item[0], item[1], region=region))
        else:
            raise ValidationError(field, item, "must be a {kind, value} object")
    return out


#: Keys ``Workspace.export`` adds to a record for the reader's information; read back, they are
#: ignored (the store sets them).
EXPORT_ONLY_KEYS = frozenset({"customer_id", "ingested_at"})


def record_from_dict(
    data: Mapping[str, Any], *, region: str | None = None
) -> Interaction | CustomerRecord:
    """Build a record from the JSON-ready form that ``Workspace.export`` writes.

    ``data["record_type"]`` says which class to build (``"interaction"`` or
    ``"customer_record"``); without it a mapping with ``occurred_at`` is an interaction and one
    with ``traits`` is a customer record. The informational keys an export adds
    (``customer_id``, ``ingested_at``) are ignored; any other unknown key is an error.

    Args:
        data: The mapping, e.g. one line of a JSONL file or one record of an export.
        region: ISO region for reading national phone numbers in the identities.

    Returns:
        The validated record.

    Raises:
        ValidationError: If the mapping does not describe a valid record.
    """
    if not isinstance(data, Mapping):
        raise ValidationError("record", data, "must be a mapping")
    record_type = data.get("record_type")
    if record_type is None:
        record_type = "interaction" if "occurred_at" in data else "customer_record"
    known = {"interaction", "customer_record"}
    if record_type not in known:
        raise ValidationError(
            "record_type", record_type, "must be 'interaction' or 'customer_record'"
        )
    if record_type == "customer_record":
        allowed = {"record_type", "source", "source_id", "identities", "traits", "updated_at"}
        _reject_unknown_keys(data, allowed | EXPORT_ONLY_KEYS, "CustomerRecord")
        return CustomerRecord(
            source=data.get("source"),
            source_id=data.get("source_id"),
            identities=_identities_from_dict(
                data.get("identities"), "CustomerRecord.identities", region
            ),
            traits=data.get("traits"),
            updated_at=data.get("updated_at"),
        )
    allowed = {f.name for f in attrs.fields(Interaction)} | {"record_type"}
    _reject_unknown_keys(data, allowed | EXPORT_ONLY_KEYS, "Interaction")
    feedback = data.get("feedback") or []
    if not isinstance(feedback, list):
        raise ValidationError("Interaction.feedback", feedback, "must be a list")
    return Interaction(
        source=data.get("source"),
        source_id=data.get("source_id"),
        occurred_at=data.get("occurred_at"),
        channel=data.get("channel"),
        kind=data.get("kind"),
        touchpoint=data.get("touchpoint"),
        direction=data.get("direction", "inbound"),
        text=data.get("text"),
        value=data.get("value"),
        currency=data.get("currency"),
        identities=_identities_from_dict(data.get("identities"), "Interaction.identities", region),
        attributes=data.get("attributes"),
        feedback=[_feedback_from_dict(item) for item in feedback],
        updated_at=data.get("updated_at"),
    )


def _reject_unknown_keys(data: Mapping[str, Any], allowed: set[str], name: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(f"{name}.{unknown[0]}", data[unknown[0]], "is not a field")
