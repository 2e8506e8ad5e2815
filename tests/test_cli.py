"""The ``cxm`` command: listing, check, sync, and exit codes scripts can rely on."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cxm
from cxm.cli import EXIT_CONNECTOR, EXIT_LOCKED, EXIT_PARTIAL, EXIT_USAGE, main
from cxm.store.locks import sync_lock
from tests.connectors.toy import ToyConnector


class _Plugin:
    @staticmethod
    @cxm.connectors.hookimpl
    def cxm_register_connectors(register: Any) -> None:
        register(ToyConnector)


@pytest.fixture(autouse=True)
def toy_registered() -> Iterator[None]:
    cxm.connectors.register(_Plugin, name="toy-for-cli")
    yield
    cxm.connectors.unregister("toy-for-cli")


def run(*argv: str) -> tuple[int, str, str]:
    out = io.StringIO()
    err_before = sys.stderr
    err = io.StringIO()
    sys.stderr = err
    try:
        code = main(list(argv), out=out)
    finally:
        sys.stderr = err_before
    return code, out.getvalue(), err.getvalue()


def test_connectors_lists_name_version_origin_and_summary() -> None:
    code, out, _ = run("connectors")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "VERSION", "FROM", "SUMMARY"]
    toy = next(row for row in rows if row.startswith("toy "))
    assert "Made-up orders and contacts for engine tests." in toy
    code, out, _ = run("connectors", "--json")
    listed = {row["name"]: row for row in json.loads(out)}
    assert listed["toy"]["distribution"] is None
    assert listed["toy"]["summary"] == "Made-up orders and contacts for engine tests."


def test_sync_reads_options_from_toml_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "toy.toml"
    config.write_text('orders = 12\ncontacts = 3\ntoken = { env = "TOY_TOKEN" }\n')
    db = tmp_path / "cxm.db"
    code, _, err = run("sync", "toy", "--config", str(config), "--db", str(db))
    assert code == EXIT_USAGE
    assert "option 'token' reads $TOY_TOKEN, which is not set" in err

    monkeypatch.setenv("TOY_TOKEN", "from-the-environment")
    code, out, _ = run("sync", "toy", "--config", str(config), "--db", str(db), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True
    assert {s["stream"]: s["new"] for s in report["streams"]} == {"orders": 12, "contacts": 3}
    with cxm.Workspace.open(db) as ws:
        assert len(ws.interactions()) == 12


def test_a_failed_stream_exits_1_and_prints_the_report(tmp_path: Path) -> None:
    code, out, _ = run(
        "sync", "toy", "--set", "fail_at=4", "--set", "contacts=0", "--db", str(tmp_path / "c.db")
    )
    assert code == EXIT_PARTIAL
    assert "orders: 4 new" in out
    assert "FAILED: RuntimeError: source broke at order 4 (token [REDACTED])" in out
    assert "toy-token-s3cr3t" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("sync", "nope"), "no connector named 'nope'; registered connectors:"),
        (("check", "toy", "--set", "orders=x"), "toy.orders='x': must be int"),
        (("check", "toy", "--set", "colour=red"), "toy.colour='red': unknown option"),
        (("check", "toy", "--set", "orders"), "--set takes OPTION=VALUE"),
        (("check", "toy", "--config", "missing.toml"), "cannot read missing.toml"),
    ],
)
def test_usage_and_configuration_errors_exit_2(argv: tuple[str, ...], message: str) -> None:
    code, _, err = run(*argv)
    assert code == EXIT_USAGE
    assert message in err


def test_a_bad_toml_file_exits_2_naming_the_file(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("orders = [1,\n")
    code, _, err = run("check", "toy", "--config", str(config))
    assert code == EXIT_USAGE
    assert f"{config} is not valid TOML" in err


def test_check_lists_streams_or_exits_3_when_the_source_refuses() -> None:
    code, out, _ = run("check", "toy")
    assert code == 0
    assert out.splitlines() == [
        "toy: ok (toy:default)",
        "  orders: Orders, one per number",
        "  contacts",
    ]
    code, _, err = run("check", "toy", "--set", "token='wrong'")
    assert code == EXIT_CONNECTOR
    assert "toy: the token was refused" in err


def test_a_sync_already_running_exits_4(tmp_path: Path) -> None:
    db = tmp_path / "cxm.db"
    with cxm.Workspace.open(db) as ws, sync_lock(ws.store.engine, "toy:default"):
        code, _, err = run("sync", "toy", "--db", str(db))
    assert code == EXIT_LOCKED
    assert "another sync of 'toy:default' is running" in err


def test_the_console_script_is_installed() -> None:
    completed = subprocess.run(
        [Path(sys.executable).with_name("cxm"), "--version"],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, CXM_LOAD_PLUGINS=""),
    )
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"cxm {cxm.__version__}"


class _Refused(ToyConnector):
    """Every stream is refused by the source, as with revoked credentials."""

    name = "refused-toy"

    def read_orders(self, cursor: Any) -> Iterator[Any]:
        raise cxm.AuthError("401 Unauthorized", request="GET https://toy.test/orders")
        yield  # pragma: no cover - makes this a generator

    def read_contacts(self, cursor: Any) -> Iterator[Any]:
        return self.read_orders(cursor)


def test_a_sync_whose_every_stream_the_source_refused_exits_3(tmp_path: Path) -> None:
    class Plugin:
        @staticmethod
        @cxm.connectors.hookimpl
        def cxm_register_connectors(register: Any) -> None:
            register(_Refused)

    cxm.connectors.register(Plugin, name="refused")
    try:
        code, out, _ = run("sync", "refused-toy", "--db", str(tmp_path / "c.db"))
    finally:
        cxm.connectors.unregister("refused")
    assert code == EXIT_CONNECTOR
    assert "orders: 0 new" in out
    assert "FAILED: AuthError: 401 Unauthorized" in out


def test_toml_dates_reach_the_connector_as_iso_text(tmp_path: Path) -> None:
    from cxm.cli import load_options

    config = tmp_path / "c.toml"
    config.write_text("start = 2026-03-01T00:00:00Z\nday = 2026-03-02\n")
    options = load_options(config, ["until=2026-04-01T12:30:00+02:00"])
    assert options == {
        "start": "2026-03-01T00:00:00+00:00",
        "day": "2026-03-02",
        "until": "2026-04-01T12:30:00+02:00",
    }


def test_verbose_logs_to_stderr_with_secrets_redacted(tmp_path: Path) -> None:
    code, _, err = run(
        "-v",
        "sync",
        "toy",
        "--set",
        "fail_at=2",
        "--set",
        "contacts=0",
        "--db",
        str(tmp_path / "c.db"),
    )
    assert code == EXIT_PARTIAL
    assert "WARNING cxm.sync: sync toy:default: stream orders failed" in err
    assert "toy-token-s3cr3t" not in err
