"""The connector API: what a connector is, what it yields, and how its settings are checked.

A connector is a class with a ``name``, a typed ``Config`` (an attrs class), ``check()`` and
``streams()``. A :class:`Stream` reads from a cursor and yields records; it may also yield a
:class:`Checkpoint` (every record yielded so far is covered by this cursor) and
:class:`Rejected` items (a raw payload that cannot become a record, and why). The sync engine,
not the connector, batches, validates, resolves, writes and saves the cursor, in the same
transaction as the batch the checkpoint follows.

Settings are validated when the connector is built, before any I/O, and every error names the
option. Credentials are :class:`Secret` values, which never print.
"""

from __future__ import annotations

import hmac
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import attrs

from cxm.exceptions import ValidationError
from cxm.model import CustomerRecord, Interaction

__all__ = [
    "Checkpoint",
    "Connector",
    "Record",
    "Rejected",
    "Secret",
    "Stream",
    "StreamItem",
    "build_config",
    "optional_secret",
    "secret",
]

Record = Interaction | CustomerRecord
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_MASK = "**********"


class Secret:
    """A credential: an API key, a password, a token. It never prints.

    ``repr``, ``str`` and f-strings show ``**********``; the value comes out only through
    :meth:`reveal`, so a secret reaches a log line or an exception only if code asks for it by
    name. Two secrets compare equal in constant time when their values are equal.

    Args:
        value: The credential. An existing :class:`Secret` is accepted and unwrapped.

    Raises:
        ValidationError: If ``value`` is not a non-empty string.

    Examples:
        >>> token = Secret("sk_live_123")
        >>> token, f"{token}"
        (Secret('**********'), '**********')
        >>> token.reveal()
        'sk_live_123'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        given: Any = value  # untyped callers pass anything
        if not isinstance(given, str) or not given:
            # The value itself is not echoed: a wrongly typed secret is still a secret.
            raise ValidationError("secret", type(value).__name__, "must be a non-empty string")
        self._value = value

    def reveal(self) -> str:
        """Return the credential itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({_MASK!r})"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> Any:
        # Pickling would write the credential into whatever stores the pickle.
        raise TypeError("a Secret cannot be pickled")


def secret(value: Any) -> Secret:
    """Converter for config fields holding a credential: ``attrs.field(converter=secret)``."""
    return value if isinstance(value, Secret) else Secret(value)


def optional_secret(value: Any) -> Secret | None:
    """Converter for an optional credential field: ``None`` stays ``None``."""
    return None if value is None else secret(value)


@attrs.frozen
class Checkpoint:
    """A cursor that covers every record the stream has yielded so far.

    The engine saves it in the same transaction as the batch holding those records, so a sync
    that stops at any point resumes from here without losing or repeating a record.

    Attributes:
        cursor: Any JSON value: a timestamp string, a page token, ``{"uid": 812, ...}``.
    """

    cursor: Any


@attrs.frozen(kw_only=True)
class Rejected:
    """A raw item the stream read but could not turn into a record.

    The engine writes it to the quarantine table with the reason and counts it.

    Attributes:
        reason: Why it was refused; name the field and the value (``"line 7: score='11':
            above the NPS scale 0-10"``).
        raw: The payload as read (a mapping, a list of cells, a string); kept verbatim.
    """

    reason: str
    raw: Any


StreamItem = Interaction | CustomerRecord | Checkpoint | Rejected | Mapping[str, Any]


