"""The application layer: the one place that builds runtimes and runs a tenant's streams.

It composes the pure engine with the adapters (Thulium, the tenant's database, the state DB),
registers secrets for redaction and wires the observer; the command line, the worker and the
web process call into it and build nothing themselves.
"""
