"""Field mappings: which column of a file becomes which field of an interaction or a customer.

A :class:`FieldMapping` says, for each field of :class:`~cxm.model.Interaction` (or of
:class:`~cxm.model.CustomerRecord`), where its value comes from: a column (a CSV column or a
JSON field, by name), a constant, or, for dates, a column with a format and a time zone. It is
written as a plain ``dict`` in a connector's options and validated when the connector is built,
before any file is opened, so a typo names the mapping key. Reading a file, the mapping is
compiled once into a :class:`RowBuilder`: a function from one row (a list of CSV cells, or one
JSON object) to one record, with every lookup, time zone and date format resolved up front, so
the per-row work is only the conversion of the values themselves. A value that cannot be
converted raises :class:`~cxm.ValidationError` naming the column and the cell, which the
connector turns into a quarantined row with its line number.
"""

from __future__ import annotations

import enum
import functools
import math
import operator
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as AbcMapping
from datetime import UTC, datetime
from numbers import Real
from typing import Any, Literal

import attrs

from cxm.exceptions import ValidationError
from cxm.identity import normalize_identity
from cxm.model import (
    DEFAULT_SCALES,
    Channel,
    CustomerRecord,
    Direction,
    Feedback,
    Identity,
    Interaction,
    Metric,
)

__all__ = [
    "Column",
    "Constant",
    "DateColumn",
    "FeedbackColumns",
    "FieldMapping",
    "RowBuilder",
]

Record = Interaction | CustomerRecord
Row = Any  # a list of CSV cells or one JSON object
RecordKind = Literal["interaction", "customer"]
ValueType = Literal["str", "int", "float", "bool"]

_VALUE_TYPES = ("str", "int", "float", "bool")
_EPOCH_FORMATS = ("unix", "unix_ms")
# Date fields read from text at most once per distinct value (dates of one export repeat a
# lot); the bound keeps the memory flat whatever the file's size.
_DATE_CACHE_SIZE = 4096
# Directives the fast date reader handles when the value is zero-padded: (width, position in
# the datetime constructor's arguments).
_FIXED_DIRECTIVES = {"Y": (4, 0), "m": (2, 1), "d": (2, 2), "H": (2, 3), "M": (2, 4), "S": (2, 5)}
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_SCOPED_KIND_PROBE = "probe"
_VOCABULARY_MEMO = 1024
# strptime directives fine enough that a column's values rarely repeat.
_FINE_DIRECTIVES = frozenset("SfsTXc")


def _is_blank(value: Any) -> bool:
    """Return whether a cell holds nothing: ``None``, ``""`` or only white space."""
    return value is None or (type(value) is str and (not value or value.isspace()))


def _column_name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, value, "must be a non-empty column name")
    return value


# -- the pieces of a mapping ----------------------------------------------------------------


@attrs.frozen
class Column:
    """Read a field's value from a column (CSV) or a field (JSON lines).

    In JSON lines a name with dots (``"customer.email"``) reads a nested field when the object
    has no key of that exact name.

    Attributes:
        name: The column's name as the header (or ``columns=``) spells it.
        type: For attributes and traits only: convert the cell to ``"int"``, ``"float"``,
            ``"bool"`` or ``"str"``. ``None`` keeps the value as read (CSV cells are strings;
            JSON values keep their JSON type).
    """

    name: str
    type: ValueType | None = None

    def __attrs_post_init__(self) -> None:
        _column_name("Column.name", self.name)
        if self.type is not None and self.type not in _VALUE_TYPES:
            raise ValidationError("Column.type", self.type, f"must be one of {_VALUE_TYPES}")


@attrs.frozen
class Constant:
    """Give a field the same value in every row (``{"value": "web"}`` in a mapping dict).

    Attributes:
        value: The value, as the record field takes it (a channel name, a kind, ...).
    """

    value: Any


@attrs.frozen(kw_only=True)
class DateColumn:
    """Read a date-time from a column.

    Attributes:
        column: The column's name.
        format: ``None`` for ISO 8601 (``2025-03-01T10:00:00+01:00``, ``...Z``, or without an
            offset when a time zone is configured); a :func:`~datetime.datetime.strptime`
            format such as ``"%d/%m/%Y %H:%M"``; or ``"unix"`` / ``"unix_ms"`` for seconds /
            milliseconds since 1970-01-01 UTC.
        timezone: IANA name (``"Europe/Berlin"``) of the zone of values that carry no offset.
            ``None`` falls back to the connector's ``default_timezone``; a value without an
            offset and without a zone is refused, never assumed to be UTC.
    """

    column: str
    format: str | None = None
    timezone: str | None = None

    def __attrs_post_init__(self) -> None:
        _column_name("DateColumn.column", self.column)
        fmt: Any = self.format
        if fmt is not None and (not isinstance(fmt, str) or not fmt):
            raise ValidationError("DateColumn.format", self.format, "must be a non-empty string")
        if self.timezone is not None:
            _zone(self.timezone)


