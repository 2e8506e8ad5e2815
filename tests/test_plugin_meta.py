"""Meta-tests: every hook is tested and documented; every connector is documented and contracted.

Modelled on datasette's ``test_plugin_hooks_have_tests`` and ``test_plugin_hooks_are_documented``:
adding a hook or a built-in connector without its test, contract and docs page fails here.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

from cxm import connectors
from cxm.connectors import hookspecs
from cxm.testing import ConnectorContract

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(
    name
    for name, value in vars(hookspecs).items()
    if name.startswith("cxm_") and inspect.isfunction(value)
)
BUILTINS = sorted(info.name for info in connectors.available() if info.distribution == "cxm")


def test_there_are_hooks_and_builtins() -> None:
    assert HOOKS == ["cxm_alert", "cxm_register_connectors", "cxm_register_sentiment_analyzers"]
    assert {"csv", "eml", "imap", "jsonl", "mbox"} <= set(BUILTINS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook: str) -> None:
    here = Path(__file__).resolve()
    mentions = [
        path
        for path in (ROOT / "tests").rglob("test_*.py")
        if path.resolve() != here and f"def {hook}(" in path.read_text(encoding="utf-8")
    ]
    assert mentions, f"no test implements the hook {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_docs_section(hook: str) -> None:
    page = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert re.search(rf"^## {hook}\b", page, re.MULTILINE), f"docs/plugins.md lacks ## {hook}"


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_connector_has_a_docs_page_in_the_nav(name: str) -> None:
    page = ROOT / "docs" / "connectors" / f"{name}.md"
    assert page.is_file(), f"{page} is missing"
    assert f"connectors/{name}.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert f"[`{name}`]({name}.md)" in _catalog(), "the generated catalog links to the page"


def _catalog() -> str:
    spec = importlib.util.spec_from_file_location("catalog", ROOT / "docs" / "_ext" / "catalog.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    overview = (ROOT / "docs" / "connectors" / "index.md").read_text(encoding="utf-8")
    assert module.MARKER in overview, "the connectors overview shows the generated catalog"
    return str(module.render_catalog())


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_connector_runs_the_contract_suite(name: str) -> None:
    contracted = {
        value.connector_class.name
        for path in sorted((ROOT / "tests" / "connectors").glob("test_*.py"))
        for value in vars(importlib.import_module(f"tests.connectors.{path.stem}")).values()
        if inspect.isclass(value)
        and issubclass(value, ConnectorContract)
        and value.__name__.startswith("Test")
        and hasattr(value, "connector_class")
    }
    assert name in contracted, f"no ConnectorContract subclass tests {name!r}"
