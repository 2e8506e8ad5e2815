"""Construction and validation of the domain model (``cxm.model``).

Every rejection is checked on the error's ``field``, ``value`` and message, because the promise
is that a bad record says which field was wrong and what it held.
"""

from __future__ import annotations

import json
import math
import pickle
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pandas as pd
import pytest

import cxm
from cxm import (
    Channel,
    CustomerRecord,
    Direction,
    Feedback,
    Identity,
    Interaction,
    JourneyStage,
    Metric,
    Touchpoint,
    ValidationError,
    record_from_dict,
)
from cxm.exceptions import CxmError

WHEN = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def interaction(**overrides: Any) -> Interaction:
    """Build a valid interaction, with ``overrides`` replacing fields."""
    fields: dict[str, Any] = {
        "source": "zendesk",
        "source_id": "t-1",
        "occurred_at": WHEN,
        "channel": "support",
        "kind": "ticket",
    }
    fields.update(overrides)
    return Interaction(**fields)


def record(**overrides: Any) -> CustomerRecord:
    """Build a valid customer record, with ``overrides`` replacing fields."""
    fields: dict[str, Any] = {
        "source": "crm",
        "source_id": "c-1",
        "identities": [Identity("email", "ann@example.com")],
    }
    fields.update(overrides)
    return CustomerRecord(**fields)


def assert_rejects(exc_info: pytest.ExceptionInfo[ValidationError], field: str, value: Any) -> None:
    """Check that the error names ``field`` and ``value``, on attributes and in the message."""
    exc = exc_info.value
    assert exc.field == field
    # The value as it was passed (NaN never equals itself, hence the identity check first).
    assert exc.value is value or (type(exc.value) is type(value) and exc.value == value)
    message = str(exc)
    assert message.startswith(f"{field}=")
    assert repr(value)[:60] in message
    assert exc.reason in message
    assert exc.reason


# -- enums ---------------------------------------------------------------------------------


def test_channel_accepts_every_documented_value_and_nothing_else() -> None:
    documented = {
        "web",
        "app",
        "email",
        "phone",
        "chat",
        "sms",
        "social",
        "review_site",
        "store",
        "support",
        "survey",
        "crm",
        "ads",
    }
    assert {c.value for c in Channel} == documented
    assert Channel("review_site") is Channel.REVIEW_SITE
    with pytest.raises(ValueError, match="other"):
        Channel("other")


def test_direction_and_metric_vocabularies() -> None:
    assert {d.value for d in Direction} == {"inbound", "outbound"}
    assert {m.value for m in Metric} == {"nps", "csat", "ces", "rating", "custom"}
    assert Metric("nps") == "nps"


def test_journey_stage_orders_by_lifecycle_not_alphabet() -> None:
    ordered = [
        JourneyStage.AWARENESS,
        JourneyStage.EVALUATION,
        JourneyStage.PURCHASE,
        JourneyStage.POST_PURCHASE,
        JourneyStage.ADVOCACY,
    ]
    assert list(JourneyStage) == ordered
    shuffled = [ordered[i] for i in (3, 0, 4, 2, 1)]
    assert sorted(shuffled) == ordered
    # Alphabetically advocacy < awareness; in the lifecycle it is last.
    assert JourneyStage.ADVOCACY > JourneyStage.AWARENESS
    assert JourneyStage.PURCHASE <= JourneyStage.PURCHASE
    assert JourneyStage.PURCHASE >= JourneyStage.EVALUATION
    assert not JourneyStage.POST_PURCHASE < JourneyStage.PURCHASE
    assert [s.rank for s in ordered] == [0, 1, 2, 3, 4]
    assert max(ordered) is JourneyStage.ADVOCACY
    assert min(ordered) is JourneyStage.AWARENESS
    assert len({*ordered, *ordered}) == 5  # hashable, still usable as dict keys


# -- Identity ------------------------------------------------------------------------------


def test_identity_normalises_on_construction() -> None:
    assert Identity("email", " Ann@Example.COM ") == Identity("email", "ann@example.com")
    assert Identity("email", "Ann@Example.COM").value == "ann@example.com"
    assert Identity("phone", "+44 20 7946 0958").value == "+442079460958"
    assert Identity("phone", "020 7946 0958", region="GB").value == "+442079460958"
    scoped = Identity("hubspot:contact", "  12345 ")
    assert scoped.key == ("hubspot:contact", "12345")


