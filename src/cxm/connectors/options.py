"""Checks for the options of a connector's ``Config``: converters and validators to reuse.

Every connector's ``Config`` checks the same kinds of option: a ``source`` name, the API's
root URL, a page size within the vendor's limit, a list of ids to read, a start time, a rate
limit. The helpers here do those checks once, with the same error wording everywhere, and a
plugin's ``Config`` uses them the same way the built-in connectors do.

Converters take the value and return the clean one; give them to ``attrs.field(converter=...)``
by name (the attrs mypy plugin accepts only named functions as converters), and wrap them in
``attrs.converters.optional`` for an option that may be ``None``. A converter that names a
field other than its default gets a one-line wrapper of your own. Validators follow attrs'
``(instance, attribute, value)`` form and name the option from ``attribute``. All of them
raise :class:`~cxm.exceptions.ValidationError`, which
:func:`~cxm.connectors.base.build_config` reports as ``connector.option``.

Examples:
    >>> import attrs
    >>> from cxm.connectors.options import check_source, http_url, int_between
    >>> @attrs.frozen(kw_only=True)
    ... class Config:
    ...     base_url: str = attrs.field(converter=http_url)
    ...     source: str = attrs.field(default="acme", validator=check_source)
    ...     page_size: int = attrs.field(default=100, validator=int_between(1, 100))
    >>> Config(base_url="https://api.acme.example/v2/")
    Config(base_url='https://api.acme.example/v2', source='acme', page_size=100)
    >>> Config(base_url="https://api.acme.example", page_size=500)
    Traceback (most recent call last):
    ...
    cxm.exceptions.ValidationError: page_size=500: must be an integer between 1 and 100
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cxm.connectors.http import RateLimiter
from cxm.exceptions import ValidationError

__all__ = [
    "SOURCE_PATTERN",
    "check_rate_limit",
    "check_source",
    "http_url",
    "id_list",
    "int_between",
    "iso_time",
    "parse_iso_time",
]

SOURCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
"""A record ``source``: 1 to 64 lower-case letters, digits, ``.``, ``_`` or ``-``, starting
with a letter or digit."""


def check_source(instance: Any, attribute: Any, value: Any) -> None:
    """Validate a ``source`` option against :data:`SOURCE_PATTERN` (an attrs validator).

    Args:
        instance: The config being built (unused).
        attribute: The ``attrs.Attribute``; its name is the field in the error.
        value: The option's value.

    Raises:
        ValidationError: When ``value`` is not a string matching :data:`SOURCE_PATTERN`.

    Examples:
        >>> import attrs
        >>> @attrs.frozen
        ... class Config:
        ...     source: str = attrs.field(validator=check_source)
        >>> Config("shop-eu").source
        'shop-eu'
        >>> Config("Shop EU")
        Traceback (most recent call last):
        ...
        cxm.exceptions.ValidationError: source='Shop EU': must be lower-case letters, digits, '.', '_', '-'
    """  # noqa: E501 - a doctest's output line cannot be wrapped
    if not isinstance(value, str) or not SOURCE_PATTERN.fullmatch(value):
        raise ValidationError(
            attribute.name, value, "must be lower-case letters, digits, '.', '_', '-'"
        )


def http_url(value: Any, field: str = "base_url") -> str:
    """Convert an http(s) URL option: refuse any other scheme, strip the trailing ``/``.

    Use it as the converter of a ``base_url`` option; for another field, call it from a
    converter of your own that passes the field's name.

    Args:
        value: The option's value.
        field: The option's name, for the error.

    Returns:
        The URL without a trailing slash, so paths can be joined with ``f"{url}/path"``.

    Raises:
        ValidationError: When ``value`` is not a string starting ``https://`` or ``http://``.

    Examples:
        >>> http_url("https://api.acme.example/v2/")
        'https://api.acme.example/v2'
        >>> http_url("ftp://acme.example", "token_url")
        Traceback (most recent call last):
        ...
        cxm.exceptions.ValidationError: token_url='ftp://acme.example': must be an http(s) URL
    """
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ValidationError(field, value, "must be an http(s) URL")
    return value.rstrip("/")


def int_between(low: int, high: int, *, optional: bool = False) -> Callable[[Any, Any, Any], None]:
    """Return an attrs validator for a whole number from ``low`` to ``high``, both included.

    Typical for a page size: the vendor's largest page is ``high``. ``True`` and ``False`` are
    refused, although Python counts them as integers.

    Args:
        low: The smallest value allowed.
        high: The largest value allowed.
        optional: Also allow ``None`` (for "not set").

    Returns:
        The attrs validator, called with the instance, the attribute and the value; its error
        names the attribute.

    Examples:
        >>> import attrs
        >>> @attrs.frozen
        ... class Config:
        ...     per_page: int | None = attrs.field(validator=int_between(1, 50, optional=True))
        >>> Config(None).per_page, Config(50).per_page
        (None, 50)
        >>> Config(0)
        Traceback (most recent call last):
        ...
        cxm.exceptions.ValidationError: per_page=0: must be None or an integer between 1 and 50
    """
    reason = f"must be an integer between {low} and {high}"
    if optional:
        reason = f"must be None or an integer between {low} and {high}"

    def check(instance: Any, attribute: Any, value: Any) -> None:
        if optional and value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(attribute.name, value, reason)

    return check


def check_rate_limit(instance: Any, attribute: Any, value: Any) -> None:
    """Validate a ``rate_limit`` option: requests per second, or a shared ``RateLimiter``.

    A number must be finite and above 0. A :class:`~cxm.connectors.http.RateLimiter` passes
    as it is, so that connectors reading the same account can share one. Where ``None`` means
    "no pacing", call it from a validator of your own for the values that are not ``None``.

    Args:
        instance: The config being built (unused).
        attribute: The ``attrs.Attribute``; its name is the field in the error.
        value: The option's value.

    Raises:
        ValidationError: When ``value`` is neither a positive finite number nor a
            ``RateLimiter``.

    Examples:
        >>> import attrs
        >>> @attrs.frozen
        ... class Config:
        ...     rate_limit: float = attrs.field(default=2.0, validator=check_rate_limit)
        >>> Config(0.5).rate_limit
        0.5
        >>> Config(0)
        Traceback (most recent call last):
        ...
        cxm.exceptions.ValidationError: rate_limit=0: must be requests per second above 0
    """
    if isinstance(value, RateLimiter):
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (value > 0 and math.isfinite(value))
    ):
        raise ValidationError(attribute.name, value, "must be requests per second above 0")


def parse_iso_time(value: str, field: str = "start") -> datetime:
    """Read an ISO 8601 time that carries a time zone (``Z`` or an offset).

    A time without one is refused rather than guessed: the vendor's zone, the machine's and
    UTC would each give another instant.

    Args:
        value: The text, ``"2026-03-01T00:00:00Z"``.
        field: The option's name, for the error.

    Returns:
        The aware ``datetime``, in the offset it was written with.

    Raises:
        ValidationError: When ``value`` is not an ISO 8601 time, or has no time zone.

    Examples:
        >>> parse_iso_time("2026-03-01T09:30:00+01:00")
        datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(seconds=3600)))
        >>> parse_iso_time("2026-03-01T09:30:00")
        Traceback (most recent call last):
        ...
        cxm.exceptions.ValidationError: start='2026-03-01T09:30:00': must carry a time zone (e.g. 'Z')
    """  # noqa: E501 - a doctest's output line cannot be wrapped
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(field, value, "must be an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValidationError(field, value, "must carry a time zone (e.g. 'Z')")
    return moment


def iso_time(value: Any, field: str = "start") -> str:
    """Convert a ``start`` option: an ISO 8601 time with a time zone, kept as written.

    Keeping the text (rather than a ``datetime``) lets the connector hand it to the vendor in
    the form the user gave; :func:`parse_iso_time` reads it when an instant is needed.

    Args:
        value: The option's value.
        field: The option's name, for the error.

    Returns:
        ``value``, checked.

    Raises:
        ValidationError: When ``value`` is not a string :func:`parse_iso_time` accepts.

    Examples:
        >>> iso_time("2026-03-01T00:00:00Z")
        '2026-03-01T00:00:00Z'
        >>> iso_time("yesterday")
        Traceback (most recent call last):
        ...
        cxm.exceptions.ValidationError: start='yesterday': must be an ISO 8601 time
    """
    if not isinstance(value, str):
        raise ValidationError(field, value, "must be an ISO 8601 time")
    parse_iso_time(value, field)
    return value


def id_list(
    value: Any,
    field: str,
    pattern: re.Pattern[str],
    *,
    expected: str,
    each: str,
    numbers: bool = False,
    trim: str = "",
) -> tuple[str, ...]:
    """Convert a list-of-ids option: one id or a list, each checked, duplicates dropped.

    Call it from the option's converter with the vendor's id pattern and wording. Each id is
    stripped of white space (and of the characters in ``trim``) before it is matched against
    ``pattern``; the ids keep their first order.

    Args:
        value: The option's value: one id, or a list or tuple of them.
        field: The option's name, for the errors.
        pattern: What one id must fully match.
        expected: What the list holds, for the error ``must be a non-empty list of ...``.
        each: What one id is, for the error ``each must be ...``.
        numbers: Also accept integers (not booleans) as ids, as their decimal text.
        trim: Characters to strip from both ends of each id, after white space.

    Returns:
        The ids, without duplicates.

    Raises:
        ValidationError: When the list is empty or not a list (naming ``value``), or an id does
            not match (naming that id).

    Examples:
        >>> digits = re.compile(r"[0-9]{1,20}")
        >>> id_list(["4031", 4032, " 4031 "], "surveys", digits, expected="survey ids",
        ...         each="a numeric survey id", numbers=True)
        ('4031', '4032')
        >>> id_list([], "surveys", digits, expected="survey ids", each="a numeric survey id")
        Traceback (most recent call last):
        ...
        cxm.exceptions.ValidationError: surveys=[]: must be a non-empty list of survey ids
        >>> id_list(["4031", "x"], "surveys", digits, expected="survey ids",
        ...         each="a numeric survey id")
        Traceback (most recent call last):
        ...
        cxm.exceptions.ValidationError: surveys='x': each must be a numeric survey id
    """
    kinds: tuple[type, ...] = (str, int) if numbers else (str,)
    if isinstance(value, kinds) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValidationError(field, value, f"must be a non-empty list of {expected}")
    ids: list[str] = []
    for item in value:
        text = str(item).strip() if isinstance(item, kinds) else None
        if text is not None and trim:
            text = text.strip(trim)
        if isinstance(item, bool) or text is None or not pattern.fullmatch(text):
            raise ValidationError(field, item, f"each must be {each}")
        if text not in ids:
            ids.append(text)
    return tuple(ids)
