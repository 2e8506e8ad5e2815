"""The hooks a cxm plugin can implement.

A plugin is a module (or any object) with functions decorated by :data:`hookimpl`, named in the
``cxm`` entry-point group of its distribution:

```toml
[project.entry-points.cxm]
my_connector = "my_package.plugin"
```

Hooks receive a ``register`` callback rather than returning values, so one plugin can add any
number of things and the registry decides what to do with duplicates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from cxm.connectors.base import Connector
    from cxm.metrics.monitoring import Alert
    from cxm.metrics.sentiment import SentimentAnalyzer

__all__ = [
    "cxm_alert",
    "cxm_register_connectors",
    "cxm_register_sentiment_analyzers",
    "hookimpl",
    "hookspec",
]

hookspec = pluggy.HookspecMarker("cxm")
hookimpl = pluggy.HookimplMarker("cxm")


@hookspec
def cxm_register_connectors(register: Callable[[type[Connector]], None]) -> None:
    """Register connector classes by calling ``register(ConnectorClass)`` once for each.

    Args:
        register: Adds a :class:`~cxm.connectors.Connector` subclass to the registry under its
            ``name``. A name already taken (by a built-in or an earlier plugin) is refused and
            reported by :func:`cxm.connectors.plugin_failures`; the first one stays.

    Examples:
        ```python
        from cxm.connectors import hookimpl

        @hookimpl
        def cxm_register_connectors(register):
            register(HelpdeskConnector)
        ```
    """


@hookspec
def cxm_register_sentiment_analyzers(
    register: Callable[[SentimentAnalyzer | type[SentimentAnalyzer]], None],
) -> None:
    """Register sentiment analyzers by calling ``register(analyzer)`` once for each.

    Args:
        register: Adds a :class:`~cxm.metrics.sentiment.SentimentAnalyzer` (an instance, or a
            class that takes no arguments, instantiated on first use) under its ``name``. A
            name already taken (by the built-in ``vader`` or an earlier plugin) is refused and
            reported by :func:`cxm.metrics.sentiment.analyzer_failures`; the first one stays.

    Examples:
        ```python
        from cxm.connectors import hookimpl

        @hookimpl
        def cxm_register_sentiment_analyzers(register):
            register(MyTransformerAnalyzer)
        ```
    """


@hookspec
def cxm_alert(alert: Alert) -> None:
    """Deliver one alert: send the mail, post to the chat channel, open the ticket.

    Called by :meth:`cxm.Workspace.check_alerts` once per alert and plugin, the most severe
    alerts first. The return value is ignored. Each implementation runs in its own guard: one
    that raises (a mail server down) is logged on the ``cxm.metrics.monitoring`` logger and
    reported in the returned failures, and the other plugins and alerts are still delivered.

    Args:
        alert: The :class:`~cxm.metrics.monitoring.Alert`: metric, segment, period, direction,
            size, baseline, current, p-value, severity, rule and n; ``str(alert)`` is one line
            a person can read, ``alert.to_dict()`` a JSON-ready mapping.

    Examples:
        ```python
        from cxm.connectors import hookimpl

        @hookimpl
        def cxm_alert(alert):
            if alert.severity != "info":
                slack.post("#cx-alerts", str(alert))
        ```
    """
