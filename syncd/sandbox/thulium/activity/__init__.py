"""Raw agent and chat activity (``events``), its deterministic generator and the report rows made from it."""