def test_identity_is_frozen_and_ordered() -> None:
    ident = Identity("email", "ann@example.com")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ident.value = "bob@example.com"  # type: ignore[misc]
    assert ident.value == "ann@example.com"
    a, p = Identity("email", "z@example.com"), Identity("phone", "+442079460958")
    assert sorted([p, a]) == [a, p]
    assert hash(Identity("email", "ANN@example.com")) == hash(ident)


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("email", "not-an-address", "Identity.value"),
        ("email", "ann@", "Identity.value"),
        ("email", "ann@example", "Identity.value"),
        ("email", "", "Identity.value"),
        ("email", 42, "Identity.value"),
        ("phone", "+44 12", "Identity.value"),
        ("phone", "banana", "Identity.value"),
        ("phone", "020 7946 0958", "Identity.value"),  # national, no region
        ("fax", "12345", "Identity.kind"),
        ("HubSpot:contact", "12345", "Identity.kind"),
        ("hubspot:contact", "   ", "Identity.value"),
    ],
)
def test_identity_rejects_malformed_values(kind: str, value: Any, field: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        Identity(kind, value)
    assert_rejects(exc_info, field, kind if field == "Identity.kind" else value)


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("email", ["ann@example.com"], "Identity.value"),
        (["email"], "ann@example.com", "Identity.kind"),
        ("phone", {"n": "1"}, "Identity.value"),
    ],
)
def test_identity_rejects_unhashable_input_with_a_validation_error(
    kind: Any, value: Any, field: str
) -> None:
    # JSON input (record_from_dict, ingest of mappings) can carry lists and objects anywhere;
    # they must be refused as invalid, not crash with a TypeError from a cache.
    with pytest.raises(ValidationError) as exc_info:
        Identity(kind, value)
    assert_rejects(exc_info, field, kind if field == "Identity.kind" else value)


# -- Feedback ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "scale"),
    [("nps", (0, 10)), ("csat", (1, 5)), ("ces", (1, 7)), ("rating", (1, 5))],
)
def test_feedback_default_scales(metric: str, scale: tuple[int, int]) -> None:
    low, high = scale
    assert Feedback(metric=metric, score=low).scale == scale
    assert Feedback(metric=metric, score=high).scale == scale
    assert Feedback(metric=metric, score=high).metric is Metric(metric)


@pytest.mark.parametrize(
    ("metric", "score"),
    [
        ("nps", 11),
        ("nps", -1),
        ("csat", 0),
        ("csat", 6),
        ("ces", 8),
        ("ces", 0),
        ("rating", 5.5),
    ],
)
def test_feedback_rejects_scores_outside_the_scale(metric: str, score: float) -> None:
    with pytest.raises(ValidationError) as exc_info:
        Feedback(metric=metric, score=score)
    assert_rejects(exc_info, "Feedback.score", score)
    assert f"outside the {metric} scale" in str(exc_info.value)


@pytest.mark.parametrize(
    "score", ["ten", "7", None, True, False, Decimal("7"), [7], math.nan, math.inf, -math.inf]
)
def test_feedback_rejects_scores_that_are_not_finite_numbers(score: Any) -> None:
    with pytest.raises(ValidationError) as exc_info:
        Feedback(metric="nps", score=score)
    assert_rejects(exc_info, "Feedback.score", score)


def test_feedback_nps_must_be_whole() -> None:
    with pytest.raises(ValidationError) as exc_info:
        Feedback(metric="nps", score=7.5)
    assert_rejects(exc_info, "Feedback.score", 7.5)
    assert "whole" in exc_info.value.reason
    assert Feedback(metric="nps", score=7.0).score == 7


def test_feedback_nps_scale_cannot_change() -> None:
    with pytest.raises(ValidationError) as exc_info:
        Feedback(metric="nps", score=5, scale=(1, 10))
    assert_rejects(exc_info, "Feedback.scale", (1, 10))
    assert "0..10" in str(exc_info.value)
    # Spelling the one allowed scale out is fine.
    assert Feedback(metric="nps", score=5, scale=[0, 10]).scale == (0, 10)


