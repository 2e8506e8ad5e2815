"""CSV connector benchmark: ``ws.sync("csv", ...)`` end to end, and where its time goes.

Writes a deterministic CSV export (the same interactions as ``bench/ingest.py``: one e-mail
identity each, one in three carrying an NPS answer, local Berlin times in a ``strptime``
format, attributes in columns) and measures, each against the others in the same process:

- ``csv_reader``: the ``csv`` module alone reading the file (the floor of any CSV reading);
- ``parse_and_map``: the connector's stream alone (reading, mapping, building validated
  records), no database;
- ``ingest_in_memory``: ``ws.ingest`` of the very records the stream built, already in a list,
  into a fresh SQLite file;
- ``sync``: ``ws.sync`` of the file into another fresh SQLite file, end to end;
- ``memory``: the peak RSS of that sync at two sizes (N and 4N rows), each in a fresh
  subprocess, to show that it does not grow with the file.

Run ``python bench/csv_sync.py --rows 1000000``; :func:`run` returns the figures as a dict for
``bench/run.py``. Figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import io
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import _table
import ingest

import cxm
from cxm.connectors.files import CsvConnector

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "csv_sync.json"
TARGET = 50_000
MEMORY_LIMIT = 300 * (1 << 20)
FLAT_RATIO = 1.25
MIB = 1 << 20
BERLIN = ZoneInfo("Europe/Berlin")
ATTRIBUTES = ("path", "order_ref", "items", "duration_s", "campaign", "stars")
COLUMNS = (
    "event_id",
    "created",
    "channel",
    "kind",
    "touchpoint",
    "direction",
    "text",
    "amount",
    "currency",
    "email",
    "nps",
    "nps_comment",
    "modified",
    *ATTRIBUTES,
)
MAPPING: dict[str, Any] = {
    "source_id": "event_id",
    "occurred_at": {
        "column": "created",
        "format": "%Y-%m-%d %H:%M:%S",
        "timezone": "Europe/Berlin",
    },
    "updated_at": "modified",
    "channel": "channel",
    "kind": "kind",
    "touchpoint": "touchpoint",
    "direction": "direction",
    "text": "text",
    "value": "amount",
    "currency": "currency",
    "identities": {"email": "email"},
    "attributes": {
        "path": "path",
        "order_id": "order_ref",
        "items": {"column": "items", "type": "int"},
        "duration_s": {"column": "duration_s", "type": "int"},
        "campaign": "campaign",
        "stars": {"column": "stars", "type": "int"},
    },
    "feedback": [{"metric": "nps", "score": "nps", "comment": "nps_comment"}],
}


def write_export(path: Path, rows: int, customers: int) -> int:
    """Write ``rows`` interactions as a CSV export to ``path``; return its size in bytes."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for (
            _source,
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
        ) in ingest.raw_records(rows, customers):
            local = occurred_at.astimezone(BERLIN)
            if local.fold:  # the second of two identical wall times cannot be written naively
                local = local.replace(fold=0)
            extra = attributes or {}
            writer.writerow(
                (
                    source_id,
                    local.strftime("%Y-%m-%d %H:%M:%S"),
                    channel,
                    kind,
                    touchpoint,
                    direction,
                    text or "",
                    "" if value is None else str(value),
                    currency or "",
                    email,
                    "" if score is None else score,
                    comment or "",
                    "" if updated_at is None else updated_at.astimezone(UTC).isoformat(),
                    extra.get("path", ""),
                    extra.get("order_id", ""),
                    extra.get("items", ""),
                    extra.get("duration_s", ""),
                    extra.get("campaign", ""),
                    extra.get("stars", ""),
                )
            )
    return path.stat().st_size


def connector(path: Path) -> CsvConnector:
    """The connector the benchmark syncs with."""
    return CsvConnector(path=str(path), mapping=MAPPING, source="bench-export")


def _figure(seconds: float, n: int) -> dict[str, Any]:
    return {"seconds": round(seconds, 3), "per_second": round(n / seconds) if seconds else None}


