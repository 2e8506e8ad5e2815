"""Ingestion on every backend: idempotency, updates, merges, traits, quarantine, atomicity."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

import cxm
from cxm.store import schema
from cxm.store.writer import BatchWriter
from tests.support import at, email


def issue_example() -> list[cxm.Interaction | cxm.CustomerRecord]:
    """The three records of the issue: a purchase, an NPS answer and a CRM contact."""
    return [
        cxm.Interaction(
            source="shop",
            source_id="o-1",
            occurred_at=at(0),
            channel="store",
            touchpoint="Checkout",
            kind="purchase",
            value=Decimal("42.50"),
            currency="EUR",
            identities=[email("Ann@Example.com")],
        ),
        cxm.Interaction(
            source="survey",
            source_id="r-9",
            occurred_at=at(60),
            channel="survey",
            kind="survey_response",
            identities=[cxm.Identity("phone", "+44 20 7946 0958")],
            feedback=[cxm.Feedback(metric="nps", score=9, comment="Great")],
        ),
        cxm.CustomerRecord(
            source="crm",
            source_id="c-7",
            traits={"plan": "pro"},
            identities=[email("ann@example.com"), cxm.Identity("phone", "+44 20 7946 0958")],
        ),
    ]


def count(ws: cxm.Workspace, table: object) -> int:
    with ws.store.read() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_issue_example_resolves_to_one_customer(workspace: cxm.Workspace) -> None:
    report = workspace.ingest(issue_example())

    assert (report.new, report.updated, report.unchanged, report.rejected) == (3, 0, 0, 0)
    customers = workspace.customers()
    assert len(customers) == 1
    row = customers.iloc[0]
    assert row["email"] == "ann@example.com"
    assert row["phone"] == "+442079460958"
    assert row["plan"] == "pro"
    assert row["n_identities"] == 2
    assert row["n_interactions"] == 2
    interactions = workspace.interactions()
    assert list(interactions["source_id"]) == ["o-1", "r-9"]
    assert interactions["customer_id"].nunique() == 1
    assert interactions["customer_id"].iloc[0] == row["customer_id"]
    assert interactions["value"].iloc[0] == pytest.approx(42.5)
    feedback = workspace.feedback()
    assert list(feedback["score"]) == [9.0]
    assert feedback["comment"].iloc[0] == "Great"
    assert feedback["customer_id"].iloc[0] == row["customer_id"]


def test_reingest_adds_nothing(workspace: cxm.Workspace) -> None:
    workspace.ingest(issue_example())
    before = workspace.interactions()

    again = workspace.ingest(issue_example())

    assert (again.new, again.updated, again.unchanged) == (0, 0, 3)
    assert again.customers_created == 0
    pd.testing.assert_frame_equal(workspace.interactions(), before)
    assert count(workspace, schema.interactions) == 2
    assert count(workspace, schema.feedback) == 1
    assert count(workspace, schema.identities) == 2
    assert count(workspace, schema.customers) == 1


def test_changed_record_updates_in_place_and_replaces_feedback(
    workspace: cxm.Workspace,
) -> None:
    first = cxm.Interaction(
        source="survey",
        source_id="r-1",
        occurred_at=at(0),
        channel="survey",
        kind="survey_response",
        identities=[email("bo@example.com")],
        feedback=[
            cxm.Feedback(metric="nps", score=3),
            cxm.Feedback(metric="csat", score=2, comment="slow"),
        ],
    )
    workspace.ingest([first])
    original_id = int(workspace.interactions()["interaction_id"].iloc[0])
    changed = cxm.Interaction(
        source="survey",
        source_id="r-1",
        occurred_at=at(0),
        channel="survey",
        kind="survey_response",
        text="edited",
        identities=[email("bo@example.com")],
        feedback=[cxm.Feedback(metric="nps", score=8)],
    )

    report = workspace.ingest([changed])

    assert (report.new, report.updated, report.unchanged) == (0, 1, 0)
    frame = workspace.interactions()
    assert len(frame) == 1
    assert int(frame["interaction_id"].iloc[0]) == original_id
    assert frame["text"].iloc[0] == "edited"
    feedback = workspace.feedback()
    assert list(feedback["metric"]) == ["nps"]
    assert list(feedback["score"]) == [8.0]


def test_older_version_never_overwrites_newer(workspace: cxm.Workspace) -> None:
    def version(text: str, minutes: int) -> cxm.Interaction:
        return cxm.Interaction(
            source="desk",
            source_id="t-1",
            occurred_at=at(0),
            channel="support",
            kind="ticket",
            text=text,
            updated_at=at(minutes),
            identities=[email("cy@example.com")],
        )

    workspace.ingest([version("new", 10)])
    report = workspace.ingest([version("old", 5)])

    assert (report.updated, report.unchanged) == (0, 1)
    assert workspace.interactions()["text"].iloc[0] == "new"
    assert workspace.ingest([version("newer", 20)]).updated == 1
    assert workspace.interactions()["text"].iloc[0] == "newer"


def test_repeats_inside_one_call_keep_the_newest(workspace: cxm.Workspace) -> None:
    def version(text: str, minutes: int) -> cxm.Interaction:
        return cxm.Interaction(
            source="desk",
            source_id="t-9",
            occurred_at=at(0),
            channel="support",
            kind="ticket",
            text=text,
            updated_at=at(minutes),
            identities=[email("di@example.com")],
        )

    report = workspace.ingest([version("b", 2), version("a", 1), version("c", 3)])

    assert report.total == 3
    assert (report.new, report.unchanged) == (1, 2)
    assert list(workspace.interactions()["text"]) == ["c"]


def test_anonymous_interaction_has_no_customer(workspace: cxm.Workspace) -> None:
    workspace.ingest(
        [
            cxm.Interaction(
                source="web",
                source_id="pv-1",
                occurred_at=at(0),
                channel="web",
                kind="page_view",
                touchpoint="Pricing page",
            )
        ]
    )

    frame = workspace.interactions()
    assert frame["customer_id"].iloc[0] is None
    assert len(workspace.customers()) == 0


def test_linking_record_merges_customers_and_audits(workspace: cxm.Workspace) -> None:
    workspace.ingest(
        [
            cxm.Interaction(
                source="shop",
                source_id="o-1",
                occurred_at=at(0),
                channel="store",
                kind="purchase",
                identities=[email("ann@example.com")],
                feedback=[cxm.Feedback(metric="csat", score=5)],
            ),
            cxm.CustomerRecord(
                source="crm",
                source_id="a",
                identities=[email("ann@example.com")],
                traits={"plan": "free", "city": "Oslo"},
                updated_at=at(0),
            ),
        ]
    )
    older = workspace.customer("ann@example.com").customer_id
    workspace.ingest(
        [
            cxm.Interaction(
                source="desk",
                source_id="t-1",
                occurred_at=at(5),
                channel="support",
                kind="ticket",
                identities=[email("ann.work@example.com")],
            ),
            cxm.CustomerRecord(
                source="crm",
                source_id="b",
                identities=[email("ann.work@example.com")],
                traits={"plan": "pro"},
                updated_at=at(10),
            ),
        ]
    )
    younger = workspace.customer("ann.work@example.com").customer_id
    assert older != younger

    report = workspace.ingest(
        [
            cxm.CustomerRecord(
                source="billing",
                source_id="acct-1",
                identities=[email("ann@example.com"), email("ann.work@example.com")],
            )
        ]
    )

    assert report.customers_merged == 1
    customers = workspace.customers()
    assert list(customers["customer_id"]) == [older]
    assert customers["plan"].iloc[0] == "pro"  # newest updated_at wins per trait
    assert customers["city"].iloc[0] == "Oslo"
    assert set(workspace.interactions()["customer_id"]) == {older}
    assert set(workspace.feedback()["customer_id"]) == {older}
    with workspace.store.read() as connection:
        audit = connection.execute(select(schema.merges)).all()
    assert [(a.survivor_id, a.merged_id, a.source, a.source_id) for a in audit] == [
        (older, younger, "billing", "acct-1")
    ]
    export = workspace.export("ann.work@example.com")
    assert export["customer_id"] == older
    assert [m["merged_id"] for m in export["merges"]] == [younger]


def test_chain_merges_three_customers_into_the_oldest(workspace: cxm.Workspace) -> None:
    for index, address in enumerate(["a@x.org", "b@x.org", "c@x.org"]):
        workspace.ingest(
            [cxm.CustomerRecord(source="crm", source_id=f"r{index}", identities=[email(address)])]
        )
    oldest = workspace.customer("a@x.org").customer_id

    report = workspace.ingest(
        [
            cxm.CustomerRecord(
                source="link", source_id="1", identities=[email("c@x.org"), email("z@x.org")]
            ),
            cxm.CustomerRecord(
                source="link", source_id="2", identities=[email("z@x.org"), email("b@x.org")]
            ),
            cxm.CustomerRecord(
                source="link", source_id="3", identities=[email("a@x.org"), email("y@x.org")]
            ),
            cxm.CustomerRecord(
                source="link", source_id="4", identities=[email("y@x.org"), email("b@x.org")]
            ),
        ]
    )

    assert report.customers_merged == 2
    assert list(workspace.customers()["customer_id"]) == [oldest]
    assert workspace.customer("z@x.org").customer_id == oldest
    assert len(workspace.customer("b@x.org").identities) == 5


def test_later_merge_keeps_audit_rooted_at_survivor(workspace: cxm.Workspace) -> None:
    for index, address in enumerate(["p@x.org", "q@x.org", "r@x.org"]):
        workspace.ingest(
            [cxm.CustomerRecord(source="crm", source_id=f"s{index}", identities=[email(address)])]
        )
    p = workspace.customer("p@x.org").customer_id
    q = workspace.customer("q@x.org").customer_id
    r = workspace.customer("r@x.org").customer_id
    workspace.ingest(
        [
            cxm.CustomerRecord(
                source="l", source_id="1", identities=[email("q@x.org"), email("r@x.org")]
            )
        ]
    )
    workspace.ingest(
        [
            cxm.CustomerRecord(
                source="l", source_id="2", identities=[email("p@x.org"), email("q@x.org")]
            )
        ]
    )

    export = workspace.export("r@x.org")
    assert export["customer_id"] == p
    assert sorted(m["merged_id"] for m in export["merges"]) == sorted([q, r])


def test_rejected_items_are_quarantined_with_reason_and_payload(
    workspace: cxm.Workspace,
) -> None:
    bad_score = {
        "record_type": "interaction",
        "source": "survey",
        "source_id": "r-1",
        "occurred_at": "2024-05-01T09:00:00+00:00",
        "channel": "survey",
        "kind": "survey_response",
        "feedback": [{"metric": "nps", "score": 11}],
    }
    good = {**bad_score, "source_id": "r-2", "feedback": [{"metric": "nps", "score": 10}]}

    report = workspace.ingest([bad_score, good, 42])

    assert (report.new, report.rejected) == (1, 2)
    assert [r.index for r in report.rejections] == [0, 2]
    assert "Feedback.score=11" in report.rejections[0].reason
    quarantined = workspace.quarantined()
    assert list(quarantined["source"]) == ["survey", "unknown"]
    assert "outside the nps scale" in quarantined["reason"].iloc[0]
    assert '"source_id": "r-1"' in quarantined["raw"].iloc[0]
    assert "42" in quarantined["raw"].iloc[1]
    assert list(workspace.interactions()["source_id"]) == ["r-2"]


def test_on_error_raise_names_field_and_value(workspace: cxm.Workspace) -> None:
    with pytest.raises(cxm.ValidationError) as caught:
        workspace.ingest(
            [
                {
                    "source": "x",
                    "source_id": "",
                    "occurred_at": "2024-05-01T09:00:00Z",
                    "channel": "web",
                    "kind": "page_view",
                }
            ],
            on_error="raise",
        )
    assert caught.value.field == "Interaction.source_id"
    assert caught.value.value == ""


def test_a_failing_batch_commits_nothing(
    workspace: cxm.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [
        cxm.Interaction(
            source="shop",
            source_id=f"o-{i}",
            occurred_at=at(i),
            channel="web",
            kind="purchase",
            touchpoint="Checkout" if i < 4 else "Returns desk",
            identities=[email(f"u{i}@example.com")],
        )
        for i in range(6)
    ]
    records.append(
        cxm.CustomerRecord(source="crm", source_id="c", identities=[email("u5@example.com")])
    )
    calls = {"n": 0}
    original = BatchWriter._write_records

    def fail_in_second_batch(self: BatchWriter, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BatchWriter, "_write_records", fail_in_second_batch)

    with pytest.raises(RuntimeError, match="disk on fire"):
        workspace.ingest(records, batch_size=4)

    # The first batch (4 interactions) is committed whole; nothing of the second is.
    assert list(workspace.interactions()["source_id"]) == ["o-0", "o-1", "o-2", "o-3"]
    assert count(workspace, schema.customers) == 4
    assert count(workspace, schema.identities) == 4
    assert list(workspace.touchpoints()["name"]) == ["Checkout"]
    monkeypatch.undo()
    report = workspace.ingest(records, batch_size=4)
    assert (report.new, report.unchanged) == (3, 4)
    assert count(workspace, schema.interactions) == 6
    # The rolled-back batch's touchpoint was not remembered as catalogued.
    assert list(workspace.touchpoints()["name"]) == ["Checkout", "Returns desk"]


def test_money_is_exact(workspace: cxm.Workspace) -> None:
    amounts = [Decimal("0.000001"), Decimal("1234567.891234"), Decimal("-19.99")]
    workspace.ingest(
        [
            cxm.Interaction(
                source="shop",
                source_id=str(i),
                occurred_at=at(i),
                channel="store",
                kind="purchase",
                value=amount,
                identities=[email("money@example.com")],
            )
            for i, amount in enumerate(amounts)
        ]
    )

    exported = workspace.export("money@example.com")["interactions"]
    assert [Decimal(i["value"]) for i in exported] == amounts


def test_touchpoints_are_catalogued_and_give_the_stage(workspace: cxm.Workspace) -> None:
    workspace.ingest(issue_example())
    assert list(workspace.touchpoints()["name"]) == ["Checkout"]
    assert workspace.interactions()["stage"].isna().all()

    workspace.register_touchpoints(
        [cxm.Touchpoint(name="Checkout", channel="web", stage=cxm.JourneyStage.PURCHASE)]
    )

    catalog = workspace.touchpoints()
    assert catalog.loc[0, "channel"] == "web"
    stages = workspace.interactions()["stage"]
    assert stages.iloc[0] == "purchase"
    assert stages.dtype.ordered
    assert list(stages.cat.categories[:5]) == [s.value for s in cxm.JourneyStage]


def test_unicode_and_long_text_round_trip(workspace: cxm.Workspace) -> None:
    text = "Très bien 👍 " + "x" * 70_000
    workspace.ingest(
        [
            cxm.Interaction(
                source="reviews",
                source_id="r-ü",
                occurred_at=at(0),
                channel="review_site",
                kind="review",
                text=text,
                identities=[email("zoë@example.com")],
                attributes={"stars": 5, "tags": ["fast", "friendly"]},
            )
        ]
    )

    frame = workspace.interactions(attributes=True)
    assert frame["text"].iloc[0] == text
    assert frame["attributes"].iloc[0] == {"stars": 5, "tags": ["fast", "friendly"]}
    assert workspace.customer("ZOË@example.com").identities[0].value == "zoë@example.com"


def test_record_moving_to_another_customer_takes_its_traits(workspace: cxm.Workspace) -> None:
    workspace.ingest(
        [
            cxm.CustomerRecord(
                source="crm",
                source_id="1",
                identities=[email("x@example.com")],
                traits={"tier": "gold"},
            ),
            cxm.CustomerRecord(
                source="shop",
                source_id="9",
                identities=[email("x@example.com")],
                traits={"city": "Oslo"},
            ),
            cxm.CustomerRecord(source="crm", source_id="2", identities=[email("y@example.com")]),
        ]
    )
    assert workspace.customer("x@example.com").traits == {"city": "Oslo", "tier": "gold"}

    report = workspace.ingest(
        [
            cxm.CustomerRecord(
                source="shop",
                source_id="9",
                identities=[email("y@example.com")],
                traits={"city": "Oslo"},
            )
        ]
    )

    assert report.updated == 1
    assert workspace.customer("x@example.com").traits == {"tier": "gold"}
    assert workspace.customer("y@example.com").traits == {"city": "Oslo"}


def test_on_error_raise_commits_what_came_before(workspace: cxm.Workspace) -> None:
    good = cxm.Interaction(
        source="web", source_id="ok", occurred_at=at(0), channel="web", kind="page_view"
    )
    with pytest.raises(cxm.ValidationError):
        workspace.ingest([good, {"source": "web"}], on_error="raise")

    assert list(workspace.interactions()["source_id"]) == ["ok"]
    assert len(workspace.quarantined()) == 0


def test_stale_record_does_not_relink_identities(workspace: cxm.Workspace) -> None:
    def version(identities: list[cxm.Identity], minutes: int) -> cxm.CustomerRecord:
        return cxm.CustomerRecord(
            source="crm", source_id="1", identities=identities, updated_at=at(minutes)
        )

    workspace.ingest([version([email("new@example.com")], 10)])
    workspace.ingest(
        [cxm.CustomerRecord(source="shop", source_id="9", identities=[email("old@example.com")])]
    )

    report = workspace.ingest([version([email("new@example.com"), email("old@example.com")], 5)])

    assert (report.unchanged, report.customers_merged) == (1, 0)
    assert len(workspace.customers()) == 2
