"""The Thulium simulator: an in-memory aiohttp server with the vendor's shapes and quirks, fault injection,
the readings of what the document leaves open, and a control API (see ../README.md).

``store`` (with ``validation``) is the state every route shares; ``routes/`` are the API and control tables,
``views`` the JSON shapes, ``middleware`` what wraps every API call (auth, faults, log); ``runtime`` ties one
instance together and ``app`` serves it (``main`` is ``python -m syncd.sandbox``).
"""
