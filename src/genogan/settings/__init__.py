"""The settings layer: the JSON schemas of the workflow config and the sample sheet.

The schemas ship inside the package (package data), so `genogan validate` works the same from a
source checkout, a non-editable `pip install .`, a conda env or a container. They hold every
config key's type, range and its one default; `validate_config` checks a config against them
and fills the defaults in.
`sections` gives each config section as a typed frozen dataclass whose field defaults are read
from the same schema (why the schema is the home: see its docstring); `paths` holds the file
layout the rules and `genogan.benchmark.targets` share. Everything here imports only the
standard library and PyYAML, so `.smk` files use it at parse time.
"""

from __future__ import annotations

import copy
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


def _fill_defaults(data: dict, schema: dict) -> None:
    """Insert schema defaults for missing keys, recursing into nested objects."""
    for key, sub in schema.get("properties", {}).items():
        if key not in data and "default" in sub:
            data[key] = copy.deepcopy(sub["default"])
        if isinstance(data.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(data[key], sub)


def _describe(err) -> str:
    where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
    if err.validator == "additionalProperties":
        known = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(known))
        return (f"unknown key(s) {extra} under '{where}'; valid keys: {', '.join(known)}")
    return f"key '{where}': {err.message}"


def validate_config(config: dict, path="config/config.yaml", schema: dict | None = None) -> dict:
    """Validate `config` against the JSON schema (filling defaults in place) and return it."""
    import jsonschema  # here: `.smk` files import this module at parse time

    from genogan.errors import GenoganInputError

    schema = schema or load_schema("config.schema.yaml")
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config),
                    key=lambda e: list(e.absolute_path))
    if errors:
        raise GenoganInputError(f"invalid config: {_describe(errors[0])}", path=path,
                                fix="correct the key (every key is explained in config/README.md)")
    _fill_defaults(config, schema)
    return config


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