def _check_stream_name(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not _NAME.fullmatch(value.replace("_", "-")):
        raise ValidationError(
            "Stream.name", value, "must be lower-case letters, digits, '-' or '_'"
        )


@attrs.frozen(kw_only=True)
class Stream:
    """One kind of record a connector reads, with its own cursor.

    Attributes:
        name: Lower-case name, unique within the connector (``"tickets"``, ``"messages"``).
        read: ``read(cursor)`` is called with the saved cursor (``None`` on the first sync or a
            full refresh) and yields records, :class:`Checkpoint` and :class:`Rejected` items,
            or raw payloads when ``parse`` is given.
        parse: Optional ``parse(raw)`` turning one raw payload into a record, a list of
            records, or ``None`` to skip it on purpose. A :class:`~cxm.ValidationError`,
            ``KeyError``, ``TypeError`` or ``ValueError`` it raises quarantines that payload
            with the error as the reason.
        description: One line for ``cxm check`` and the docs.
    """

    name: str = attrs.field(validator=_check_stream_name)
    read: Callable[[Any], Iterable[Any]]
    parse: Callable[[Any], Record | Iterable[Record] | None] | None = None
    description: str = ""


class Connector:
    """Base class of every connector, built-in or plugin.

    A subclass sets :attr:`name` and :attr:`Config` and implements :meth:`streams` (and, where
    there is something to check, :meth:`check`). It is built from keyword options, which are
    validated into ``Config`` before any I/O:

    ```python
    connector = MyConnector(token="...", base_url="https://api.example.com")
    connector.config.token        # Secret('**********')
    ```

    Attributes:
        name: Registry name, lower-case kebab (``"csv"``, ``"google-business-profile"``).
        summary: One line shown by ``cxm connectors``.
        Config: attrs class of the settings; fields with converters and validators. Credential
            fields use :func:`secret` as converter.
        version: Version of the connector; plugins default to their distribution's version.
        config: The validated settings of this instance.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    version: ClassVar[str | None] = None
    Config: ClassVar[type[Any]]

    def __init__(self, config: Any = None, /, **options: Any) -> None:
        config_class = getattr(type(self), "Config", None)
        if config_class is None or not attrs.has(config_class):
            raise TypeError(f"{type(self).__name__}.Config must be an attrs class")
        if config is not None:
            if options:
                raise TypeError("pass either a Config instance or keyword options, not both")
            if not isinstance(config, config_class):
                raise ValidationError(
                    f"{self.name}.config",
                    type(config).__name__,
                    f"must be a {config_class.__name__}",
                )
            self.config = config
        else:
            self.config = build_config(self.name, config_class, options)

    # -- what a subclass implements -------------------------------------------------------

    def check(self) -> None:
        """Check that the source can be reached with these settings; raise if not.

        Raises:
            ConnectorError: (or :class:`~cxm.AuthError`, ...) describing what failed.
        """

    def streams(self) -> list[Stream]:
        """Return the streams this connector reads."""
        raise NotImplementedError(f"{type(self).__name__}.streams() is not implemented")

    # -- provided -------------------------------------------------------------------------

    @property
    def source(self) -> str:
        """The ``source`` this connector's records carry; its quarantined items are filed under it.

        The default is the config's ``source`` option when it has one, else the connector's
        name; a connector that derives its source (from a file name, an account) overrides it,
        so that ``ws.quarantined(source=...)`` finds the bad items next to the good ones.
        """
        source = getattr(self.config, "source", None)
        return source if isinstance(source, str) and source else self.name

    @property
    def state_key(self) -> str:
        """Key of this connector instance in the sync state (at most 128 characters).

        Two instances with the same key share their cursors and their sync lock. The default
        is the connector's name; a connector that can point at several sources (files,
        accounts) overrides it, e.g. ``"csv:/data/orders.csv"``.
        """
        return self.name

    def secrets(self) -> list[str]:
        """Every credential in the config, revealed, so that errors can be scrubbed of them."""
        found: list[str] = []
        for field in attrs.fields(type(self.config)):
            value = getattr(self.config, field.name)
            if isinstance(value, Secret):
                found.append(value.reveal())
        return found

    def stream(self, name: str) -> Stream:
        """Return the stream called ``name``.

        Raises:
            ValidationError: If there is none, listing the stream names there are.
        """
        streams = self.streams()
        for stream in streams:
            if stream.name == name:
                return stream
        known = ", ".join(s.name for s in streams)
        raise ValidationError(f"{self.name}.stream", name, f"no such stream; streams: {known}")

    def __repr__(self) -> str:
        # attrs' repr of the config shows Secret fields masked.
        return f"{type(self).__name__}({self.config!r})"

    @classmethod
    def options(cls) -> list[tuple[str, bool, str]]:
        """Return ``(option, required, type)`` for every setting of :attr:`Config`."""
        out = []
        for field in attrs.fields(cls.Config):
            required = field.default is attrs.NOTHING
            kind = (
                field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
            )
            out.append((field.alias or field.name, required, str(kind or "")))
        return out

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name and not _NAME.fullmatch(cls.name):
            raise ValueError(
                f"connector name {cls.name!r} must be lower-case kebab: letters, digits and '-'"
            )


def build_config(connector: str, config_class: type[Any], options: Mapping[str, Any]) -> Any:
    """Validate keyword options into ``config_class``, naming the option on any error.

    Unknown options and missing required ones are refused by name. Each field's converter is
    run on its own first, so an error a converter raises (even a bare ``ValueError``) is
    reported against that field; then the class is built, which runs the validators.

    Args:
        connector: The connector's name, for the error's field (``"csv.path"``).
        config_class: The attrs class.
        options: The options as given.

    Returns:
        The config instance.

    Raises:
        ValidationError: Naming ``connector.option`` and the value.
    """
    fields = {field.alias or field.name: field for field in attrs.fields(config_class)}
    for key in options:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ValidationError(
                f"{connector}.{key}", options[key], f"unknown option; options: {known}"
            )
    try:
        types = typing.get_type_hints(config_class)
    except Exception:  # unresolvable annotations: leave type checks to the converters
        types = {}
    converted: dict[str, Any] = {}
    for key, field in fields.items():
        if key not in options:
            if field.default is attrs.NOTHING:
                raise ValidationError(f"{connector}.{key}", None, "is required")
            continue
        converted[key] = _checked_option(f"{connector}.{key}", field, options[key], types)
    try:
        # Converters are idempotent on their own output, so running them again here is safe.
        return config_class(**converted)
    except ValidationError as exc:
        field_name = exc.field.rsplit(".", 1)[-1]
        raise ValidationError(f"{connector}.{field_name}", exc.value, exc.reason) from None
    except (TypeError, ValueError) as exc:
        name = getattr(exc, "name", None) or _field_in(str(exc), fields)
        raise ValidationError(f"{connector}.{name or 'config'}", None, str(exc)) from None


def _checked_option(name: str, field: Any, value: Any, types: Mapping[str, Any]) -> Any:
    """Convert, type-check and validate one option on its own, naming it in any error."""
    if field.converter is not None and callable(field.converter):
        try:
            value = field.converter(value)
        except ValidationError as exc:
            option = name.rsplit(".", 1)[-1]
            if exc.field.startswith(f"{option}."):
                # A converter of a structured option named the part: "csv.mapping.occurred_at".
                raise ValidationError(
                    f"{name}{exc.field[len(option) :]}", exc.value, exc.reason
                ) from None
            raise ValidationError(name, _shown(value, exc), exc.reason) from None
        except (TypeError, ValueError) as exc:
            raise ValidationError(name, _shown(value, exc), str(exc)) from None
    elif field.name in types and not _has_type(value, types[field.name]):
        raise ValidationError(name, value, f"must be {_type_name(types[field.name])}")
    if field.validator is not None:
        try:
            field.validator(None, field, value)
        except ValidationError as exc:
            raise ValidationError(name, value, exc.reason) from None
        except (TypeError, ValueError) as exc:
            raise ValidationError(name, value, str(exc)) from None
        except AttributeError:
            pass  # the validator reads other fields; the class runs it when it is built
    return value


def _has_type(value: Any, expected: Any) -> bool:  # noqa: PLR0911 - one return per kind of type
    """Whether ``value`` fits a config field's annotation, for the plain types configs use."""
    if expected is Any or expected is object:
        return True
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_has_type(value, option) for option in typing.get_args(expected))
    if origin is typing.Literal:
        return value in typing.get_args(expected)
    if expected is type(None):
        return value is None
    if origin is not None:
        expected = origin
    if not isinstance(expected, type):
        return True  # a type alias or protocol this check does not understand
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _type_name(expected: Any) -> str:
    text = getattr(expected, "__name__", None) if typing.get_origin(expected) is None else None
    return text or str(expected).replace("typing.", "")


def _shown(value: Any, exc: ValidationError | Exception) -> Any:
    # A converter that refused a secret-shaped value reports its type, not the value.
    if isinstance(exc, ValidationError) and exc.field == "secret":
        return exc.value
    return value


def _field_in(message: str, fields: Mapping[str, Any]) -> str | None:
    for name in fields:
        if f"'{name}'" in message:
            return name
    return None
