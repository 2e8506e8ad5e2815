"""cxm: customer experience management as a Python library.

Gather every interaction a company has with its customers, resolve them into one profile per
customer, and read them back as DataFrames. This release holds the core: the domain model,
identity resolution, the store and the :class:`Workspace`.

Examples:
    >>> import cxm
    >>> ws = cxm.Workspace.open(":memory:")
    >>> report = ws.ingest([cxm.CustomerRecord(source="crm", source_id="c-7",
    ...     identities=[cxm.Identity("email", "Ann@Example.com")], traits={"plan": "pro"})])
    >>> report.new, ws.customer("ann@example.com").traits
    (1, {'plan': 'pro'})
"""

from cxm import exceptions
from cxm._version import __version__
from cxm.exceptions import (
    ConflictError,
    CustomerNotFound,
    CxmError,
    SchemaVersionError,
    StoreError,
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
from cxm.workspace import IngestReport, Rejection, Workspace

__all__ = [
    "Channel",
    "ConflictError",
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
    "Rejection",
    "SchemaVersionError",
    "StoreError",
    "Touchpoint",
    "ValidationError",
    "Workspace",
    "__version__",
    "exceptions",
    "record_from_dict",
]