def test_feedback_custom_metric_needs_a_scale() -> None:
    with pytest.raises(ValidationError) as exc_info:
        Feedback(metric="custom", score=3)
    assert_rejects(exc_info, "Feedback.scale", None)
    assert "custom" in str(exc_info.value)
    assert Feedback(metric="custom", score=0.5, scale=(0, 1)).scale == (0, 1)


def test_feedback_csat_on_a_custom_scale_is_accepted() -> None:
    item = Feedback(metric="csat", score=7, scale=(1, 7))
    assert item.scale == (1, 7)
    assert item.score == 7
    with pytest.raises(ValidationError) as exc_info:
        Feedback(metric="csat", score=8, scale=(1, 7))
    assert_rejects(exc_info, "Feedback.score", 8)
    assert "1..7" in str(exc_info.value)


@pytest.mark.parametrize("scale", [(5, 1), (3, 3), (1, math.inf), (True, 5), "1..5", (1, 2, 3)])
def test_feedback_rejects_malformed_scales(scale: Any) -> None:
    with pytest.raises(ValidationError) as exc_info:
        Feedback(metric="rating", score=3, scale=scale)
    assert_rejects(exc_info, "Feedback.scale", scale)


def test_feedback_rejects_unknown_metric_and_non_text_question() -> None:
    with pytest.raises(ValidationError) as exc_info:
        Feedback(metric="happiness", score=3)
    assert_rejects(exc_info, "Feedback.metric", "happiness")
    assert "nps" in str(exc_info.value)
    with pytest.raises(ValidationError) as exc_info:
        Feedback(metric="csat", score=3, comment=12)
    assert_rejects(exc_info, "Feedback.comment", 12)


# -- Touchpoint ----------------------------------------------------------------------------


def test_touchpoint_construction_and_validation() -> None:
    tp = Touchpoint(name="Checkout", channel="web", stage="purchase")
    assert (tp.name, tp.channel, tp.stage) == ("Checkout", Channel.WEB, "purchase")
    assert Touchpoint(name="Store", channel=Channel.STORE).stage is None
    with pytest.raises(ValidationError) as exc_info:
        Touchpoint(name="Checkout", channel="telepathy")
    assert_rejects(exc_info, "Touchpoint.channel", "telepathy")
    with pytest.raises(ValidationError) as exc_info:
        Touchpoint(name="Checkout", channel="web", stage=3)
    assert_rejects(exc_info, "Touchpoint.stage", 3)


def test_touchpoint_name_error_names_the_touchpoint_field() -> None:
    with pytest.raises(ValidationError) as exc_info:
        Touchpoint(name="  ", channel="web")
    assert_rejects(exc_info, "Touchpoint.name", "  ")


# -- Interaction ---------------------------------------------------------------------------


def test_interaction_defaults_and_conversions() -> None:
    item = interaction(source_id=17)
    assert item.source_id == "17"
    assert item.direction is Direction.INBOUND
    assert item.channel is Channel.SUPPORT
    assert item.identities == ()
    assert item.feedback == ()
    assert item.attributes == {}
    assert item.value is None
    assert item.updated_at is None


@pytest.mark.parametrize("source_id", ["", "   ", None, True, "x" * 256])
def test_interaction_rejects_empty_or_bad_source_id(source_id: Any) -> None:
    with pytest.raises(ValidationError) as exc_info:
        interaction(source_id=source_id)
    assert_rejects(exc_info, "Interaction.source_id", source_id)


def test_customer_record_rejects_empty_source_id() -> None:
    with pytest.raises(ValidationError) as exc_info:
        record(source_id="")
    assert_rejects(exc_info, "CustomerRecord.source_id", "")


def test_interaction_rejects_naive_datetime() -> None:
    naive = datetime(2024, 3, 1, 12, 0)
    with pytest.raises(ValidationError) as exc_info:
        interaction(occurred_at=naive)
    assert_rejects(exc_info, "Interaction.occurred_at", naive)
    assert "naive" in exc_info.value.reason
    with pytest.raises(ValidationError) as exc_info:
        interaction(updated_at=naive)
    assert_rejects(exc_info, "Interaction.updated_at", naive)
    with pytest.raises(ValidationError) as exc_info:
        record(updated_at=naive)
    assert_rejects(exc_info, "CustomerRecord.updated_at", naive)


