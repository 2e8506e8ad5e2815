"""cxm: customer experience management as a Python library.

Gather every interaction a company has with its customers, resolve them into one profile per
customer, and read them back as DataFrames. Connectors (:mod:`cxm.connectors`) read
interactions from files, mailboxes and APIs, and :meth:`Workspace.sync` runs them.

Examples:
    >>> import cxm
    >>> ws = cxm.Workspace.open(":memory:")
    >>> report = ws.ingest([cxm.CustomerRecord(source="crm", source_id="c-7",
    ...     identities=[cxm.Identity("email", "Ann@Example.com")], traits={"plan": "pro"})])
    >>> report.new, ws.customer("ann@example.com").traits
    (1, {'plan': 'pro'})
"""

import logging

from cxm import connectors, exceptions
from cxm._version import __version__
from cxm.connectors.base import Connector, Secret
from cxm.connectors.hookspecs import hookimpl
from cxm.exceptions import (
    AuthError,
    ConflictError,
    ConnectorError,
    ConnectorNotFound,
    CustomerNotFound,
    CxmError,
    RateLimitedError,
    SchemaVersionError,
    StoreError,
    SyncInProgressError,
    UpstreamError,
    ValidationError,
)
from cxm.model import (
    Channel,
    Customer,
    CustomerRecord,
    Direction,
    Feedback,
    Identity,
    Interaction,
    JourneyStage,
    Metric,
    Touchpoint,
    record_from_dict,
)
from cxm.profile import Customer360
from cxm.sync import StreamReport, SyncReport
from cxm.workspace import IngestReport, Rejection, Workspace

# A library logs, an application decides where the lines go (the cxm command does, with -v).
logging.getLogger("cxm").addHandler(logging.NullHandler())

__all__ = [
    "AuthError",
    "Channel",
    "ConflictError",
    "Connector",
    "ConnectorError",
    "ConnectorNotFound",
    "Customer",
    "Customer360",
    "CustomerNotFound",
    "CustomerRecord",
    "CxmError",
    "Direction",
    "Feedback",
    "Identity",
    "IngestReport",
    "Interaction",
    "JourneyStage",
    "Metric",
    "RateLimitedError",
    "Rejection",
    "SchemaVersionError",
    "Secret",
    "StoreError",
    "StreamReport",
    "SyncInProgressError",
    "SyncReport",
    "Touchpoint",
    "UpstreamError",
    "ValidationError",
    "Workspace",
    "__version__",
    "connectors",
    "exceptions",
    "hookimpl",
    "record_from_dict",
]

# The analytics packages load on first use (``cxm.metrics.nps(...)`` after ``import cxm``), so
# that importing cxm to ingest or sync does not pay for scipy and the models.
_LAZY_SUBMODULES = frozenset({"datasets", "journey", "metrics", "plotting"})


def __getattr__(name: str) -> object:
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"cxm.{name}")
    raise AttributeError(f"module 'cxm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_SUBMODULES)
