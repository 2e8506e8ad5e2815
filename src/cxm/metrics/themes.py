"""Themes: what customers talk about, and which words set detractors apart from promoters.

Comments are cut into words (lower-cased, Unicode-aware, so "Café" and "café" are one word and
"didn't" stays whole) and the words into n-grams: runs of one to three adjacent words that do
not cross a sentence or clause break (any punctuation or line break; apostrophes and hyphens
do not break). Stop words are not removed before the n-grams are formed, which would glue
"waited on hold" into a bigram "waited hold" that no customer wrote; instead an n-gram may
neither begin nor end with a stop word or a number (and a lone stop word is no theme), so
every theme is a phrase that appears verbatim in its example comments. Negations ("not",
"never", "didn't") may begin a theme but not end or be one, so "not helpful" survives.

:func:`themes` counts, per group, how many comments mention each n-gram.
:func:`distinguishing_themes` compares two sets of comments (detractors and promoters, negative
and positive, this quarter and last) with the weighted log-odds ratio of Monroe, Colaresi &
Quinn (2008) under an informative Dirichlet prior, whose z-score ranks n-grams by how reliably
they lean to one side: a frequent word with a modest difference outranks a word seen twice on
one side only.
:func:`nps_themes` does that for detractors against promoters from a 0-10 score column, and
:func:`weighted_log_odds` exposes the formula on counts that were made elsewhere (tags, codes).

Counting is done on integer codes: one regular-expression pass over all comments, one
``factorize`` of the tokens, n-grams as codes built from the (n-1)-gram codes, and counts by
``bincount``/``unique``; 100,000 comments of 30 words take a few seconds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Literal

import attrs
import numpy as np
import pandas as pd
from scipy import stats

from cxm.exceptions import ValidationError
from cxm.metrics._grouping import group_rows
from cxm.metrics._stopwords import ENGLISH_STOP_WORDS, NEGATIONS
from cxm.metrics.feedback import DEFAULT_MIN_N, wilson_interval

__all__ = [
    "ENGLISH_STOP_WORDS",
    "NEGATIONS",
    "distinguishing_themes",
    "nps_segment",
    "nps_themes",
    "themes",
    "weighted_log_odds",
]

StopWords = Literal["english"] | Iterable[str] | None
Prior = Literal["informative", "uninformative"]

_SEP = "\x1e"  # record separator: marks where one comment ends and the next begins
# A word: letters/digits with inner apostrophes. A break: a run of anything that is neither a
# word character, a space, a tab, an apostrophe nor a hyphen (punctuation, line breaks, _SEP).
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w \t'\-]+")
_MAX_N = 5


# -- validation ------------------------------------------------------------------------------


def _check_frame(df: object, columns: Sequence[Hashable], text: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ValidationError("df", type(df).__name__, "must be a pandas DataFrame")
    missing = [str(column) for column in columns if column not in df.columns]
    if missing:
        hint = ""
        if text in missing and "comment" in df.columns:
            hint = "; pass text='comment' for ws.feedback() frames"
        raise ValidationError(
            "df",
            ", ".join(missing),
            f"column(s) missing; the frame has {list(df.columns)}{hint}",
        )
    return df


def _comment_rows(frame: pd.DataFrame, text: str) -> np.ndarray:
    """Return which rows hold a comment (a non-blank string); raise on non-text values."""
    column = frame[text]
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind not in ("string", "empty"):
        bad = next(v for v in column if not (isinstance(v, str) or _is_missing(v)))
        raise ValidationError(text, bad, f"comments must be strings or missing, found {kind}")
    present = np.array(column.notna(), dtype=bool)
    if present.any():
        blank = column[present].astype(str).str.strip().eq("").to_numpy(dtype=bool)
        present[np.flatnonzero(present)[blank]] = False
    return present


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _ngram_range(value: Any) -> tuple[int, int]:
    try:
        low, high = value
    except (TypeError, ValueError):
        raise ValidationError(
            "ngram_range", value, "must be (shortest, longest), e.g. (1, 2)"
        ) from None
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, (int, np.integer)):
            raise ValidationError("ngram_range", value, "must be two whole numbers")
    if not 1 <= low <= high <= _MAX_N:
        raise ValidationError(
            "ngram_range", value, f"must satisfy 1 <= shortest <= longest <= {_MAX_N}"
        )
    return int(low), int(high)


def _whole(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError(name, value, "must be a whole number")
    if value < minimum:
        raise ValidationError(name, value, f"must be at least {minimum}")
    return int(value)


def _stop_lists(stop_words: object) -> tuple[frozenset[str], frozenset[str]]:
    """Return (stop words, negations) for the ``stop_words`` option."""
    if stop_words is None:
        return frozenset(), frozenset()
    if isinstance(stop_words, str):
        if stop_words != "english":
            raise ValidationError(
                "stop_words", stop_words, "must be 'english', an iterable of words, or None"
            )
        return ENGLISH_STOP_WORDS, NEGATIONS
    try:
        words = list(stop_words)  # type: ignore[call-overload]
    except TypeError:
        raise ValidationError(
            "stop_words", stop_words, "must be 'english', an iterable of words, or None"
        ) from None
    bad = next((w for w in words if not isinstance(w, str)), None)
    if bad is not None:
        raise ValidationError("stop_words", bad, "every stop word must be a string")
    normalised = (unicodedata.normalize("NFKC", w).lower().replace("\u2019", "'") for w in words)
    return frozenset(normalised), frozenset()


def _as_list(by: str | Sequence[Hashable] | None) -> list[Hashable]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def _z_crit(confidence: object) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        raise ValidationError("confidence", confidence, "must be between 0 and 1, e.g. 0.95")
    if not 0 < confidence < 1:
        raise ValidationError("confidence", confidence, "must be between 0 and 1, e.g. 0.95")
    return float(stats.norm.ppf(0.5 + confidence / 2))


@attrs.frozen
class _Options:
    """The validated options that :func:`themes` and :func:`distinguishing_themes` share."""

    ngram_range: tuple[int, int]
    min_count: int
    top: int
    examples: int
    min_n: int
    z_crit: float
    stop: frozenset[str]
    negations: frozenset[str]

    @classmethod
    def check(
        cls,
        *,
        ngram_range: Any,
        min_count: Any,
        top: Any,
        examples: Any,
        min_n: Any,
        confidence: Any,
        stop_words: Any,
    ) -> _Options:
        stop, negations = _stop_lists(stop_words)
        return cls(
            ngram_range=_ngram_range(ngram_range),
            min_count=_whole("min_count", min_count, 1),
            top=_whole("top", top, 1),
            examples=_whole("examples", examples, 0),
            min_n=_whole("min_n", min_n, 0),
            z_crit=_z_crit(confidence),
            stop=stop,
            negations=negations,
        )


# -- counting n-grams ------------------------------------------------------------------------


@attrs.frozen
class _Ngrams:
    """Occurrences of the n-grams frequent enough to report, over a list of comments."""

    doc: np.ndarray  # the comment of each occurrence of a kept n-gram
    term: np.ndarray  # its term number, 0 .. len(labels) - 1
    labels: np.ndarray  # object array: each kept n-gram as words joined by spaces
    n_words: np.ndarray  # int64: words in each kept n-gram
    term_total: np.ndarray  # int64: occurrences of each kept n-gram in all comments
    doc_total: np.ndarray  # int64: occurrences of every n-gram (kept or not) per comment
    vocabulary: int  # distinct n-grams of any count


@attrs.frozen
class _Tokens:
    """The words of all comments in order, as codes, with where phrases may start and end."""

    word: np.ndarray  # int64 code of each word, in reading order
    segment: np.ndarray  # clause number of each word: an n-gram lies within one clause
    doc: np.ndarray  # comment of each word
    words: np.ndarray  # object: the word of each code
    can_start: np.ndarray  # bool per code: may begin an n-gram
    can_end: np.ndarray  # bool per code: may end an n-gram (or be a unigram)


def _tokenise(texts: Sequence[str], stop: frozenset[str], negations: frozenset[str]) -> _Tokens:
    body = _SEP.join(texts)
    if body.count(_SEP) != max(len(texts) - 1, 0):  # a comment holds the separator itself
        body = _SEP.join(t.replace(_SEP, " ") for t in texts)
    body = unicodedata.normalize("NFKC", _SEP + body).lower().replace("\u2019", "'")
    raw_codes, raw_uniques = pd.factorize(np.asarray(_TOKEN.findall(body), dtype=object))
    uniques: list[str] = list(raw_uniques)
    is_word = np.fromiter((u[0].isalnum() for u in uniques), bool, len(uniques))
    separators = np.fromiter((u.count(_SEP) for u in uniques), np.int64, len(uniques))
    # Possessives count with their noun: "agent's" is "agent".
    stems = [u[:-2] if u.endswith("'s") else u for u in uniques]
    stem_codes, stem_uniques = pd.factorize(np.asarray(stems, dtype=object))
    words = np.asarray(stem_uniques, dtype=object)
    has_letter = np.fromiter((any(c.isalpha() for c in w) for w in words), bool, len(words))
    is_stop = np.fromiter((w in stop for w in words), bool, len(words))
    is_negation = np.fromiter((w in negations for w in words), bool, len(words))
    tokens = raw_codes.astype(np.int64)
    breaks = ~is_word[tokens]
    keep = ~breaks
    return _Tokens(
        word=stem_codes[tokens[keep]].astype(np.int64),
        segment=np.cumsum(breaks)[keep],
        doc=(np.cumsum(separators[tokens]) - 1)[keep],
        words=words,
        can_start=has_letter & ~is_stop,
        can_end=has_letter & ~is_stop & ~is_negation,
    )


def _count_ngrams(texts: Sequence[str], options: _Options) -> _Ngrams:
    n_docs, min_count = len(texts), options.min_count
    found = _tokenise(texts, options.stop, options.negations)
    word, segment, doc_of, words = found.word, found.segment, found.doc, found.words
    n_tokens, n_words_vocab = len(word), max(len(words), 1)

    low, high = options.ngram_range
    doc_total = np.zeros(n_docs, dtype=np.int64)
    docs, terms, labels, lengths, totals = [], [], [], [], []
    vocabulary = offset = 0
    prefix = word  # code of the n-gram that starts at each position, for the current n
    for n in range(1, high + 1):
        starts = n_tokens - n + 1
        if starts <= 0:
            break
        if n > 1:
            prefix = pd.factorize(prefix[:starts] * n_words_vocab + word[n - 1 :])[0]
        if n < low:
            continue
        valid = (segment[:starts] == segment[n - 1 :]) & found.can_end[word[n - 1 :]]
        valid &= found.can_start[word[:starts]]
        positions = np.flatnonzero(valid)
        local, _ = pd.factorize(prefix[positions])
        counts = np.bincount(local)
        vocabulary += len(counts)
        doc_total += np.bincount(doc_of[positions], minlength=n_docs)
        frequent = counts >= min_count
        if not frequent.any():
            continue
        renumber = np.cumsum(frequent) - 1 + offset
        chosen = frequent[local]
        docs.append(doc_of[positions[chosen]])
        terms.append(renumber[local[chosen]])
        first = np.empty(len(counts), dtype=np.int64)
        first[local[::-1]] = positions[::-1]  # the first position of each n-gram wins
        first = first[frequent]
        columns = [words[word[first + j]] for j in range(n)]
        labels.append(
            np.asarray([" ".join(parts) for parts in zip(*columns, strict=True)], dtype=object)
        )
        lengths.append(np.full(int(frequent.sum()), n, dtype=np.int64))
        totals.append(counts[frequent].astype(np.int64))
        offset += int(frequent.sum())

    def stack(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    return _Ngrams(
        doc=stack(docs, np.int64).astype(np.int64),
        term=stack(terms, np.int64).astype(np.int64),
        labels=stack(labels, object),
        n_words=stack(lengths, np.int64),
        term_total=stack(totals, np.int64),
        doc_total=doc_total,
        vocabulary=vocabulary,
    )


def _pair_totals(
    left: np.ndarray, right: np.ndarray, n_right: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(left, right)`` pairs: their keys, how many rows each has, and weight sums."""
    key = left.astype(np.int64) * max(n_right, 1) + right
    unique, inverse = np.unique(key, return_inverse=True)
    rows = np.bincount(inverse, minlength=len(unique)).astype(np.int64)
    summed = (
        rows if weights is None else np.bincount(inverse, weights=weights, minlength=len(unique))
    )
    return unique // max(n_right, 1), unique % max(n_right, 1), rows, np.asarray(summed)


