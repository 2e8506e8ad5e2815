"""Attribution benchmark: ``cxm.journey`` paths and models against hand-written pandas.

Two million interactions (200,000 customers, 8 channels as a categorical, 6 % purchases, times
over a quarter, tz-aware UTC as ``ws.interactions()`` returns them) become journeys, which are
then attributed. Measured, each the fastest of ``--repeats`` runs:

- ``conversion_paths``: cxm's vectorised journeys against pandas (``sort_values``, a journey
  number from a grouped cumulative sum, the lookback filter, ``groupby(...).agg(list)``);
- ``linear`` and ``shapley``: cxm against ``explode`` + ``groupby`` by hand (Shapley with
  ``drop_duplicates`` on journey and channel);
- ``markov``: cxm's single fundamental-matrix solve against the plain method, transitions
  counted with pandas and one absorbing-chain solve per removed channel.

Every pair's credits are compared (they must agree to 1e-6). Figures are reported, never
asserted. Run ``python bench/journey_attribution.py [--rows N] [--repeats N]``.
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

from cxm.journey.attribution import attribution, conversion_paths

RESULTS = Path(__file__).resolve().parent / "results" / "journey_attribution.json"
CHANNELS = ["search", "social", "display", "email", "direct", "affiliate", "video", "sms"]


def interactions(rows: int, seed: int = 1) -> pd.DataFrame:
    """``rows`` touches and purchases of ``rows // 10`` customers over 90 days."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01", tz="UTC").value // 1000
    purchase = rng.random(rows) < 0.06
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, max(rows // 10, 1), rows),
            "occurred_at": pd.to_datetime(
                start + rng.integers(0, 90 * 86_400_000_000, rows), unit="us", utc=True
            ),
            "channel": pd.Categorical.from_codes(rng.integers(0, len(CHANNELS), rows), CHANNELS),
            "kind": np.where(purchase, "purchase", "visit"),
        }
    )


def pandas_paths(frame: pd.DataFrame) -> pd.DataFrame:
    events = frame.sort_values(["customer_id", "occurred_at"], kind="stable")
    purchase = events["kind"].eq("purchase")
    earlier = purchase.groupby(events["customer_id"]).cumsum() - purchase
    events = events.assign(journey=earlier, purchase=purchase)
    ends = events.groupby(["customer_id", "journey"])["occurred_at"].transform("max")
    touches = events[~events["purchase"] & (ends - events["occurred_at"] <= pd.Timedelta("30D"))]
    paths = touches.groupby(["customer_id", "journey"], sort=True)["channel"].agg(list)
    converted = events.groupby(["customer_id", "journey"])["purchase"].any()
    return pd.DataFrame({"path": paths, "converted": converted.reindex(paths.index)})


def pandas_linear(journeys: pd.DataFrame) -> pd.Series:
    flat = journeys[["path", "total_conversions"]].explode("path")
    n = journeys["path"].str.len()
    share = flat["total_conversions"].astype(float) / n.reindex(flat.index)
    return share.groupby(flat["path"].astype(str)).sum()


def pandas_shapley(journeys: pd.DataFrame) -> pd.Series:
    flat = journeys[["path", "total_conversions"]].explode("path")
    flat = flat.reset_index().drop_duplicates(["index", "path"])
    distinct = flat.groupby("index")["path"].transform("size")
    share = flat["total_conversions"].astype(float) / distinct
    return share.groupby(flat["path"].astype(str)).sum()


def pandas_markov(journeys: pd.DataFrame) -> pd.Series:
    flat = journeys[["path", "total_conversions", "total_null"]].explode("path")
    flat["path"] = flat["path"].astype(str)
    flat["before"] = flat.groupby(level=0)["path"].shift(fill_value="(start)")
    flat["flow"] = flat["total_conversions"] + flat["total_null"]
    counts = flat.groupby(["before", "path"])["flow"].sum().unstack(fill_value=0.0)
    last = flat.groupby(level=0).tail(1)
    counts["(conversion)"] = last.groupby("path")["total_conversions"].sum()
    counts["(null)"] = last.groupby("path")["total_null"].sum()
    counts = counts.fillna(0.0)
    channels = sorted(flat["path"].unique())
    states = ["(start)", *channels]
    counts = counts.reindex(index=states, columns=[*channels, "(conversion)", "(null)"]).fillna(0.0)
    prob = counts.to_numpy() / counts.to_numpy().sum(axis=1, keepdims=True)
    q = np.c_[np.zeros(len(states)), prob[:, : len(channels)]]
    r = prob[:, len(channels)]

    def p_convert(removed: int | None) -> float:
        qq, rr = q.copy(), r.copy()
        if removed is not None:
            qq[removed], rr[removed] = 0.0, 0.0
        return float(np.linalg.solve(np.eye(len(states)) - qq, rr)[0])

    base = p_convert(None)
    effect = np.array([1 - p_convert(i + 1) / base for i in range(len(channels))])
    total = float(journeys["total_conversions"].sum())
    return pd.Series(total * effect / effect.sum(), index=channels)


