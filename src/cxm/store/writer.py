"""Writing one batch of records in one transaction: resolve identities, merge, upsert.

A batch is written by :meth:`BatchWriter.write` inside a transaction the caller owns, so a batch
commits whole or not at all (and the sync engine can commit its stream cursor in the same
transaction). The steps, each a handful of set-based statements whatever the batch size:

1. collapse repeats of one ``(source, source_id)`` inside the batch (newest ``updated_at``
   wins, ties to the later one);
2. read the stored content hash of every key in the batch and classify each record as new,
   updated or unchanged; a stored copy with a newer ``updated_at`` is kept (the older record
   counts as unchanged). Only new and changed records go on, so a stale version of a record
   can never re-link identities;
3. look up their identities, resolve components (:mod:`cxm.identity`), insert new customers
   and identities, and merge customers the batch links (audit rows in ``merges``);
4. upsert new and changed rows with the dialect's native conflict clause
   (``ON CONFLICT ... DO UPDATE`` on SQLite and PostgreSQL, ``ON DUPLICATE KEY UPDATE`` on
   MySQL), replace their feedback, and re-merge the traits of every customer touched.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import attrs
from sqlalchemy import bindparam, delete, insert, update
from sqlalchemy.engine import Connection

from cxm.identity import resolve_components
from cxm.model import CustomerRecord, Identity, Interaction
from cxm.store import schema
from cxm.store.codec import (
    FEEDBACK_COLUMNS,
    INTERACTION_COLUMNS,
    RECORD_COLUMNS,
    customer_record_row,
    dumps,
    interaction_row,
)
from cxm.store.sql import CompiledStatements, native_insert_ignore

__all__ = ["BatchCounts", "BatchWriter", "chunked", "merge_traits", "new_salt"]

#: Parameters per ``IN (...)`` list; below SQLite's 32,766 and kind to MySQL's packet size.
IN_CHUNK = 2_000


def new_salt() -> str:
    """Return a fresh random salt for a workspace's customer ids."""
    return secrets.token_hex(16)


