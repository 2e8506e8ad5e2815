"""The journey map: how each stage x touchpoint cell performs, and which cells hurt most.

A journey map lays the customer's experience out as a table of cells, one per journey stage
and touchpoint present in the data. For each cell it counts the interactions and the customers
who reached it, measures the experience there (sentiment of the texts, NPS and CSAT of the
feedback given there, each with its interval and n), how long customers stay before moving on
to another cell, and how many journeys end there. :func:`pain_points` then ranks the cells
whose experience is worse than the overall experience, or whose drop-off is higher than usual,
weighted by how many customers pass through them, and writes the evidence behind each in
words a CX analyst can check. Everything is computed on integer codes: the cell of every
interaction is one code, each customer's journey is sorted once by
:func:`cxm.journey._events.event_log`, and every count is a ``np.bincount``.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from typing import Any

import attrs
import numpy as np
import pandas as pd
from scipy import stats

from cxm.exceptions import ValidationError
from cxm.journey._events import event_log
from cxm.journey.stages import LIFECYCLE, Stages, as_stages
from cxm.metrics.feedback import DEFAULT_MIN_N, _t_interval, csat, nps, wilson_interval

__all__ = ["NO_TOUCHPOINT", "UNASSIGNED", "journey_map", "pain_points"]

UNASSIGNED = "(unassigned)"
"""The stage label of interactions that no stage rule, catalog entry or default placed."""
NO_TOUCHPOINT = "(no touchpoint)"
"""The touchpoint label of interactions that name no touchpoint."""

_CELL = "__cxm_cell__"


@attrs.frozen(eq=False)
class _Built:
    """A journey map with what :func:`pain_points` needs to quote examples."""

    table: pd.DataFrame
    feedback: pd.DataFrame | None
    feedback_cells: np.ndarray | None
    sentiment: pd.DataFrame | None
    sentiment_cells: np.ndarray | None


def _check_frame(df: Any, field: str, columns: list[Hashable]) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(field, type(df).__name__, "must be a pandas DataFrame")
    missing = [str(c) for c in columns if c not in df.columns]
    if missing:
        raise ValidationError(
            field, ", ".join(missing), f"column(s) missing; the frame has {list(df.columns)[:20]}"
        )
    return df


def _stage_labels(values: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes (-1 missing) and labels in stage order of a column of stages."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy().astype(np.int64), list(values.cat.categories)
    present = pd.unique(values.dropna())
    known = [s for s in LIFECYCLE if s in set(present)]
    labels = known + sorted(set(present) - set(known), key=str)
    codes = pd.Index(labels).get_indexer(pd.Index(values))
    return codes.astype(np.int64), labels


def _touchpoint_labels(values: pd.Series) -> tuple[np.ndarray, list[Any]]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy().astype(np.int64), list(values.cat.categories)
    codes, labels = pd.factorize(values, sort=True)
    return codes.astype(np.int64), list(labels)


def _with_missing(codes: np.ndarray, labels: list[Any], label: str) -> list[Any]:
    """Point missing codes at ``label`` (appended) so no row is lost."""
    if (codes < 0).any():
        codes[codes < 0] = len(labels)
        return [*labels, label]
    return labels


def _median_with_interval(
    groups: np.ndarray, values: np.ndarray, size: int, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-group median and its distribution-free order-statistic interval, and n.

    The interval is ``(x_(j), x_(n-j+1))`` with the largest ``j`` such that
    ``P(Binomial(n, 1/2) <= j - 1) <= (1 - confidence) / 2``; its coverage is at least
    ``confidence`` whatever the distribution (Conover 1999, section 3.2). NaN when n is too
    small for any such ``j``.
    """
    n = np.bincount(groups, minlength=size)
    median, low, high = (np.full(size, np.nan) for _ in range(3))
    if not len(values):
        return median, low, high, n
    order = np.lexsort((values, groups))
    ordered = values[order].astype(float)
    offset = np.r_[0, np.cumsum(n)[:-1]]
    has = n > 0
    mid_low = offset + (n - 1) // 2
    mid_high = offset + n // 2
    median[has] = (ordered[mid_low[has]] + ordered[mid_high[has]]) / 2
    alpha = 1 - confidence
    with np.errstate(invalid="ignore"):
        q = stats.binom.ppf(alpha / 2, n, 0.5)
        q = np.nan_to_num(q, nan=0.0)
        exact = stats.binom.cdf(q, n, 0.5) <= alpha / 2
    j = (q + exact).astype(np.int64)
    ok = has & (j >= 1)
    low[ok] = ordered[(offset + j - 1)[ok]]
    high[ok] = ordered[(offset + n - j)[ok]]
    return median, low, high, n


@attrs.frozen(kw_only=True)
class _Options:
    """The column names and options shared by :func:`journey_map` and :func:`pain_points`."""

    stages: Stages | None
    customer: Hashable
    time: Hashable
    touchpoint: Hashable
    stage: Hashable
    on: Hashable | None
    order: Hashable | None
    score: Hashable
    compound: Hashable
    inactive: pd.Timedelta | None
    min_n: int
    confidence: float