def time_csv_reader(path: Path) -> tuple[float, int]:
    """Read the file with the ``csv`` module alone; return ``(seconds, rows)``."""
    gc.collect()
    started = time.perf_counter()
    rows = -1
    with path.open(newline="", encoding="utf-8") as handle:
        for _ in csv.reader(handle):
            rows += 1
    return time.perf_counter() - started, rows


def time_parse_and_map(path: Path, keep: bool) -> tuple[float, int, int, list[Any]]:
    """Drain the connector's stream; return ``(seconds, records, rejected, records kept)``.

    Identity caches are cleared first, so every e-mail address is validated once, as in a sync.
    """
    ingest.clear_identity_caches()
    gc.collect()
    kept: list[Any] = []
    records = rejected = 0
    started = time.perf_counter()
    for item in connector(path).streams()[0].read(None):
        if isinstance(item, cxm.Interaction):
            records += 1
            if keep:
                kept.append(item)
        elif isinstance(item, cxm.connectors.Rejected):
            rejected += 1
    return time.perf_counter() - started, records, rejected, kept


def time_ingest(records: list[Any], database: Path) -> tuple[float, cxm.IngestReport]:
    """``ws.ingest`` the records (already built, in memory) into a fresh SQLite file."""
    ingest.clear_identity_caches()
    gc.collect()
    with cxm.Workspace.open(database) as ws:
        started = time.perf_counter()
        report = ws.ingest(records)
        return time.perf_counter() - started, report


def time_sync(path: Path, database: Path, profile: Path | None = None) -> tuple[float, Any]:
    """``ws.sync`` the file into a fresh SQLite file; optionally under cProfile."""
    ingest.clear_identity_caches()
    gc.collect()
    with cxm.Workspace.open(database) as ws:
        profiler = cProfile.Profile() if profile is not None else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        report = ws.sync(connector(path), progress=False)
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - started
    if profiler is not None and profile is not None:
        profiler.dump_stats(profile)
    return seconds, report


def profile_summary(profile: Path, limit: int = 25) -> str:
    """The top functions of a cProfile dump by own time, as text."""
    out = io.StringIO()
    stats = pstats.Stats(str(profile), stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    return out.getvalue()


# -- memory ------------------------------------------------------------------------------------


def _max_rss_bytes() -> int:
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def memory_child(path: str, rows: int) -> dict[str, Any]:
    """Sync the file at ``path`` into a fresh SQLite file in this process; report the peak RSS.

    Run in a fresh interpreter (see :func:`bench_memory`): ``ru_maxrss`` is the process's
    high-water mark, so the peak of the sync is the process's.
    """
    with tempfile.TemporaryDirectory(prefix="cxm-bench-csv-mem-") as workdir:
        ws = cxm.Workspace.open(Path(workdir) / "memory.db")
        gc.collect()
        before = _max_rss_bytes()
        started = time.perf_counter()
        report = ws.sync(connector(Path(path)), progress=False)
        seconds = time.perf_counter() - started
        peak = _max_rss_bytes()
        entries = ingest.identity_cache_entries()
        ws.close()
    return {
        "rows": rows,
        "new": report.new,
        "seconds": round(seconds, 2),
        "rss_before": before,
        "rss_peak": peak,
        "rss_growth": peak - before,
        "identity_cache_entries": entries,
    }


def _run_child(path: Path, rows: int) -> dict[str, Any]:
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(BENCH_DIR)!r})\n"
        "import csv_sync\n"
        f"result = csv_sync.memory_child({str(path)!r}, {rows})\n"
        "print('RESULT ' + json.dumps(result))\n"
    )
    # Through a small intermediate interpreter: a child forked straight from this (large)
    # process would inherit its resident size as its ru_maxrss (see bench/ingest.py).
    command = [sys.executable, "-c", ingest._TRAMPOLINE, sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed ({done.returncode}):\n{done.stderr}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line.removeprefix("RESULT ")))


