"""The sync engine: run a connector's streams into a workspace without losing or repeating a record.

For each stream the engine reads from the saved cursor, cuts what the stream yields into
batches, and commits each batch together with the quarantined items it held and the newest
:class:`~cxm.connectors.Checkpoint` the stream had yielded before the batch's last record — one
transaction. A crash at any instant therefore leaves the database at a batch boundary whose
cursor covers exactly what is stored; the next run re-reads from there, and whatever it reads
again is upserted by ``(source, source_id)`` and counted as unchanged. A stream that fails is
reported with its error and the others still run; a second sync of the same connector instance
on the same database is refused while the first holds the lock.
"""

from __future__ import annotations

import html
import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import attrs
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from cxm.connectors.base import Checkpoint, Connector, Rejected, Stream
from cxm.exceptions import ConnectorError, CxmError, StoreError, ValidationError
from cxm.model import CustomerRecord, Interaction, record_from_dict
from cxm.store import schema
from cxm.store.locks import sync_lock
from cxm.store.sql import native_upsert

if TYPE_CHECKING:
    from cxm.workspace import Workspace

__all__ = ["StreamReport", "SyncReport", "run_sync"]

logger = logging.getLogger(__name__)
_PARSE_ERRORS = (ValidationError, KeyError, TypeError, ValueError, LookupError)
_REDACTED = "[REDACTED]"
_MAX_CURSOR = 1 << 20


@attrs.define(kw_only=True)
class StreamReport:
    """What one stream of a sync did.

    Attributes:
        stream: The stream's name.
        new: Records stored for the first time.
        updated: Stored records that changed.
        unchanged: Records read again without a change (a resumed or repeated read).
        quarantined: Items refused, each written to the quarantine table with its reason.
        customers_created: Customers created by this stream's records.
        customers_merged: Customers merged into another.
        batches: Transactions committed.
        cursor_before: The saved cursor the stream started from (``None``: the beginning).
        cursor_after: The saved cursor when the stream stopped.
        error: What stopped the stream, as ``"ErrorType: message"`` (secrets scrubbed), or
            ``None`` if it finished.
        seconds: Wall-clock duration.
        exception: The exception that stopped the stream (secrets scrubbed; a
            :class:`~cxm.ConnectorError` wrapping anything that was not a cxm error), or
            ``None``.
    """

    stream: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    customers_created: int = 0
    customers_merged: int = 0
    batches: int = 0
    cursor_before: Any = None
    cursor_after: Any = None
    error: str | None = None
    seconds: float = 0.0
    exception: BaseException | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def ok(self) -> bool:
        """Whether the stream ran to its end."""
        return self.error is None

    @property
    def records(self) -> int:
        """Every item the stream yielded (records and quarantined items)."""
        return self.new + self.updated + self.unchanged + self.quarantined


_COLUMNS = (
    "new",
    "updated",
    "unchanged",
    "quarantined",
    "customers_created",
    "customers_merged",
    "batches",
    "cursor_before",
    "cursor_after",
    "error",
    "seconds",
)


