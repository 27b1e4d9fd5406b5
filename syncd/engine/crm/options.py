"""How one stream run behaves: the knobs a tenant file and the command line set, in one value.

Its own module so that the run and the outcome bookkeeping it drives can both read it without
importing each other.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal


@dataclass(frozen=True, slots=True)
class RunOptions:
    full: bool = False
    dry_run: bool = False
    force: bool = False
    batch_size: int = 100
    max_in_flight: int = 4
    item_attempts: int = 5
    page_size: int = 1000
    on_thulium_delete: Literal["recreate", "ignore"] = "recreate"
    on_thulium_edit: Literal["source_wins", "ignore"] = "source_wins"
    max_delete_fraction: float = 0.2
    park_for: timedelta = timedelta(minutes=5)
    item_backoff: float = 0.2
