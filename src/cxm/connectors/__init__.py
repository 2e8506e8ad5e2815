"""Connectors: plugins that read customer interactions from the systems that hold them.

The plugin registry, the sync engine and the built-in connectors arrive with the connector
platform; this package is their home.
"""