@attrs.define(kw_only=True)
class SyncReport:
    """What one :meth:`Workspace.sync <cxm.Workspace.sync>` did, stream by stream.

    Attributes:
        connector: The connector's name.
        state_key: The connector instance's key in the sync state.
        streams: One :class:`StreamReport` per stream, in the order they ran.
        full_refresh: Whether the sync started every stream from the beginning.
        seconds: Wall-clock duration.
    """

    connector: str
    state_key: str
    streams: list[StreamReport] = attrs.field(factory=list)
    full_refresh: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every stream ran to its end."""
        return all(stream.ok for stream in self.streams)

    @property
    def failed(self) -> list[StreamReport]:
        """The streams that stopped with an error."""
        return [stream for stream in self.streams if not stream.ok]

    def _total(self, name: str) -> int:
        return sum(int(getattr(stream, name)) for stream in self.streams)

    @property
    def new(self) -> int:
        """Records stored for the first time, over every stream."""
        return self._total("new")

    @property
    def updated(self) -> int:
        """Stored records that changed, over every stream."""
        return self._total("updated")

    @property
    def unchanged(self) -> int:
        """Records read again without a change, over every stream."""
        return self._total("unchanged")

    @property
    def quarantined(self) -> int:
        """Items quarantined, over every stream."""
        return self._total("quarantined")

    def stream(self, name: str) -> StreamReport:
        """Return the report of the stream called ``name``.

        Raises:
            KeyError: If no stream of that name ran.
        """
        for stream in self.streams:
            if stream.stream == name:
                return stream
        raise KeyError(name)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per stream.

        Returns:
            Indexed by ``stream``; columns ``new``, ``updated``, ``unchanged``,
            ``quarantined``, ``customers_created``, ``customers_merged``, ``batches`` (int64),
            ``cursor_before``, ``cursor_after`` (object: JSON values), ``error`` (object:
            ``None`` for a stream that finished) and ``seconds`` (float64).
        """
        index = pd.Index([stream.stream for stream in self.streams], name="stream", dtype=object)
        columns: dict[str, pd.Series] = {}
        for name in _COLUMNS:
            values = [getattr(stream, name) for stream in self.streams]
            dtype: Any = (
                "float64"
                if name == "seconds"
                else object
                if name in ("cursor_before", "cursor_after", "error")
                else "int64"
            )
            columns[name] = pd.Series(values, index=index, dtype=dtype)
        frame = pd.DataFrame(columns, index=index)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready values (what ``cxm sync --json`` prints).

        Returns:
            ``connector``, ``state_key``, ``ok``, ``full_refresh``, ``seconds`` and
            ``streams``: one mapping per stream with ``stream`` and the columns of
            :attr:`summary`.
        """
        return {
            "connector": self.connector,
            "state_key": self.state_key,
            "ok": self.ok,
            "full_refresh": self.full_refresh,
            "seconds": self.seconds,
            "streams": [
                {"stream": stream.stream} | {name: getattr(stream, name) for name in _COLUMNS}
                for stream in self.streams
            ],
        }

    def raise_for_errors(self) -> None:
        """Raise the first failed stream's error, if any stream failed.

        Raises:
            CxmError: The error that stopped the first failed stream (chained to the original
                when it was not a cxm error).
        """
        for stream in self.failed:
            exception = stream.exception
            if isinstance(exception, CxmError):
                raise exception
            raise ConnectorError(
                stream.error or "failed", connector=self.connector, stream=stream.stream
            ) from exception

    def __str__(self) -> str:
        lines = [
            f"{self.connector} ({self.state_key}): {len(self.streams)} "
            f"stream{'' if len(self.streams) == 1 else 's'} in "
            f"{self.seconds:.2f}s, {self.new} new, {self.updated} updated, {self.unchanged} "
            f"unchanged, {self.quarantined} quarantined"
            + ("" if self.ok else f", {len(self.failed)} failed")
        ]
        for stream in self.streams:
            state = "ok" if stream.ok else f"FAILED: {stream.error}"
            lines.append(
                f"  {stream.stream}: {stream.new} new, {stream.updated} updated, "
                f"{stream.unchanged} unchanged, {stream.quarantined} quarantined "
                f"({stream.seconds:.2f}s) {state}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        header = "".join(f"<th>{name}</th>" for name in ("stream", *_COLUMNS))
        rows = []
        for stream in self.streams:
            cells = [stream.stream] + [
                _cell(getattr(stream, name)) for name in _COLUMNS if name != "seconds"
            ]
            cells.append(f"{stream.seconds:.2f}")
            style = "" if stream.ok else " style='color:#b00020'"
            rows.append(
                f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
            )
        status = "ok" if self.ok else f"{len(self.failed)} stream(s) failed"
        return (
            f"<p><b>{html.escape(self.connector)}</b> "
            f"({html.escape(self.state_key)}): {status}, {self.seconds:.2f} s</p>"
            f"<table class='cxm-sync-report'><thead><tr>{header}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 80 else text[:77] + "..."
    return str(value)


def load_cursors(workspace: Workspace, state_key: str) -> dict[str, Any]:
    """Return the saved cursor of every stream of a connector instance.

    Args:
        workspace: The workspace.
        state_key: The connector instance's key (:attr:`Connector.state_key`).

    Returns:
        Stream name to cursor (a JSON value).
    """
    table = schema.sync_state
    with workspace.store.read() as connection:
        rows = connection.execute(
            select(table.c.stream, table.c.cursor).where(table.c.connector == state_key)
        ).all()
    return {row.stream: json.loads(row.cursor) for row in rows}


class _Scrubber:
    """Removes a connector's credentials from error messages."""

    def __init__(self, secrets: Sequence[str]) -> None:
        # Longest first, so a secret that contains another is removed whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, _REDACTED)
        return text


