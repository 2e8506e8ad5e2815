"""Sentiment of customer text: pluggable analyzers, scoring, and summaries by group and period.

A sentiment analyzer turns texts into a ``compound`` score from -1 (most negative) to +1 (most
positive). The default is VADER (Hutto & Gilbert 2014), a lexicon and rule-based model tuned
to short social-media and review text: it needs no training data, no GPU and no download, and
runs at about 30,000 short texts a second. Other models (a transformer, a domain lexicon, a
vendor's API) plug in through the ``cxm_register_sentiment_analyzers`` hook and are used by
name everywhere the default is.

- :func:`score_text` scores texts in memory and labels each one positive, neutral or negative
  with VADER's thresholds (compound >= 0.05 positive, <= -0.05 negative).
- :meth:`cxm.Workspace.score_sentiment` scores the text of stored interactions into the store,
  re-runnably, and :meth:`cxm.Workspace.sentiment` reads the scores back with each
  interaction's context.
- :func:`sentiment_summary` aggregates scores by touchpoint, channel and period: the mean
  with its t interval and the shares of positive, neutral and negative texts with Wilson
  intervals, each group with its ``n`` and a ``low_n`` flag.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import math
import re
import threading
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import pandas as pd

from cxm.connectors import registry as _plugins
from cxm.connectors.registry import PluginFailure
from cxm.exceptions import ValidationError
from cxm.metrics.feedback import (
    DEFAULT_MIN_N,
    _as_list,
    _check_min_n,
    _finish,
    _mean_table,
    _select,
    _t_interval,
    _validated_scores,
    _z,
    nps_interval,
    wilson_interval,
)

__all__ = [
    "DEFAULT_ANALYZER",
    "LABELS",
    "AnalyzerInfo",
    "SentimentAnalyzer",
    "VaderAnalyzer",
    "analyzer_failures",
    "analyzers",
    "get_analyzer",
    "label_scores",
    "resolve_analyzer",
    "score_text",
    "sentiment_summary",
    "text_hash",
]

logger = logging.getLogger(__name__)

DEFAULT_ANALYZER = "vader"
"""The analyzer used when none is named."""
DEFAULT_THRESHOLD = 0.05
"""VADER's cut-off: compound >= 0.05 is positive, <= -0.05 negative, in between neutral."""
LABELS = ("negative", "neutral", "positive")
"""The labels, in order."""
LABEL_DTYPE = pd.CategoricalDtype(list(LABELS), ordered=True)
SCORE_COLUMNS = ("compound", "pos", "neu", "neg")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_MAX_VERSION = 64
_TOLERANCE = 1e-9


@runtime_checkable
class SentimentAnalyzer(Protocol):
    """What a sentiment analyzer provides; any object with these members is one.

    Attributes:
        name: Registry name: lower-case letters, digits, ``.``, ``_`` and ``-``, at most 64
            characters (``"vader"``). Scores are stored under it.
        version: The model's version, at most 64 characters (``"vaderSentiment-3.3.2"``).
            Stored with every score; scores made by another version are redone by
            :meth:`cxm.Workspace.score_sentiment`.
    """

    name: str
    version: str

    def score(self, texts: Sequence[str]) -> np.ndarray | pd.DataFrame:
        """Score texts.

        Args:
            texts: The texts, as Python strings (never empty or missing: callers skip those).

        Returns:
            One score per text, in the same order: either a 1-D array of compound scores in
            [-1, 1], or a DataFrame with a ``compound`` column and, optionally, ``pos``,
            ``neu`` and ``neg`` columns (shares in [0, 1]; left missing when absent).
        """
        ...


