"""The journey functions on the frames a Workspace returns, end to end.

Each module's own tests use hand-built frames; these check that ``ws.interactions()``,
``ws.feedback()`` and ``ws.touchpoints()`` (categoricals, microsecond UTC times, anonymous rows)
go straight into them and give the counts a reader can work out from the records below.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import cxm
from cxm.exceptions import ValidationError

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
JOURNEYS = {
    # customer: touchpoints in order; the last element is an NPS score given at the end
    "ann@example.com": (["Search ad", "Website", "Checkout", "Support"], 3),
    "bob@example.com": (["Search ad", "Website", "Checkout"], 10),
    "cat@example.com": (["Review site", "Website", "Checkout"], 9),
    "dan@example.com": (["Review site", "Website"], None),
    "eve@example.com": (["Search ad", "Website", "Website", "Checkout", "Support"], 2),
}
CATALOG = [
    cxm.Touchpoint(name="Search ad", channel="ads", stage="awareness"),
    cxm.Touchpoint(name="Review site", channel="review_site", stage="awareness"),
    cxm.Touchpoint(name="Website", channel="web", stage="evaluation"),
    cxm.Touchpoint(name="Checkout", channel="web", stage="purchase"),
    cxm.Touchpoint(name="Support", channel="support", stage="post_purchase"),
]
CHANNEL = {t.name: t.channel for t in CATALOG}
KIND = {"Checkout": "purchase", "Support": "ticket"}


def _records() -> list[cxm.Interaction]:
    records = []
    for c, (email, (touchpoints, score)) in enumerate(JOURNEYS.items()):
        when = START + timedelta(days=c)
        for k, touchpoint in enumerate(touchpoints):
            when += timedelta(hours=6)
            last = k == len(touchpoints) - 1
            feedback = [cxm.Feedback(metric="nps", score=score)] if last and score else []
            records.append(
                cxm.Interaction(
                    source="shop",
                    source_id=f"{c}-{k}",
                    occurred_at=when,
                    channel=CHANNEL[touchpoint],
                    touchpoint=touchpoint,
                    kind=KIND.get(touchpoint, "page_view"),
                    identities=[cxm.Identity("email", email)],
                    feedback=feedback,
                )
            )
    # Someone who never told us who they are: stored without a customer.
    records.append(
        cxm.Interaction(
            source="shop",
            source_id="anon-1",
            occurred_at=START,
            channel="web",
            touchpoint="Website",
            kind="page_view",
        )
    )
    return records


@pytest.fixture(scope="module")
def ws() -> cxm.Workspace:
    workspace = cxm.Workspace.open(":memory:")
    workspace.register_touchpoints(CATALOG)
    report = workspace.ingest(_records())
    assert report.rejected == 0
    return workspace


def _known(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["customer_id"].notna()]


def test_an_anonymous_row_is_named_not_silently_dropped(ws: cxm.Workspace) -> None:
    with pytest.raises(ValidationError, match=r"case.*customer_id.*1 rows have no value"):
        cxm.journey.transitions(ws.interactions())


def test_transitions_and_variants_from_the_store(ws: cxm.Workspace) -> None:
    events = _known(ws.interactions())
    table = cxm.journey.transitions(events)
    counts = {(r.source, r.target): r.count for r in table.itertuples()}
    assert counts[("Website", "Checkout")] == 4
    assert counts[("Search ad", "Website")] == 3
    assert counts[("Website", "Website")] == 1
    assert counts[("Checkout", "Support")] == 2
    assert table["count"].sum() == len(events) - events["customer_id"].nunique()
    assert (table["duration_median"] == pd.Timedelta(hours=6)).all()
    variants = cxm.journey.variants(events)
    assert variants["cases"].sum() == 5
    assert variants["cases"].iloc[0] == 1  # five customers, five distinct journeys


def test_stages_from_the_catalog_and_a_funnel_over_them(ws: cxm.Workspace) -> None:
    events = _known(ws.interactions())
    staged = cxm.journey.assign_stages(events, cxm.journey.Stages(catalog=ws.touchpoints()))
    assert staged["stage"].cat.categories.tolist() == list(cxm.journey.LIFECYCLE)
    result = cxm.journey.funnel(
        staged, ["awareness", "evaluation", "purchase", "post_purchase"], activity="stage"
    )
    assert result.table["customers"].tolist() == [5, 5, 4, 2]
    # A kind works as a step too.
    by_kind = cxm.journey.funnel(events, ["Website", {"kind": "purchase"}], window="1D")
    assert by_kind.table["customers"].tolist() == [5, 4]


def test_journey_map_pain_points_and_segments_from_the_store(ws: cxm.Workspace) -> None:
    interactions = ws.interactions()
    feedback = ws.feedback()
    table = cxm.journey.journey_map(interactions, feedback=feedback, inactive=None)
    assert table["interactions"].sum() == len(interactions)
    support = table[table["touchpoint"] == "Support"].iloc[0]
    assert (support["customers"], support["nps_n"], support["nps"]) == (2, 2, -100.0)
    pain = cxm.journey.pain_points(interactions, feedback=feedback, min_n=1, top=1)
    assert pain["touchpoint"].iloc[0] == "Support"

    segments = cxm.journey.nps_segments(feedback)
    assert segments.to_dict() == {
        ws.customer("ann@example.com").customer_id: "detractor",
        ws.customer("bob@example.com").customer_id: "promoter",
        ws.customer("cat@example.com").customer_id: "promoter",
        ws.customer("eve@example.com").customer_id: "detractor",
    }
    compared = cxm.journey.compare_journeys(
        _known(interactions), segments, a="detractor", b="promoter", min_n=1
    )
    support_row = compared[compared["item"] == "Support"].iloc[0]
    assert (support_row["share_a"], support_row["share_b"]) == (1.0, 0.0)


def test_paths_and_attribution_from_the_store(ws: cxm.Workspace) -> None:
    events = _known(ws.interactions())
    result = cxm.journey.paths(events, steps=3, top=8)
    first = result.nodes[result.nodes["step"] == 0].set_index("label")["customers"]
    assert first.to_dict() == {"Search ad": 3, "Review site": 2}
    journeys = cxm.journey.conversion_paths(events, conversion="purchase", lookback="7D")
    converted = journeys[journeys["total_conversions"] > 0]
    assert len(converted) == 4
    credit = cxm.journey.attribution_table(converted, models=["first_touch", "last_touch"])
    credit = credit.set_index("channel")
    assert credit["first_touch"].to_dict() == {"ads": 3.0, "review_site": 1.0, "web": 0.0}
    assert credit["last_touch"].to_dict() == {"ads": 0.0, "review_site": 0.0, "web": 4.0}
