"""Customer-level operations: lookup, profile, export (GDPR access) and erase (erasure)."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import String, Text, select

import cxm
from cxm.store import schema
from tests.support import at, email


def ann_and_bo() -> list[cxm.Interaction | cxm.CustomerRecord]:
    """Two customers with interactions, feedback, traits, and one who merged from two ids."""
    return [
        cxm.CustomerRecord(
            source="crm",
            source_id="c-7",
            identities=[email("ann@example.com"), cxm.Identity("phone", "+44 20 7946 0958")],
            traits={"plan": "pro"},
            updated_at=at(0),
        ),
        cxm.CustomerRecord(
            source="hubspot",
            source_id="901",
            identities=[email("ann.work@example.com"), cxm.Identity("hubspot:contact", "901")],
            traits={"company": "Acme"},
        ),
        cxm.Interaction(
            source="shop",
            source_id="o-1",
            occurred_at=at(30),
            channel="store",
            kind="purchase",
            touchpoint="Checkout",
            value=Decimal("42.50"),
            currency="GBP",
            identities=[email("ann@example.com")],
        ),
        cxm.Interaction(
            source="survey",
            source_id="r-9",
            occurred_at=at(10),
            channel="survey",
            kind="survey_response",
            identities=[email("ann.work@example.com")],
            attributes={"wave": 3},
            feedback=[
                cxm.Feedback(metric="nps", score=9, comment="Great", question="Recommend us?"),
                cxm.Feedback(metric="csat", score=4.5),
            ],
        ),
        cxm.Interaction(
            source="shop",
            source_id="o-2",
            occurred_at=at(40),
            channel="store",
            kind="purchase",
            identities=[email("bo@example.com")],
            feedback=[cxm.Feedback(metric="csat", score=2)],
        ),
    ]


@pytest.fixture
def merged(workspace: cxm.Workspace) -> cxm.Workspace:
    workspace.ingest(ann_and_bo())
    # A later record links Ann's two e-mail addresses: her two customers merge.
    workspace.ingest(
        [
            cxm.CustomerRecord(
                source="billing",
                source_id="b-1",
                identities=[email("ann@example.com"), email("ann.work@example.com")],
            )
        ]
    )
    # A bad payload that names Ann lands in quarantine.
    workspace.ingest([{"source": "survey", "source_id": "r-x", "email": "Ann@Example.com"}])
    return workspace


def test_lookup_by_every_kind_of_key(merged: cxm.Workspace) -> None:
    ann = merged.customer("ann@example.com")

    assert merged.customer("ANN.WORK@example.com").customer_id == ann.customer_id
    assert merged.customer("+44 20 7946 0958").customer_id == ann.customer_id
    assert merged.customer("hubspot:contact:901").customer_id == ann.customer_id
    assert merged.customer(cxm.Identity("email", "Ann@Example.com")) == ann
    assert merged.customer(ann.customer_id) == ann
    # The id of the customer absorbed by the merge still finds Ann.
    absorbed = merged.export(ann.customer_id)["merges"][0]["merged_id"]
    assert merged.customer(absorbed) == ann
    assert ann.traits == {"company": "Acme", "plan": "pro"}
    assert {i.kind for i in ann.identities} == {"email", "phone", "hubspot:contact"}


def test_national_phone_lookup_uses_the_workspace_region(db_url: str) -> None:
    ws = cxm.Workspace.open(db_url, default_region="GB")
    try:
        ws.ingest(ann_and_bo())
        ann = ws.customer("ann@example.com")
        assert ws.customer("020 7946 0958") == ann
        assert ws.customer("(020) 7946-0958") == ann
        # Mappings given to ingest read national numbers with the same region.
        report = ws.ingest(
            [
                {
                    "record_type": "customer_record",
                    "source": "desk",
                    "source_id": "u-1",
                    "identities": [{"kind": "phone", "value": "020 7946 0958"}],
                    "traits": {"vip": True},
                }
            ]
        )
        assert report.rejected == 0
        assert ws.customer("ann@example.com").traits["vip"] is True
    finally:
        ws.close()


@pytest.mark.parametrize(
    "key", ["nobody@example.com", "cus_0000", "+1 415 555 2671", "", "hubspot:contact:0", "??"]
)
def test_unknown_keys_raise_customer_not_found(merged: cxm.Workspace, key: str) -> None:
    with pytest.raises(cxm.CustomerNotFound) as caught:
        merged.profile(key)
    assert caught.value.key == key
    assert isinstance(caught.value, LookupError)


def test_profile_is_a_time_ordered_360(merged: cxm.Workspace) -> None:
    profile = merged.profile("ann@example.com")

    assert list(profile.interactions["source_id"]) == ["r-9", "o-1"]
    assert list(profile.feedback["metric"]) == ["nps", "csat"]
    assert profile.traits["plan"] == "pro"
    data = profile.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["interactions"][0]["occurred_at"] == "2024-05-01T09:10:00+00:00"
    html = profile._repr_html_()
    assert "ann@example.com" in html
    assert "Customer360(" in repr(profile)


def test_profile_html_escapes_customer_text(workspace: cxm.Workspace) -> None:
    workspace.ingest(
        [
            cxm.Interaction(
                source="reviews",
                source_id="x",
                occurred_at=at(0),
                channel="review_site",
                kind="review",
                text="<script>alert(1)</script>",
                identities=[email("eve@example.com")],
            ),
            cxm.CustomerRecord(
                source="crm",
                source_id="e",
                identities=[email("eve@example.com")],
                traits={"note": "<img src=x onerror=alert(1)>"},
            ),
        ]
    )

    html = workspace.profile("eve@example.com")._repr_html_()
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html


def test_export_holds_everything_and_reads_back(merged: cxm.Workspace) -> None:
    export = merged.export("ann@example.com")

    assert json.loads(json.dumps(export)) == export
    assert export["traits"] == {"company": "Acme", "plan": "pro"}
    assert {(i["kind"], i["value"]) for i in export["identities"]} == {
        ("email", "ann@example.com"),
        ("email", "ann.work@example.com"),
        ("phone", "+442079460958"),
        ("hubspot:contact", "901"),
    }
    assert {r["source_id"] for r in export["customer_records"]} == {"c-7", "901", "b-1"}
    assert [i["source_id"] for i in export["interactions"]] == ["r-9", "o-1"]
    assert len(export["merges"]) == 1
    assert [q["source"] for q in export["quarantined"]] == ["survey"]
    # Exported records are the input records, exactly, and re-ingesting them changes nothing.
    originals = {(r.source, r.source_id): r for r in ann_and_bo()}
    for item in export["interactions"] + export["customer_records"]:
        rebuilt = cxm.record_from_dict(item)
        if (rebuilt.source, rebuilt.source_id) in originals:
            assert rebuilt == originals[(rebuilt.source, rebuilt.source_id)]
    again = merged.ingest(export["interactions"] + export["customer_records"])
    assert (again.new, again.updated, again.rejected) == (0, 0, 0)
    assert again.unchanged == 5


def _every_text_value(ws: cxm.Workspace) -> list[tuple[str, str, str]]:
    """Return (table, column, value) for every string cell in every table."""
    found = []
    with ws.store.read() as connection:
        for table in schema.metadata.sorted_tables:
            text_columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
            for row in connection.execute(select(*text_columns)):
                for column, value in zip(text_columns, row, strict=True):
                    if isinstance(value, str):
                        found.append((table.name, column.name, value))
    return found


def test_erase_leaves_no_row_that_names_the_customer(merged: cxm.Workspace) -> None:
    ann = merged.export("ann@example.com")
    needles = [i["value"] for i in ann["identities"]] + [ann["customer_id"]]
    needles += [m["merged_id"] for m in ann["merges"]]
    bo_before = merged.export("bo@example.com")

    counts = merged.erase("ann.work@example.com")

    assert counts == {
        "feedback": 2,
        "interactions": 2,
        "customer_records": 3,
        "identities": 4,
        "merges": 1,
        "quarantine": 1,
        "customers": 1,
        "sentiment": 0,
    }
    # Whole tokens only: the contact id "901" also occurs by chance inside random hex values
    # such as the workspace id in settings.
    patterns = [
        re.compile(rf"(?<![0-9a-z]){re.escape(needle.lower())}(?![0-9a-z])") for needle in needles
    ]
    leftovers = [
        (table, column, value)
        for table, column, value in _every_text_value(merged)
        for pattern in patterns
        if pattern.search(value.lower())
    ]
    assert leftovers == []
    with pytest.raises(cxm.CustomerNotFound):
        merged.profile("ann@example.com")
    bo_after = merged.export("bo@example.com")
    assert bo_after["interactions"] == bo_before["interactions"]
    assert len(merged.feedback()) == 1


def test_reingest_after_erase_creates_a_new_customer(merged: cxm.Workspace) -> None:
    merged.erase("bo@example.com")

    report = merged.ingest([r for r in ann_and_bo() if r.source_id == "o-2"])

    assert (report.new, report.customers_created) == (1, 1)
    assert merged.profile("bo@example.com").interactions["source_id"].tolist() == ["o-2"]


def test_erase_matches_quarantine_payloads_exactly(workspace: cxm.Workspace) -> None:
    workspace.ingest(
        [
            cxm.CustomerRecord(
                source="crm",
                source_id="1",
                identities=[email("zoë@bücher.de"), cxm.Identity("desk:user", "42")],
            )
        ]
    )
    workspace.ingest(
        [
            {"source": "desk", "note": "order 4242 for someone else"},
            {"source": "desk", "user": "42", "why": "missing source_id"},
            {"source": "mail", "from": "ZOË@BÜCHER.DE"},
            ["not", "a", "mapping", "zoë@bücher.de"],
        ]
    )
    assert len(workspace.quarantined()) == 4

    counts = workspace.erase("zoë@bücher.de")

    assert counts["quarantine"] == 3
    left = workspace.quarantined()
    assert list(left["raw"]) == ['{"note": "order 4242 for someone else", "source": "desk"}']
