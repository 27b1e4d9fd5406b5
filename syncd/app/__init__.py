"""The application layer: the one place that builds runtimes and runs a tenant's streams.

It composes the pure engine with the adapters (Thulium, the tenant's database, the state DB),
registers secrets for redaction and wires the observer; it also holds the ops views (status and
its health verdict, runs, failures, resync, the tenant lease) and hands the state DB's stores to
the command line, the worker and the web process (``state_views``), which call into it and build
nothing themselves (an import-linter contract checks that).
"""