def bench_memory(rows: int, customers: int, workdir: Path) -> dict[str, Any]:
    """Peak RSS of the sync of ``rows`` and ``4 * rows`` rows, each in a fresh subprocess."""
    runs = []
    for n in (rows, 4 * rows):
        path = workdir / f"memory-{n}.csv"
        size = write_export(path, n, customers)
        run = _run_child(path, n)
        run["file_bytes"] = size
        runs.append(run)
        path.unlink()
    small, large = runs
    return {
        "runs": runs,
        "ratio_rss_peak": round(large["rss_peak"] / small["rss_peak"], 2),
        "ratio_rss_growth": round(large["rss_growth"] / small["rss_growth"], 2)
        if small["rss_growth"]
        else None,
    }


# -- the suite ---------------------------------------------------------------------------------


def run(
    rows: int = 1_000_000,
    customers: int = 200_000,
    *,
    memory: bool = True,
    profile: bool = False,
) -> dict[str, Any]:
    """Run the benchmark; return its figures.

    Args:
        rows: Rows in the export.
        customers: Distinct customers (e-mail addresses) the rows are spread over.
        memory: Also measure the peak RSS at ``rows`` and ``4 * rows`` in subprocesses.
        profile: Also profile the sync with cProfile and keep the top functions.

    Returns:
        ``{"config", "environment", "file_bytes", "csv_reader", "parse_and_map",
        "ingest_in_memory", "sync", "ratios", "report", ["profile"], ["memory"]}``; each
        timing is ``{"seconds", "per_second"}``.
    """
    results: dict[str, Any] = {
        "config": {"rows": rows, "customers": customers, "seed": ingest.SEED},
        "environment": ingest.environment(),
    }
    with tempfile.TemporaryDirectory(prefix="cxm-bench-csv-") as scratch:
        workdir = Path(scratch)
        export = workdir / "export.csv"
        print(f"writing {rows:,} rows ...", flush=True)
        results["file_bytes"] = write_export(export, rows, customers)

        print("csv module alone ...", flush=True)
        seconds, read_rows = time_csv_reader(export)
        results["csv_reader"] = _figure(seconds, read_rows)

        print("connector stream alone (parse + map) ...", flush=True)
        seconds, records, rejected, _ = time_parse_and_map(export, keep=False)
        results["parse_and_map"] = {**_figure(seconds, rows), "records": records}
        results["rejected"] = rejected
        # The baseline's records, built again and kept (untimed: holding a million objects
        # makes the cyclic collector slower, which is the baseline's cost, not parsing's).
        _, _, _, kept = time_parse_and_map(export, keep=True)

        print("ws.ingest of the same records, in memory ...", flush=True)
        seconds, ingest_report = time_ingest(kept, workdir / "ingest.db")
        results["ingest_in_memory"] = _figure(seconds, len(kept))
        results["ingest_report"] = {"new": ingest_report.new, "rejected": ingest_report.rejected}
        del kept
        gc.collect()

        print("ws.sync end to end ...", flush=True)
        dump = workdir / "sync.prof" if profile else None
        seconds, report = time_sync(export, workdir / "sync.db", dump)
        results["sync"] = _figure(seconds, rows)
        rows_report = report.stream("rows")
        results["report"] = {
            "new": rows_report.new,
            "updated": rows_report.updated,
            "unchanged": rows_report.unchanged,
            "quarantined": rows_report.quarantined,
            "error": rows_report.error,
        }
        if dump is not None:
            results["profile"] = profile_summary(dump)

        parse = results["parse_and_map"]["seconds"]
        ingest_seconds = results["ingest_in_memory"]["seconds"]
        sync = results["sync"]["seconds"]
        results["ratios"] = {
            "sync_vs_ingest_in_memory": round(sync / ingest_seconds, 2),
            "parse_and_map_share_of_sync": round(parse / sync, 2),
            "parse_and_map_vs_csv_reader": round(parse / results["csv_reader"]["seconds"], 2),
            "sync_minus_parse_minus_ingest_seconds": round(sync - parse - ingest_seconds, 2),
        }
        if memory:
            print(f"memory: sync of {rows:,} and {4 * rows:,} rows in subprocesses ...", flush=True)
            results["memory"] = bench_memory(rows, customers, workdir)
    return results


