"""Ingestion benchmark: ``Workspace.ingest`` against a bare insert of the same rows.

Every suite builds the same deterministic stream of interactions (one e-mail identity each,
drawn from a fixed set of customers, one in three carrying an NPS answer) and measures:

- ``sqlite``: ``ws.ingest`` into a fresh SQLite file end to end (building and validating the
  objects, identity resolution and upsert), the cost of building the objects alone, and a bare
  ``sqlite3`` ``executemany`` of the same rows into a fresh database of the same schema;
- ``postgres``: the same ingest into a fresh ``public`` schema and a bare psycopg ``COPY``;
- ``memory``: the peak memory of ``ws.ingest`` at two sizes, each in a fresh subprocess.

Figures are reported, never asserted: nothing here fails because something is slow.
"""

from __future__ import annotations

import gc
import inspect
import itertools
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import cxm
from cxm import identity as cxm_identity
from cxm.store.codec import FEEDBACK_COLUMNS, INTERACTION_COLUMNS, interaction_row

SEED = 20_251_123
BENCH_DIR = Path(__file__).resolve().parent


def default_batch_size() -> int:
    """Return the batch size ``Workspace.ingest`` uses when given none."""
    default = inspect.signature(cxm.Workspace.ingest).parameters["batch_size"].default
    return int(default)


@dataclass(frozen=True)
class Config:
    """What to generate and how to ingest it."""

    interactions: int
    customers: int
    batch_size: int
    seed: int = SEED


# -- the records ------------------------------------------------------------------------------

_START = datetime(2025, 1, 1, tzinfo=UTC)
_YEAR_US = 365 * 24 * 3600 * 1_000_000
_FIRST = ("ann", "bob", "chloe", "dev", "emma", "farid", "grace", "hugo", "ines", "jonas")
_LAST = (
    "smith",
    "garcia",
    "muller",
    "rossi",
    "novak",
    "silva",
    "nguyen",
    "okafor",
    "berg",
    "costa",
)
_DOMAINS = ("example.com", "example.org", "mail.example.net", "shop.example.co.uk")

# (weight, source, channel, kind, touchpoint, direction) of the two interactions in three that
# carry no feedback.
_ACTIVITY = (
    (30, "segment", "web", "page_view", "Product page", "inbound"),
    (12, "segment", "app", "page_view", "App home", "inbound"),
    (12, "shopify", "web", "purchase", "Checkout", "inbound"),
    (4, "shopify", "store", "purchase", "Store till", "inbound"),
    (12, "mailchimp", "email", "message", "Newsletter", "outbound"),
    (8, "intercom", "chat", "message", "Support chat", "inbound"),
    (8, "zendesk", "support", "ticket", "Help centre", "inbound"),
    (4, "aircall", "phone", "call", "Call centre", "inbound"),
    (4, "trustpilot", "review_site", "review", "Trustpilot", "inbound"),
    (4, "twilio", "sms", "message", "Delivery SMS", "outbound"),
    (2, "meta", "social", "message", "Instagram DM", "inbound"),
)
# The surveys that carry the NPS answers (one interaction in three).
_SURVEYS = (
    ("qualtrics", "survey", "survey_response", "Post-purchase NPS", "inbound"),
    ("delighted", "email", "survey_response", "Relationship NPS", "inbound"),
    ("appcues", "app", "survey_response", "In-app NPS", "inbound"),
)
# NPS answers, per 100 respondents (promoters 9-10: 59, detractors 0-6: 21, NPS +38).
_NPS_PER_100 = (3, 1, 1, 2, 2, 4, 8, 10, 10, 24, 35)
_NPS_TABLE = tuple(s for s, n in enumerate(_NPS_PER_100) for _ in range(n))
_ACTIVITY_TABLE = tuple(a for w, *a in _ACTIVITY for _ in range(w))
_COMMENTS = (
    "Delivery was quick and the packaging was great.",
    "Support took three days to answer.",
    "Love the app, checkout could be simpler.",
    "Prices went up again.",
    None,
    None,
    None,
    None,
)
_TEXTS = {
    "chat": ("Where is my order?", "Can I change my delivery address?", "Is this in stock?"),
    "ticket": (
        "Parcel arrived damaged, requesting a replacement.",
        "Charged twice for the same order.",
        "Cannot log in after the password reset.",
    ),
    "review": (
        "Great products, fast delivery.",
        "Decent quality but the sizes run small.",
        "Never again: the refund took a month.",
    ),
    "sms": ("Your order is on its way.", "Your parcel was delivered."),
}

