"""The canonical frames: columns, dtypes, order and filters pushed into SQL."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from sqlalchemy import event

import cxm
from cxm.store.frames import FEEDBACK_COLUMNS, INTERACTION_FRAME_COLUMNS
from tests.support import at, email

CHANNELS = ["web", "email", "support", "store"]


@pytest.fixture
def filled(workspace: cxm.Workspace) -> cxm.Workspace:
    """Twelve interactions of three customers over four channels, ingested out of order."""
    records = []
    for i in reversed(range(12)):
        records.append(
            cxm.Interaction(
                source="src-a" if i % 2 else "src-b",
                source_id=f"i-{i}",
                occurred_at=at(i * 60),
                channel=CHANNELS[i % 4],
                kind="message" if i % 3 else "purchase",
                touchpoint=f"tp-{i % 3}",
                identities=[email(f"c{i % 3}@example.com")],
                feedback=[cxm.Feedback(metric="csat", score=1 + i % 5)] if i % 2 == 0 else [],
            )
        )
    workspace.ingest(records)
    return workspace


@pytest.fixture
def statements(filled: cxm.Workspace) -> Iterator[list[str]]:
    """The SQL statements the workspace sends while the test runs."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(filled.store.engine, "before_cursor_execute", record)
    yield seen
    event.remove(filled.store.engine, "before_cursor_execute", record)


def test_interaction_frame_columns_and_dtypes(filled: cxm.Workspace) -> None:
    frame = filled.interactions()

    assert tuple(frame.columns) == INTERACTION_FRAME_COLUMNS
    assert str(frame["occurred_at"].dtype) == "datetime64[us, UTC]"
    assert str(frame["updated_at"].dtype) == "datetime64[us, UTC]"
    for column in ("source", "channel", "touchpoint", "stage", "kind", "direction"):
        assert isinstance(frame[column].dtype, pd.CategoricalDtype), column
    assert list(frame["channel"].cat.categories) == [c.value for c in cxm.Channel]
    assert frame["interaction_id"].dtype == "int64"
    assert frame["value"].dtype == "float64"
    # Oldest first whatever the order of ingestion.
    assert frame["occurred_at"].is_monotonic_increasing
    assert list(frame["source_id"]) == [f"i-{i}" for i in range(12)]
    assert frame["occurred_at"].iloc[1] == pd.Timestamp("2024-05-01 10:00", tz="UTC")


def test_feedback_frame_columns_and_context(filled: cxm.Workspace) -> None:
    frame = filled.feedback()

    assert tuple(frame.columns) == FEEDBACK_COLUMNS
    assert len(frame) == 6
    assert list(frame["score"]) == [1.0, 3.0, 5.0, 2.0, 4.0, 1.0]
    assert list(frame["metric"].cat.categories) == [m.value for m in cxm.Metric]
    assert (frame["scale_min"] == 1).all()
    assert (frame["scale_max"] == 5).all()
    interactions = filled.interactions().set_index("interaction_id")
    joined = interactions.loc[frame["interaction_id"], "customer_id"].to_numpy()
    assert list(frame["customer_id"]) == list(joined)


def test_filters_select_the_right_rows(filled: cxm.Workspace) -> None:
    start, end = at(120), at(360)
    window = filled.interactions(start=start, end=end)
    assert list(window["source_id"]) == ["i-2", "i-3", "i-4", "i-5"]
    iso = filled.interactions(start="2024-05-01T11:00:00+00:00", end="2024-05-01T15:00:00+02:00")
    assert list(iso["source_id"]) == ["i-2", "i-3"]  # 15:00+02:00 is 13:00 UTC
    assert set(filled.interactions(channel="support")["source_id"]) == {"i-2", "i-6", "i-10"}
    assert len(filled.interactions(channel=["web", "email"])) == 6
    assert set(filled.interactions(touchpoint="tp-1")["source_id"]) == {"i-1", "i-4", "i-7", "i-10"}
    assert len(filled.interactions(source="src-a")) == 6
    assert len(filled.interactions(kind="purchase")) == 4
    customer = filled.customer("c0@example.com").customer_id
    mine = filled.interactions(customer=customer)
    assert set(mine["source_id"]) == {"i-0", "i-3", "i-6", "i-9"}
    assert len(filled.interactions(customer=[])) == 0
    assert list(filled.feedback(metric="nps")["score"]) == []
    assert len(filled.feedback(metric="csat", channel="web")) == 3


