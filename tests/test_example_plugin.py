"""The example third-party plugin: installed like any package, found, run, and contract-tested.

``examples/cxm-example-connector`` is built and installed into a scratch directory (not into
the test environment), then used through that directory on ``PYTHONPATH``, exactly as an
installed plugin is: found through its ``cxm`` entry point, listed by ``cxm connectors``, run
by ``cxm sync`` against a fake API served on loopback, and its own test suite passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "cxm-example-connector"
CXM = Path(sys.executable).with_name("cxm")


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, EXAMPLE],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(f"pip could not build the example plugin:\n{completed.stderr}")
    return site


def _env(site: Path, **extra: str) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]),
        CXM_LOAD_PLUGINS="cxm-example-connector",
        **extra,
    )


def test_installed_plugin_is_listed_with_its_distribution(plugin_site: Path) -> None:
    completed = subprocess.run(
        [CXM, "connectors", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=_env(plugin_site),
    )
    listed = {row["name"]: row for row in json.loads(completed.stdout)}
    assert listed["acme-helpdesk"] == {
        "name": "acme-helpdesk",
        "version": "0.1.0",
        "distribution": "cxm-example-connector",
        "summary": "Support tickets and CSAT ratings from Acme Helpdesk.",
    }


def test_plugin_is_not_loaded_when_the_variable_leaves_it_out(plugin_site: Path) -> None:
    completed = subprocess.run(
        [CXM, "connectors", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=dict(_env(plugin_site), CXM_LOAD_PLUGINS=""),
    )
    assert "acme-helpdesk" not in {row["name"] for row in json.loads(completed.stdout)}


def test_the_plugins_own_suite_passes_the_contract(plugin_site: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
        capture_output=True,
        text=True,
        check=False,
        cwd=EXAMPLE,
        env=_env(plugin_site),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "16 passed" in completed.stdout


@pytest.fixture
def acme_api(plugin_site: Path) -> Iterator[str]:
    """The example's fake Acme Helpdesk API, served over HTTP on loopback."""
    sys.path.insert(0, str(plugin_site))
    try:
        import httpx
        from cxm_example_connector.fake_api import FakeHelpdesk
    finally:
        sys.path.remove(str(plugin_site))
    api = FakeHelpdesk()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            request = httpx.Request(
                "GET", f"http://{self.headers['host']}{self.path}", headers=dict(self.headers)
            )
            answer = api(request)
            body = answer.read()
            self.send_response(answer.status_code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v2"
    finally:
        server.shutdown()
        server.server_close()
        sys.modules.pop("cxm_example_connector.fake_api", None)
        sys.modules.pop("cxm_example_connector", None)


def test_cli_syncs_the_plugin_against_a_live_api(
    plugin_site: Path, acme_api: str, tmp_path: Path
) -> None:
    from cxm_example_connector.fake_api import TOKEN

    config = tmp_path / "acme.toml"
    config.write_text(f'base_url = "{acme_api}"\ntoken = {{ env = "ACME_TOKEN" }}\n')
    db = tmp_path / "cxm.db"
    env = _env(plugin_site, ACME_TOKEN=TOKEN)
    sync = [CXM, "sync", "acme-helpdesk", "--config", config, "--db", db]
    first = subprocess.run(sync, capture_output=True, text=True, check=False, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "tickets: 23 new, 0 updated, 0 unchanged, 1 quarantined" in first.stdout
    second = subprocess.run(sync, capture_output=True, text=True, check=False, env=env)
    assert second.returncode == 0
    # Only the boundary ticket (updated_since is inclusive) is read again.
    assert "tickets: 0 new, 0 updated, 1 unchanged" in second.stdout
    refused = subprocess.run(
        [CXM, "check", "acme-helpdesk", "--config", config],
        capture_output=True,
        text=True,
        check=False,
        env=dict(env, ACME_TOKEN="wrong-token"),
    )
    assert refused.returncode == 3
    assert "acme-helpdesk" in refused.stderr
    assert "401" in refused.stderr
    assert "wrong-token" not in refused.stderr
