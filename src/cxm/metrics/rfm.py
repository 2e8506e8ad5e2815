"""RFM: score customers on recency, frequency and monetary value, and name their segment.

Recency (days since the last purchase), frequency (how many purchases) and monetary value
(how much was spent) are the three facts of purchase history that best predict the next
purchase (Hughes 1994). Each is turned into a score from 1 to ``bins`` (5 by default) by its
quantile among the customers, higher being better (recent, frequent, big spenders), and the
three scores give the customer's cell (``"555"``). A rule table on R and on the mean of F and
M names the cell's segment: Champions, Loyal, Potential loyalist, New customers, Promising,
Need attention, About to sleep, At risk, Cannot lose them, Hibernating and Lost. The table is
a partition: every combination of scores has exactly one segment.

Scores are rank based and ties share a score: a customer's score is
``1 + floor(bins * (rank - 1) / n)`` where ``rank`` is the smallest rank among the customers
with the same value ("competition" ranking). With distinct values the scores split the
customers into equal bins; a value shared by many customers (one purchase, the usual case for
frequency) keeps them together in the score of its first position, so some scores may be
unused rather than customers with the same history being split at random.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from scipy import stats

from cxm.exceptions import ValidationError

__all__ = ["RFM_SEGMENTS", "rfm", "rfm_segment_rules", "rfm_segments"]

RFM_SEGMENTS = (
    "Champions",
    "Loyal",
    "Potential loyalist",
    "New customers",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Cannot lose them",
    "Hibernating",
    "Lost",
)
"""The segment names, best first: the order of the ``segment`` column's categories."""

# (segment, lowest R, highest R, lowest FM, highest FM), on the 5-point scale, bounds
# included; FM = (F + M) / 2 moves in half points. The rows tile R 1..5 x FM 1..5.
_RULES: tuple[tuple[str, int, int, float, float, str], ...] = (
    ("Champions", 4, 5, 4.0, 5.0, "bought recently, buy often and spend the most"),
    ("Loyal", 4, 5, 3.0, 3.5, "recent, regular buyers with good spend"),
    ("Loyal", 3, 3, 4.0, 5.0, "frequent, high spenders whose last purchase is less recent"),
    ("Potential loyalist", 4, 5, 2.0, 2.5, "recent customers with a few purchases"),
    ("New customers", 5, 5, 1.0, 1.5, "bought very recently, for the first time or little"),
    ("Promising", 4, 4, 1.0, 1.5, "recent shoppers who have not bought much yet"),
    ("Need attention", 3, 3, 2.0, 3.5, "average on all three, starting to slip"),
    ("About to sleep", 3, 3, 1.0, 1.5, "below average recency, few and small purchases"),
    ("At risk", 2, 2, 3.0, 5.0, "bought often and spent well, but long ago"),
    ("At risk", 1, 1, 3.0, 3.5, "bought often and spent well, but very long ago"),
    ("Cannot lose them", 1, 1, 4.0, 5.0, "the best customers once, gone quiet the longest"),
    ("Hibernating", 2, 2, 1.0, 2.5, "last purchase long ago, few and small purchases"),
    ("Hibernating", 1, 1, 2.0, 2.5, "last purchase very long ago, a few small purchases"),
    ("Lost", 1, 1, 1.0, 1.5, "lowest on all three"),
)
_FM_STEPS = 9  # FM = 1, 1.5, ..., 5


def rfm_segment_rules() -> pd.DataFrame:
    """The rule table that names each RFM cell's segment.

    R is the recency score and FM the mean of the frequency and monetary scores, both on the
    5-point scale; a customer belongs to the row whose ranges (bounds included) hold their R
    and FM. The rows tile every combination of R = 1..5 and FM = 1, 1.5, ..., 5, so each of
    the 125 cells has exactly one segment. With ``bins`` other than 5 the scores are first
    mapped onto 1..5 (see :func:`rfm`).

    Returns:
        One row per rule, columns ``segment`` (str), ``r_min``, ``r_max`` (int64),
        ``fm_min``, ``fm_max`` (float64) and ``description`` (str).

    Examples:
        >>> rules = rfm_segment_rules()
        >>> rules.loc[rules["segment"] == "Champions", ["r_min", "r_max", "fm_min", "fm_max"]]
           r_min  r_max  fm_min  fm_max
        0      4      5     4.0     5.0
    """
    return pd.DataFrame(
        _RULES, columns=["segment", "r_min", "r_max", "fm_min", "fm_max", "description"]
    ).astype({"r_min": np.int64, "r_max": np.int64})


