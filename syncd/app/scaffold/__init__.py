"""`syncd init`: scaffold a tenant file from a source table or query (reflect, propose, render, write)."""
