"""The settings layer: the JSON schemas of the workflow config and the sample sheet.

The schemas ship inside the package (package data), so `genogan validate` works the same from a
source checkout, a non-editable `pip install .`, a conda env or a container. They hold every
config key's type, range and its one default; `genogan.validate` fills the defaults in.
`sections` gives each config section as a typed frozen dataclass whose field defaults are read
from the same schema (why the schema is the home: see its docstring); `paths` holds the file
layout the rules and `genogan.benchmark.targets` share. Everything here imports only the
standard library and PyYAML, so `.smk` files use it at parse time.
"""

from __future__ import annotations

import functools
from importlib import resources

import yaml

SCHEMAS = ("config.schema.yaml", "samples.schema.yaml")


@functools.cache
def _schema_text(name: str) -> str:
    if name not in SCHEMAS:
        raise ValueError(f"unknown schema {name!r}; known: {', '.join(SCHEMAS)}")
    return resources.files(__package__).joinpath(name).read_text()


def load_schema(name: str) -> dict:
    """A fresh copy of one shipped schema (callers may modify it)."""
    # libyaml's loader when PyYAML has it: the same schema ~10x faster (0.05 s vs 0.5 s), and
    # every CLI and the align jobs read it at start-up
    return yaml.load(_schema_text(name), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


# Keys of a config section that size a job (threads:, resources:) but never change its outputs.
RESOURCE_KEYS = ("threads", "mem_mb", "runtime")


def output_settings(section: dict, keys=None) -> dict:
    """The part of a config section a rule's outputs depend on, for its `params:`.

    Resources are left out (editing `mem_mb` must not rerun every job); `keys`, when given,
    narrows it further to what the rule reads."""
    return {key: value for key, value in section.items()
            if key not in RESOURCE_KEYS and (keys is None or key in keys)}


def fold_settings(config: dict) -> dict:
    """What is fitted per training part, for `apply_fold_filter`: {method, n, normalise}.

    The expression section's gene filter and normalisation for `input_type: expression`,
    nothing (method and normalise 'none') for any other input."""
    if config.get("input_type") != "expression":
        return {"method": "none", "n": 1, "normalise": "none"}
    expr = config["expression"]
    return {**expr["filter"], "normalise": expr["normalise"]}
