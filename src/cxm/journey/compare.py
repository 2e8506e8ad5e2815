"""Segment comparison: which touchpoints and transitions set one segment's journeys apart.

Detractors and promoters (or churned and retained customers) went through journeys; the
question is which steps turn up more often in one segment's journeys than in the other's. Each
customer's journey is reduced to the set of its items, the touchpoints it contains and its
directly-follows transitions ``A -> B``, and for every item the share of each segment's
customers whose journey contains it at least once is compared: a difference in shares with
Newcombe's hybrid score interval, an odds ratio with Woolf's interval, a two-sided p-value (the
two-proportion z test, or Fisher's exact test where counts are small) and a p-value adjusted for
the many items tested at once (Benjamini-Hochberg by default). Counting customers rather than
events keeps one customer who called twenty times from weighing as much as twenty customers.
All counting is done on the integer codes of :func:`cxm.journey._events.event_log` with
``np.unique`` and ``np.bincount``; there is no loop over customers or events.

An association is not a cause. Touchpoints a customer went through *after* the survey answer
that put them in a segment cannot have caused that answer (a detractor who is then called back
by a retention team makes "retention call" over-represented among detractors); pass
``before=`` with each customer's answer time (:func:`nps_response_times`) to compare only the
part of each journey before it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from cxm.exceptions import ValidationError
from cxm.journey._events import EventLog, event_log, time_values
from cxm.metrics.feedback import _validated_scores, wilson_interval
from cxm.metrics.monitoring import benjamini_hochberg

__all__ = ["compare_journeys", "nps_response_times", "nps_segments"]

ItemKind = Literal["touchpoint", "transition"]
Correction = Literal["fdr_bh", "bonferroni", "none"]
TestChoice = Literal["auto", "z", "fisher"]
NPSWhich = Literal["last", "first", "mean"]

DEFAULT_MIN_N = 30
"""Segments with fewer customers than this are flagged ``low_n``."""
_ITEM_KINDS: tuple[ItemKind, ...] = ("touchpoint", "transition")
_CORRECTIONS = ("fdr_bh", "bonferroni", "none")
_TESTS = ("auto", "z", "fisher")
_WHICH = ("last", "first", "mean")
NPS_SEGMENTS = ("detractor", "passive", "promoter")
"""The labels :func:`nps_segments` gives, in the order of its categorical's categories."""
_FISHER_BELOW = 5.0
"""Fisher's exact test is used when an expected cell count falls below this (Cochran 1954)."""
_FISHER_TOLERANCE = 1e-7
"""Tables whose probability is within this relative margin of the observed one count as at
least as extreme (the tolerance of R's ``fisher.test``), so floating-point noise does not drop
tables that are exactly as likely."""


# -- validation -------------------------------------------------------------------------------


def _whole(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError(name, value, "must be a whole number")
    if value < minimum:
        raise ValidationError(name, value, f"must be at least {minimum}")
    return int(value)


def _z(confidence: object) -> float:
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, (int, float, np.integer, np.floating))
        or not 0 < confidence < 1
    ):
        raise ValidationError("confidence", confidence, "must be between 0 and 1, e.g. 0.95")
    return float(stats.norm.ppf(0.5 + float(confidence) / 2))


def _items(items: object) -> tuple[ItemKind, ...]:
    chosen = (items,) if isinstance(items, str) else items
    if not isinstance(chosen, Sequence) or not chosen:
        raise ValidationError("items", items, "must name 'touchpoint', 'transition' or both")
    unknown = [item for item in chosen if item not in _ITEM_KINDS]
    if unknown:
        raise ValidationError(
            "items", unknown[0], "is not an item kind; use 'touchpoint' and/or 'transition'"
        )
    return tuple(kind for kind in _ITEM_KINDS if kind in chosen)


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(name, value, f"must be one of {', '.join(map(repr, allowed))}")
    return value


def _label_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (-1 where missing) and labels (category order, else sorted if possible)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy().astype(np.int64), pd.Index(values.cat.categories)
    try:
        codes, labels = pd.factorize(values, sort=True)
    except TypeError:  # labels of mixed types cannot be sorted; keep first-seen order
        codes, labels = pd.factorize(values, sort=False)
    return codes.astype(np.int64), pd.Index(labels)


def _by_customer(value: pd.Series, name: str) -> pd.Series:
    """A customer-indexed Series without missing values or duplicate customers."""
    value = value[value.notna().to_numpy()]
    duplicated = value.index.duplicated(keep=False)
    if duplicated.any():
        clashes = value[duplicated].groupby(level=0, sort=False).nunique()
        if (clashes > 1).any():
            customer = clashes.index[int(np.argmax(clashes.to_numpy() > 1))]
            raise ValidationError(
                name, customer, "this customer is given more than one different value"
            )
        value = value[~value.index.duplicated()]
    return value


