"""Property tests of identity resolution through the real store (in-memory SQLite).

The store's answer is compared with connected components computed here independently: a
breadth-first search over records that share a normalised e-mail address. The partition of
records into customers, the customers' identities and their merged traits must not depend on
the order records arrive in, nor on how they are split into ``ingest`` calls and batches.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import cxm
from cxm import CustomerRecord, Feedback, Identity, Interaction
from cxm.identity import customer_id_for

Record = Interaction | CustomerRecord
Key = tuple[str, str]

BASE = datetime(2024, 1, 1, tzinfo=UTC)
# Few distinct stamps, so that equal updated_at values (ties) are common.
STAMPS = [BASE + timedelta(days=d) for d in (1, 2, 3)]
TRAIT_NAMES = ["plan", "city", "tier"]
SOURCES = ["crm", "shop", "survey"]
CHANNELS = ["email", "chat", "web"]

# Each example opens a few in-memory workspaces; these bounds keep the file well under a
# minute on two cores while still exploring merges across batches.
PROPERTY_SETTINGS = settings(max_examples=50, deadline=None)
PARTITION_SETTINGS = settings(max_examples=100, deadline=None)


# -- strategies ----------------------------------------------------------------------------


def spellings(address: str) -> st.SearchStrategy[str]:
    """Ways a source may write one address; all normalise to ``address``."""
    local, domain = address.split("@")
    return st.sampled_from(
        [address, address.upper(), f"  {address} ", f"{local.capitalize()}@{domain.upper()}"]
    )


@st.composite
def scenarios(draw: st.DrawFn) -> list[Record]:
    """A small universe of e-mail identities and 1-12 records asserting 1-3 of them each."""
    universe = [f"user{i}@example.com" for i in range(draw(st.integers(2, 8)))]
    count = draw(st.integers(1, 12))
    records: list[Record] = []
    for index in range(count):
        addresses = draw(st.lists(st.sampled_from(universe), min_size=1, max_size=3, unique=True))
        identities = [Identity("email", draw(spellings(a))) for a in addresses]
        source = draw(st.sampled_from(SOURCES))
        source_id = f"r{index}"  # unique, so (source, source_id) is unique too
        updated_at = draw(st.sampled_from([None, *STAMPS]))
        if draw(st.booleans()):
            traits = draw(
                st.dictionaries(
                    st.sampled_from(TRAIT_NAMES),
                    st.none() | st.integers(0, 3) | st.sampled_from(["a", "b"]),
                    max_size=3,
                )
            )
            records.append(
                CustomerRecord(
                    source=source,
                    source_id=source_id,
                    identities=identities,
                    traits=traits,
                    updated_at=updated_at,
                )
            )
        else:
            scores = draw(st.lists(st.integers(0, 10), max_size=2))
            records.append(
                Interaction(
                    source=source,
                    source_id=source_id,
                    occurred_at=BASE + timedelta(minutes=index),
                    channel=draw(st.sampled_from(CHANNELS)),
                    kind="message",
                    identities=identities,
                    feedback=[Feedback(metric="nps", score=s) for s in scores],
                    updated_at=updated_at,
                )
            )
    return records


@st.composite
def splits(draw: st.DrawFn, records: Sequence[Record]) -> list[tuple[list[Record], int]]:
    """A permutation of ``records`` cut into ``ingest`` calls, each with its own batch size."""
    shuffled = draw(st.permutations(list(records)))
    cuts = sorted(draw(st.sets(st.integers(1, max(len(shuffled) - 1, 1)), max_size=4)))
    bounds = [0, *(c for c in cuts if c < len(shuffled)), len(shuffled)]
    return [
        (shuffled[start:end], draw(st.integers(1, 4)))
        for start, end in itertools.pairwise(bounds)
        if end > start
    ]


# -- independent reference -----------------------------------------------------------------


def key_of(record: Record) -> Key:
    return (record.source, record.source_id)


def normalised(record: Record) -> set[str]:
    """The record's addresses, normalised here without cxm: trimmed and lower-cased."""
    return {identity.value.strip().lower() for identity in record.identities}


