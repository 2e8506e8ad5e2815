"""Field mappings: validation at config time, and the conversion of one row into one record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cxm
from cxm.connectors.mapping import (
    Column,
    Constant,
    DateColumn,
    FeedbackColumns,
    FieldMapping,
    RowBuilder,
)
from cxm.exceptions import ValidationError

ORDER = {
    "source_id": "order_id",
    "occurred_at": {"column": "created", "format": "%d/%m/%Y %H:%M", "timezone": "Europe/Berlin"},
    "channel": {"value": "store"},
    "kind": {"value": "purchase"},
}
COLUMNS = ["order_id", "created", "email", "nps", "why", "store", "amount"]


def builder(
    mapping: dict[str, Any], columns: list[str] | None = COLUMNS, **options: Any
) -> RowBuilder:
    return FieldMapping.from_dict(mapping).compile(columns, source="shop", **options)


def row(**cells: str) -> list[str]:
    base = {"order_id": "A-1", "created": "01/04/2025 10:00", "email": "", "nps": "", "why": ""}
    base.update(store="", amount="")
    base.update(cells)
    return [base[name] for name in COLUMNS]


def refused(mapping: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        FieldMapping.from_dict(mapping)
    return caught.value


# -- validation at config time ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"occurred_at": None}, "mapping.occurred_at", "required for interactions"),
        ({"chanel": "x"}, "mapping.chanel", "unknown mapping key"),
        ({"channel": {"value": "fax"}}, "mapping.channel", "must be one of"),
        ({"kind": {"value": "Big Order"}}, "mapping.kind", "lower-case word"),
        ({"direction": {"value": "sideways"}}, "mapping.direction", "must be one of"),
        ({"currency": {"value": "euro"}}, "mapping.currency", "ISO 4217"),
        ({"source_id": ""}, "mapping.source_id", "non-empty column name"),
        ({"source_id": []}, "mapping.source_id", "a column or a list"),
        (
            {"occurred_at": {"column": "created", "timezone": "Europe/Berln"}},
            "mapping.occurred_at",
            "unknown time zone",
        ),
        (
            {"occurred_at": {"column": "created", "fmt": "%d"}},
            "mapping.occurred_at",
            "'column', 'format', 'timezone'",
        ),
        ({"record": "ticket"}, "mapping.record", "'interaction' or 'customer'"),
        ({"traits": ["plan"]}, "mapping.traits", "customer records"),
        (
            {"identities": {"Shop Customer": "email"}},
            "mapping.identities.Shop Customer",
            "<source>:<id-type>",
        ),
        ({"identities": {"email": {"value": "a@b.c"}}}, "mapping.identities.email", "column"),
        ({"feedback": [{"metric": "nps"}]}, "mapping.feedback[0].score", "required"),
        ({"feedback": [{"metric": "wow", "score": "s"}]}, "mapping.feedback[0].metric", "one of"),
        (
            {"feedback": [{"metric": "nps", "score": "s", "scale": [1, 5]}]},
            "mapping.feedback[0].scale",
            "0..10",
        ),
        (
            {"feedback": [{"metric": "custom", "score": "s"}]},
            "mapping.feedback[0].scale",
            "needs a scale",
        ),
        (
            {"feedback": [{"metric": "csat", "score": "s", "scale": [5, 1]}]},
            "mapping.feedback[0].scale",
            "below max",
        ),
        (
            {"feedback": [{"metric": "csat", "score": "s", "weight": 2}]},
            "mapping.feedback[0].weight",
            "unknown key",
        ),
        (
            {"attributes": {"size": {"column": "s", "type": "date"}}},
            "mapping.attributes.size",
            "type",
        ),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_key(
    change: dict[str, Any], field: str, words: str
) -> None:
    error = refused({**ORDER, **change})
    assert error.field == field
    assert words in error.reason


def test_a_customer_mapping_refuses_interaction_fields_and_needs_an_identity() -> None:
    customer = {"record": "customer", "source_id": "id", "identities": {"email": "email"}}
    assert refused({**customer, "channel": {"value": "web"}}).field == "mapping.channel"
    assert refused({**customer, "identities": {}}).field == "mapping.identities"
    assert FieldMapping.from_dict({**customer, "traits": ["plan"]}).traits == (
        ("plan", Column("plan")),
    )


def test_the_python_form_equals_the_dict_form() -> None:
    python = FieldMapping(
        source_id="order_id",
        occurred_at=DateColumn(column="created", format="%d/%m/%Y %H:%M", timezone="Europe/Berlin"),
        channel=Constant("store"),
        kind=Constant("purchase"),
        identities=[("email", Column("email"))],
        feedback=[FeedbackColumns(metric="nps", score="nps", comment="why")],
    )
    from_dict = FieldMapping.from_dict(
        {
            **ORDER,
            "identities": {"email": "email"},
            "feedback": [{"metric": "nps", "score": "nps", "comment": "why"}],
        }
    )
    assert python == from_dict
    assert FieldMapping.from_dict(python) is python


def test_columns_lists_every_column_read_with_its_key() -> None:
    mapping = FieldMapping.from_dict(
        {
            **ORDER,
            "source_id": ["store", "order_id"],
            "touchpoint": "store",
            "identities": {"email": "email"},
            "feedback": [{"metric": "nps", "score": "nps", "comment": "why"}],
        }
    )
    assert mapping.columns() == [
        ("store", "source_id"),
        ("order_id", "source_id"),
        ("created", "occurred_at"),
        ("store", "touchpoint"),
        ("email", "identities.email"),
        ("nps", "feedback[0].score"),
        ("why", "feedback[0].comment"),
    ]


def test_compiling_against_columns_that_lack_a_mapped_one_lists_both() -> None:
    mapping = FieldMapping.from_dict({**ORDER, "identities": {"email": "e_mail"}})
    with pytest.raises(ValidationError) as caught:
        mapping.compile(["order_id", "created", "email"], source="shop")
    assert "'e_mail' (identities.email)" in caught.value.reason
    assert "columns there: 'order_id', 'created', 'email'" in caught.value.reason


# -- one row, one record -------------------------------------------------------------------


def test_a_row_becomes_an_interaction_with_every_field() -> None:
    build = builder(
        {
            **ORDER,
            "touchpoint": "store",
            "value": "amount",
            "currency": {"value": "EUR"},
            "text": "why",
            "identities": {"email": "email"},
            "attributes": ["store", "amount"],
            "feedback": [{"metric": "nps", "score": "nps", "question": "Recommend us?"}],
        }
    )
    record = build(
        row(email="Ann@Example.com", nps="9", why="Quick", store="Berlin", amount="12.50")
    )
    assert isinstance(record, cxm.Interaction)
    assert (record.source, record.source_id, record.touchpoint) == ("shop", "A-1", "Berlin")
    assert record.occurred_at == datetime(2025, 4, 1, 8, 0, tzinfo=UTC)  # CEST is UTC+2
    assert (record.value, record.currency, record.text) == (Decimal("12.50"), "EUR", "Quick")
    assert record.identities == (cxm.Identity("email", "ann@example.com"),)
    assert record.attributes == {"store": "Berlin", "amount": "12.50"}
    assert record.feedback == (cxm.Feedback(metric="nps", score=9, question="Recommend us?"),)


def test_empty_cells_mean_absent_values() -> None:
    build = builder(
        {
            **ORDER,
            "text": "why",
            "identities": {"email": "email"},
            "attributes": ["store"],
            "feedback": [{"metric": "nps", "score": "nps", "comment": "why"}],
        }
    )
    record = build(row(why="  "))
    assert (record.text, record.identities, record.attributes, record.feedback) == (
        None,
        (),
        {},
        (),
    )


@pytest.mark.parametrize(
    ("cells", "column", "words"),
    [
        ({"order_id": ""}, "order_id", "source_id is required"),
        ({"created": ""}, "created", "occurred_at is required"),
        ({"created": "2025-04-01"}, "created", "does not match the format"),
        ({"created": "31/02/2025 10:00"}, "created", "day is out of range"),
        ({"nps": "11"}, "nps", "outside the nps scale 0..10"),
        ({"nps": "7.5"}, "nps", "whole numbers"),
        ({"nps": "nine"}, "nps", "not a number"),
        ({"email": "ann at example"}, "email", "e-mail"),
    ],
)
def test_a_bad_cell_raises_naming_its_column_and_value(
    cells: dict[str, str], column: str, words: str
) -> None:
    build = builder(
        {**ORDER, "identities": {"email": "email"}, "feedback": [{"metric": "nps", "score": "nps"}]}
    )
    with pytest.raises(ValidationError) as caught:
        build(row(**cells))
    assert (caught.value.field, caught.value.value) == (column, cells[column])
    assert words in caught.value.reason


def test_a_channel_column_is_read_case_insensitively_and_errors_name_the_column() -> None:
    build = builder({**ORDER, "channel": "store", "kind": "why"})
    record = build(row(store=" Email ", why="Message"))
    assert (record.channel, record.kind) == (cxm.Channel.EMAIL, "message")
    with pytest.raises(ValidationError) as caught:
        build(row(store="fax", why="message"))
    assert caught.value.field == "store"
    assert caught.value.value == "fax"


def test_source_id_from_several_columns_is_joined() -> None:
    record = builder({**ORDER, "source_id": ["store", "order_id"]})(row(store="B"))
    assert record.source_id == "B:A-1"


# -- dates ------------------------------------------------------------------------------------


def read_date(spec: Any, value: Any, **options: Any) -> datetime:
    build = builder(
        {**ORDER, "occurred_at": spec}, columns=None, default_timezone=options.get("tz")
    )
    return build({"order_id": "1", "created": value}).occurred_at


def test_iso_dates_with_an_offset_need_no_zone() -> None:
    expected = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert read_date("created", "2025-03-01T10:00:00+01:00") == expected
    assert read_date("created", "2025-03-01T09:00:00Z") == expected


def test_a_naive_date_without_a_zone_is_refused_never_assumed_utc() -> None:
    with pytest.raises(ValidationError) as caught:
        read_date("created", "2025-03-01T10:00:00")
    assert "no UTC offset and no time zone" in caught.value.reason
    assert read_date("created", "2025-03-01T10:00:00", tz="America/New_York") == datetime(
        2025, 3, 1, 15, 0, tzinfo=UTC
    )


def test_dst_gap_is_refused_and_ambiguous_time_reads_as_its_first_occurrence() -> None:
    berlin = {"column": "created", "timezone": "Europe/Berlin"}
    with pytest.raises(ValidationError) as caught:
        read_date(berlin, "2025-03-30T02:30:00")
    assert "does not exist in Europe/Berlin" in caught.value.reason
    # 2025-10-26 02:30 happens twice in Berlin: first at +02:00 (summer time), then at +01:00.
    assert read_date(berlin, "2025-10-26T02:30:00") == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    assert read_date(berlin, "2025-10-26T03:30:00") == datetime(2025, 10, 26, 2, 30, tzinfo=UTC)
    assert read_date(berlin, "2025-03-30T03:00:00") == datetime(2025, 3, 30, 1, 0, tzinfo=UTC)


def test_formats_unpadded_values_and_formats_with_an_offset() -> None:
    spec = {"column": "created", "format": "%d/%m/%Y %H:%M", "timezone": "UTC"}
    assert read_date(spec, "1/3/2025 9:05") == datetime(2025, 3, 1, 9, 5, tzinfo=UTC)
    spec = {"column": "created", "format": "%d %b %Y %H:%M %z"}
    assert read_date(spec, "01 Mar 2025 10:00 +0100") == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_unix_timestamps_in_seconds_and_milliseconds() -> None:
    assert read_date({"column": "created", "format": "unix"}, 1_740_819_600) == datetime(
        2025, 3, 1, 9, 0, tzinfo=UTC
    )
    assert read_date({"column": "created", "format": "unix_ms"}, "1740819600500") == datetime(
        2025, 3, 1, 9, 0, 0, 500_000, tzinfo=UTC
    )
    with pytest.raises(ValidationError, match="not a unix timestamp"):
        read_date({"column": "created", "format": "unix"}, True)


@given(
    moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    fmt=st.sampled_from(["%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S"]),
)
def test_the_fast_format_reader_agrees_with_strptime(moment: datetime, fmt: str) -> None:
    text = moment.strftime(fmt)
    spec = {"column": "created", "format": fmt, "timezone": "UTC"}
    assert read_date(spec, text) == datetime.strptime(text, fmt).replace(tzinfo=UTC)


# -- feedback, identities, customers, JSON -----------------------------------------------------


def test_feedback_scales_and_several_scores_in_one_row() -> None:
    build = builder(
        {
            **ORDER,
            "feedback": [
                {"metric": "csat", "score": "nps"},
                {"metric": "custom", "score": "amount", "scale": [0, 100], "question": "Effort %"},
            ],
        }
    )
    record = build(row(nps="4", amount="87.5"))
    assert [(f.metric, f.score, f.scale) for f in record.feedback] == [
        (cxm.Metric.CSAT, 4, (1, 5)),
        (cxm.Metric.CUSTOM, 87.5, (0, 100)),
    ]
    with pytest.raises(ValidationError) as caught:
        build(row(nps="0", amount="50"))
    assert (caught.value.field, caught.value.reason) == ("nps", "outside the csat scale 1..5")


def test_identities_phone_with_region_and_scoped_ids() -> None:
    build = builder(
        {**ORDER, "identities": {"phone": "email", "shop:customer": "store"}},
        region="GB",
    )
    record = build(row(email="020 7946 0958", store=" C-77 "))
    assert {i.key for i in record.identities} == {
        ("phone", "+442079460958"),
        ("shop:customer", "C-77"),
    }


def test_customer_rows_with_typed_traits() -> None:
    build = builder(
        {
            "record": "customer",
            "source_id": "order_id",
            "updated_at": "created",
            "identities": {"email": "email"},
            "traits": {
                "plan": "store",
                "seats": {"column": "nps", "type": "int"},
                "vip": {"column": "why", "type": "bool"},
            },
        },
        default_timezone="UTC",
    )
    record = build(
        row(email="a@example.com", store="pro", nps="12", why="Yes", created="2025-04-01")
    )
    assert isinstance(record, cxm.CustomerRecord)
    assert record.traits == {"plan": "pro", "seats": 12, "vip": True}
    assert record.updated_at == datetime(2025, 4, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="needs at least one identity"):
        build(row(created="2025-04-01"))
    with pytest.raises(ValidationError) as caught:
        build(row(email="a@example.com", created="2025-04-01", nps="many"))
    assert (caught.value.field, caught.value.reason) == ("nps", "not an integer")


def test_json_rows_keep_their_types_and_reach_nested_fields() -> None:
    build = builder(
        {
            "source_id": "id",
            "occurred_at": "at",
            "channel": {"value": "review_site"},
            "kind": {"value": "review"},
            "identities": {"email": "author.email"},
            "attributes": ["helpful", "meta.lang"],
            "feedback": [{"metric": "rating", "score": "stars"}],
        },
        columns=None,
    )
    record = build(
        {
            "id": 42,
            "at": "2025-03-01T10:00:00Z",
            "author": {"email": "Ann@Example.com"},
            "helpful": 3,
            "meta.lang": "de",
            "meta": {"lang": "en"},
            "stars": 4,
        }
    )
    assert record.source_id == "42"
    assert record.identities[0].value == "ann@example.com"
    # An exact key wins over the nested path it looks like.
    assert record.attributes == {"helpful": 3, "meta.lang": "de"}
    assert record.feedback[0].score == 4
    assert build({"id": 1, "at": "2025-03-01T10:00:00Z", "stars": None}).feedback == ()
    # Zero is a score, not an empty cell.
    zero = build({"id": 1, "at": "2025-03-01T10:00:00Z", "stars": 1, "helpful": 0})
    assert zero.attributes == {"helpful": 0}
    with pytest.raises(ValidationError) as caught:
        build({"id": 1, "at": 1740819600, "stars": 4})
    assert caught.value.field == "at"
    assert "string" in caught.value.reason


def test_a_date_cache_does_not_leak_across_zones() -> None:
    # The same text in two columns with two zones must give two instants.
    build = builder(
        {
            **ORDER,
            "occurred_at": {"column": "created", "timezone": "Asia/Tokyo"},
            "updated_at": {"column": "store", "timezone": "UTC"},
        },
        default_timezone=None,
    )
    record = build(row(created="2025-04-01T10:00:00", store="2025-04-01T10:00:00"))
    assert record.updated_at - record.occurred_at == timedelta(hours=9)
