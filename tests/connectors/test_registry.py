"""The connector registry: built-ins, installed plugins, CXM_LOAD_PLUGINS, broken plugins."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import cxm
from cxm import connectors
from cxm.connectors import registry
from cxm.exceptions import ConnectorNotFound

PLUGIN = '''
import attrs
from cxm.connectors import Connector, Stream, hookimpl


@attrs.frozen
class Config:
    pass


class {cls}(Connector):
    """{summary}"""

    name = "{name}"
    Config = Config

    def streams(self):
        return [Stream(name="items", read=lambda cursor: iter(()))]


@hookimpl
def cxm_register_connectors(register):
    register({cls})
'''


def _install(site: Path, distribution: str, module: str, body: str, version: str = "1.2.0") -> None:
    """Lay out an installed distribution (dist-info with an entry point) on ``site``."""
    (site / f"{module}.py").write_text(textwrap.dedent(body))
    info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    )
    (info / "entry_points.txt").write_text(f"[cxm]\n{module} = {module}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    _install(
        path,
        "cxm-alpha",
        "cxm_alpha_plugin",
        PLUGIN.format(cls="Alpha", name="alpha", summary="Alpha things."),
    )
    _install(
        path,
        "cxm-beta",
        "cxm_beta_plugin",
        PLUGIN.format(cls="Beta", name="beta", summary="Beta things."),
        version="0.3",
    )
    _install(path, "cxm-broken", "cxm_broken_plugin", "raise ImportError('needs libfoo')\n")
    _install(
        path,
        "cxm-copycat",
        "cxm_copycat_plugin",
        PLUGIN.format(cls="Copy", name="alpha", summary="Another alpha."),
    )
    return path


def _names() -> list[str]:
    return [info.name for info in connectors.available()]


def test_tests_load_no_installed_plugin(site: Path) -> None:
    # conftest sets CXM_LOAD_PLUGINS="" for every test.
    assert not {"alpha", "beta"} & set(_names())
    assert connectors.plugin_failures() == []


def test_every_installed_plugin_loads_when_the_variable_is_unset(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CXM_LOAD_PLUGINS")
    infos = {info.name: info for info in connectors.available()}
    assert infos["alpha"].distribution == "cxm-alpha"
    assert infos["alpha"].version == "1.2.0"
    assert infos["alpha"].summary == "Alpha things."
    assert infos["beta"].version == "0.3"
    assert connectors.get("beta").__name__ == "Beta"
    failures = {f.distribution: f for f in connectors.plugin_failures()}
    # The broken plugin is reported by its distribution and did not stop the others.
    assert failures["cxm-broken"].error == "ImportError: needs libfoo"
    assert failures["cxm-broken"].entry_point == "cxm_broken_plugin"
    # The second plugin to claim "alpha" is refused, and the first keeps the name.
    assert "already registered by cxm-alpha" in failures["cxm-copycat"].error


def test_the_variable_restricts_loading_by_distribution_or_entry_point(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXM_LOAD_PLUGINS", "cxm_beta, cxm_broken_plugin")
    names = set(_names())
    assert "beta" in names
    assert "alpha" not in names
    assert [f.distribution for f in connectors.plugin_failures()] == ["cxm-broken"]


def test_broken_plugin_is_logged_with_its_distribution(
    site: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CXM_LOAD_PLUGINS", "cxm-broken")
    connectors.available()
    assert "cxm plugin cxm_broken_plugin (distribution cxm-broken): ImportError" in caplog.text


def test_unknown_name_lists_the_known_ones(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXM_LOAD_PLUGINS", "cxm-alpha")
    with pytest.raises(ConnectorNotFound) as raised:
        connectors.get("alhpa")
    assert raised.value.name == "alhpa"
    assert "alpha" in raised.value.known
    assert "registered connectors: " in str(raised.value)
    assert isinstance(raised.value, LookupError)


class _InProcess:
    @staticmethod
    @connectors.hookimpl
    def cxm_register_connectors(register: object) -> None:
        raise RuntimeError("registration blew up")


def test_a_plugin_whose_hook_raises_is_reported_not_fatal() -> None:
    connectors.register(_InProcess, name="exploding")
    try:
        failures = connectors.plugin_failures()
        assert [(f.entry_point, f.error) for f in failures] == [
            ("exploding", "RuntimeError: registration blew up")
        ]
        assert _names() == sorted(_names())
    finally:
        connectors.unregister("exploding")
    assert connectors.plugin_failures() == []


def test_register_refuses_what_is_not_a_connector() -> None:
    class _Bad:
        @staticmethod
        @connectors.hookimpl
        def cxm_register_connectors(register: object) -> None:
            register(dict)  # type: ignore[operator]

    connectors.register(_Bad, name="bad")
    try:
        (failure,) = connectors.plugin_failures()
        assert failure.error.startswith("TypeError: register() takes a Connector subclass")
    finally:
        connectors.unregister("bad")


def test_users_never_need_pluggy() -> None:
    # The typed wrappers are the whole public surface of the registry.
    assert {"available", "get", "plugin_failures", "register", "unregister"} <= set(
        connectors.__all__
    )
    assert "pluggy" not in " ".join(connectors.__all__)
    assert registry.ENTRY_POINT_GROUP == "cxm"


def test_connector_names_must_be_kebab_case() -> None:
    with pytest.raises(ValueError, match="lower-case kebab"):

        class _Shouty(cxm.connectors.Connector):
            name = "Shouty_Name"


def test_a_hook_that_raises_after_registering_adds_nothing() -> None:
    from tests.connectors.toy import ToyConnector

    class _HalfWay:
        @staticmethod
        @connectors.hookimpl
        def cxm_register_connectors(register: object) -> None:
            register(ToyConnector)  # type: ignore[operator]
            raise RuntimeError("second connector failed to import")

    connectors.register(_HalfWay, name="half-way")
    try:
        assert "toy" not in _names()
        (failure,) = connectors.plugin_failures()
        assert failure.error == "RuntimeError: second connector failed to import"
    finally:
        connectors.unregister("half-way")
