"""Two writers at once on one database: no duplicate, no dangling customer, one partition."""

from __future__ import annotations

import random
import threading

import cxm
from cxm.identity import UnionFind
from tests.support import at, email


def records_for(writer: int, count: int) -> list[cxm.Interaction | cxm.CustomerRecord]:
    """Records over a shared pool of 30 addresses; some link two addresses (forcing merges)."""
    rnd = random.Random(writer)
    out: list[cxm.Interaction | cxm.CustomerRecord] = []
    for i in range(count):
        first = email(f"p{rnd.randrange(30)}@example.com")
        if i % 5 == 0:
            second = email(f"p{rnd.randrange(30)}@example.com")
            out.append(
                cxm.CustomerRecord(
                    source=f"w{writer}", source_id=f"r{i}", identities=[first, second]
                )
            )
        else:
            out.append(
                cxm.Interaction(
                    source=f"w{writer}",
                    source_id=f"i{i}",
                    occurred_at=at(i),
                    channel="web",
                    kind="page_view",
                    identities=[first],
                )
            )
    return out


def test_concurrent_writers_agree_on_one_partition(db_url: str) -> None:
    batches = {writer: records_for(writer, 150) for writer in (1, 2)}
    cxm.Workspace.open(db_url).close()  # migrate once, before the race
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            with cxm.Workspace.open(db_url) as ws:
                ws.ingest(batches[writer], batch_size=10)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    with cxm.Workspace.open(db_url) as ws:
        interactions = ws.interactions()
        customers = set(ws.customers()["customer_id"])
        expected = UnionFind[str]()
        for record in batches[1] + batches[2]:
            keys = [i.value for i in record.identities]
            for key in keys:
                expected.add(key)
            for other in keys[1:]:
                expected.union(keys[0], other)
        by_customer: dict[str, set[str]] = {}
        for record in batches[1] + batches[2]:
            customer_id = ws.customer(record.identities[0]).customer_id
            by_customer.setdefault(customer_id, set()).update(i.value for i in record.identities)
        partition = {frozenset(members) for members in by_customer.values()}
        components = {frozenset(members) for members in expected.groups().values()}

    assert len(interactions) == 240
    # Every interaction points at a living customer, and customers are the components.
    assert set(interactions["customer_id"]) <= customers
    assert len(customers) == len(components)
    assert partition == components