def _metric(value: Any) -> Metric:
    try:
        return Metric(value)
    except ValueError:
        allowed = ", ".join(m.value for m in Metric)
        raise ValidationError("Feedback.metric", value, f"must be one of: {allowed}") from None


def _scale(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValidationError("Feedback.scale", value, "must be a [min, max] pair")
    low, high = value
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, Real) or not math.isfinite(bound):
            raise ValidationError("Feedback.scale", value, "bounds must be finite numbers")
    if not low < high:
        raise ValidationError("Feedback.scale", value, "min must be below max")
    return (low, high)


@attrs.frozen(kw_only=True)
class FeedbackColumns:
    """A score column and what it measures; an empty score cell means "no feedback".

    Attributes:
        metric: ``nps``, ``csat``, ``ces``, ``rating`` or ``custom``.
        score: The column holding the score.
        scale: ``(min, max)``; defaults to the metric's scale (NPS 0..10, CSAT 1..5, CES 1..7,
            rating 1..5); ``custom`` needs one.
        question: The question as asked: constant text, or a :class:`Column`.
        comment: The column holding the customer's comment, if any.
    """

    metric: Metric = attrs.field(converter=_metric)
    score: str
    scale: tuple[float, float] | None = attrs.field(default=None, converter=_scale)
    question: str | Column | None = None
    comment: str | None = None

    def __attrs_post_init__(self) -> None:
        _column_name("FeedbackColumns.score", self.score)
        if self.comment is not None:
            _column_name("FeedbackColumns.comment", self.comment)
        if self.question is not None and not isinstance(self.question, (str, Column)):
            raise ValidationError(
                "FeedbackColumns.question", self.question, "must be text or a Column"
            )
        if self.scale is None and self.metric is Metric.CUSTOM:
            raise ValidationError("Feedback.scale", None, "a custom metric needs a scale")
        # A Feedback at the scale's lower bound checks the metric and scale together by the
        # model's own rules (NPS is always asked on 0..10).
        low = (self.scale or DEFAULT_SCALES[self.metric])[0]
        Feedback(metric=self.metric, score=low, scale=self.scale)


# -- converters from the dict form ------------------------------------------------------------


def _value_source(field: str, value: Any, *, constants: bool = True) -> Column | Constant:
    """Read a field's source: ``"col"``, ``{"column": "col"}`` or ``{"value": constant}``."""
    if isinstance(value, (Column, Constant)):
        if isinstance(value, Constant) and not constants:
            raise ValidationError(field, value, "must be a column, not a constant")
        return value
    if isinstance(value, str):
        return Column(_column_name(field, value))
    if isinstance(value, AbcMapping):
        keys = set(value)
        if keys == {"value"} and constants:
            return Constant(value["value"])
        if "column" in keys and keys <= {"column", "type"}:
            kind = value.get("type")
            if kind is not None and kind not in _VALUE_TYPES:
                raise ValidationError(field, value, f"type must be one of {_VALUE_TYPES}")
            return Column(_column_name(field, value["column"]), kind)
    shapes = "a column name, {'column': name}" + (" or {'value': constant}" if constants else "")
    raise ValidationError(field, value, f"must be {shapes}")


def _date_source(field: str, value: Any) -> DateColumn:
    if isinstance(value, DateColumn):
        return value
    if isinstance(value, str):
        return DateColumn(column=_column_name(field, value))
    if isinstance(value, AbcMapping):
        unknown = set(value) - {"column", "format", "timezone"}
        if unknown or "column" not in value:
            raise ValidationError(
                field, value, "must be a column name or {'column', 'format', 'timezone'}"
            )
        try:
            return DateColumn(
                column=value["column"], format=value.get("format"), timezone=value.get("timezone")
            )
        except ValidationError as exc:
            raise ValidationError(field, exc.value, exc.reason) from None
    raise ValidationError(field, value, "must be a column name or {'column', 'format', 'timezone'}")


