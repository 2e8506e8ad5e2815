"""The integer-code group-by under every metric, checked against pandas' own groupby."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxm.exceptions import ValidationError
from cxm.metrics._grouping import group_rows, grouped_sums


def random_frame(seed: int, n: int = 3000, tz: str | None = "UTC") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    times = pd.to_datetime(rng.integers(1_700_000_000, 1_740_000_000, n), unit="s").as_unit("us")
    frame = pd.DataFrame(
        {
            "score": rng.integers(0, 11, n),
            "touchpoint": pd.Categorical(
                rng.choice(["Checkout", "Support", "App", None], n),
                categories=["Support", "Checkout", "App", "Never used"],  # not alphabetical
            ),
            "channel": rng.choice(["email", "web", "phone"], n).astype(object),
            "segment": rng.integers(1, 4, n),
            "occurred_at": times.tz_localize("UTC").tz_convert(tz) if tz else times,
        }
    )
    frame.loc[rng.random(n) < 0.05, "channel"] = None
    return frame


def pandas_oracle(frame: pd.DataFrame, by: list[str], freq: str | None) -> pd.DataFrame:
    keys: list[object] = list(by)
    if freq is not None:
        keys.append(pd.Grouper(key="occurred_at", freq=freq))
    grouped = frame.assign(promoter=frame["score"] >= 9).groupby(
        keys, observed=True, dropna=False, sort=True
    )
    out = grouped.agg(n=("score", "size"), promoters=("promoter", "sum"), total=("score", "sum"))
    out = out[out["n"] > 0].reset_index()
    return out.rename(columns={"occurred_at": "period"})


@pytest.mark.parametrize(
    ("by", "freq", "tz"),
    [
        (["touchpoint"], None, "UTC"),
        (["channel"], None, "UTC"),
        (["touchpoint", "channel", "segment"], None, "UTC"),
        ([], "MS", "UTC"),
        (["touchpoint"], "MS", "UTC"),
        (["channel"], "W", "UTC"),  # labelled by the week's end, as pandas does
        (["segment"], "QS", "UTC"),
        ([], "ME", "UTC"),
        ([], "D", "UTC"),
        (["touchpoint"], "6h", "UTC"),
        ([], "7D", "UTC"),
        (["touchpoint"], "MS", "Europe/Berlin"),  # months of the local calendar
        ([], "D", "America/New_York"),
        (["channel"], "MS", None),  # naive times
    ],
)
def test_matches_pandas_groupby(by: list[str], freq: str | None, tz: str | None) -> None:
    frame = random_frame(len(by) * 7 + len(freq or ""), tz=tz).sample(frac=1, random_state=3)
    got = grouped_sums(
        frame,
        {"promoters": frame["score"].to_numpy() >= 9, "total": frame["score"].to_numpy()},
        by=by,
        time="occurred_at",
        freq=freq,
    )
    expected = pandas_oracle(frame, by, freq)
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for column in expected.columns:
        left, right = got[column], expected[column]
        if column == "period":
            assert (left.to_numpy() == right.to_numpy()).all(), column
            assert left.dt.tz == right.dt.tz
        else:
            assert (
                left.astype(object).where(left.notna(), None).tolist()
                == right.astype(object).where(right.notna(), None).tolist()
            ), column


def test_categories_keep_their_dtype_and_order() -> None:
    frame = random_frame(1)
    groups = group_rows(frame, ["touchpoint"])
    keys = groups.keys["touchpoint"]
    assert isinstance(keys.dtype, pd.CategoricalDtype)
    assert list(keys.cat.categories) == ["Support", "Checkout", "App", "Never used"]
    # observed categories in category order, then the missing ones
    assert keys.tolist()[:3] == ["Support", "Checkout", "App"]
    assert pd.isna(keys.iloc[3])
    assert groups.count().sum() == len(frame)


def test_no_keys_is_one_group_even_when_empty() -> None:
    empty = random_frame(2).iloc[:0]
    groups = group_rows(empty, [])
    assert groups.size == 1
    assert groups.count().tolist() == [0]


def test_high_cardinality_keys_are_compacted() -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    frame = pd.DataFrame(
        {
            "a": rng.integers(0, 5_000, n),
            "b": rng.integers(0, 5_000, n),
            "score": np.ones(n, dtype=int),
        }
    )
    got = grouped_sums(frame, {}, by=["a", "b"], time="t", freq=None)
    expected = frame.groupby(["a", "b"]).size()
    assert got["n"].tolist() == expected.tolist()
    assert got["a"].tolist() == expected.index.get_level_values(0).tolist()


def test_times_must_be_present_and_datetimes() -> None:
    frame = random_frame(3)
    frame.loc[frame.index[4], "occurred_at"] = pd.NaT
    with pytest.raises(ValidationError, match="1 row"):
        group_rows(frame, [], freq="MS")
    frame["occurred_at"] = "2026-01-01"
    with pytest.raises(ValidationError, match="datetimes"):
        group_rows(frame, [], freq="MS")
    with pytest.raises(ValidationError) as raised:
        group_rows(random_frame(4), [], freq="every other day")
    assert raised.value.field == "freq"


def test_no_rows_with_a_frequency_is_no_groups() -> None:
    empty = random_frame(6).iloc[:0]
    groups = group_rows(empty, ["touchpoint"], freq="W")
    assert groups.size == 0
    assert list(groups.keys.columns) == ["touchpoint", "period"]
    with pytest.raises(ValidationError):
        group_rows(empty, [], freq="fortnightly")