def run_sync(
    workspace: Workspace,
    connector: Connector,
    *,
    streams: Sequence[str] | None = None,
    full_refresh: bool = False,
    batch_size: int,
    progress: bool | None = None,
) -> SyncReport:
    """Run ``connector``'s streams into ``workspace``; see :meth:`cxm.Workspace.sync`."""
    if batch_size < 1:
        raise ValidationError("batch_size", batch_size, "must be at least 1")
    state_key: Any = connector.state_key
    if not isinstance(state_key, str) or not 0 < len(state_key) <= 128:
        raise ValidationError(
            f"{connector.name}.state_key", state_key, "must be 1 to 128 characters"
        )
    scrub = _Scrubber(connector.secrets())
    selected = _select_streams(connector, streams)
    report = SyncReport(connector=connector.name, state_key=state_key, full_refresh=full_refresh)
    started = time.perf_counter()
    show = sys.stderr.isatty() if progress is None else progress
    with sync_lock(workspace.store.engine, state_key):
        saved = load_cursors(workspace, state_key)
        for stream in selected:
            stream_report = StreamReport(
                stream=stream.name,
                cursor_before=saved.get(stream.name),
                cursor_after=saved.get(stream.name),
            )
            report.streams.append(stream_report)
            _run_stream(
                workspace,
                connector,
                stream,
                stream_report,
                start=None if full_refresh else saved.get(stream.name),
                batch_size=batch_size,
                show_progress=show,
                scrub=scrub,
            )
    report.seconds = time.perf_counter() - started
    for stream_report in report.failed:
        logger.warning(
            "sync %s: stream %s failed: %s", state_key, stream_report.stream, stream_report.error
        )
    return report


def _select_streams(connector: Connector, names: Sequence[str] | None) -> list[Stream]:
    try:
        available = list(connector.streams())
    except ConnectorError as exc:
        raise exc.in_context(connector=connector.name) from exc.__cause__
    seen: set[str] = set()
    for stream in available:
        if not isinstance(stream, Stream):
            raise TypeError(f"{connector.name}.streams() returned {stream!r}, not a Stream")
        if stream.name in seen:
            raise ValidationError(f"{connector.name}.streams", stream.name, "duplicate name")
        seen.add(stream.name)
    if names is None:
        return available
    if isinstance(names, str):
        names = [names]
    unknown = [name for name in names if name not in seen]
    if unknown:
        raise ValidationError(
            "streams",
            unknown[0],
            f"no such stream; {connector.name} has: {', '.join(s.name for s in available)}",
        )
    return [stream for stream in available if stream.name in set(names)]


class _Batch:
    """Records and quarantined items waiting to be committed, and the cursor that covers them."""

    def __init__(self) -> None:
        self.records: list[Interaction | CustomerRecord] = []
        self.rejected: list[tuple[int, Any, str, str]] = []
        self.cursor: str | None = None  # JSON of the newest checkpoint not yet committed

    def __len__(self) -> int:
        return len(self.records) + len(self.rejected)

    def clear(self) -> None:
        self.records = []
        self.rejected = []
        self.cursor = None