def _cxm_model(model: str) -> Callable[[pd.DataFrame], pd.Series]:
    def run_model(journeys: pd.DataFrame) -> pd.Series:
        return attribution(journeys, model).set_index("channel")["conversions"]

    return run_model


PAIRS: dict[str, tuple[Callable[[pd.DataFrame], Any], Callable[[pd.DataFrame], Any]]] = {
    "linear": (_cxm_model("linear"), pandas_linear),
    "shapley": (_cxm_model("shapley"), pandas_shapley),
    "markov": (_cxm_model("markov"), pandas_markov),
}


def _best(function: Callable[[pd.DataFrame], Any], frame: pd.DataFrame, repeats: int) -> Any:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function(frame)
        best = min(best, time.perf_counter() - started)
    return best, result


def run(rows: int = 2_000_000, repeats: int = 3) -> dict[str, Any]:
    """Time cxm and the hand-written pandas ways; return the figures.

    Returns:
        ``config``; ``journeys`` (journeys with a touch); per measurement ``cxm`` and
        ``pandas`` seconds, their ``ratio`` (cxm / pandas) and ``agree`` (same results).
    """
    frame = interactions(rows)
    figures: dict[str, Any] = {}
    cxm_seconds, journeys = _best(conversion_paths, frame, repeats)
    pandas_seconds, by_hand = _best(pandas_paths, frame, repeats)
    touched = journeys[journeys["n_touches"] > 0].reset_index(drop=True)
    agree = (
        len(touched) == len(by_hand)
        and [[str(c) for c in p] for p in by_hand["path"]] == touched["path"].tolist()
    )
    figures["conversion_paths"] = {
        "cxm": cxm_seconds,
        "pandas": pandas_seconds,
        "ratio": cxm_seconds / pandas_seconds,
        "agree": bool(agree),
    }
    for name, (mine, theirs) in PAIRS.items():
        cxm_seconds, got = _best(mine, touched, repeats)
        pandas_seconds, expected = _best(theirs, touched, repeats)
        close = np.allclose(
            got.sort_index().to_numpy(), expected.sort_index().to_numpy(), atol=1e-6
        )
        figures[name] = {
            "cxm": cxm_seconds,
            "pandas": pandas_seconds,
            "ratio": cxm_seconds / pandas_seconds,
            "agree": bool(close),
        }
    return {
        "config": {"rows": rows, "repeats": repeats},
        "journeys": len(touched),
        "figures": figures,
    }


def rows(result: dict[str, Any]) -> list[list[str]]:
    """Rows for a table: suite, measurement, seconds, journeys per second, ratio, target."""
    n = result["journeys"]
    out = []
    for name, figure in result["figures"].items():
        check = "" if figure["agree"] else " CHECK: RESULTS DIFFER"
        what = (
            f"conversion_paths, {result['config']['rows']:,} interactions"
            if name == "conversion_paths"
            else f"attribution({name!r}), {n:,} journeys"
        )
        verdict = "met" if figure["cxm"] <= figure["pandas"] else "MISSED"
        out.append(
            [
                "attribution",
                f"cxm {what}{check}",
                f"{figure['cxm']:.2f}",
                f"{n / figure['cxm']:,.0f}",
                f"{figure['ratio']:.2f}x",
                f"<= baseline {verdict}",
            ]
        )
        out.append(
            [
                "attribution",
                f"pandas by hand, {name}",
                f"{figure['pandas']:.2f}",
                f"{n / figure['pandas']:,.0f}",
                "1.00x",
                "baseline",
            ]
        )
    return out


def table(result: dict[str, Any]) -> str:
    """Render the figures as a plain-text table, in the layout of ``bench/run.py``."""
    header = ["suite", "measurement", "seconds", "journeys/s", "vs baseline", "target"]
    return _table.render(header, rows(result))


def main(argv: list[str] | None = None) -> None:
    """Run from the command line and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, metavar="N")
    parser.add_argument("--repeats", type=int, default=3, metavar="N")
    args = parser.parse_args(argv)
    result = run(args.rows, args.repeats)
    print(table(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