def test_filters_run_in_sql(filled: cxm.Workspace, statements: list[str]) -> None:
    filled.interactions(channel="support", start=at(0), touchpoint="tp-1", source="src-a")
    filled.feedback(metric="csat", kind="purchase")

    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    interactions_sql, feedback_sql = selects[0], selects[1]
    for fragment in ("channel IN", "occurred_us >=", "touchpoint IN", "source IN"):
        assert fragment in interactions_sql
    for fragment in ("metric IN", "kind IN"):
        assert fragment in feedback_sql


def test_invalid_filters_name_the_argument(filled: cxm.Workspace) -> None:
    with pytest.raises(cxm.ValidationError) as caught:
        filled.interactions(channel="carrier pigeon")
    assert caught.value.field == "channel"
    with pytest.raises(cxm.ValidationError) as naive:
        filled.interactions(start="2024-05-01T09:00:00")
    assert naive.value.field == "start"
    with pytest.raises(cxm.ValidationError) as metric:
        filled.feedback(metric="happiness")
    assert metric.value.field == "metric"
    with pytest.raises(cxm.ValidationError) as customer:
        filled.interactions(customer=5)  # type: ignore[arg-type]
    assert (customer.value.field, customer.value.value) == ("customer", 5)
    with pytest.raises(cxm.ValidationError) as records:
        filled.ingest(5)  # type: ignore[arg-type]
    assert records.value.field == "records"


def test_attribute_columns(workspace: cxm.Workspace) -> None:
    workspace.ingest(
        [
            cxm.Interaction(
                source="gbp",
                source_id=str(i),
                occurred_at=at(i),
                channel="review_site",
                kind="review",
                attributes={"location": loc, "stars": i},
            )
            for i, loc in enumerate(["Oslo", "Bergen"])
        ]
    )

    frame = workspace.interactions(attributes=["location"])
    assert list(frame["attr_location"]) == ["Oslo", "Bergen"]
    assert "attributes" not in frame.columns


def test_customers_frame(filled: cxm.Workspace) -> None:
    customers = filled.customers()

    assert list(customers.columns[:9]) == [
        "customer_id",
        "created_at",
        "updated_at",
        "email",
        "phone",
        "n_identities",
        "n_interactions",
        "first_seen",
        "last_seen",
    ]
    assert sorted(customers["email"]) == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert list(customers["n_interactions"]) == [4, 4, 4]
    row = customers.set_index("email").loc["c2@example.com"]
    assert row["first_seen"] == pd.Timestamp(at(120))
    assert row["last_seen"] == pd.Timestamp(at(660))


def test_empty_frames_keep_their_columns(workspace: cxm.Workspace) -> None:
    assert tuple(workspace.interactions().columns) == INTERACTION_FRAME_COLUMNS
    assert tuple(workspace.feedback().columns) == FEEDBACK_COLUMNS
    assert len(workspace.customers()) == 0
    assert str(workspace.interactions()["occurred_at"].dtype) == "datetime64[us, UTC]"


def test_trait_named_like_a_column_is_prefixed(workspace: cxm.Workspace) -> None:
    workspace.ingest(
        [
            cxm.CustomerRecord(
                source="crm",
                source_id="1",
                identities=[email("t@example.com")],
                traits={"email": "other@example.com", "tier": "gold"},
            )
        ]
    )

    customers = workspace.customers()
    assert customers["email"].iloc[0] == "t@example.com"
    assert customers["trait_email"].iloc[0] == "other@example.com"
    assert customers["tier"].iloc[0] == "gold"
