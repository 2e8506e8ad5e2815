"""Reading the store as canonical pandas DataFrames.

Filters are pushed into SQL (the ``WHERE`` clause), so asking for one channel over one month
reads one channel over one month. Columns come back typed for analysis: times as
``datetime64[us, UTC]``, channel/touchpoint/stage/kind/direction/source/metric as categoricals
(channel and metric with every allowed value as a category, stage in lifecycle order), money as
``float64``, scores as ``float64``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from cxm.exceptions import ValidationError
from cxm.model import Channel, JourneyStage, Metric, check_aware_utc
from cxm.store import schema
from cxm.store.codec import us_from_datetime
from cxm.store.writer import chunked

__all__ = [
    "CUSTOMER_COLUMNS",
    "FEEDBACK_COLUMNS",
    "INTERACTION_FRAME_COLUMNS",
    "SENTIMENT_COLUMNS",
    "InteractionFilter",
    "customers_frame",
    "feedback_frame",
    "interactions_frame",
    "sentiment_frame",
]

INTERACTION_FRAME_COLUMNS = (
    "interaction_id",
    "source",
    "source_id",
    "customer_id",
    "occurred_at",
    "channel",
    "touchpoint",
    "stage",
    "kind",
    "direction",
    "text",
    "value",
    "currency",
    "updated_at",
)
FEEDBACK_COLUMNS = (
    "interaction_id",
    "ordinal",
    "customer_id",
    "occurred_at",
    "source",
    "channel",
    "touchpoint",
    "stage",
    "kind",
    "metric",
    "score",
    "scale_min",
    "scale_max",
    "question",
    "comment",
)
SENTIMENT_COLUMNS = (
    "interaction_id",
    "customer_id",
    "occurred_at",
    "source",
    "channel",
    "touchpoint",
    "stage",
    "kind",
    "text",
    "analyzer",
    "version",
    "compound",
    "pos",
    "neu",
    "neg",
    "label",
    "scored_at",
)
CUSTOMER_COLUMNS = (
    "customer_id",
    "created_at",
    "updated_at",
    "email",
    "phone",
    "n_identities",
    "n_interactions",
    "first_seen",
    "last_seen",
)

_CHANNELS = pd.CategoricalDtype([c.value for c in Channel])
_METRICS = pd.CategoricalDtype([m.value for m in Metric])
_DIRECTIONS = pd.CategoricalDtype(["inbound", "outbound"])
_LIFECYCLE = [s.value for s in JourneyStage]


def _as_list(value: str | Iterable[str] | None, field: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    given: Any = value  # untyped callers pass anything; refuse it by name, not by TypeError
    if not isinstance(given, Iterable) or isinstance(given, (bytes, Mapping)):
        raise ValidationError(field, given, "must be a string or a list of strings")
    out = list(given)
    for item in out:
        if not isinstance(item, str):
            raise ValidationError(field, item, "must be a string")
    return out


class InteractionFilter:
    """Filters shared by the interaction and feedback frames, compiled to a SQL ``WHERE``.

    Args:
        start: Keep interactions at or after this aware datetime (or ISO string).
        end: Keep interactions strictly before this aware datetime (or ISO string).
        channel: One channel or several.
        touchpoint: One touchpoint name or several.
        source: One source or several.
        customer: One customer id or several.
        kind: One interaction kind or several.
    """

    def __init__(
        self,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        channel: str | Iterable[str] | None = None,
        touchpoint: str | Iterable[str] | None = None,
        source: str | Iterable[str] | None = None,
        customer: str | Iterable[str] | None = None,
        kind: str | Iterable[str] | None = None,
    ) -> None:
        self.start_us = None if start is None else us_from_datetime(check_aware_utc("start", start))
        self.end_us = None if end is None else us_from_datetime(check_aware_utc("end", end))
        channels = _as_list(channel, "channel")
        if channels is not None:
            allowed = {c.value for c in Channel}
            for value in channels:
                if value not in allowed:
                    raise ValidationError("channel", value, f"must be one of: {sorted(allowed)}")
        self.channels = channels
        self.touchpoints = _as_list(touchpoint, "touchpoint")
        self.sources = _as_list(source, "source")
        self.customers = _as_list(customer, "customer")
        self.kinds = _as_list(kind, "kind")

    def clauses(self) -> list[ColumnElement[bool]]:
        """Return the SQL conditions on ``interactions``."""
        table = schema.interactions
        out: list[ColumnElement[bool]] = []
        if self.start_us is not None:
            out.append(table.c.occurred_us >= self.start_us)
        if self.end_us is not None:
            out.append(table.c.occurred_us < self.end_us)
        for column, values in (
            (table.c.channel, self.channels),
            (table.c.touchpoint, self.touchpoints),
            (table.c.source, self.sources),
            (table.c.kind, self.kinds),
        ):
            if values is not None:
                out.append(column.in_(values))
        if self.customers is not None:
            out.append(
                or_(*(table.c.customer_id.in_(chunk) for chunk in chunked(self.customers)))
                if self.customers
                else table.c.customer_id.in_([])
            )
        return out


def _times(values: Any) -> pd.Series:
    series = pd.Series(values, dtype="Int64")
    return pd.to_datetime(series, unit="us", utc=True).astype("datetime64[us, UTC]")


def _stage_dtype(values: Sequence[Any]) -> pd.CategoricalDtype:
    present = {v for v in values if v is not None}
    extra = sorted(present - set(_LIFECYCLE))
    return pd.CategoricalDtype(_LIFECYCLE + extra, ordered=not extra)


def _read(connection: Connection, query: Select[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    result = connection.execute(query)
    return list(result.keys()), [tuple(row) for row in result]


def _frame(columns: list[str], rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return dict(zip(columns, transposed, strict=True))


def _categorical(values: Sequence[Any], dtype: Any = "category") -> pd.Series:
    return pd.Series(values, dtype=object).astype(dtype)


def _text(values: Sequence[Any]) -> pd.Series:
    return pd.Series(values, dtype="str") if values else pd.Series([], dtype="str")


def interactions_frame(
    connection: Connection,
    where: InteractionFilter,
    *,
    attributes: bool | Sequence[str] = False,
) -> pd.DataFrame:
    """Return the interactions matching ``where`` in time order (see ``Workspace.interactions``)."""
    table = schema.interactions
    tp = schema.touchpoints
    columns: list[Any] = [
        table.c.id,
        table.c.source,
        table.c.source_id,
        table.c.customer_id,
        table.c.occurred_us,
        table.c.channel,
        table.c.touchpoint,
        tp.c.stage,
        table.c.kind,
        table.c.direction,
        table.c.text,
        table.c.value_micros,
        table.c.currency,
        table.c.updated_us,
    ]
    if attributes:
        columns.append(table.c.attributes)
    query = (
        select(*columns)
        .select_from(table.outerjoin(tp, tp.c.name == table.c.touchpoint))
        .where(and_(True, *where.clauses()))
        .order_by(table.c.occurred_us, table.c.id)
    )
    names, rows = _read(connection, query)
    raw = _frame(names, rows)
    frame = pd.DataFrame(
        {
            "interaction_id": pd.Series(raw["id"], dtype="int64"),
            "source": _categorical(raw["source"]),
            "source_id": _text(raw["source_id"]),
            "customer_id": pd.Series(raw["customer_id"], dtype=object),
            "occurred_at": _times(raw["occurred_us"]),
            "channel": _categorical(raw["channel"], _CHANNELS),
            "touchpoint": _categorical(raw["touchpoint"]),
            "stage": _categorical(raw["stage"], _stage_dtype(raw["stage"])),
            "kind": _categorical(raw["kind"]),
            "direction": _categorical(raw["direction"], _DIRECTIONS),
            "text": pd.Series(raw["text"], dtype=object),
            "value": pd.Series(
                [np.nan if v is None else v / 1e6 for v in raw["value_micros"]], dtype="float64"
            ),
            "currency": _categorical(raw["currency"]),
            "updated_at": _times(raw["updated_us"]),
        }
    )
    if attributes:
        parsed = [json.loads(text) for text in raw["attributes"]]
        if attributes is True:
            frame["attributes"] = pd.Series(parsed, dtype=object)
        else:
            for name in attributes:
                frame[f"attr_{name}"] = pd.Series([doc.get(name) for doc in parsed], dtype=object)
    return frame


def feedback_frame(
    connection: Connection, where: InteractionFilter, *, metric: str | Iterable[str] | None = None
) -> pd.DataFrame:
    """Return one row per feedback item matching ``where`` (see ``Workspace.feedback``)."""
    table = schema.interactions
    fb = schema.feedback
    tp = schema.touchpoints
    metrics = _as_list(metric, "metric")
    clauses = where.clauses()
    if metrics is not None:
        allowed = {m.value for m in Metric}
        for value in metrics:
            if value not in allowed:
                raise ValidationError("metric", value, f"must be one of: {sorted(allowed)}")
        clauses.append(fb.c.metric.in_(metrics))
    query = (
        select(
            fb.c.interaction_id,
            fb.c.ordinal,
            table.c.customer_id,
            table.c.occurred_us,
            table.c.source,
            table.c.channel,
            table.c.touchpoint,
            tp.c.stage,
            table.c.kind,
            fb.c.metric,
            fb.c.score,
            fb.c.scale_min,
            fb.c.scale_max,
            fb.c.question,
            fb.c.comment,
        )
        .select_from(
            fb.join(table, table.c.id == fb.c.interaction_id).outerjoin(
                tp, tp.c.name == table.c.touchpoint
            )
        )
        .where(and_(True, *clauses))
        .order_by(table.c.occurred_us, fb.c.interaction_id, fb.c.ordinal)
    )
    names, rows = _read(connection, query)
    raw = _frame(names, rows)
    return pd.DataFrame(
        {
            "interaction_id": pd.Series(raw["interaction_id"], dtype="int64"),
            "ordinal": pd.Series(raw["ordinal"], dtype="int64"),
            "customer_id": pd.Series(raw["customer_id"], dtype=object),
            "occurred_at": _times(raw["occurred_us"]),
            "source": _categorical(raw["source"]),
            "channel": _categorical(raw["channel"], _CHANNELS),
            "touchpoint": _categorical(raw["touchpoint"]),
            "stage": _categorical(raw["stage"], _stage_dtype(raw["stage"])),
            "kind": _categorical(raw["kind"]),
            "metric": _categorical(raw["metric"], _METRICS),
            "score": pd.Series(raw["score"], dtype="float64"),
            "scale_min": pd.Series(raw["scale_min"], dtype="float64"),
            "scale_max": pd.Series(raw["scale_max"], dtype="float64"),
            "question": pd.Series(raw["question"], dtype=object),
            "comment": pd.Series(raw["comment"], dtype=object),
        }
    )


def sentiment_frame(
    connection: Connection,
    where: InteractionFilter,
    *,
    analyzer: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """Return one row per stored sentiment score matching ``where`` (``Workspace.sentiment``)."""
    table = schema.interactions
    sent = schema.sentiment
    tp = schema.touchpoints
    clauses = where.clauses()
    analyzers = _as_list(analyzer, "analyzer")
    if analyzers is not None:
        clauses.append(sent.c.analyzer.in_(analyzers))
    query = (
        select(
            sent.c.interaction_id,
            table.c.customer_id,
            table.c.occurred_us,
            table.c.source,
            table.c.channel,
            table.c.touchpoint,
            tp.c.stage,
            table.c.kind,
            table.c.text,
            sent.c.analyzer,
            sent.c.version,
            sent.c.compound,
            sent.c.pos,
            sent.c.neu,
            sent.c.neg,
            sent.c.label,
            sent.c.scored_us,
        )
        .select_from(
            sent.join(table, table.c.id == sent.c.interaction_id).outerjoin(
                tp, tp.c.name == table.c.touchpoint
            )
        )
        .where(and_(True, *clauses))
        .order_by(table.c.occurred_us, sent.c.interaction_id, sent.c.analyzer)
    )
    names, rows = _read(connection, query)
    raw = _frame(names, rows)
    labels = pd.CategoricalDtype(["negative", "neutral", "positive"], ordered=True)
    return pd.DataFrame(
        {
            "interaction_id": pd.Series(raw["interaction_id"], dtype="int64"),
            "customer_id": pd.Series(raw["customer_id"], dtype=object),
            "occurred_at": _times(raw["occurred_us"]),
            "source": _categorical(raw["source"]),
            "channel": _categorical(raw["channel"], _CHANNELS),
            "touchpoint": _categorical(raw["touchpoint"]),
            "stage": _categorical(raw["stage"], _stage_dtype(raw["stage"])),
            "kind": _categorical(raw["kind"]),
            "text": pd.Series(raw["text"], dtype=object),
            "analyzer": _categorical(raw["analyzer"]),
            "version": _categorical(raw["version"]),
            "compound": pd.Series(raw["compound"], dtype="float64"),
            "pos": pd.Series(raw["pos"], dtype="float64"),
            "neu": pd.Series(raw["neu"], dtype="float64"),
            "neg": pd.Series(raw["neg"], dtype="float64"),
            "label": _categorical(raw["label"], labels),
            "scored_at": _times(raw["scored_us"]),
        }
    )


def customers_frame(connection: Connection, *, traits: bool = True) -> pd.DataFrame:
    """Return one row per customer (see ``Workspace.customers``)."""
    customers = schema.customers
    ids = schema.identities
    table = schema.interactions
    rows = connection.execute(
        select(
            customers.c.customer_id,
            customers.c.created_us,
            customers.c.updated_us,
            customers.c.traits,
        ).order_by(customers.c.customer_id)
    ).all()
    first_identity: dict[tuple[str, str], str] = {}
    n_identities: dict[str, int] = {}
    for kind, value, cid in connection.execute(
        select(ids.c.kind, ids.c.value, ids.c.customer_id).order_by(
            ids.c.customer_id, ids.c.kind, ids.c.first_seen_us, ids.c.value
        )
    ):
        n_identities[cid] = n_identities.get(cid, 0) + 1
        first_identity.setdefault((cid, kind), value)
    activity = {
        cid: (n, first, last)
        for cid, n, first, last in connection.execute(
            select(
                table.c.customer_id,
                func.count(),
                func.min(table.c.occurred_us),
                func.max(table.c.occurred_us),
            )
            .where(table.c.customer_id.is_not(None))
            .group_by(table.c.customer_id)
        )
    }
    cids = [row[0] for row in rows]
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(cids, dtype=object),
            "created_at": _times([row[1] for row in rows]),
            "updated_at": _times([row[2] for row in rows]),
            "email": pd.Series([first_identity.get((c, "email")) for c in cids], dtype=object),
            "phone": pd.Series([first_identity.get((c, "phone")) for c in cids], dtype=object),
            "n_identities": pd.Series([n_identities.get(c, 0) for c in cids], dtype="int64"),
            "n_interactions": pd.Series(
                [activity.get(c, (0, None, None))[0] for c in cids], dtype="int64"
            ),
            "first_seen": _times([activity.get(c, (0, None, None))[1] for c in cids]),
            "last_seen": _times([activity.get(c, (0, None, None))[2] for c in cids]),
        }
    )
    if traits:
        documents = [json.loads(row[3]) for row in rows]
        names = sorted({name for doc in documents for name in doc})
        for name in names:
            column = name if name not in CUSTOMER_COLUMNS else f"trait_{name}"
            frame[column] = pd.Series([doc.get(name) for doc in documents], dtype=object)
    return frame
