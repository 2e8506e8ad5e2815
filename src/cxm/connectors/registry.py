"""The connector registry: built-ins and installed plugins, loaded through pluggy.

Built-in connectors register through the same hook as third-party ones
(:mod:`cxm.connectors.builtin`). Installed plugins are found through the ``cxm`` entry-point
group; the ``CXM_LOAD_PLUGINS`` environment variable restricts which load: unset loads all,
empty loads none, and a comma-separated list loads those distributions (or entry-point names).
A plugin that fails to import or to register is recorded with its distribution's name and
skipped; the others load.

Users call :func:`available` and :func:`get`; nothing outside this module touches pluggy.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import attrs
import pluggy

from cxm._version import __version__
from cxm.connectors import builtin, hookspecs
from cxm.connectors.base import Connector
from cxm.exceptions import ConnectorNotFound

__all__ = [
    "ENTRY_POINT_GROUP",
    "ConnectorInfo",
    "PluginFailure",
    "available",
    "get",
    "plugin_failures",
    "register",
    "unregister",
]

ENTRY_POINT_GROUP = "cxm"
ENV_LOAD_PLUGINS = "CXM_LOAD_PLUGINS"
BUILTIN = "cxm"
logger = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class ConnectorInfo:
    """What the registry knows about one connector.

    Attributes:
        name: Registry name (``"csv"``).
        summary: One line on what it reads.
        version: The connector's version (its distribution's, unless the class sets one).
        distribution: The distribution it came from: ``"cxm"`` for built-ins, the plugin's
            package name otherwise, ``None`` for one registered in-process.
        connector: The :class:`~cxm.connectors.Connector` subclass.
    """

    name: str
    summary: str
    version: str | None
    distribution: str | None
    connector: type[Connector]


@attrs.frozen(kw_only=True)
class PluginFailure:
    """A plugin that failed to load, whose hook raised, or one of whose connectors was refused.

    A plugin whose hook raised registers nothing; a refused connector (its name was taken)
    leaves the plugin's other connectors registered.

    Attributes:
        distribution: The installed distribution, when known.
        entry_point: The entry point's name (or the plugin's name in the plugin manager).
        error: What went wrong, as ``"ExceptionType: message"``.
    """

    distribution: str | None
    entry_point: str
    error: str


@attrs.frozen
class LoadedPlugins:
    """Every selected plugin, registered with one pluggy manager (internal to cxm).

    The connector, sentiment-analyzer and alert hooks all read the same plugins, found once.

    Attributes:
        manager: The plugin manager, the built-ins registered first under ``"cxm"``.
        distributions: Each plugin's name -> its distribution (``None`` for in-process ones).
        failures: The plugins that could not be imported or registered.
    """

    manager: pluggy.PluginManager
    distributions: dict[str, str | None]
    failures: list[PluginFailure]


@attrs.frozen
class _Registry:
    connectors: dict[str, ConnectorInfo]
    failures: list[PluginFailure]


_lock = threading.RLock()  # _registry() loads the plugins while holding it
# Keyed by what decides which plugins load: the variable and where distributions are found.
_cache: dict[tuple[str | None, tuple[str, ...]], _Registry] = {}
_plugin_cache: dict[tuple[str | None, tuple[str, ...]], LoadedPlugins] = {}
_in_process: list[tuple[str, Any]] = []


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _selection() -> set[str] | None:
    value = os.environ.get(ENV_LOAD_PLUGINS)
    if value is None:
        return None
    return {_canonical(part.strip()) for part in value.split(",") if part.strip()}


def _cache_key() -> tuple[str | None, tuple[str, ...]]:
    return (os.environ.get(ENV_LOAD_PLUGINS), tuple(sys.path))


def load_plugins() -> LoadedPlugins:
    """Return the built-ins and every selected plugin, loaded once per selection (internal).

    Installed plugins come from the ``cxm`` entry-point group, filtered by
    ``CXM_LOAD_PLUGINS``; plugins added with :func:`register` follow. A plugin that fails to
    import or register is recorded (and logged once) and skipped.
    """
    key = _cache_key()
    with _lock:
        found = _plugin_cache.get(key)
        if found is None:
            _plugin_cache.clear()
            found = _plugin_cache[key] = _load_plugins()
        return found


def _load_plugins() -> LoadedPlugins:
    selection = _selection()
    manager = pluggy.PluginManager("cxm")
    manager.add_hookspecs(hookspecs)
    failures: list[PluginFailure] = []
    distributions: dict[str, str | None] = {}

    manager.register(builtin, name=BUILTIN)
    distributions[BUILTIN] = BUILTIN
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        distribution = entry_point.dist.name if entry_point.dist is not None else None
        if selection is not None and not (
            _canonical(entry_point.name) in selection
            or (distribution is not None and _canonical(distribution) in selection)
        ):
            continue
        try:
            plugin = entry_point.load()
            manager.register(plugin, name=entry_point.name)
        except Exception as exc:  # a broken plugin must not break the others
            failures.append(_failure(distribution, entry_point.name, exc))
            continue
        distributions[entry_point.name] = distribution
    for name, plugin in _in_process:
        try:
            manager.register(plugin, name=name)
        except ValueError as exc:
            failures.append(_failure(None, name, exc))
            continue
        distributions[name] = None
    _log(failures)
    return LoadedPlugins(manager, distributions, failures)


def _log(failures: list[PluginFailure]) -> None:
    for failure in failures:
        logger.warning(
            "cxm plugin %s (distribution %s): %s",
            failure.entry_point,
            failure.distribution or "unknown",
            failure.error,
        )


def builtins_first(implementations: list[Any]) -> list[Any]:
    """Order hook implementations with the built-ins first, then plugins in load order."""
    return sorted(implementations, key=lambda impl: impl.plugin_name != BUILTIN)


def _load() -> _Registry:
    plugins = load_plugins()
    failures: list[PluginFailure] = []
    connectors: dict[str, ConnectorInfo] = {}
    # Built-ins first, so a plugin can never shadow one; then plugins in load order.
    for impl in builtins_first(plugins.manager.hook.cxm_register_connectors.get_hookimpls()):
        distribution = plugins.distributions.get(impl.plugin_name)
        refused: list[PluginFailure] = []
        # A plugin's registrations count only if its hook finishes: one that raises half-way
        # adds nothing, rather than some of its connectors.
        added: dict[str, ConnectorInfo] = {}
        register = _register_into(connectors, added, distribution, impl.plugin_name, refused)
        try:
            impl.function(register=register)
        except Exception as exc:
            failures.append(_failure(distribution, impl.plugin_name, exc))
            continue
        connectors.update(added)
        failures.extend(refused)
    _log(failures)
    return _Registry(dict(sorted(connectors.items())), [*plugins.failures, *failures])


def _failure(distribution: str | None, entry_point: str, exc: BaseException) -> PluginFailure:
    return PluginFailure(
        distribution=distribution,
        entry_point=entry_point,
        error=f"{type(exc).__name__}: {exc}",
    )


def _register_into(
    connectors: dict[str, ConnectorInfo],
    added: dict[str, ConnectorInfo],
    distribution: str | None,
    plugin_name: str,
    refused: list[PluginFailure],
) -> Callable[[type[Connector]], None]:
    def register(connector: Any) -> None:
        if not (isinstance(connector, type) and issubclass(connector, Connector)):
            raise TypeError(f"register() takes a Connector subclass, not {connector!r}")
        if not connector.name:
            raise TypeError(f"{connector.__qualname__} has no name")
        taken = connectors.get(connector.name) or added.get(connector.name)
        if taken is not None:
            refused.append(
                PluginFailure(
                    distribution=distribution,
                    entry_point=plugin_name,
                    error=(
                        f"connector {connector.__qualname__} refused: the name "
                        f"{connector.name!r} is already registered by "
                        f"{taken.distribution or 'an in-process plugin'}"
                    ),
                )
            )
            return
        added[connector.name] = ConnectorInfo(
            name=connector.name,
            summary=connector.summary or _first_line(connector.__doc__),
            version=connector.version or _version_of(distribution),
            distribution=distribution,
            connector=connector,
        )

    return register


def _first_line(doc: str | None) -> str:
    return doc.strip().splitlines()[0] if doc and doc.strip() else ""


def _version_of(distribution: str | None) -> str | None:
    if distribution is None:
        return None
    if distribution == BUILTIN:
        return __version__
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _registry() -> _Registry:
    key = _cache_key()
    with _lock:
        found = _cache.get(key)
        if found is None:
            found = _cache[key] = _load()
        return found


def available() -> list[ConnectorInfo]:
    """Return every registered connector, sorted by name.

    Returns:
        One :class:`ConnectorInfo` per connector: name, summary, version, distribution.

    Examples:
        >>> from cxm import connectors
        >>> names = [info.name for info in connectors.available()]
        >>> names == sorted(names), "csv" in names, "zendesk" in names
        (True, True, True)
    """
    return list(_registry().connectors.values())


def get(name: str) -> type[Connector]:
    """Return the connector class registered as ``name``.

    Raises:
        ConnectorNotFound: If no connector has that name; the error lists the known ones.

    Examples:
        >>> from cxm import connectors
        >>> connectors.get("csv").name
        'csv'
    """
    registry = _registry()
    info = registry.connectors.get(name)
    if info is None:
        raise ConnectorNotFound(name, list(registry.connectors))
    return info.connector


def alert_receivers() -> list[tuple[str, Callable[[Any], None]]]:
    """Return every ``cxm_alert`` implementation as ``(plugin name, deliver(alert))`` pairs.

    Each is called on its own (see :func:`cxm.metrics.monitoring.deliver_alerts`), so one that
    raises does not stop the others, which a pluggy hook call would.
    """
    receivers: list[tuple[str, Callable[[Any], None]]] = []
    for impl in load_plugins().manager.hook.cxm_alert.get_hookimpls():

        def deliver(alert: Any, _function: Callable[..., Any] = impl.function) -> None:
            _function(alert=alert)

        receivers.append((impl.plugin_name, deliver))
    return receivers


def plugin_failures() -> list[PluginFailure]:
    """Return the plugins that failed to load or register, with their distribution and error."""
    return list(_registry().failures)


def register(plugin: ModuleType | object, *, name: str | None = None) -> None:
    """Add a plugin object for this process, as if it were installed.

    For notebooks, applications and tests that define a connector without packaging it. The
    object holds ``@hookimpl`` functions (a module, a class, an instance).

    Args:
        plugin: The plugin object.
        name: Its name in the registry; defaults to the object's ``__name__``.
    """
    plugin_name = name or getattr(plugin, "__name__", None) or repr(plugin)
    with _lock:
        _in_process.append((plugin_name, plugin))
        _cache.clear()
        _plugin_cache.clear()


def unregister(name: str) -> None:
    """Remove a plugin added with :func:`register` (by its name)."""
    with _lock:
        _in_process[:] = [(n, p) for n, p in _in_process if n != name]
        _cache.clear()
        _plugin_cache.clear()
