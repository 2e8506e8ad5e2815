"""The public surface: ``cxm.__all__`` is sorted, complete and importable; errors form one tree."""

from __future__ import annotations

import inspect

import cxm
import cxm.exceptions


def test_all_is_sorted() -> None:
    assert list(cxm.__all__) == sorted(cxm.__all__)


def test_every_public_name_is_exported_and_every_export_exists() -> None:
    public = {
        name
        for name, value in vars(cxm).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    exported = set(cxm.__all__) - {"__version__", "connectors", "exceptions"}
    assert public == exported
    for name in cxm.__all__:
        assert hasattr(cxm, name), name


def test_every_error_is_a_cxm_error_and_in_the_docstring_tree() -> None:
    tree = cxm.exceptions.__doc__ or ""
    for name in cxm.exceptions.__all__:
        error = getattr(cxm.exceptions, name)
        assert issubclass(error, cxm.CxmError)
        assert name in tree, f"{name} is missing from the tree in cxm.exceptions"
        assert getattr(cxm, name) is error


def test_public_functions_and_classes_have_docstrings() -> None:
    missing = [
        name
        for name in cxm.__all__
        if (inspect.isclass(getattr(cxm, name)) or inspect.isfunction(getattr(cxm, name)))
        and not inspect.getdoc(getattr(cxm, name))
    ]
    assert missing == []


def test_analytics_packages_load_on_first_use() -> None:
    import subprocess
    import sys

    code = (
        "import sys, cxm\n"
        "assert 'cxm.metrics' not in sys.modules and 'scipy' not in sys.modules\n"
        "print(cxm.metrics.nps.__module__, cxm.journey.__name__, 'journey' in dir(cxm))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cxm.metrics.feedback", "cxm.journey", "True"]


def test_unknown_attribute_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no_such_thing"):
        cxm.no_such_thing  # noqa: B018
