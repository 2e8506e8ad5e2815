"""Small helpers shared by the tests (importable as ``tests.support``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cxm

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """Return a time ``minutes`` after 2024-05-01 09:00 UTC."""
    return T0 + timedelta(minutes=minutes)


def email(address: str) -> cxm.Identity:
    """Return an e-mail identity."""
    return cxm.Identity("email", address)