class VaderAnalyzer:
    """VADER, the default analyzer (the ``vaderSentiment`` package, MIT licence).

    Scores are VADER's ``polarity_scores``: ``compound`` (the normalised sum of the valences
    of the words, after VADER's rules for negation, intensifiers, "but", capitals and
    punctuation) and ``pos``, ``neu``, ``neg`` (the shares of the text that are positive,
    neutral, negative; they sum to 1).

    Examples:
        >>> scores = VaderAnalyzer().score(["The agent was great!", "Still no refund."])
        >>> scores["compound"].round(4).tolist()
        [0.6588, -0.296]

    References:
        Hutto, C. J. & Gilbert, E. (2014). VADER: A Parsimonious Rule-based Model for
        Sentiment Analysis of Social Media Text. Eighth International AAAI Conference on
        Weblogs and Social Media (ICWSM-14).
    """

    name = "vader"
    version = "vaderSentiment-" + importlib.metadata.version("vaderSentiment")

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
            SentimentIntensityAnalyzer,
        )

        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, texts: Sequence[str]) -> pd.DataFrame:
        """Return ``compound``, ``pos``, ``neu`` and ``neg`` for each text."""
        polarity = self._analyzer.polarity_scores
        # VADER scores one text at a time in Python; this comprehension is its whole cost.
        values = [tuple(polarity(text)[key] for key in SCORE_COLUMNS) for text in texts]
        array = np.asarray(values, dtype=float).reshape(len(values), len(SCORE_COLUMNS))
        return pd.DataFrame(array, columns=list(SCORE_COLUMNS))

    def __repr__(self) -> str:
        return f"VaderAnalyzer(version={self.version!r})"


# -- the registry ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AnalyzerInfo:
    """What the registry knows about one analyzer.

    Attributes:
        name: Registry name (``"vader"``).
        version: The analyzer's ``version``.
        summary: First line of its docstring.
        distribution: ``"cxm"`` for built-ins, the plugin's distribution otherwise, ``None``
            for a plugin added in-process with :func:`cxm.connectors.register`.
        analyzer: The registered object: an instance, or a class instantiated on first use.
    """

    name: str
    version: str
    summary: str
    distribution: str | None
    analyzer: Any


@attrs.frozen
class _Registry:
    analyzers: dict[str, AnalyzerInfo]
    failures: list[PluginFailure]
    instances: dict[str, SentimentAnalyzer] = attrs.field(factory=dict)


_lock = threading.Lock()
_current: list[tuple[_plugins.LoadedPlugins, _Registry]] = []


def _check_identity(analyzer: Any) -> tuple[str, str]:
    name = getattr(analyzer, "name", None)
    version = getattr(analyzer, "version", None)
    label = getattr(analyzer, "__qualname__", None) or type(analyzer).__qualname__
    if not isinstance(name, str) or not _NAME.match(name):
        raise TypeError(
            f"{label}.name must be lower-case letters, digits, '.', '_' or '-' (at most 64), "
            f"not {name!r}"
        )
    if not isinstance(version, str) or not 0 < len(version) <= _MAX_VERSION:
        raise TypeError(f"{label}.version must be a string of 1 to 64 characters, not {version!r}")
    if not callable(getattr(analyzer, "score", None)):
        raise TypeError(f"{label} has no score(texts) method")
    return name, version