def chunked(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """Yield ``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@attrs.define
class BatchCounts:
    """What one batch did, record by record.

    Attributes:
        new: Records stored for the first time.
        updated: Records whose stored copy changed.
        unchanged: Records identical to (or older than) the stored copy, and in-batch repeats.
        customers_created: Customers the batch created.
        customers_merged: Customers absorbed into another by a linking record.
    """

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    customers_created: int = 0
    customers_merged: int = 0


def merge_traits(records: Iterable[tuple[dict[str, Any], int | None, str, str]]) -> dict[str, Any]:
    """Merge the traits of one customer's records, newest ``updated_at`` winning per trait.

    Args:
        records: ``(traits, updated_us, source, source_id)`` per record.

    Returns:
        The merged traits. A record without ``updated_at`` ranks below every dated one; ties are
        broken by ``(source, source_id)`` so the result never depends on ingestion order.

    Examples:
        >>> merge_traits([({"plan": "free", "city": "Oslo"}, 1, "crm", "a"),
        ...               ({"plan": "pro"}, 2, "shop", "b")])
        {'city': 'Oslo', 'plan': 'pro'}
    """
    ranked = sorted(
        records, key=lambda r: (r[1] is not None, r[1] if r[1] is not None else 0, r[2], r[3])
    )
    merged: dict[str, Any] = {}
    for traits, _updated, _source, _source_id in ranked:
        merged.update(traits)
    return dict(sorted(merged.items()))


def _collapse(records: Sequence[Any]) -> tuple[list[Any], int]:
    """Keep one record per ``(source, source_id)``: the newest, ties to the later one."""
    if len({(r.source, r.source_id) for r in records}) == len(records):
        return list(records), 0  # the common case: no repeats
    winners: dict[tuple[str, str], Any] = {}
    for record in records:
        key = (record.source, record.source_id)
        held = winners.get(key)
        if held is None or _not_older(record, held):
            winners[key] = record
    return list(winners.values()), len(records) - len(winners)


def _not_older(record: Any, held: Any) -> bool:
    if record.updated_at is None or held.updated_at is None:
        return True
    return bool(record.updated_at >= held.updated_at)


# Written columns in table order: SQLAlchemy compiles parameters in that order, so rows built
# this way go to the driver without reordering.
_INTERACTION_WRITE = (
    *INTERACTION_COLUMNS[:2],
    "customer_id",
    *INTERACTION_COLUMNS[2:13],
    "ingested_us",
    "content_hash",
)
_RECORD_WRITE = (
    *RECORD_COLUMNS[:2],
    "customer_id",
    *RECORD_COLUMNS[2:5],
    "ingested_us",
    "content_hash",
)
_FEEDBACK_WRITE = ("interaction_id", *FEEDBACK_COLUMNS)


def _keys(identities: Sequence[Identity]) -> tuple[tuple[str, str], ...]:
    """Return the ``(kind, value)`` keys of a record's identities."""
    if len(identities) == 1:
        only = identities[0]
        return ((only.kind, only.value),)
    return tuple((i.kind, i.value) for i in identities)


@attrs.frozen
class _Pending:
    """A record that will be written: its row, feedback rows and what the store held for it.

    ``held`` is the stored interaction id (interactions) or the stored customer id (customer
    records) of a changed record, ``None`` for a new one.
    """

    record: Any
    row: tuple[Any, ...]
    feedback: tuple[tuple[Any, ...], ...]
    held: Any


@attrs.define
class BatchWriter:
    """Writes batches of records into one store.

    Attributes:
        salt: The workspace's customer-id salt.
        statements: Compiled hot-path SQL for the store's dialect.
        known_touchpoints: Touchpoint names known to be in the catalog (a cache).
    """

    salt: str
    statements: CompiledStatements
    known_touchpoints: set[str] = attrs.field(factory=set)

    def write(
        self,
        connection: Connection,
        interactions: Sequence[Interaction],
        records: Sequence[CustomerRecord],
        now_us: int,
    ) -> BatchCounts:
        """Write one batch inside the caller's transaction.

        Args:
            connection: A connection with an open transaction.
            interactions: Validated interactions.
            records: Validated customer records.
            now_us: The batch's timestamp (microseconds since the epoch).

        Returns:
            The batch's counts.
        """
        counts = BatchCounts()
        interactions, repeats = _collapse(interactions)
        records, record_repeats = _collapse(records)
        counts.unchanged += repeats + record_repeats
        # Classify first: unchanged and stale records are not written, so their identities take
        # no part in resolution (an old version must not re-link what a newer one dropped).
        pending_interactions = self._classify_interactions(connection, interactions, counts)
        pending_records = self._classify_records(connection, records, counts)

        all_identities = [_keys(p.record.identities) for p in pending_records] + [
            _keys(p.record.identities) for p in pending_interactions
        ]
        keys = [(p.record.source, p.record.source_id) for p in pending_records] + [
            (p.record.source, p.record.source_id) for p in pending_interactions
        ]
        customer_of, touched = self._resolve(connection, all_identities, keys, now_us, counts)

        split = len(pending_records)
        record_customers = [customer_of[ids[0]] for ids in all_identities[:split]]
        interaction_customers = [
            customer_of[ids[0]] if ids else None for ids in all_identities[split:]
        ]
        self._ensure_touchpoints(connection, [p.record for p in pending_interactions])
        self._write_interactions(connection, pending_interactions, interaction_customers, now_us)
        changed_customers = self._write_records(
            connection, pending_records, record_customers, now_us
        )
        self._refresh_traits(connection, changed_customers | touched, now_us)
        return counts

    # -- identities -----------------------------------------------------------------------

    def _resolve(
        self,
        connection: Connection,
        all_identities: Sequence[tuple[tuple[str, str], ...]],
        keys: Sequence[tuple[str, str]],
        now_us: int,
        counts: BatchCounts,
    ) -> tuple[dict[tuple[str, str], str], set[str]]:
        first_source: dict[tuple[str, str], str] = {}
        for identities, (source, _source_id) in zip(all_identities, keys, strict=True):
            for identity in identities:
                if identity not in first_source:
                    first_source[identity] = source
        known = self._known_identities(connection, list(first_source))
        ages: dict[str, tuple[int, str]] = {}
        known_customers = sorted(set(known.values()))
        for chunk in chunked(known_customers):
            rows = self.statements.select_in(
                connection,
                "SELECT customer_id, created_us FROM customers WHERE customer_id",
                (),
                chunk,
            )
            ages.update((cid, (created, cid)) for cid, created in rows)
        resolution = resolve_components(all_identities, known, ages, self.salt)

        self.statements.insert(
            connection,
            schema.customers,
            ("customer_id", "created_us", "updated_us", "traits"),
            [(cid, now_us, now_us, "{}") for cid in resolution.new_customers],
        )
        counts.customers_created += len(resolution.new_customers)
        self.statements.insert(
            connection,
            schema.identities,
            ("kind", "value", "customer_id", "source", "first_seen_us"),
            [
                (
                    kind,
                    value,
                    resolution.customer_of[(kind, value)],
                    first_source[(kind, value)],
                    now_us,
                )
                for kind, value in resolution.new_identities
            ],
        )
        touched: set[str] = set()
        if resolution.merges:
            self._merge(connection, resolution.merges, keys, now_us)
            counts.customers_merged += len(resolution.merges)
            touched = {survivor for survivor, _merged, _evidence in resolution.merges}
        return resolution.customer_of, touched

    def _known_identities(
        self, connection: Connection, identities: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, value in identities:
            by_kind[kind].append(value)
        known: dict[tuple[str, str], str] = {}
        for kind, values in by_kind.items():
            for chunk in chunked(values):
                rows = self.statements.select_in(
                    connection,
                    "SELECT value, customer_id FROM identities WHERE kind = {m} AND value",
                    (kind,),
                    chunk,
                )
                known.update(((kind, value), cid) for value, cid in rows)
        return known

    def _merge(
        self,
        connection: Connection,
        merges: Sequence[tuple[str, str, int]],
        keys: Sequence[tuple[str, str]],
        now_us: int,
    ) -> None:
        pairs = [{"survivor": s, "merged": m} for s, m, _evidence in merges]
        for table in (schema.identities, schema.interactions, schema.customer_records):
            connection.execute(
                update(table)
                .where(table.c.customer_id == bindparam("merged"))
                .values(customer_id=bindparam("survivor")),
                pairs,
            )
        # Earlier merges into a customer that is now absorbed point at the survivor too, so the
        # audit trail stays a tree rooted at a living customer.
        connection.execute(
            update(schema.merges)
            .where(schema.merges.c.survivor_id == bindparam("merged"))
            .values(survivor_id=bindparam("survivor")),
            pairs,
        )
        connection.execute(
            delete(schema.customers).where(schema.customers.c.customer_id == bindparam("merged")),
            [{"merged": m} for _s, m, _e in merges],
        )
        connection.execute(
            insert(schema.merges),
            [
                {
                    "merged_us": now_us,
                    "survivor_id": survivor,
                    "merged_id": merged,
                    "source": keys[evidence][0] if evidence >= 0 else None,
                    "source_id": keys[evidence][1] if evidence >= 0 else None,
                }
                for survivor, merged, evidence in merges
            ],
        )

    # -- interactions ---------------------------------------------------------------------

    def _ensure_touchpoints(
        self, connection: Connection, interactions: Sequence[Interaction]
    ) -> None:
        unseen: dict[str, str] = {}
        known = self.known_touchpoints
        for interaction in interactions:
            name = interaction.touchpoint
            if name is not None and name not in known and name not in unseen:
                unseen[name] = interaction.channel.value
        if not unseen:
            return
        connection.execute(
            native_insert_ignore(connection.dialect.name, schema.touchpoints, ["name"]),
            [{"name": name, "channel": channel, "stage": None} for name, channel in unseen.items()],
        )
        known.update(unseen)

    def _stored(
        self,
        connection: Connection,
        table: str,
        extra: str,
        records: Sequence[Interaction] | Sequence[CustomerRecord],
    ) -> dict[tuple[str, str], tuple[Any, str, int | None]]:
        """Return ``{(source, source_id): (extra, content_hash, updated_us)}`` for stored keys."""
        by_source: dict[str, list[str]] = defaultdict(list)
        for record in records:
            by_source[record.source].append(record.source_id)
        stored: dict[tuple[str, str], tuple[Any, str, int | None]] = {}
        head = (
            f"SELECT source_id, {extra}, content_hash, updated_us FROM {table} "
            "WHERE source = {m} AND source_id"
        )
        for source, source_ids in by_source.items():
            for chunk in chunked(source_ids):
                rows = self.statements.select_in(connection, head, (source,), chunk)
                stored.update(((source, sid), (ext, h, upd)) for sid, ext, h, upd in rows)
        return stored

    def _classify_interactions(
        self, connection: Connection, interactions: Sequence[Interaction], counts: BatchCounts
    ) -> list[_Pending]:
        """Return the interactions to write (new or changed), counting the rest unchanged."""
        if not interactions:
            return []
        stored = self._stored(connection, "interactions", "id", interactions)
        pending: list[_Pending] = []
        for interaction in interactions:
            row, feedback = interaction_row(interaction)
            held = stored.get((row[0], row[1]))
            if held is not None:
                held_id, held_hash, held_updated = held
                incoming_updated = row[12]
                if held_hash == row[13] or (
                    held_updated is not None
                    and incoming_updated is not None
                    and incoming_updated < held_updated
                ):
                    counts.unchanged += 1
                    continue
                counts.updated += 1
                pending.append(_Pending(interaction, row, feedback, held_id))
            else:
                counts.new += 1
                pending.append(_Pending(interaction, row, feedback, None))
        return pending

    def _write_interactions(
        self,
        connection: Connection,
        pending: Sequence[_Pending],
        customers: Sequence[str | None],
        now_us: int,
    ) -> None:
        if not pending:
            return
        to_write = [
            (row[0], row[1], customer_id, *row[2:13], now_us, row[13])
            for row, customer_id in zip((item.row for item in pending), customers, strict=True)
        ]
        self.statements.upsert(
            connection, schema.interactions, _INTERACTION_WRITE, ("source", "source_id"), to_write
        )
        changed_ids = [item.held for item in pending if item.held is not None]
        for chunk in chunked(changed_ids):
            connection.execute(
                delete(schema.feedback).where(schema.feedback.c.interaction_id.in_(chunk))
            )
        with_feedback = [item for item in pending if item.feedback]
        if not with_feedback:
            return
        ids = self._ids_of(
            connection, [(item.row[0], item.row[1]) for item in with_feedback if item.held is None]
        )
        rows = [
            (item.held if item.held is not None else ids[(item.row[0], item.row[1])], *fb)
            for item in with_feedback
            for fb in item.feedback
        ]
        self.statements.upsert(
            connection, schema.feedback, _FEEDBACK_WRITE, ("interaction_id", "ordinal"), rows
        )

    def _ids_of(
        self, connection: Connection, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        by_source: dict[str, list[str]] = defaultdict(list)
        for source, source_id in keys:
            by_source[source].append(source_id)
        ids: dict[tuple[str, str], int] = {}
        for source, source_ids in by_source.items():
            for chunk in chunked(source_ids):
                rows = self.statements.select_in(
                    connection,
                    "SELECT source_id, id FROM interactions WHERE source = {m} AND source_id",
                    (source,),
                    chunk,
                )
                ids.update(((source, sid), iid) for sid, iid in rows)
        return ids

    # -- customer records and traits --------------------------------------------------------

    def _classify_records(
        self, connection: Connection, records: Sequence[CustomerRecord], counts: BatchCounts
    ) -> list[_Pending]:
        """Return the customer records to write (new or changed), counting the rest unchanged."""
        if not records:
            return []
        stored = self._stored(connection, "customer_records", "customer_id", records)
        pending: list[_Pending] = []
        for record in records:
            row = customer_record_row(record)
            held = stored.get((row[0], row[1]))
            if held is not None:
                held_customer, held_hash, held_updated = held
                if held_hash == row[5] or (
                    held_updated is not None and row[4] is not None and row[4] < held_updated
                ):
                    counts.unchanged += 1
                    continue
                counts.updated += 1
                pending.append(_Pending(record, row, (), held_customer))
            else:
                counts.new += 1
                pending.append(_Pending(record, row, (), None))
        return pending

    def _write_records(
        self,
        connection: Connection,
        pending: Sequence[_Pending],
        customers: Sequence[str],
        now_us: int,
    ) -> set[str]:
        """Upsert customer records; return every customer whose traits need merging again."""
        if not pending:
            return set()
        changed = set(customers)
        # A record that now resolves elsewhere takes its traits away from its old customer.
        changed.update(item.held for item in pending if item.held is not None)
        self.statements.upsert(
            connection,
            schema.customer_records,
            _RECORD_WRITE,
            ("source", "source_id"),
            [
                (row[0], row[1], customer_id, row[2], row[3], row[4], now_us, row[5])
                for row, customer_id in zip((item.row for item in pending), customers, strict=True)
            ],
        )
        return changed

    def _refresh_traits(self, connection: Connection, customer_ids: set[str], now_us: int) -> None:
        if not customer_ids:
            return
        grouped: dict[str, list[tuple[dict[str, Any], int | None, str, str]]] = {
            cid: [] for cid in customer_ids
        }
        for chunk in chunked(sorted(customer_ids)):
            rows = self.statements.select_in(
                connection,
                "SELECT customer_id, traits, updated_us, source, source_id FROM customer_records "
                "WHERE customer_id",
                (),
                chunk,
            )
            for cid, traits, updated, source, source_id in rows:
                grouped[cid].append((json.loads(traits), updated, source, source_id))
        customers = schema.customers
        connection.execute(
            update(customers)
            .where(customers.c.customer_id == bindparam("cid"))
            .values(traits=bindparam("traits"), updated_us=bindparam("now")),
            [
                {
                    "cid": cid,
                    "traits": dumps(merge_traits(recs)),
                    "now": now_us,
                }
                for cid, recs in grouped.items()
            ],
        )
