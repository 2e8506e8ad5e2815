"""The sync engine: counts, cursors, quarantine, isolation, refresh, secrets, locks."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import cxm
from cxm.connectors import Checkpoint, Stream
from cxm.exceptions import ConnectorError, SyncInProgressError, ValidationError
from cxm.store.locks import sync_lock
from tests.connectors.toy import ToyConnector

TOKEN = "toy-token-s3cr3t"


def test_first_sync_stores_every_record_and_quarantines_the_bad(
    workspace: cxm.Workspace,
) -> None:
    report = workspace.sync(ToyConnector(orders=50, contacts=12, bad_every=10), batch_size=8)

    orders = report.stream("orders")
    assert (orders.new, orders.quarantined, orders.error) == (45, 5, None)
    assert orders.cursor_before is None
    assert orders.cursor_after == {"next": 50}
    contacts = report.stream("contacts")
    # ids 8 (tier 2, divisible by 4) fails in parse: KeyError -> quarantined with the raw row.
    assert (contacts.new, contacts.quarantined) == (11, 1)
    assert report.ok
    assert report.new == 56
    assert report.quarantined == 6
    assert len(workspace.interactions()) == 45
    quarantined = workspace.quarantined()
    assert sorted(quarantined["stream"]) == ["contacts"] + ["orders"] * 5
    contact_row = quarantined[quarantined["stream"] == "contacts"].iloc[0]
    assert json.loads(contact_row["raw"]) == {"email": "c8@example.com", "id": 8, "tier": 2}
    assert contact_row["reason"] == "KeyError: 'tier'"
    assert set(quarantined["source"]) == {"toy"}


def test_second_sync_reads_from_the_cursor_and_adds_nothing(workspace: cxm.Workspace) -> None:
    workspace.sync(ToyConnector(orders=30, contacts=5))
    again = workspace.sync(ToyConnector(orders=30, contacts=5))
    assert again.new == again.updated == again.quarantined == 0
    # Only the records after the last checkpoint could be re-read; here there are none.
    assert again.unchanged == 0
    assert again.stream("orders").cursor_before == {"next": 30}
    more = workspace.sync(ToyConnector(orders=40, contacts=5))
    assert more.stream("orders").new == 10
    assert len(workspace.interactions()) == 40


def test_full_refresh_rereads_without_duplicating(workspace: cxm.Workspace) -> None:
    workspace.sync(ToyConnector(orders=25, bad_every=5))
    before = workspace.quarantined()
    refreshed = workspace.sync(ToyConnector(orders=25, bad_every=5, version=2), full_refresh=True)
    orders = refreshed.stream("orders")
    assert orders.cursor_before == {"next": 25}
    assert (orders.new, orders.updated, orders.quarantined) == (0, 20, 5)
    assert len(workspace.interactions()) == 20
    # The quarantined items were read again, and found their rows: no second copy.
    assert len(workspace.quarantined()) == len(before) == 6


def test_a_failing_stream_is_reported_and_the_others_finish(workspace: cxm.Workspace) -> None:
    report = workspace.sync(ToyConnector(orders=40, contacts=6, fail_at=23), batch_size=5)
    orders = report.stream("orders")
    assert not report.ok
    assert report.failed == [orders]
    assert orders.error == "RuntimeError: source broke at order 23 (token [REDACTED])"
    # Orders 0..22 were read before the failure and are stored; the cursor is the last
    # checkpoint before it (21), so a re-run reads 21 and 22 again.
    assert orders.new == 23
    assert orders.cursor_after == {"next": 21}
    assert report.stream("contacts").ok
    assert report.stream("contacts").new == 6
    resumed = workspace.sync(ToyConnector(orders=40, contacts=6))
    assert resumed.stream("orders").unchanged == 2
    assert resumed.stream("orders").new == 17
    assert len(workspace.interactions()) == 40


def test_errors_never_carry_the_secret(
    workspace: cxm.Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connector = ToyConnector(orders=10, fail_at=4)
    report = workspace.sync(connector)
    failed = report.stream("orders")
    assert TOKEN not in (failed.error or "")
    assert TOKEN not in str(failed.exception)
    assert TOKEN not in repr(failed.exception)
    assert TOKEN not in repr(connector)
    assert TOKEN not in str(report)
    assert TOKEN not in report._repr_html_()
    assert TOKEN not in caplog.text
    assert "[REDACTED]" in caplog.text
    with pytest.raises(ConnectorError) as raised:
        report.raise_for_errors()
    assert raised.value.connector == "toy"
    assert raised.value.stream == "orders"
    assert TOKEN not in str(raised.value)
    assert raised.value.__cause__ is None  # the original message held the secret


def test_raise_for_errors_is_silent_when_every_stream_finished(
    workspace: cxm.Workspace,
) -> None:
    report = workspace.sync(ToyConnector(orders=3))
    assert report.ok
    assert report.raise_for_errors() is None


def test_checkpoint_covers_only_records_yielded_before_it(workspace: cxm.Workspace) -> None:
    # With a batch of 4 and checkpoints every 7 records, batches end between checkpoints.
    report = workspace.sync(ToyConnector(orders=20, fail_at=13), batch_size=4)
    orders = report.stream("orders")
    assert orders.cursor_after == {"next": 7}
    assert workspace.sync_state("toy:default").set_index("stream")["cursor"]["orders"] == {
        "next": 7
    }


def test_stream_selection_and_unknown_stream(workspace: cxm.Workspace) -> None:
    report = workspace.sync(ToyConnector(orders=5), streams="contacts")
    assert [s.stream for s in report.streams] == ["contacts"]
    with pytest.raises(ValidationError, match="no such stream; toy has: orders, contacts"):
        workspace.sync(ToyConnector(), streams=["orders", "refunds"])


def test_sync_by_name_validates_options_before_any_io(
    workspace: cxm.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    cxm.connectors.register(_ToyPlugin, name="toy-plugin")
    try:
        report = workspace.sync("toy", orders=4, contacts=0)
        assert report.stream("orders").new == 4
        with pytest.raises(ValidationError) as raised:
            workspace.sync("toy", orders=-1)
        assert raised.value.field == "toy.orders"
        assert raised.value.value == -1
        with pytest.raises(ValidationError, match=r"toy\.order=4: unknown option; options: "):
            workspace.sync("toy", order=4)
        with pytest.raises(ValidationError, match="options go to the connector's constructor"):
            workspace.sync(ToyConnector(), orders=3)
    finally:
        cxm.connectors.unregister("toy-plugin")


class _ToyPlugin:
    @staticmethod
    @cxm.connectors.hookimpl
    def cxm_register_connectors(register: Any) -> None:
        register(ToyConnector)


def test_reset_sync_state_makes_the_next_sync_start_over(workspace: cxm.Workspace) -> None:
    connector = ToyConnector(orders=12, contacts=3)
    workspace.sync(connector)
    state = workspace.sync_state(connector)
    assert list(state["stream"]) == ["contacts", "orders"]
    assert workspace.reset_sync_state(connector, stream="orders") == 1
    again = workspace.sync(connector)
    assert again.stream("orders").cursor_before is None
    assert again.stream("orders").unchanged == 12
    assert again.stream("contacts").unchanged == 0


def test_sync_lock_refuses_a_second_sync_of_the_same_instance(db_url: str) -> None:
    ws = cxm.Workspace.open(db_url)
    try:
        connector = ToyConnector(orders=3, instance="shop")
        with sync_lock(ws.store.engine, connector.state_key):
            with pytest.raises(SyncInProgressError) as raised:
                ws.sync(connector)
            assert raised.value.state_key == "toy:shop"
            # Another instance of the same connector is not blocked.
            assert ws.sync(ToyConnector(orders=3, contacts=0, instance="web")).new == 3
        # Released on exit: the next sync runs.
        assert ws.sync(connector).stream("orders").cursor_after == {"next": 3}
    finally:
        ws.close()


def test_two_threads_syncing_one_instance_do_not_both_run(tmp_path: Any) -> None:
    ws = cxm.Workspace.open(tmp_path / "cxm.db")
    outcomes: list[Any] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        try:
            outcomes.append(ws.sync(ToyConnector(orders=200, delay=0.002), batch_size=10))
        except SyncInProgressError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        errors = [o for o in outcomes if isinstance(o, SyncInProgressError)]
        reports = [o for o in outcomes if not isinstance(o, SyncInProgressError)]
        assert len(errors) == 1
        assert len(reports) == 1
        assert reports[0].stream("orders").new == 200
        assert len(ws.interactions()) == 200
    finally:
        ws.close()


class _BadCursor(cxm.connectors.Connector):
    name = "bad-cursor"
    Config = ToyConnector.Config

    def streams(self) -> list[Stream]:
        return [Stream(name="items", read=self.read)]

    def read(self, cursor: Any) -> Iterator[Any]:
        yield ToyConnector().order(1)
        yield Checkpoint({"when": object()})


def test_a_cursor_that_is_not_json_fails_the_stream_without_saving(
    workspace: cxm.Workspace,
) -> None:
    report = workspace.sync(_BadCursor())
    items = report.stream("items")
    assert items.error is not None
    assert "is not JSON" in items.error
    assert items.new == 1  # the record read before it is kept
    assert workspace.sync_state().empty


class _Raw(cxm.connectors.Connector):
    name = "raw"
    Config = ToyConnector.Config

    def streams(self) -> list[Stream]:
        return [Stream(name="items", read=self.read)]

    def read(self, cursor: Any) -> Iterator[Any]:
        yield {
            "record_type": "interaction",
            "source": "raw",
            "source_id": "1",
            "occurred_at": "2026-01-01T00:00:00Z",
            "channel": "web",
            "kind": "visit",
        }
        yield {"record_type": "interaction", "source": "raw", "source_id": "2"}
        yield ["not", "a", "record"]


def test_mappings_are_validated_and_anything_else_quarantined(workspace: cxm.Workspace) -> None:
    report = workspace.sync(_Raw())
    items = report.stream("items")
    assert (items.new, items.quarantined) == (1, 2)
    reasons = sorted(workspace.quarantined()["reason"])
    assert "occurred_at" in reasons[0] or "occurred_at" in reasons[1]
    assert any("must yield records, not list" in r for r in reasons)


def test_report_renders_as_text_frame_and_html(workspace: cxm.Workspace) -> None:
    report = workspace.sync(ToyConnector(orders=10, contacts=2, fail_at=5))
    text = str(report)
    assert "orders: 5 new" in text
    assert "FAILED: RuntimeError" in text
    assert "1 failed" in text.splitlines()[0]
    summary = report.summary
    assert list(summary.index) == ["orders", "contacts"]
    assert summary.loc["orders", "new"] == 5
    assert summary.loc["contacts", "error"] is None
    assert str(summary["new"].dtype) == "int64"
    page = report._repr_html_()
    assert "<table class='cxm-sync-report'>" in page
    assert "color:#b00020" in page


def test_sqlite_lock_is_per_file_whatever_the_url_says(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = cxm.Workspace.open("cxm.db")
    absolute = cxm.Workspace.open(f"sqlite:///{tmp_path / 'cxm.db'}")
    try:
        with (
            sync_lock(relative.store.engine, "toy:default"),
            pytest.raises(SyncInProgressError),
        ):
            absolute.sync(ToyConnector(orders=2))
    finally:
        relative.close()
        absolute.close()


_HOLDS = """
import sys
from sqlalchemy import create_engine
from cxm.exceptions import SyncInProgressError
from cxm.store.locks import sync_lock
try:
    with sync_lock(create_engine(sys.argv[1]), sys.argv[2]):
        print("acquired")