def _load(plugins: _plugins.LoadedPlugins) -> _Registry:
    """Build the analyzer registry from the built-ins and every selected plugin.

    The plugins are the connector registry's (the ``cxm`` entry points, ``CXM_LOAD_PLUGINS``,
    and plugins added with :func:`cxm.connectors.register`), so one plugin module can add
    connectors and analyzers.
    """
    failures: list[PluginFailure] = list(plugins.failures)
    distributions = plugins.distributions
    found: dict[str, AnalyzerInfo] = {}
    implementations = _plugins.builtins_first(
        plugins.manager.hook.cxm_register_sentiment_analyzers.get_hookimpls()
    )
    for impl in implementations:
        distribution = distributions.get(impl.plugin_name)
        added: dict[str, AnalyzerInfo] = {}
        refused: list[PluginFailure] = []

        def register(
            analyzer: Any,
            added: dict[str, AnalyzerInfo] = added,
            refused: list[PluginFailure] = refused,
            distribution: str | None = distribution,
            plugin_name: str = impl.plugin_name,
        ) -> None:
            name, version = _check_identity(analyzer)
            taken = found.get(name) or added.get(name)
            if taken is not None:
                refused.append(
                    PluginFailure(
                        distribution=distribution,
                        entry_point=plugin_name,
                        error=(
                            f"sentiment analyzer {name!r} refused: the name is already "
                            f"registered by {taken.distribution or 'an in-process plugin'}"
                        ),
                    )
                )
                return
            doc = (analyzer.__doc__ or "").strip()
            added[name] = AnalyzerInfo(
                name=name,
                version=version,
                summary=doc.splitlines()[0] if doc else "",
                distribution=distribution,
                analyzer=analyzer,
            )

        try:
            impl.function(register=register)
        except Exception as exc:
            # A hook that raises half-way adds nothing, as for connectors.
            failures.append(_plugins._failure(distribution, impl.plugin_name, exc))
            continue
        found.update(added)
        failures.extend(refused)
    _plugins._log(failures[len(plugins.failures) :])  # import failures were logged already
    return _Registry(dict(sorted(found.items())), failures)


def _registry() -> _Registry:
    # The loaded plugins are cached per selection and replaced when a plugin is added or
    # removed in-process; the analyzers are rebuilt when they change.
    plugins = _plugins.load_plugins()
    with _lock:
        if _current and _current[0][0] is plugins:
            return _current[0][1]
        found = _load(plugins)
        _current[:] = [(plugins, found)]
        return found


def analyzers() -> list[AnalyzerInfo]:
    """Return every registered sentiment analyzer, sorted by name.

    Returns:
        One :class:`AnalyzerInfo` per analyzer: the built-in ``vader`` and those of plugins.

    Examples:
        >>> [(info.name, info.distribution) for info in analyzers()][:1]
        [('vader', 'cxm')]
    """
    return list(_registry().analyzers.values())


def analyzer_failures() -> list[PluginFailure]:
    """Return the plugins whose sentiment hook raised or whose analyzers were refused.

    Plugins that could not be imported at all are listed too (they are also listed by
    :func:`cxm.connectors.plugin_failures`).
    """
    return list(_registry().failures)


def get_analyzer(name: str = DEFAULT_ANALYZER) -> SentimentAnalyzer:
    """Return the analyzer registered as ``name``, instantiating it on first use.

    Args:
        name: The analyzer's registry name.

    Returns:
        The analyzer instance (the same one on every call in this process).

    Raises:
        ValidationError: If no analyzer has that name; the message lists the known ones.

    Examples:
        >>> get_analyzer("vader").name
        'vader'
    """
    registry = _registry()
    given: Any = name  # untyped callers pass anything; refuse it by name
    info = registry.analyzers.get(given) if isinstance(given, str) else None
    if info is None:
        raise ValidationError(
            "analyzer",
            name,
            f"no sentiment analyzer of that name; registered: {', '.join(registry.analyzers)}",
        )
    with _lock:
        instance = registry.instances.get(name)
        if instance is None:
            made = info.analyzer() if isinstance(info.analyzer, type) else info.analyzer
            instance = registry.instances[name] = made
    return instance


def resolve_analyzer(analyzer: str | SentimentAnalyzer) -> SentimentAnalyzer:
    """Return the analyzer ``analyzer`` names, or ``analyzer`` itself after checking it.

    Args:
        analyzer: A registry name, or an object with ``name``, ``version`` and ``score``.

    Raises:
        ValidationError: If the name is unknown or the object is not an analyzer.
    """
    if isinstance(analyzer, str):
        return get_analyzer(analyzer)
    if isinstance(analyzer, type):
        raise ValidationError("analyzer", analyzer, "pass an instance or a registry name")
    try:
        _check_identity(analyzer)
    except TypeError as exc:
        raise ValidationError("analyzer", analyzer, str(exc)) from None
    return analyzer