Raw = tuple[Any, ...]


def email_of(customer: int) -> str:
    """Return the e-mail address of customer number ``customer`` (one in seven capitalised)."""
    first, last = _FIRST[customer % 10], _LAST[(customer // 10) % 10]
    address = f"{first}.{last}{customer}@{_DOMAINS[customer % 4]}"
    return address.capitalize() if customer % 7 == 0 else address


def raw_records(n: int, customers: int, seed: int = SEED) -> Iterator[Raw]:
    """Yield the plain field values of ``n`` interactions, lazily and deterministically.

    Each tuple holds ``(source, source_id, occurred_at, channel, kind, touchpoint, direction,
    text, value, currency, email, attributes, nps_score, nps_comment, updated_at)``.
    """
    rng = random.Random(seed)
    rand = rng.random
    randrange = rng.randrange
    step = _YEAR_US // max(n, 1)
    for i in range(n):
        occurred_at = _START + timedelta(microseconds=i * step + randrange(step or 1))
        email = email_of(randrange(customers))
        text = value = currency = score = comment = updated_at = None
        attributes: dict[str, Any] | None = None
        if i % 3 == 0:
            source, channel, kind, touchpoint, direction = _SURVEYS[randrange(3)]
            score = _NPS_TABLE[int(rand() * 100)]
            comment = _COMMENTS[randrange(8)]
        else:
            source, channel, kind, touchpoint, direction = _ACTIVITY_TABLE[int(rand() * 100)]
            if kind == "page_view":
                attributes = {"path": f"/products/{randrange(5_000)}"}
            elif kind == "purchase":
                value = Decimal(500 + randrange(25_000)).scaleb(-2)
                currency = "EUR"
                attributes = {"order_id": f"o-{i}", "items": 1 + randrange(5)}
            elif kind == "call":
                attributes = {"duration_s": 30 + randrange(1_800)}
            elif channel == "email":
                attributes = {"campaign": f"2025-w{occurred_at.isocalendar()[1]:02d}"}
            elif kind == "review":
                text = _TEXTS["review"][randrange(3)]
                attributes = {"stars": 1 + randrange(5)}
            elif kind == "ticket":
                text = _TEXTS["ticket"][randrange(3)]
                updated_at = occurred_at + timedelta(hours=1 + randrange(72))
            elif channel in ("chat", "sms"):
                texts = _TEXTS[channel]
                text = texts[randrange(len(texts))]
        yield (
            source,
            f"ev-{i:09d}",
            occurred_at,
            channel,
            kind,
            touchpoint,
            direction,
            text,
            value,
            currency,
            email,
            attributes,
            score,
            comment,
            updated_at,
        )


def interactions(n: int, customers: int, seed: int = SEED) -> Iterator[cxm.Interaction]:
    """Yield ``n`` validated :class:`cxm.Interaction` objects, lazily and deterministically.

    Each has exactly one e-mail identity drawn from ``customers`` customers; every third one
    carries one NPS :class:`cxm.Feedback`.
    """
    for (
        source,
        source_id,
        occurred_at,
        channel,
        kind,
        touchpoint,
        direction,
        text,
        value,
        currency,
        email,
        attributes,
        score,
        comment,
        updated_at,
    ) in raw_records(n, customers, seed):
        yield cxm.Interaction(
            source=source,
            source_id=source_id,
            occurred_at=occurred_at,
            channel=channel,
            kind=kind,
            touchpoint=touchpoint,
            direction=direction,
            text=text,
            value=value,
            currency=currency,
            identities=[cxm.Identity("email", email)],
            attributes=attributes,
            feedback=None
            if score is None
            else [cxm.Feedback(metric="nps", score=score, comment=comment)],
            updated_at=updated_at,
        )


def _identity_caches() -> list[Any]:
    """Return the ``functools`` caches of :mod:`cxm.identity` (whichever functions have one)."""
    return [f for f in vars(cxm_identity).values() if hasattr(f, "cache_info")]


def clear_identity_caches() -> None:
    """Empty cxm's normalisation caches, so every timed phase starts as a fresh process would."""
    for cached in _identity_caches():
        cached.cache_clear()


def identity_cache_entries() -> int:
    """Return how many entries cxm's normalisation caches hold."""
    return sum(cached.cache_info().currsize for cached in _identity_caches())


def _drain(items: Iterable[Any]) -> float:
    clear_identity_caches()
    gc.collect()
    started = time.perf_counter()
    for _ in items:
        pass
    return time.perf_counter() - started


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _figure(seconds: float, n: int) -> dict[str, Any]:
    return {"seconds": round(seconds, 4), "per_second": round(n / seconds) if seconds else None}


# -- the bare baseline: the same rows, plain inserts --------------------------------------------

_INTERACTION_INSERT = ("id", *INTERACTION_COLUMNS, "customer_id", "ingested_us")
_FEEDBACK_INSERT = ("interaction_id", *FEEDBACK_COLUMNS)
_CUSTOMER_INSERT = ("customer_id", "created_us", "updated_us", "traits")
_IDENTITY_INSERT = ("kind", "value", "customer_id", "source", "first_seen_us")
_TOUCHPOINT_INSERT = ("name", "channel", "stage")


@dataclass
class Resolved:
    """What a cxm ingest produced, read back: customers, identities and touchpoints."""

    identities: dict[tuple[str, str], tuple[Any, ...]]
    customers: dict[str, tuple[Any, ...]]
    touchpoints: dict[str, tuple[Any, ...]]

    @classmethod
    def read(cls, cursor: Any) -> Resolved:
        """Read them with a DBAPI cursor on the database cxm wrote."""
        cursor.execute(f"SELECT {', '.join(_IDENTITY_INSERT)} FROM identities")
        identities = {(row[0], row[1]): tuple(row) for row in cursor.fetchall()}
        cursor.execute(f"SELECT {', '.join(_CUSTOMER_INSERT)} FROM customers")
        customers = {row[0]: tuple(row) for row in cursor.fetchall()}
        cursor.execute(f"SELECT {', '.join(_TOUCHPOINT_INSERT)} FROM touchpoints")
        touchpoints = {row[0]: tuple(row) for row in cursor.fetchall()}
        return cls(identities, customers, touchpoints)


@dataclass
class BatchRows:
    """One batch's rows for each table, in the order the bare baseline inserts them."""

    customers: list[tuple[Any, ...]]
    identities: list[tuple[Any, ...]]
    touchpoints: list[tuple[Any, ...]]
    interactions: list[tuple[Any, ...]]
    feedback: list[tuple[Any, ...]]


def bare_batches(config: Config, resolved: Resolved) -> Iterator[BatchRows]:
    """Yield, batch by batch, the rows cxm wrote for the same records.

    Interaction and feedback rows come from :func:`cxm.store.codec.interaction_row` with the
    customer id cxm resolved; a customer, its identity and a touchpoint are inserted in the batch
    that first names them, as cxm does. Interactions get explicit sequential ids (what a fresh
    table's auto-increment gives them), so feedback rows can point at them without a read-back.
    """
    seen_identities: set[tuple[str, str]] = set()
    seen_customers: set[str] = set()
    seen_touchpoints: set[str] = set()
    next_id = 1
    records = interactions(config.interactions, config.customers, config.seed)
    for batch in _batches(records, config.batch_size):
        stamp = time.time_ns() // 1_000
        rows = BatchRows([], [], [], [], [])
        for interaction in batch:
            key = interaction.identities[0].key
            identity = resolved.identities[key]
            customer_id = identity[2]
            if key not in seen_identities:
                seen_identities.add(key)
                rows.identities.append(identity)
                if customer_id not in seen_customers:
                    seen_customers.add(customer_id)
                    rows.customers.append(resolved.customers[customer_id])
            touchpoint = interaction.touchpoint
            if touchpoint is not None and touchpoint not in seen_touchpoints:
                seen_touchpoints.add(touchpoint)
                rows.touchpoints.append(resolved.touchpoints[touchpoint])
            row, feedback = interaction_row(interaction)
            rows.interactions.append((next_id, *row, customer_id, stamp))
            rows.feedback.extend((next_id, *item) for item in feedback)
            next_id += 1
        yield rows


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def bare_sqlite(
    connection: sqlite3.Connection, batches: Iterable[BatchRows]
) -> tuple[float, float]:
    """Insert every batch with ``executemany``, one transaction per batch.

    Returns:
        ``(seconds inserting, seconds preparing rows)``; only the first is the baseline.
    """
    statements = (
        ("customers", _insert_sql("customers", _CUSTOMER_INSERT)),
        ("identities", _insert_sql("identities", _IDENTITY_INSERT)),
        ("touchpoints", _insert_sql("touchpoints", _TOUCHPOINT_INSERT)),
        ("interactions", _insert_sql("interactions", _INTERACTION_INSERT)),
        ("feedback", _insert_sql("feedback", _FEEDBACK_INSERT)),
    )
    cursor = connection.cursor()
    inserting = preparing = 0.0
    iterator = iter(batches)
    while True:
        started = time.perf_counter()
        rows = next(iterator, None)
        prepared = time.perf_counter()
        preparing += prepared - started
        if rows is None:
            break
        cursor.execute("BEGIN IMMEDIATE")
        for table, sql in statements:
            values = getattr(rows, table)
            if values:
                cursor.executemany(sql, values)
        cursor.execute("COMMIT")
        inserting += time.perf_counter() - prepared
    cursor.close()
    return inserting, preparing


def bare_postgres(connection: Any, batches: Iterable[BatchRows]) -> tuple[float, float]:
    """Load every batch with psycopg ``COPY``, one transaction per batch.

    Returns:
        ``(seconds loading, seconds preparing rows)``; only the first is the baseline.
    """
    tables = (
        ("customers", _CUSTOMER_INSERT),
        ("identities", _IDENTITY_INSERT),
        ("touchpoints", _TOUCHPOINT_INSERT),
        ("interactions", _INTERACTION_INSERT),
        ("feedback", _FEEDBACK_INSERT),
    )
    loading = preparing = 0.0
    iterator = iter(batches)
    while True:
        started = time.perf_counter()
        rows = next(iterator, None)
        prepared = time.perf_counter()
        preparing += prepared - started
        if rows is None:
            break
        with connection.cursor() as cursor:
            for table, columns in tables:
                values = getattr(rows, table)
                if not values:
                    continue
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
        connection.commit()
        loading += time.perf_counter() - prepared
    return loading, preparing


# -- suites -------------------------------------------------------------------------------------

_COUNTED = ("interactions", "feedback", "identities", "customers", "touchpoints")


def _counts(cursor: Any) -> dict[str, int]:
    out = {}
    for table in _COUNTED:
        cursor.execute(f"SELECT count(*) FROM {table}")
        out[table] = int(cursor.fetchone()[0])
    return out


def _timed_ingest(ws: cxm.Workspace, config: Config) -> tuple[float, cxm.IngestReport]:
    clear_identity_caches()
    gc.collect()
    records = interactions(config.interactions, config.customers, config.seed)
    started = time.perf_counter()
    report = ws.ingest(records, batch_size=config.batch_size)
    return time.perf_counter() - started, report


def _report_dict(report: cxm.IngestReport) -> dict[str, int]:
    return {
        "new": report.new,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "customers_created": report.customers_created,
        "customers_merged": report.customers_merged,
        "batches": report.batches,
    }


def construction_costs(config: Config) -> dict[str, Any]:
    """Time the generator alone: plain values, then validated cxm objects."""
    n = config.interactions
    synth = _drain(raw_records(n, config.customers, config.seed))
    construct = _drain(interactions(n, config.customers, config.seed))
    return {"synthesise": _figure(synth, n), "construct": _figure(construct, n)}


_SAME_INTERACTIONS = (
    "SELECT source, source_id, customer_id, occurred_us, channel, touchpoint, kind, direction, "
    "text, value_micros, currency, identities, attributes, updated_us, content_hash FROM {db}"
    ".interactions"
)
_SAME_FEEDBACK = (
    "SELECT i.source, i.source_id, f.ordinal, f.metric, f.score, f.scale_min, f.scale_max, "
    "f.question, f.comment FROM {db}.feedback f JOIN {db}.interactions i ON i.id = f.interaction_id"
)
_SAME_IDENTITIES = "SELECT kind, value, customer_id FROM {db}.identities"


def _differences(cursor: sqlite3.Cursor) -> int:
    """Count rows of the bare database (``main``) that the cxm one (``cxm``) lacks."""
    total = 0
    for query in (_SAME_INTERACTIONS, _SAME_FEEDBACK, _SAME_IDENTITIES):
        cursor.execute(
            f"SELECT count(*) FROM ({query.format(db='main')} EXCEPT {query.format(db='cxm')})"
        )
        total += int(cursor.fetchone()[0])
    return total


def _ingest_and_read_back(
    target: Path | str, config: Config
) -> tuple[float, cxm.IngestReport, dict[str, int], Resolved]:
    """Time ``ws.ingest`` into a fresh workspace; return the time, report, row counts and ids."""
    ws = cxm.Workspace.open(target)
    seconds, report = _timed_ingest(ws, config)
    raw = ws.store.engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        cxm_counts = _counts(cursor)
        resolved = Resolved.read(cursor)
        cursor.close()
    finally:
        raw.close()
    ws.close()
    return seconds, report, cxm_counts, resolved


def bench_sqlite(config: Config, workdir: Path, costs: dict[str, Any]) -> dict[str, Any]:
    """Ingest into a fresh SQLite file end to end, then the bare baseline into another."""
    n = config.interactions
    cxm_path = workdir / "cxm.db"
    bare_path = workdir / "bare.db"

    seconds, report, cxm_counts, resolved = _ingest_and_read_back(cxm_path, config)

    bare_ws = cxm.Workspace.open(bare_path)
    raw = bare_ws.store.engine.raw_connection()
    try:
        connection: sqlite3.Connection = raw.driver_connection
        gc.collect()
        bare, preparing = bare_sqlite(connection, bare_batches(config, resolved))
        cursor = connection.cursor()
        bare_counts = _counts(cursor)
        cursor.execute("ATTACH DATABASE ? AS cxm", (str(cxm_path),))
        differing = _differences(cursor)
        cursor.execute("DETACH DATABASE cxm")
        cursor.close()
    finally:
        raw.close()
    bare_ws.close()
    return _suite_result(
        n,
        seconds,
        report=report,
        costs=costs,
        bare=bare,
        preparing=preparing,
        cxm_counts=cxm_counts,
        bare_counts=bare_counts,
        differing=differing,
    )


def _suite_result(
    n: int,
    seconds: float,
    *,
    report: cxm.IngestReport,
    costs: dict[str, Any],
    bare: float,
    preparing: float,
    cxm_counts: dict[str, int],
    bare_counts: dict[str, int],
    differing: int | None,
) -> dict[str, Any]:
    construct = costs["construct"]["seconds"]
    synth = costs["synthesise"]["seconds"]
    return {
        "end_to_end": _figure(seconds, n),
        "ingest_of_objects": _figure(seconds - construct, n),
        "cxm_work": _figure(seconds - synth, n),
        "bare": _figure(bare, n),
        "bare_row_preparation_untimed": _figure(preparing, n),
        "ratio_end_to_end_vs_bare": round(seconds / bare, 2),
        "ratio_ingest_of_objects_vs_bare": round((seconds - construct) / bare, 2),
        "ratio_cxm_work_vs_bare": round((seconds - synth) / bare, 2),
        "report": _report_dict(report),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "rows_cxm": cxm_counts,
        "rows_bare": bare_counts,
        "rows_differing": differing,
    }


@contextmanager
def scratch_postgres(server_url: str) -> Iterator[str]:
    """Create an empty scratch database on the server ``server_url`` names; drop it after.

    The database in ``server_url`` itself is never touched, so pointing the benchmark at a
    server that holds real data is safe.
    """
    from sqlalchemy import create_engine, make_url

    url = make_url(server_url)
    name = f"cxm_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def bench_postgres(config: Config, server_url: str, costs: dict[str, Any]) -> dict[str, Any]:
    """Ingest into a scratch database, then the bare ``COPY`` baseline into another."""
    with scratch_postgres(server_url) as cxm_url, scratch_postgres(server_url) as bare_url:
        return _bench_postgres(config, cxm_url, bare_url, costs)


def _bench_postgres(
    config: Config, url: str, bare_url: str, costs: dict[str, Any]
) -> dict[str, Any]:
    n = config.interactions
    seconds, report, cxm_counts, resolved = _ingest_and_read_back(url, config)

    bare_ws = cxm.Workspace.open(bare_url)
    raw = bare_ws.store.engine.raw_connection()
    try:
        connection = raw.driver_connection
        connection.commit()
        gc.collect()
        bare, preparing = bare_postgres(connection, bare_batches(config, resolved))
        with connection.cursor() as cursor:
            bare_counts = _counts(cursor)
        connection.commit()
    finally:
        raw.close()
    bare_ws.close()
    return _suite_result(
        n,
        seconds,
        report=report,
        costs=costs,
        bare=bare,
        preparing=preparing,
        cxm_counts=cxm_counts,
        bare_counts=bare_counts,
        differing=None,
    )


# -- memory -------------------------------------------------------------------------------------


def _max_rss_bytes() -> int:
    # Linux reports kibibytes, macOS bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def memory_child(n: int, customers: int, batch_size: int, traced: bool) -> dict[str, Any]:
    """Ingest ``n`` interactions into a fresh SQLite file in this process; report its memory.

    Run in a fresh interpreter (see :func:`bench_memory`): ``ru_maxrss`` is a process's
    high-water mark, so growth is measured from just before the ingest.
    """
    with tempfile.TemporaryDirectory(prefix="cxm-bench-mem-") as workdir:
        ws = cxm.Workspace.open(Path(workdir) / "memory.db")
        gc.collect()
        before = _max_rss_bytes()
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        report = ws.ingest(interactions(n, customers), batch_size=batch_size)
        seconds = time.perf_counter() - started
        retained, peak = tracemalloc.get_traced_memory() if traced else (None, None)
        if traced:
            tracemalloc.stop()
        after = _max_rss_bytes()
        cache_entries = identity_cache_entries()
        ws.close()
    return {
        "interactions": n,
        "new": report.new,
        "seconds": round(seconds, 3),
        "rss_before": before,
        "rss_growth": after - before,
        "tracemalloc_peak": peak,
        "tracemalloc_retained": retained,
        "identity_cache_entries": cache_entries,
    }


# Run the child through a small intermediate interpreter: on Linux a process inherits, as its
# ``ru_maxrss``, the resident size of the process it was forked from (recorded at exec), so a
# child forked straight from this large process would start with this process's size as its peak.
_TRAMPOLINE = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"


def _run_child(n: int, customers: int, batch_size: int, traced: bool) -> dict[str, Any]:
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(BENCH_DIR)!r})\n"
        "import ingest\n"
        f"result = ingest.memory_child({n}, {customers}, {batch_size}, {traced})\n"
        "print('RESULT ' + json.dumps(result))\n"
    )
    command = [sys.executable, "-c", _TRAMPOLINE, sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed ({done.returncode}):\n{done.stderr}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line.removeprefix("RESULT ")))