def _named_sources(
    field: str, value: Any, *, constants: bool = True
) -> tuple[tuple[str, Column | Constant], ...]:
    """Read ``{"name": source}`` or a list of column names (each named after its column)."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        pairs: list[tuple[str, Any]] = [(name, name) for name in value]
    elif isinstance(value, AbcMapping):
        pairs = list(value.items())
    else:
        raise ValidationError(field, value, "must be a list of columns or {name: column}")
    out = []
    for name, source in pairs:
        if isinstance(source, tuple) and len(source) == 2 and isinstance(source[1], Column):
            name, source = source  # noqa: PLW2901 - the attrs form: (name, Column)
        label: Any = name
        if not isinstance(label, str) or not label:
            raise ValidationError(field, label, "names must be non-empty strings")
        out.append((name, _value_source(f"{field}.{name}", source, constants=constants)))
    return tuple(out)


def _source_id(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (_column_name("mapping.source_id", value),)
    if isinstance(value, (list, tuple)) and value:
        return tuple(_column_name("mapping.source_id", item) for item in value)
    raise ValidationError("mapping.source_id", value, "must be a column or a list of columns")


def _occurred_at(value: Any) -> DateColumn | None:
    return None if value is None else _date_source("mapping.occurred_at", value)


def _updated_at(value: Any) -> DateColumn | None:
    return None if value is None else _date_source("mapping.updated_at", value)


def _channel(value: Any) -> Column | Constant | None:
    return None if value is None else _value_source("mapping.channel", value)


def _kind(value: Any) -> Column | Constant | None:
    return None if value is None else _value_source("mapping.kind", value)


def _touchpoint(value: Any) -> Column | Constant | None:
    return None if value is None else _value_source("mapping.touchpoint", value)


def _direction(value: Any) -> Column | Constant | None:
    return None if value is None else _value_source("mapping.direction", value)


def _text(value: Any) -> Column | Constant | None:
    return None if value is None else _value_source("mapping.text", value)


def _value(value: Any) -> Column | Constant | None:
    return None if value is None else _value_source("mapping.value", value)


def _currency(value: Any) -> Column | Constant | None:
    return None if value is None else _value_source("mapping.currency", value)


def _identities(value: Any) -> tuple[tuple[str, Column | Constant], ...]:
    pairs = _named_sources("mapping.identities", value, constants=False)
    for kind, _column in pairs:
        if kind not in ("email", "phone"):
            try:
                normalize_identity(kind, _SCOPED_KIND_PROBE)
            except ValidationError as exc:
                raise ValidationError(f"mapping.identities.{kind}", kind, exc.reason) from None
    return pairs


def _traits(value: Any) -> tuple[tuple[str, Column | Constant], ...]:
    return _named_sources("mapping.traits", value)


def _attributes(value: Any) -> tuple[tuple[str, Column | Constant], ...]:
    return _named_sources("mapping.attributes", value)


def _one_feedback(index: int, item: Any) -> FeedbackColumns:
    field = f"mapping.feedback[{index}]"
    if isinstance(item, FeedbackColumns):
        return item
    if not isinstance(item, AbcMapping):
        raise ValidationError(field, item, "must be {'metric', 'score', ...}")
    allowed = {"metric", "score", "scale", "question", "comment"}
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ValidationError(
            f"{field}.{unknown[0]}", item[unknown[0]], f"unknown key; keys: {sorted(allowed)}"
        )
    for required in ("metric", "score"):
        if required not in item:
            raise ValidationError(f"{field}.{required}", None, "is required")
    question: Any = item.get("question")
    if isinstance(question, AbcMapping):
        question = _value_source(f"{field}.question", question, constants=False)
    try:
        return FeedbackColumns(
            metric=item["metric"],
            score=item["score"],
            scale=item.get("scale"),
            question=question,
            comment=item.get("comment"),
        )
    except ValidationError as exc:
        key = exc.field.rsplit(".", 1)[-1]
        raise ValidationError(f"{field}.{key}", exc.value, exc.reason) from None


def _feedback(value: Any) -> tuple[FeedbackColumns, ...]:
    if value is None:
        return ()
    if isinstance(value, (FeedbackColumns, AbcMapping)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValidationError("mapping.feedback", value, "must be a list of {'metric', 'score'}")
    return tuple(_one_feedback(index, item) for index, item in enumerate(value))


def _record(value: Any) -> RecordKind:
    if value not in ("interaction", "customer"):
        raise ValidationError("mapping.record", value, "must be 'interaction' or 'customer'")
    return value  # type: ignore[no-any-return]


_INTERACTION_ONLY = (
    "occurred_at",
    "channel",
    "kind",
    "touchpoint",
    "direction",
    "text",
    "value",
    "currency",
    "attributes",
    "feedback",
)


@attrs.frozen(kw_only=True)
class FieldMapping:
    """Where each field of a record comes from in a row of a file.

    Build it from the dict form with :meth:`from_dict` (what connector options take), or
    directly: plain strings are column names everywhere except in ``question``.

    Attributes:
        record: ``"interaction"`` (rows become :class:`~cxm.model.Interaction`) or
            ``"customer"`` (rows become :class:`~cxm.model.CustomerRecord`).
        source_id: The column(s) whose values, joined with ``":"``, are the row's id in its
            source: the key that makes a re-sync update rather than duplicate.
        occurred_at: When it happened (interactions; required).
        updated_at: When the source last changed the row (optional).
        channel: The channel (interactions; required), a column or a :class:`Constant`.
        kind: What the row is (``"purchase"``, ``"review"``; interactions; required).
        touchpoint: The touchpoint's catalog name.
        direction: ``inbound`` (the default) or ``outbound``.
        text: Free text (the review, the message).
        value: Money involved (a number; CSV cells such as ``"12.50"``).
        currency: ISO 4217 code of ``value``.
        identities: ``(kind, Column)`` pairs: ``("email", Column("email"))``; an empty cell is
            skipped.
        traits: ``(name, source)`` pairs (customer records).
        attributes: ``(name, source)`` pairs (interactions).
        feedback: The score columns.

    Raises:
        ValidationError: Naming the mapping key (``mapping.occurred_at``) and the value.

    Examples:
        >>> mapping = FieldMapping.from_dict({
        ...     "source_id": "order_id",
        ...     "occurred_at": {"column": "created", "format": "%d/%m/%Y %H:%M",
        ...                     "timezone": "Europe/Berlin"},
        ...     "channel": {"value": "store"}, "kind": {"value": "purchase"},
        ...     "identities": {"email": "email"},
        ...     "feedback": [{"metric": "nps", "score": "nps"}],
        ... })
        >>> build = mapping.compile(["order_id", "created", "email", "nps"], source="shop")
        >>> order = build(["A-17", "30/03/2025 10:15", "Ann@Example.com", "9"])
        >>> order.occurred_at.isoformat(), order.identities[0].value, order.feedback[0].score
        ('2025-03-30T08:15:00+00:00', 'ann@example.com', 9)
        >>> build(["A-18", "30/03/2025 02:30", "", ""])
        Traceback (most recent call last):
        ...
        cxm.exceptions.ValidationError: created='30/03/2025 02:30': does not exist in Europe/Berlin (the clocks went forward)
    """  # noqa: E501

    record: RecordKind = attrs.field(default="interaction", converter=_record)
    source_id: tuple[str, ...] = attrs.field(converter=_source_id)
    occurred_at: DateColumn | None = attrs.field(default=None, converter=_occurred_at)
    updated_at: DateColumn | None = attrs.field(default=None, converter=_updated_at)
    channel: Column | Constant | None = attrs.field(default=None, converter=_channel)
    kind: Column | Constant | None = attrs.field(default=None, converter=_kind)
    touchpoint: Column | Constant | None = attrs.field(default=None, converter=_touchpoint)
    direction: Column | Constant | None = attrs.field(default=None, converter=_direction)
    text: Column | Constant | None = attrs.field(default=None, converter=_text)
    value: Column | Constant | None = attrs.field(default=None, converter=_value)
    currency: Column | Constant | None = attrs.field(default=None, converter=_currency)
    identities: tuple[tuple[str, Column | Constant], ...] = attrs.field(
        default=(), converter=_identities
    )
    traits: tuple[tuple[str, Column | Constant], ...] = attrs.field(default=(), converter=_traits)
    attributes: tuple[tuple[str, Column | Constant], ...] = attrs.field(
        default=(), converter=_attributes
    )
    feedback: tuple[FeedbackColumns, ...] = attrs.field(default=(), converter=_feedback)

    def __attrs_post_init__(self) -> None:
        if self.record == "customer":
            for key in _INTERACTION_ONLY:
                if getattr(self, key) not in (None, ()):
                    raise ValidationError(
                        f"mapping.{key}", getattr(self, key), "not a field of a customer record"
                    )
            if not self.identities:
                raise ValidationError(
                    "mapping.identities", {}, "a customer record needs at least one identity"
                )
            return
        if self.traits:
            raise ValidationError(
                "mapping.traits",
                dict(self.traits),
                "traits belong to customer records (record='customer'); "
                "use attributes on interactions",
            )
        for key in ("occurred_at", "channel", "kind"):
            if getattr(self, key) is None:
                raise ValidationError(f"mapping.{key}", None, "is required for interactions")
        self._check_constants()

    def _check_constants(self) -> None:
        # An Interaction built from the constants checks them by the model's own rules, now
        # rather than on every row.
        probe: dict[str, Any] = {"channel": "web", "kind": "probe"}
        for key in ("channel", "kind", "touchpoint", "direction", "text", "value", "currency"):
            source = getattr(self, key)
            if isinstance(source, Constant):
                probe[key] = source.value
        try:
            Interaction(
                source="probe",
                source_id="probe",
                occurred_at=datetime(2000, 1, 1, tzinfo=UTC),
                attributes={
                    name: s.value for name, s in self.attributes if isinstance(s, Constant)
                },
                **probe,
            )
        except ValidationError as exc:
            key = exc.field.rsplit(".", 1)[-1]
            raise ValidationError(f"mapping.{key}", exc.value, exc.reason) from None

    @classmethod
    def from_dict(cls, data: Any) -> FieldMapping:
        """Build a mapping from its dict form, refusing unknown keys by name.

        Args:
            data: The mapping as a connector option takes it (see the csv connector's docs for
                the schema); a :class:`FieldMapping` is returned as it is.

        Returns:
            The validated mapping.

        Raises:
            ValidationError: Naming ``mapping.<key>`` and the value.
        """
        if isinstance(data, FieldMapping):
            return data
        if not isinstance(data, AbcMapping):
            raise ValidationError("mapping", data, "must be a dict of record field -> column")
        known = [field.name for field in attrs.fields(cls)]
        for key in data:
            if key not in known:
                raise ValidationError(
                    f"mapping.{key}", data[key], f"unknown mapping key; keys: {', '.join(known)}"
                )
        if "source_id" not in data:
            raise ValidationError("mapping.source_id", None, "is required")
        return cls(**data)

    def columns(self) -> list[tuple[str, str]]:
        """Return every column the mapping reads, with the mapping key that reads it.

        Returns:
            ``(column, key)`` pairs in mapping order, e.g. ``("created", "occurred_at")``.
        """
        out: list[tuple[str, str]] = [(name, "source_id") for name in self.source_id]
        for key in ("occurred_at", "updated_at"):
            date = getattr(self, key)
            if date is not None:
                out.append((date.column, key))
        for key in ("channel", "kind", "touchpoint", "direction", "text", "value", "currency"):
            source = getattr(self, key)
            if isinstance(source, Column):
                out.append((source.name, key))
        for group in ("identities", "traits", "attributes"):
            for name, source in getattr(self, group):
                if isinstance(source, Column):
                    out.append((source.name, f"{group}.{name}"))
        for index, item in enumerate(self.feedback):
            out.append((item.score, f"feedback[{index}].score"))
            if isinstance(item.question, Column):
                out.append((item.question.name, f"feedback[{index}].question"))
            if item.comment is not None:
                out.append((item.comment, f"feedback[{index}].comment"))
        return out

    def zones(self) -> list[str]:
        """Return the time zones the mapping's date columns name."""
        dates = (self.occurred_at, self.updated_at)
        return [d.timezone for d in dates if d is not None and d.timezone is not None]

    def compile(
        self,
        columns: Sequence[str] | None = None,
        *,
        source: str,
        region: str | None = None,
        default_timezone: str | None = None,
    ) -> RowBuilder:
        """Compile the mapping into a function from one row to one record.

        Args:
            columns: The file's column names in order, for rows that are lists of cells (CSV);
                ``None`` for rows that are JSON objects.
            source: The records' ``source``.
            region: ISO region for national phone numbers in phone identities.
            default_timezone: Zone of date values without an offset whose column names none.

        Returns:
            The :class:`RowBuilder`.

        Raises:
            ValidationError: If ``columns`` lacks a mapped column (listing the missing ones and
                the columns there are), or the zone is unknown.
        """
        return RowBuilder(
            self, columns, source=source, region=region, default_timezone=default_timezone
        )


