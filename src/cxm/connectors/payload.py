"""Reading vendors' JSON answers: a missing or mistyped field is an error that names it.

A vendor that renames a field should make a connector fail with ``hubspot.results[].id:
missing from the API's answer``, not with a ``KeyError`` deep inside a parse function. Parse
functions read the payload through :func:`pick`; the :class:`~cxm.ValidationError` it raises
names the vendor's field path and the value found, so the engine quarantines the item with a
reason a person can act on (and a stream whose every item fails says so in its report).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, overload

from cxm.exceptions import ValidationError

__all__ = ["MISSING", "pick"]

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Default of :func:`pick`'s ``default``: the field is required."""


@overload
def pick(payload: Any, path: str, kind: type[T], *, vendor: str, default: Any = ...) -> T: ...
@overload
def pick(payload: Any, path: str, kind: None = None, *, vendor: str, default: Any = ...) -> Any: ...
def pick(
    payload: Any,
    path: str,
    kind: type[Any] | tuple[type[Any], ...] | None = None,
    *,
    vendor: str,
    default: Any = MISSING,
) -> Any:
    """Return the value at ``path`` in a decoded JSON answer, or raise naming the field.

    Args:
        payload: The decoded JSON (a mapping, or a list for paths starting with an index).
        path: Dotted keys, list indexes as numbers: ``"reviewer.displayName"``,
            ``"answers.0.number"``.
        kind: The type (or types) the value must have; ``int`` refuses ``bool``, ``float``
            accepts ``int``. ``None`` accepts anything.
        vendor: The connector's name, the first part of the error's field
            (``"trustpilot.stars"``).
        default: Returned when the field is absent or ``null``; without it the field is
            required.

    Returns:
        The value.

    Raises:
        ValidationError: If the field is absent or ``null`` (and required), or has the wrong
            type; ``field`` is ``"<vendor>.<path>"`` and ``value`` what was found.

    Examples:
        >>> review = {"stars": 4, "consumer": {"displayName": "Ann"}}
        >>> pick(review, "consumer.displayName", str, vendor="trustpilot")
        'Ann'
        >>> pick(review, "title", str, vendor="trustpilot", default="")
        ''
        >>> pick(review, "stars", str, vendor="trustpilot")
        Traceback (most recent call last):
        ...
        cxm.exceptions.ValidationError: trustpilot.stars=4: expected str in the API's answer, ...
        >>> pick(review, "consumer.id", vendor="trustpilot")
        Traceback (most recent call last):
        ...
        cxm.exceptions.ValidationError: trustpilot.consumer.id=None: missing from the API's answer
    """
    field = f"{vendor}.{path}"
    value = payload
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and part.isdigit():
            index = int(part)
            value = value[index] if index < len(value) else None
        else:
            value = None
        if value is None:
            break
    if value is None:
        if default is not MISSING:
            return default
        raise ValidationError(field, None, "missing from the API's answer")
    if kind is not None and not _is(value, kind):
        expected = (
            " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
        )
        raise ValidationError(
            field, value, f"expected {expected} in the API's answer, got {type(value).__name__}"
        )
    return value


def _is(value: Any, kind: type[Any] | tuple[type[Any], ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    if float in kinds and isinstance(value, int):
        return True
    return isinstance(value, kinds)