def _segment_grid() -> np.ndarray:
    """Segment code for each (R - 1, 2 * FM - 2) cell of the 5-point scale."""
    grid = np.full((5, _FM_STEPS), -1, dtype=np.int8)
    for segment, r_min, r_max, fm_min, fm_max, _ in _RULES:
        code = RFM_SEGMENTS.index(segment)
        rows = slice(r_min - 1, r_max)
        columns = slice(int(2 * fm_min) - 2, int(2 * fm_max) - 1)
        grid[rows, columns] = code
    return grid


_GRID = _segment_grid()


def _scores(values: np.ndarray, bins: int) -> np.ndarray:
    """Quantile score 1..bins of each value; ties share the score of their lowest rank."""
    n = len(values)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    rank = np.asarray(stats.rankdata(values, method="min"), dtype=np.int64)
    return np.asarray((bins * (rank - 1)) // n + 1, dtype=np.int64)


def _whole_number(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _to_five(scores: np.ndarray, bins: int) -> np.ndarray:
    """Map scores 1..bins linearly onto 1..5 (identity for bins = 5)."""
    return 1 + (scores - 1) * 4 / (bins - 1)


def _segments(r: np.ndarray, f: np.ndarray, m: np.ndarray, bins: int) -> pd.Categorical:
    r5 = np.floor(_to_five(r, bins) + 0.5).astype(np.intp)
    fm_steps = np.floor(2 * _to_five((f + m) / 2, bins) + 0.5).astype(np.intp) - 2
    codes = _GRID[r5 - 1, fm_steps]
    categories = pd.CategoricalDtype(list(RFM_SEGMENTS))
    return cast("pd.Categorical", pd.Categorical.from_codes(codes, dtype=categories))


def _days(times: pd.Series) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01) of the times' wall-clock dates."""
    if getattr(times.dtype, "tz", None) is not None:
        times = times.dt.tz_localize(None)
    return np.asarray(times.to_numpy().astype("datetime64[D]").astype(np.int64))


def _as_of_day(as_of: Any, times: pd.Series) -> int:
    try:
        stamp = pd.Timestamp(as_of)
    except (TypeError, ValueError):
        raise ValidationError("as_of", as_of, "must be a date, datetime or ISO string") from None
    if pd.isna(stamp):
        raise ValidationError("as_of", as_of, "must be a date, datetime or ISO string")
    tz = getattr(times.dtype, "tz", None)
    if stamp.tzinfo is not None:
        stamp = (stamp.tz_convert(tz) if tz is not None else stamp).tz_localize(None)
    return int(np.datetime64(stamp.date(), "D").astype(np.int64))


def rfm(
    df: pd.DataFrame,
    *,
    customer: str = "customer_id",
    time: str = "occurred_at",
    value: str = "value",
    as_of: dt.date | dt.datetime | str | None = None,
    bins: int = 5,
    monetary: Literal["sum", "mean"] = "sum",
) -> pd.DataFrame:
    """Recency, frequency and monetary value per customer, their 1..bins scores and segment.

    Every row is one purchase. Recency is counted in calendar days (in the time column's time
    zone) from the date of the customer's last purchase to the ``as_of`` date, which by default
    is the day after the last purchase in the data, so the latest buyers have recency 1.
    Frequency is the number of purchases, monetary the total spend (or the mean per purchase).

    Scores run from 1 to ``bins``, higher is better: R ranks recency from the longest ago to
    the latest, F and M rank from the fewest and smallest to the most and largest. A score is
    ``1 + floor(bins * (rank - 1) / n)`` over the n customers, where tied customers all take
    the smallest rank of their group, so customers with the same value always share a score
    and the lowest value always scores 1. The segment comes from R and FM = (F + M) / 2 through
    :func:`rfm_segment_rules`; with ``bins`` other than 5 the scores are first mapped onto
    1..5 (``1 + 4 * (score - 1) / (bins - 1)``) and rounded to the nearest whole R and half FM.

    Rows without a customer (anonymous purchases) cannot be scored and are left out.

    Args:
        df: One row per purchase, e.g. ``ws.interactions(kind="purchase")``.
        customer: The customer column.
        time: The purchase time column (datetimes, time zone aware or naive).
        value: The purchase value column (money; refunds may be negative).
        as_of: The date recency is counted to; every purchase must be on or before it.
            ``None``: the day after the last purchase in the data.
        bins: How many scores, from 2 to 9 (so a cell is three digits).
        monetary: ``"sum"`` (total spend, the default) or ``"mean"`` (spend per purchase).

    Returns:
        One row per customer, sorted by customer, columns:

        - the ``customer`` column;
        - ``last_purchase`` (the time column's dtype): the latest purchase;
        - ``recency`` (int64): days from the last purchase's date to ``as_of``;
        - ``frequency`` (int64): purchases;
        - ``monetary`` (float64): total (or mean) value;
        - ``r_score``, ``f_score``, ``m_score`` (int64): 1..bins, higher is better;
        - ``rfm_cell`` (str): the three scores, e.g. ``"545"``;
        - ``segment`` (category of :data:`RFM_SEGMENTS`).

    Raises:
        ValidationError: If a column is missing, times are not datetimes or are missing,
            values are not numbers or are missing, a purchase falls after ``as_of``, or an
            option is invalid.

    Examples:
        >>> import pandas as pd
        >>> purchases = pd.DataFrame({
        ...     "customer_id": ["a", "a", "a", "b", "c"],
        ...     "occurred_at": pd.to_datetime(
        ...         ["2024-01-05", "2024-03-01", "2024-03-30", "2024-02-01", "2024-03-31"]),
        ...     "value": [20.0, 35.0, 50.0, 15.0, 5.0],
        ... })
        >>> table = rfm(purchases, bins=3)
        >>> table[["customer_id", "recency", "frequency", "monetary", "rfm_cell"]]
          customer_id  recency  frequency  monetary rfm_cell
        0           a        2          3     105.0      233
        1           b       60          1      15.0      112
        2           c        1          1       5.0      311

    References:
        Hughes, A. M. (1994). Strategic database marketing. Probus.
        Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: using iso-value
        curves for customer base analysis. Journal of Marketing Research, 42(4), 415-430.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValidationError("df", type(df).__name__, "must be a pandas DataFrame")
    if not _whole_number(bins) or not 2 <= bins <= 9:
        raise ValidationError("bins", bins, "must be a whole number from 2 to 9")
    if monetary not in ("sum", "mean"):
        raise ValidationError("monetary", monetary, "must be 'sum' or 'mean'")
    missing = [str(c) for c in (customer, time, value) if c not in df.columns]
    if missing:
        raise ValidationError(
            "df", ", ".join(missing), f"column(s) missing; the frame has {list(df.columns)}"
        )
    frame = df.loc[df[customer].notna().to_numpy()]
    times = frame[time]
    if not pd.api.types.is_datetime64_any_dtype(times):
        raise ValidationError(time, str(times.dtype), "must hold datetimes")
    if times.isna().any():
        raise ValidationError(
            time, None, f"{int(times.isna().sum())} purchase(s) have no time; drop or fix them"
        )
    if isinstance(frame[value].dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(
        frame[value]
    ):
        raise ValidationError(value, str(frame[value].dtype), "must hold numbers (money)")
    amounts = frame[value].to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(amounts).any():
        raise ValidationError(
            value,
            None,
            f"{int(np.isnan(amounts).sum())} purchase(s) have no value; keep only purchases "
            "(e.g. kind='purchase') or fill the missing values first",
        )

    codes, customers = pd.factorize(frame[customer], sort=True)
    size = len(customers)
    days = _days(times)
    ticks = np.asarray(times.array.asi8, dtype=np.int64)
    frequency = np.bincount(codes, minlength=size).astype(np.int64)
    # Sorted by customer then time, each customer's last row is their last purchase.
    order = np.lexsort((ticks, codes))
    last_row = order[np.cumsum(frequency) - 1]
    last_day = days[last_row]
    spend: np.ndarray = np.bincount(codes, weights=amounts, minlength=size)
    if monetary == "mean":
        spend = spend / np.maximum(frequency, 1)

    if as_of is None:
        as_of_day = int(days.max()) + 1 if len(days) else 0
    else:
        as_of_day = _as_of_day(as_of, times)
        late = days > as_of_day
        if late.any():
            raise ValidationError(
                "as_of",
                as_of,
                f"{int(late.sum())} purchase(s) fall after it (the latest on "
                f"{times[late].max()}); filter them out first",
            )
    recency = (as_of_day - last_day).astype(np.int64)

    r_score = _scores(-recency, bins)
    f_score = _scores(frequency, bins)
    m_score = _scores(spend, bins)
    cell = np.char.add(np.char.add(r_score.astype(str), f_score.astype(str)), m_score.astype(str))
    return pd.DataFrame(
        {
            customer: customers,
            "last_purchase": times.iloc[last_row].reset_index(drop=True),
            "recency": recency,
            "frequency": frequency,
            "monetary": spend.astype(float),
            "r_score": r_score,
            "f_score": f_score,
            "m_score": m_score,
            "rfm_cell": cell.astype(object),
            "segment": _segments(r_score, f_score, m_score, bins),
        }
    )


_RFM_COLUMNS = ("recency", "frequency", "monetary", "r_score", "f_score", "m_score", "segment")


def rfm_segments(
    df: pd.DataFrame,
    *,
    customer: str = "customer_id",
    time: str = "occurred_at",
    value: str = "value",
    as_of: dt.date | dt.datetime | str | None = None,
    bins: int = 5,
    monetary: Literal["sum", "mean"] = "sum",
) -> pd.DataFrame:
    """How many customers each RFM segment holds, what they are worth and their mean scores.

    Args:
        df: Either the table :func:`rfm` returned, or purchases, which are scored first with
            the other arguments (see :func:`rfm`).
        customer: The customer column of the purchases.
        time: The purchase time column.
        value: The purchase value column.
        as_of: The date recency is counted to; default the day after the last purchase.
        bins: How many scores, from 2 to 9.
        monetary: ``"sum"`` or ``"mean"`` spend per customer.

    Returns:
        One row per segment, every segment of :data:`RFM_SEGMENTS` in that order (empty
        ones with ``n`` 0 and NaN means), columns:

        - ``segment`` (category);
        - ``n`` (int64): customers; ``share`` (float64): of all customers, 0..1;
        - ``monetary_total`` (float64): the segment's value;
        - ``monetary_share`` (float64): of all value, 0..1 (NaN when the total is 0);
        - ``recency_mean``, ``frequency_mean``, ``monetary_mean`` (float64): days, purchases, money;
        - ``r_score_mean``, ``f_score_mean``, ``m_score_mean`` (float64).

        The segments describe the whole customer base, not a sample, so no intervals are
        attached.

    Raises:
        ValidationError: As :func:`rfm` does.

    Examples:
        >>> import pandas as pd
        >>> purchases = pd.DataFrame({
        ...     "customer_id": ["a", "a", "b"],
        ...     "occurred_at": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-02-01"]),
        ...     "value": [20.0, 35.0, 15.0],
        ... })
        >>> summary = rfm_segments(purchases)
        >>> int(summary["n"].sum()), float(summary["share"].sum())
        (2, 1.0)
    """
    if set(_RFM_COLUMNS) <= set(df.columns):
        table = df
    else:
        table = rfm(
            df,
            customer=customer,
            time=time,
            value=value,
            as_of=as_of,
            bins=bins,
            monetary=monetary,
        )
    segment = table["segment"]
    if isinstance(segment.dtype, pd.CategoricalDtype) and list(segment.cat.categories) == list(
        RFM_SEGMENTS
    ):
        codes = segment.cat.codes.to_numpy().astype(np.int64)
    else:
        lookup: dict[Hashable, int] = {name: i for i, name in enumerate(RFM_SEGMENTS)}
        codes = np.array([lookup.get(s, -1) for s in segment], dtype=np.int64)
    if (codes < 0).any():
        raise ValidationError("segment", segment[codes < 0].iloc[0], "is not an RFM segment")
    k = len(RFM_SEGMENTS)
    n = np.bincount(codes, minlength=k).astype(np.int64)
    total_customers = int(n.sum())

    def total(column: str) -> np.ndarray:
        return np.bincount(codes, weights=table[column].to_numpy(dtype=float), minlength=k)

    with np.errstate(invalid="ignore", divide="ignore"):
        share = n / total_customers if total_customers else np.full(k, np.nan)
        value_total = total("monetary")
        grand = float(value_total.sum())
        result = pd.DataFrame(
            {
                "segment": pd.Categorical(list(RFM_SEGMENTS), categories=list(RFM_SEGMENTS)),
                "n": n,
                "share": share,
                "monetary_total": value_total,
                "monetary_share": value_total / grand if grand != 0 else np.full(k, np.nan),
                "recency_mean": total("recency") / n,
                "frequency_mean": total("frequency") / n,
                "monetary_mean": value_total / n,
                "r_score_mean": total("r_score") / n,
                "f_score_mean": total("f_score") / n,
                "m_score_mean": total("m_score") / n,
            }
        )
    return result