# -- compiling --------------------------------------------------------------------------------


@functools.cache
def _zone(name: Any) -> zoneinfo.ZoneInfo:
    """Return the zone called ``name``; raise ``ValidationError`` if there is none."""
    if not isinstance(name, str) or not name:
        raise ValidationError("timezone", name, "must be an IANA time zone name")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "timezone", name, "unknown time zone; use an IANA name such as 'Europe/Berlin'"
        ) from None


def check_timezone(value: Any) -> str | None:
    """Converter for a time-zone option: ``None`` stays ``None``, an unknown zone is refused."""
    if value is None:
        return None
    _zone(value)
    return str(value)


def _missing_columns(mapping: FieldMapping, columns: Sequence[str]) -> list[tuple[str, str]]:
    present = set(columns)
    return [(name, key) for name, key in mapping.columns() if name not in present]


def describe_missing(missing: Iterable[tuple[str, str]], columns: Sequence[str]) -> str:
    """Say which mapped columns a header lacks, and which columns it has."""
    wanted = ", ".join(f"{name!r} ({key})" for name, key in missing)
    there = ", ".join(repr(c) for c in columns) or "none"
    return f"lacks mapped columns {wanted}; columns there: {there}"


Getter = Callable[[Row], Any]


def _getter(name: str, index: AbcMapping[str, int] | None) -> Getter:
    if index is not None:
        return operator.itemgetter(index[name])
    if "." not in name:
        return operator.methodcaller("get", name)
    parts = name.split(".")
    missing = object()

    def nested(row: Row) -> Any:
        value = row.get(name, missing)
        if value is not missing:
            return value
        for part in parts:
            if not isinstance(row, dict):
                return None
            row = row.get(part)
        return row

    return nested


