"""Key driver analysis: which touchpoint ratings move NPS or CSAT, and where to act first.

A survey asks for an overall score (likelihood to recommend, satisfaction) and for ratings of
the parts of the experience (delivery, support, price, app). Regression coefficients answer
"which part drives the overall score?" badly when the ratings are correlated, as they always
are: the weights swing with every sample and can even flip sign. Relative importance methods
instead split the model's R² among the drivers so that every driver gets a non-negative share
and the shares add up to R² exactly:

- Johnson's (2000) relative weights regress the outcome on the orthogonal counterpart of the
  drivers and carry the variance back through the loadings: one eigen-decomposition, any number
  of drivers.
- Shapley / LMG (Lindeman, Merenda & Gold 1980; Grömping 2006) average each driver's increment
  to R² over every order of entering the model. It is computed exactly from the 2^p subset R²
  values, each ``r_S' R_SS^-1 r_S`` on the correlation matrix, so no regression is refitted on
  the rows; exact enumeration limits it to 12 drivers (4,096 subsets).

Intervals come from the percentile bootstrap over respondents. Importance is crossed with
performance (how well each driver is rated, 0-100) into the quadrants of importance-performance
analysis (Martilla & James 1977): keep up, improve, possible overkill, low priority.
"""

from __future__ import annotations

import html
from collections.abc import Hashable, Sequence
from itertools import combinations
from math import factorial
from typing import Any, Literal, cast

import attrs
import numpy as np
import pandas as pd

from cxm.exceptions import ValidationError

__all__ = [
    "KeyDriverResult",
    "key_drivers",
    "relative_weights",
    "shapley_r2",
]

DriverMethod = Literal["relative_weights", "shapley"]
PerformanceMeasure = Literal["mean", "top_box"]
QuadrantSplit = Literal["median", "mean"]
MAX_SHAPLEY_DRIVERS = 12
"""Exact Shapley/LMG enumerates 2^p subsets; past 12 drivers use relative weights."""
QUADRANTS = ("keep up", "improve", "possible overkill", "low priority")
"""Quadrant labels (important and well rated, important and rated low, well rated and not
important, neither), in the order of the ``quadrant`` column's categories."""
_EIGEN_TOLERANCE = 1e-10
_BOOT_CHUNK = 64  # bootstrap replicates whose importances are computed in one batch


# -- the two decompositions, on correlation matrices ----------------------------------------


def relative_weights(rxx: Any, rxy: Any) -> np.ndarray:
    """Johnson's relative weights of predictors from their correlations.

    With the eigen-decomposition ``Rxx = V D V'``, ``Lambda = V D^1/2 V'`` holds the
    correlations between the predictors and their best-fitting orthonormal counterparts Z;
    ``beta = Lambda^-1 rxy`` are the outcome's weights on Z and the raw relative weight of
    predictor j is ``epsilon_j = sum_k Lambda_jk^2 beta_k^2``. The weights are non-negative and
    add up to the model's ``R^2 = rxy' Rxx^-1 rxy``.

    Args:
        rxx: The predictors' correlation matrix, ``(p, p)``, or a stack ``(..., p, p)``.
        rxy: The correlations of the predictors with the outcome, ``(p,)`` or ``(..., p)``.

    Returns:
        The raw relative weights, shape ``(..., p)``, in units of R².

    Raises:
        numpy.linalg.LinAlgError: Never for a positive-definite ``rxx``; a singular one gives
            infinite or NaN weights, which callers check.

    Examples:
        >>> import numpy as np
        >>> rxx = np.array([[1.0, 0.5], [0.5, 1.0]])
        >>> weights = relative_weights(rxx, np.array([0.6, 0.3]))
        >>> [round(float(w), 4) for w in weights], round(float(weights.sum()), 4)
        ([0.315, 0.045], 0.36)

    References:
        Johnson, J. W. (2000). A heuristic method for estimating the relative weight of
        predictor variables in multiple regression. Multivariate Behavioral Research, 35(1),
        1-19.
    """
    rxx = np.asarray(rxx, dtype=float)
    rxy = np.asarray(rxy, dtype=float)
    values, vectors = np.linalg.eigh(rxx)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(values)
        loadings = (vectors * root[..., None, :]) @ np.swapaxes(vectors, -1, -2)
        inverse = (vectors / root[..., None, :]) @ np.swapaxes(vectors, -1, -2)
    beta = (inverse @ rxy[..., None])[..., 0]
    return np.asarray((loadings**2 @ (beta**2)[..., None])[..., 0])


