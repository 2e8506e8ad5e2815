"""CLV benchmark: ``BetaGeo().fit`` on CDNOW and on a million customers, against plain scipy.

Two data sets: the CDNOW calibration summary shipped in ``cxm.datasets`` (2,357 customers) and
``--customers`` customers (default 1,000,000) drawn from the BG/NBD model at the published CDNOW
parameters with observation lengths uniform over 1-52 weeks. On each, measured as the fastest
of ``--repeats`` runs in alternating order:

- ``cxm``: ``BetaGeo().fit(frequency, recency, T)``: validation, the fit by L-BFGS-B with the
  analytic gradient, and the standard errors (a finite-difference Hessian of the gradient);
- ``scipy``: ``scipy.optimize.minimize(method="L-BFGS-B")`` from the same start on the same
  log-parameter objective without its gradient (scipy's finite differences), no standard
  errors: what a straightforward hand-written fit costs; the baseline;
- ``one evaluation``: a single evaluation of the log-likelihood and its gradient, the unit of
  work of every optimiser step.

Targets: CDNOW under 1 s, a million customers under 20 s. The fitted parameters are reported
beside the published ones (r 0.243, alpha 4.414, a 0.793, b 2.426) as a check. Figures are
reported, never asserted.

Run ``python bench/clv_fit.py [--customers N] [--repeats N]``.
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
from scipy import optimize

from cxm.datasets import load_cdnow_summary
from cxm.metrics.clv import BetaGeo, _bg_objective, _Counts

RESULTS = Path(__file__).resolve().parent / "results" / "clv_fit.json"
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
TARGETS = {"cdnow": 1.0, "synthetic": 20.0}


def synthetic(customers: int, seed: int = 1) -> dict[str, np.ndarray]:
    """``customers`` BG/NBD customers at the published CDNOW parameters."""
    rng = np.random.default_rng(seed)
    observed = rng.uniform(1.0, 52.0, customers)
    frame = BetaGeo.from_params(**PUBLISHED).simulate(observed, seed=seed + 1)
    return {name: frame[name].to_numpy() for name in ("frequency", "recency", "T")}


def cdnow() -> dict[str, np.ndarray]:
    frame = load_cdnow_summary()
    return {name: frame[name].to_numpy() for name in ("frequency", "recency", "T")}


def run_cxm(data: dict[str, np.ndarray]) -> np.ndarray:
    model = BetaGeo().fit(data["frequency"], data["recency"], data["T"])
    return model.params.to_numpy()


def _counts(data: dict[str, np.ndarray]) -> _Counts:
    x = data["frequency"].astype(float)
    return _Counts.build(x, data["recency"], data["T"], np.ones(len(x)))


def _start(data: dict[str, np.ndarray]) -> np.ndarray:
    mean_x = max(float(data["frequency"].mean()), 0.1)
    return np.log([1.0, max(float(data["T"].mean()), 1e-3) / mean_x, 1.0, 1.0])


def run_scipy(data: dict[str, np.ndarray]) -> np.ndarray:
    counts = _counts(data)
    result = optimize.minimize(
        lambda theta: _bg_objective(theta, counts)[0],
        _start(data),
        method="L-BFGS-B",
        bounds=[(-20.0, 20.0)] * 4,
    )
    return np.exp(result.x)


def run_evaluation(data: dict[str, np.ndarray]) -> np.ndarray:
    counts = _counts(data)
    value, gradient = _bg_objective(np.log(list(PUBLISHED.values())), counts)
    return np.array([value, *gradient])


RUNS: dict[str, Callable[[dict[str, np.ndarray]], np.ndarray]] = {
    "cxm": run_cxm,
    "scipy": run_scipy,
    "evaluation": run_evaluation,
}


def _suite(data: dict[str, np.ndarray], repeats: int, target: float) -> dict[str, Any]:
    best = dict.fromkeys(RUNS, float("inf"))
    answers: dict[str, list[float]] = {}
    for repeat in range(repeats):
        order = list(RUNS) if repeat % 2 == 0 else list(reversed(RUNS))
        for name in order:
            started = time.perf_counter()
            answer = RUNS[name](data)
            best[name] = min(best[name], time.perf_counter() - started)
            answers[name] = [float(v) for v in answer]
    return {
        "customers": len(data["frequency"]),
        "seconds": best,
        "ratio": best["cxm"] / best["scipy"],
        "params": dict(zip(PUBLISHED, answers["cxm"], strict=True)),
        "params_scipy": dict(zip(PUBLISHED, answers["scipy"], strict=True)),
        "target_seconds": target,
        "met": best["cxm"] < target,
    }


def run(customers: int = 1_000_000, repeats: int = 3) -> dict[str, Any]:
    """Time the fits on CDNOW and on ``customers`` simulated customers; return the figures.

    Returns:
        ``config``; ``cdnow`` and ``synthetic``, each with ``customers``, the fastest
        ``seconds`` of ``cxm``, ``scipy`` and ``evaluation``, ``ratio`` (cxm / scipy),
        ``params`` (cxm's estimates) and ``params_scipy``, ``target_seconds`` and ``met``;
        ``published`` (the CDNOW parameters of Fader, Hardie & Lee 2005).
    """
    for run_one in RUNS.values():  # warm up imports and caches
        run_one(cdnow())
    return {
        "config": {"customers": customers, "repeats": repeats},
        "cdnow": _suite(cdnow(), repeats, TARGETS["cdnow"]),
        "synthetic": _suite(synthetic(customers), repeats, TARGETS["synthetic"]),
        "published": PUBLISHED,
    }


def rows(result: dict[str, Any]) -> list[list[str]]:
    """Rows for ``bench/run.py``'s table: suite, measurement, seconds, per second, ratio, target."""
    out = []
    for key, title in (("cdnow", "CDNOW"), ("synthetic", "synthetic")):
        suite = result[key]
        n = suite["customers"]
        seconds = suite["seconds"]
        params = ", ".join(f"{name} {value:.3f}" for name, value in suite["params"].items())
        verdict = "met" if suite["met"] else "MISSED"
        labels = {
            "cxm": f"cxm BetaGeo().fit + standard errors, {title} {n:,} customers ({params})",
            "scipy": "scipy L-BFGS-B, finite-difference gradient, no standard errors",
            "evaluation": "one log-likelihood + gradient evaluation",
        }
        targets = {
            "cxm": f"< {suite['target_seconds']:g} s {verdict}",
            "scipy": "baseline",
            "evaluation": "",
        }
        for name, label in labels.items():
            out.append(
                [
                    "clv",
                    label,
                    f"{seconds[name]:.4f}",
                    f"{n / seconds[name]:,.0f}",
                    f"{seconds[name] / seconds['scipy']:.2f}x",
                    targets[name],
                ]
            )
    return out


def table(result: dict[str, Any]) -> str:
    """Render the figures as a plain-text table, in the layout of ``bench/run.py``."""
    header = ["suite", "measurement", "seconds", "customers/s", "vs baseline", "target"]
    return _table.render(header, rows(result))


def main(argv: list[str] | None = None) -> None:
    """Run from the command line and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--repeats", type=int, default=3, metavar="N")
    args = parser.parse_args(argv)
    if args.customers < 1 or args.repeats < 1:
        parser.error("--customers and --repeats must be at least 1")
    result = run(args.customers, args.repeats)
    print(table(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
