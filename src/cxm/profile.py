"""Customer360: everything known about one customer, in one object.

This is the minimal profile of the core: the customer, its identities, merged traits and its
interactions and feedback in time order. Experience summaries, value and churn risk join it as
the metrics arrive.
"""

from __future__ import annotations

import html
from typing import Any

import attrs
import pandas as pd

from cxm.model import Customer

__all__ = ["Customer360"]

_HTML_TIMELINE_ROWS = 20


@attrs.frozen(kw_only=True)
class Customer360:
    """One customer's profile.

    Attributes:
        customer: The resolved :class:`~cxm.model.Customer` (id, identities, traits).
        interactions: The customer's interactions in time order, with the columns of
            ``Workspace.interactions``.
        feedback: The customer's feedback, with the columns of ``Workspace.feedback``.
    """

    customer: Customer
    interactions: pd.DataFrame = attrs.field(eq=False)
    feedback: pd.DataFrame = attrs.field(eq=False)

    @property
    def customer_id(self) -> str:
        """The customer's id."""
        return self.customer.customer_id

    @property
    def identities(self) -> tuple[Any, ...]:
        """The customer's identities."""
        return self.customer.identities

    @property
    def traits(self) -> dict[str, Any]:
        """The customer's merged traits."""
        return self.customer.traits

    def to_dict(self) -> dict[str, Any]:
        """Return the profile as JSON-ready data for applications.

        Returns:
            ``customer_id``, ``identities`` (list of ``{kind, value}``), ``traits``,
            ``created_at`` (ISO 8601), ``interactions`` and ``feedback`` (lists of records with
            ISO 8601 times).
        """

        def iso(moment: Any) -> str | None:
            return None if pd.isna(moment) else str(moment.isoformat())

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            out = frame.copy()
            for column in out.columns:
                if isinstance(out[column].dtype, pd.DatetimeTZDtype):
                    out[column] = out[column].map(iso)
            out = out.astype(object).where(out.notna(), None)
            return list(out.to_dict(orient="records"))  # type: ignore[arg-type]

        return {
            "customer_id": self.customer_id,
            "identities": [{"kind": i.kind, "value": i.value} for i in self.identities],
            "traits": dict(self.traits),
            "created_at": self.customer.created_at.isoformat(),
            "interactions": records(self.interactions),
            "feedback": records(self.feedback),
        }

    def __repr__(self) -> str:
        return (
            f"Customer360(customer_id={self.customer_id!r}, identities={len(self.identities)}, "
            f"interactions={len(self.interactions)}, feedback={len(self.feedback)})"
        )

    def _repr_html_(self) -> str:
        esc = html.escape
        identity_items = "".join(
            f"<li><code>{esc(i.kind)}</code> {esc(i.value)}</li>" for i in self.identities
        )
        trait_rows = "".join(
            f"<tr><th>{esc(str(k))}</th><td>{esc(str(v))}</td></tr>" for k, v in self.traits.items()
        )
        timeline = self.interactions[
            ["occurred_at", "channel", "touchpoint", "kind", "direction", "text"]
        ].tail(_HTML_TIMELINE_ROWS)
        return (
            f"<div class='cxm-profile'><h4>Customer {esc(self.customer_id)}</h4>"
            f"<ul>{identity_items}</ul>"
            f"<table>{trait_rows}</table>"
            f"<p>{len(self.interactions)} interactions, {len(self.feedback)} feedback items; "
            f"latest {min(len(timeline), _HTML_TIMELINE_ROWS)}:</p>"
            f"{timeline.to_html(index=False, escape=True)}</div>"
        )
