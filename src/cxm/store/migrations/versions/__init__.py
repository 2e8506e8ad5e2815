"""Migration scripts, oldest first; each file's ``revision`` names it."""