def _run_stream(
    workspace: Workspace,
    connector: Connector,
    stream: Stream,
    report: StreamReport,
    *,
    start: Any,
    batch_size: int,
    show_progress: bool,
    scrub: _Scrubber,
) -> None:
    started = time.perf_counter()
    source = connector.source
    batch = _Batch()
    bar = _progress(f"{connector.name}/{stream.name}", show_progress)

    def commit() -> None:
        if not len(batch) and batch.cursor is None:
            return
        cursor_json = batch.cursor

        def save_cursor(connection: Connection, stamp: int) -> None:
            if cursor_json is not None:
                _save_cursor(connection, connector.state_key, stream.name, cursor_json, stamp)

        counts = workspace._commit_batch(
            batch.records, batch.rejected, stream=stream.name, also=save_cursor
        )
        report.new += counts.new
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        report.customers_created += counts.customers_created
        report.customers_merged += counts.customers_merged
        report.quarantined += len(batch.rejected)
        report.batches += 1
        if cursor_json is not None:
            report.cursor_after = json.loads(cursor_json)
        if bar is not None:
            bar.update(len(batch))
        batch.clear()

    try:
        with bar if bar is not None else nullcontext():
            index = 0
            for item in _items(stream, start):
                index += 1
                if isinstance(item, (Interaction, CustomerRecord)):
                    batch.records.append(item)
                elif isinstance(item, Checkpoint):
                    batch.cursor = _cursor_json(connector, stream, item.cursor)
                    continue
                elif isinstance(item, Rejected):
                    batch.rejected.append((index, item.raw, source, scrub(str(item.reason))))
                else:
                    _parse_into(
                        batch,
                        stream,
                        item,
                        index,
                        source=source,
                        region=workspace.default_region,
                        scrub=scrub,
                    )
                if len(batch) >= batch_size:
                    commit()
            commit()
    except Exception as exc:
        # What was read before the failure is valid; store it with the newest checkpoint it
        # is covered by (records after that checkpoint are read again next time).
        report.error = scrub(f"{type(exc).__name__}: {exc}")
        report.exception = _scrubbed(exc, scrub, connector.name, stream.name)
        try:
            commit()
        except Exception as store_exc:
            report.error += scrub(f"; then storing the records read so far failed: {store_exc}")
    finally:
        report.seconds = time.perf_counter() - started


def _items(stream: Stream, start: Any) -> Iterator[Any]:
    produced: Any = stream.read(start)
    if produced is None:
        return
    if not isinstance(produced, Iterable) or isinstance(produced, (str, bytes, Mapping)):
        raise TypeError(f"stream {stream.name!r} read() returned {type(produced).__name__}")
    iterator = iter(produced)
    try:
        yield from iterator
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()  # a generator's finally blocks (open files, sockets) run now


def _parse_into(
    batch: _Batch,
    stream: Stream,
    raw: Any,
    index: int,
    *,
    source: str,
    region: str | None,
    scrub: _Scrubber,
) -> None:
    try:
        if stream.parse is not None:
            parsed = stream.parse(raw)
        elif isinstance(raw, Mapping):
            parsed = record_from_dict(raw, region=region)
        else:
            raise ValidationError(
                "record",
                raw,
                f"a stream without parse= must yield records, not {type(raw).__name__}",
            )
    except _PARSE_ERRORS as exc:
        reason = str(exc) if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
        batch.rejected.append((index, raw, source, scrub(reason)))
        return
    if parsed is None:
        return
    if isinstance(parsed, (Interaction, CustomerRecord)):
        batch.records.append(parsed)
        return
    record: Any
    for record in parsed:
        if not isinstance(record, (Interaction, CustomerRecord)):
            batch.rejected.append(
                (index, raw, source, f"parse returned {type(record).__name__}, not a record")
            )
            continue
        batch.records.append(record)


def _cursor_json(connector: Connector, stream: Stream, cursor: Any) -> str:
    try:
        text = json.dumps(cursor, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConnectorError(
            f"checkpoint cursor {cursor!r} is not JSON: {exc}",
            connector=connector.name,
            stream=stream.name,
        ) from exc
    if len(text) > _MAX_CURSOR:
        raise ConnectorError(
            f"checkpoint cursor is {len(text)} characters; keep it under {_MAX_CURSOR}",
            connector=connector.name,
            stream=stream.name,
        )
    return text


def _save_cursor(
    connection: Connection, state_key: str, stream: str, cursor_json: str, stamp: int
) -> None:
    connection.execute(
        native_upsert(connection.dialect.name, schema.sync_state, ["connector", "stream"]),
        [{"connector": state_key, "stream": stream, "cursor": cursor_json, "updated_us": stamp}],
    )


def _scrubbed(exc: Exception, scrub: _Scrubber, connector: str, stream: str) -> Exception:
    if isinstance(exc, ConnectorError):
        exc.in_context(connector=connector, stream=stream)
        exc.message = scrub(exc.message)
        if exc.request:
            exc.request = scrub(exc.request)
        exc.args = (str(exc),)
        return exc
    if isinstance(exc, CxmError) and not scrub.secrets:
        return exc
    text = scrub(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, StoreError):
        return StoreError(text)
    wrapped = ConnectorError(text, connector=connector, stream=stream)
    wrapped.__cause__ = exc if not scrub.secrets else None
    return wrapped


def _progress(description: str, show: bool) -> Any:
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(desc=description, unit=" records", leave=False, dynamic_ncols=True)
