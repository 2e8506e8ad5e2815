"""Explicit mappings between domain records and table rows, both ways.

Every conversion is a named function: records become row tuples in :data:`INTERACTION_COLUMNS`
order (plus a content hash that tells an unchanged re-ingest from a change), and rows become the
JSON-ready dictionaries that ``Workspace.export`` returns and :func:`cxm.model.record_from_dict`
reads back. Nothing here builds a model with ``Model(**row)``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from cxm.model import MONEY_DECIMALS, CustomerRecord, Feedback, Identity, Interaction

__all__ = [
    "FEEDBACK_COLUMNS",
    "INTERACTION_COLUMNS",
    "RECORD_COLUMNS",
    "customer_record_row",
    "datetime_from_us",
    "dumps",
    "feedback_rows",
    "interaction_dict",
    "interaction_row",
    "iso_from_us",
    "quarantine_fingerprint",
    "record_dict",
    "us_from_datetime",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_encode = json.encoder.encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses
_ONE_US = timedelta(microseconds=1)
_MONEY_SCALE = Decimal(10) ** MONEY_DECIMALS

#: Columns of ``interactions`` that :func:`interaction_row` fills, in order.
INTERACTION_COLUMNS = (
    "source",
    "source_id",
    "occurred_us",
    "channel",
    "touchpoint",
    "kind",
    "direction",
    "text",
    "value_micros",
    "currency",
    "identities",
    "attributes",
    "updated_us",
    "content_hash",
)
#: Columns of ``feedback`` that :func:`feedback_rows` fills, in order (``interaction_id`` is
#: known only once the interaction is stored).
FEEDBACK_COLUMNS = ("ordinal", "metric", "score", "scale_min", "scale_max", "question", "comment")
#: Columns of ``customer_records`` that :func:`customer_record_row` fills, in order.
RECORD_COLUMNS = ("source", "source_id", "identities", "traits", "updated_us", "content_hash")


def us_from_datetime(moment: datetime) -> int:
    """Return microseconds since the Unix epoch for an aware datetime."""
    return (moment - EPOCH) // _ONE_US


def datetime_from_us(micros: int) -> datetime:
    """Return the UTC datetime for microseconds since the Unix epoch."""
    return EPOCH + timedelta(microseconds=micros)


def iso_from_us(micros: int | None) -> str | None:
    """Return an ISO 8601 UTC string for microseconds since the epoch, or ``None``."""
    return None if micros is None else datetime_from_us(micros).isoformat()


def dumps(value: Any) -> str:
    """Serialise a JSON document canonically (sorted keys, no spaces, UTF-8) for storage.

    orjson writes the same text as ``json.dumps(sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` for the documents the model admits, several times faster.
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def quarantine_fingerprint(source: str, stream: str, reason: str, raw: str) -> str:
    """Return the key that makes a quarantined item land once however often it is read."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (source, stream, reason, raw):
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()


def _identities_json(identities: Sequence[Identity]) -> str:
    """Serialise identities as ``[[kind, value], ...]`` (what :func:`dumps` would write, faster)."""
    if not identities:
        return "[]"
    return "[" + ",".join(f"[{_encode(i.kind)},{_encode(i.value)}]" for i in identities) + "]"


def feedback_rows(feedback: Sequence[Feedback]) -> tuple[tuple[Any, ...], ...]:
    """Return ``(ordinal, metric, score, scale_min, scale_max, question, comment)`` per item."""
    return tuple(
        (
            ordinal,
            str(item.metric),
            float(item.score),
            float(item.scale[0]),
            float(item.scale[1]),
            item.question,
            item.comment,
        )
        for ordinal, item in enumerate(feedback)
    )


def interaction_row(
    interaction: Interaction,
) -> tuple[tuple[Any, ...], tuple[tuple[Any, ...], ...]]:
    """Map an interaction to its ``interactions`` row and its ``feedback`` rows.

    Returns:
        ``(row, feedback)``: ``row`` holds :data:`INTERACTION_COLUMNS` in order, its last item
        the content hash over everything else (feedback included); ``feedback`` holds the rows
        of :func:`feedback_rows`.
    """
    value = interaction.value
    attributes = interaction.attributes
    updated_at = interaction.updated_at
    row = (
        interaction.source,
        interaction.source_id,
        (interaction.occurred_at - EPOCH) // _ONE_US,
        interaction.channel.value,
        interaction.touchpoint,
        interaction.kind,
        interaction.direction.value,
        interaction.text,
        None if value is None else int(value * _MONEY_SCALE),
        interaction.currency,
        _identities_json(interaction.identities),
        dumps(attributes) if attributes else "{}",
        None if updated_at is None else (updated_at - EPOCH) // _ONE_US,
    )
    feedback = feedback_rows(interaction.feedback) if interaction.feedback else ()
    digest = hashlib.blake2b(repr((row, feedback)).encode(), digest_size=16).hexdigest()
    return (*row, digest), feedback


def customer_record_row(record: CustomerRecord) -> tuple[Any, ...]:
    """Map a customer record to its ``customer_records`` row (:data:`RECORD_COLUMNS` order)."""
    updated_at = record.updated_at
    row = (
        record.source,
        record.source_id,
        _identities_json(record.identities),
        dumps(record.traits) if record.traits else "{}",
        None if updated_at is None else us_from_datetime(updated_at),
    )
    digest = hashlib.blake2b(repr(row).encode(), digest_size=16).hexdigest()
    return (*row, digest)


def _identity_dicts(identities_json: str) -> list[dict[str, str]]:
    return [{"kind": kind, "value": value} for kind, value in json.loads(identities_json)]


def interaction_dict(
    row: Mapping[Any, Any], feedback: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Map a stored interaction (and its feedback rows) to a JSON-ready dictionary.

    The result is what :func:`cxm.model.record_from_dict` reads back into an
    :class:`~cxm.model.Interaction`.
    """
    micros = row["value_micros"]
    return {
        "record_type": "interaction",
        "source": row["source"],
        "source_id": row["source_id"],
        "customer_id": row["customer_id"],
        "occurred_at": iso_from_us(row["occurred_us"]),
        "channel": row["channel"],
        "kind": row["kind"],
        "touchpoint": row["touchpoint"],
        "direction": row["direction"],
        "text": row["text"],
        "value": None if micros is None else str(Decimal(micros) / _MONEY_SCALE),
        "currency": row["currency"],
        "identities": _identity_dicts(row["identities"]),
        "attributes": json.loads(row["attributes"]),
        "feedback": [
            {
                "metric": item["metric"],
                "score": _plain_number(item["score"]),
                "scale": [_plain_number(item["scale_min"]), _plain_number(item["scale_max"])],
                "question": item["question"],
                "comment": item["comment"],
            }
            for item in sorted(feedback, key=lambda item: int(item["ordinal"]))
        ],
        "updated_at": iso_from_us(row["updated_us"]),
    }


def record_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    """Map a stored customer record to a JSON-ready dictionary."""
    return {
        "record_type": "customer_record",
        "source": row["source"],
        "source_id": row["source_id"],
        "identities": _identity_dicts(row["identities"]),
        "traits": json.loads(row["traits"]),
        "updated_at": iso_from_us(row["updated_us"]),
    }


def _plain_number(value: float) -> float | int:
    """Return ints as ints so that exported scores read back exactly as they were given."""
    return int(value) if float(value).is_integer() else float(value)
