"""Quickstart: gather a customer's interactions into one profile, then read them as DataFrames.

Run it from anywhere: it writes ``cxm.db`` (SQLite) in the working directory, and running it
twice shows that re-ingesting the same records changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import cxm


def main() -> None:
    ws = cxm.Workspace.open()  # ./cxm.db, created and migrated on first use
    report = ws.ingest(
        [
            cxm.Interaction(
                source="shop",
                source_id="o-1",
                occurred_at=datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
                channel="store",
                touchpoint="Checkout",
                kind="purchase",
                value=Decimal("42.50"),
                currency="GBP",
                identities=[cxm.Identity("email", "Ann@Example.com")],
            ),
            cxm.Interaction(
                source="survey",
                source_id="r-9",
                occurred_at=datetime(2024, 5, 3, 8, 30, tzinfo=UTC),
                channel="survey",
                kind="survey_response",
                identities=[cxm.Identity("phone", "+44 20 7946 0958")],
                feedback=[cxm.Feedback(metric="nps", score=9, comment="Great")],
            ),
            cxm.CustomerRecord(
                source="crm",
                source_id="c-7",
                traits={"plan": "pro"},
                identities=[
                    cxm.Identity("email", "ann@example.com"),
                    cxm.Identity("phone", "+44 20 7946 0958"),
                ],
            ),
        ]
    )
    print(report)
    print("\nCustomers:")
    print(ws.customers().to_string(index=False))
    print("\nInteractions:")
    print(ws.interactions()[["occurred_at", "channel", "touchpoint", "kind", "value"]])
    print("\nFeedback:")
    print(ws.feedback()[["occurred_at", "metric", "score", "comment"]])
    profile = ws.profile("ann@example.com")
    print(f"\n{profile!r}")
    print("Traits:", profile.traits)
    ws.close()


if __name__ == "__main__":
    main()
