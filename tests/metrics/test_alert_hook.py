"""The ``cxm_alert`` hook: ``Workspace.check_alerts`` hands each alert to every plugin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cxm
from cxm.connectors import hookimpl
from cxm.metrics import Alert, Monitor

MONDAY = datetime(2026, 1, 5, 12, tzinfo=UTC)


def survey_weeks(weeks: int = 10, per_week: int = 80, seed: int = 4) -> list[cxm.Interaction]:
    """NPS answers, ``per_week`` a week; the last week's are much worse."""
    rng = np.random.default_rng(seed)
    records = []
    for week in range(weeks):
        shares = [0.55, 0.30, 0.15] if week < weeks - 1 else [0.20, 0.25, 0.55]
        kinds = rng.choice(3, size=per_week, p=shares)
        for i, kind in enumerate(kinds):
            score = int((10, 7, 3)[kind])
            records.append(
                cxm.Interaction(
                    source="survey",
                    source_id=f"w{week}-{i}",
                    occurred_at=MONDAY + timedelta(weeks=week, hours=i % 48),
                    channel="survey",
                    kind="survey_response",
                    feedback=[cxm.Feedback(metric="nps", score=score)],
                )
            )
    return records


class Collector:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    @hookimpl
    def cxm_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)


class Broken:
    @hookimpl
    def cxm_alert(self, alert: Alert) -> None:
        raise RuntimeError("mail server down")


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[cxm.Workspace]:
    workspace = cxm.Workspace.open(tmp_path / "cx.db")
    workspace.ingest(survey_weeks())
    yield workspace
    workspace.close()


@pytest.fixture
def plugins() -> Iterator[tuple[Collector, Collector]]:
    first, second = Collector(), Collector()
    cxm.connectors.register(first, name="test-alert-first")
    cxm.connectors.register(Broken(), name="test-alert-broken")
    cxm.connectors.register(second, name="test-alert-second")
    try:
        yield first, second
    finally:
        for name in ("test-alert-first", "test-alert-broken", "test-alert-second"):
            cxm.connectors.unregister(name)


def test_alerts_reach_every_plugin_even_after_one_fails(
    ws: cxm.Workspace, plugins: tuple[Collector, Collector], caplog: Any
) -> None:
    first, second = plugins
    failures: list[Any] = []
    alerts = ws.check_alerts(Monitor("nps", method="change", freq="W"), failures=failures)
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.metric, alert.direction) == ("nps", "down")
    assert alert.size < -30
    assert alert.p_value is not None
    assert alert.p_value < 0.001
    # Both working plugins got it although the one between them raised.
    assert first.alerts == alerts
    assert second.alerts == alerts
    assert [(f.receiver, f.error) for f in failures] == [
        ("test-alert-broken", "RuntimeError: mail server down")
    ]
    assert "mail server down" in caplog.text


def test_no_delivery_when_asked_and_no_alert_when_nothing_changed(
    ws: cxm.Workspace, plugins: tuple[Collector, Collector]
) -> None:
    first, _ = plugins
    alerts = ws.check_alerts([Monitor("nps", method="change", freq="W")], deliver=False)
    assert len(alerts) == 1
    assert first.alerts == []
    # Up to the week before the drop nothing alerts, so nothing is delivered.
    quiet = ws.check_alerts(
        Monitor("nps", method="change", freq="W"),
        end=MONDAY + timedelta(weeks=9) - timedelta(hours=12),
    )
    assert quiet == []
    assert first.alerts == []
