"""NPS benchmark: ``cxm.metrics.nps(by=[...], freq="MS")`` against hand-written pandas.

Ten million responses (0-10 scores, 20 touchpoints and 8 channels as categoricals, times over
two years, tz-aware UTC as ``ws.feedback()`` returns them) are grouped by touchpoint, channel
and month. Measured, each the fastest of ``--repeats`` runs in alternating order:

- ``cxm``: ``nps(df, by=["touchpoint", "channel"], freq="MS")``: validation of every score
  against the scale, the counts, NPS and its adjusted-Wald interval;
- ``pandas_grouper``: the counts by hand, ``groupby([..., pd.Grouper(freq="MS")])``;
- ``pandas_period``: the counts by hand with a month column made by ``dt.to_period("M")`` first.

The baseline is the faster of the two hand-written versions; the targets are under 2 s and no
slower than the baseline. Figures are reported, never asserted.

Run ``python bench/metrics_nps.py [--rows N] [--repeats N]``.
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

from cxm.metrics import nps

RESULTS = Path(__file__).resolve().parent / "results" / "metrics_nps.json"
TARGET_SECONDS = 2.0


def responses(rows: int, seed: int = 1) -> pd.DataFrame:
    """``rows`` NPS answers with categorical touchpoint and channel, times over two years."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01", tz="UTC").value // 1000
    return pd.DataFrame(
        {
            "score": rng.integers(0, 11, rows).astype("float64"),
            "touchpoint": pd.Categorical.from_codes(
                rng.integers(0, 20, rows), [f"touchpoint {i:02d}" for i in range(20)]
            ),
            "channel": pd.Categorical.from_codes(
                rng.integers(0, 8, rows), [f"channel {i}" for i in range(8)]
            ),
            "occurred_at": pd.to_datetime(
                start + rng.integers(0, 730 * 86_400_000_000, rows), unit="us", utc=True
            ),
        }
    )


def run_cxm(frame: pd.DataFrame) -> pd.DataFrame:
    return nps(frame, by=["touchpoint", "channel"], freq="MS")


def run_pandas_grouper(frame: pd.DataFrame) -> pd.DataFrame:
    score = frame["score"]
    flagged = frame.assign(promoter=score >= 9, detractor=score <= 6)
    counts = flagged.groupby(
        ["touchpoint", "channel", pd.Grouper(key="occurred_at", freq="MS")], observed=True
    ).agg(n=("score", "size"), promoters=("promoter", "sum"), detractors=("detractor", "sum"))
    counts["nps"] = (counts["promoters"] - counts["detractors"]) / counts["n"] * 100
    return counts


def run_pandas_period(frame: pd.DataFrame) -> pd.DataFrame:
    score = frame["score"]
    month = frame["occurred_at"].dt.tz_localize(None).dt.to_period("M")
    flagged = frame.assign(promoter=score >= 9, detractor=score <= 6, month=month)
    counts = flagged.groupby(["touchpoint", "channel", "month"], observed=True).agg(
        n=("score", "size"), promoters=("promoter", "sum"), detractors=("detractor", "sum")
    )
    counts["nps"] = (counts["promoters"] - counts["detractors"]) / counts["n"] * 100
    return counts


RUNS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "cxm": run_cxm,
    "pandas_grouper": run_pandas_grouper,
    "pandas_period": run_pandas_period,
}


def run(rows: int = 10_000_000, repeats: int = 3) -> dict[str, Any]:
    """Time the three ways over the same frame; return the figures.

    Returns:
        ``config``; per way its fastest ``seconds``; ``groups`` (rows of each result, which
        must agree); ``baseline`` (the faster pandas way) and ``ratio`` (cxm / baseline);
        ``counts_equal`` (cxm's counts equal the hand-written ones); ``target_seconds``, ``met``.
    """
    frame = responses(rows)
    best = dict.fromkeys(RUNS, float("inf"))
    results: dict[str, pd.DataFrame] = {}
    for repeat in range(repeats):
        order = list(RUNS) if repeat % 2 == 0 else list(reversed(RUNS))
        for name in order:
            started = time.perf_counter()
            results[name] = RUNS[name](frame)
            best[name] = min(best[name], time.perf_counter() - started)
    baseline = min(("pandas_grouper", "pandas_period"), key=best.__getitem__)
    mine = results["cxm"]
    theirs = results["pandas_period"]
    counts_equal = (
        len(mine) == len(theirs)
        and mine["n"].tolist() == theirs["n"].tolist()
        and mine["promoters"].tolist() == theirs["promoters"].tolist()
        and mine["detractors"].tolist() == theirs["detractors"].tolist()
    )
    return {
        "config": {"rows": rows, "repeats": repeats},
        "seconds": best,
        "groups": {name: len(result) for name, result in results.items()},
        "baseline": baseline,
        "ratio": best["cxm"] / best[baseline],
        "counts_equal": counts_equal,
        "target_seconds": TARGET_SECONDS,
        "met": best["cxm"] < TARGET_SECONDS and best["cxm"] <= best[baseline],
    }


def rows(result: dict[str, Any]) -> list[list[str]]:
    """Rows for ``bench/run.py``'s table: suite, measurement, seconds, per second, ratio, target."""
    n = result["config"]["rows"]
    seconds = result["seconds"]
    baseline = seconds[result["baseline"]]
    verdict = "met" if result["met"] else "MISSED"
    check = "" if result["counts_equal"] else " CHECK: COUNTS DIFFER"
    labels = {
        "cxm": f"cxm nps(by=[touchpoint, channel], freq='MS'), {n:,} answers{check}",
        "pandas_grouper": "pandas groupby with pd.Grouper(freq='MS'), same counts",
        "pandas_period": "pandas groupby on dt.to_period('M'), same counts",
    }
    out = []
    for name, label in labels.items():
        target = ""
        if name == "cxm":
            target = f"< {result['target_seconds']:g} s and <= baseline {verdict}"
        elif name == result["baseline"]:
            target = "baseline"
        out.append(
            [
                "metrics",
                label,
                f"{seconds[name]:.2f}",
                f"{n / seconds[name]:,.0f}",
                f"{seconds[name] / baseline:.2f}x",
                target,
            ]
        )
    return out


def table(result: dict[str, Any]) -> str:
    """Render the figures as a plain-text table, in the layout of ``bench/run.py``."""
    header = ["suite", "measurement", "seconds", "answers/s", "vs baseline", "target"]
    return _table.render(header, rows(result))


def main(argv: list[str] | None = None) -> None:
    """Run from the command line and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, metavar="N")
    parser.add_argument("--repeats", type=int, default=3, metavar="N")
    args = parser.parse_args(argv)
    result = run(args.rows, args.repeats)
    print(table(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