def _examples(
    ngrams: _Ngrams,
    *,
    cell_of_doc: np.ndarray,
    wanted_cell: np.ndarray,
    wanted_term: np.ndarray,
    texts: np.ndarray,
    text_codes: np.ndarray,
    k: int,
) -> list[list[str]]:
    """The ``k`` shortest distinct comments of each wanted (cell, term) that contain the term."""
    n_terms = max(len(ngrams.labels), 1)
    wanted = wanted_cell.astype(np.int64) * n_terms + wanted_term
    out: list[list[str]] = [[] for _ in range(len(wanted))]
    if k == 0 or not len(wanted):
        return out
    key = cell_of_doc[ngrams.doc] * n_terms + ngrams.term
    hit = np.isin(key, wanted)
    key, doc = key[hit], ngrams.doc[hit]
    text_id = text_codes[doc]
    length = np.fromiter((len(t) for t in texts), np.int64, len(texts))[doc]
    order = np.lexsort((text_id, length, key))
    # Shortest first, ties alphabetically (not by row order); a repeated comment shows once.
    frame = pd.DataFrame({"key": key[order], "text": text_id[order], "doc": doc[order]})
    frame = frame.drop_duplicates(["key", "text"])
    frame["rank"] = frame.groupby("key").cumcount()
    frame = frame[frame["rank"] < k]
    position = {int(w): i for i, w in enumerate(wanted)}
    for key_value, doc_number in zip(frame["key"].tolist(), frame["doc"].tolist(), strict=True):
        out[position[key_value]].append(str(texts[doc_number]))
    return out


