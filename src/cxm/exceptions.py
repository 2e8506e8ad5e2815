"""Every error cxm raises, in one tree.

Catch :class:`CxmError` to catch anything the library raises on purpose; catch a leaf to
handle one situation. Errors that describe bad input also subclass the matching built-in
(``ValueError``, ``LookupError``) so code written against the standard library keeps working.
Where an error wraps a lower-level one (a database driver's, an HTTP client's) the original is
chained with ``raise ... from exc`` and stays reachable as ``__cause__``.

```
CxmError
├── ValidationError        a value failed validation (names the field and the value); ValueError
├── CustomerNotFound       no customer holds that identity or id; LookupError
└── StoreError             the database could not do what was asked
    ├── SchemaVersionError the database was migrated by a newer cxm than this one
    └── ConflictError      a concurrent writer or a key collision stopped a write
```
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConflictError",
    "CustomerNotFound",
    "CxmError",
    "SchemaVersionError",
    "StoreError",
    "ValidationError",
]

_MAX_VALUE_REPR = 120


def _short_repr(value: Any) -> str:
    """Return a repr of ``value`` short enough for an error message."""
    text = repr(value)
    if len(text) > _MAX_VALUE_REPR:
        text = text[: _MAX_VALUE_REPR - 3] + "..."
    return text


class CxmError(Exception):
    """Base class of every error cxm raises on purpose."""


class ValidationError(CxmError, ValueError):
    """A value failed validation.

    Attributes:
        field: Dotted name of the offending field, e.g. ``"Interaction.occurred_at"`` or
            ``"Feedback.score"``.
        value: The offending value, as it was passed.
        reason: Why it was refused, in words.
    """

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={_short_repr(value)}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, self.value, self.reason))


class CustomerNotFound(CxmError, LookupError):
    """No customer holds the identity or id that was looked up.

    Attributes:
        key: What was looked up (an identity value or a customer id).
    """

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no customer found for {key!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.key,))


class StoreError(CxmError):
    """The database could not do what was asked.

    The SQLAlchemy exception, when there is one, is chained as ``__cause__``; the driver's own
    error is its ``.orig``.
    """


class SchemaVersionError(StoreError):
    """The database schema is newer than this version of cxm understands.

    Attributes:
        database_revision: The migration revision recorded in the database.
        library_head: The newest revision this version of cxm ships.
    """

    def __init__(self, database_revision: str, library_head: str) -> None:
        self.database_revision = database_revision
        self.library_head = library_head
        super().__init__(
            f"the database is at schema revision {database_revision!r}, which this cxm "
            f"(newest revision {library_head!r}) does not know: it was written by a newer "
            "cxm. Upgrade cxm (pip install -U cxm) to open it."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.database_revision, self.library_head))


class ConflictError(StoreError):
    """A concurrent writer or a key collision stopped a write; nothing of it was committed."""
