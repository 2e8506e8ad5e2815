"""Funnel benchmark: ``cxm.journey.funnel`` of 4 steps against hand-written pandas.

Ten million events (a million customers, 8 touchpoints as a categorical, times over 90 days,
tz-aware UTC as ``ws.interactions()`` returns them, rows shuffled) go through an ordered funnel
of 4 steps with a 14-day window. Measured, each the fastest of ``--repeats`` runs in
alternating order:

- ``cxm``: ``funnel(df, steps, window="14D")``: the whole result, table with Wilson intervals
  and times to convert, and the per-customer outcome;
- ``pandas``: the same ordered funnel by hand, one ``pd.merge_asof(direction="forward",
  by="customer_id")`` per step from every attempt's previous step to the next event of the
  step, the window applied after each merge, then the furthest step per customer (counts only,
  no times, no intervals);
- ``numpy_sort``: just ``np.lexsort`` of the same events by customer and time, the floor any
  funnel over an unsorted log pays.

The baseline is the pandas funnel; the target is under 5 s. The customers per step of cxm and
pandas must agree (times are distinct within a customer, so the tie rule plays no part).
Figures are reported, never asserted.

Run ``python bench/journey_funnel.py [--rows N] [--customers N] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _table
import numpy as np
import pandas as pd

from cxm.journey.funnel import funnel

RESULTS = Path(__file__).resolve().parent / "results" / "journey_funnel.json"
TARGET_SECONDS = 5.0
STEPS = ["touchpoint 0", "touchpoint 1", "touchpoint 2", "touchpoint 3"]
WINDOW = pd.Timedelta("14D")


def events(rows: int, customers: int, seed: int = 1) -> pd.DataFrame:
    """``rows`` events of ``customers`` customers over 8 touchpoints, rows in random order."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01", tz="UTC").value // 1000
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, customers, rows),
            "touchpoint": pd.Categorical.from_codes(
                rng.integers(0, 8, rows), [f"touchpoint {i}" for i in range(8)]
            ),
            "occurred_at": pd.to_datetime(
                start + rng.integers(0, 90 * 86_400_000_000, rows), unit="us", utc=True
            ),
        }
    )


def run_cxm(frame: pd.DataFrame) -> np.ndarray:
    result = funnel(frame, STEPS, window="14D")
    return result.table["customers"].to_numpy()


def run_pandas(frame: pd.DataFrame) -> np.ndarray:
    """The ordered funnel by hand: one forward ``merge_asof`` per step."""
    step_events = [
        frame.loc[frame["touchpoint"] == step, ["customer_id", "occurred_at"]]
        .sort_values("occurred_at")
        .rename(columns={"occurred_at": "at"})
        for step in STEPS
    ]
    attempts = step_events[0].rename(columns={"at": "start"}).assign(previous=lambda d: d["start"])
    furthest = attempts.groupby("customer_id").size().rename("furthest").to_frame()
    furthest["furthest"] = 1
    for k in range(1, len(STEPS)):
        merged = pd.merge_asof(
            attempts.sort_values("previous"),
            step_events[k],
            left_on="previous",
            right_on="at",
            by="customer_id",
            direction="forward",
            allow_exact_matches=False,
        )
        merged = merged[merged["at"].notna() & (merged["at"] - merged["start"] <= WINDOW)]
        attempts = merged[["customer_id", "start"]].assign(previous=merged["at"])
        furthest.loc[attempts["customer_id"].unique(), "furthest"] = k + 1
    reached = furthest["furthest"].value_counts().reindex(range(1, len(STEPS) + 1), fill_value=0)
    return reached.to_numpy()[::-1].cumsum()[::-1]


def run_numpy_sort(frame: pd.DataFrame) -> np.ndarray:
    times = frame["occurred_at"].array.asi8  # type: ignore[attr-defined]
    return np.lexsort((times, frame["customer_id"].to_numpy()))


RUNS: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "cxm": run_cxm,
    "pandas": run_pandas,
    "numpy_sort": run_numpy_sort,
}


def run(rows: int = 10_000_000, customers: int = 1_000_000, repeats: int = 3) -> dict[str, Any]:
    """Time the three ways over the same frame; return the figures.

    Returns:
        ``config``; per way its fastest ``seconds``; ``ratio`` (cxm / pandas) and
        ``ratio_sort`` (cxm / numpy sort); ``counts_equal`` (cxm's customers per step equal the
        pandas funnel's); ``customers_per_step``; ``target_seconds``, ``met``.
    """
    frame = events(rows, customers)
    best = dict.fromkeys(RUNS, float("inf"))
    results: dict[str, np.ndarray] = {}
    for repeat in range(repeats):
        order = list(RUNS) if repeat % 2 == 0 else list(reversed(RUNS))
        for name in order:
            started = time.perf_counter()
            results[name] = RUNS[name](frame)
            best[name] = min(best[name], time.perf_counter() - started)
    counts_equal = results["cxm"].tolist() == results["pandas"].tolist()
    return {
        "config": {"rows": rows, "customers": customers, "repeats": repeats, "steps": 4},
        "seconds": best,
        "ratio": best["cxm"] / best["pandas"],
        "ratio_sort": best["cxm"] / best["numpy_sort"],
        "counts_equal": counts_equal,
        "customers_per_step": [int(v) for v in results["cxm"]],
        "target_seconds": TARGET_SECONDS,
        "met": best["cxm"] < TARGET_SECONDS,
    }


def rows(result: dict[str, Any]) -> list[list[str]]:
    """Rows for ``bench/run.py``'s table: suite, measurement, seconds, per second, ratio, target."""
    n = result["config"]["rows"]
    seconds = result["seconds"]
    baseline = seconds["pandas"]
    verdict = "met" if result["met"] else "MISSED"
    check = "" if result["counts_equal"] else " CHECK: COUNTS DIFFER"
    labels = {
        "cxm": f"cxm funnel(4 steps, window='14D'), {n:,} events{check}",
        "pandas": "pandas merge_asof per step, same counts",
        "numpy_sort": "numpy lexsort by customer and time only",
    }
    out = []
    for name, label in labels.items():
        target = {"cxm": f"< {result['target_seconds']:g} s {verdict}", "pandas": "baseline"}
        out.append(
            [
                "funnel",
                label,
                f"{seconds[name]:.2f}",
                f"{n / seconds[name]:,.0f}",
                f"{seconds[name] / baseline:.2f}x",
                target.get(name, ""),
            ]
        )
    return out


def table(result: dict[str, Any]) -> str:
    """Render the figures as a plain-text table, in the layout of ``bench/run.py``."""
    header = ["suite", "measurement", "seconds", "events/s", "vs baseline", "target"]
    return _table.render(header, rows(result))


def main(argv: list[str] | None = None) -> None:
    """Run from the command line and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, metavar="N")
    parser.add_argument("--customers", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--repeats", type=int, default=3, metavar="N")
    args = parser.parse_args(argv)
    result = run(args.rows, args.customers, args.repeats)
    print(table(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
