"""Logs and metrics: what every layer may report through, without knowing who reads it."""