def test_interaction_converts_aware_times_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    item = interaction(occurred_at=datetime(2024, 3, 1, 14, 30, tzinfo=plus_two))
    assert item.occurred_at == datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    assert item.occurred_at.utcoffset() == timedelta(0)
    assert item.occurred_at.hour == 12
    assert item.occurred_at.tzinfo is UTC


def test_interaction_accepts_iso_strings_with_offset_only() -> None:
    item = interaction(occurred_at="2024-03-01T14:30:00+02:00", updated_at="2024-03-02T00:00Z")
    assert item.occurred_at == datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    assert item.occurred_at.tzinfo is UTC
    assert item.updated_at == datetime(2024, 3, 2, tzinfo=UTC)
    with pytest.raises(ValidationError) as exc_info:
        interaction(occurred_at="2024-03-01T14:30:00")
    assert exc_info.value.field == "Interaction.occurred_at"
    assert "naive" in exc_info.value.reason
    assert str(exc_info.value).startswith("Interaction.occurred_at=")
    with pytest.raises(ValidationError) as exc_info:
        interaction(occurred_at="yesterday")
    assert_rejects(exc_info, "Interaction.occurred_at", "yesterday")
    assert "ISO 8601" in exc_info.value.reason


def test_naive_iso_string_is_reported_as_passed() -> None:
    # ValidationError.value is documented as "the offending value, as it was passed": the
    # caller gave a string, so the error should show that string, not the datetime parsed
    # from it.
    with pytest.raises(ValidationError) as exc_info:
        interaction(occurred_at="2024-03-01T14:30:00")
    assert_rejects(exc_info, "Interaction.occurred_at", "2024-03-01T14:30:00")
    assert "naive" in exc_info.value.reason


def test_interaction_rejects_non_datetime_times() -> None:
    with pytest.raises(ValidationError) as exc_info:
        interaction(occurred_at=1709294400)
    assert_rejects(exc_info, "Interaction.occurred_at", 1709294400)


def test_interaction_accepts_pandas_timestamps() -> None:
    stamp = pd.Timestamp("2024-03-01 14:30:00.123456", tz="Europe/Oslo")  # UTC+1 in March
    item = interaction(occurred_at=stamp)
    assert type(item.occurred_at) is datetime
    assert item.occurred_at == datetime(2024, 3, 1, 13, 30, 0, 123456, tzinfo=UTC)
    assert item.occurred_at.tzinfo is UTC
    naive = pd.Timestamp("2024-03-01 14:30:00")
    with pytest.raises(ValidationError) as exc_info:
        interaction(occurred_at=naive)
    assert exc_info.value.field == "Interaction.occurred_at"
    assert exc_info.value.value is naive
    assert "naive" in str(exc_info.value)


@pytest.mark.parametrize("channel", ["fax", "Web", "", None, 3])
def test_interaction_rejects_unknown_channels(channel: Any) -> None:
    with pytest.raises(ValidationError) as exc_info:
        interaction(channel=channel)
    assert_rejects(exc_info, "Interaction.channel", channel)
    assert "review_site" in exc_info.value.reason  # the message lists what is allowed


def test_interaction_rejects_unknown_direction() -> None:
    with pytest.raises(ValidationError) as exc_info:
        interaction(direction="sideways")
    assert_rejects(exc_info, "Interaction.direction", "sideways")
    assert interaction(direction="outbound").direction is Direction.OUTBOUND


# Money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (Decimal("19.99"), Decimal("19.99")),
        ("0.000001", Decimal("0.000001")),
        (12, Decimal(12)),
        (-3, Decimal(-3)),
        (Decimal("1.50000000"), Decimal("1.5")),  # trailing zeros are not extra precision
    ],
)
def test_interaction_money_is_exact(given: Any, expected: Decimal) -> None:
    value = interaction(value=given).value
    assert isinstance(value, Decimal)
    assert value == expected


