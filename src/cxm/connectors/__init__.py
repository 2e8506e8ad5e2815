"""Connectors: plugins that read customer interactions from the systems that hold them.

A connector is a :class:`Connector` subclass with a ``name``, a typed ``Config``, ``check()``
and ``streams()``. Built-in connectors (``csv``, ``jsonl``, ``mbox``, ``eml``, ``imap``) and
installed plugins register through one pluggy hook; :func:`available` lists them and
:func:`get` returns one by name. :meth:`cxm.Workspace.sync` runs one.

Examples:
    >>> from cxm import connectors
    >>> connectors.get("nope")
    Traceback (most recent call last):
    ...
    cxm.exceptions.ConnectorNotFound: no connector named 'nope'; registered connectors: ...
"""

from cxm.connectors.base import (
    Checkpoint,
    Connector,
    Record,
    Rejected,
    Secret,
    Stream,
    StreamItem,
    optional_secret,
    secret,
)
from cxm.connectors.hookspecs import hookimpl, hookspec
from cxm.connectors.registry import (
    ConnectorInfo,
    PluginFailure,
    available,
    get,
    plugin_failures,
    register,
    unregister,
)

__all__ = [
    "Checkpoint",
    "Connector",
    "ConnectorInfo",
    "PluginFailure",
    "Record",
    "Rejected",
    "Secret",
    "Stream",
    "StreamItem",
    "available",
    "get",
    "hookimpl",
    "hookspec",
    "optional_secret",
    "plugin_failures",
    "register",
    "secret",
    "unregister",
]
