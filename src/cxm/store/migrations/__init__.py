"""Alembic migrations of the cxm store, shipped inside the package and applied by ``Workspace.open``."""