def _case_segments(
    df: pd.DataFrame, groups: Any, log: EventLog
) -> tuple[np.ndarray, pd.Index, int]:
    """Each case's segment code (-1 where none), the labels, and customers absent from df."""
    if isinstance(groups, pd.Series):
        series = groups
    elif isinstance(groups, Mapping):
        series = pd.Series(list(groups.values()), index=list(groups.keys()), dtype=object)
    elif isinstance(groups, (pd.DataFrame, pd.Index, np.ndarray, list, set)) or not isinstance(
        groups, Hashable
    ):
        raise ValidationError(
            "groups",
            type(groups).__name__,
            "must be a column name of df, or a Series or mapping customer -> segment",
        )
    else:
        if groups not in df.columns:
            raise ValidationError(
                "groups",
                groups,
                "is not a column of df; pass a column name, or a Series or mapping "
                "customer -> segment",
            )
        return _column_segments(df[groups], log)
    series = _by_customer(series, "groups")
    codes, labels = _label_codes(series.reset_index(drop=True))
    where = series.index.get_indexer(log.cases)
    if len(log.cases) and len(series) and not (where >= 0).any():
        raise ValidationError(
            "groups",
            list(series.index[:3]),
            f"no customer of df is in the groups' index (df's customers look like "
            f"{list(log.cases[:3])}); index the Series by customer",
        )
    segment = np.where(where >= 0, codes[np.maximum(where, 0)], -1)
    without_journey = int((~series.index.isin(log.cases)).sum())
    return segment, labels, without_journey


def _column_segments(column: pd.Series, log: EventLog) -> tuple[np.ndarray, pd.Index, int]:
    """Each case's segment from a column that repeats it on every row of the customer."""
    codes, labels = _label_codes(column)
    codes = codes[log.position]
    if not len(codes):
        return np.zeros(0, dtype=np.int64), labels, 0
    starts = log.bounds[:-1]
    highest = np.maximum.reduceat(codes, starts)
    lowest = np.minimum.reduceat(np.where(codes >= 0, codes, np.iinfo(np.int64).max), starts)
    clash = (highest >= 0) & (lowest != highest)
    if clash.any():
        case = int(np.flatnonzero(clash)[0])
        raise ValidationError(
            "groups",
            log.cases[case],
            f"this customer has more than one segment in column {column.name!r}; a customer's "
            "rows must all carry the same segment (or none)",
        )
    return highest, labels, 0


def _pick_segments(
    a: Hashable | None, b: Hashable | None, labels: pd.Index, sizes: np.ndarray
) -> tuple[int, int]:
    present = [labels[int(i)] for i in np.flatnonzero(sizes > 0)]

    def code(name: str, value: Hashable) -> int:
        try:
            found = int(labels.get_indexer(pd.Index([value], dtype=object))[0])
        except (TypeError, pd.errors.InvalidIndexError):
            found = -1
        if found < 0:
            raise ValidationError(name, value, f"is not a segment of groups (segments: {present})")
        if sizes[found] == 0:
            raise ValidationError(
                name, value, f"no customer of df is in this segment (segments in df: {present})"
            )
        return int(found)

    if a is None or b is None:
        if len(present) != 2:
            raise ValidationError(
                "a" if a is None else "b",
                None,
                f"name the segments to compare: df's customers fall in {len(present)} "
                f"segments ({present}), not exactly two",
            )
        if a is None and b is None:
            a, b = present
        elif a is None:
            a = present[1] if b == present[0] else present[0]
        else:
            b = present[1] if a == present[0] else present[0]
    code_a, code_b = code("a", a), code("b", b)
    if code_a == code_b:
        raise ValidationError("b", b, "must differ from a: compare two different segments")
    return code_a, code_b


