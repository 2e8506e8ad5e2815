"""A deterministic connector for testing the sync engine: orders and contacts, made up.

Record ``i`` of a stream is always the same, so a sync interrupted anywhere and run again can
be compared with an uninterrupted one. Options inject quarantined items, failures and delays.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

import cxm
from cxm.connectors import Checkpoint, Connector, Rejected, Secret, Stream, secret

BASE = datetime(2026, 1, 1, tzinfo=UTC)


@attrs.frozen(kw_only=True)
class ToyConfig:
    """Settings of the toy connector."""

    orders: int = attrs.field(default=100)
    contacts: int = attrs.field(default=20)
    customers: int = attrs.field(default=10)
    checkpoint_every: int = attrs.field(default=7)
    bad_every: int = attrs.field(default=0)
    fail_at: int | None = attrs.field(default=None)
    delay: float = attrs.field(default=0.0)
    version: int = attrs.field(default=1)
    token: Secret = attrs.field(default="toy-token-s3cr3t", converter=secret)
    instance: str = attrs.field(default="default")

    @orders.validator
    def _orders(self, attribute: Any, value: int) -> None:
        if value < 0:
            raise cxm.ValidationError("orders", value, "must not be negative")


class ToyConnector(Connector):
    """Made-up orders and contacts for engine tests."""

    name = "toy"
    Config = ToyConfig

    @property
    def state_key(self) -> str:
        return f"toy:{self.config.instance}"

    def check(self) -> None:
        if self.config.token.reveal() == "wrong":
            raise cxm.exceptions.AuthError("the token was refused", connector=self.name)

    def streams(self) -> list[Stream]:
        return [
            Stream(name="orders", read=self.read_orders, description="Orders, one per number"),
            Stream(name="contacts", read=self.read_contacts, parse=self.parse_contact),
        ]

    def order(self, i: int) -> cxm.Interaction:
        config = self.config
        return cxm.Interaction(
            source="toy",
            source_id=f"o{i}",
            occurred_at=BASE + timedelta(minutes=i),
            channel="store",
            kind="order",
            value=f"{i % 50}.{config.version:02d}",
            currency="EUR",
            identities=[cxm.Identity("email", f"c{i % config.customers}@example.com")],
            feedback=[cxm.Feedback(metric="nps", score=i % 11)] if i % 3 == 0 else [],
        )

    def read_orders(self, cursor: Any) -> Iterator[Any]:
        config = self.config
        start = 0 if cursor is None else int(cursor["next"])
        for i in range(start, config.orders):
            if config.delay:
                time.sleep(config.delay)
            if config.fail_at is not None and i == config.fail_at:
                raise RuntimeError(f"source broke at order {i} (token {config.token.reveal()})")
            if config.bad_every and i % config.bad_every == config.bad_every - 1:
                yield Rejected(reason=f"order {i}: amount='n/a' is not a number", raw={"n": i})
            else:
                yield self.order(i)
            if (i + 1) % config.checkpoint_every == 0:
                yield Checkpoint({"next": i + 1})
        yield Checkpoint({"next": config.orders})

    def read_contacts(self, cursor: Any) -> Iterator[dict[str, Any]]:
        start = 0 if cursor is None else int(cursor)
        for i in range(start, self.config.contacts):
            yield {"id": i, "email": f"c{i % self.config.customers}@example.com", "tier": i % 3}
        yield Checkpoint(self.config.contacts)  # type: ignore[misc]

    def parse_contact(self, raw: dict[str, Any]) -> cxm.CustomerRecord:
        if raw["tier"] == 2 and raw["id"] % 4 == 0:
            raise KeyError("tier")
        return cxm.CustomerRecord(
            source="toy-crm",
            source_id=str(raw["id"]),
            identities=[cxm.Identity("email", raw["email"])],
            traits={"tier": raw["tier"]},
        )
