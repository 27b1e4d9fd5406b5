"""Demo and test source data: a generated source database, its mutations and its tenant file."""

from syncd.demo.config import demo_config, write_demo_config
from syncd.demo.generate import DEFAULT_URL, DemoSource, generate_source
from syncd.demo.mutate import Mutation, mutate
from syncd.demo.rows import Invalid

__all__ = [
    "DEFAULT_URL",
    "DemoSource",
    "Invalid",
    "Mutation",
    "demo_config",
    "generate_source",
    "mutate",
    "write_demo_config",
]