def components(records: Sequence[Record]) -> list[list[Record]]:
    """Records that share an address, directly or through a chain (breadth-first search)."""
    by_address: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        for address in normalised(record):
            by_address[address].append(index)
    seen: set[int] = set()
    out: list[list[Record]] = []
    for start in range(len(records)):
        if start in seen:
            continue
        seen.add(start)
        queue, members = [start], []
        while queue:
            index = queue.pop(0)
            members.append(records[index])
            for address in normalised(records[index]):
                for other in by_address[address]:
                    if other not in seen:
                        seen.add(other)
                        queue.append(other)
        out.append(members)
    return out


def partition_of(groups: Sequence[Sequence[Record]]) -> set[frozenset[Key]]:
    return {frozenset(key_of(r) for r in group) for group in groups}


def newest_traits(records: Sequence[Record]) -> dict[str, Any]:
    """Per trait, the value of the newest record holding it; undated lowest, ties by key."""
    best: dict[str, tuple[tuple[Any, ...], Any]] = {}
    for record in records:
        if not isinstance(record, CustomerRecord):
            continue
        stamp = record.updated_at
        rank = (stamp is not None, stamp or BASE, record.source, record.source_id)
        for name, value in record.traits.items():
            if name not in best or rank > best[name][0]:
                best[name] = (rank, value)
    return {name: value for name, (_rank, value) in best.items()}


# -- reading the store back ----------------------------------------------------------------


def stored_customers(ws: cxm.Workspace) -> dict[str, dict[str, Any]]:
    """``{customer_id: export}`` for every customer, ``exported_at`` removed."""
    out = {}
    for customer_id in ws.customers()["customer_id"]:
        export = ws.export(customer_id)
        export.pop("exported_at")
        out[customer_id] = export
    return out


def customer_of_records(ws: cxm.Workspace) -> dict[Key, str]:
    """Which customer each stored record belongs to, read from the frames and exports."""
    frame = ws.interactions()
    assert frame["customer_id"].notna().all()
    owner: dict[Key, str] = {
        (str(source), str(source_id)): str(customer_id)
        for source, source_id, customer_id in zip(
            frame["source"], frame["source_id"], frame["customer_id"], strict=True
        )
    }
    assert len(owner) == len(frame)
    exported_interactions: dict[Key, str] = {}
    for customer_id, export in stored_customers(ws).items():
        for item in export["interactions"]:
            exported_interactions[(item["source"], item["source_id"])] = customer_id
            assert item["customer_id"] == customer_id
        for item in export["customer_records"]:
            key = (item["source"], item["source_id"])
            assert key not in owner, f"{key} stored twice"
            owner[key] = customer_id
    # The export and the interactions frame agree on who owns every interaction.
    assert exported_interactions == {
        key: cid for key, cid in owner.items() if key in exported_interactions
    }
    assert len(exported_interactions) == len(frame)
    return owner


def grouped(owner: dict[Key, str]) -> set[frozenset[Key]]:
    by_customer: dict[str, set[Key]] = defaultdict(set)
    for key, customer_id in owner.items():
        by_customer[customer_id].add(key)
    return {frozenset(keys) for keys in by_customer.values()}


def ingest_all(ws: cxm.Workspace, plan: Sequence[tuple[list[Record], int]]) -> Iterator[Any]:
    for chunk, batch_size in plan:
        report = ws.ingest(chunk, batch_size=batch_size, on_error="raise")
        assert report.rejected == 0
        yield report


def snapshot(ws: cxm.Workspace) -> dict[str, Any]:
    return {
        "interactions": ws.interactions(attributes=True),
        "feedback": ws.feedback(),
        "customers": ws.customers(),
        "exports": stored_customers(ws),
    }


# -- properties ----------------------------------------------------------------------------