def _directives(fmt: str) -> set[str]:
    """Return the strptime directives of a format: ``"%d/%m %H"`` -> ``{"d", "m", "H"}``."""
    return {part[:1] for part in fmt.replace("%%", "").split("%")[1:]}


def _fixed_width_reader(fmt: str) -> Callable[[str], datetime | None] | None:
    """Compile a zero-padded numeric format (``%d/%m/%Y %H:%M``) into a slicing reader.

    ``strptime`` costs ~3.5 us a value; slicing ~1 us. The reader returns ``None`` for anything
    not exactly in the padded shape (``1/3/2025``), which ``strptime`` then reads or refuses.
    Formats with other directives get no fast reader.
    """
    spans: list[tuple[int, int, int]] = []
    literals: list[tuple[int, str]] = []
    position = 0
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char == "%":
            if i + 1 >= len(fmt):
                return None
            directive = fmt[i + 1]
            if directive == "%":
                literals.append((position, "%"))
                position += 1
            elif directive in _FIXED_DIRECTIVES:
                width, slot = _FIXED_DIRECTIVES[directive]
                spans.append((position, position + width, slot))
                position += width
            else:
                return None
            i += 2
        else:
            literals.append((position, char))
            position += 1
            i += 1
    slots = {slot for _, _, slot in spans}
    if len(slots) != len(spans) or not {0, 1, 2} <= slots:
        return None
    width = position
    ordered = sorted(spans, key=operator.itemgetter(2))
    if [slot for _, _, slot in ordered] != list(range(len(ordered))):
        return None  # e.g. minutes without hours: leave it to strptime
    bounds = [(start, end) for start, end, _ in ordered]

    def read(text: str) -> datetime | None:
        if len(text) != width:
            return None
        for at, char in literals:
            if text[at] != char:
                return None
        parts = [text[start:end] for start, end in bounds]
        for part in parts:
            if not part.isdigit():
                return None
        return datetime(*map(int, parts))  # type: ignore[arg-type]

    return read