# -- what customers talk about ---------------------------------------------------------------


def themes(
    df: pd.DataFrame,
    *,
    text: str = "text",
    by: str | Sequence[Hashable] | None = None,
    ngram_range: tuple[int, int] = (1, 2),
    min_count: int = 5,
    top: int = 20,
    stop_words: StopWords = "english",
    examples: int = 3,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> pd.DataFrame:
    """The n-grams mentioned in the most comments, overall or per group (e.g. touchpoint).

    Each comment counts once per theme however often it repeats it (``documents``), so one long
    rant does not make a theme; ``count`` gives the raw occurrences beside it. Themes are ranked
    by ``documents``, then ``count``, then alphabetically. Unigrams and the bigrams that contain
    them are counted separately ("delivery" and "late delivery" can both rank).

    Args:
        df: One row per comment, e.g. ``ws.interactions()`` or ``ws.feedback()`` (whose
            comments are in ``text="comment"``). Rows whose text is missing or blank are not
            comments and are left out.
        text: The column of comments (strings).
        by: Column(s) to group by (``"touchpoint"``).
        ngram_range: The shortest and longest n-grams, in words (up to 5).
        min_count: Leave out n-grams mentioned in fewer comments than this, per group.
        top: How many themes to return per group.
        stop_words: ``"english"`` (:data:`ENGLISH_STOP_WORDS`, with :data:`NEGATIONS` allowed
            to begin a theme), an iterable of your own stop words (matched lower-cased; no
            negation rule), or ``None`` for none.
        examples: How many example comments to attach to each theme: the shortest distinct
            comments of the group that contain it (ties alphabetically), as written.
        confidence: Coverage of the interval on ``share``.
        min_n: Groups with fewer comments are flagged ``low_n`` (still reported).

    Returns:
        One row per theme, groups in the order of their keys and themes by rank, columns: the
        ``by`` columns; ``theme`` (str, the n-gram's words joined by spaces); ``n_words``
        (int64); ``n`` (int64, comments in the group); ``documents`` (int64, comments that
        mention the theme); ``count`` (int64, occurrences); ``share`` (float64, percent of the
        group's comments that mention it); ``ci_low``, ``ci_high`` (float64, percent, Wilson
        interval of ``share``); ``low_n`` (bool); ``examples`` (list of str).

    Raises:
        ValidationError: If a column is missing, the text column holds something other than
            strings, or an option is invalid.

    Examples:
        >>> import pandas as pd
        >>> comments = pd.DataFrame({"text": [
        ...     "The delivery was late.", "Late delivery again!", "Friendly staff",
        ...     "Delivery late, staff rude."]})
        >>> table = themes(comments, min_count=2, top=3)
        >>> table[["theme", "documents", "count"]].to_records(index=False).tolist()
        [('delivery', 3, 3), ('late', 3, 3), ('staff', 2, 2)]
        >>> table["examples"].iloc[0]
        ['Late delivery again!', 'The delivery was late.', 'Delivery late, staff rude.']

    References:
        Manning, C. D. & Schütze, H. (1999). Foundations of Statistical Natural Language
        Processing, ch. 5 (collocations and n-gram counts). MIT Press.
    """
    keys = _as_list(by)
    frame = _check_frame(df, [text, *keys], text)
    options = _Options.check(
        ngram_range=ngram_range,
        min_count=min_count,
        top=top,
        examples=examples,
        min_n=min_n,
        confidence=confidence,
        stop_words=stop_words,
    )
    min_count, top, min_n = options.min_count, options.top, options.min_n
    rows = frame.loc[_comment_rows(frame, text)]
    groups = group_rows(rows, keys)
    texts = rows[text].astype(str).to_numpy(dtype=object)
    ngrams = _count_ngrams(list(texts), options)
    comments = groups.count() if len(rows) else np.zeros(0, dtype=np.int64)

    n_terms = len(ngrams.labels)
    pair_doc, pair_term, occurrences, _ = _pair_totals(ngrams.doc, ngrams.term, n_terms)
    cell, term, documents, count = _pair_totals(
        groups.codes[pair_doc], pair_term, n_terms, occurrences.astype(float)
    )
    count = np.rint(count).astype(np.int64)
    enough = documents >= min_count
    cell, term, documents, count = cell[enough], term[enough], documents[enough], count[enough]
    label_rank = np.argsort(np.argsort(ngrams.labels, kind="stable"), kind="stable")
    order = np.lexsort((label_rank[term], -count, -documents, cell))
    cell, term, documents, count = cell[order], term[order], documents[order], count[order]
    first = np.searchsorted(cell, cell, side="left")
    chosen = np.arange(len(cell)) - first < top
    cell, term, documents, count = cell[chosen], term[chosen], documents[chosen], count[chosen]

    text_codes = pd.factorize(texts, sort=True)[0] if len(texts) else np.zeros(0, dtype=np.int64)
    example_lists = _examples(
        ngrams,
        cell_of_doc=groups.codes,
        wanted_cell=cell,
        wanted_term=term,
        texts=texts,
        text_codes=text_codes,
        k=options.examples,
    )
    n = comments[cell] if len(cell) else np.zeros(0, dtype=np.int64)
    ci_low, ci_high = wilson_interval(documents, n, confidence=confidence)
    result = groups.keys.iloc[cell].reset_index(drop=True) if keys else pd.DataFrame()
    result["theme"] = pd.Series(ngrams.labels[term], dtype=object)
    result["n_words"] = ngrams.n_words[term].astype(np.int64)
    result["n"] = np.asarray(n, dtype=np.int64)
    result["documents"] = documents.astype(np.int64)
    result["count"] = count
    with np.errstate(invalid="ignore", divide="ignore"):
        result["share"] = documents / n * 100
    result["ci_low"], result["ci_high"] = ci_low * 100, ci_high * 100
    result["low_n"] = result["n"].to_numpy() < min_n
    result["examples"] = pd.Series(example_lists, dtype=object)
    return result.reset_index(drop=True)


# -- what sets two groups apart --------------------------------------------------------------


def _monroe(
    y_a: np.ndarray,
    *,
    y_b: np.ndarray,
    alpha: np.ndarray,
    n_a: Any,
    n_b: Any,
    alpha0: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monroe et al. (2008) eqs. 16, 20 and 22: log-odds difference, its variance, z."""
    pa, pb = y_a + alpha, y_b + alpha
    rest_a, rest_b = n_a + alpha0 - pa, n_b + alpha0 - pb
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (pa > 0) & (pb > 0) & (rest_a > 0) & (rest_b > 0)
        delta = np.where(
            ok,
            np.log(np.where(ok, pa, 1.0))
            - np.log(np.where(ok, rest_a, 1.0))
            - np.log(np.where(ok, pb, 1.0))
            + np.log(np.where(ok, rest_b, 1.0)),
            np.nan,
        )
        variance = np.where(ok, 1 / np.where(ok, pa, 1.0) + 1 / np.where(ok, pb, 1.0), np.nan)
        z = delta / np.sqrt(variance)
    return delta, variance, z


def _counts_array(name: str, value: object) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(name, value, "must be numbers") from None
    if array.ndim != 1:
        raise ValidationError(name, value, "must be one-dimensional")
    if (~np.isfinite(array)).any() or (array < 0).any():
        raise ValidationError(name, value, "must be finite and not negative")
    return array


def weighted_log_odds(
    count_a: Any,
    count_b: Any,
    *,
    prior: Prior | Any = "informative",
    alpha0: float | None = None,
    total_a: float | None = None,
    total_b: float | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    r"""Monroe et al.'s weighted log-odds ratio of each word between two groups, with z.

    For word w with counts y_a, y_b in groups of n_a, n_b words, and Dirichlet prior
    pseudo-counts a_w summing to a_0 over the vocabulary::

        log_odds_w = log((y_a + a_w) / (n_a + a_0 - y_a - a_w))
                   - log((y_b + a_w) / (n_b + a_0 - y_b - a_w))
        variance_w ~ 1 / (y_a + a_w) + 1 / (y_b + a_w)
        z_w = log_odds_w / sqrt(variance_w)

    A positive z leans to group a. Pass the counts of the whole vocabulary, or give the totals.

    Args:
        count_a: Counts of each word in group a (array or Series; a Series' index names the
            words and is kept).
        count_b: Counts of the same words in group b.
        prior: ``"informative"``: a_w proportional to the word's pooled count, a_w =
            a_0 (y_a + y_b) / (n_a + n_b); ``"uninformative"``: the same a_w = a_0 / V for all
            V words; or an array of a_w (each above 0).
        alpha0: The prior's total weight a_0. By default the pooled total n_a + n_b
            (informative: a_w is the pooled count), V (uninformative: a_w = 1), or the sum of
            the given array.
        total_a: n_a, when the counts cover only part of the vocabulary (default: their sum).
        total_b: n_b, likewise.
        confidence: Coverage of the interval on ``log_odds``.

    Returns:
        One row per word, columns: ``count_a``, ``count_b``, ``prior`` (a_w), ``log_odds``,
        ``variance``, ``se`` (its square root), ``z``, ``ci_low``, ``ci_high`` (``log_odds``
        plus or minus the normal quantile times ``se``), all float64; NaN where a log is of 0.

    Raises:
        ValidationError: If the counts are negative, of unequal length, or an option is invalid.

    Examples:
        >>> table = weighted_log_odds([12, 2, 4], [3, 10, 1], prior="uninformative")
        >>> [round(v, 3) for v in table["z"]]
        [2.911, -3.681, 1.018]

    References:
        Monroe, B. L., Colaresi, M. P. & Quinn, K. M. (2008). Fightin' words: lexical feature
        selection and evaluation for identifying the content of political conflict. Political
        Analysis, 16(4), 372-403, eqs. 16-22. doi:10.1093/pan/mpn018
    """
    y_a, y_b = _counts_array("count_a", count_a), _counts_array("count_b", count_b)
    if len(y_a) != len(y_b):
        raise ValidationError(
            "count_b", len(y_b), f"must have as many counts as count_a ({len(y_a)})"
        )
    n_a = float(y_a.sum()) if total_a is None else float(total_a)
    n_b = float(y_b.sum()) if total_b is None else float(total_b)
    if n_a < y_a.sum() or n_b < y_b.sum():
        raise ValidationError(
            "total_a" if n_a < y_a.sum() else "total_b",
            (n_a, n_b),
            "is below the sum of the counts",
        )
    _check_alpha0(alpha0)
    if isinstance(prior, str):
        if prior == "informative":
            a0 = n_a + n_b if alpha0 is None else float(alpha0)
            alpha = a0 * (y_a + y_b) / max(n_a + n_b, 1e-300)
        elif prior == "uninformative":
            a0 = float(len(y_a)) if alpha0 is None else float(alpha0)
            alpha = np.full(len(y_a), a0 / max(len(y_a), 1))
        else:
            raise ValidationError(
                "prior", prior, "must be 'informative', 'uninformative' or an array of a_w"
            )
    else:
        alpha = _counts_array("prior", prior)
        if len(alpha) != len(y_a) or (alpha <= 0).any():
            raise ValidationError("prior", prior, "must hold one positive a_w per word")
        a0 = float(alpha.sum()) if alpha0 is None else float(alpha0)
    z_crit = _z_crit(confidence)
    delta, variance, z = _monroe(y_a, y_b=y_b, alpha=alpha, n_a=n_a, n_b=n_b, alpha0=a0)
    se = np.sqrt(variance)
    index = count_a.index if isinstance(count_a, pd.Series) else None
    return pd.DataFrame(
        {
            "count_a": y_a,
            "count_b": y_b,
            "prior": alpha,
            "log_odds": delta,
            "variance": variance,
            "se": se,
            "z": z,
            "ci_low": delta - z_crit * se,
            "ci_high": delta + z_crit * se,
        },
        index=index,
    )


def _sides(
    frame: pd.DataFrame, group: Any, labels: Sequence[Any] | None
) -> tuple[np.ndarray, Any, Any]:
    """Return each row's side (0 = a, 1 = b, -1 = neither) and the two labels."""
    if isinstance(group, str):
        if group not in frame.columns:
            raise ValidationError(
                "group", group, f"no such column; the frame has {list(frame.columns)}"
            )
        return _labelled_sides(frame[group], labels, f"column {group!r}")
    if isinstance(group, pd.Series) and not group.index.equals(frame.index):
        raise ValidationError("group", "Series", "its index must be the frame's index")
    array = np.asarray(group)
    if array.ndim != 1 or len(array) != len(frame):
        raise ValidationError(
            "group",
            type(group).__name__,
            f"must be a column name or {len(frame)} values aligned with the rows",
        )
    if array.dtype == bool:  # a mask: True is side a, False side b
        label_a, label_b = (True, False) if labels is None else _two_labels(labels)
        if label_b is None:
            label_b = f"not {label_a}"
        return np.where(array, 0, 1), label_a, label_b
    values = group if isinstance(group, pd.Series) else pd.Series(array, index=frame.index)
    return _labelled_sides(values, labels, "group")


def _labelled_sides(
    values: pd.Series, labels: Sequence[Any] | None, where: str
) -> tuple[np.ndarray, Any, Any]:
    if labels is None:
        present = values.dropna().unique()
        if isinstance(values.dtype, pd.CategoricalDtype):
            seen = set(present)
            found = [c for c in values.cat.categories if c in seen]
        else:
            found = sorted(present.tolist(), key=lambda v: (str(type(v)), v))
        if len(found) != 2:
            raise ValidationError(
                "group",
                found[:10],
                f"{where} must hold exactly two values to compare; pass labels=(a, b) to pick two",
            )
        label_a, label_b = found
    else:
        label_a, label_b = _two_labels(labels)
    is_a = (values == label_a).fillna(False).to_numpy(dtype=bool)
    if label_b is None:
        is_b = ~is_a
        label_b = f"not {label_a}"
    else:
        is_b = (values == label_b).fillna(False).to_numpy(dtype=bool)
    for label, flags in ((label_a, is_a), (label_b, is_b)):
        if not flags.any():
            raise ValidationError("labels", label, f"no row of {where} has this value")
    return np.where(is_a, 0, np.where(is_b, 1, -1)), label_a, label_b


def _check_alpha0(alpha0: Any) -> None:
    if alpha0 is None:
        return
    if isinstance(alpha0, bool) or not isinstance(alpha0, (int, float, np.number)):
        raise ValidationError("alpha0", alpha0, "must be a positive number or None")
    if not 0 < float(alpha0) < np.inf:
        raise ValidationError("alpha0", alpha0, "must be a positive number or None")


def _two_labels(labels: Any) -> tuple[Any, Any]:
    if isinstance(labels, str):
        raise ValidationError("labels", labels, "must be two labels (a, b)")
    try:
        label_a, label_b = labels
    except (TypeError, ValueError):
        raise ValidationError("labels", labels, "must be two labels (a, b)") from None
    if label_a is None or (label_b is not None and label_a == label_b):
        raise ValidationError("labels", labels, "must be two different labels; b may be None")
    return label_a, label_b


def distinguishing_themes(
    df: pd.DataFrame,
    group: str | Sequence[Any] | np.ndarray | pd.Series,
    *,
    labels: Sequence[Any] | None = None,
    text: str = "text",
    by: str | Sequence[Hashable] | None = None,
    prior: Prior = "informative",
    alpha0: float | None = None,
    ngram_range: tuple[int, int] = (1, 2),
    min_count: int = 5,
    top: int = 20,
    stop_words: StopWords = "english",
    examples: int = 3,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> pd.DataFrame:
    """The n-grams that most set one set of comments apart from another, per group.

    The two sides (``a`` and ``b``) are compared with the weighted log-odds ratio of Monroe,
    Colaresi & Quinn (2008) (see :func:`weighted_log_odds`) and ranked by its z-score: for
    each ``by`` group, the ``top`` themes leaning most to side a (largest z) and then the
    ``top`` leaning most to side b (most negative z). |z| > 1.96 is the usual bar, but with
    thousands of n-grams some pass it by chance: read z as a ranking, not a test.

    The informative prior (default) is Monroe et al.'s: a_w = a_0 pi_w, where pi_w is the
    n-gram's share of all n-gram occurrences in the compared comments of every group (so a
    touchpoint with few comments borrows the shape of the whole corpus) and a_0 defaults to
    the group's own number of n-gram occurrences (so the prior weighs as much as the group's
    data; with no ``by`` a_w is simply the n-gram's pooled count, as in tidylo). Every n-gram
    occurrence of the group counts in n_a and n_b, including those below ``min_count``.

    Args:
        df: One row per comment.
        group: Which side each row is on: a column name, or values aligned with ``df`` (a
            Series with the frame's index, or an array). With exactly two distinct values
            they are the sides, in sorted (or category) order; otherwise pick two with
            ``labels``. Rows with another or a missing value are left out. Booleans are a
            mask: True is side a, False side b.
        labels: ``(a, b)``: the two values to compare; ``b`` may be ``None`` for "every other
            row". For booleans, names for the True and False sides.
        text: The column of comments.
        by: Column(s) to compare within (``"touchpoint"``).
        prior: ``"informative"`` or ``"uninformative"`` (a_w = a_0 / V with V the number of
            distinct n-grams; a_0 defaults to V, so a_w = 1).
        alpha0: The prior's total weight a_0, the same for every group; default as above.
        ngram_range: The shortest and longest n-grams, in words (up to 5).
        min_count: Leave out n-grams mentioned in fewer comments than this (both sides
            together), per group.
        top: How many themes to return per side and group.
        stop_words: As in :func:`themes`.
        examples: How many example comments per side to attach to each theme.
        confidence: Coverage of the interval on ``log_odds``.
        min_n: Groups where either side has fewer comments are flagged ``low_n``.

    Returns:
        Rows per group (in the order of the ``by`` keys), columns: the ``by`` columns;
        ``theme`` (str); ``n_words`` (int64); ``leans_to`` (the label of the side it is
        characteristic of: a where z > 0, else b); ``z``, ``log_odds``, ``se``, ``ci_low``,
        ``ci_high`` (float64; positive log-odds lean to a); ``count_a``, ``count_b`` (int64,
        occurrences); ``documents_a``, ``documents_b`` (int64, comments mentioning it);
        ``n_a``, ``n_b`` (int64, comments on each side); ``share_a``, ``share_b`` (float64,
        percent of each side's comments mentioning it); ``low_n`` (bool); ``examples_a``,
        ``examples_b`` (list of str). ``result.attrs["labels"]`` holds ``(a, b)``.

    Raises:
        ValidationError: If a column is missing, the sides are not two, or an option is
            invalid.

    Examples:
        >>> import pandas as pd
        >>> comments = pd.DataFrame({
        ...     "text": ["Rude agent, long wait"] * 6 + ["Quick and friendly"] * 6
        ...     + ["Long wait but friendly"] * 2,
        ...     "segment": ["detractor"] * 6 + ["promoter"] * 8})
        >>> table = distinguishing_themes(comments, "segment", top=1)
        >>> table[["theme", "leans_to", "documents_a", "documents_b"]].values.tolist()
        [['agent', 'detractor', 6, 0], ['friendly', 'promoter', 0, 8]]

    References:
        Monroe, B. L., Colaresi, M. P. & Quinn, K. M. (2008). Fightin' words: lexical feature
        selection and evaluation for identifying the content of political conflict. Political
        Analysis, 16(4), 372-403. doi:10.1093/pan/mpn018
    """
    keys = _as_list(by)
    frame = _check_frame(df, [text, *keys], text)
    side, label_a, label_b = _sides(frame, group, labels)
    options = _Options.check(
        ngram_range=ngram_range,
        min_count=min_count,
        top=top,
        examples=examples,
        min_n=min_n,
        confidence=confidence,
        stop_words=stop_words,
    )
    if prior not in ("informative", "uninformative"):
        raise ValidationError("prior", prior, "must be 'informative' or 'uninformative'")
    _check_alpha0(alpha0)

    selected = _comment_rows(frame, text) & (side >= 0)
    rows = frame.loc[selected]
    groups = group_rows(rows, keys)
    texts = rows[text].astype(str).to_numpy(dtype=object)
    ngrams = _count_ngrams(list(texts), options)
    table = _two_sided_counts(
        ngrams, groups.codes * 2 + side[selected], groups.size, options.min_count
    )
    delta, variance, z = _table_log_odds(table, ngrams, prior=prior, alpha0=alpha0)

    # Per group: side a by z descending, then side b by z ascending; top of each.
    label_rank = np.argsort(np.argsort(ngrams.labels, kind="stable"), kind="stable")
    leans_b = ~(z > 0)
    strength = np.where(np.isnan(z), -np.inf, np.abs(z))
    order = np.lexsort((label_rank[table.term], -strength, leans_b, table.group))
    bucket = table.group[order] * 2 + leans_b[order]
    first = np.searchsorted(bucket, bucket, side="left")
    order = order[(np.arange(len(order)) - first < options.top) & ~np.isnan(z[order])]

    g, t = table.group[order], table.term[order]
    text_codes = pd.factorize(texts, sort=True)[0] if len(texts) else np.zeros(0, dtype=np.int64)
    example_lists = [
        _examples(
            ngrams,
            cell_of_doc=table.cell_of_doc,
            wanted_cell=g * 2 + side_code,
            wanted_term=t,
            texts=texts,
            text_codes=text_codes,
            k=options.examples,
        )
        for side_code in (0, 1)
    ]
    result = groups.keys.iloc[g].reset_index(drop=True) if keys else pd.DataFrame()
    result["theme"] = pd.Series(ngrams.labels[t], dtype=object)
    result["n_words"] = ngrams.n_words[t].astype(np.int64)
    sides = np.asarray([label_a, label_b], dtype=object)
    result["leans_to"] = pd.Series(sides[leans_b[order].astype(np.int64)], dtype=object)
    se = np.sqrt(variance[order])
    result["z"] = z[order]
    result["log_odds"] = delta[order]
    result["se"] = se
    result["ci_low"] = delta[order] - options.z_crit * se
    result["ci_high"] = delta[order] + options.z_crit * se
    result = _add_side_columns(result, table, order, options.min_n)
    result["examples_a"] = pd.Series(example_lists[0], dtype=object)
    result["examples_b"] = pd.Series(example_lists[1], dtype=object)
    result = result.reset_index(drop=True)
    result.attrs["labels"] = (label_a, label_b)
    return result


def _table_log_odds(
    table: _TwoSided, ngrams: _Ngrams, *, prior: str, alpha0: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monroe et al.'s log-odds, variance and z for every row of ``table``."""
    n_a, n_b = table.tokens[table.group * 2], table.tokens[table.group * 2 + 1]
    if prior == "informative":
        share = ngrams.term_total[table.term] / max(float(ngrams.doc_total.sum()), 1.0)
        a0 = n_a + n_b if alpha0 is None else np.full(len(table.term), float(alpha0))
        alpha = a0 * share
    else:
        a0 = np.full(len(table.term), float(ngrams.vocabulary if alpha0 is None else alpha0))
        alpha = a0 / max(ngrams.vocabulary, 1)
    y = table.count
    return _monroe(y[:, 0], y_b=y[:, 1], alpha=alpha, n_a=n_a, n_b=n_b, alpha0=a0)


def _add_side_columns(
    result: pd.DataFrame, table: _TwoSided, order: np.ndarray, min_n: int
) -> pd.DataFrame:
    """Add each side's counts, comments, shares and the ``low_n`` flag for ``order``'s rows."""
    group = table.group[order]
    result["count_a"] = np.rint(table.count[order, 0]).astype(np.int64)
    result["count_b"] = np.rint(table.count[order, 1]).astype(np.int64)
    result["documents_a"] = table.documents[order, 0]
    result["documents_b"] = table.documents[order, 1]
    n_a, n_b = table.comments[group * 2], table.comments[group * 2 + 1]
    result["n_a"], result["n_b"] = n_a, n_b
    with np.errstate(invalid="ignore", divide="ignore"):
        result["share_a"] = table.documents[order, 0] / n_a * 100
        result["share_b"] = table.documents[order, 1] / n_b * 100
    result["low_n"] = (n_a < min_n) | (n_b < min_n)
    return result


@attrs.frozen
class _TwoSided:
    """Per (group, n-gram) counts on both sides, for the n-grams common enough to compare."""

    group: np.ndarray  # the by-group of each row
    term: np.ndarray  # the n-gram of each row
    count: np.ndarray  # float (rows, 2): occurrences on side a and side b
    documents: np.ndarray  # int64 (rows, 2): comments mentioning it on each side
    tokens: np.ndarray  # float per cell (group * 2 + side): all n-gram occurrences, n_a / n_b
    comments: np.ndarray  # int64 per cell: comments
    cell_of_doc: np.ndarray  # the cell of each comment


def _two_sided_counts(
    ngrams: _Ngrams, cell_of_doc: np.ndarray, n_groups: int, min_count: int
) -> _TwoSided:
    n_terms, n_cells = max(len(ngrams.labels), 1), 2 * n_groups
    pair_doc, pair_term, occurrences, _ = _pair_totals(ngrams.doc, ngrams.term, n_terms)
    cell, term, documents, count = _pair_totals(
        cell_of_doc[pair_doc], pair_term, n_terms, occurrences.astype(float)
    )
    slot, slot_index = np.unique((cell // 2) * n_terms + term, return_inverse=True)
    y = np.zeros((len(slot), 2))
    d = np.zeros((len(slot), 2), dtype=np.int64)
    y[slot_index, cell % 2] = count
    d[slot_index, cell % 2] = documents
    enough = d.sum(axis=1) >= min_count
    return _TwoSided(
        group=(slot // n_terms)[enough],
        term=(slot % n_terms)[enough],
        count=y[enough],
        documents=d[enough],
        tokens=np.bincount(cell_of_doc, weights=ngrams.doc_total, minlength=n_cells),
        comments=np.bincount(cell_of_doc, minlength=n_cells).astype(np.int64),
        cell_of_doc=cell_of_doc,
    )


# -- NPS convenience -------------------------------------------------------------------------


def nps_segment(scores: Any) -> pd.Series:
    """Label 0-10 answers detractor (0-6), passive (7-8) or promoter (9-10).

    Args:
        scores: The answers (a Series keeps its index and name).

    Returns:
        A categorical Series with categories ``detractor``, ``passive``, ``promoter``.

    Raises:
        ValidationError: If an answer is missing or not a whole number from 0 to 10.

    Examples:
        >>> nps_segment([0, 7, 10]).tolist()
        ['detractor', 'passive', 'promoter']

    References:
        Reichheld, F. F. (2003). The one number you need to grow. Harvard Business Review,
        81(12), 46-54.
    """
    series = scores if isinstance(scores, pd.Series) else pd.Series(scores)
    name = str(series.name) if series.name is not None else "scores"
    try:
        values = series.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        bad = next(v for v in series if not isinstance(v, (int, float, np.number)))
        raise ValidationError(name, bad, "NPS scores must be numbers") from None
    wrong = np.isnan(values) | (values < 0) | (values > 10) | (values != np.floor(values))
    if wrong.any():
        first = int(np.flatnonzero(wrong)[0])
        raise ValidationError(
            name,
            series.iloc[first],
            f"{int(wrong.sum())} NPS score(s) are not whole numbers from 0 to 10 "
            f"(row {series.index[first]!r})",
        )
    codes = np.where(values <= 6, 0, np.where(values <= 8, 1, 2))
    segments = pd.Categorical.from_codes(
        codes.astype(np.int64), dtype=pd.CategoricalDtype(["detractor", "passive", "promoter"])
    )
    return pd.Series(segments, index=series.index, name="segment")


def nps_themes(
    df: pd.DataFrame,
    *,
    score: str = "score",
    text: str = "text",
    by: str | Sequence[Hashable] | None = None,
    metric: str | None = "nps",
    prior: Prior = "informative",
    alpha0: float | None = None,
    ngram_range: tuple[int, int] = (1, 2),
    min_count: int = 5,
    top: int = 20,
    stop_words: StopWords = "english",
    examples: int = 3,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> pd.DataFrame:
    """What detractors say that promoters do not, and the reverse, from NPS comments.

    Labels each answer with :func:`nps_segment` and runs :func:`distinguishing_themes` with
    detractors as side a and promoters as side b (passives are left out), so a positive
    ``z`` marks a detractor theme.

    Args:
        df: One row per NPS answer, e.g. ``ws.feedback()`` (pass ``text="comment"``). When it
            has a ``metric`` column only the rows whose metric is ``metric`` are used.
        score: The column of 0-10 answers.
        text: The column of comments.
        by: Column(s) to compare within (``"touchpoint"``).
        metric: The ``metric`` value to keep; ``None`` uses every row.
        prior: As in :func:`distinguishing_themes`.
        alpha0: As in :func:`distinguishing_themes`.
        ngram_range: As in :func:`distinguishing_themes`.
        min_count: As in :func:`distinguishing_themes`.
        top: As in :func:`distinguishing_themes`.
        stop_words: As in :func:`distinguishing_themes`.
        examples: As in :func:`distinguishing_themes`.
        confidence: As in :func:`distinguishing_themes`.
        min_n: As in :func:`distinguishing_themes`.

    Returns:
        The table of :func:`distinguishing_themes`, with ``leans_to`` ``"detractor"`` or
        ``"promoter"`` and ``_a`` columns for detractors, ``_b`` for promoters.

    Raises:
        ValidationError: If a column is missing, a score is not 0-10, or there are no
            detractors or no promoters.

    Examples:
        >>> import pandas as pd
        >>> answers = pd.DataFrame({
        ...     "score": [2] * 5 + [10] * 5 + [8],
        ...     "text": ["Slow refund"] * 5 + ["Fast refund"] * 5 + ["Fine"]})
        >>> nps_themes(answers, top=1)[["theme", "leans_to"]].values.tolist()
        [['slow', 'detractor'], ['fast', 'promoter']]

    References:
        Monroe, B. L., Colaresi, M. P. & Quinn, K. M. (2008). Fightin' words. Political
        Analysis, 16(4), 372-403. Reichheld, F. F. (2003). The one number you need to grow.
        Harvard Business Review, 81(12), 46-54.
    """
    frame = _check_frame(df, [score, text, *_as_list(by)], text)
    if metric is not None and "metric" in frame.columns:
        frame = frame.loc[frame["metric"].to_numpy() == metric]
    segment = nps_segment(frame[score].rename(score))
    return distinguishing_themes(
        frame,
        segment,
        labels=("detractor", "promoter"),
        text=text,
        by=by,
        prior=prior,
        alpha0=alpha0,
        ngram_range=ngram_range,
        min_count=min_count,
        top=top,
        stop_words=stop_words,
        examples=examples,
        confidence=confidence,
        min_n=min_n,
    )