def _n(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def table(results: dict[str, Any]) -> str:
    """Render the figures as a plain-text table."""
    config, env = results["config"], results["environment"]
    rows_n = config["rows"]
    head = [
        f"cxm csv connector benchmark: {rows_n:,} rows ({results['file_bytes'] / MIB:,.0f} MiB), "
        f"{config['customers']:,} customers, into SQLite",
        f"cxm {env['cxm']} (git {env['source']}), Python {env['python']}, "
        f"SQLite {env['sqlite']}, {env['cpus']} CPUs, load {env['load_average']}, {env['when']}",
        "",
    ]
    base = results["ingest_in_memory"]["seconds"]
    lines = [["measurement", "seconds", "rows/s", "vs ingest", "target"]]
    for key, label in (
        ("csv_reader", "csv module alone (floor)"),
        ("parse_and_map", "connector stream alone: read + map + build records"),
        ("ingest_in_memory", "ws.ingest of the same records in memory (baseline)"),
        ("sync", "ws.sync end to end"),
    ):
        figure = results[key]
        target = ""
        if key == "sync":
            met = (figure["per_second"] or 0) >= TARGET
            target = f">= {TARGET:,}/s {'met' if met else 'MISSED'}"
        lines.append(
            [
                label,
                f"{figure['seconds']:.2f}",
                _n(figure["per_second"]),
                f"{figure['seconds'] / base:.2f}x",
                target,
            ]
        )
    ratios = results["ratios"]
    lines.append(
        [
            "sync - parse - ingest (the engine's own cost): "
            f"{ratios['sync_minus_parse_minus_ingest_seconds']}s; "
            f"parse+map is {ratios['parse_and_map_share_of_sync']:.0%} of the sync",
            "",
            "",
            "",
            "",
        ]
    )
    report = results["report"]
    lines.append(
        [
            f"check: sync new {report['new']:,}, quarantined {report['quarantined']}, "
            f"error {report['error']}; ingest new {results['ingest_report']['new']:,}",
            "",
            "",
            "",
            "",
        ]
    )
    memory = results.get("memory")
    if memory:
        for run_ in memory["runs"]:
            ok = run_["rss_peak"] <= MEMORY_LIMIT
            lines.append(
                [
                    f"memory: sync {run_['rows']:,} rows ({run_['file_bytes'] / MIB:,.0f} MiB): "
                    f"peak RSS {run_['rss_peak'] / MIB:.0f} MiB "
                    f"(+{run_['rss_growth'] / MIB:.0f} during the sync)",
                    f"{run_['seconds']:.2f}",
                    _n(run_["rows"] / run_["seconds"]),
                    "",
                    f"<= 300 MiB {'met' if ok else 'MISSED'}",
                ]
            )
        flat = memory["ratio_rss_peak"] <= FLAT_RATIO
        lines.append(
            [
                f"memory: ratio 4x rows: peak RSS {memory['ratio_rss_peak']}, "
                f"growth {memory['ratio_rss_growth']}",
                "",
                "",
                "",
                f"flat (<= {FLAT_RATIO:g}) {'met' if flat else 'MISSED'}",
            ]
        )
    return "\n".join([*head, _table.render(lines[0], lines[1:], right={1, 2, 3})])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--customers", type=int, default=200_000, metavar="N")
    parser.add_argument("--no-memory", action="store_true", help="skip the subprocess runs")
    parser.add_argument("--profile", action="store_true", help="cProfile the sync")
    parser.add_argument(
        "--json", type=Path, default=RESULTS, metavar="FILE", help=f"default: {RESULTS}"
    )
    args = parser.parse_args(argv)
    if args.rows < 1 or args.customers < 1:
        parser.error("--rows and --customers must be at least 1")
    results = run(args.rows, args.customers, memory=not args.no_memory, profile=args.profile)
    print()
    print(table(results))
    if "profile" in results:
        print("\nwhere the sync's time goes (cProfile, by own time):\n")
        print(results["profile"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
