"""MkDocs hook: the connector catalog, generated from the registry so that it cannot drift.

A page that holds the marker ``<!-- connector-catalog -->`` gets, in its place, a table of every
built-in connector: its name (linked to its page in ``docs/connectors/``), its summary and the
streams it reads. Installed plugins are left out (``CXM_LOAD_PLUGINS=""``), so the site shows
what ships with cxm whatever is installed where it is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

MARKER = "<!-- connector-catalog -->"
DOCS = Path(__file__).resolve().parents[1]


def render_catalog() -> str:
    """Return the catalog as a Markdown table, links relative to ``docs/connectors/``."""
    saved = os.environ.get("CXM_LOAD_PLUGINS")
    os.environ["CXM_LOAD_PLUGINS"] = ""
    try:
        from cxm import connectors

        infos = [info for info in connectors.available() if info.distribution == "cxm"]
    finally:
        if saved is None:
            del os.environ["CXM_LOAD_PLUGINS"]
        else:
            os.environ["CXM_LOAD_PLUGINS"] = saved
    lines = ["| connector | reads | options |", "|---|---|---|"]
    for info in infos:
        page = DOCS / "connectors" / f"{info.name}.md"
        name = f"[`{info.name}`]({info.name}.md)" if page.is_file() else f"`{info.name}`"
        required = [option for option, needed, _kind in info.connector.options() if needed]
        options = ", ".join(f"`{option}`" for option in required) or "none required"
        lines.append(f"| {name} | {info.summary} | {options} |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the catalog marker with the generated table."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render_catalog())
