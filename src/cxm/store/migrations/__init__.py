"""Alembic migrations of the cxm store, shipped in the package, applied by ``Workspace.open``."""
