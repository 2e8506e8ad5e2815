"""Repository-level pytest configuration: what doctest collection must skip."""

# Alembic's env.py only runs inside a migration context; importing it for doctests fails.
collect_ignore_glob = ["src/cxm/store/migrations/*"]
