"""The Workspace: the one object an application or a notebook holds.

A workspace is a migrated store plus the operations on it: ingest records, read canonical
DataFrames, look up a customer's profile, export or erase a customer. It holds no global state:
two workspaces on two databases live side by side in one process.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Self

import attrs
import pandas as pd
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.engine import URL, Connection, Engine

from cxm.connectors.base import Connector
from cxm.exceptions import ConflictError, ValidationError
from cxm.model import Customer, CustomerRecord, Identity, Interaction, Touchpoint, record_from_dict
from cxm.profile import Customer360
from cxm.store import schema
from cxm.store.codec import iso_from_us, quarantine_fingerprint
from cxm.store.frames import (
    InteractionFilter,
    customers_frame,
    feedback_frame,
    interactions_frame,
    sentiment_frame,
)
from cxm.store.sql import native_insert_ignore, native_upsert
from cxm.store.store import Store, now_us
from cxm.store.writer import BatchCounts, chunked

if TYPE_CHECKING:
    from cxm.metrics.monitoring import Alert, DeliveryFailure, Monitor
    from cxm.metrics.sentiment import SentimentAnalyzer
    from cxm.sync import SyncReport

__all__ = ["IngestReport", "Rejection", "Workspace"]

DEFAULT_BATCH_SIZE = 5_000
SENTIMENT_BATCH_SIZE = 2_000
_CONFLICT_RETRIES = 3
_INGEST_STREAM = "ingest"
Record = Interaction | CustomerRecord


@attrs.frozen(kw_only=True)
class Rejection:
    """One item ``ingest`` refused, and why; it was written to the quarantine table.

    Attributes:
        index: Position of the item in the input.
        source: The item's source, when it could be read.
        reason: Why it was refused (names the field and the value).
    """

    index: int
    source: str
    reason: str


@attrs.define(kw_only=True)
class IngestReport:
    """What one ``Workspace.ingest`` call did.

    Attributes:
        new: Records stored for the first time.
        updated: Stored records that changed.
        unchanged: Records identical to (or older than) the stored copy, and in-call repeats.
        rejected: Items refused (invalid); each is in the quarantine table with its reason.
        customers_created: Customers created.
        customers_merged: Customers merged into another because a record linked them.
        batches: Transactions committed.
        seconds: Wall-clock duration.
        rejections: The refused items (first 1,000 kept here; all are quarantined).
    """

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    customers_created: int = 0
    customers_merged: int = 0
    batches: int = 0
    seconds: float = 0.0
    rejections: list[Rejection] = attrs.field(factory=list)

    @property
    def total(self) -> int:
        """Every item the call was given."""
        return self.new + self.updated + self.unchanged + self.rejected

    def _add(self, counts: BatchCounts) -> None:
        self.new += counts.new
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.customers_created += counts.customers_created
        self.customers_merged += counts.customers_merged
        self.batches += 1

    @property
    def summary(self) -> pd.DataFrame:
        """The counts as a one-column DataFrame (index: ``new``, ``updated``, ...)."""
        names = (
            "new",
            "updated",
            "unchanged",
            "rejected",
            "customers_created",
            "customers_merged",
            "batches",
        )
        return pd.DataFrame({"count": [getattr(self, n) for n in names]}, index=list(names))

    def __str__(self) -> str:
        return (
            f"{self.total} records in {self.seconds:.2f}s: {self.new} new, {self.updated} "
            f"updated, {self.unchanged} unchanged, {self.rejected} rejected; "
            f"{self.customers_created} customers created, {self.customers_merged} merged"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th>{name}</th><td>{value}</td></tr>"
            for name, value in self.summary["count"].items()
        )
        return f"<table class='cxm-ingest-report'>{rows}</table><p>{self.seconds:.2f} s</p>"


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while one batch is written.

    A batch allocates hundreds of thousands of short-lived tuples, which trigger full
    collections that traverse the whole heap (12% of ingest time at a million records);
    reference counting frees the batch's objects either way. The collector is re-enabled on
    exit, and left alone if someone else had already disabled it.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _raw_payload(item: Any) -> str:
    """Serialise a refused item for the quarantine table, whatever it is.

    JSON values (a mapping, a list of cells, a string) are kept as JSON; anything else is kept
    as ``{"repr": ...}`` so that nothing about it is lost.
    """
    if isinstance(item, (Mapping, list, tuple, str, int, float)) and not isinstance(item, bool):
        try:
            return json.dumps(item, sort_keys=True, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            try:
                return json.dumps(item, default=str, sort_keys=True, ensure_ascii=False)
            except (TypeError, ValueError):
                pass
    return json.dumps({"repr": repr(item)}, ensure_ascii=False)


class Workspace:
    """A cxm workspace: a store and everything done with it.

    Open one with :meth:`Workspace.open`. A workspace is also a context manager that closes its
    connections on exit.

    Args:
        store: The migrated store.
        default_region: ISO region used to read national phone numbers in lookups and in
            mappings given to :meth:`ingest`.
    """

    def __init__(self, store: Store, *, default_region: str | None = None) -> None:
        self.store = store
        self.default_region = default_region

    @classmethod
    def open(
        cls,
        url: str | os.PathLike[str] | URL | None = None,
        *,
        engine: Engine | None = None,
        default_region: str | None = None,
    ) -> Workspace:
        """Open (creating and migrating if needed) a workspace.

        Args:
            url: ``None`` for ``./cxm.db`` (SQLite), a path to a SQLite file, ``":memory:"``,
                or any SQLAlchemy URL: ``"postgresql+psycopg://user@host/db"``,
                ``"mysql+pymysql://user@host/db"``.
            engine: An existing SQLAlchemy engine to use instead of ``url``.
            default_region: ISO region for reading national phone numbers in lookups and in
                mappings given to :meth:`ingest`.

        Returns:
            The workspace, its database at the newest schema revision.

        Raises:
            StoreError: If the database cannot be reached or its driver is missing.
            SchemaVersionError: If the database was migrated by a newer cxm.

        Examples:
            >>> ws = Workspace.open(":memory:")
            >>> len(ws.customers())
            0
        """
        return cls(Store(url, engine=engine), default_region=default_region)

    def close(self) -> None:
        """Close the workspace's database connections."""
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({self.store!r})"

    # -- writing --------------------------------------------------------------------------

    def ingest(
        self,
        records: Iterable[Record | Mapping[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_error: Literal["quarantine", "raise"] = "quarantine",
    ) -> IngestReport:
        """Store records: resolve identities, merge customers, upsert idempotently.

        Records are streamed in batches of ``batch_size``; each batch commits whole or not at
        all, so memory stays flat however many records come. Re-ingesting a record changes
        nothing; a changed record (same ``source`` and ``source_id``) updates in place.

        Args:
            records: :class:`~cxm.model.Interaction` and :class:`~cxm.model.CustomerRecord`
                objects, or mappings in the form ``Workspace.export`` writes.
            batch_size: Records per transaction.
            on_error: ``"quarantine"`` writes an invalid item to the quarantine table with its
                reason and raw payload and goes on; ``"raise"`` raises on the first one
                (batches before it stay committed).

        Returns:
            What happened, counted: new, updated, unchanged, rejected, customers created and
            merged.

        Raises:
            ValidationError: With ``on_error="raise"``, for the first invalid item.
            ConflictError: If concurrent writers kept colliding after retries.
            StoreError: If the database failed.
        """
        if batch_size < 1:
            raise ValidationError("batch_size", batch_size, "must be at least 1")
        if on_error not in ("quarantine", "raise"):
            raise ValidationError("on_error", on_error, "must be 'quarantine' or 'raise'")
        report = IngestReport()
        started = time.perf_counter()
        for batch, rejected in self._batches(records, batch_size, on_error):
            self._write_batch(batch, rejected, report)
        report.seconds = time.perf_counter() - started
        return report

    def _batches(
        self,
        records: Iterable[Record | Mapping[str, Any]],
        batch_size: int,
        on_error: str,
    ) -> Iterator[tuple[list[Record], list[tuple[int, Any, str, str]]]]:
        batch: list[Record] = []
        rejected: list[tuple[int, Any, str, str]] = []
        if isinstance(records, (Interaction, CustomerRecord)):
            records = [records]
        given: Any = records  # untyped callers pass anything; refuse it by name
        if not isinstance(given, Iterable) or isinstance(given, (str, bytes, Mapping)):
            raise ValidationError(
                "records", given, "must be an iterable of records (a list, a generator)"
            )
        # Typed callers pass records or mappings; untyped ones may pass anything, and anything
        # else is quarantined rather than crashing the batch.
        item: Any
        for index, item in enumerate(records):
            if isinstance(item, (Interaction, CustomerRecord)):
                batch.append(item)
            else:
                source = item.get("source") if isinstance(item, Mapping) else None
                try:
                    if not isinstance(item, Mapping):
                        raise ValidationError(
                            "record",
                            item,
                            f"expected Interaction, CustomerRecord or a mapping, "
                            f"got {type(item).__name__}",
                        )
                    batch.append(record_from_dict(item, region=self.default_region))
                except ValidationError as exc:
                    if on_error == "raise":
                        # Everything before the bad item is committed, then the error surfaces.
                        if batch or rejected:
                            yield batch, rejected
                        raise
                    rejected.append(
                        (index, item, source if isinstance(source, str) else "unknown", str(exc))
                    )
            if len(batch) + len(rejected) >= batch_size:
                yield batch, rejected
                batch, rejected = [], []
        if batch or rejected:
            yield batch, rejected

    def _write_batch(
        self,
        batch: Sequence[Record],
        rejected: Sequence[tuple[int, Any, str, str]],
        report: IngestReport,
    ) -> None:
        counts = self._commit_batch(batch, rejected, stream=_INGEST_STREAM)
        report._add(counts)
        report.rejected += len(rejected)
        for index, _item, source, reason in rejected:
            if len(report.rejections) < 1_000:
                report.rejections.append(Rejection(index=index, source=source, reason=reason))

    def _commit_batch(
        self,
        batch: Sequence[Record],
        rejected: Sequence[tuple[int, Any, str, str]],
        *,
        stream: str,
        also: Callable[[Connection, int], None] | None = None,
    ) -> BatchCounts:
        """Write one batch, its quarantined items and ``also`` (the sync state) in one transaction.

        A conflict with a concurrent writer rolls the whole transaction back and retries it.
        """
        interactions = [r for r in batch if isinstance(r, Interaction)]
        customer_records = [r for r in batch if isinstance(r, CustomerRecord)]
        for attempt in range(_CONFLICT_RETRIES):
            try:
                with _collector_paused(), self.store.write_transaction() as connection:
                    stamp = now_us()
                    counts = self.store.writer.write(
                        connection, interactions, customer_records, stamp
                    )
                    self._quarantine(connection, rejected, stamp, stream)
                    if also is not None:
                        also(connection, stamp)
                break
            except ConflictError:
                # Another writer created an identity or customer this batch also created; the
                # retry re-reads them and resolves against what is committed now.
                self.store.writer.known_touchpoints.clear()
                if attempt == _CONFLICT_RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
            except BaseException:
                # The batch rolled back, and with it any touchpoint it added to the catalog.
                self.store.writer.known_touchpoints.clear()
                raise
        self.store.note_rows_written(counts.new)
        return counts

    def _quarantine(
        self,
        connection: Connection,
        rejected: Sequence[tuple[int, Any, str, str]],
        stamp: int,
        stream: str = _INGEST_STREAM,
    ) -> None:
        if not rejected:
            return
        rows: dict[str, dict[str, Any]] = {}
        for _index, item, given_source, reason in rejected:
            raw = _raw_payload(item)
            source = given_source[:64]
            fingerprint = quarantine_fingerprint(source, stream, reason, raw)
            rows.setdefault(
                fingerprint,
                {
                    "source": source,
                    "stream": stream,
                    "reason": reason,
                    "raw": raw,
                    "seen_us": stamp,
                    "fingerprint": fingerprint,
                },
            )
        connection.execute(
            native_insert_ignore(connection.dialect.name, schema.quarantine, ["fingerprint"]),
            list(rows.values()),
        )

    def sync(
        self,
        connector: str | Connector,
        /,
        *,
        streams: str | Sequence[str] | None = None,
        full_refresh: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: bool | None = None,
        **config: Any,
    ) -> SyncReport:
        """Read a connector's streams into the workspace, resuming where the last sync stopped.

        Each batch is committed with the stream's cursor in one transaction, so a sync killed
        at any point and run again stores exactly what an uninterrupted sync would have:
        nothing lost, nothing twice. Invalid items are quarantined with their reason and raw
        payload and counted. A stream that fails is reported in the result and the other
        streams still run; call :meth:`SyncReport.raise_for_errors` to turn that into an
        exception.

        Args:
            connector: A registered connector's name (``"csv"``) with its options as keyword
                arguments, or a connector instance.
            streams: Run only these streams (default: all of them).
            full_refresh: Start every stream from the beginning instead of its saved cursor;
                records already stored are updated in place, never duplicated.
            batch_size: Records per transaction.
            progress: Show a progress bar; default: only when stderr is a terminal.
            **config: The connector's options, when ``connector`` is a name.

        Returns:
            Per stream: new, updated, unchanged, quarantined, the cursor before and after, the
            error if it failed, and the duration.

        Raises:
            ConnectorNotFound: If no connector has that name (the error lists them).
            ValidationError: If an option is missing, unknown or invalid (named), before any
                I/O.
            SyncInProgressError: If another sync of the same connector instance is running on
                this database.
            StoreError: If the database failed.

        Examples:
            >>> ws = Workspace.open(":memory:")
            >>> report = ws.sync("nope")
            Traceback (most recent call last):
            ...
            cxm.exceptions.ConnectorNotFound: no connector named 'nope'; registered connectors: ...
        """
        from cxm.connectors.registry import get as get_connector
        from cxm.sync import run_sync

        if isinstance(connector, Connector):
            if config:
                raise ValidationError(
                    "config",
                    sorted(config),
                    "options go to the connector's constructor, not to sync(), when an "
                    "instance is given",
                )
            instance = connector
        else:
            instance = get_connector(connector)(**config)
        return run_sync(
            self,
            instance,
            streams=[streams] if isinstance(streams, str) else streams,
            full_refresh=full_refresh,
            batch_size=batch_size,
            progress=progress,
        )

    def sync_state(self, connector: str | Connector | None = None) -> pd.DataFrame:
        """Return the saved cursors: where each connector instance's streams left off.

        Args:
            connector: Keep only this state key (or this connector instance's).

        Returns:
            Columns ``connector`` (the state key), ``stream``, ``cursor`` (object: the JSON
            value) and ``updated_at`` (datetime64[us, UTC]: when it was committed).
        """
        table = schema.sync_state
        query = select(table).order_by(table.c.connector, table.c.stream)
        if connector is not None:
            key = connector.state_key if isinstance(connector, Connector) else connector
            query = query.where(table.c.connector == key)
        with self.store.read() as connection:
            rows = connection.execute(query).all()
        return pd.DataFrame(
            {
                "connector": pd.Series([r.connector for r in rows], dtype=object),
                "stream": pd.Series([r.stream for r in rows], dtype=object),
                "cursor": pd.Series([json.loads(r.cursor) for r in rows], dtype=object),
                "updated_at": pd.to_datetime(
                    pd.Series([r.updated_us for r in rows], dtype="int64"), unit="us", utc=True
                ),
            }
        )

    def reset_sync_state(self, connector: str | Connector, *, stream: str | None = None) -> int:
        """Forget saved cursors, so the next sync starts from the beginning.

        Stored records stay; reading them again updates them in place.

        Args:
            connector: The state key, or a connector instance.
            stream: Forget only this stream's cursor.

        Returns:
            The number of cursors forgotten.
        """
        table = schema.sync_state
        key = connector.state_key if isinstance(connector, Connector) else connector
        condition = table.c.connector == key
        if stream is not None:
            condition = condition & (table.c.stream == stream)
        with self.store.write_transaction() as connection:
            return int(connection.execute(delete(table).where(condition)).rowcount)

    def register_touchpoints(self, touchpoints: Iterable[Touchpoint]) -> int:
        """Add or update touchpoints in the catalog.

        Args:
            touchpoints: Catalog entries; an existing name is updated.

        Returns:
            The number of entries written.
        """
        entries = list(touchpoints)
        rows = [{"name": t.name, "channel": t.channel.value, "stage": t.stage} for t in entries]
        if not rows:
            return 0
        with self.store.write_transaction() as connection:
            connection.execute(
                native_upsert(connection.dialect.name, schema.touchpoints, ["name"]), rows
            )
        self.store.writer.known_touchpoints.update(t.name for t in entries)
        return len(rows)

    # -- reading --------------------------------------------------------------------------

    def interactions(
        self,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        channel: str | Iterable[str] | None = None,
        touchpoint: str | Iterable[str] | None = None,
        source: str | Iterable[str] | None = None,
        customer: str | Iterable[str] | None = None,
        kind: str | Iterable[str] | None = None,
        attributes: bool | Sequence[str] = False,
    ) -> pd.DataFrame:
        """Return interactions as a DataFrame, oldest first; every filter runs in SQL.

        Args:
            start: Keep interactions at or after this aware datetime or ISO string.
            end: Keep interactions before this aware datetime or ISO string.
            channel: Channel value(s) to keep.
            touchpoint: Touchpoint name(s) to keep.
            source: Source name(s) to keep.
            customer: Customer id(s) to keep.
            kind: Interaction kind(s) to keep.
            attributes: ``True`` adds an ``attributes`` column of dicts; a list of names adds
                one ``attr_<name>`` column per name.

        Returns:
            One row per interaction, columns:

            - ``interaction_id`` (int64): the store's id.
            - ``source`` (category), ``source_id`` (str): the idempotency key.
            - ``customer_id`` (object): the resolved customer, ``None`` when anonymous.
            - ``occurred_at`` (datetime64[us, UTC]).
            - ``channel`` (category of every :class:`~cxm.model.Channel`).
            - ``touchpoint`` (category).
            - ``stage`` (category, lifecycle order): the touchpoint's catalog stage.
            - ``kind`` (category), ``direction`` (category: inbound, outbound).
            - ``text`` (object), ``value`` (float64 money), ``currency`` (category).
            - ``updated_at`` (datetime64[us, UTC], NaT when the source gave none).
        """
        where = InteractionFilter(
            start=start,
            end=end,
            channel=channel,
            touchpoint=touchpoint,
            source=source,
            customer=customer,
            kind=kind,
        )
        with self.store.read() as connection:
            return interactions_frame(connection, where, attributes=attributes)

    def feedback(
        self,
        *,
        metric: str | Iterable[str] | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        channel: str | Iterable[str] | None = None,
        touchpoint: str | Iterable[str] | None = None,
        source: str | Iterable[str] | None = None,
        customer: str | Iterable[str] | None = None,
        kind: str | Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Return every feedback item with its interaction's context; filters run in SQL.

        Args:
            metric: Metric(s) to keep: ``nps``, ``csat``, ``ces``, ``rating``, ``custom``.
            start: Keep feedback given at or after this time.
            end: Keep feedback given before this time.
            channel: Channel value(s) to keep.
            touchpoint: Touchpoint name(s) to keep.
            source: Source name(s) to keep.
            customer: Customer id(s) to keep.
            kind: Interaction kind(s) to keep.

        Returns:
            One row per feedback item, oldest first, columns:

            - ``interaction_id`` (int64), ``ordinal`` (int64): position in the interaction.
            - ``customer_id`` (object), ``occurred_at`` (datetime64[us, UTC]).
            - ``source``, ``channel``, ``touchpoint``, ``stage``, ``kind`` (category).
            - ``metric`` (category of every :class:`~cxm.model.Metric`).
            - ``score``, ``scale_min``, ``scale_max`` (float64).
            - ``question``, ``comment`` (object).
        """
        where = InteractionFilter(
            start=start,
            end=end,
            channel=channel,
            touchpoint=touchpoint,
            source=source,
            customer=customer,
            kind=kind,
        )
        with self.store.read() as connection:
            return feedback_frame(connection, where, metric=metric)

    def customers(self, *, traits: bool = True) -> pd.DataFrame:
        """Return one row per resolved customer.

        Args:
            traits: Add one column per trait name (prefixed ``trait_`` where the name would
                clash with a fixed column).

        Returns:
            Columns ``customer_id`` (object), ``created_at``, ``updated_at``
            (datetime64[us, UTC]), ``email``, ``phone`` (object: the first seen of each kind),
            ``n_identities``, ``n_interactions`` (int64), ``first_seen``, ``last_seen``
            (datetime64[us, UTC] of the first and last interaction), then the traits.
        """
        with self.store.read() as connection:
            return customers_frame(connection, traits=traits)

    def touchpoints(self) -> pd.DataFrame:
        """Return the touchpoint catalog: columns ``name``, ``channel``, ``stage``."""
        table = schema.touchpoints
        with self.store.read() as connection:
            rows = connection.execute(
                select(table.c.name, table.c.channel, table.c.stage).order_by(table.c.name)
            ).all()
        return pd.DataFrame(
            {
                "name": pd.Series([r[0] for r in rows], dtype=object),
                "channel": pd.Series([r[1] for r in rows], dtype=object),
                "stage": pd.Series([r[2] for r in rows], dtype=object),
            }
        )

    def quarantined(self, *, source: str | None = None) -> pd.DataFrame:
        """Return the quarantined items.

        Args:
            source: Keep only this source's items.

        Returns:
            Columns ``id`` (int64), ``source``, ``stream``, ``reason``, ``raw`` (object: the
            payload as JSON text) and ``seen_at`` (datetime64[us, UTC]).
        """
        table = schema.quarantine
        query = select(table).order_by(table.c.id)
        if source is not None:
            query = query.where(table.c.source == source)
        with self.store.read() as connection:
            rows = connection.execute(query).all()
        return pd.DataFrame(
            {
                "id": pd.Series([r.id for r in rows], dtype="int64"),
                "source": pd.Series([r.source for r in rows], dtype=object),
                "stream": pd.Series([r.stream for r in rows], dtype=object),
                "reason": pd.Series([r.reason for r in rows], dtype=object),
                "raw": pd.Series([r.raw for r in rows], dtype=object),
                "seen_at": pd.to_datetime(
                    pd.Series([r.seen_us for r in rows], dtype="int64"), unit="us", utc=True
                ),
            }
        )

    # -- enrichments ----------------------------------------------------------------------

    def score_sentiment(
        self,
        analyzer: str | SentimentAnalyzer = "vader",
        *,
        rescore: bool = False,
        batch_size: int = SENTIMENT_BATCH_SIZE,
    ) -> dict[str, int]:
        """Score the sentiment of stored interaction text into the store, re-runnably.

        Every interaction with a non-empty text (not missing, not only whitespace) gets one
        score per analyzer, stored with the analyzer's name and version, the score's time and
        a hash of the text that was scored. A run scores only what needs it:

        - interactions this analyzer has not scored yet;
        - interactions whose text changed since (its hash no longer matches the stored one,
          as after a re-ingest that edited a ticket);
        - interactions scored by another version of the analyzer;
        - everything, with ``rescore=True``.

        Scores of interactions whose text has since become empty are deleted. Interactions
        are read in id order, ``batch_size`` at a time, and each batch's scores are written
        in one transaction, so an interrupted run keeps what it committed and the next run
        goes on from there. Scores of different analyzers live side by side.

        Args:
            analyzer: A registry name (``"vader"``, or one a plugin registered through
                ``cxm_register_sentiment_analyzers``) or an analyzer object.
            rescore: Score every text again, even unchanged ones.
            batch_size: Interactions read, scored and written per transaction.

        Returns:
            Counts: ``new`` (scored for the first time), ``rescored`` (text or version
            changed, or ``rescore=True``), ``unchanged`` (already current) and ``removed``
            (scores deleted because the text became empty).

        Raises:
            ValidationError: If the analyzer is unknown or returns invalid scores, or
                ``batch_size`` is below 1.
            StoreError: If the database failed.

        Examples:
            >>> ws = Workspace.open(":memory:")
            >>> _ = ws.ingest([Interaction(source="desk", source_id="1", channel="support",
            ...     kind="ticket", text="Thanks, all sorted!", occurred_at="2024-05-01T09:00Z")])
            >>> ws.score_sentiment()
            {'new': 1, 'rescored': 0, 'unchanged': 0, 'removed': 0}
            >>> ws.score_sentiment()
            {'new': 0, 'rescored': 0, 'unchanged': 1, 'removed': 0}
        """
        from cxm.metrics.sentiment import resolve_analyzer

        model = resolve_analyzer(analyzer)
        size: Any = batch_size  # untyped callers pass anything; refuse it by name
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValidationError("batch_size", batch_size, "must be a whole number of 1 or more")
        table = schema.interactions
        sent = schema.sentiment
        counts = {"new": 0, "rescored": 0, "unchanged": 0, "removed": 0}
        joined = table.outerjoin(
            sent, and_(sent.c.interaction_id == table.c.id, sent.c.analyzer == model.name)
        )
        has_text = and_(table.c.text.is_not(None), table.c.text != "")
        last: int | None = None
        while True:
            query = (
                select(table.c.id, table.c.text, sent.c.text_hash, sent.c.version)
                .select_from(joined)
                .where(has_text if last is None else and_(has_text, table.c.id > last))
                .order_by(table.c.id)
                .limit(batch_size)
            )
            with self.store.read() as connection:
                rows = connection.execute(query).all()
            if not rows:
                break
            last = int(rows[-1][0])
            self._score_page(model, rows, rescore=rescore, counts=counts)
        # Scores of texts that are now missing or empty (never read by the loop above).
        gone = select(table.c.id).where(or_(table.c.text.is_(None), table.c.text == ""))
        with self.store.write_transaction() as connection:
            counts["removed"] += int(
                connection.execute(
                    delete(sent).where(
                        sent.c.analyzer == model.name, sent.c.interaction_id.in_(gone)
                    )
                ).rowcount
            )
        return counts

    def _score_page(
        self,
        model: SentimentAnalyzer,
        rows: Sequence[Any],
        *,
        rescore: bool,
        counts: dict[str, int],
    ) -> None:
        """Score what needs it among one page of ``(id, text, stored hash, stored version)``."""
        from cxm.metrics.sentiment import score_text, text_hash

        todo: list[tuple[int, str, str, bool]] = []  # id, text, hash, first score
        emptied: list[int] = []
        for iid, text, old_hash, old_version in rows:
            if not text.strip():
                if old_hash is not None:
                    emptied.append(int(iid))
                continue
            digest = text_hash(text)
            if old_hash is None:
                todo.append((int(iid), text, digest, True))
            elif rescore or old_hash != digest or old_version != model.version:
                todo.append((int(iid), text, digest, False))
            else:
                counts["unchanged"] += 1
        if not todo and not emptied:
            return
        scores = score_text([item[1] for item in todo], model)
        stamp = now_us()
        records = [
            {
                "interaction_id": iid,
                "analyzer": model.name,
                "version": model.version,
                "text_hash": digest,
                "compound": float(compound),
                "pos": None if pd.isna(pos) else float(pos),
                "neu": None if pd.isna(neu) else float(neu),
                "neg": None if pd.isna(neg) else float(neg),
                "label": str(label),
                "scored_us": stamp,
            }
            for (iid, _text, digest, _first), compound, pos, neu, neg, label in zip(
                todo,
                scores["compound"],
                scores["pos"],
                scores["neu"],
                scores["neg"],
                scores["label"],
                strict=True,
            )
        ]
        table = schema.interactions
        sent = schema.sentiment
        with self.store.write_transaction() as connection:
            # An interaction erased since the read is not scored back into existence.
            present: set[int] = set()
            for chunk in chunked([item[0] for item in todo]):
                found = connection.execute(select(table.c.id).where(table.c.id.in_(chunk)))
                present.update(int(iid) for (iid,) in found)
            records = [r for r in records if r["interaction_id"] in present]
            if records:
                connection.execute(
                    native_upsert(connection.dialect.name, sent, ["interaction_id", "analyzer"]),
                    records,
                )
            for chunk in chunked(emptied):
                counts["removed"] += int(
                    connection.execute(
                        delete(sent).where(
                            sent.c.analyzer == model.name, sent.c.interaction_id.in_(chunk)
                        )
                    ).rowcount
                )
        for iid, _text, _digest, first in todo:
            if iid in present:
                counts["new" if first else "rescored"] += 1

    def sentiment(
        self,
        analyzer: str | Iterable[str] | None = "vader",
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        channel: str | Iterable[str] | None = None,
        touchpoint: str | Iterable[str] | None = None,
        source: str | Iterable[str] | None = None,
        customer: str | Iterable[str] | None = None,
        kind: str | Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Return the stored sentiment scores with their interactions' context.

        Run :meth:`score_sentiment` first; interactions it has not scored are not listed.

        Args:
            analyzer: Analyzer name(s) whose scores to return; ``None`` returns every
                analyzer's (one row per interaction and analyzer).
            start: Keep interactions at or after this time.
            end: Keep interactions before this time.
            channel: Channel value(s) to keep.
            touchpoint: Touchpoint name(s) to keep.
            source: Source name(s) to keep.
            customer: Customer id(s) to keep.
            kind: Interaction kind(s) to keep.

        Returns:
            One row per score, oldest interaction first, columns:

            - ``interaction_id`` (int64), ``customer_id`` (object),
                ``occurred_at`` (datetime64[us, UTC]);
            - ``source``, ``channel``, ``touchpoint``, ``stage``, ``kind`` (category);
            - ``text`` (object): the interaction's current text;
            - ``analyzer``, ``version`` (category): what scored it;
            - ``compound`` (float64, -1..1), ``pos``, ``neu``, ``neg`` (float64, NaN when
                the analyzer gives only ``compound``);
            - ``label`` (ordered category: negative < neutral < positive, at +/-0.05);
            - ``scored_at`` (datetime64[us, UTC]).

            :func:`cxm.metrics.sentiment.sentiment_summary` aggregates it.
        """
        where = InteractionFilter(
            start=start,
            end=end,
            channel=channel,
            touchpoint=touchpoint,
            source=source,
            customer=customer,
            kind=kind,
        )
        with self.store.read() as connection:
            return sentiment_frame(connection, where, analyzer=analyzer)

    # -- customers ------------------------------------------------------------------------

    def check_alerts(
        self,
        monitors: Monitor | Iterable[Monitor],
        *,
        deliver: bool = True,
        failures: list[DeliveryFailure] | None = None,
        **filters: Any,
    ) -> list[Alert]:
        """Run monitors over the stored feedback and hand their alerts to the plugins.

        Args:
            monitors: One :class:`~cxm.metrics.monitoring.Monitor` or several.
            deliver: Call every ``cxm_alert`` plugin hook with each alert. A plugin that
                raises is logged and skipped; the others still get every alert.
            failures: A list to which the failed deliveries are appended, if given.
            **filters: Filters of :meth:`feedback` (``start``, ``end``, ``channel``,
                ``touchpoint``, ``source``, ``kind``...). Pass ``end=`` at the start of the
                running period so an incomplete week or month does not alert.

        Returns:
            The alerts, most severe first.

        Examples:
            ```python
            from cxm.metrics import Monitor

            weekly = [
                Monitor("nps", method="change", by="touchpoint", freq="W"),
                Monitor("csat", method="p_chart", freq="W"),
            ]
            for alert in ws.check_alerts(weekly, end="2026-11-23"):
                print(alert)
            ```
        """
        from cxm.connectors.registry import alert_receivers
        from cxm.metrics.monitoring import check_monitors, deliver_alerts

        alerts = check_monitors(self.feedback(**filters), monitors)
        if deliver and alerts:
            failed = deliver_alerts(alerts, alert_receivers())
            if failures is not None:
                failures.extend(failed)
        return alerts

    def customer(self, key: str | Identity) -> Customer:
        """Return the customer an identity or customer id names.

        Args:
            key: A customer id, an :class:`~cxm.model.Identity`, an e-mail address, a phone
                number, or ``"<source>:<id-type>:<value>"``.

        Raises:
            CustomerNotFound: If no customer holds it.
        """
        with self.store.read() as connection:
            customer_id = self.store.customer_id(connection, key, region=self.default_region)
            return self.store.customer(connection, customer_id)

    def profile(self, key: str | Identity) -> Customer360:
        """Return a customer's 360-degree profile.

        Args:
            key: A customer id, an :class:`~cxm.model.Identity`, an e-mail address, a phone
                number, or ``"<source>:<id-type>:<value>"``.

        Returns:
            The :class:`~cxm.profile.Customer360`: the customer, identities, traits, and the
            interactions and feedback in time order.

        Raises:
            CustomerNotFound: If no customer holds it.
        """
        with self.store.read() as connection:
            customer_id = self.store.customer_id(connection, key, region=self.default_region)
            customer = self.store.customer(connection, customer_id)
            where = InteractionFilter(customer=customer_id)
            interactions = interactions_frame(connection, where)
            feedback = feedback_frame(connection, where)
        return Customer360(customer=customer, interactions=interactions, feedback=feedback)

    def export(self, key: str | Identity) -> dict[str, Any]:
        """Return everything held about a customer, as JSON-ready data (GDPR access).

        Args:
            key: A customer id or an identity, as for :meth:`profile`.

        Returns:
            ``customer_id``, ``created_at``, ``updated_at``, ``traits``, ``identities`` (with
            the source that first asserted each), ``customer_records`` and ``interactions``
            (each in the form :func:`cxm.model.record_from_dict` reads back, feedback
            included; re-ingesting them changes nothing), ``merges`` (the audit of customers
            merged into this one), ``quarantined`` (refused payloads that name the customer,
            with ``source``, ``stream``, ``reason``, ``raw``, ``seen_at``), ``sentiment``
            (the sentiment scores of its interactions: ``source``, ``source_id``,
            ``analyzer``, ``version``, ``compound``, ``pos``, ``neu``, ``neg``, ``label``,
            ``scored_at``) and ``exported_at``. Times are ISO 8601 UTC strings, money a
            decimal string.

        Raises:
            CustomerNotFound: If no customer holds it.
        """
        with self.store.read() as connection:
            customer_id = self.store.customer_id(connection, key, region=self.default_region)
            data = self.store.export(connection, customer_id)
            data["sentiment"] = _sentiment_export(connection, customer_id)
        data["exported_at"] = data.pop("exported_at")  # stays the last key
        return data

    def erase(self, key: str | Identity) -> dict[str, int]:
        """Delete everything held about a customer (GDPR erasure), in one transaction.

        Removes the customer, its identities, customer records, interactions and their
        feedback and sentiment scores, the merge audit rows that name it, and the quarantined
        payloads that name it (a JSON string value equal to one of its identities or customer
        ids, ignoring case, or normalising to one of its e-mail addresses or phone numbers).

        Args:
            key: A customer id or an identity, as for :meth:`profile`.

        Returns:
            Rows deleted per table: ``customers``, ``identities``, ``customer_records``,
            ``interactions``, ``feedback``, ``sentiment``, ``merges``, ``quarantine``.

        Raises:
            CustomerNotFound: If no customer holds it.
        """
        with self.store.write_transaction() as connection:
            customer_id = self.store.customer_id(connection, key, region=self.default_region)
            sent = schema.sentiment
            theirs = select(schema.interactions.c.id).where(
                schema.interactions.c.customer_id == customer_id
            )
            scores = int(
                connection.execute(delete(sent).where(sent.c.interaction_id.in_(theirs))).rowcount
            )
            counts = self.store.erase(connection, customer_id)
        counts["sentiment"] = scores
        return counts


def _sentiment_export(connection: Connection, customer_id: str) -> list[dict[str, Any]]:
    """Return the sentiment scores of a customer's interactions, JSON-ready."""
    table = schema.interactions
    sent = schema.sentiment
    rows = connection.execute(
        select(
            table.c.source,
            table.c.source_id,
            sent.c.analyzer,
            sent.c.version,
            sent.c.compound,
            sent.c.pos,
            sent.c.neu,
            sent.c.neg,
            sent.c.label,
            sent.c.scored_us,
        )
        .select_from(sent.join(table, table.c.id == sent.c.interaction_id))
        .where(table.c.customer_id == customer_id)
        .order_by(table.c.occurred_us, table.c.id, sent.c.analyzer)
    ).all()
    return [
        {
            "source": row.source,
            "source_id": row.source_id,
            "analyzer": row.analyzer,
            "version": row.version,
            "compound": row.compound,
            "pos": row.pos,
            "neu": row.neu,
            "neg": row.neg,
            "label": row.label,
            "scored_at": iso_from_us(row.scored_us),
        }
        for row in rows
    ]
