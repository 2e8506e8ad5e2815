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
├── ConnectorNotFound      no connector is registered under that name; LookupError
├── ConnectorError         a connector could not read its source (connector, stream, request)
│   ├── AuthError          the source refused the credentials (401, 403, bad login)
│   ├── RateLimitedError   the source kept answering 429 after the retries (retry_after)
│   └── UpstreamError      the source failed: 5xx, a transport error, an unreadable answer
└── StoreError             the database could not do what was asked
    ├── SchemaVersionError the database was migrated by a newer cxm than this one
    └── ConflictError      a concurrent writer or a key collision stopped a write
        └── SyncInProgressError  another sync of the same connector instance holds its lock
```
"""

from __future__ import annotations

from typing import Any, Self

__all__ = [
    "AuthError",
    "ConflictError",
    "ConnectorError",
    "ConnectorNotFound",
    "CustomerNotFound",
    "CxmError",
    "RateLimitedError",
    "SchemaVersionError",
    "StoreError",
    "SyncInProgressError",
    "UpstreamError",
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


class ConnectorNotFound(CxmError, LookupError):
    """No connector is registered under the name that was asked for.

    Attributes:
        name: The name that was asked for.
        known: The names that are registered, sorted.
    """

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = list(known)
        listed = ", ".join(self.known) if self.known else "none"
        super().__init__(f"no connector named {name!r}; registered connectors: {listed}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name, self.known))


class ConnectorError(CxmError):
    """A connector could not read its source.

    Messages never hold a secret: the request is described with its credentials redacted.

    Attributes:
        connector: Name of the connector, when known.
        stream: Name of the stream being read, when known.
        request: The request that failed as ``"GET https://host/path?key=[REDACTED]"``, or
            ``None`` when the failure was not an HTTP request.
        status: The HTTP status code of the answer, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        connector: str | None = None,
        stream: str | None = None,
        request: str | None = None,
        status: int | None = None,
    ) -> None:
        self.message = message
        self.connector = connector
        self.stream = stream
        self.request = request
        self.status = status
        super().__init__(self._render())

    def _render(self) -> str:
        where = "/".join(part for part in (self.connector, self.stream) if part)
        text = f"{where}: {self.message}" if where else self.message
        if self.request:
            text += f" ({self.request})"
        return text

    def __str__(self) -> str:
        # Rendered on demand so that context added after raising (the stream) shows.
        return self._render()

    def in_context(self, *, connector: str | None = None, stream: str | None = None) -> Self:
        """Fill in the connector and stream names where they are still unknown; returns self."""
        if self.connector is None:
            self.connector = connector
        if self.stream is None:
            self.stream = stream
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_connector_error, (type(self), self.message, dict(self.__dict__)))


def _rebuild_connector_error(
    kind: type[ConnectorError], message: str, state: dict[str, Any]
) -> ConnectorError:
    error = kind.__new__(kind)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class AuthError(ConnectorError):
    """The source refused the credentials (HTTP 401 or 403, a failed login)."""


class RateLimitedError(ConnectorError):
    """The source kept answering "too many requests" after every retry.

    Attributes:
        retry_after: Seconds the source asked to wait before trying again, when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **context: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **context)


class UpstreamError(ConnectorError):
    """The source failed: a 5xx answer, a transport error, or an answer that cannot be read."""


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


class SyncInProgressError(ConflictError):
    """Another sync of the same connector instance holds its lock on this database.

    Attributes:
        state_key: The connector instance's key in the sync state.
    """

    def __init__(self, state_key: str) -> None:
        self.state_key = state_key
        super().__init__(
            f"another sync of {state_key!r} is running on this database; wait for it to finish "
            "(its lock is released when that process ends, even if it is killed)"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.state_key,))
