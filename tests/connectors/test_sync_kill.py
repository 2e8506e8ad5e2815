"""A sync killed at random instants and run again stores exactly what an uninterrupted one does.

A worker process syncs the toy connector (slowed down so that it spends a second or two
inside the sync) and is sent SIGKILL at a random moment after it starts syncing; this repeats a
few times against the same database, then a last run finishes. The database must then hold
the same interactions, feedback, customers, quarantined items and cursors as a reference
database synced once without interruption. The random seed is in the failure message.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import cxm
from tests.connectors.toy import ToyConnector

ROOT = Path(__file__).resolve().parents[2]
OPTIONS: dict[str, Any] = {
    "orders": 4000,
    "contacts": 60,
    "customers": 40,
    "bad_every": 11,
    "checkpoint_every": 5,
}
BATCH = 16
KILLS = 5
WORKER = """
import sys
import cxm
from tests.connectors.toy import ToyConnector

options = dict(OPTIONS, delay=float(sys.argv[2]))
ws = cxm.Workspace.open(sys.argv[1])
print("syncing", flush=True)
report = ws.sync(ToyConnector(**options), batch_size=BATCH)
ws.close()
print("finished" if report.ok else f"failed: {report}", flush=True)
""".replace("OPTIONS", repr(OPTIONS)).replace("BATCH", str(BATCH))


def _start_worker(url: str, delay: float) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), CXM_LOAD_PLUGINS="")
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, url, str(delay)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _snapshot(ws: cxm.Workspace) -> dict[str, Any]:
    interactions = ws.interactions().drop(columns=["interaction_id", "customer_id"])
    feedback = ws.feedback().drop(columns=["interaction_id", "customer_id"])
    customers = ws.customers()
    # Customer ids are salted per database, so customers are compared by who they are.
    people = sorted(zip(customers["email"].map(str), customers["tier"].map(str), strict=True))
    quarantined = ws.quarantined()[["source", "stream", "reason", "raw"]]
    state = ws.sync_state()[["connector", "stream", "cursor"]]
    return {
        "interactions": interactions.sort_values("source_id").reset_index(drop=True),
        "feedback": feedback.sort_values(["source", "occurred_at"]).reset_index(drop=True),
        "people": people,
        "quarantined": quarantined.sort_values(["stream", "raw"]).reset_index(drop=True),
        "state": state.reset_index(drop=True),
    }


def test_killed_syncs_resume_to_exactly_the_uninterrupted_result(
    db_url: str, tmp_path: Path
) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    chooser = random.Random(seed)
    reference = cxm.Workspace.open(tmp_path / "reference.db")
    try:
        started = time.perf_counter()
        reference.sync(ToyConnector(**OPTIONS), batch_size=BATCH)
        duration = time.perf_counter() - started
        expected = _snapshot(reference)
    finally:
        reference.close()

    kills = attempts = 0
    while kills < KILLS and attempts < 3 * KILLS:
        attempts += 1
        worker = _start_worker(db_url, delay=0.0)
        assert worker.stdout is not None
        line = worker.stdout.readline()
        assert line.strip() == "syncing", (line, worker.stderr.read() if worker.stderr else "")
        # Any instant of the sync: reading, writing a batch, committing, between batches.
        time.sleep(chooser.uniform(0.0, duration))
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            kills += 1
        worker.communicate(timeout=60)
    final = _start_worker(db_url, delay=0.0)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, (out, err)
    assert out.splitlines()[-1] == "finished", (out, err)
    assert kills >= 1, f"seed {seed}: no worker was killed"

    ws = cxm.Workspace.open(db_url)
    try:
        got = _snapshot(ws)
    finally:
        ws.close()
    message = f"seed {seed}, {kills} kills"
    for name in ("interactions", "feedback", "quarantined", "state"):
        pd.testing.assert_frame_equal(got[name], expected[name], obj=f"{name} ({message})")
    assert got["people"] == expected["people"], message
    # The toy rejects every bad_every-th order, and contacts whose parse raises (tier 2, id % 4
    # == 0); both rules are counted here from the options, not typed in.
    orders, every = OPTIONS["orders"], OPTIONS["bad_every"]
    bad_orders = sum(1 for i in range(orders) if i % every == every - 1)
    bad_contacts = sum(1 for i in range(OPTIONS["contacts"]) if i % 3 == 2 and i % 4 == 0)
    assert len(got["interactions"]) == orders - bad_orders
    assert len(got["quarantined"]) == bad_orders + bad_contacts


@pytest.mark.parametrize("signal_number", [signal.SIGKILL])
def test_a_killed_sync_leaves_no_lock_behind(db_url: str, signal_number: int) -> None:
    worker = _start_worker(db_url, delay=0.001)
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "syncing"
    time.sleep(0.3)
    worker.send_signal(signal_number)
    worker.communicate(timeout=60)
    ws = cxm.Workspace.open(db_url)
    try:
        report = ws.sync(ToyConnector(**OPTIONS), batch_size=BATCH)
        assert report.ok
        assert report.stream("orders").cursor_after == {"next": 4000}
    finally:
        ws.close()
