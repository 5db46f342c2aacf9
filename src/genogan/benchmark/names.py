"""The benchmark's names and its `amount` knob, with nothing heavy imported.

The Snakefile reads these at parse time (arm and classifier names to check, wildcard patterns,
amounts to interpret); the modules that build augmenters and classifiers import scikit-learn
and imbalanced-learn, which would cost seconds at every parse and every cluster job's start.
`augment.AUGMENTERS` and `classify.CLASSIFIERS` are checked against these lists by a test.
"""

from __future__ import annotations

import math

from genogan.errors import GenoganInputError

# Classical (non-GAN) augmenters; every other arm method names a GAN model of the GAN stage.
CLASSICAL_METHODS = ("none", "class_weight", "smote", "random_oversample", "gaussian_noise",
                     "mixup", "gaussian_pca")
CLASSIFIER_NAMES = ("logreg", "random_forest", "svm", "mlp")
# The GAN models of `genogan.gan.models.MODELS` (that registry imports TensorFlow).
GAN_MODELS = ("cwgan_gp", "vanilla_gan")


def is_gan_method(method: str) -> bool:
    """Every arm that is not a classical one names a GAN model of the GAN stage."""
    return method not in CLASSICAL_METHODS


def check_methods(methods, key: str) -> None:
    """Every arm method of a config list is a classical augmenter or a registered GAN model."""
    for method in methods:
        if method not in CLASSICAL_METHODS and method not in GAN_MODELS:
            raise GenoganInputError(
                f"unknown augmenter {method!r} in {key}",
                fix=f"use a classical method ({', '.join(CLASSICAL_METHODS)}) or a GAN model "
                f"({', '.join(GAN_MODELS)})")


def parse_amount(amount):
    """The one interpreter of `benchmark.amount`: `"balance"` or a finite ratio >= 0 (numbers
    given as strings are accepted)."""
    if isinstance(amount, str) and amount.strip().lower() == "balance":
        return "balance"
    try:
        ratio = float(amount)
    except (TypeError, ValueError):
        ratio = math.nan
    if not math.isfinite(ratio) or ratio < 0:
        raise GenoganInputError(f"invalid augmentation amount {amount!r}",
                                fix="use 'balance' or a synthetic:real ratio >= 0 (e.g. 0.5, 1, 2)")
    return ratio
