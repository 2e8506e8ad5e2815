"""Run the cxm benchmarks: ``nox -s bench -- [options]`` or ``python bench/run.py [options]``.

Suites: ``sqlite``, ``postgres`` and ``memory`` (``ws.ingest``), ``csv`` (the csv connector
end to end, with memory at two file sizes), ``http`` (the HTTP toolkit's pagination) and
``vendor`` (each vendor API connector against a replayed fake of its API) and ``metrics``
(NPS over ten million answers against hand-written pandas), ``clv`` (BG/NBD fits on CDNOW
and on a million synthetic customers), ``journey`` (transitions and variants against pm4py,
memory at ten million events), ``funnel`` (a 4-step funnel on ten million events) and
``attribution`` (path building and attribution models on two million interactions). Prints
plain-text tables of figures, each with its ratio against a baseline measured in the same
process, and writes the same figures to ``bench/results/ingest.json``. Targets are shown
as met or missed; nothing fails because something is slow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import _table
import clv_fit
import csv_sync
import http_pagination
import ingest
import journey_attribution
import journey_funnel
import journey_transitions
import metrics_nps
import vendor_sync

SUITES = (
    "sqlite",
    "postgres",
    "memory",
    "csv",
    "http",
    "vendor",
    "metrics",
    "clv",
    "journey",
    "funnel",
    "attribution",
)
RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"
SQLITE_TARGET = 100_000
POSTGRES_TARGET = 50_000
RATIO_TARGET = 3.0
FLAT_RATIO = 1.25
MIB = 1 << 20


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--customers", type=int, default=200_000, metavar="N")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        metavar="N",
        help=f"records per transaction (default: the library's, {ingest.default_batch_size()})",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SUITES,
        help="run only this suite (repeatable; default: every available one)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("CXM_TEST_POSTGRES_URL"),
        help="SQLAlchemy URL of a PostgreSQL server where the user may create databases; the "
        "benchmark works in scratch databases it drops afterwards (default: "
        "$CXM_TEST_POSTGRES_URL)",
    )
    args = parser.parse_args(argv)
    for name in ("interactions", "customers", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def _postgres_unavailable(url: str | None) -> str | None:
    """Return why the PostgreSQL suite cannot run, or ``None`` when it can."""
    if not url:
        return "no --postgres-url given and CXM_TEST_POSTGRES_URL is unset"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'cxm[postgres]')"
    from sqlalchemy import text

    from cxm.store.engine import create_store_engine

    try:
        engine = create_store_engine(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means "skip, and say why"
        return f"cannot connect: {type(exc).__name__}: {exc}"
    return None


# -- the table ----------------------------------------------------------------------------------


def _n(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _db_rows(suite: str, result: dict[str, Any], target: int) -> list[list[str]]:
    e2e = result["end_to_end"]
    ratio = result["ratio_end_to_end_vs_bare"]
    bare_name = "bare executemany, same rows" if suite == "sqlite" else "bare COPY, same rows"
    rows = [
        [
            suite,
            "cxm end to end: construct + ingest",
            f"{e2e['seconds']:.2f}",
            _n(e2e["per_second"]),
            f"{ratio:.2f}x",
            f">= {target:,}/s {_verdict(e2e['per_second'] >= target)}"
            + (
                f"; <= {RATIO_TARGET:g}x {_verdict(ratio <= RATIO_TARGET)}"
                if suite == "sqlite"
                else ""
            ),
        ],
        [
            suite,
            "cxm ingest of objects (e2e - construct)",
            f"{result['ingest_of_objects']['seconds']:.2f}",
            _n(result["ingest_of_objects"]["per_second"]),
            f"{result['ratio_ingest_of_objects_vs_bare']:.2f}x",
            "",
        ],
        [
            suite,
            "cxm work (e2e - synthesise)",
            f"{result['cxm_work']['seconds']:.2f}",
            _n(result["cxm_work"]["per_second"]),
            f"{result['ratio_cxm_work_vs_bare']:.2f}x",
            "",
        ],
        [
            suite,
            bare_name,
            f"{result['bare']['seconds']:.2f}",
            _n(result["bare"]["per_second"]),
            "1.00x",
            "baseline",
        ],
    ]
    same = result["rows_cxm"] == result["rows_bare"]
    check = "row counts equal" if same else f"ROW COUNTS DIFFER {result['rows_bare']}"
    if result["rows_differing"] is not None:
        check += f", {result['rows_differing']} rows differ in content"
    rows.append([suite, f"check: {check}", "", "", "", ""])
    return rows


def _memory_rows(memory: dict[str, Any]) -> list[list[str]]:
    rows = []
    for run in memory["runs"]:
        retained = run["tracemalloc_retained"]
        rows.append(
            [
                "memory",
                f"ingest {run['interactions']:,}: RSS growth {run['rss_growth'] / MIB:.1f} MiB, "
                f"tracemalloc peak {run['tracemalloc_peak'] / MIB:.1f} MiB "
                f"(held after: {retained / MIB:.1f} MiB, "
                f"{run['identity_cache_entries']:,} identity-cache entries)",
                f"{run['seconds']:.2f}",
                _n(run["interactions"] / run["seconds"]),
                "",
                "",
            ]
        )
    small, large = memory["sizes"]
    ratios = (memory["ratio_rss_growth"], memory["ratio_tracemalloc_peak"])
    flat = all(r is not None and r <= FLAT_RATIO for r in ratios)
    rows.append(
        [
            "memory",
            f"ratio {large:,} / {small:,}: RSS growth {ratios[0]}, tracemalloc peak {ratios[1]}, "
            f"peak - held {memory['ratio_tracemalloc_transient']}",
            "",
            "",
            "",
            f"flat (<= {FLAT_RATIO:g}) {_verdict(flat)}",
        ]
    )
    return rows


def table(results: dict[str, Any]) -> str:
    """Render the figures as a plain-text table."""
    config = results["config"]
    env = results["environment"]
    head = [
        f"cxm ingestion benchmark: {config['interactions']:,} interactions, "
        f"{config['customers']:,} customers, batch size {config['batch_size']:,}",
        f"cxm {env['cxm']} (git {env['source']}), "
        f"Python {env['python']}, SQLite {env['sqlite']}, "
        f"{env['cpus']} CPUs, load average at start {env['load_average']}, {env['when']}",
        "",
    ]
    rows: list[list[str]] = [
        ["suite", "measurement", "seconds", "interactions/s", "vs bare", "target"]
    ]
    costs = results.get("construction")
    if costs:
        for key, label in (
            ("synthesise", "synthesise plain values (no cxm)"),
            ("construct", "construct cxm objects (validation)"),
        ):
            rows.append(
                [
                    "records",
                    label,
                    f"{costs[key]['seconds']:.2f}",
                    _n(costs[key]["per_second"]),
                    "",
                    "",
                ]
            )
    for suite, target in (("sqlite", SQLITE_TARGET), ("postgres", POSTGRES_TARGET)):
        result = results.get(suite)
        if result is None:
            continue
        if "skipped" in result:
            rows.append([suite, f"skipped: {result['skipped']}", "", "", "", ""])
            continue
        rows.extend(_db_rows(suite, result, target))
    memory = results.get("memory")
    if memory:
        rows.extend(_memory_rows(memory))
    return "\n".join([*head, _table.render(rows[0], rows[1:])])


def _connector_suites(
    wanted: list[str], config: ingest.Config, results: dict[str, Any], sources: dict[str, str]
) -> None:
    if "csv" in wanted:
        print("csv: csv connector into SQLite, against ws.ingest of the same records ...")
        sources["csv"] = ingest.source_state()
        results["csv"] = csv_sync.run(config.interactions, config.customers)
    if "http" in wanted:
        print("http: paginate 10,000 pages against a bare httpx loop ...", flush=True)
        sources["http"] = ingest.source_state()
        results["http"] = http_pagination.bench_pagination()
    if "vendor" in wanted:
        print("vendor: each API connector, 20,000 records, against ws.ingest ...", flush=True)
        sources["vendor"] = ingest.source_state()
        results["vendor"] = vendor_sync.run()
    if "metrics" in wanted:
        print("metrics: nps over 10,000,000 answers against hand-written pandas ...", flush=True)
        sources["metrics"] = ingest.source_state()
        results["metrics"] = metrics_nps.run()
    if "clv" in wanted:
        print("clv: BG/NBD on CDNOW and on 1,000,000 synthetic customers ...", flush=True)
        sources["clv"] = ingest.source_state()
        results["clv"] = clv_fit.run()
    if "journey" in wanted:
        print(
            "journey: transitions and variants on 1,000,000 events against pm4py, then "
            "10,000,000 events for memory ...",
            flush=True,
        )
        sources["journey"] = ingest.source_state()
        results["journey"] = journey_transitions.run()
    if "funnel" in wanted:
        print("funnel: 4 steps on 10,000,000 events against pandas merge_asof ...", flush=True)
        sources["funnel"] = ingest.source_state()
        results["funnel"] = journey_funnel.run()
    if "attribution" in wanted:
        print("attribution: paths and models on 2,000,000 interactions ...", flush=True)
        sources["attribution"] = ingest.source_state()
        results["attribution"] = journey_attribution.run()


def _print_suite_tables(results: dict[str, Any]) -> None:
    for suite, module in (
        ("csv", csv_sync),
        ("http", http_pagination),
        ("vendor", vendor_sync),
        ("metrics", metrics_nps),
        ("clv", clv_fit),
        ("journey", journey_transitions),
        ("funnel", journey_funnel),
        ("attribution", journey_attribution),
    ):
        if suite in results:
            print()
            print(module.table(results[suite]))


# -- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = ingest.Config(
        interactions=args.interactions,
        customers=args.customers,
        batch_size=args.batch_size or ingest.default_batch_size(),
    )
    wanted = list(dict.fromkeys(args.only or SUITES))
    results: dict[str, Any] = {
        "config": {
            "interactions": config.interactions,
            "customers": config.customers,
            "batch_size": config.batch_size,
            "seed": config.seed,
        },
        "environment": ingest.environment(),
    }
    if "postgres" in wanted:
        reason = _postgres_unavailable(args.postgres_url)
        if reason is not None:
            print(f"postgres: skipped, {reason}", flush=True)
            results["postgres"] = {"skipped": reason}
            wanted.remove("postgres")
    sources: dict[str, str] = {}
    if "sqlite" in wanted or "postgres" in wanted:
        print("records: timing the generator alone ...", flush=True)
        sources["construction"] = ingest.source_state()
        results["construction"] = ingest.construction_costs(config)
    if "sqlite" in wanted:
        print("sqlite: ingest, then bare executemany ...", flush=True)
        sources["sqlite"] = ingest.source_state()
        with tempfile.TemporaryDirectory(prefix="cxm-bench-") as workdir:
            results["sqlite"] = ingest.bench_sqlite(config, Path(workdir), results["construction"])
    if "postgres" in wanted:
        print("postgres: ingest, then bare COPY ...", flush=True)
        sources["postgres"] = ingest.source_state()
        results["postgres"] = ingest.bench_postgres(
            config, args.postgres_url, results["construction"]
        )
    if "memory" in wanted:
        print("memory: ingest at two sizes, each in a fresh subprocess ...", flush=True)
        sources["memory"] = ingest.source_state()
        results["memory"] = ingest.bench_memory(config)
    _connector_suites(wanted, config, results, sources)
    sources["end"] = ingest.source_state()
    results["source_per_suite"] = sources

    print()
    if {"sqlite", "postgres", "memory"} & set(wanted):
        print(table(results))
    _print_suite_tables(results)
    if len(set(sources.values())) > 1:
        listed = ", ".join(f"{suite} {state}" for suite, state in sources.items())
        print(f"WARNING: the cxm source changed during the run: {listed}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