def _epoch_reader(column: str, fmt: str) -> Callable[[Any], datetime]:
    divisor = 1000 if fmt == "unix_ms" else 1

    def epoch(value: Any) -> datetime:
        if isinstance(value, bool):
            raise ValidationError(column, value, f"not a {fmt} timestamp")
        try:
            number = value if isinstance(value, (int, float)) else float(value)
            return datetime.fromtimestamp(number / divisor, UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            raise ValidationError(column, value, f"not a {fmt} timestamp") from None

    return epoch


def _localiser(column: str, zone_name: str | None) -> Callable[[datetime, str], datetime]:
    """Compile ``localise(naive, text) -> UTC`` for values of ``column`` without an offset."""
    zone = _zone(zone_name) if zone_name is not None else None

    def localise(naive: datetime, value: str) -> datetime:
        if zone is None:
            raise ValidationError(
                column,
                value,
                "has no UTC offset and no time zone is configured: give the mapping a "
                "'timezone' or the connector a default_timezone",
            )
        aware = naive.replace(tzinfo=zone)
        utc = aware.astimezone(UTC)
        # A wall time inside a spring-forward gap maps to UTC and back to another wall time.
        # (An ambiguous autumn time reads as its first occurrence, fold=0: summer time.)
        if utc.astimezone(zone).replace(tzinfo=None) != naive:
            raise ValidationError(
                column, value, f"does not exist in {zone_name} (the clocks went forward)"
            )
        return utc

    return localise


def _date_reader(date: DateColumn, default_timezone: str | None) -> Callable[[Any], datetime]:
    """Compile a date column's format and zone into ``read(value) -> aware UTC datetime``."""
    column = date.column
    fmt = date.format
    if fmt in _EPOCH_FORMATS:
        return _epoch_reader(column, fmt)
    localise = _localiser(column, date.timezone or default_timezone)

    if fmt is None:

        def iso(value: Any) -> datetime:
            if type(value) is not str:
                raise ValidationError(column, value, "not an ISO 8601 date-time string")
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValidationError(
                    column,
                    value,
                    "not an ISO 8601 date-time; give the mapping a 'format' for other layouts",
                ) from None
            if parsed.tzinfo is None:
                return localise(parsed, value)
            return parsed

        return iso

    fixed = _fixed_width_reader(fmt)
    strptime = datetime.strptime
    pattern = fmt

    def formatted(value: str) -> datetime:
        parsed = fixed(value) if fixed is not None else None
        if parsed is None:
            try:
                parsed = strptime(value.strip(), pattern)
            except ValueError:
                raise ValidationError(
                    column, value, f"does not match the format {pattern!r}"
                ) from None
        if parsed.tzinfo is None:
            return localise(parsed, value)
        return parsed

    convert: Callable[[str], datetime] = formatted
    if not _directives(pattern) & _FINE_DIRECTIVES:
        # Without seconds, a column's values repeat (dates, minutes), and a repeat is a
        # lookup; with them, nearly every value is new and a cache would only cost.
        convert = functools.lru_cache(maxsize=_DATE_CACHE_SIZE)(formatted)

    def read(value: Any) -> datetime:
        if type(value) is not str:
            raise ValidationError(column, value, f"not a date-time string in {pattern!r}")
        try:
            return convert(value)
        except ValueError as exc:
            if isinstance(exc, ValidationError):
                raise
            # datetime() refused the fields (31/02/2025): the slicing reader's own error.
            raise ValidationError(column, value, f"not a valid date: {exc}") from None

    return read


def _number(column: str, value: Any) -> float | int:
    if type(value) is int or type(value) is float:
        return value
    if type(value) is str:
        try:
            return int(value)
        except ValueError:
            pass
        try:
            number = float(value)
        except ValueError:
            raise ValidationError(column, value, "not a number") from None
        # "9.0" reads as the whole number it is, so NPS accepts it.
        return int(number) if number.is_integer() else number
    raise ValidationError(column, value, "not a number")


def _typed(column: Column) -> Callable[[Any], Any]:
    name = column.name
    if column.type is None:
        return lambda value: value
    if column.type == "str":
        return lambda value: value if isinstance(value, str) else str(value)

    if column.type == "bool":

        def boolean(value: Any) -> bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValidationError(name, value, "not a yes/no value (true/false, yes/no, 1/0)")

        return boolean

    if column.type == "int":

        def integer(value: Any) -> int:
            if isinstance(value, bool):
                raise ValidationError(name, value, "not an integer")
            if isinstance(value, int):
                return value
            try:
                return int(value)
            except (TypeError, ValueError):
                raise ValidationError(name, value, "not an integer") from None

        return integer

    def real(value: Any) -> float:
        if isinstance(value, bool):
            raise ValidationError(name, value, "not a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValidationError(name, value, "not a number") from None

    return real


def _vocabulary(enum_type: type[enum.StrEnum] | None) -> Callable[[Any], Any]:
    """Compile a reader for a column of a lower-case vocabulary (channel, direction, kind).

    Exports write ``"Email"`` or ``" web "``; the reader strips and lower-cases, and returns the
    enum member where there is one (the model's fastest path). The few distinct spellings a
    column holds are remembered, so most rows cost one dict lookup.
    """
    members: dict[str, Any] = dict(enum_type._value2member_map_) if enum_type else {}
    seen: dict[str, Any] = {}

    def read(value: Any) -> Any:
        if type(value) is not str:
            return value  # the model refuses it, naming the column
        word = seen.get(value)
        if word is None:
            word = value.strip().lower()
            word = members.get(word, word)
            if len(seen) < _VOCABULARY_MEMO:
                seen[value] = word
        return word

    return read


_ENUM_LIKE = {"channel": Channel, "direction": Direction}


class RowBuilder:
    """One mapping compiled for one file: ``build(row) -> record``.

    Built by :meth:`FieldMapping.compile`. Calling it converts one row (a list of CSV cells or
    a JSON object) into an :class:`~cxm.model.Interaction` or a
    :class:`~cxm.model.CustomerRecord`.

    Raises:
        ValidationError: When a value cannot be converted: ``field`` is the column's name,
            ``value`` the cell as read, ``reason`` why.
    """

    def __init__(
        self,
        mapping: FieldMapping,
        columns: Sequence[str] | None,
        *,
        source: str,
        region: str | None = None,
        default_timezone: str | None = None,
    ) -> None:
        index: dict[str, int] | None = None
        if columns is not None:
            missing = _missing_columns(mapping, columns)
            if missing:
                raise ValidationError("columns", list(columns), describe_missing(missing, columns))
            # The first of two same-named columns is the one read, as csv.DictReader would not.
            index = {}
            for position, name in enumerate(columns):
                index.setdefault(name, position)
        self.mapping = mapping
        self.width = None if columns is None else len(columns)
        self._region = region
        self._default_timezone = check_timezone(default_timezone)
        # Errors the model raises name its field ("Interaction.channel"); this says which column
        # fed it, so a quarantine reason points at the file.
        self._columns_of: dict[str, str] = {}
        self._base: dict[str, Any] = {"source": source}
        self._fields: list[tuple[str, Getter, Callable[[Any], Any] | None, bool]] = []
        self._identities = [
            (kind, _getter(s.name, index), s.name)
            for kind, s in mapping.identities
            if isinstance(s, Column)
        ]
        self._named: dict[str, list[tuple[str, Getter | None, Any, Callable[[Any], Any]]]] = {}
        self._source_id = [_getter(name, index) for name in mapping.source_id]
        self._source_id_columns = mapping.source_id
        self._feedback = [self._compile_feedback(item, index) for item in mapping.feedback]
        self._record_type: type[Interaction] | type[CustomerRecord]
        if mapping.record == "customer":
            self._record_type = CustomerRecord
            self._compile_date("updated_at", mapping.updated_at, index, required=False)
            self._named["traits"] = self._compile_named(mapping.traits, index)
        else:
            self._record_type = Interaction
            self._compile_date("occurred_at", mapping.occurred_at, index, required=True)
            self._compile_date("updated_at", mapping.updated_at, index, required=False)
            for key in ("channel", "kind", "touchpoint", "direction", "text", "value", "currency"):
                self._compile_value(key, getattr(mapping, key), index)
            self._named["attributes"] = self._compile_named(mapping.attributes, index)
        self._traits_key = "traits" if mapping.record == "customer" else "attributes"
        self._named_sources = self._named[self._traits_key]

    # -- compile steps ------------------------------------------------------------------

    def _compile_date(
        self, key: str, date: DateColumn | None, index: dict[str, int] | None, *, required: bool
    ) -> None:
        if date is None:
            return
        read = _date_reader(date, self._default_timezone)
        self._columns_of[key] = date.column
        self._fields.append((key, _getter(date.column, index), read, required))

    def _compile_value(
        self, key: str, source: Column | Constant | None, index: dict[str, int] | None
    ) -> None:
        if source is None:
            return
        if isinstance(source, Constant):
            value = source.value
            enum_type = _ENUM_LIKE.get(key)
            # Enum members take the model's fastest path.
            self._base[key] = enum_type(value) if enum_type is not None else value
            return
        self._columns_of[key] = source.name
        convert = (
            _vocabulary(_ENUM_LIKE.get(key)) if key in ("channel", "kind", "direction") else None
        )
        self._fields.append((key, _getter(source.name, index), convert, key in ("channel", "kind")))

    def _compile_named(
        self, pairs: tuple[tuple[str, Column | Constant], ...], index: dict[str, int] | None
    ) -> list[tuple[str, Getter | None, Any, Callable[[Any], Any]]]:
        out: list[tuple[str, Getter | None, Any, Callable[[Any], Any]]] = []
        for name, source in pairs:
            if isinstance(source, Constant):
                out.append((name, None, source.value, _typed(Column("constant"))))
            else:
                out.append((name, _getter(source.name, index), source.name, _typed(source)))
        return out

    def _compile_feedback(
        self, item: FeedbackColumns, index: dict[str, int] | None
    ) -> tuple[Metric, tuple[float, float] | None, str, Getter, Any, Getter | None]:
        question: Any = item.question
        if isinstance(question, Column):
            question = _getter(question.name, index)
        comment = None if item.comment is None else _getter(item.comment, index)
        return (item.metric, item.scale, item.score, _getter(item.score, index), question, comment)

    # -- per row ------------------------------------------------------------------------

    def __call__(self, row: Row) -> Record:
        """Build the record of one row.

        Args:
            row: A list of CSV cells (when compiled with ``columns``) or a JSON object.

        Returns:
            The :class:`~cxm.model.Interaction` or :class:`~cxm.model.CustomerRecord`.

        Raises:
            ValidationError: Naming the column and the cell that could not be converted.
        """
        fields = self._base.copy()
        fields["source_id"] = self._read_source_id(row)
        for key, get, convert, required in self._fields:
            value = get(row)
            # _is_blank, inlined: this loop runs for every field of every row.
            if value is None or value == "" or (type(value) is str and value.isspace()):
                if required:
                    raise ValidationError(
                        self._columns_of[key], value, f"is empty, and {key} is required"
                    )
                continue
            fields[key] = value if convert is None else convert(value)
        identities = []
        region = self._region
        for kind, get, column in self._identities:
            value = get(row)
            if value is None or value == "" or (type(value) is str and value.isspace()):
                continue
            try:
                identities.append(Identity(kind, value, region=region))
            except ValidationError as exc:
                raise ValidationError(column, value, exc.reason) from None
        fields["identities"] = identities
        if self._named_sources:
            fields[self._traits_key] = self._read_named(row, self._named_sources)
        if self._feedback:
            fields["feedback"] = self._read_feedback(row)
        try:
            return self._record_type(**fields)
        except ValidationError as exc:
            fed_by = self._columns_of.get(exc.field.rsplit(".", 1)[-1])
            if fed_by is None:
                raise
            raise ValidationError(fed_by, exc.value, exc.reason) from None

    def _read_source_id(self, row: Row) -> str:
        parts = []
        for get, column in zip(self._source_id, self._source_id_columns, strict=True):
            value = get(row)
            if _is_blank(value):
                raise ValidationError(column, value, "is empty, and source_id is required")
            parts.append(value if type(value) is str else str(value))
        return parts[0] if len(parts) == 1 else ":".join(parts)

    @staticmethod
    def _read_named(
        row: Row, named: list[tuple[str, Getter | None, Any, Callable[[Any], Any]]]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, get, column, convert in named:
            if get is None:
                out[name] = column
                continue
            value = get(row)
            if value is None or value == "" or (type(value) is str and value.isspace()):
                continue
            out[name] = convert(value)
        return out

    def _read_feedback(self, row: Row) -> list[Feedback]:
        out = []
        for metric, scale, column, get_score, question, get_comment in self._feedback:
            score = get_score(row)
            if _is_blank(score):
                continue
            number = _number(column, score)
            comment = None if get_comment is None else get_comment(row)
            if _is_blank(comment):
                comment = None
            asked = question(row) if callable(question) else question
            try:
                out.append(
                    Feedback(
                        metric=metric,
                        score=number,
                        scale=scale,
                        question=None if _is_blank(asked) else asked,
                        comment=comment,
                    )
                )
            except ValidationError as exc:
                field = column if exc.field == "Feedback.score" else exc.field
                shown = score if exc.field == "Feedback.score" else exc.value
                raise ValidationError(field, shown, exc.reason) from None
        return out
