"""Render the Sphinx roles in cxm's docstrings as links in the API reference.

cxm's docstrings are Google style, which mkdocstrings reads, but they name other objects with
Sphinx roles (:class:`~cxm.model.Identity`), which Markdown would print as they stand. This griffe
extension rewrites every role before the docstring is rendered: a cxm object becomes an optional
autorefs cross-reference (a link when the site renders the object, plain code otherwise, so the
strict build never fails on a private target); anything else (``datetime.datetime``) becomes
inline code. Loaded by ``mkdocs.yml`` through the python handler's ``extensions`` option.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj|const):`(?P<target>[^`\n]+)`")


def _walk(obj: griffe.Object) -> Iterator[griffe.Object]:
    """Yield ``obj`` and every object defined under it (aliases skipped)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)  # type: ignore[arg-type]


def _resolve(target: str, scope: griffe.Object, package: griffe.Module) -> str | None:
    """Return the full path of ``target`` as Python would resolve it from ``scope``."""
    scopes: list[str] = []
    current: Any = scope
    while current is not None:
        scopes.append(current.path)
        current = current.parent
    prefix = package.path + "."
    for candidate in [f"{path}.{target}" for path in scopes] + [target]:
        if not candidate.startswith(prefix):
            continue
        try:
            found = package[candidate[len(prefix) :]]
        except (KeyError, ValueError, griffe.AliasResolutionError):
            continue
        return str(found.target_path if found.is_alias else found.path)
    return None


def _render(target: str, scope: griffe.Object, package: griffe.Module) -> str:
    short = target.startswith("~")
    name = target.lstrip("~.").strip()
    title = html.escape(name.rsplit(".", 1)[-1] if short else name)
    path = _resolve(name, scope, package)
    if path is None:
        return f"`{name}`"
    return f'<autoref identifier="{html.escape(path)}" optional><code>{title}</code></autoref>'


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx cross-reference roles in every docstring of a loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite the roles once the whole package is loaded, so every target resolves."""
        for obj in _walk(pkg):
            docstring = obj.docstring
            if docstring is not None and ":`" in docstring.value:
                docstring.value = _ROLE.sub(
                    lambda match, obj=obj: _render(match["target"], obj, pkg), docstring.value
                )
