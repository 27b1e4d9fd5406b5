"""Placeholder: filled in by the ops issue; registers its commands on the main typer app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