def _whole(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValidationError(name, value, f"must be a whole number, {minimum} or more")
    return int(value)


def _options(
    *,
    stages: Stages | Mapping[str, Any] | None,
    inactive: Any,
    min_n: Any,
    confidence: Any,
    **columns: Any,
) -> _Options:
    _whole("min_n", min_n, 0)
    if not isinstance(confidence, float | int) or not 0 < confidence < 1:
        raise ValidationError("confidence", confidence, "must be between 0 and 1, e.g. 0.95")
    gap = None
    if inactive is not None:
        try:
            gap = pd.Timedelta(inactive)
        except (TypeError, ValueError):
            raise ValidationError("inactive", inactive, "must be a duration, e.g. '30D'") from None
        if not gap >= pd.Timedelta(0):  # NaT compares false too
            raise ValidationError("inactive", inactive, "must be a duration of 0 or more")
    return _Options(
        stages=None if stages is None else as_stages(stages),
        inactive=gap,
        min_n=int(min_n),
        confidence=float(confidence),
        **columns,
    )


@attrs.frozen(eq=False)
class _Cells:
    """Every interaction's cell code and what the codes stand for."""

    cell: np.ndarray  # per interaction, 0 .. size - 1, cells in stage then touchpoint order
    keys: np.ndarray  # per cell, stage code * n_touchpoints + touchpoint code
    stage_labels: list[Any]
    touchpoint_labels: list[Any]

    @property
    def size(self) -> int:
        return len(self.keys)

    @property
    def n_touchpoints(self) -> int:
        return max(len(self.touchpoint_labels), 1)


def _cells_of(df: pd.DataFrame, opts: _Options) -> _Cells:
    if opts.stages is not None:
        stage_series = opts.stages.assign(df, stage=opts.stage, touchpoint=opts.touchpoint)
    else:
        stage_series = df[opts.stage]
    s_codes, stage_labels = _stage_labels(stage_series)
    stage_labels = _with_missing(s_codes, stage_labels, UNASSIGNED)
    t_codes, touchpoint_labels = _touchpoint_labels(df[opts.touchpoint])
    touchpoint_labels = _with_missing(t_codes, touchpoint_labels, NO_TOUCHPOINT)
    key = s_codes * max(len(touchpoint_labels), 1) + t_codes
    keys, cell = np.unique(key, return_inverse=True)
    return _Cells(cell.astype(np.int64).ravel(), keys, stage_labels, touchpoint_labels)


def _journey_columns(df: pd.DataFrame, cells: _Cells, opts: _Options) -> dict[str, Any]:
    """Customers, reach, visits, time before moving on and drop-off of every cell."""
    size, cell = cells.size, cells.cell
    identified = df[opts.customer].notna().to_numpy()
    rows = np.flatnonzero(identified)
    journeys = pd.DataFrame(
        {
            "case": df[opts.customer].to_numpy()[identified],
            "cell": cell[identified],
            "time": df[opts.time].iloc[rows].reset_index(drop=True),
        }
    )
    if opts.order is not None:
        _check_frame(df, "interactions", [opts.order])
        journeys["order"] = df[opts.order].iloc[rows].to_numpy()
    log = event_log(
        journeys,
        case="case",
        activity="cell",
        time="time",
        order=None if opts.order is None else "order",
    )
    # The log's activity codes index its sorted labels, which are our cell codes.
    steps = np.asarray(log.activities, dtype=np.int64)[log.activity] if log.n_events else cell[:0]
    n_customers = log.n_cases
    customers = np.bincount(np.unique(log.case * size + steps) % size, minlength=size)
    last = log.last
    if opts.inactive is not None:
        if not log.is_datetime:
            raise ValidationError("inactive", opts.inactive, "needs datetimes in the time column")
        latest = log.time.max() if log.n_events else 0
        last = last[latest - log.time[last] >= opts.inactive.value]
    ends = np.bincount(steps[last], minlength=size)
    # Visits: runs of consecutive interactions of one customer in one cell.
    change = np.r_[True, (log.case[1:] != log.case[:-1]) | (steps[1:] != steps[:-1])]
    starts = np.flatnonzero(change) if log.n_events else np.zeros(0, dtype=np.int64)
    moves_on = log.case[starts[1:]] == log.case[starts[:-1]]
    waited = (log.time[starts[1:]] - log.time[starts[:-1]])[moves_on]
    median, low, high, waited_n = _median_with_interval(
        steps[starts[:-1]][moves_on], waited, size, opts.confidence
    )
    reach_low, reach_high = wilson_interval(
        customers, np.full(size, n_customers), confidence=opts.confidence
    )
    drop_low, drop_high = wilson_interval(ends, customers, confidence=opts.confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        reach = customers / n_customers if n_customers else np.full(size, np.nan)
        dropoff = np.where(customers > 0, ends / customers, np.nan)

    def as_time(values: np.ndarray) -> Any:
        return pd.to_timedelta(values, unit="ns") if log.is_datetime else values

    return {
        "interactions": np.bincount(cell, minlength=size).astype(np.int64),
        "anonymous": np.bincount(cell[~identified], minlength=size).astype(np.int64),
        "customers": customers.astype(np.int64),
        "reach": reach,
        "reach_ci_low": reach_low,
        "reach_ci_high": reach_high,
        "visits": np.bincount(steps[starts], minlength=size).astype(np.int64),
        "time_to_next_n": waited_n.astype(np.int64),
        "time_to_next_median": as_time(median),
        "time_to_next_ci_low": as_time(low),
        "time_to_next_ci_high": as_time(high),
        "ends": ends.astype(np.int64),
        "dropoff": dropoff,
        "dropoff_ci_low": drop_low,
        "dropoff_ci_high": drop_high,
        "n_customers": n_customers,
    }


def _side_cells(
    side: pd.DataFrame, field: str, *, df: pd.DataFrame, cells: _Cells, opts: _Options
) -> tuple[np.ndarray, bool]:
    """The cell of every row of a feedback or sentiment frame (-1: no cell); by id or not."""
    on = opts.on
    if on is not None and on in side.columns and on in df.columns:
        ids = pd.Index(df[on])
        if not ids.is_unique:
            duplicated = ids[ids.duplicated()][0]
            raise ValidationError(
                str(on), duplicated, "identifies several interactions; it must be unique"
            )
        if side[on].isna().any():
            raise ValidationError(
                f"{field}.{on}", None, f"{int(side[on].isna().sum())} row(s) have no {on}"
            )
        rows = ids.get_indexer(side[on])
        return np.where(rows >= 0, cells.cell[np.maximum(rows, 0)], -1).astype(np.int64), True
    _check_frame(side, field, [opts.touchpoint] + ([] if opts.stages else [opts.stage]))
    if opts.stages is not None:
        side_stage = opts.stages.assign(side, stage=opts.stage, touchpoint=opts.touchpoint)
    else:
        side_stage = side[opts.stage]
    stage_values = side_stage.astype(object).where(side_stage.notna(), UNASSIGNED)
    tp = side[opts.touchpoint]
    tp_values = tp.astype(object).where(tp.notna(), NO_TOUCHPOINT)
    s_code = pd.Index(cells.stage_labels).get_indexer(stage_values)
    t_code = pd.Index(cells.touchpoint_labels).get_indexer(tp_values)
    found = pd.Index(cells.keys).get_indexer(s_code.astype(np.int64) * cells.n_touchpoints + t_code)
    return np.where((s_code >= 0) & (t_code >= 0), found, -1).astype(np.int64), False


def _build(
    interactions: pd.DataFrame,
    feedback: pd.DataFrame | None,
    sentiment: pd.DataFrame | None,
    opts: _Options,
) -> _Built:
    needed = [opts.customer, opts.time, opts.touchpoint] + ([] if opts.stages else [opts.stage])
    df = _check_frame(interactions, "interactions", needed)
    cells = _cells_of(df, opts)
    journeys = _journey_columns(df, cells, opts)
    n_customers = journeys.pop("n_customers")
    stage_codes = (cells.keys // cells.n_touchpoints).astype(np.int64)
    labels = [cells.touchpoint_labels[int(t)] for t in cells.keys % cells.n_touchpoints]
    table = pd.DataFrame(
        {
            "stage": pd.Categorical.from_codes(
                stage_codes, categories=pd.Index(cells.stage_labels, dtype=object), ordered=True
            ),
            "touchpoint": np.asarray(labels, dtype=object),
            **journeys,
        }
    )
    unmatched: dict[str, int] = {}
    sentiment_cells = None
    if sentiment is not None:
        _check_frame(sentiment, "sentiment", [opts.compound])
        sentiment_cells, by_id = _side_cells(sentiment, "sentiment", df=df, cells=cells, opts=opts)
        if by_id:
            _one_score_each(sentiment, opts.on)
        unmatched["sentiment"] = int((sentiment_cells < 0).sum())
    _sentiment_columns(table, sentiment, sentiment_cells, opts=opts)
    feedback_cells = None
    if feedback is not None:
        _check_frame(feedback, "feedback", [opts.score, "metric"])
        feedback_cells, _ = _side_cells(feedback, "feedback", df=df, cells=cells, opts=opts)
        unmatched["feedback"] = int((feedback_cells < 0).sum())
    _feedback_columns(table, feedback, feedback_cells, opts=opts)
    table["low_n"] = table["customers"].to_numpy() < opts.min_n
    table.attrs["customers"] = int(n_customers)
    table.attrs["unmatched"] = unmatched
    table.attrs["min_n"] = opts.min_n
    table.attrs["confidence"] = opts.confidence
    return _Built(table, feedback, feedback_cells, sentiment, sentiment_cells)


def _one_score_each(side: pd.DataFrame, on: Hashable | None) -> None:
    """Raise when a sentiment frame scores an interaction more than once (several analyzers)."""
    duplicated = side[on].duplicated()
    if duplicated.any():
        extra = ""
        if "analyzer" in side.columns and side["analyzer"].nunique() > 1:
            extra = f" (analyzers {sorted(map(str, side['analyzer'].unique()))}: keep one)"
        raise ValidationError(
            "sentiment",
            side[on][duplicated].iloc[0],
            f"scores {int(duplicated.sum())} interaction(s) more than once{extra}",
        )


def _sentiment_columns(
    table: pd.DataFrame,
    sentiment: pd.DataFrame | None,
    cells: np.ndarray | None,
    *,
    opts: _Options,
) -> None:
    size, compound, confidence = len(table), opts.compound, opts.confidence
    if sentiment is None or cells is None:
        table["sentiment_n"] = np.zeros(size, dtype=np.int64)
        for name in ("mean", "sd", "ci_low", "ci_high"):
            table[f"sentiment_{name}"] = np.full(size, np.nan)
        return
    try:
        values = sentiment[compound].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValidationError(str(compound), None, "sentiment scores must be numbers") from None
    wrong = np.isnan(values) | (values < -1) | (values > 1)
    if wrong.any():
        first = int(np.flatnonzero(wrong)[0])
        raise ValidationError(
            str(compound),
            sentiment[compound].iloc[first],
            f"{int(wrong.sum())} sentiment score(s) are missing or outside -1..1; drop them",
        )
    matched = cells >= 0
    groups, scores = cells[matched], values[matched]
    n = np.bincount(groups, minlength=size)
    centre = float(scores.mean()) if len(scores) else 0.0
    shifted = scores - centre
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(groups, weights=shifted, minlength=size) / n
        squares = np.bincount(groups, weights=shifted**2, minlength=size)
        variance = (squares - n * mean**2) / (n - 1)
    sd = np.where(n > 1, np.sqrt(np.clip(variance, 0, None)), np.nan)
    mean = mean + centre
    low, high = _t_interval(mean, sd, n, confidence)
    table["sentiment_n"] = n.astype(np.int64)
    table["sentiment_mean"] = mean
    table["sentiment_sd"] = sd
    table["sentiment_ci_low"] = np.clip(low, -1, 1)
    table["sentiment_ci_high"] = np.clip(high, -1, 1)


def _scatter(result: pd.DataFrame, column: str, size: int, fill: Any, dtype: Any) -> np.ndarray:
    out = np.full(size, fill, dtype=dtype)
    out[result[_CELL].to_numpy(dtype=np.int64)] = result[column].to_numpy(dtype=dtype)
    return out


def _feedback_columns(
    table: pd.DataFrame,
    feedback: pd.DataFrame | None,
    cells: np.ndarray | None,
    *,
    opts: _Options,
) -> None:
    size, score, confidence = len(table), opts.score, opts.confidence
    empty = pd.DataFrame({_CELL: np.zeros(0, dtype=np.int64)})
    nps_table = csat_table = empty
    if feedback is not None and cells is not None:
        matched = feedback.loc[cells >= 0].assign(**{_CELL: cells[cells >= 0]})
        metric = matched["metric"].astype(object).to_numpy()
        answers = matched.loc[metric == "nps"]
        if len(answers):
            nps_table = nps(
                answers, by=_CELL, score=str(score), metric=None, confidence=confidence, min_n=0
            )
        answers = matched.loc[metric == "csat"]
        if len(answers):
            csat_table = csat(
                answers, by=_CELL, score=str(score), metric=None, confidence=confidence, min_n=0
            )
    has_nps, has_csat = len(nps_table) > 0, len(csat_table) > 0
    table["nps_n"] = _scatter(nps_table, "n", size, 0, np.int64) if has_nps else 0
    for source, name in (("promoters", "nps_promoters"), ("detractors", "nps_detractors")):
        table[name] = _scatter(nps_table, source, size, 0, np.int64) if has_nps else 0
    for source, name in (("nps", "nps"), ("ci_low", "nps_ci_low"), ("ci_high", "nps_ci_high")):
        table[name] = _scatter(nps_table, source, size, np.nan, float) if has_nps else np.nan
    table["csat_n"] = _scatter(csat_table, "n", size, 0, np.int64) if has_csat else 0
    table["csat_satisfied"] = (
        _scatter(csat_table, "satisfied", size, 0, np.int64) if has_csat else 0
    )
    for source, name in (("csat", "csat"), ("ci_low", "csat_ci_low"), ("ci_high", "csat_ci_high")):
        table[name] = _scatter(csat_table, source, size, np.nan, float) if has_csat else np.nan
    for name in ("nps_n", "nps_promoters", "nps_detractors", "csat_n", "csat_satisfied"):
        table[name] = table[name].astype(np.int64)
    for name in ("nps", "nps_ci_low", "nps_ci_high", "csat", "csat_ci_low", "csat_ci_high"):
        table[name] = table[name].astype(float)


def journey_map(
    interactions: pd.DataFrame,
    *,
    feedback: pd.DataFrame | None = None,
    sentiment: pd.DataFrame | None = None,
    stages: Stages | Mapping[str, Any] | None = None,
    customer: Hashable = "customer_id",
    time: Hashable = "occurred_at",
    touchpoint: Hashable = "touchpoint",
    stage: Hashable = "stage",
    on: Hashable | None = "interaction_id",
    order: Hashable | None = None,
    score: Hashable = "score",
    compound: Hashable = "compound",
    inactive: str | pd.Timedelta | None = None,
    min_n: int = DEFAULT_MIN_N,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The journey map: one row per stage x touchpoint cell with its volume and experience.

    A cell is a (stage, touchpoint) pair that at least one interaction has. Every interaction
    lands in exactly one cell: interactions with no stage go to the stage
    :data:`UNASSIGNED` (``"(unassigned)"``, last), those with no touchpoint to the touchpoint
    :data:`NO_TOUCHPOINT` (``"(no touchpoint)"``), so nothing is dropped. A customer's
    journey is their interactions in time order (ties ordered as
    :func:`cxm.journey._events.event_log` documents); anonymous interactions (no customer)
    count in ``interactions`` and ``anonymous`` and their feedback counts, but they belong to
    no journey.

    - ``reach``: customers who had at least one interaction in the cell, over all customers
        in the frame (Wilson interval).
    - Visits and time before moving on: a *visit* is a run of consecutive interactions of one
        customer in the cell; the time before moving on is the time from the visit's first
        interaction to the customer's next interaction in another cell (another touchpoint,
        or the same touchpoint in another stage). Visits that end the journey have no such
        time and are left out of the median (they count in ``ends``). The median carries the
        distribution-free order-statistic interval (Conover 1999).
    - ``dropoff``: of the cell's customers, the share whose journey's last interaction is in
        the cell (Wilson interval). With ``inactive``, a journey counts as ended only when its
        last interaction is at least that long before the latest time in the frame, so
        customers still active are not counted as dropped off.
    - Sentiment: the mean ``compound`` score (-1..1) of the sentiment rows matched to the
        cell, with Student's t interval.
    - NPS and CSAT: :func:`cxm.metrics.nps` (adjusted Wald interval, Rocks 2016) and
        :func:`cxm.metrics.csat` (top-2-box share, Wilson interval) of the feedback rows whose
        ``metric`` is ``"nps"`` or ``"csat"`` matched to the cell.

    Feedback and sentiment rows are matched to cells by ``on`` (``interaction_id``) when both
    frames have that column, so stages assigned here apply to them too; otherwise by their own
    stage (re-assigned with ``stages`` when given) and touchpoint columns. Rows that match no
    cell are counted in ``table.attrs["unmatched"]``.

    Args:
        interactions: One row per interaction, e.g. ``ws.interactions()``.
        feedback: Feedback rows, e.g. ``ws.feedback()``: columns ``metric``, ``score`` and
            ``on`` (or the stage and touchpoint columns).
        sentiment: Sentiment rows, e.g. ``ws.sentiment()`` (one analyzer): ``compound`` and
            ``on`` (or the stage and touchpoint columns).
        stages: Stage definitions applied to the frames first (:class:`~cxm.journey.stages.Stages`
            or its dict); ``None`` uses the frame's ``stage`` column as it is. Rules that test
            kind, channel or direction read the columns of those names; rename first or call
            :func:`~cxm.journey.stages.assign_stages` for other names.
        customer: The customer column (missing: anonymous).
        time: The time column (datetimes, or numbers).
        touchpoint: The touchpoint column.
        stage: The stage column.
        on: The column that links feedback and sentiment rows to interactions.
        order: Optional column ordering interactions that share a time (e.g. ``on``).
        score: The feedback answers' column.
        compound: The sentiment score column.
        inactive: A duration (``"30D"``): only journeys quiet for at least this long by the
            end of the data count as ended. ``None``: every journey ends at its last
            interaction.
        min_n: Cells reached by fewer customers are flagged ``low_n``.
        confidence: Coverage of every interval.

    Returns:
        One row per cell, in stage order then touchpoint order (category order, else sorted),
        columns:

        - ``stage`` (ordered category: the stages, then ``"(unassigned)"`` when used);
        - ``touchpoint`` (object);
        - ``interactions`` (int64): interactions in the cell; ``anonymous`` (int64): of which
            without a customer;
        - ``customers`` (int64): distinct customers with an interaction in the cell;
        - ``reach``, ``reach_ci_low``, ``reach_ci_high`` (float64, share 0..1): customers over
            all customers in the frame, Wilson interval;
        - ``visits`` (int64): runs of consecutive interactions of a customer in the cell;
        - ``time_to_next_n`` (int64): visits followed by an interaction in another cell;
        - ``time_to_next_median``, ``time_to_next_ci_low``, ``time_to_next_ci_high``
            (timedelta64[ns], float64 for numeric times): median time before moving on and its
            order-statistic interval (NaT when too few visits);
        - ``ends`` (int64): customers whose journey ends in the cell;
        - ``dropoff``, ``dropoff_ci_low``, ``dropoff_ci_high`` (float64, share 0..1):
            ``ends / customers``, Wilson interval;
        - ``sentiment_n`` (int64), ``sentiment_mean``, ``sentiment_sd``,
            ``sentiment_ci_low``, ``sentiment_ci_high`` (float64, -1..1);
        - ``nps_n``, ``nps_promoters``, ``nps_detractors`` (int64), ``nps``, ``nps_ci_low``,
            ``nps_ci_high`` (float64, points -100..100);
        - ``csat_n``, ``csat_satisfied`` (int64), ``csat``, ``csat_ci_low``,
            ``csat_ci_high`` (float64, percent satisfied);
        - ``low_n`` (bool): ``customers < min_n``.

        ``attrs`` holds ``customers`` (all customers), ``unmatched`` (feedback and sentiment
        rows matched to no cell), ``min_n`` and ``confidence``.

    Raises:
        ValidationError: A column is missing or has missing times, an option is invalid, an
            answer is off its scale, a sentiment score is outside -1..1, or ``on`` is not
            unique among the interactions.

    Examples:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({
        ...     "customer_id": ["a", "a", "b", "b", "c"],
        ...     "occurred_at": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-01",
        ...                                    "2024-01-02", "2024-01-05"]),
        ...     "touchpoint": ["Ad", "Shop", "Ad", "Shop", "Ad"],
        ...     "stage": ["awareness", "purchase", "awareness", "purchase", "awareness"],
        ... })
        >>> table = journey_map(frame, min_n=2)
        >>> table[["stage", "touchpoint", "customers", "reach", "dropoff", "time_to_next_median"]]
               stage touchpoint  customers     reach   dropoff time_to_next_median
        0  awareness         Ad          3  1.000000  0.333333     1 days 12:00:00
        1   purchase       Shop          2  0.666667  1.000000                 NaT

    References:
        Conover, W. J. (1999). Practical nonparametric statistics (3rd ed.), section 3.2
        (confidence interval for a quantile). Wiley.
        Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
        inference. JASA, 22(158), 209-212.
        Rocks, B. (2016). Interval estimation for the "net promoter score". The American
        Statistician, 70(4), 365-372.
    """
    opts = _options(
        stages=stages,
        customer=customer,
        time=time,
        touchpoint=touchpoint,
        stage=stage,
        on=on,
        order=order,
        score=score,
        compound=compound,
        inactive=inactive,
        min_n=min_n,
        confidence=confidence,
    )
    return _build(interactions, feedback, sentiment, opts).table


# -- pain points ----------------------------------------------------------------------------

_MAP_COLUMNS = (
    "stage",
    "touchpoint",
    "interactions",
    "customers",
    "reach",
    "ends",
    "dropoff",
    "dropoff_ci_low",
    "dropoff_ci_high",
    "sentiment_n",
    "sentiment_mean",
    "sentiment_sd",
    "nps_n",
    "nps_promoters",
    "nps_detractors",
    "nps",
    "csat_n",
    "csat_satisfied",
    "csat",
)
_EXPERIENCE = ("nps", "csat", "sentiment")


def _overall(table: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    """A metric's cell values and n, its overall mean and its per-answer standard deviation."""
    if metric == "sentiment":
        x = table["sentiment_mean"].to_numpy(float)
        n = table["sentiment_n"].to_numpy(float)
    else:
        x = table[metric].to_numpy(float)
        n = table[f"{metric}_n"].to_numpy(float)
    total = n.sum()
    if total == 0:
        return x, n, np.nan, np.nan
    mean = float(np.nansum(n * x) / total)
    if metric == "nps":
        p = table["nps_promoters"].to_numpy(float).sum() / total
        d = table["nps_detractors"].to_numpy(float).sum() / total
        sd = 100 * np.sqrt(max(p + d - (p - d) ** 2, 0.0))
    elif metric == "csat":
        s = table["csat_satisfied"].to_numpy(float).sum() / total
        sd = 100 * np.sqrt(s * (1 - s))
    else:
        within = np.nansum((n - 1).clip(0) * table["sentiment_sd"].to_numpy(float) ** 2)
        between = np.nansum(n * (x - mean) ** 2)
        sd = float(np.sqrt((within + between) / (total - 1))) if total > 1 else np.nan
    return x, n, mean, float(sd)


def _shrunk_gap(x: np.ndarray, n: np.ndarray, mean: float, sd: float, k: float) -> np.ndarray:
    """How far below ``mean`` each cell is, in standard deviations, after shrinking to it."""
    if not np.isfinite(sd) or sd <= 0:
        return np.zeros(len(x))
    with np.errstate(invalid="ignore", divide="ignore"):
        shrunk = (n * np.nan_to_num(x) + k * mean) / (n + k)
    return np.where(n > 0, np.clip((mean - shrunk) / sd, 0, None), 0.0)


def _evidence_parts(
    row: pd.Series, overall: Mapping[str, float], gaps: Mapping[str, float]
) -> list[str]:
    parts = []
    for metric in sorted(gaps, key=lambda m: -gaps[m]):
        if gaps[metric] <= 0:
            continue
        mean = overall[metric]
        if metric == "nps":
            parts.append(
                f"NPS {row['nps']:+.0f} ({row['nps_ci_low']:+.0f}..{row['nps_ci_high']:+.0f}, "
                f"n={row['nps_n']}) vs overall {mean:+.0f}"
            )
        elif metric == "csat":
            parts.append(
                f"CSAT {row['csat']:.0f}% ({row['csat_ci_low']:.0f}..{row['csat_ci_high']:.0f}%, "
                f"n={row['csat_n']}) vs overall {mean:.0f}%"
            )
        else:
            parts.append(
                f"sentiment {row['sentiment_mean']:+.2f} ({row['sentiment_ci_low']:+.2f}.."
                f"{row['sentiment_ci_high']:+.2f}, n={row['sentiment_n']}) vs overall {mean:+.2f}"
            )
    return parts


def _examples(
    built: _Built,
    cells: np.ndarray,
    *,
    score: Hashable,
    compound: Hashable,
    comment: Hashable,
    text: Hashable,
    k: int,
) -> list[list[str]]:
    """Up to ``k`` of the most negative comments and texts of each of ``cells``."""
    if k == 0:
        return [[] for _ in cells]
    found: list[pd.DataFrame] = []
    fb, fb_cells = built.feedback, built.feedback_cells
    if fb is not None and fb_cells is not None and comment in fb.columns:
        metric = fb["metric"].astype(object).to_numpy()
        answers = fb[score].to_numpy(dtype=float, na_value=np.nan)
        defaults = np.where(metric == "nps", 0.0, 1.0), np.where(metric == "nps", 10.0, 5.0)
        low = fb["scale_min"].to_numpy(float) if "scale_min" in fb.columns else defaults[0]
        high = fb["scale_max"].to_numpy(float) if "scale_max" in fb.columns else defaults[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            position = (answers - low) / (high - low)
        negative = ((metric == "nps") & (answers <= 6)) | ((metric == "csat") & (position < 0.5))
        words = fb[comment].astype(object)
        keep = negative & (fb_cells >= 0) & words.map(lambda t: isinstance(t, str)).to_numpy()
        keep &= words.astype(str).str.strip().str.len().to_numpy() > 0
        found.append(
            pd.DataFrame({"cell": fb_cells[keep], "position": position[keep], "text": words[keep]})
        )
    se, se_cells = built.sentiment, built.sentiment_cells
    if se is not None and se_cells is not None and text in se.columns:
        values = se[compound].to_numpy(float) if compound in se.columns else None
        if values is not None:
            words = se[text].astype(object)
            keep = (values <= -0.05) & (se_cells >= 0)
            keep &= words.map(lambda t: isinstance(t, str) and bool(t.strip())).to_numpy()
            found.append(
                pd.DataFrame(
                    {
                        "cell": se_cells[keep],
                        "position": (values[keep] + 1) / 2,
                        "text": words[keep],
                    }
                )
            )
    if not found:
        return [[] for _ in cells]
    pool = pd.concat(found, ignore_index=True)
    pool = pool.loc[pool["cell"].isin(cells)].drop_duplicates(["cell", "text"])
    pool = pool.sort_values(["cell", "position", "text"], kind="stable")
    chosen = pool.groupby("cell", sort=False).head(k)
    lists = chosen.groupby("cell", sort=False)["text"].agg(list)
    return [list(lists.get(c, [])) for c in cells]


def pain_points(
    data: pd.DataFrame,
    top: int = 10,
    *,
    feedback: pd.DataFrame | None = None,
    sentiment: pd.DataFrame | None = None,
    stages: Stages | Mapping[str, Any] | None = None,
    customer: Hashable = "customer_id",
    time: Hashable = "occurred_at",
    touchpoint: Hashable = "touchpoint",
    stage: Hashable = "stage",
    on: Hashable | None = "interaction_id",
    order: Hashable | None = None,
    score: Hashable = "score",
    compound: Hashable = "compound",
    inactive: str | pd.Timedelta | None = None,
    expected_ends: Collection[Any] | None = None,
    min_n: int = DEFAULT_MIN_N,
    confidence: float = 0.95,
    examples: int = 3,
    comment: Hashable = "comment",
    text: Hashable = "text",
) -> pd.DataFrame:
    """Rank the cells of the journey map that hurt most, with the evidence for each.

    A cell is a pain point when its experience is worse than the overall experience or more
    journeys end there than usual, and it matters more the more customers pass through it.
    For each cell ``c``:

    - *Experience gap*: for each of NPS, CSAT and sentiment that the cell has answers for,
        the cell's value is first shrunk toward the overall value ``mu`` (the answer-weighted
        mean over all cells) as if ``min_n`` extra answers at ``mu`` were added:
        ``x~ = (n x + min_n mu) / (n + min_n)``. The gap is ``max(0, (mu - x~) / sigma)``,
        with ``sigma`` the standard deviation of single answers overall (so the gap is in
        standard units, like Cohen's d, and comparable across metrics). The cell's experience
        gap is its largest gap; ``worst_metric`` names it.
    - *Drop-off excess*: likewise ``d~ = (ends + min_n d) / (customers + min_n)`` for the
        overall drop-off ``d = sum(ends) / sum(customers)`` over the cells not in
        ``expected_ends``, and ``max(0, (d~ - d) / sqrt(d (1 - d)))``. Cells in an
        ``expected_ends`` stage (by default the last stage, where journeys are meant to end)
        have no drop-off excess.
    - ``score = reach * (experience_gap + dropoff_excess)``: the share of customers who
        reach the cell times how far below par it is.

    The shrinkage makes a cell with few answers or customers count only as far as its
    evidence goes: a cell with ``min_n`` answers has half its raw gap, one with ten times as
    many almost all of it, so a handful of angry answers cannot top the list (Efron & Morris
    1975). Cells with a score of 0 (at or above par everywhere) are not listed.

    Args:
        data: A :func:`journey_map` table, or the interactions to build one from (with the
            other arguments, as for :func:`journey_map`). Only from interactions can the most
            negative comments be quoted.
        top: How many pain points to return at most.
        feedback: Feedback rows (see :func:`journey_map`), when ``data`` is interactions.
        sentiment: Sentiment rows (see :func:`journey_map`), when ``data`` is interactions.
        stages: As for :func:`journey_map`.
        customer: As for :func:`journey_map`.
        time: As for :func:`journey_map`.
        touchpoint: As for :func:`journey_map`.
        stage: As for :func:`journey_map`.
        on: As for :func:`journey_map`.
        order: As for :func:`journey_map`.
        score: As for :func:`journey_map`.
        compound: As for :func:`journey_map`.
        inactive: As for :func:`journey_map`.
        expected_ends: Stages where journeys are expected to end, so drop-off there is no
            pain; ``None``: the last stage of the map's stage order; ``()``: none.
        min_n: Shrinkage strength (pseudo-answers and pseudo-customers at the overall value);
            also the ``low_n`` threshold when the map is built here.
        confidence: Coverage of the intervals when the map is built here.
        examples: How many of the most negative comments (detractors' and dissatisfied
            customers' comments, negative texts) to quote per pain point.
        comment: The feedback comment column.
        text: The sentiment frame's text column.

    Returns:
        One row per pain point, worst first, columns:

        - ``rank`` (int64, from 1), ``stage`` (category), ``touchpoint`` (object);
        - ``score`` (float64), ``experience_gap`` (float64, standard units), ``worst_metric``
            (object: ``"nps"``, ``"csat"``, ``"sentiment"`` or None), ``dropoff_excess``
            (float64, standard units);
        - ``reach`` (float64, share), ``customers``, ``interactions`` (int64);
        - the evidence, from the map: ``nps``, ``nps_ci_low``, ``nps_ci_high`` (float64),
            ``nps_n`` (int64); ``csat``, ``csat_ci_low``, ``csat_ci_high`` (float64),
            ``csat_n`` (int64); ``sentiment_mean``, ``sentiment_ci_low``,
            ``sentiment_ci_high`` (float64), ``sentiment_n`` (int64); ``dropoff``,
            ``dropoff_ci_low``, ``dropoff_ci_high`` (float64), ``ends`` (int64);
        - ``overall_nps``, ``overall_csat``, ``overall_sentiment``, ``overall_dropoff``
            (float64): the values each cell is compared with;
        - ``low_n`` (bool): fewer than ``min_n`` customers reached the cell;
        - ``evidence`` (str): the above in words, e.g. ``"NPS -32 (-45..-19, n=120) vs
            overall +12; 41% of its customers' journeys end here (35..47%, 98 of 240) vs 18%
            overall; reached by 24% of customers (240)"``;
        - ``examples`` (object: list of str), only when ``data`` is interactions: the most
            negative comments and texts of the cell, worst first.

    Raises:
        ValidationError: ``data`` is neither a journey map nor interactions, ``feedback`` or
            ``sentiment`` is given with a journey map, or an option is invalid.

    Examples:
        >>> import pandas as pd
        >>> table = pd.DataFrame({
        ...     "stage": pd.Categorical(["evaluation", "purchase", "post_purchase"],
        ...                             categories=["evaluation", "purchase", "post_purchase"],
        ...                             ordered=True),
        ...     "touchpoint": ["Web", "Checkout", "Support"],
        ...     "interactions": [900, 400, 300], "customers": [300, 200, 150],
        ...     "reach": [1.0, 0.67, 0.5], "ends": [100, 60, 140],
        ...     "dropoff": [0.33, 0.3, 0.93], "dropoff_ci_low": [0.28, 0.24, 0.88],
        ...     "dropoff_ci_high": [0.39, 0.37, 0.96],
        ...     "sentiment_n": [0, 0, 0], "sentiment_mean": [float("nan")] * 3,
        ...     "sentiment_sd": [float("nan")] * 3,
        ...     "nps_n": [0, 100, 100], "nps_promoters": [0, 50, 50],
        ...     "nps_detractors": [0, 10, 50], "nps": [float("nan"), 40.0, 0.0],
        ...     "nps_ci_low": [float("nan"), 26.0, -15.0], "nps_ci_high": [float("nan"), 52.0, 15.0],
        ...     "csat_n": [0, 0, 0], "csat_satisfied": [0, 0, 0], "csat": [float("nan")] * 3,
        ... })
        >>> pain = pain_points(table, expected_ends=())
        >>> pain[["rank", "touchpoint", "worst_metric"]]
           rank touchpoint worst_metric
        0     1    Support          nps
        >>> print(pain["evidence"].iloc[0])
        NPS +0 (-15..+15, n=100) vs overall +20; 93% of its customers' journeys end here (88..96%, 140 of 150) vs 46% overall; reached by 50% of customers (150)

    References:
        Efron, B., & Morris, C. (1975). Data analysis using Stein's estimator and its
        generalizations. JASA, 70(350), 311-319.
        Cohen, J. (1988). Statistical power analysis for the behavioral sciences (2nd ed.).
    """  # noqa: E501
    _whole("top", top, 1)
    _whole("examples", examples, 0)
    if not isinstance(data, pd.DataFrame):
        raise ValidationError("data", type(data).__name__, "must be a journey map or interactions")
    built: _Built | None = None
    if all(column in data.columns for column in _MAP_COLUMNS):
        if feedback is not None or sentiment is not None:
            raise ValidationError(
                "data",
                "journey map",
                "feedback and sentiment are read when building the map: pass the "
                "interactions, or build the map with them first",
            )
        _whole("min_n", min_n, 0)
        table = data.reset_index(drop=True)
    else:
        opts = _options(
            stages=stages,
            customer=customer,
            time=time,
            touchpoint=touchpoint,
            stage=stage,
            on=on,
            order=order,
            score=score,
            compound=compound,
            inactive=inactive,
            min_n=min_n,
            confidence=confidence,
        )
        built = _build(data, feedback, sentiment, opts)
        table = built.table
    k = float(min_n)
    gaps, overall = _experience_gaps(table, k)
    stacked = np.column_stack([gaps[m] for m in _EXPERIENCE])
    experience = stacked.max(axis=1) if len(table) else np.zeros(0)
    excess, overall["dropoff"] = _dropoff_excess(table, expected_ends, k)
    score_values = np.nan_to_num(table["reach"].to_numpy(float)) * (experience + excess)
    # Worst first; equal scores keep the map's stage and touchpoint order.
    ranked = np.lexsort((np.arange(len(table)), -score_values))
    ranked = ranked[score_values[ranked] > 0][:top]
    rows = table.iloc[ranked].reset_index(drop=True)
    worst = np.asarray(_EXPERIENCE, dtype=object)[stacked.argmax(axis=1)] if len(table) else []
    out = pd.DataFrame(
        {
            "rank": np.arange(1, len(ranked) + 1, dtype=np.int64),
            "stage": rows["stage"],
            "touchpoint": rows["touchpoint"],
            "score": score_values[ranked],
            "experience_gap": experience[ranked],
            "worst_metric": pd.Series(
                [worst[c] if experience[c] > 0 else None for c in ranked], dtype=object
            ),
            "dropoff_excess": excess[ranked],
            "reach": rows["reach"].to_numpy(float),
            "customers": rows["customers"].to_numpy(np.int64),
            "interactions": rows["interactions"].to_numpy(np.int64),
        }
    )
    for column in _EVIDENCE_COLUMNS:
        integer = column.endswith("_n") or column == "ends"
        if column in rows.columns:
            out[column] = rows[column].to_numpy(np.int64 if integer else float)
        else:  # a hand-made map without the interval: the evidence says nan
            out[column] = np.nan
    for name in (*_EXPERIENCE, "dropoff"):
        out[f"overall_{name}"] = overall[name]
    out["low_n"] = rows["customers"].to_numpy() < min_n
    out["evidence"] = pd.Series(
        [
            _evidence(out.iloc[i], overall, {m: float(gaps[m][c]) for m in _EXPERIENCE}, min_n)
            for i, c in enumerate(ranked)
        ],
        dtype=object,
    )
    if built is not None:
        quoted = _examples(
            built, ranked, score=score, compound=compound, comment=comment, text=text, k=examples
        )
        out["examples"] = pd.Series(quoted, dtype=object)
    return out


_EVIDENCE_COLUMNS = (
    "nps",
    "nps_ci_low",
    "nps_ci_high",
    "nps_n",
    "csat",
    "csat_ci_low",
    "csat_ci_high",
    "csat_n",
    "sentiment_mean",
    "sentiment_ci_low",
    "sentiment_ci_high",
    "sentiment_n",
    "dropoff",
    "dropoff_ci_low",
    "dropoff_ci_high",
    "ends",
)


def _experience_gaps(
    table: pd.DataFrame, k: float
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    gaps: dict[str, np.ndarray] = {}
    overall: dict[str, float] = {}
    for metric in _EXPERIENCE:
        x, n, mean, sd = _overall(table, metric)
        overall[metric] = mean
        gaps[metric] = _shrunk_gap(x, n, mean, sd, k)
    return gaps, overall


def _dropoff_excess(
    table: pd.DataFrame, expected_ends: Collection[Any] | None, k: float
) -> tuple[np.ndarray, float]:
    """Each cell's shrunk drop-off above the overall, in standard units, and the overall."""
    stage_values = table["stage"]
    if expected_ends is None:
        categories = (
            list(stage_values.cat.categories)
            if isinstance(stage_values.dtype, pd.CategoricalDtype)
            else list(pd.unique(stage_values.dropna()))
        )
        expected = set([c for c in categories if c != UNASSIGNED][-1:])
    elif isinstance(expected_ends, str) or not isinstance(expected_ends, Collection):
        raise ValidationError("expected_ends", expected_ends, "must be a list of stages")
    else:
        expected = {_plain_stage(s) for s in expected_ends}
    counted = ~stage_values.astype(object).isin(expected).to_numpy()
    ends = table["ends"].to_numpy(float)
    customers = table["customers"].to_numpy(float)
    total = customers[counted].sum()
    base = float(ends[counted].sum() / total) if total else np.nan
    if not (np.isfinite(base) and 0 < base < 1):
        return np.zeros(len(table)), base
    with np.errstate(invalid="ignore", divide="ignore"):
        shrunk = (ends + k * base) / (customers + k)
    excess = np.clip((shrunk - base) / np.sqrt(base * (1 - base)), 0, None)
    return np.where(counted & (customers > 0), np.nan_to_num(excess), 0.0), base


def _plain_stage(value: Any) -> Any:
    return getattr(value, "value", value)


def _evidence(
    row: pd.Series, overall: Mapping[str, float], gaps: Mapping[str, float], min_n: int
) -> str:
    parts = _evidence_parts(row, overall, gaps)
    if row["dropoff_excess"] > 0:
        parts.append(
            f"{row['dropoff']:.0%} of its customers' journeys end here "
            f"({row['dropoff_ci_low'] * 100:.0f}..{row['dropoff_ci_high'] * 100:.0f}%, "
            f"{row['ends']} of {row['customers']}) vs {overall['dropoff']:.0%} overall"
        )
    parts.append(f"reached by {row['reach']:.0%} of customers ({row['customers']})")
    if row["low_n"]:
        parts.append(f"few customers ({row['customers']} < {min_n}): shrunk toward overall")
    return "; ".join(parts)
