"""Stages: rule precedence, catalog defaults, attributes, config round trips, the workspace."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cxm
from cxm.exceptions import ValidationError
from cxm.journey.stages import LIFECYCLE, StageRule, Stages, assign_stages


def interactions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "touchpoint": pd.Categorical(["Blog", "Shop", "Shop", "Shop", "Help", "Reviews", None]),
            "kind": ["page_view", "page_view", "purchase", "review", "ticket", "review", "call"],
            "channel": pd.Categorical(["web", "web", "web", "web", "email", "web", "phone"]),
            "direction": ["inbound"] * 6 + ["outbound"],
            "stage": ["awareness", "evaluation", "evaluation", "evaluation", None, None, None],
            "attr_stars": [None, None, None, 5.0, None, 2, None],
        },
        index=[10, 11, 12, 13, 14, 15, 16],
    )


def test_the_default_lifecycle_is_the_journey_stage_enum() -> None:
    assert list(LIFECYCLE) == [s.value for s in cxm.JourneyStage]
    assert Stages().order == LIFECYCLE


def test_first_matching_rule_wins_then_catalog_then_missing() -> None:
    frame = interactions()
    stages = Stages(
        rules=[
            StageRule("purchase", kind="purchase"),
            StageRule("advocacy", kind="review", attributes={"stars": [4, 5]}),
            StageRule("post_purchase", kind=["review", "ticket"]),  # the 5-star review went above
        ]
    )
    got = stages.assign(frame)
    assert got.index.equals(frame.index)
    assert got.dtype == pd.CategoricalDtype(list(LIFECYCLE), ordered=True)
    assert got.astype(object).where(got.notna(), None).tolist() == [
        "awareness",  # no rule: the frame's own catalog stage
        "evaluation",
        "purchase",
        "advocacy",
        "post_purchase",
        "post_purchase",  # 2 stars: the advocacy rule does not match, the next one does
        None,  # nothing places the outbound call
    ]
    # Swapping the two review rules swaps the result: first match wins.
    swapped = Stages(rules=[stages.rules[0], stages.rules[2], stages.rules[1]])
    assert swapped.assign(frame).iloc[3] == "post_purchase"


def test_catalog_mapping_or_frame_replaces_the_frame_stage_and_default_fills_the_rest() -> None:
    frame = interactions()
    catalog = pd.DataFrame(
        {
            "name": ["Blog", "Shop", "Help", "Reviews"],
            "channel": ["web"] * 4,
            "stage": ["awareness", "purchase", "post_purchase", None],
        }
    )
    by_frame = Stages(catalog=catalog).assign(frame)
    by_mapping = Stages(
        catalog={"Blog": "awareness", "Shop": cxm.JourneyStage.PURCHASE, "Help": "post_purchase"}
    ).assign(frame)
    expected = ["awareness", "purchase", "purchase", "purchase", "post_purchase", None, None]
    for got in (by_frame, by_mapping):
        assert got.astype(object).where(got.notna(), None).tolist() == expected
    with_default = Stages(catalog=catalog, default="evaluation").assign(frame)
    assert with_default.tolist()[-2:] == ["evaluation", "evaluation"]
    # The catalog also works on plain object columns.
    plain = frame.assign(touchpoint=frame["touchpoint"].astype(object))
    assert Stages(catalog=catalog).assign(plain).equals(by_frame)


def test_attribute_rules_read_attr_columns_or_the_attributes_dicts() -> None:
    rule = StageRule("advocacy", attributes={"stars": 5, "tags": "fan"})
    stages = Stages(rules=[rule])
    with_columns = pd.DataFrame({"attr_stars": [5, 5.0, 4, None], "attr_tags": ["fan"] * 4})
    assert stages.assign(with_columns).notna().tolist() == [True, True, False, False]
    with_dicts = pd.DataFrame(
        {
            "attributes": [
                {"stars": 5, "tags": "fan"},
                {"stars": 5, "tags": ["fan", "vip"]},  # a list is not equal to "fan"
                {"tags": "fan"},
                None,
            ]
        }
    )
    assert stages.assign(with_dicts).notna().tolist() == [True, False, False, False]


def test_explain_counts_every_way_a_row_was_placed() -> None:
    stages = Stages(
        rules=[StageRule("purchase", kind="purchase"), StageRule("advocacy", kind="nothing")],
        catalog={"Blog": "awareness"},
    )
    table = stages.explain(interactions())
    assert table.to_dict("list") == {
        "source": ["rule 0", "catalog", "unassigned"],
        "stage": ["purchase", "awareness", np.nan],
        "rows": [1, 1, 5],
    }
    assert table["rows"].sum() == len(interactions())


def test_custom_ordered_stages_and_assign_stages_copies() -> None:
    frame = interactions()
    config = {
        "order": ["discover", "buy", "use"],
        "rules": [
            {"stage": "buy", "kind": "purchase"},
            {"stage": "use", "channel": ["email", "phone"]},
        ],
        "default": "discover",
    }
    out = assign_stages(frame, config)
    assert out is not frame
    assert frame["stage"].iloc[2] == "evaluation"  # the input is untouched
    assert out["stage"].tolist() == [
        "discover",
        "discover",
        "buy",
        "discover",
        "use",
        "discover",
        "use",
    ]
    assert out["stage"].cat.ordered
    assert (out["stage"] > "discover").tolist() == [False, False, True, False, True, False, True]
    assert out.drop(columns="stage").equals(frame.drop(columns="stage"))


def test_config_round_trips_through_json_and_toml() -> None:
    stages = Stages(
        order=["discover", "buy", "use"],
        rules=[
            StageRule("buy", kind="purchase", channel=["web", "store"]),
            StageRule("use", attributes={"plan": ["pro", "team"]}, direction="inbound"),
        ],
        catalog={"Help": "use", "Blog": None},
        default="discover",
    )
    data = stages.to_dict()
    assert Stages.from_dict(json.loads(json.dumps(data))) == stages
    toml = """
    order = ["discover", "buy", "use"]
    default = "discover"
    [catalog]
    Help = "use"
    [[rules]]
    stage = "buy"
    kind = "purchase"
    channel = ["web", "store"]
    [[rules]]
    stage = "use"
    direction = "inbound"
    attributes = { plan = ["pro", "team"] }
    """
    parsed = Stages.from_dict(tomllib.loads(toml))
    assert parsed.rules == stages.rules
    assert parsed.catalog == {"Help": "use"}


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Stages(rules=[StageRule("purchase"), StageRule("checkout")]), "rules[1].stage"),
        (lambda: Stages(catalog={"Shop": "checkout"}), "catalog['Shop']"),
        (lambda: Stages(default="later"), "default"),
        (lambda: Stages(order=["a", "b", "a"]), "order"),
        (lambda: Stages(order=[]), "order"),
        (lambda: Stages(order="abc"), "order"),
        (lambda: StageRule(""), "StageRule.stage"),
        (lambda: StageRule("purchase", kind=[]), "StageRule.kind"),
        (lambda: StageRule("purchase", channel={"web": 1}), "StageRule.channel"),
        (lambda: StageRule("purchase", attributes={"x": None}), "StageRule.attributes['x']"),
        (lambda: StageRule("purchase", attributes=["x"]), "StageRule.attributes"),
        (lambda: Stages.from_dict({"rules": [{"stage": "purchase", "knd": "x"}]}), "rules[0].knd"),
        (lambda: Stages.from_dict({"rules": [{"kind": "x"}]}), "rules[0].stage"),
        (lambda: Stages.from_dict({"odrer": []}), "odrer"),
        (lambda: Stages(rules=["purchase"]), "rules[0]"),
        (lambda: Stages(catalog=pd.DataFrame({"name": ["a"]})), "catalog"),
    ],
)
def test_invalid_definitions_name_the_field(build: object, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        build()  # type: ignore[operator]
    assert error.value.field == field


def test_missing_columns_and_unknown_frame_stages_name_the_field() -> None:
    frame = interactions()
    with pytest.raises(ValidationError) as error:
        Stages(rules=[StageRule("purchase", kind="purchase")]).assign(frame.drop(columns="kind"))
    assert error.value.field == "kind"
    with pytest.raises(ValidationError) as error:
        Stages(rules=[StageRule("purchase", attributes={"plan": "pro"})]).assign(frame)
    assert error.value.field == "rules[0].attributes"
    # Without a catalog, the frame's own stage must be one of the order.
    with pytest.raises(ValidationError, match="1 row") as error:
        Stages(order=["discover", "evaluation"]).assign(frame)
    assert (error.value.field, error.value.value) == ("stage", "awareness")
    # ... unless a default takes the rows it does not know.
    got = Stages(order=["discover", "evaluation"], default="discover").assign(frame)
    assert got.tolist() == ["discover", "evaluation", "evaluation", "evaluation"] + ["discover"] * 3
    with pytest.raises(ValidationError) as error:
        Stages(catalog={"Shop": "purchase"}).assign(frame.drop(columns="touchpoint"))
    assert error.value.field == "touchpoint"


RULE_VALUES = {
    "touchpoint": ["A", "B", "C"],
    "kind": ["view", "buy"],
    "channel": ["web", "email"],
    "direction": ["inbound", "outbound"],
}


@st.composite
def rules_and_rows(draw: st.DrawFn) -> tuple[list[StageRule], pd.DataFrame]:
    rules = []
    for _ in range(draw(st.integers(0, 4))):
        conditions = {}
        for name, values in RULE_VALUES.items():
            if draw(st.booleans()):
                conditions[name] = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2))
        if draw(st.booleans()):
            conditions["attributes"] = {"tier": draw(st.sampled_from([1, 2, [1, 3]]))}
        rules.append(StageRule(draw(st.sampled_from(LIFECYCLE)), **conditions))
    n = draw(st.integers(0, 25))
    rows = {
        name: draw(st.lists(st.sampled_from([*values, None]), min_size=n, max_size=n))
        for name, values in RULE_VALUES.items()
    }
    rows["attr_tier"] = draw(st.lists(st.sampled_from([1, 2, 3, None]), min_size=n, max_size=n))
    frame = pd.DataFrame(rows, dtype=object)
    if draw(st.booleans()):
        frame["touchpoint"] = frame["touchpoint"].astype("category")
    return rules, frame


@settings(max_examples=60, deadline=None)
@given(rules_and_rows())
def test_assignment_matches_a_row_by_row_reference(
    case: tuple[list[StageRule], pd.DataFrame],
) -> None:
    rules, frame = case
    catalog = {"A": "awareness", "C": "advocacy"}
    stages = Stages(rules=rules, catalog=catalog)
    got = stages.assign(frame)
    expected = []
    for _, row in frame.astype(object).iterrows():
        stage = None
        for rule in rules:
            ok = all(
                getattr(rule, name) is None or row[name] in getattr(rule, name)
                for name in RULE_VALUES
            ) and all(
                row[f"attr_{key}"] is not None and row[f"attr_{key}"] in wanted
                for key, wanted in rule.attributes.items()
            )
            if ok:
                stage = rule.stage
                break
        if stage is None:
            stage = catalog.get(row["touchpoint"])
        expected.append(stage)
    assert got.astype(object).where(got.notna(), None).tolist() == expected
    # Row order does not matter: each row keeps its stage.
    shuffled = frame.sample(frac=1.0, random_state=1)
    assert stages.assign(shuffled).sort_index().equals(got.sort_index())


def test_redefining_stages_needs_no_reingest() -> None:
    ws = cxm.Workspace.open(":memory:")
    try:
        t0 = datetime(2024, 5, 1, 9, tzinfo=UTC)
        ws.ingest(
            [
                cxm.Interaction(
                    source="shop",
                    source_id=str(i),
                    occurred_at=t0 + timedelta(hours=i),
                    channel="web",
                    kind=kind,
                    touchpoint=touchpoint,
                    attributes={"stars": stars} if stars else {},
                    identities=[cxm.Identity("email", f"c{i % 2}@example.com")],
                )
                for i, (kind, touchpoint, stars) in enumerate(
                    [
                        ("page_view", "Home", None),
                        ("purchase", "Checkout", None),
                        ("review", "Reviews", 5),
                        ("review", "Reviews", 1),
                    ]
                )
            ]
        )
        ws.register_touchpoints(
            [
                cxm.Touchpoint(name="Home", channel="web", stage="awareness"),
                cxm.Touchpoint(name="Checkout", channel="web", stage="purchase"),
            ]
        )
        frame = ws.interactions(attributes=["stars"])
        assert assign_stages(frame)["stage"].tolist()[:2] == ["awareness", "purchase"]
        first = Stages(rules=[StageRule("advocacy", kind="review")], catalog=ws.touchpoints())
        assert first.assign(frame).tolist() == ["awareness", "purchase", "advocacy", "advocacy"]
        second = Stages(
            rules=[
                StageRule("advocacy", kind="review", attributes={"stars": [4, 5]}),
                StageRule("post_purchase", kind="review"),
            ],
            catalog=ws.touchpoints(),
        )
        assert second.assign(frame).tolist()[2:] == ["advocacy", "post_purchase"]
        # Changing the catalog changes what the store reports, again without re-ingest.
        ws.register_touchpoints([cxm.Touchpoint(name="Home", channel="web", stage="evaluation")])
        again = ws.interactions(attributes=["stars"])
        assert first.assign(again).iloc[0] == "awareness"  # first was built from the old catalog
        assert Stages(catalog=ws.touchpoints()).assign(again).iloc[0] == "evaluation"
        assert again["stage"].iloc[0] == "evaluation"
    finally:
        ws.close()