def bench_memory(config: Config) -> dict[str, Any]:
    """Measure peak memory of ``ws.ingest`` at N/4 and N, each in a fresh subprocess.

    RSS comes from runs without ``tracemalloc`` (which costs memory and time of its own); the
    Python-heap peak from separate traced runs.
    """
    small = max(config.interactions // 4, 1)
    sizes = (small, config.interactions)
    plain = [_run_child(n, config.customers, config.batch_size, False) for n in sizes]
    traced = [_run_child(n, config.customers, config.batch_size, True) for n in sizes]
    rss_ratio = plain[1]["rss_growth"] / plain[0]["rss_growth"] if plain[0]["rss_growth"] else None
    peak_ratio = traced[1]["tracemalloc_peak"] / traced[0]["tracemalloc_peak"]
    transient = [t["tracemalloc_peak"] - t["tracemalloc_retained"] for t in traced]
    return {
        "sizes": list(sizes),
        "runs": [
            {
                "interactions": p["interactions"],
                "seconds": p["seconds"],
                "rss_before": p["rss_before"],
                "rss_growth": p["rss_growth"],
                "tracemalloc_peak": t["tracemalloc_peak"],
                "tracemalloc_retained": t["tracemalloc_retained"],
                "identity_cache_entries": p["identity_cache_entries"],
                "traced_seconds": t["seconds"],
            }
            for p, t in zip(plain, traced, strict=True)
        ],
        "ratio_rss_growth": None if rss_ratio is None else round(rss_ratio, 2),
        "ratio_tracemalloc_peak": round(peak_ratio, 2),
        "ratio_tracemalloc_transient": round(transient[1] / transient[0], 2),
    }


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603
            ["git", "-C", str(BENCH_DIR), *args],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def source_state() -> str:
    """Return the git commit of the checkout, ``+modified`` when ``src/`` has local changes."""
    commit = _git("rev-parse", "--short", "HEAD")
    if commit is None:
        return "unknown"
    dirty = _git("status", "--porcelain", "--", str(BENCH_DIR.parent / "src"))
    return f"{commit}+modified" if dirty else commit


def environment() -> dict[str, Any]:
    """Describe where the figures were measured."""
    return {
        "cxm": cxm.__version__,
        "source": source_state(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "platform": sys.platform,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