@PARTITION_SETTINGS
@given(data=st.data(), records=scenarios())
def test_partition_is_the_connected_components_whatever_the_order_and_batching(
    data: st.DataObject, records: list[Record]
) -> None:
    expected_groups = components(records)
    expected = partition_of(expected_groups)
    all_keys = {key_of(r) for r in records}

    # (1) One ingest call, in the given order.
    with cxm.Workspace.open(":memory:") as ws:
        report = ws.ingest(records, on_error="raise")
        assert report.new == len(records)
        owner = customer_of_records(ws)
        assert set(owner) == all_keys
        assert grouped(owner) == expected
        # Customers equal components (d), and the id of a component created in one batch is
        # the salted hash of its smallest identity: deterministic, not order-dependent.
        assert len(ws.customers()) == len(expected_groups)
        for group in expected_groups:
            smallest = min(a for r in group for a in normalised(r))
            assert owner[key_of(group[0])] == customer_id_for(ws.store.salt, ("email", smallest))
        assert report.customers_created - report.customers_merged == len(expected_groups)

    # (2) One ingest call, in another order.
    permuted = data.draw(st.permutations(records), label="permutation")
    with cxm.Workspace.open(":memory:") as ws:
        ws.ingest(permuted, on_error="raise")
        owner = customer_of_records(ws)
        assert grouped(owner) == expected
        for group in expected_groups:
            smallest = min(a for r in group for a in normalised(r))
            assert owner[key_of(group[0])] == customer_id_for(ws.store.salt, ("email", smallest))

    # (3) Another order, split over several ingest calls with small batch sizes, so customers
    # are created early and merged later.
    plan = data.draw(splits(records), label="plan")
    with cxm.Workspace.open(":memory:") as ws:
        reports = list(ingest_all(ws, plan))
        assert sum(r.new for r in reports) == len(records)
        owner = customer_of_records(ws)
        assert set(owner) == all_keys
        assert grouped(owner) == expected
        customers = stored_customers(ws)
        assert len(customers) == len(expected_groups)
        created = sum(r.customers_created for r in reports)
        merged = sum(r.customers_merged for r in reports)
        assert created - merged == len(expected_groups)
        # Every customer holds exactly its component's identities, and every merge is in the
        # audit, with evidence from the customer's own records.
        members = {owner[key_of(group[0])]: group for group in expected_groups}
        audited = 0
        for customer_id, export in customers.items():
            group = members[customer_id]
            held = {(i["kind"], i["value"]) for i in export["identities"]}
            assert held == {("email", a) for r in group for a in normalised(r)}
            keys = {key_of(r) for r in group}
            for merge in export["merges"]:
                assert merge["merged_id"] not in customers
                assert (merge["source"], merge["source_id"]) in keys
            audited += len(export["merges"])
        assert audited == merged


@PROPERTY_SETTINGS
@given(data=st.data(), records=scenarios())
def test_reingesting_the_same_records_changes_nothing(
    data: st.DataObject, records: list[Record]
) -> None:
    plan = data.draw(splits(records), label="plan")
    replay = data.draw(splits(records), label="replay")
    with cxm.Workspace.open(":memory:") as ws:
        list(ingest_all(ws, plan))
        before = snapshot(ws)
        owner_before = customer_of_records(ws)
        again = list(ingest_all(ws, replay))
        assert sum(r.new for r in again) == 0
        assert sum(r.updated for r in again) == 0
        assert sum(r.unchanged for r in again) == len(records)
        assert sum(r.customers_created for r in again) == 0
        assert sum(r.customers_merged for r in again) == 0
        after = snapshot(ws)
        for name in ("interactions", "feedback", "customers"):
            pd.testing.assert_frame_equal(after[name], before[name])
        assert after["exports"] == before["exports"]
        assert customer_of_records(ws) == owner_before


@PROPERTY_SETTINGS
@given(data=st.data(), records=scenarios())
def test_merged_traits_follow_the_newest_rule(data: st.DataObject, records: list[Record]) -> None:
    plan = data.draw(splits(records), label="plan")
    with cxm.Workspace.open(":memory:") as ws:
        list(ingest_all(ws, plan))
        owner = customer_of_records(ws)
        customers = stored_customers(ws)
        for group in components(records):
            customer_id = owner[key_of(group[0])]
            expected = newest_traits(group)
            assert customers[customer_id]["traits"] == expected
            assert ws.customer(customer_id).traits == expected


@PROPERTY_SETTINGS
@given(data=st.data(), records=scenarios())
def test_customer_count_equals_component_count(data: st.DataObject, records: list[Record]) -> None:
    plan = data.draw(splits(records), label="plan")
    with cxm.Workspace.open(":memory:") as ws:
        list(ingest_all(ws, plan))
        frame = ws.customers()
        expected_groups = components(records)
        assert len(frame) == len(expected_groups)
        assert frame["customer_id"].is_unique
        # Every customer has at least one identity and one record; none is an orphan.
        assert (frame["n_identities"] > 0).all()
        n_interactions = sum(isinstance(r, Interaction) for r in records)
        assert int(frame["n_interactions"].sum()) == n_interactions
        for group in expected_groups:
            addresses = {a for r in group for a in normalised(r)}
            found = {ws.customer(a).customer_id for a in addresses}
            assert len(found) == 1