# -- scoring --------------------------------------------------------------------------------


def _scores_frame(result: Any, n: int, name: str) -> pd.DataFrame:
    """Check what an analyzer returned; return ``compound, pos, neu, neg`` as floats."""
    if isinstance(result, pd.DataFrame):
        if "compound" not in result.columns:
            raise ValidationError(
                f"analyzer {name}", list(result.columns), "returned no 'compound' column"
            )
        columns = {
            c: result[c].to_numpy(dtype=float, na_value=np.nan)
            if c in result.columns
            else np.full(len(result), np.nan)
            for c in SCORE_COLUMNS
        }
    else:
        array = np.asarray(result, dtype=float)
        if array.ndim != 1:
            raise ValidationError(
                f"analyzer {name}", array.shape, "must return a 1-D array or a DataFrame"
            )
        columns = {c: np.full(len(array), np.nan) for c in SCORE_COLUMNS}
        columns["compound"] = array
    length = len(columns["compound"])
    if length != n:
        raise ValidationError(f"analyzer {name}", length, f"returned {length} scores for {n} texts")
    compound = columns["compound"]
    bad = ~np.isfinite(compound) | (np.abs(compound) > 1 + _TOLERANCE)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            f"analyzer {name}",
            float(compound[first]),
            f"{int(bad.sum())} compound score(s) are missing or outside [-1, 1] (text {first})",
        )
    for share in ("pos", "neu", "neg"):
        values = columns[share]
        off = ~np.isnan(values) & ((values < -_TOLERANCE) | (values > 1 + _TOLERANCE))
        if off.any():
            first = int(np.flatnonzero(off)[0])
            raise ValidationError(
                f"analyzer {name}", float(values[first]), f"{share} shares must lie in [0, 1]"
            )
        columns[share] = np.clip(values, 0, 1)
    columns["compound"] = np.clip(compound, -1, 1)
    return pd.DataFrame(columns)


def label_scores(compound: Any, *, threshold: float = DEFAULT_THRESHOLD) -> pd.Categorical:
    """Label compound scores positive (>= threshold), negative (<= -threshold) or neutral.

    Args:
        compound: Scores in [-1, 1] (an array or a Series); missing scores get no label.
        threshold: The cut-off; VADER's authors recommend 0.05.

    Returns:
        A categorical of ``"negative"``, ``"neutral"``, ``"positive"`` (ordered).

    Examples:
        >>> list(label_scores([0.6, 0.05, 0.0, -0.049, -0.3]))
        ['positive', 'positive', 'neutral', 'neutral', 'negative']

    References:
        Hutto & Gilbert (2014); the thresholds are those of the vaderSentiment README.
    """
    _check_threshold(threshold)
    values = np.asarray(compound, dtype=float)
    codes = np.where(values >= threshold, 2, np.where(values <= -threshold, 0, 1))
    codes = np.where(np.isnan(values), -1, codes)
    return pd.Categorical.from_codes(codes, dtype=LABEL_DTYPE)


def _check_threshold(threshold: object) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
        raise ValidationError("threshold", threshold, "must be a number from 0 to 1")
    value = float(threshold)
    if not 0 <= value < 1:
        raise ValidationError("threshold", threshold, "must be at least 0 and below 1")
    return value