def _cutoffs(before: Any, log: EventLog) -> tuple[np.ndarray, np.ndarray]:
    """Each case's cut-off in nanoseconds, and whether it has one."""
    if isinstance(before, Mapping):
        before = pd.Series(list(before.values()), index=list(before.keys()))
    if not isinstance(before, pd.Series):
        raise ValidationError(
            "before", type(before).__name__, "must be a Series or mapping customer -> time"
        )
    before = _by_customer(before, "before")
    aware = getattr(before.dtype, "tz", None) is not None
    datetimes = pd.api.types.is_datetime64_any_dtype(before.dtype)
    if len(before) and pd.api.types.is_object_dtype(before.dtype):
        try:
            before = pd.to_datetime(before, utc=log.tz is not None)
        except (TypeError, ValueError):
            raise ValidationError("before", before.iloc[0], "must hold times") from None
        aware, datetimes = log.tz is not None, True
    if len(before) and (datetimes != log.is_datetime or aware != (log.tz is not None)):
        kind = "time-zone aware datetimes" if log.tz is not None else "naive datetimes"
        kind = kind if log.is_datetime else "numbers"
        raise ValidationError(
            "before", str(before.dtype), f"must hold the same kind of times as df: {kind}"
        )
    values, _, _ = time_values(before, "before") if len(before) else (np.zeros(0, np.int64), 0, 0)
    where = before.index.get_indexer(log.cases)
    has = where >= 0
    cut = np.where(has, values[np.maximum(where, 0)] if len(values) else 0, 0)
    return cut.astype(np.int64), has


# -- statistics -------------------------------------------------------------------------------