def test_interaction_money_from_float_goes_through_str() -> None:
    value = interaction(value=0.1).value
    # Decimal(0.1) would be 0.1000000000000000055511151231257827...
    assert value == Decimal("0.1")
    assert str(value) == "0.1"
    assert interaction(value=19.99).value == Decimal("19.99")


@pytest.mark.parametrize("amount", [Decimal("1.0000001"), "0.1234567", 1e-7])
def test_interaction_money_refuses_more_than_six_decimals(amount: Any) -> None:
    with pytest.raises(ValidationError) as exc_info:
        interaction(value=amount)
    assert_rejects(exc_info, "Interaction.value", amount)
    assert "6 decimal places" in exc_info.value.reason


@pytest.mark.parametrize(
    "amount", ["ten euros", True, Decimal("NaN"), Decimal("Infinity"), math.inf, [1], "1e13"]
)
def test_interaction_money_refuses_non_amounts(amount: Any) -> None:
    with pytest.raises(ValidationError) as exc_info:
        interaction(value=amount)
    assert_rejects(exc_info, "Interaction.value", amount)


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", "", 978, "EUR\n", " EUR"])
def test_interaction_rejects_malformed_currency(currency: Any) -> None:
    with pytest.raises(ValidationError) as exc_info:
        interaction(value=1, currency=currency)
    assert_rejects(exc_info, "Interaction.currency", currency)
    assert "ISO 4217" in exc_info.value.reason


def test_interaction_accepts_iso_currency() -> None:
    assert interaction(value=1, currency="EUR").currency == "EUR"


@pytest.mark.parametrize("kind", ["Review", "page view", "", "1st", "x" * 65, None, "review\n"])
def test_interaction_rejects_malformed_kind(kind: Any) -> None:
    with pytest.raises(ValidationError) as exc_info:
        interaction(kind=kind)
    assert_rejects(exc_info, "Interaction.kind", kind)


@pytest.mark.parametrize("kind", ["review", "page_view", "survey_response", "call2"])
def test_interaction_accepts_lower_case_kinds(kind: str) -> None:
    assert interaction(kind=kind).kind == kind


@pytest.mark.parametrize("source", ["Zendesk", "", "_x", "has space", None, "crm\n", "x" * 65])
def test_interaction_and_record_reject_malformed_source(source: Any) -> None:
    with pytest.raises(ValidationError) as exc_info:
        interaction(source=source)
    assert_rejects(exc_info, "Interaction.source", source)
    with pytest.raises(ValidationError) as exc_info:
        record(source=source)
    assert_rejects(exc_info, "CustomerRecord.source", source)


@pytest.mark.parametrize("source", ["zendesk", "google-reviews", "shop.eu", "3cx"])
def test_sources_accept_lower_case_names(source: str) -> None:
    assert interaction(source=source).source == source
    assert record(source=source).source == source