def text_hash(text: str) -> str:
    """Return the fingerprint stored with a score: blake2b-128 of the UTF-8 text, in hex.

    :meth:`cxm.Workspace.score_sentiment` compares it with the interaction's current text to
    find texts that changed since they were scored.

    Examples:
        >>> text_hash("Thanks!") == text_hash("Thanks!"), len(text_hash("Thanks!"))
        (True, 32)
    """
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def score_text(
    texts: Iterable[str | None] | pd.Series,
    analyzer: str | SentimentAnalyzer = DEFAULT_ANALYZER,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Score texts with a sentiment analyzer and label each one.

    Args:
        texts: The texts: a list, or a Series (whose index the result keeps). ``None`` and
            NaN are missing: their scores are NaN and their label missing.
        analyzer: A registry name (``"vader"``, or a plugin's) or an analyzer object.
        threshold: The labelling cut-off on ``compound`` (see :func:`label_scores`).

    Returns:
        One row per text, in order, columns:

        - ``compound`` (float64): -1 (most negative) to +1 (most positive);
        - ``pos``, ``neu``, ``neg`` (float64): the positive, neutral and negative shares of
            the text (NaN when the analyzer gives only ``compound``);
        - ``label`` (ordered category: negative < neutral < positive).

    Raises:
        ValidationError: If a text is not a string, the analyzer is unknown, or it returned
            scores that are missing or off the scale.

    Examples:
        >>> scores = score_text(["Great help, thanks!", "The parcel is late again.", None])
        >>> scores["label"].tolist()
        ['positive', 'neutral', nan]
        >>> round(float(scores["compound"].iloc[0]), 4)
        0.8748

    References:
        Hutto, C. J. & Gilbert, E. (2014). VADER: A Parsimonious Rule-based Model for
        Sentiment Analysis of Social Media Text. ICWSM-14.
    """
    _check_threshold(threshold)
    model = resolve_analyzer(analyzer)
    if isinstance(texts, (str, bytes)):
        raise ValidationError("texts", texts, "must be a list or Series of texts, not one text")
    index = texts.index if isinstance(texts, pd.Series) else None
    items = list(texts)
    missing = np.fromiter((_is_missing(t) for t in items), dtype=bool, count=len(items))
    present = [t for t, gone in zip(items, missing, strict=True) if not gone]
    wrong = next((t for t in present if not isinstance(t, str)), None)
    if wrong is not None:
        raise ValidationError("texts", wrong, "every text must be a string (or None)")
    scores = _scores_frame(model.score(present) if present else [], len(present), model.name)
    out = pd.DataFrame(
        {c: np.full(len(items), np.nan) for c in SCORE_COLUMNS},
        index=index if index is not None else pd.RangeIndex(len(items)),
    )
    keep = ~missing
    for column in SCORE_COLUMNS:
        values = out[column].to_numpy(copy=True)
        values[keep] = scores[column].to_numpy()
        out[column] = values
    out["label"] = label_scores(out["compound"].to_numpy(), threshold=threshold)
    return out


# -- aggregates -----------------------------------------------------------------------------


def sentiment_summary(
    df: pd.DataFrame,
    *,
    by: str | Sequence[Hashable] | None = None,
    freq: str | None = None,
    score: str = "compound",
    time: str = "occurred_at",
    threshold: float = DEFAULT_THRESHOLD,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> pd.DataFrame:
    """Sentiment per group and period: mean score, shares positive/neutral/negative, net.

    Texts are labelled from ``score`` with ``threshold`` (positive at or above it, negative
    at or below its negative, neutral between). The mean carries Student's t interval; each
    share its Wilson interval; the net sentiment (percent positive minus percent negative)
    the adjusted Wald interval used for NPS (Rocks 2016), since it is the same difference of
    two multinomial shares.

    Args:
        df: One row per scored text, e.g. ``ws.sentiment()`` or :func:`score_text` joined to
            its context.
        by: Column(s) to group by (``"touchpoint"``, ``["channel", "touchpoint"]``).
        freq: A pandas frequency (``"MS"``, ``"W"``, ``"QS"``) to group ``time`` into periods.
        score: The column of compound scores; every one must be a number in [-1, 1] (drop
            unscored rows first).
        time: The column of times, used with ``freq``.
        threshold: The labelling cut-off.
        confidence: The intervals' coverage.
        min_n: Groups with fewer texts are flagged ``low_n`` (still reported).

    Returns:
        One row per group (sorted by the keys, empty groups left out), columns:

        - the ``by`` columns, then ``period`` (the period's label) when ``freq`` is given;
        - ``n`` (int64): scored texts;
        - ``mean``, ``sd`` (float64): mean and standard deviation of ``score``;
            ``ci_low``, ``ci_high`` (float64): Student's t interval of the mean, clipped to
            [-1, 1] (NaN for a single text);
        - ``positive``, ``neutral``, ``negative`` (int64): texts with each label;
        - ``positive_share``, ``positive_ci_low``, ``positive_ci_high`` (float64): percent
            positive and its Wilson interval; likewise ``neutral_*`` and ``negative_*``;
        - ``net`` (float64): percent positive minus percent negative, -100..100;
            ``net_ci_low``, ``net_ci_high`` (float64): its adjusted Wald interval;
        - ``low_n`` (bool): ``n < min_n``.

    Raises:
        ValidationError: If a column is missing, a score is missing or outside [-1, 1], or an
            option is invalid.

    Examples:
        >>> import pandas as pd
        >>> scored = pd.DataFrame({"touchpoint": ["chat", "chat", "chat", "email", "email"],
        ...                        "compound": [0.8, 0.3, -0.6, 0.0, -0.2]})
        >>> table = sentiment_summary(scored, by="touchpoint", min_n=3)
        >>> table[["touchpoint", "n", "positive", "negative", "net", "low_n"]]
          touchpoint  n  positive  negative        net  low_n
        0       chat  3         2         1  33.333333  False
        1      email  2         0         1 -50.000000   True

    References:
        Hutto, C. J. & Gilbert, E. (2014). VADER. ICWSM-14 (the labelling thresholds).
        Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
        inference. JASA, 22(158), 209-212.
        Rocks, B. (2016). Interval estimation for the "net promoter score". The American
        Statistician, 70(4), 365-372.
    """
    cut = _check_threshold(threshold)
    _check_min_n(min_n)
    _z(confidence)
    keys = _as_list(by)
    frame = _select(df, score=score, metric=None, by=keys, time=time, freq=freq)
    values = _validated_scores(frame, score, (-1.0, 1.0), integers=False, what="sentiment")
    positive = values >= cut
    negative = values <= -cut
    sums = _mean_table(
        frame,
        values,
        keys=keys,
        freq=freq,
        time=time,
        scale=(-1.0, 1.0),
        extra={"positive": positive, "negative": negative},
    )
    n = sums["n"].to_numpy()
    sums["neutral"] = n - sums["positive"].to_numpy() - sums["negative"].to_numpy()
    low, high = _t_interval(sums["mean"].to_numpy(), sums["sd"].to_numpy(), n, confidence)
    # A mean of scores in [-1, 1] cannot leave [-1, 1]; small groups' t intervals would.
    sums["ci_low"], sums["ci_high"] = np.clip(low, -1, 1), np.clip(high, -1, 1)
    order = ["n", "mean", "sd", "ci_low", "ci_high", "positive", "neutral", "negative"]
    for label in ("positive", "neutral", "negative"):
        count = sums[label].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            sums[f"{label}_share"] = count / n * 100
        low, high = wilson_interval(count, n, confidence=confidence)
        sums[f"{label}_ci_low"], sums[f"{label}_ci_high"] = low * 100, high * 100
        order += [f"{label}_share", f"{label}_ci_low", f"{label}_ci_high"]
    with np.errstate(invalid="ignore", divide="ignore"):
        sums["net"] = (sums["positive"].to_numpy() - sums["negative"].to_numpy()) / n * 100
    _, sums["net_ci_low"], sums["net_ci_high"] = nps_interval(
        sums["positive"], sums["neutral"], sums["negative"], confidence=confidence
    )
    order += ["net", "net_ci_low", "net_ci_high"]
    return _finish(sums, order, min_n, keys)
