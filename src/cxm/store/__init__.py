"""Persistence: the tables, the migrations and the batched, idempotent writes behind a Workspace."""
