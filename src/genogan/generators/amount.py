"""How many synthetic samples to generate per class (config `gan.amount`).

Kept free of TensorFlow so Snakemake rules and the augmenters can size their outputs cheaply.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from genogan.errors import GenoganInputError

AMOUNT_MODES = ("absolute", "multiple", "balance")


def synthetic_counts(y, mode: str = "balance", value: float = 1) -> dict:
    """Number of synthetic samples per class, keyed by label in sorted label order.

    - ``absolute``: `value` samples for every class (an integer >= 0).
    - ``multiple``: round(value * real count) per class, e.g. 1 doubles every class.
    - ``balance``: top every class up to `value` x the majority class count (value=1: equal classes;
      the majority class gets value x its count minus its count, i.e. 0 for value=1).
    """
    counts = Counter(np.asarray(y).tolist())
    if not counts:
        raise GenoganInputError("cannot size synthetic samples for an empty label vector")
    if mode not in AMOUNT_MODES:
        raise GenoganInputError(f"unknown amount mode '{mode}'",
                                fix=f"use one of: {', '.join(AMOUNT_MODES)}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise GenoganInputError(f"amount value must be a finite number >= 0, got {value}")
    labels = sorted(counts)
    if mode == "absolute":
        if value != int(value):
            raise GenoganInputError(f"amount 'absolute' needs a whole number, got {value}")
        return {c: int(value) for c in labels}
    if mode == "multiple":
        return {c: int(round(value * counts[c])) for c in labels}
    target = int(round(value * max(counts.values())))
    return {c: max(target - counts[c], 0) for c in labels}
