"""The registry of generative models: arm name -> family and the class that implements it.

TensorFlow-free on purpose: the Snakefile, `genogan validate` and the benchmark's name checks
read model names and families at parse time, and a model's module imports TensorFlow (seconds).
A model class is imported only when it is asked for (`model_class`).

Adding a model: write one module with a `genogan.generators.contract.GenerativeModel` subclass,
and add one `Entry` below (or call `register(Entry(...))` from a plugin). The training loop, the
store, generation, quality and the report read only the contract; `tests/test_generators.py`
trains, saves, reloads and samples a toy model registered this way without touching any other
file. A config section `gan.<name>` for its parameters is optional (the schema lists the keys of
the shipped models, so a typo in one stops at validation).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from genogan.errors import GenoganInputError

# Families, in the order the report groups arms: adversarial networks, likelihood-based models
# (VAE), diffusion models. The Gaussian comparator and classical augmenters are grouped by the
# benchmark (genogan.benchmark.names.arm_family).
FAMILIES = ("adversarial", "likelihood", "diffusion")


@dataclass(frozen=True)
class Entry:
    name: str  # the arm name in config (benchmark.arms, gan.models)
    family: str  # one of FAMILIES
    module: str  # the module that defines the class
    cls: str  # the GenerativeModel subclass in that module


_REGISTRY: dict[str, Entry] = {}


def register(entry: Entry) -> Entry:
    """Make a model selectable by its arm name."""
    if entry.family not in FAMILIES:
        raise ValueError(f"family {entry.family!r} of {entry.name!r} is not one of {FAMILIES}")
    _REGISTRY[entry.name] = entry
    return entry


for _entry in (
    Entry("cwgan_gp", "adversarial", "genogan.generators.gans", "CWGANGP"),
    Entry("vanilla_gan", "adversarial", "genogan.generators.gans", "VanillaCGAN"),
    Entry("cvae", "likelihood", "genogan.generators.cvae", "CVAE"),
    Entry("ddpm", "diffusion", "genogan.generators.ddpm", "DDPM"),
):
    register(_entry)


def names() -> tuple[str, ...]:
    """Every registered model name, in registration order."""
    return tuple(_REGISTRY)


def entry(name: str) -> Entry:
    if name not in _REGISTRY:
        raise GenoganInputError(f"unknown generative model '{name}'",
                                fix=f"choose one of: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def family(name: str) -> str:
    return entry(name).family


def model_class(name: str):
    """The GenerativeModel subclass of a registered name (imports its module: TensorFlow)."""
    e = entry(name)
    cls = getattr(importlib.import_module(e.module), e.cls)
    if cls.model_name != name:
        raise RuntimeError(f"registry entry {name!r} points at {e.module}.{e.cls}, whose "
                           f"model_name is {cls.model_name!r}")
    return cls
