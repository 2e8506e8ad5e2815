"""The store: one database, migrated, with customer-level reads and GDPR access and erasure.

:class:`Store` owns the engine. Writes go through :meth:`Store.write_transaction`, a transaction
that on SQLite takes the write lock up front (``BEGIN IMMEDIATE``). Customer-level operations
(lookup by identity, export, erase) live here because they span every table; batch ingestion
lives in :mod:`cxm.store.writer`, frames in :mod:`cxm.store.frames`.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from cxm.exceptions import ConflictError, CustomerNotFound, StoreError
from cxm.identity import normalize_identity
from cxm.model import Customer, Identity
from cxm.store import schema
from cxm.store.codec import datetime_from_us, interaction_dict, iso_from_us, record_dict
from cxm.store.engine import WRITE_OPTION, create_store_engine, redact_url
from cxm.store.migrate import upgrade
from cxm.store.sql import CompiledStatements, native_insert_ignore
from cxm.store.writer import BatchWriter, chunked, new_salt

__all__ = ["Store", "now_us"]

_SALT_KEY = "customer_id_salt"
_LOCK_KEY = "write_lock"
_CUSTOMER_PREFIX = "cus_"
_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{4,}$")


def now_us() -> int:
    """Return the current time in microseconds since the Unix epoch."""
    return time.time_ns() // 1_000


class Store:
    """A migrated cxm database.

    Args:
        target: Database URL, SQLite path, ``":memory:"`` or ``None`` for ``./cxm.db``.
        engine: An existing engine to use instead of ``target``.

    Raises:
        StoreError: If the database cannot be opened or migrated.
        SchemaVersionError: If the database was migrated by a newer cxm.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | URL | None = None,
        *,
        engine: Engine | None = None,
    ) -> None:
        self.engine = engine if engine is not None else create_store_engine(target)
        settings = schema.settings
        self._lock_query = (
            select(settings.c.value).where(settings.c.key == _LOCK_KEY).with_for_update()
        )
        try:
            self.revision = upgrade(self.engine)
            self.salt = self._load_salt()
        except StoreError:
            self.engine.dispose()
            raise
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(
                f"cannot open {redact_url(self.engine.url)}: {type(exc).__name__}: {exc.orig!r}"
                if hasattr(exc, "orig")
                else f"cannot open {redact_url(self.engine.url)}: {exc}"
            ) from exc
        self._rows_since_analyze = 0
        self._analyzed_rows = self._estimated_rows()
        self.writer = BatchWriter(
            salt=self.salt, statements=CompiledStatements(self.engine.dialect)
        )

    @property
    def dialect(self) -> str:
        """The database dialect: ``sqlite``, ``postgresql``, ``mysql`` or ``mariadb``."""
        return str(self.engine.dialect.name)

    def __repr__(self) -> str:
        return f"Store({redact_url(self.engine.url)!r})"

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def _load_salt(self) -> str:
        table = schema.settings
        with self.write_transaction() as connection:
            salt = connection.execute(
                select(table.c.value).where(table.c.key == _SALT_KEY)
            ).scalar_one_or_none()
            if salt is None:
                salt = new_salt()
                connection.execute(insert(table).values(key=_SALT_KEY, value=salt))
            lock = connection.execute(
                select(table.c.value).where(table.c.key == _LOCK_KEY)
            ).scalar_one_or_none()
            if lock is None:
                connection.execute(
                    native_insert_ignore(self.dialect, table, ["key"]).values(
                        key=_LOCK_KEY, value="-"
                    )
                )
        return str(salt)

    def _estimated_rows(self) -> int:
        """Return the planner's estimate of the interactions table's size (PostgreSQL only)."""
        if self.dialect != "postgresql":
            return 0
        with self.engine.connect() as connection:
            estimate = connection.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE relname = 'interactions'"
            ).scalar()
        return max(int(estimate or 0), 0)

    def note_rows_written(self, rows: int) -> None:
        """Refresh PostgreSQL's planner statistics each time the store doubles in size.

        After a bulk load the statistics still describe an empty table, and the planner then
        scans the whole table for every batch's key lookup; ``ANALYZE`` on a doubling schedule
        costs a few dozen statements over a billion rows and keeps lookups on the index.
        """
        if self.dialect != "postgresql" or rows <= 0:
            return
        self._rows_since_analyze += rows
        if self._rows_since_analyze < max(self._analyzed_rows, 2_000):
            return
        with self.engine.connect() as connection:
            for table in (
                "interactions",
                "feedback",
                "identities",
                "customers",
                "customer_records",
            ):
                connection.exec_driver_sql(f"ANALYZE {table}")
            connection.commit()
        self._analyzed_rows += self._rows_since_analyze
        self._rows_since_analyze = 0

    @contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """Open a write transaction; commit on success, roll back on any error.

        Driver errors are re-raised as :class:`~cxm.exceptions.ConflictError` (constraint
        violations, lock timeouts, deadlocks) or :class:`~cxm.exceptions.StoreError`.
        """
        try:
            with self.engine.connect() as connection:
                connection.execution_options(**{WRITE_OPTION: True})
                with connection.begin():
                    if self.dialect != "sqlite":
                        # One writer at a time per database, held to commit: identity resolution
                        # reads then writes, and two interleaved batches could otherwise attach
                        # records to a customer the other is merging away. (SQLite gets the
                        # same from BEGIN IMMEDIATE.)
                        connection.execute(self._lock_query)
                    yield connection
        except IntegrityError as exc:
            raise ConflictError(
                f"a concurrent writer or a key collision stopped the write: {exc.orig}"
            ) from exc
        except OperationalError as exc:
            message = str(exc.orig).lower()
            if any(w in message for w in ("lock", "deadlock", "busy", "serializ")):
                raise ConflictError(f"the database was busy: {exc.orig}") from exc
            raise StoreError(f"database error: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Open a read-only connection (one transaction, so reads are consistent)."""
        try:
            with self.engine.connect() as connection, connection.begin():
                yield connection
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc}") from exc

    # -- customers --------------------------------------------------------------------------

    def customer_id(
        self, connection: Connection, key: str | Identity, *, region: str | None = None
    ) -> str:
        """Return the id of the customer that ``key`` names.

        Args:
            connection: An open connection.
            key: A customer id (``"cus_..."``), an :class:`~cxm.model.Identity`, an e-mail
                address, a phone number, or ``"<source>:<id-type>:<value>"``.
            region: Region for national phone numbers.

        Raises:
            CustomerNotFound: If no customer holds it.
        """
        identity: tuple[str, str] | None
        if isinstance(key, Identity):
            identity = key.key
        elif not str(key).strip():
            raise CustomerNotFound(str(key))
        elif key.startswith(_CUSTOMER_PREFIX):
            table = schema.customers
            found = connection.execute(
                select(table.c.customer_id).where(table.c.customer_id == key)
            ).scalar_one_or_none()
            if found is None:
                # An id absorbed by a merge still names its customer: follow the audit, whose
                # survivor column always points at the living customer.
                merges = schema.merges
                found = connection.execute(
                    select(merges.c.survivor_id).where(merges.c.merged_id == key).limit(1)
                ).scalar_one_or_none()
            if found is None:
                raise CustomerNotFound(key)
            return str(found)
        else:
            identity = _identity_from_text(key, region)
            if identity is None:
                raise CustomerNotFound(key)
        table = schema.identities
        found = connection.execute(
            select(table.c.customer_id).where(
                table.c.kind == identity[0], table.c.value == identity[1]
            )
        ).scalar_one_or_none()
        if found is None:
            raise CustomerNotFound(key if isinstance(key, str) else f"{key.kind}:{key.value}")
        return str(found)

    def customer(self, connection: Connection, customer_id: str) -> Customer:
        """Return the :class:`~cxm.model.Customer` with ``customer_id``."""
        table = schema.customers
        row = connection.execute(
            select(table.c.created_us, table.c.traits).where(table.c.customer_id == customer_id)
        ).one_or_none()
        if row is None:
            raise CustomerNotFound(customer_id)
        ids = schema.identities
        identities = tuple(
            _stored_identity(kind, value)
            for kind, value in connection.execute(
                select(ids.c.kind, ids.c.value)
                .where(ids.c.customer_id == customer_id)
                .order_by(ids.c.kind, ids.c.value)
            )
        )
        return Customer(
            customer_id=customer_id,
            identities=identities,
            traits=json.loads(row.traits),
            created_at=datetime_from_us(row.created_us),
        )

    def export(self, connection: Connection, customer_id: str) -> dict[str, Any]:
        """Return everything held about one customer as JSON-ready data."""
        customers = schema.customers
        cust = connection.execute(
            select(customers).where(customers.c.customer_id == customer_id)
        ).one()
        ids = schema.identities
        identities = [
            {
                "kind": row.kind,
                "value": row.value,
                "source": row.source,
                "first_seen": iso_from_us(row.first_seen_us),
            }
            for row in connection.execute(
                select(ids)
                .where(ids.c.customer_id == customer_id)
                .order_by(ids.c.kind, ids.c.value)
            )
        ]
        recs = schema.customer_records
        records = [
            {**record_dict(row._mapping), "ingested_at": iso_from_us(row.ingested_us)}
            for row in connection.execute(
                select(recs)
                .where(recs.c.customer_id == customer_id)
                .order_by(recs.c.source, recs.c.source_id)
            )
        ]
        table = schema.interactions
        rows = connection.execute(
            select(table)
            .where(table.c.customer_id == customer_id)
            .order_by(table.c.occurred_us, table.c.id)
        ).all()
        feedback: dict[int, list[dict[str, Any]]] = {}
        fb = schema.feedback
        for chunk in chunked([row.id for row in rows]):
            for item in connection.execute(select(fb).where(fb.c.interaction_id.in_(chunk))):
                feedback.setdefault(item.interaction_id, []).append(dict(item._mapping))
        interactions = [
            {
                **interaction_dict(row._mapping, feedback.get(row.id, [])),
                "ingested_at": iso_from_us(row.ingested_us),
            }
            for row in rows
        ]
        merged_ids = self._merged_into(connection, customer_id)
        merges = (
            [
                {
                    "merged_at": iso_from_us(row.merged_us),
                    "survivor_id": row.survivor_id,
                    "merged_id": row.merged_id,
                    "source": row.source,
                    "source_id": row.source_id,
                }
                for row in connection.execute(
                    select(schema.merges)
                    .where(schema.merges.c.merged_id.in_(merged_ids))
                    .order_by(schema.merges.c.id)
                )
            ]
            if merged_ids
            else []
        )
        return {
            "customer_id": customer_id,
            "created_at": iso_from_us(cust.created_us),
            "updated_at": iso_from_us(cust.updated_us),
            "traits": json.loads(cust.traits),
            "identities": identities,
            "customer_records": records,
            "interactions": interactions,
            "merges": merges,
            "quarantined": [
                {
                    "source": row[1],
                    "stream": row[2],
                    "reason": row[3],
                    "raw": row[4],
                    "seen_at": iso_from_us(row[5]),
                }
                for row in self._quarantined_naming(connection, customer_id, merged_ids)
            ],
            "exported_at": datetime.now(UTC).isoformat(),
        }

    def _quarantined_naming(
        self, connection: Connection, customer_id: str, merged_ids: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """Return the quarantine rows whose payload names the customer.

        A payload names the customer when one of its JSON string values is one of the
        customer's identities (compared case-insensitively, phone numbers and e-mail addresses
        also after normalisation) or one of its customer ids. The database only pre-selects
        rows containing one of those strings; the exact test runs here, so an identity ``42``
        does not claim a payload that mentions ``order 4242``.
        """
        ids = schema.identities
        identities = {
            (kind, value)
            for kind, value in connection.execute(
                select(ids.c.kind, ids.c.value).where(ids.c.customer_id == customer_id)
            )
        }
        customer_ids = {customer_id, *merged_ids}
        needles = sorted({value for _kind, value in identities} | customer_ids)
        fragments = {_like_fragment(value) for value in needles}
        quarantine = schema.quarantine
        query = select(
            quarantine.c.id,
            quarantine.c.source,
            quarantine.c.stream,
            quarantine.c.reason,
            quarantine.c.raw,
            quarantine.c.seen_us,
        ).order_by(quarantine.c.id)
        candidates: dict[int, tuple[Any, ...]] = {}
        if None in fragments:
            # A needle without a usable ASCII run cannot be pre-selected: read every row.
            candidates = {row[0]: tuple(row) for row in connection.execute(query)}
        else:
            for chunk in chunked(sorted(f for f in fragments if f), 50):
                matches = or_(*(quarantine.c.raw.icontains(f, autoescape=True) for f in chunk))
                candidates.update(
                    (row[0], tuple(row)) for row in connection.execute(query.where(matches))
                )
        folded = {value.casefold() for value in needles}
        return [
            row
            for _row_id, row in sorted(candidates.items())
            if _payload_names(row[4], folded, identities)
        ]

    def _merged_into(self, connection: Connection, customer_id: str) -> list[str]:
        """Return every customer id ever merged into ``customer_id``, transitively."""
        found: list[str] = []
        frontier = [customer_id]
        seen = {customer_id}
        table = schema.merges
        while frontier:
            next_frontier: list[str] = []
            for chunk in chunked(frontier):
                for (merged,) in connection.execute(
                    select(table.c.merged_id).where(table.c.survivor_id.in_(chunk))
                ):
                    if merged not in seen:
                        seen.add(merged)
                        found.append(merged)
                        next_frontier.append(merged)
            frontier = next_frontier
        return found

    def erase(self, connection: Connection, customer_id: str) -> dict[str, int]:
        """Delete every row that names the customer; return the number deleted per table."""
        ids = schema.identities
        # Found before the identities and merges that define "naming" are deleted.
        merged_ids = self._merged_into(connection, customer_id)
        naming = [row[0] for row in self._quarantined_naming(connection, customer_id, merged_ids)]
        table = schema.interactions
        interaction_ids = [
            iid
            for (iid,) in connection.execute(
                select(table.c.id).where(table.c.customer_id == customer_id)
            )
        ]
        counts: dict[str, int] = {}
        fb = schema.feedback
        counts["feedback"] = 0
        for chunk in chunked(interaction_ids):
            counts["feedback"] += connection.execute(
                delete(fb).where(fb.c.interaction_id.in_(chunk))
            ).rowcount
        counts["interactions"] = connection.execute(
            delete(table).where(table.c.customer_id == customer_id)
        ).rowcount
        recs = schema.customer_records
        counts["customer_records"] = connection.execute(
            delete(recs).where(recs.c.customer_id == customer_id)
        ).rowcount
        counts["identities"] = connection.execute(
            delete(ids).where(ids.c.customer_id == customer_id)
        ).rowcount
        merges = schema.merges
        counts["merges"] = connection.execute(
            delete(merges).where(
                or_(
                    merges.c.survivor_id == customer_id,
                    merges.c.merged_id.in_(merged_ids or [""]),
                )
            )
        ).rowcount
        # A quarantined payload may carry the customer's identities; it names them too.
        quarantine = schema.quarantine
        counts["quarantine"] = 0
        for chunk in chunked(naming):
            counts["quarantine"] += connection.execute(
                delete(quarantine).where(quarantine.c.id.in_(chunk))
            ).rowcount
        counts["customers"] = connection.execute(
            delete(schema.customers).where(schema.customers.c.customer_id == customer_id)
        ).rowcount
        return counts


def _identity_from_text(text: str, region: str | None) -> tuple[str, str] | None:
    """Read an identity from how a person would type it; ``None`` if it is none."""
    stripped = text.strip()
    try:
        if "@" in stripped and ":" not in stripped.split("@")[0]:
            return normalize_identity("email", stripped)
        if _PHONE_LIKE.match(stripped):
            return normalize_identity("phone", stripped, region)
        parts = stripped.split(":", 2)
        if len(parts) == 3:
            return normalize_identity(f"{parts[0]}:{parts[1]}", parts[2])
    except ValueError:
        return None
    return None


def _like_fragment(needle: str) -> str | None:
    """Return the longest ASCII run of ``needle`` (3+ characters) for a LIKE pre-selection.

    SQLite folds case for ASCII only, so ``ZOË`` is not ``LIKE '%zoë%'``; an ASCII run such as
    ``cher.de`` matches whatever the case of the letters around it.
    """
    runs = re.findall(r"[\x20-\x7e]+", needle)
    longest = max(runs, key=len, default="")
    return longest if len(longest) >= 3 else None


def _string_leaves(document: Any) -> Iterator[str]:
    """Yield every string inside a JSON document, keys included."""
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for key, value in document.items():
            yield str(key)
            yield from _string_leaves(value)
    elif isinstance(document, list):
        for item in document:
            yield from _string_leaves(item)


def _payload_names(raw: str, folded: set[str], identities: set[tuple[str, str]]) -> bool:
    """Tell whether a quarantined payload holds one of the identities (``_quarantined_naming``)."""
    try:
        document = json.loads(raw)
    except ValueError:
        document = raw
    if isinstance(document, dict) and set(document) == {"repr"}:
        # Not a mapping when it was refused: its repr is free text, so match words in it.
        document = re.split(r"[\s,;'\"()\[\]{}<>]+", str(document["repr"]))
    for leaf in _string_leaves(document):
        text = leaf.strip()
        if text.casefold() in folded:
            return True
        for kind in ("email", "phone"):
            try:
                if normalize_identity(kind, text) in identities:
                    return True
            except ValueError:
                continue
    return False


def _stored_identity(kind: str, value: str) -> Identity:
    """Rebuild an identity read from the store (already normalised, so this is cheap)."""
    return Identity(kind, value)