def _subset_r_squared(rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """R² of every subset of predictors, indexed by bit mask: ``r_S' R_SS^-1 r_S``."""
    p = rxy.shape[-1]
    r_squared = np.zeros((*rxy.shape[:-1], 1 << p))
    for size in range(1, p + 1):
        members = np.array(list(combinations(range(p), size)), dtype=np.intp)
        masks = (1 << members).sum(axis=1)
        block = rxx[..., members[:, :, None], members[:, None, :]]
        r_block = rxy[..., members]
        solved = np.linalg.solve(block, r_block[..., None])[..., 0]
        r_squared[..., masks] = (r_block * solved).sum(axis=-1)
    return r_squared


def shapley_r2(rxx: Any, rxy: Any) -> np.ndarray:
    """Shapley (LMG) decomposition of R² among predictors, computed exactly from correlations.

    The share of predictor j is the average, over all p! orders of adding the predictors to
    the model, of the increase in R² when j enters. Grouping the orders by the set S entered
    before j gives ``phi_j = sum_S |S|! (p - |S| - 1)! / p! * (R²(S + j) - R²(S))`` over the
    2^(p-1) subsets without j, and each subset's R² is ``r_S' R_SS^-1 r_S``. The shares are
    non-negative and add up to the full model's R².

    Args:
        rxx: The predictors' correlation matrix, ``(p, p)``, or a stack ``(..., p, p)``; must
            be positive definite.
        rxy: The correlations of the predictors with the outcome, ``(p,)`` or ``(..., p)``.

    Returns:
        The Shapley values, shape ``(..., p)``, in units of R².

    Raises:
        ValidationError: If there are more than 12 predictors.
        numpy.linalg.LinAlgError: If a subset's correlation matrix is singular.

    Examples:
        >>> import numpy as np
        >>> rxx = np.array([[1.0, 0.5], [0.5, 1.0]])
        >>> shares = shapley_r2(rxx, np.array([0.6, 0.3]))
        >>> [round(float(s), 4) for s in shares], round(float(shares.sum()), 4)
        ([0.315, 0.045], 0.36)

    References:
        Lindeman, R. H., Merenda, P. F., & Gold, R. Z. (1980). Introduction to bivariate and
        multivariate analysis. Scott, Foresman.
        Grömping, U. (2006). Relative importance for linear regression in R: the package
        relaimpo. Journal of Statistical Software, 17(1), 1-27.
    """
    rxx = np.asarray(rxx, dtype=float)
    rxy = np.asarray(rxy, dtype=float)
    p = rxy.shape[-1]
    if p > MAX_SHAPLEY_DRIVERS:
        raise ValidationError(
            "drivers",
            p,
            f"exact Shapley/LMG handles at most {MAX_SHAPLEY_DRIVERS} drivers "
            "(2^p subsets); use method='relative_weights'",
        )
    r_squared = _subset_r_squared(rxx, rxy)
    masks = np.arange(1 << p)
    sizes = np.bitwise_count(masks) if hasattr(np, "bitwise_count") else _popcount(masks)
    order_weight = np.array(
        [factorial(s) * factorial(p - s - 1) / factorial(p) for s in range(p)], dtype=float
    )
    values = np.empty((*rxy.shape[:-1], p))
    for j in range(p):
        without = masks[(masks >> j) & 1 == 0]
        gains = r_squared[..., without | (1 << j)] - r_squared[..., without]
        values[..., j] = gains @ order_weight[sizes[without]]
    return values


def _popcount(masks: np.ndarray) -> np.ndarray:  # pragma: no cover - numpy < 2.0 only
    return np.array([bin(int(m)).count("1") for m in masks], dtype=np.intp)


_DECOMPOSITIONS = {"relative_weights": relative_weights, "shapley": shapley_r2}


# -- the result ------------------------------------------------------------------------------


@attrs.frozen(eq=False)
class KeyDriverResult:
    """A key driver analysis: importance, intervals, performance and quadrant per driver.

    Attributes:
        table: One row per driver, most important first (see :func:`key_drivers`).
        r_squared: R² of the linear model of the outcome on all drivers.
        r_squared_ci_low: Lower percentile-bootstrap bound of R² (NaN without bootstrap).
        r_squared_ci_high: Upper percentile-bootstrap bound of R² (NaN without bootstrap).
        n: Respondents used (complete on the outcome and every driver).
        n_dropped: Rows left out because the outcome or a driver was missing.
        method: ``"relative_weights"`` or ``"shapley"``.
        outcome: The outcome column.
        confidence: The intervals' coverage.
        n_boot: Bootstrap replicates the intervals rest on (replicates in which a driver
            had no variance are skipped, so this can be below the number asked for).
        split: How importance and performance were split into quadrants (median or mean).
    """

    table: pd.DataFrame
    r_squared: float
    r_squared_ci_low: float
    r_squared_ci_high: float
    n: int
    n_dropped: int
    method: str
    outcome: str
    confidence: float
    n_boot: int
    split: str

    @property
    def params(self) -> pd.Series:
        """The raw importances (units of R²) indexed by driver."""
        return pd.Series(
            self.table["importance"].to_numpy(),
            index=pd.Index(self.table["driver"], name="driver"),
            name="importance",
        )

    @property
    def summary(self) -> pd.DataFrame:
        """The per-driver table (the same as :attr:`table`)."""
        return self.table

    def _title(self) -> str:
        name = "Relative weights" if self.method == "relative_weights" else "Shapley / LMG"
        return (
            f"{name} key drivers of {self.outcome}: R² = {self.r_squared:.3f}, n = {self.n} "
            f"({self.n_dropped} row(s) with a missing value left out), "
            f"{self.n_boot} bootstrap replicates, quadrants split at the {self.split}"
        )

    def __str__(self) -> str:
        return f"{self._title()}\n{self.table.to_string(index=False)}"

    def _repr_html_(self) -> str:
        table = self.table.to_html(index=False, float_format=lambda x: f"{x:.4g}")
        return f"<p><strong>{html.escape(self._title())}</strong></p>{table}"


# -- the analysis ----------------------------------------------------------------------------


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    series = frame[column]
    if isinstance(series.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    ):
        raise ValidationError(
            column,
            str(series.dtype),
            "must hold numbers (ratings, scores, 0/1 flags); encode categories as 0/1 columns",
        )
    return np.asarray(series.to_numpy(dtype=float, na_value=np.nan), dtype=float)


def _correlations(data: np.ndarray) -> np.ndarray:
    """Correlation matrix of the columns of ``data``; NaN rows/columns where a column is flat."""
    centred = data - data.mean(axis=0)
    cross = centred.T @ centred
    scale = np.sqrt(np.diag(cross))
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = cross / np.outer(scale, scale)
    # A column whose spread is rounding noise relative to its values has no variance.
    size = np.maximum(np.abs(data).max(axis=0, initial=0.0), 1.0)
    flat = scale / np.sqrt(len(data)) <= 1e-12 * size
    result[flat, :] = np.nan
    result[:, flat] = np.nan
    return result


def _positive_definite(rxx: np.ndarray) -> np.ndarray:
    """Whether each matrix of the stack is finite and safely positive definite."""
    finite = np.isfinite(rxx).all(axis=(-2, -1))
    safe = np.where(finite[..., None, None], rxx, np.eye(rxx.shape[-1]))
    smallest = np.linalg.eigvalsh(safe)[..., 0]
    return np.asarray(finite & (smallest > _EIGEN_TOLERANCE))


def _decompose(method: str, corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Importances and R² for a stack of correlation matrices (outcome first)."""
    rxx = corr[..., 1:, 1:]
    rxy = corr[..., 1:, 0]
    importance = _DECOMPOSITIONS[method](rxx, rxy)
    r_squared = (rxy * np.linalg.solve(rxx, rxy[..., None])[..., 0]).sum(axis=-1)
    return importance, r_squared


def _bootstrap(
    data: np.ndarray, method: str, n_boot: int, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Importances and R² on ``n_boot`` resamples of the rows; failed resamples are dropped."""
    rng = np.random.default_rng(seed)
    n, q = data.shape
    importances, r_squares = [], []
    for start in range(0, n_boot, _BOOT_CHUNK):
        size = min(_BOOT_CHUNK, n_boot - start)
        stack = np.empty((size, q, q))
        for b in range(size):  # one resample of rows per replicate (not a loop over rows)
            stack[b] = _correlations(data[rng.integers(0, n, size=n)])
        usable = _positive_definite(stack[:, 1:, 1:]) & np.isfinite(stack[:, 1:, 0]).all(axis=1)
        if usable.any():
            importance, r_squared = _decompose(method, stack[usable])
            importances.append(importance)
            r_squares.append(r_squared)
    if not importances:
        return np.empty((0, q - 1)), np.empty(0)
    return np.concatenate(importances), np.concatenate(r_squares)


def _performance(
    values: np.ndarray,
    measure: str,
    scale: tuple[float, float] | None,
    top_box: float | None,
) -> np.ndarray:
    if scale is None:
        low, high = float(values.min()), float(values.max())
    else:
        try:
            low, high = (float(v) for v in scale)
        except (TypeError, ValueError):
            raise ValidationError(
                "scale", scale, "must be (lowest, highest), e.g. (1, 5)"
            ) from None
        outside = (values < low) | (values > high)
        if outside.any():
            raise ValidationError(
                "scale",
                scale,
                f"{int(outside.sum())} driver rating(s) lie outside it, e.g. "
                f"{values[outside][0]:g}",
            )
    if not high > low:
        raise ValidationError("scale", (low, high), "the highest value must exceed the lowest")
    if measure == "mean":
        return np.asarray((values.mean(axis=0) - low) / (high - low) * 100)
    threshold = high if top_box is None else float(top_box)
    return np.asarray((values >= threshold).mean(axis=0) * 100)


def _quadrants(importance: np.ndarray, performance: np.ndarray, split: str) -> pd.Categorical:
    centre = np.median if split == "median" else np.mean
    important = importance >= centre(importance)
    performing = performance >= centre(performance)
    codes = np.where(important, np.where(performing, 0, 1), np.where(performing, 2, 3)).astype(
        np.int8
    )
    categories = pd.CategoricalDtype(list(QUADRANTS))
    return cast("pd.Categorical", pd.Categorical.from_codes(codes, dtype=categories))


def _whole_number(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _check_drivers(frame: Any, outcome: str, drivers: Any, method: str) -> list[str]:
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError("df", type(frame).__name__, "must be a pandas DataFrame")
    if method not in _DECOMPOSITIONS:
        raise ValidationError("method", method, "must be 'relative_weights' or 'shapley'")
    if isinstance(drivers, str) or not isinstance(drivers, Sequence | pd.Index):
        raise ValidationError("drivers", drivers, "must be a list of column names")
    names: list[Hashable] = list(drivers)
    if len(names) < 2:
        raise ValidationError("drivers", names, "need at least two drivers to compare")
    if len(set(names)) != len(names):
        raise ValidationError("drivers", names, "name each driver once")
    if outcome in names:
        raise ValidationError("drivers", outcome, "the outcome cannot also be a driver")
    missing = [str(c) for c in [outcome, *names] if c not in frame.columns]
    if missing:
        raise ValidationError(
            "df", ", ".join(missing), f"column(s) missing; the frame has {list(frame.columns)}"
        )
    if method == "shapley" and len(names) > MAX_SHAPLEY_DRIVERS:
        raise ValidationError(
            "drivers",
            len(names),
            f"exact Shapley/LMG handles at most {MAX_SHAPLEY_DRIVERS} drivers (2^p subsets); "
            "use method='relative_weights' or group drivers",
        )
    return [str(name) for name in names]


def key_drivers(
    df: pd.DataFrame,
    *,
    drivers: Sequence[str],
    outcome: str = "nps_score",
    method: DriverMethod = "relative_weights",
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int | None = None,
    performance: PerformanceMeasure = "mean",
    scale: tuple[float, float] | None = None,
    top_box: float | None = None,
    split: QuadrantSplit = "median",
) -> KeyDriverResult:
    """Which drivers (touchpoint ratings, attributes) drive an outcome such as NPS or CSAT.

    The R² of the linear model of ``outcome`` on all ``drivers`` is split among the drivers by
    Johnson's relative weights or by the exact Shapley value (LMG); either way every driver's
    importance is non-negative and they add up to R². Intervals are percentile bootstrap
    intervals over respondents. Each driver's performance (how well it is rated) is crossed
    with its importance into the four quadrants of importance-performance analysis, split at
    the median (or mean) importance and performance over the drivers; a driver exactly at the
    split counts as high:

    - ``keep up``: important and well rated;
    - ``improve``: important but rated low: the priorities;
    - ``possible overkill``: well rated but little importance for the outcome;
    - ``low priority``: neither.

    Rows missing the outcome or any driver are left out (listwise deletion); how many is
    reported as ``n_dropped`` and in the printed result, never silently.

    Args:
        df: One row per respondent with the outcome and the driver columns, all numeric
            (booleans count as 0/1).
        drivers: The driver columns, at least two; at most 12 for ``"shapley"``.
        outcome: The outcome column, e.g. the 0-10 likelihood-to-recommend answer.
        method: ``"relative_weights"`` (Johnson 2000, the default) or ``"shapley"`` (LMG).
        n_boot: Bootstrap resamples of the respondents for the intervals; ``0`` skips them
            (NaN bounds).
        confidence: The intervals' coverage.
        seed: Seed of the bootstrap's random generator; the same seed gives the same intervals.
        performance: ``"mean"``: the driver's mean rating rescaled to 0-100 over ``scale``
            (``(mean - lowest) / (highest - lowest) * 100``); ``"top_box"``: the percentage of
            ratings at or above ``top_box``. Both use the same complete rows as importance.
        scale: The drivers' rating scale ``(lowest, highest)``, e.g. ``(1, 5)``; every rating
            must lie on it. ``None`` takes the lowest and highest rating observed over all
            drivers, which understates a scale's ends nobody used: pass it when you know it.
        top_box: The lowest rating counted as top box; defaults to the scale's highest value.
        split: Where the quadrants are split: ``"median"`` (the default, robust to one
            dominant driver) or ``"mean"`` of the drivers' importances and performances.

    Returns:
        A :class:`KeyDriverResult` with ``r_squared``, ``n``, ``n_dropped`` and ``table``, one
        row per driver sorted by importance (largest first), columns:

        - ``driver`` (str); ``rank`` (int64): 1 for the most important;
        - ``importance`` (float64): the raw weight, in units of R² (they sum to R²);
        - ``share`` (float64): ``importance / R²``, from 0 to 1 (they sum to 1);
        - ``se`` (float64): bootstrap standard error of ``importance``;
        - ``ci_low``, ``ci_high`` (float64): percentile bootstrap interval of ``importance``;
        - ``correlation`` (float64): the driver's correlation with the outcome (its direction);
        - ``performance`` (float64): 0-100, as chosen by ``performance``;
        - ``quadrant`` (category): one of :data:`QUADRANTS`.

    Raises:
        ValidationError: If a column is missing or not numeric, the drivers are fewer than two,
            repeated, include the outcome or are perfectly collinear, a column has no
            variance, too few complete rows remain, or an option is invalid.

    Examples:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(7)
        >>> ratings = pd.DataFrame(rng.integers(1, 6, size=(300, 3)),
        ...                        columns=["delivery", "support", "price"])
        >>> noise = rng.normal(0, 1, 300)
        >>> ratings["nps_score"] = 2 * ratings["delivery"] + ratings["support"] + noise
        >>> result = key_drivers(ratings, drivers=["delivery", "support", "price"],
        ...                      n_boot=0, scale=(1, 5))
        >>> list(result.table["driver"])
        ['delivery', 'support', 'price']
        >>> bool(np.isclose(result.table["importance"].sum(), result.r_squared))
        True

    References:
        Johnson, J. W. (2000). A heuristic method for estimating the relative weight of
        predictor variables in multiple regression. Multivariate Behavioral Research, 35(1),
        1-19.
        Lindeman, R. H., Merenda, P. F., & Gold, R. Z. (1980). Introduction to bivariate and
        multivariate analysis. Scott, Foresman.
        Grömping, U. (2006). Relative importance for linear regression in R: the package
        relaimpo. Journal of Statistical Software, 17(1), 1-27.
        Tonidandel, S., & LeBreton, J. M. (2011). Relative importance analysis: a useful
        supplement to regression analysis. Journal of Business and Psychology, 26(1), 1-9.
        Martilla, J. A., & James, J. C. (1977). Importance-performance analysis. Journal of
        Marketing, 41(1), 77-79.
    """
    names = _check_drivers(df, outcome, drivers, method)
    if not _whole_number(n_boot) or n_boot < 0:
        raise ValidationError("n_boot", n_boot, "must be a whole number, 0 or more")
    if isinstance(confidence, bool) or not 0 < confidence < 1:
        raise ValidationError("confidence", confidence, "must be between 0 and 1, e.g. 0.95")
    if performance not in ("mean", "top_box"):
        raise ValidationError("performance", performance, "must be 'mean' or 'top_box'")
    if split not in ("median", "mean"):
        raise ValidationError("split", split, "must be 'median' or 'mean'")

    data = np.column_stack([_numeric(df, column) for column in [outcome, *names]])
    complete = np.isfinite(data).all(axis=1)
    data = data[complete]
    n, p = len(data), len(names)
    n_dropped = int((~complete).sum())
    if n < p + 2:
        raise ValidationError(
            "df",
            f"{n} complete rows",
            f"need at least {p + 2} rows complete on the outcome and all {p} drivers "
            f"({n_dropped} row(s) had a missing value)",
        )
    corr = _correlations(data)
    flat = [
        name
        for name, ok in zip([outcome, *names], np.isfinite(np.diag(corr)), strict=True)
        if not ok
    ]
    if flat:
        raise ValidationError(
            flat[0], "constant", "has no variance among the complete rows; leave it out"
        )
    if not _positive_definite(corr[1:, 1:]):
        raise ValidationError(
            "drivers",
            names,
            "are perfectly collinear (one is a combination of others, e.g. a duplicate or a "
            "total); leave the redundant one out",
        )
    importance, r_squared_array = _decompose(method, corr)
    r_squared = float(r_squared_array)

    boot_importance, boot_r_squared = (
        _bootstrap(data, method, int(n_boot), seed) if n_boot > 0 else (np.empty((0, p)),) * 2
    )
    tail = (1 - confidence) / 2 * 100
    if len(boot_importance):
        low, high = np.percentile(boot_importance, [tail, 100 - tail], axis=0)
        se = boot_importance.std(axis=0, ddof=1) if len(boot_importance) > 1 else np.full(p, 0.0)
        r2_low, r2_high = (float(v) for v in np.percentile(boot_r_squared, [tail, 100 - tail]))
    else:
        low = high = se = np.full(p, np.nan)
        r2_low = r2_high = float("nan")

    rated = _performance(data[:, 1:], performance, scale, top_box)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = importance / r_squared
    table = pd.DataFrame(
        {
            "driver": names,
            "importance": importance,
            "share": share,
            "se": se,
            "ci_low": low,
            "ci_high": high,
            "correlation": corr[1:, 0],
            "performance": rated,
            "quadrant": _quadrants(importance, rated, split),
        }
    )
    order = np.argsort(-importance, kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    table.insert(1, "rank", np.arange(1, p + 1, dtype=np.int64))
    return KeyDriverResult(
        table=table,
        r_squared=r_squared,
        r_squared_ci_low=r2_low,
        r_squared_ci_high=r2_high,
        n=n,
        n_dropped=n_dropped,
        method=method,
        outcome=outcome,
        confidence=float(confidence),
        n_boot=len(boot_importance),
        split=split,
    )