# JSON attributes and traits ---------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"tags": {"a", "b"}},
        {"seen": datetime(2024, 1, 1, tzinfo=UTC)},
        {"amount": Decimal("1.5")},
        {"score": math.nan},
        {"x": object()},
    ],
    ids=["set", "datetime", "decimal", "nan", "object"],
)
def test_attributes_and_traits_must_be_json(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as exc_info:
        interaction(attributes=bad)
    assert_rejects(exc_info, "Interaction.attributes", bad)
    assert "JSON" in exc_info.value.reason
    with pytest.raises(ValidationError) as exc_info:
        record(traits=bad)
    assert_rejects(exc_info, "CustomerRecord.traits", bad)


def test_attributes_and_traits_refuse_non_string_keys() -> None:
    bad = {1: "one"}
    with pytest.raises(ValidationError) as exc_info:
        interaction(attributes=bad)
    assert_rejects(exc_info, "Interaction.attributes", bad)
    assert "key 1" in exc_info.value.reason
    with pytest.raises(ValidationError) as exc_info:
        record(traits=bad)
    assert_rejects(exc_info, "CustomerRecord.traits", bad)


@pytest.mark.parametrize(
    "bad",
    [{"nested": {1: "one"}}, {"nested": {1: "one", "b": 2}}, {"list": [{2: "two"}]}],
    ids=["int-key", "mixed-keys", "in-list"],
)
def test_attributes_refuse_non_string_keys_when_nested(bad: dict[str, Any]) -> None:
    # JSON would silently turn 1 into "1" (the record no longer round-trips), and mixed keys
    # make the store's canonical sort_keys serialisation raise TypeError at ingest time.
    with pytest.raises(ValidationError) as exc_info:
        interaction(attributes=bad)
    assert_rejects(exc_info, "Interaction.attributes", bad)
    with pytest.raises(ValidationError) as exc_info:
        record(traits=bad)
    assert_rejects(exc_info, "CustomerRecord.traits", bad)


def test_attributes_must_be_a_mapping() -> None:
    with pytest.raises(ValidationError) as exc_info:
        interaction(attributes=[("a", 1)])
    assert_rejects(exc_info, "Interaction.attributes", [("a", 1)])


def test_attributes_are_copied_and_none_means_empty() -> None:
    given = {"utm": {"source": "news"}, "n": [1, 2.5, None, True]}
    item = interaction(attributes=given)
    assert item.attributes == given
    given["extra"] = 1
    assert "extra" not in item.attributes
    assert interaction(attributes=None).attributes == {}
    assert record(traits=None).traits == {}


# Identities on records -------------------------------------------------------------------


def test_customer_record_requires_an_identity() -> None:
    for empty in ([], (), None):
        with pytest.raises(ValidationError) as exc_info:
            record(identities=empty)
        assert exc_info.value.field == "CustomerRecord.identities"
        assert exc_info.value.value == []
        assert "at least one identity" in str(exc_info.value)
        assert "'c-1'" in str(exc_info.value)  # names the record, too


def test_identities_as_kind_value_tuples() -> None:
    rec = record(identities=[("email", "Ann@Example.com"), ("phone", "+44 20 7946 0958")])
    assert rec.identities == (
        Identity("email", "ann@example.com"),
        Identity("phone", "+442079460958"),
    )
    assert all(isinstance(i, Identity) for i in rec.identities)
    item = interaction(identities=[("hubspot:contact", "42")])
    assert item.identities == (Identity("hubspot:contact", "42"),)


def test_duplicate_identities_collapse_keeping_first_order() -> None:
    rec = record(
        identities=[
            ("email", "ann@example.com"),
            ("phone", "+442079460958"),
            Identity("email", "ANN@example.com "),
            ("phone", "+44 20 7946 0958"),
        ]
    )
    assert rec.identities == (
        Identity("email", "ann@example.com"),
        Identity("phone", "+442079460958"),
    )


@pytest.mark.parametrize(
    "bad",
    ["ann@example.com", Identity("email", "ann@example.com"), [("email",)], [42]],
    ids=["string", "bare-identity", "one-tuple", "number"],
)
def test_identities_must_be_a_list_of_identities_or_pairs(bad: Any) -> None:
    with pytest.raises(ValidationError) as exc_info:
        interaction(identities=bad)
    assert exc_info.value.field == "Interaction.identities"
    assert "Identity" in exc_info.value.reason


def test_invalid_identity_inside_a_record_names_the_identity_field() -> None:
    with pytest.raises(ValidationError) as exc_info:
        record(identities=[("email", "nope")])
    assert_rejects(exc_info, "Identity.value", "nope")


# Feedback on interactions --------------------------------------------------------------------


def test_interaction_feedback_is_a_tuple_of_feedback() -> None:
    one = Feedback(metric="nps", score=9)
    assert interaction(feedback=one).feedback == (one,)
    assert interaction(feedback=[one, one]).feedback == (one, one)
    with pytest.raises(ValidationError) as exc_info:
        interaction(feedback=[{"metric": "nps", "score": 9}])
    assert_rejects(exc_info, "Interaction.feedback", {"metric": "nps", "score": 9})
    with pytest.raises(ValidationError) as exc_info:
        interaction(feedback={"metric": "nps"})
    assert exc_info.value.field == "Interaction.feedback"


# Immutability ------------------------------------------------------------------------------


def test_records_are_frozen() -> None:
    item = interaction()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        item.source_id = "t-2"  # type: ignore[misc]
    assert item.source_id == "t-1"
    rec = record()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        rec.traits = {"plan": "pro"}  # type: ignore[misc]
    assert rec.traits == {}
    fb = Feedback(metric="csat", score=4)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fb.score = 5  # type: ignore[misc]
    assert fb.score == 4
    tp = Touchpoint(name="Checkout", channel="web")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        tp.channel = Channel.APP  # type: ignore[misc]
    assert tp.channel is Channel.WEB


def test_records_validate_on_evolve() -> None:
    item = interaction()
    with pytest.raises(ValidationError) as exc_info:
        attrs.evolve(item, channel="fax")
    assert_rejects(exc_info, "Interaction.channel", "fax")
    moved = attrs.evolve(item, occurred_at="2024-03-01T15:00:00+03:00")
    assert moved.occurred_at == WHEN


# -- record_from_dict ------------------------------------------------------------------------


def rich_interaction() -> Interaction:
    return Interaction(
        source="zendesk",
        source_id="t-9",
        occurred_at="2024-03-01T14:30:00.250000+02:00",
        channel="support",
        kind="ticket",
        touchpoint="Help centre",
        direction="outbound",
        text="Thanks for waiting",
        value=Decimal("12.50"),
        currency="EUR",
        identities=[("email", "Ann@Example.com"), ("phone", "+44 20 7946 0958")],
        attributes={"priority": "high", "tags": ["a", "b"], "nested": {"n": 1.5}},
        feedback=[
            Feedback(metric="csat", score=4, question="How did we do?", comment="fine"),
            Feedback(metric="custom", score=2.5, scale=(0, 7)),
            Feedback(metric="nps", score=10),
        ],
        updated_at="2024-03-02T00:00:00+00:00",
    )


def rich_record() -> CustomerRecord:
    return CustomerRecord(
        source="crm",
        source_id="c-9",
        identities=[("email", "ann@example.com"), ("hubspot:contact", "991")],
        traits={"plan": "pro", "seats": 12, "tags": ["vip"], "meta": {"x": None}},
        updated_at="2024-02-01T08:00:00+01:00",
    )


def test_record_from_dict_reads_the_documented_form() -> None:
    data = {
        "record_type": "interaction",
        "source": "zendesk",
        "source_id": "t-9",
        "customer_id": "cus_whatever",
        "occurred_at": "2024-03-01T12:30:00.250000+00:00",
        "channel": "support",
        "kind": "ticket",
        "touchpoint": "Help centre",
        "direction": "outbound",
        "text": "Thanks for waiting",
        "value": "12.5",
        "currency": "EUR",
        "identities": [
            {"kind": "email", "value": "ann@example.com"},
            {"kind": "phone", "value": "+442079460958"},
        ],
        "attributes": {"priority": "high", "tags": ["a", "b"], "nested": {"n": 1.5}},
        "feedback": [
            {
                "metric": "csat",
                "score": 4,
                "scale": [1, 5],
                "question": "How did we do?",
                "comment": "fine",
            },
            {"metric": "custom", "score": 2.5, "scale": [0, 7], "question": None},
            {"metric": "nps", "score": 10},
        ],
        "updated_at": "2024-03-02T00:00:00+00:00",
    }
    # Through real JSON, as a JSONL line would arrive.
    assert record_from_dict(json.loads(json.dumps(data))) == rich_interaction()
    rec_data = {
        "record_type": "customer_record",
        "source": "crm",
        "source_id": "c-9",
        "identities": [["email", "ann@example.com"], ["hubspot:contact", "991"]],
        "traits": {"plan": "pro", "seats": 12, "tags": ["vip"], "meta": {"x": None}},
        "updated_at": "2024-02-01T07:00:00+00:00",
    }
    assert record_from_dict(json.loads(json.dumps(rec_data))) == rich_record()


def test_record_from_dict_infers_the_record_type() -> None:
    inferred = record_from_dict(
        {
            "source": "web",
            "source_id": "p-1",
            "occurred_at": "2024-03-01T12:00:00+00:00",
            "channel": "web",
            "kind": "page_view",
        }
    )
    assert isinstance(inferred, Interaction)
    assert inferred.direction is Direction.INBOUND
    rec = record_from_dict(
        {"source": "crm", "source_id": "1", "identities": [{"kind": "email", "value": "a@b.co"}]}
    )
    assert isinstance(rec, CustomerRecord)
    assert rec.identities == (Identity("email", "a@b.co"),)


def test_record_from_dict_round_trips_through_workspace_export() -> None:
    # Workspace.export promises interactions and customer_records "in the form
    # record_from_dict reads back, feedback included".
    original_interaction, original_record = rich_interaction(), rich_record()
    with cxm.Workspace.open(":memory:") as ws:
        report = ws.ingest([original_interaction, original_record])
        assert report.new == 2
        exported = json.loads(json.dumps(ws.export("ann@example.com")))
    (interaction_data,) = exported["interactions"]
    (record_data,) = exported["customer_records"]
    assert len(interaction_data["feedback"]) == 3
    assert record_from_dict(interaction_data) == original_interaction
    assert record_from_dict(record_data) == original_record


def test_record_from_dict_refuses_unknown_keys_naming_the_key() -> None:
    data = {
        "record_type": "interaction",
        "source": "web",
        "source_id": "p-1",
        "occurred_at": "2024-03-01T12:00:00+00:00",
        "channel": "web",
        "kind": "page_view",
        "colour": "red",
    }
    with pytest.raises(ValidationError) as exc_info:
        record_from_dict(data)
    assert_rejects(exc_info, "Interaction.colour", "red")
    assert "colour" in str(exc_info.value)
    rec = {"source": "crm", "source_id": "1", "identities": [["email", "a@b.co"]], "plan": "pro"}
    with pytest.raises(ValidationError) as exc_info:
        record_from_dict(rec)
    assert_rejects(exc_info, "CustomerRecord.plan", "pro")


def test_record_from_dict_refuses_bad_shapes() -> None:
    with pytest.raises(ValidationError) as exc_info:
        record_from_dict([("source", "crm")])  # type: ignore[arg-type]
    assert exc_info.value.field == "record"
    with pytest.raises(ValidationError) as exc_info:
        record_from_dict({"record_type": "customer", "source": "crm"})
    assert_rejects(exc_info, "record_type", "customer")
    with pytest.raises(ValidationError) as exc_info:
        record_from_dict(
            {"source": "crm", "source_id": "1", "identities": {"kind": "email", "value": "a@b.co"}}
        )
    assert exc_info.value.field == "CustomerRecord.identities"
    with pytest.raises(ValidationError) as exc_info:
        record_from_dict(
            {
                "source": "web",
                "source_id": "p-1",
                "occurred_at": "2024-03-01T12:00:00",
                "channel": "web",
                "kind": "page_view",
            }
        )
    assert exc_info.value.field == "Interaction.occurred_at"
    assert "naive" in exc_info.value.reason
    with pytest.raises(ValidationError) as exc_info:
        record_from_dict(
            {
                "source": "crm",
                "source_id": "1",
                "identities": [{"kind": "email", "value": "a@b.co"}],
                "traits": "pro",
            }
        )
    assert_rejects(exc_info, "CustomerRecord.traits", "pro")


# -- ValidationError ------------------------------------------------------------------------


def test_validation_error_is_a_value_error_and_pickles() -> None:
    with pytest.raises(ValidationError) as exc_info:
        Feedback(metric="ces", score=8)
    exc = exc_info.value
    assert isinstance(exc, ValueError)
    assert isinstance(exc, CxmError)
    copy = pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own object, not untrusted data
    assert type(copy) is ValidationError
    assert (copy.field, copy.value, copy.reason) == ("Feedback.score", 8, exc.reason)
    assert str(copy) == str(exc) == "Feedback.score=8: outside the ces scale 1..7"


def test_validation_error_message_shortens_huge_values() -> None:
    huge = "x" * 1000
    with pytest.raises(ValidationError) as exc_info:
        interaction(source_id=huge)
    assert exc_info.value.value == huge  # the attribute keeps it whole
    assert len(str(exc_info.value)) < 300
    assert str(exc_info.value).startswith("Interaction.source_id='xxx")
