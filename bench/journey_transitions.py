"""Journey transitions benchmark: ``cxm.journey`` process discovery against pm4py and numpy.

A synthetic log of ``--customers`` customers with ``--events`` events each (8 touchpoints,
times over a year to the microsecond, rows shuffled) in the canonical frame of
``ws.interactions()``: ``customer_id`` and ``touchpoint`` categorical, ``occurred_at``
datetime64[us, UTC]. Measured, each the fastest of ``--repeats`` runs in alternating order:

- ``cxm``: ``process_summary(frame)``: the sort (``event_log``), the directly-follows counts with
  distinct cases and duration median / mean / p90 per transition, start and end activities,
  and the variants with their median case duration; each step is also timed on its own;
- ``pm4py`` (when installed; AGPL, a dev-only comparison, never a dependency of cxm):
  ``format_dataframe`` + ``discover_dfg`` + ``get_variants`` on the same frame, which computes
  less (no durations, no distinct cases);
- ``numpy``: one ``np.argsort`` of the event times, the least any order-based method must do:
  a yardstick for the machine's speed at the moment, since the machine is shared.

The targets: cxm under 1 s on 1,000,000 events and at least 5x faster than pm4py. Then, in a
fresh subprocess, ``process_summary`` on ``--memory-customers`` x ``--events`` events (10,000,000
by default) with the peak resident memory (``ru_maxrss``) before and after; the target is 4 GB.
Figures are reported, never asserted.

Run ``python bench/journey_transitions.py [--customers N] [--events N] [--repeats N]
[--memory-customers N] [--no-pm4py]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _table
import numpy as np
import pandas as pd

from cxm.journey._events import event_log
from cxm.journey.transitions import (
    end_activities,
    process_summary,
    start_activities,
    transitions,
    variants,
)

RESULTS = Path(__file__).resolve().parent / "results" / "journey_transitions.json"
TARGET_SECONDS = 1.0
TARGET_RATIO = 5.0
TARGET_MEMORY_BYTES = 4 * 1024**3
TOUCHPOINTS = 8


def journeys(customers: int, events: int, seed: int = 1) -> pd.DataFrame:
    """``customers`` x ``events`` events in the canonical frame, rows shuffled."""
    rng = np.random.default_rng(seed)
    n = customers * events
    start = pd.Timestamp("2025-01-01", tz="UTC").value // 1000
    customer = np.repeat(np.arange(customers, dtype=np.int32), events)
    shuffle = rng.permutation(n)
    return pd.DataFrame(
        {
            "customer_id": pd.Categorical.from_codes(
                customer[shuffle], [f"c{i:08d}" for i in range(customers)]
            ),
            "touchpoint": pd.Categorical.from_codes(
                rng.integers(0, TOUCHPOINTS, n).astype(np.int8),
                [f"touchpoint {i}" for i in range(TOUCHPOINTS)],
            ),
            "occurred_at": pd.to_datetime(
                start + rng.integers(0, 365 * 86_400_000_000, n), unit="us", utc=True
            ),
        }
    )


def _timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def run_cxm_steps(frame: pd.DataFrame) -> dict[str, float]:
    """Each step on its own, from one log, then the whole ``process_summary`` from the frame."""
    seconds: dict[str, float] = {}
    seconds["event_log"], log = _timed(lambda: event_log(frame))
    seconds["transitions"], _ = _timed(lambda: transitions(log))
    seconds["start_end"], _ = _timed(lambda: (start_activities(log), end_activities(log)))
    seconds["variants"], _ = _timed(lambda: variants(log))
    seconds["total"], _ = _timed(lambda: process_summary(frame))
    return seconds


def run_numpy(frame: pd.DataFrame) -> float:
    ticks = frame["occurred_at"].array.asi8  # type: ignore[attr-defined]
    seconds, _ = _timed(lambda: np.argsort(ticks))
    return seconds


def _import_pm4py() -> Any:
    quiet = io.StringIO()
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(quiet),
        contextlib.redirect_stderr(quiet),
    ):
        warnings.simplefilter("ignore")
        try:
            import pm4py
        except ImportError:
            return None
    return pm4py


def run_pm4py(pm4py: Any, frame: pd.DataFrame) -> tuple[dict[str, float], Any, Any]:
    seconds: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds["format_dataframe"], formatted = _timed(
            lambda: pm4py.format_dataframe(
                frame,
                case_id="customer_id",
                activity_key="touchpoint",
                timestamp_key="occurred_at",
            )
        )
        seconds["discover_dfg"], dfg = _timed(lambda: pm4py.discover_dfg(formatted))
        seconds["get_variants"], found = _timed(lambda: pm4py.get_variants(formatted))
    seconds["total"] = sum(seconds.values())
    return seconds, dfg, found


def _memory_child(customers: int, events: int) -> dict[str, Any]:
    frame = journeys(customers, events, seed=2)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    seconds, summary = _timed(lambda: process_summary(frame))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "events": customers * events,
        "seconds": seconds,
        "peak_rss_before": before,
        "peak_rss": after,
        "transitions": len(summary.transitions),
        "variants": len(summary.variants),
    }


def run_memory(customers: int, events: int) -> dict[str, Any]:
    """``process_summary`` on a big log in a fresh interpreter; its peak memory."""
    completed = subprocess.run(  # noqa: S603 (this interpreter, this file)
        [sys.executable, __file__, "--child-memory", str(customers), "--events", str(events)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def run(
    customers: int = 100_000,
    events: int = 10,
    repeats: int = 3,
    memory_customers: int = 1_000_000,
    with_pm4py: bool = True,
) -> dict[str, Any]:
    """Time cxm, pm4py and the numpy yardstick on the same frame; then the memory run.

    Returns:
        ``config``; ``cxm`` (fastest seconds per step and ``total``); ``numpy`` (seconds);
        ``pm4py`` (fastest seconds per call and ``total``, or ``None`` when not installed);
        ``ratio_pm4py`` (pm4py total / cxm total), ``ratio_numpy`` (cxm total / numpy);
        ``checks`` (cxm's edge counts, start/end counts and variant count equal pm4py's);
        ``memory`` (the subprocess's figures, or ``None`` with ``memory_customers=0``);
        targets and whether each was met.
    """
    frame = journeys(customers, events)
    pm4py = _import_pm4py() if with_pm4py else None
    ways: dict[str, Callable[[], Any]] = {
        "cxm": lambda: run_cxm_steps(frame),
        "numpy": lambda: run_numpy(frame),
    }
    if pm4py is not None:
        ways["pm4py"] = lambda: run_pm4py(pm4py, frame)
    best_cxm: dict[str, float] = {}
    best_pm4py: dict[str, float] = {}
    best_numpy = float("inf")
    pm4py_output: Any = None
    for repeat in range(repeats):
        order = list(ways) if repeat % 2 == 0 else list(reversed(ways))
        for name in order:
            outcome = ways[name]()
            if name == "cxm":
                for step, value in outcome.items():
                    best_cxm[step] = min(best_cxm.get(step, float("inf")), value)
            elif name == "numpy":
                best_numpy = min(best_numpy, outcome)
            else:
                seconds, dfg, found = outcome
                pm4py_output = (dfg, found)
                for step, value in seconds.items():
                    best_pm4py[step] = min(best_pm4py.get(step, float("inf")), value)
    checks: dict[str, bool] = {}
    if pm4py_output is not None:
        summary = process_summary(frame)
        (dfg, starts, ends), found = pm4py_output
        edges = summary.transitions
        checks["edge_counts_equal"] = (
            dict(
                zip(zip(edges["source"], edges["target"], strict=True), edges["count"], strict=True)
            )
            == dfg
        )
        checks["start_end_equal"] = dict(
            zip(
                summary.start_activities["activity"], summary.start_activities["cases"], strict=True
            )
        ) == dict(starts) and dict(
            zip(summary.end_activities["activity"], summary.end_activities["cases"], strict=True)
        ) == dict(ends)
        checks["variant_count_equal"] = len(summary.variants) == len(found)
    memory = run_memory(memory_customers, events) if memory_customers else None
    ratio_pm4py = best_pm4py["total"] / best_cxm["total"] if best_pm4py else None
    return {
        "config": {
            "customers": customers,
            "events_per_customer": events,
            "events": customers * events,
            "touchpoints": TOUCHPOINTS,
            "repeats": repeats,
            "memory_events": memory_customers * events,
        },
        "cxm": best_cxm,
        "numpy": best_numpy,
        "pm4py": best_pm4py or None,
        "ratio_pm4py": ratio_pm4py,
        "ratio_numpy": best_cxm["total"] / best_numpy,
        "checks": checks,
        "memory": memory,
        "targets": {
            "seconds": TARGET_SECONDS,
            "ratio_pm4py": TARGET_RATIO,
            "memory_bytes": TARGET_MEMORY_BYTES,
        },
        "met": {
            "seconds": best_cxm["total"] < TARGET_SECONDS,
            "ratio_pm4py": None if ratio_pm4py is None else ratio_pm4py >= TARGET_RATIO,
            "memory": None if memory is None else memory["peak_rss"] < TARGET_MEMORY_BYTES,
        },
    }


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "MISSED")


def rows(result: dict[str, Any]) -> list[list[str]]:
    """Rows for ``bench/run.py``'s table: suite, measurement, seconds, per second, ratio, target."""
    n = result["config"]["events"]
    cxm = result["cxm"]
    baseline = result["numpy"]
    out = []

    def row(label: str, seconds: float, target: str = "") -> None:
        out.append(
            [
                "journey",
                label,
                f"{seconds:.3f}",
                f"{n / seconds:,.0f}",
                f"{seconds / baseline:.1f}x",
                target,
            ]
        )

    row(
        f"cxm process_summary, {n:,} events (sort + 4 tables)",
        cxm["total"],
        f"< {result['targets']['seconds']:g} s {_verdict(result['met']['seconds'])}",
    )
    for step in ("event_log", "transitions", "start_end", "variants"):
        row(f"  cxm {step} alone", cxm[step])
    pm4py = result["pm4py"]
    if pm4py is None:
        out.append(["journey", "pm4py: not installed, no comparison", "", "", "", ""])
    else:
        ratio = result["ratio_pm4py"]
        row(
            f"pm4py format_dataframe + discover_dfg + get_variants ({ratio:.1f}x cxm)",
            pm4py["total"],
            f">= {result['targets']['ratio_pm4py']:g}x cxm "
            + _verdict(result["met"]["ratio_pm4py"]),
        )
        for step in ("format_dataframe", "discover_dfg", "get_variants"):
            row(f"  pm4py {step}", pm4py[step])
        failed = [name for name, ok in result["checks"].items() if not ok]
        out.append(
            [
                "journey",
                "check vs pm4py: "
                + (
                    "edges, start/end, variant count equal"
                    if not failed
                    else "DIFFER: " + ", ".join(failed)
                ),
                "",
                "",
                "",
                "",
            ]
        )
    row("numpy argsort of the times (yardstick)", baseline, "baseline")
    memory = result["memory"]
    if memory is not None:
        gib = 1024**3
        out.append(
            [
                "journey",
                f"process_summary, {memory['events']:,} events, fresh process: peak RSS "
                f"{memory['peak_rss'] / gib:.2f} GiB "
                f"(frame built: {memory['peak_rss_before'] / gib:.2f} GiB)",
                f"{memory['seconds']:.2f}",
                f"{memory['events'] / memory['seconds']:,.0f}",
                "",
                f"< 4 GiB {_verdict(result['met']['memory'])}",
            ]
        )
    return out


def table(result: dict[str, Any]) -> str:
    """Render the figures as a plain-text table, in the layout of ``bench/run.py``."""
    header = ["suite", "measurement", "seconds", "events/s", "vs numpy", "target"]
    return _table.render(header, rows(result))


def main(argv: list[str] | None = None) -> None:
    """Run from the command line and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000, metavar="N")
    parser.add_argument("--events", type=int, default=10, metavar="N")
    parser.add_argument("--repeats", type=int, default=3, metavar="N")
    parser.add_argument("--memory-customers", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--no-pm4py", action="store_true")
    parser.add_argument("--child-memory", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_memory is not None:
        print(json.dumps(_memory_child(args.child_memory, args.events)))
        return
    result = run(
        args.customers, args.events, args.repeats, args.memory_customers, not args.no_pm4py
    )
    print(table(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