def _fisher_p_values(xa: np.ndarray, na: np.ndarray, xb: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """Two-sided Fisher exact p-values of many 2x2 tables at once.

    Under the null hypothesis ``xa`` follows the hypergeometric law of ``na`` draws from
    ``na + nb`` customers of whom ``xa + xb`` have the item; the p-value sums the probability of
    every table no more likely than the observed one. The tables' supports are laid end to end
    in one array, so the work is one vectorised ``logpmf`` and one ``bincount``.
    """
    total, having = na + nb, xa + xb
    low = np.maximum(0, na - (total - having))
    high = np.minimum(having, na)
    length = high - low + 1
    table = np.repeat(np.arange(len(xa)), length)
    step = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    k = low[table] + step
    log_pmf = stats.hypergeom.logpmf(k, total[table], having[table], na[table])
    observed = stats.hypergeom.logpmf(xa, total, having, na)
    extreme = log_pmf <= observed[table] + np.log1p(_FISHER_TOLERANCE)
    weights = np.where(extreme, np.exp(log_pmf), 0.0)
    return np.minimum(np.bincount(table, weights=weights, minlength=len(xa)), 1.0)


def _z_p_values(xa: np.ndarray, na: np.ndarray, xb: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """Two-sided p-values of the pooled two-proportion z test (= Pearson's chi-squared)."""
    pooled = (xa + xb) / (na + nb)
    se = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (xa / na - xb / nb) / se
    return np.where(se > 0, 2 * stats.norm.sf(np.abs(z)), 1.0)


def _comparison(
    xa: np.ndarray,
    na: int,
    xb: np.ndarray,
    nb: int,
    *,
    confidence: float,
    test: str,
) -> dict[str, np.ndarray]:
    """Shares, their difference and odds ratio with intervals, and p-values, per item."""
    z = _z(confidence)
    n_a = np.full(len(xa), na, dtype=np.int64)
    n_b = np.full(len(xb), nb, dtype=np.int64)
    share_a, share_b = xa / na, xb / nb
    low_a, high_a = wilson_interval(xa, n_a, confidence=confidence)
    low_b, high_b = wilson_interval(xb, n_b, confidence=confidence)
    difference = share_a - share_b
    # Newcombe (1998), method 10: combine the two Wilson intervals.
    ci_low = difference - np.sqrt((share_a - low_a) ** 2 + (high_b - share_b) ** 2)
    ci_high = difference + np.sqrt((high_a - share_a) ** 2 + (share_b - low_b) ** 2)
    cells = np.stack([xa, na - xa, xb, nb - xb]).astype(float)
    cells += np.where((cells == 0).any(axis=0), 0.5, 0.0)  # Haldane-Anscombe, only with a zero
    log_odds = np.log(cells[0]) + np.log(cells[3]) - np.log(cells[1]) - np.log(cells[2])
    se_log_odds = np.sqrt((1 / cells).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(xb > 0, share_a / np.where(xb > 0, share_b, 1), np.inf)
    having = xa + xb
    expected = min(na, nb) * np.minimum(having, na + nb - having) / (na + nb)
    fisher = expected < _FISHER_BELOW if test == "auto" else np.full(len(xa), test == "fisher")
    p_value = _z_p_values(xa, n_a, xb, n_b)
    if fisher.any():
        p_value[fisher] = _fisher_p_values(xa[fisher], n_a[fisher], xb[fisher], n_b[fisher])
    return {
        "share_a": share_a,
        "share_a_ci_low": low_a,
        "share_a_ci_high": high_a,
        "share_b": share_b,
        "share_b_ci_low": low_b,
        "share_b_ci_high": high_b,
        "difference": difference,
        "ci_low": np.clip(ci_low, -1, 1),
        "ci_high": np.clip(ci_high, -1, 1),
        "lift": lift,
        "odds_ratio": np.exp(log_odds),
        "odds_ratio_ci_low": np.exp(log_odds - z * se_log_odds),
        "odds_ratio_ci_high": np.exp(log_odds + z * se_log_odds),
        "test": np.where(fisher, "fisher", "z"),
        "p_value": p_value,
    }


# -- counting ---------------------------------------------------------------------------------


def _presence(
    case: np.ndarray, item: np.ndarray, segment: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """Customers of segment a and of segment b whose journey holds each item at least once."""
    present = np.unique(case * n_items + item)
    counts = np.bincount(
        segment[present // n_items] * n_items + present % n_items, minlength=2 * n_items
    )
    return counts[:n_items], counts[n_items:]


def compare_journeys(
    df: pd.DataFrame,
    groups: Any,
    *,
    a: Hashable | None = None,
    b: Hashable | None = None,
    case: Hashable = "customer_id",
    activity: Hashable = "touchpoint",
    time: Hashable = "occurred_at",
    order: Hashable | None = None,
    items: Sequence[ItemKind] | ItemKind = ("touchpoint", "transition"),
    before: Any = None,
    self_loops: bool = True,
    min_n: int = DEFAULT_MIN_N,
    confidence: float = 0.95,
    correction: Correction = "fdr_bh",
    test: TestChoice = "auto",
) -> pd.DataFrame:
    """Touchpoints and transitions over- or under-represented in one segment's journeys.

    For each item (a touchpoint, or a directly-follows transition ``A -> B``: event B right
    after event A in a customer's journey in the order of
    :func:`~cxm.journey._events.event_log`), the share of segment ``a``'s customers whose
    journey contains it at least once is compared with the same share in segment ``b``.
    Two events of the same touchpoint in a row make the transition ``A -> A`` (a repeated
    contact), reported unless ``self_loops=False``.

    Customers are taken from ``df``: a segment's size is its number of customers with at least
    one event in ``df``. Customers of ``df`` without a segment, customers in other segments,
    customers of ``groups`` with no event in ``df`` and, with ``before``, customers without a
    cut-off are not compared; they are counted in the result's ``attrs`` (below), never
    dropped without a trace.

    The p-value is the two-sided pooled two-proportion z test (the same as Pearson's
    chi-squared test of the 2x2 table without continuity correction); where an expected
    count of the table is below 5 (Cochran's rule) Fisher's exact test is used instead, with
    the two-sided p-value summing every table no more likely than the observed one. With
    ``correction="fdr_bh"`` the ``q_value`` is the Benjamini-Hochberg adjusted p-value over
    all items of the result, which keeps the expected share of false discoveries among the
    items flagged ``significant`` below ``1 - confidence``.

    Args:
        df: One row per event, e.g. ``ws.interactions()``.
        groups: Each customer's segment: the name of a column of ``df`` (every row of a
            customer carries the same segment, or none), or a Series or mapping customer ->
            segment such as :func:`nps_segments`. Missing segments mean "no segment".
        a: The segment whose over-representation is measured (``difference > 0`` means more
            common in ``a``). By default, when ``df``'s customers fall in exactly two segments,
            the first of them (category order, else sorted).
        b: The segment compared against; by default the other of the two.
        case: Column naming the customer.
        activity: Column naming the touchpoint.
        time: Column of event times.
        order: Optional column that orders events sharing a timestamp.
        items: ``"touchpoint"``, ``"transition"`` or both.
        before: Optional Series or mapping customer -> cut-off time (e.g.
            :func:`nps_response_times`): only each customer's events strictly before it are
            used, so nothing that happened after a customer's classifying answer is compared.
            Times must be of the same kind as ``df``'s (aware, naive or numbers). Customers of
            ``a`` or ``b`` without a cut-off are left out and counted.
        self_loops: Whether ``A -> A`` transitions are reported.
        min_n: Rows are flagged ``low_n`` when either segment has fewer customers.
        confidence: Coverage of the intervals; ``significant`` uses ``1 - confidence`` as the
            false discovery rate (or level).
        correction: ``"fdr_bh"`` (Benjamini-Hochberg), ``"bonferroni"``, or ``"none"``.
        test: ``"auto"`` (z test, Fisher where an expected count is below 5), ``"z"`` or
            ``"fisher"`` for every item.

    Returns:
        One row per item found in the journeys of ``a`` or ``b`` (items found in neither
        cannot differ and are not tested), sorted by ``q_value``, then by the size of
        ``difference`` (largest first), then ``kind`` and ``item``. Columns:

        - ``kind`` (category): ``"touchpoint"`` or ``"transition"``;
        - ``item`` (object): the touchpoint label, or ``"A -> B"`` for a transition;
        - ``source`` (object): the touchpoint, or the transition's first touchpoint;
        - ``target`` (object): the transition's second touchpoint; ``None`` for touchpoints;
        - ``n_a``, ``n_b`` (int64): customers in segments ``a`` and ``b``;
        - ``customers_a``, ``customers_b`` (int64): of those, customers whose journey
            contains the item at least once;
        - ``share_a``, ``share_b`` (float64): ``customers_a / n_a``, ``customers_b / n_b``;
        - ``share_a_ci_low``, ``share_a_ci_high``, ``share_b_ci_low``, ``share_b_ci_high``
            (float64): Wilson score intervals of the shares;
        - ``difference`` (float64): ``share_a - share_b``;
        - ``ci_low``, ``ci_high`` (float64): Newcombe's hybrid score interval of the
            difference;
        - ``lift`` (float64): ``share_a / share_b`` (``inf`` where ``customers_b`` is 0);
        - ``odds_ratio``, ``odds_ratio_ci_low``, ``odds_ratio_ci_high`` (float64): the odds
            ratio of containing the item, ``a`` over ``b``, with Woolf's logit interval; 0.5
            is added to every cell of a table that has a zero cell (Haldane-Anscombe);
        - ``more_common_in`` (object): the segment with the larger share (``None`` if equal);
        - ``test`` (object): ``"z"`` or ``"fisher"``, the test behind ``p_value``;
        - ``p_value`` (float64): two-sided p-value of equal shares;
        - ``q_value`` (float64): ``p_value`` adjusted by ``correction``;
        - ``significant`` (bool): ``q_value <= 1 - confidence``;
        - ``low_n`` (bool): ``n_a < min_n`` or ``n_b < min_n``.

        ``result.attrs`` holds ``a`` and ``b`` (the segment labels), ``n_a``, ``n_b``,
        ``segments`` (customers of ``df`` per segment, a dict), ``customers_without_segment``
        (customers of ``df`` with no segment), ``customers_other_segments`` (customers of
        ``df`` in neither ``a`` nor ``b``), ``customers_without_journey`` (customers given a
        segment by a Series or mapping but with no event in ``df``),
        ``customers_without_cutoff`` (customers of ``a`` or ``b`` left out because ``before``
        has no time for them) and ``events_after_cutoff`` (their events at or after the
        cut-off, not used).

    Raises:
        ValidationError: If a column is missing or has missing values, ``groups`` is not a
            column, Series or mapping, a customer has two segments, ``a`` or ``b`` is not a
            segment of ``df``'s customers or they are equal, ``before`` holds another kind of
            time, or an option is invalid.

    Examples:
        >>> import pandas as pd
        >>> events = pd.DataFrame({
        ...     "customer_id": ["c1", "c1", "c2", "c2", "c3", "c4"],
        ...     "occurred_at": pd.to_datetime(["2024-01-01", "2024-01-02"] * 3),
        ...     "touchpoint": ["web", "call", "web", "call", "web", "web"],
        ... })
        >>> segment = {"c1": "detractor", "c2": "detractor", "c3": "promoter", "c4": "promoter"}
        >>> table = compare_journeys(events, segment, items="touchpoint")
        >>> table[["item", "customers_a", "customers_b", "difference", "test"]]
           item  customers_a  customers_b  difference    test
        0  call            2            0         1.0  fisher
        1   web            2            2         0.0  fisher

    References:
        Newcombe, R. G. (1998). Interval estimation for the difference between independent
        proportions: comparison of eleven methods. Statistics in Medicine, 17(8), 873-890.
        Woolf, B. (1955). On estimating the relation between blood group and disease. Annals
        of Human Genetics, 19(4), 251-253. Haldane, J. B. S. (1956). The estimation and
        significance of the logarithm of a ratio of frequencies. Annals of Human Genetics,
        20(4), 309-311. Agresti, A. (2013). Categorical Data Analysis (3rd ed.), sections
        3.1 (z test) and 3.5.1 (Fisher's exact test). Benjamini, Y., & Hochberg, Y. (1995).
        Controlling the false discovery rate. JRSS B, 57(1), 289-300.
    """
    kinds = _items(items)
    _whole("min_n", min_n, 0)
    _z(confidence)
    _choice("correction", correction, _CORRECTIONS)
    _choice("test", test, _TESTS)
    if not isinstance(self_loops, bool):
        raise ValidationError("self_loops", self_loops, "must be True or False")
    log = event_log(df, case=case, activity=activity, time=time, order=order)
    segment, labels, without_journey = _case_segments(df, groups, log)
    sizes_all = np.bincount(segment[segment >= 0], minlength=len(labels))
    code_a, code_b = _pick_segments(a, b, labels, sizes_all)
    side = np.where(segment == code_a, 0, np.where(segment == code_b, 1, -1))
    kept = np.ones(log.n_events, dtype=bool)
    without_cutoff = after_cutoff = 0
    if before is not None:
        cut, has_cut = _cutoffs(before, log)
        missing = (side >= 0) & ~has_cut
        without_cutoff = int(missing.sum())
        side = np.where(missing, -1, side)
        kept = log.time < cut[log.case]
        after_cutoff = int(((side[log.case] >= 0) & ~kept).sum())
    n_a, n_b = int((side == 0).sum()), int((side == 1).sum())
    if n_a == 0 or n_b == 0:
        empty = labels[code_a] if n_a == 0 else labels[code_b]
        raise ValidationError(
            "before", empty, "no customer of this segment has a cut-off time in before="
        )
    used = kept & (side[log.case] >= 0)
    parts = []
    if "touchpoint" in kinds:
        parts.append(_touchpoint_rows(log, used, side))
    if "transition" in kinds:
        parts.append(_transition_rows(log, used, side, self_loops))
    counts = pd.concat(parts, ignore_index=True)
    xa = counts["customers_a"].to_numpy()
    xb = counts["customers_b"].to_numpy()
    result = _finish(
        counts,
        _comparison(xa, n_a, xb, n_b, confidence=confidence, test=test),
        labels=(labels[code_a], labels[code_b]),
        n=(n_a, n_b),
        confidence=confidence,
        correction=correction,
        min_n=min_n,
    )
    present = sizes_all > 0
    result.attrs = {
        "a": labels[code_a],
        "b": labels[code_b],
        "n_a": n_a,
        "n_b": n_b,
        "segments": dict(zip(labels[present], sizes_all[present].tolist(), strict=True)),
        "customers_without_segment": int((segment < 0).sum()),
        "customers_other_segments": int(((segment >= 0) & (side < 0)).sum()) - without_cutoff,
        "customers_without_journey": without_journey,
        "customers_without_cutoff": without_cutoff,
        "events_after_cutoff": after_cutoff,
    }
    return result


def _touchpoint_rows(log: EventLog, used: np.ndarray, side: np.ndarray) -> pd.DataFrame:
    n_items = max(len(log.activities), 1)
    events = np.flatnonzero(used)
    customers_a, customers_b = _presence(log.case[events], log.activity[events], side, n_items)
    seen = np.flatnonzero(customers_a + customers_b)
    touchpoints = np.asarray(log.activities, dtype=object)[seen]
    return pd.DataFrame(
        {
            "kind": "touchpoint",
            "item": pd.Series(touchpoints, dtype=object).astype(str).to_numpy(dtype=object),
            "source": touchpoints,
            "target": np.full(len(seen), None, dtype=object),
            "customers_a": customers_a[seen],
            "customers_b": customers_b[seen],
        }
    )


def _transition_rows(
    log: EventLog, used: np.ndarray, side: np.ndarray, self_loops: bool
) -> pd.DataFrame:
    # Kept events are a prefix of each journey (the cut-off is on time, the sort's first key
    # within a case), so a pair of kept neighbours in the sorted log is a true transition.
    pair = log.follows() & used[1:] & used[:-1]
    if not self_loops:
        pair &= log.activity[1:] != log.activity[:-1]
    first = np.flatnonzero(pair)
    n_activities = len(log.activities)
    code = log.activity[first] * n_activities + log.activity[first + 1]
    transitions, item = np.unique(code, return_inverse=True)
    customers_a, customers_b = _presence(
        log.case[first], item.astype(np.int64), side, max(len(transitions), 1)
    )
    seen = np.flatnonzero(customers_a[: len(transitions)] + customers_b[: len(transitions)])
    labels = np.asarray(log.activities, dtype=object)
    source = labels[transitions[seen] // max(n_activities, 1)]
    target = labels[transitions[seen] % max(n_activities, 1)]
    names = (
        pd.Series(source, dtype=object).astype(str)
        + " -> "
        + pd.Series(target, dtype=object).astype(str)
    )
    return pd.DataFrame(
        {
            "kind": "transition",
            "item": names.to_numpy(dtype=object),
            "source": source,
            "target": target,
            "customers_a": customers_a[seen],
            "customers_b": customers_b[seen],
        }
    )


def _finish(
    counts: pd.DataFrame,
    measures: dict[str, np.ndarray],
    *,
    labels: tuple[Hashable, Hashable],
    n: tuple[int, int],
    confidence: float,
    correction: str,
    min_n: int,
) -> pd.DataFrame:
    p_value = measures["p_value"]
    if correction == "fdr_bh":
        q_value = benjamini_hochberg(p_value)
    elif correction == "bonferroni":
        q_value = np.minimum(p_value * len(p_value), 1.0)
    else:
        q_value = p_value.copy()
    difference = measures["difference"]
    more = np.full(len(difference), None, dtype=object)
    more[difference > 0] = labels[0]
    more[difference < 0] = labels[1]

    def labels_of(values: Any) -> pd.Series:
        # Object dtype on every pandas: labels need not be strings, and None marks "none".
        return pd.Series(np.asarray(values, dtype=object), dtype=object)

    result = pd.DataFrame(
        {
            "kind": pd.Categorical(counts["kind"], categories=list(_ITEM_KINDS)),
            "item": labels_of(counts["item"]),
            "source": labels_of(counts["source"]),
            "target": labels_of(counts["target"]),
            "n_a": np.full(len(counts), n[0], dtype=np.int64),
            "n_b": np.full(len(counts), n[1], dtype=np.int64),
            "customers_a": counts["customers_a"].to_numpy(dtype=np.int64),
            "customers_b": counts["customers_b"].to_numpy(dtype=np.int64),
            **{
                name: values for name, values in measures.items() if name not in ("p_value", "test")
            },
            "more_common_in": labels_of(more),
            "test": labels_of(measures["test"]),
            "p_value": p_value,
            "q_value": q_value,
            "significant": q_value <= 1 - confidence,
            "low_n": np.full(len(counts), min(n) < min_n),
        }
    )
    order = np.lexsort(
        (
            result["item"].to_numpy(dtype=str),
            result["kind"].cat.codes.to_numpy(),
            -np.abs(difference),
            q_value,
        )
    )
    return result.iloc[order].reset_index(drop=True)


# -- NPS segments -----------------------------------------------------------------------------


def _nps_answers(
    feedback: pd.DataFrame,
    *,
    customer: Hashable,
    time: Hashable,
    score: Hashable,
    metric: str | None,
    which: str,
) -> tuple[pd.Index, np.ndarray, np.ndarray, pd.DataFrame, int]:
    """Per customer: the mean of the classifying scores and the row of the cut-off answer."""
    if not isinstance(feedback, pd.DataFrame):
        raise ValidationError("feedback", type(feedback).__name__, "must be a pandas DataFrame")
    _choice("which", which, _WHICH)
    needed = [customer, score, time]
    missing = [str(column) for column in needed if column not in feedback.columns]
    if missing:
        raise ValidationError(
            "feedback",
            ", ".join(missing),
            f"column(s) missing; the frame has {list(feedback.columns)}",
        )
    frame = feedback
    if metric is not None and "metric" in frame.columns:
        frame = frame.loc[frame["metric"].to_numpy() == metric]
    values = _validated_scores(frame, str(score), (0, 10), integers=True, what="NPS")
    codes, customers = pd.factorize(frame[customer], sort=True)
    anonymous = int((codes < 0).sum())
    known = codes >= 0
    frame, codes, values = frame.loc[known], codes[known], values[known]
    times = frame[time]
    if times.isna().any():
        first = frame.index[int(np.argmax(times.isna().to_numpy()))]
        raise ValidationError(str(time), None, f"answers have no time (first at index {first!r})")
    ns, _, _ = time_values(times, str(time))
    # Sort by customer then time: each customer's first and last answers bound its run.
    order = np.lexsort((values, ns, codes))
    sorted_codes, sorted_ns = codes[order], ns[order]
    n_customers = len(customers)
    starts = np.searchsorted(sorted_codes, np.arange(n_customers), side="left")
    ends = np.searchsorted(sorted_codes, np.arange(n_customers), side="right") - 1
    if which == "mean":
        chosen = np.ones(len(codes), dtype=bool)
        cut = order[starts]
    else:
        edge = starts if which == "first" else ends
        chosen = sorted_ns == sorted_ns[edge][sorted_codes]
        cut = order[edge]
        chosen = chosen[np.argsort(order)]
    totals = np.bincount(codes[chosen], weights=values[chosen], minlength=n_customers)
    numbers = np.bincount(codes[chosen], minlength=n_customers)
    return pd.Index(customers, name=customer), totals / numbers, cut, frame, anonymous


def nps_segments(
    feedback: pd.DataFrame,
    *,
    customer: Hashable = "customer_id",
    time: Hashable = "occurred_at",
    score: Hashable = "score",
    metric: str | None = "nps",
    which: NPSWhich = "last",
) -> pd.Series:
    """Each customer's NPS segment (detractor, passive, promoter), for :func:`compare_journeys`.

    A score of 9-10 is a promoter, 7-8 a passive and 0-6 a detractor (Reichheld 2003). A
    customer who answered more than once is classified by ``which``:

    - ``"last"``: the latest answer (the mean of the answers given at that same latest time,
        so the result never depends on row order);
    - ``"first"``: the earliest answer (likewise);
    - ``"mean"``: the mean of all the customer's answers, a promoter when it is at least 9,
        a detractor when at most 6, a passive in between (6.5 and 8.5 are passives).

    Answers without a customer (anonymous) cannot be tied to a journey; they are left out and
    counted in ``result.attrs["answers_without_customer"]``.

    Args:
        feedback: One row per answer, e.g. ``ws.feedback()``. When it has a ``metric`` column
            only the rows whose metric is ``metric`` are used.
        customer: Column naming the customer.
        time: Column of answer times.
        score: Column of 0-10 answers; each must be a whole number from 0 to 10.
        metric: The ``metric`` value to keep; ``None`` uses every row.
        which: ``"last"``, ``"first"`` or ``"mean"``.

    Returns:
        A categorical Series named ``nps_segment`` with categories ``detractor``, ``passive``,
        ``promoter``, indexed by customer (sorted), one entry per customer who answered.

    Raises:
        ValidationError: If a column is missing, a score is off the 0-10 scale, a time is
            missing, or ``which`` is invalid.

    Examples:
        >>> import pandas as pd
        >>> answers = pd.DataFrame({
        ...     "customer_id": ["c1", "c1", "c2"],
        ...     "occurred_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"]),
        ...     "score": [10, 3, 8],
        ... })
        >>> nps_segments(answers).tolist()
        ['detractor', 'passive']
        >>> nps_segments(answers, which="mean").tolist()
        ['passive', 'passive']

    References:
        Reichheld, F. F. (2003). The one number you need to grow. Harvard Business Review,
        81(12), 46-54.
    """
    customers, mean, _, _, anonymous = _nps_answers(
        feedback, customer=customer, time=time, score=score, metric=metric, which=which
    )
    codes = np.where(mean >= 9, 2, np.where(mean <= 6, 0, 1))
    segments = pd.Series(
        pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(list(NPS_SEGMENTS))),
        index=customers,
        name="nps_segment",
    )
    segments.attrs = {"answers_without_customer": anonymous}
    return segments


def nps_response_times(
    feedback: pd.DataFrame,
    *,
    customer: Hashable = "customer_id",
    time: Hashable = "occurred_at",
    score: Hashable = "score",
    metric: str | None = "nps",
    which: NPSWhich = "last",
) -> pd.Series:
    """The time of each customer's classifying NPS answer, for ``compare_journeys(before=)``.

    With the same arguments as :func:`nps_segments` it returns, per customer, the time of the
    answer that set the segment: the latest answer for ``"last"``, the earliest for
    ``"first"``, and the earliest for ``"mean"`` too (every answer counts towards the mean, so
    only events before the first answer are certain to precede all of them).

    Args:
        feedback: One row per answer, e.g. ``ws.feedback()``.
        customer: Column naming the customer.
        time: Column of answer times.
        score: Column of 0-10 answers (validated as in :func:`nps_segments`).
        metric: The ``metric`` value to keep; ``None`` uses every row.
        which: ``"last"``, ``"first"`` or ``"mean"``.

    Returns:
        A Series named ``answered_at`` of the time column's dtype, indexed by customer
        (sorted), one entry per customer who answered.

    Raises:
        ValidationError: As :func:`nps_segments`.

    Examples:
        >>> import pandas as pd
        >>> answers = pd.DataFrame({
        ...     "customer_id": ["c1", "c1", "c2"],
        ...     "occurred_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"]),
        ...     "score": [10, 3, 8],
        ... })
        >>> nps_response_times(answers).dt.strftime("%Y-%m-%d").tolist()
        ['2024-02-01', '2024-01-15']
    """
    customers, _, cut, frame, _ = _nps_answers(
        feedback, customer=customer, time=time, score=score, metric=metric, which=which
    )
    answered = frame[time].iloc[cut]
    return pd.Series(answered.to_numpy(), index=customers, name="answered_at").astype(
        answered.dtype
    )