except SyncInProgressError:
    print("refused")
"""


def _other_process_tries(url: str, key: str) -> str:
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-c", _HOLDS, url, key], capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


def test_one_sync_finishing_does_not_release_anothers_lock(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'cxm.db'}"
    ws = cxm.Workspace.open(url)
    try:
        with sync_lock(ws.store.engine, "toy:a"):
            with sync_lock(ws.store.engine, "toy:b"):
                assert _other_process_tries(url, "toy:b") == "refused"
            # toy:b is released; POSIX would drop toy:a too if its descriptor were closed.
            assert _other_process_tries(url, "toy:b") == "acquired"
            assert _other_process_tries(url, "toy:a") == "refused"
        assert _other_process_tries(url, "toy:a") == "acquired"
    finally:
        ws.close()


class _LeakyParse(cxm.connectors.Connector):
    name = "leaky-parse"
    Config = ToyConnector.Config

    def streams(self) -> list[Stream]:
        return [Stream(name="items", read=lambda cursor: iter([{"n": 1}]), parse=self.parse)]

    def parse(self, raw: Any) -> Any:
        raise ValueError(f"cannot read {raw} with key {self.config.token.reveal()}")


def test_quarantine_reasons_from_parse_are_scrubbed_of_secrets(workspace: cxm.Workspace) -> None:
    report = workspace.sync(_LeakyParse())
    assert report.quarantined == 1
    (reason,) = workspace.quarantined()["reason"]
    assert reason == "ValueError: cannot read {'n': 1} with key [REDACTED]"
