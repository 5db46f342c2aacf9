"""The benchmark's names and its `amount` knob, with nothing heavy imported.

The Snakefile reads these at parse time (arm and classifier names to check, wildcard patterns,
amounts to interpret); the modules that build augmenters and classifiers import scikit-learn
and imbalanced-learn, which would cost seconds at every parse and every cluster job's start.
`augment.AUGMENTERS` and `classify.CLASSIFIERS` are checked against these lists by a test.
"""

from __future__ import annotations

import math

from genogan.errors import GenoganInputError
from genogan.generators import registry

# Classical (non-GAN) augmenters; every other arm method names a GAN model of the GAN stage.
CLASSICAL_METHODS = ("none", "class_weight", "smote", "random_oversample", "gaussian_noise",
                     "mixup", "gaussian_pca")
CLASSIFIER_NAMES = ("logreg", "random_forest", "svm", "mlp", "hist_gb")
# The non-adversarial comparator every GAN arm is also tested against (paired, same splits): a
# GAN that cannot beat a class-conditional Gaussian in the same reduced space has not earned it.
COMPARATOR = "gaussian_pca"


# `<method>+ref`: the arm classifies in the reference cohort's space (`genogan.reference`); a
# generative model's `+ref` arm is pretrained on the reference and fine-tuned per fold. `none+ref`
# is the control with the same reference information and no synthetic sample; `real+ref` (only
# with `+ref`) adds the reference's samples labelled with the study's classes: the ceiling.
REF_SUFFIX = "+ref"
REF_ONLY_METHODS = ("real",)
REF_CONTROL = "none" + REF_SUFFIX


def uses_reference(method: str) -> bool:
    return str(method).endswith(REF_SUFFIX)


def base_method(method: str) -> str:
    """The method without `+ref` (`cwgan_gp+ref` -> `cwgan_gp`)."""
    return str(method).removesuffix(REF_SUFFIX)


def in_fold_twin(method: str) -> str | None:
    """The in-fold arm a `+ref` arm is compared with (`real+ref` has none)."""
    base = base_method(method)
    return base if uses_reference(method) and base not in REF_ONLY_METHODS else None


def is_gan_method(method: str) -> bool:
    """Every arm that is not a classical one names a generative model of the generator stage
    (trained by rule train_gan: GANs, the VAE, the diffusion model), with or without `+ref`."""
    base = base_method(method)
    return base not in CLASSICAL_METHODS and base not in REF_ONLY_METHODS


def arm_family(method: str) -> str:
    """The family the report groups an arm method under: a generative model's registered family
    (adversarial, likelihood, diffusion), `comparator` for the Gaussian comparator, `none` for
    the baseline, `classical` for the other classical augmenters (`other`: not registered)."""
    if uses_reference(method) and base_method(method) in ("none", *REF_ONLY_METHODS):
        return "reference"  # the reference controls: none+ref, real+ref
    method = base_method(method)
    if method == "none":
        return "none"
    if method == COMPARATOR:
        return "comparator"
    if method in CLASSICAL_METHODS:
        return "classical"
    return registry.family(method) if method in registry.names() else "other"


# the order the report groups arm families in (the forest plot's rows, the comparator sentence)
FAMILY_ORDER = ("none", "reference", "classical", "comparator", "adversarial", "likelihood",
                "diffusion", "other")


def check_methods(methods, key: str) -> None:
    """Every arm method of a config list is a classical augmenter or a registered model."""
    for method in methods:
        base = base_method(method)
        if base in REF_ONLY_METHODS and not uses_reference(method):
            raise GenoganInputError(f"{method!r} in {key} exists only as {base}{REF_SUFFIX}",
                                    fix=f"write {base}{REF_SUFFIX} (needs `reference_cohort`)")
        if base not in (*CLASSICAL_METHODS, *REF_ONLY_METHODS, *registry.names()):
            raise GenoganInputError(
                f"unknown augmenter {method!r} in {key}",
                fix=f"use a classical method ({', '.join(CLASSICAL_METHODS)}) or a generative "
                f"model ({', '.join(registry.names())}), optionally with {REF_SUFFIX}")


BALANCE = "balance"
AMOUNT_FIX = ("use 'balance' (top every class up to the majority class), 'balance:R' with R >= 1 "
              "(every class up to R x the majority class: adds samples whatever the class "
              "balance, e.g. 'balance:1.5') or a synthetic:real ratio >= 0 (e.g. 0.5, 1, 2)")


def parse_amount(amount):
    """The one interpreter of `benchmark.amount` and of every arm's dose (as imbalanced-learn's
    `check_sampling_strategy` is of `sampling_strategy`).

    - `"balance"`: top every class up to the majority class (balanced classes: adds nothing);
    - `"balance:R"`, R >= 1: top every class up to R x the majority class, so every class grows
      (the majority by (R - 1) x its count) whatever the class balance, and classes end equal;
    - a number r >= 0 (or its text): round(r x n_c) synthetic samples per class c.

    Returns the canonical form: `"balance"`, `"balance:R"` (R as `%g`; `balance:1` is
    `"balance"`) or the ratio as a float. `amount_spec` maps it to `synthetic_counts` arguments.
    """
    if isinstance(amount, str) and amount.strip().lower().startswith(BALANCE):
        rest = amount.strip().lower()[len(BALANCE):]
        if not rest:
            return BALANCE
        factor = _number(rest[1:]) if rest.startswith(":") else math.nan
        if not factor >= 1:
            raise GenoganInputError(f"invalid augmentation amount {amount!r}", fix=AMOUNT_FIX)
        return BALANCE if factor == 1 else f"{BALANCE}:{factor:g}"
    ratio = _number(amount)
    if not ratio >= 0:
        raise GenoganInputError(f"invalid augmentation amount {amount!r}", fix=AMOUNT_FIX)
    return ratio


def _number(value) -> float:
    """A finite float, else NaN (so one comparison rejects text, inf and NaN alike)."""
    if isinstance(value, bool):
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def is_balance(amount) -> bool:
    """True for the balancing amounts (`balance`, `balance:R`), False for a ratio (or text that
    is not an amount, e.g. a table cell: never an error)."""
    return isinstance(amount, str) and amount.strip().lower().startswith(BALANCE)


def amount_spec(amount) -> tuple[str, float]:
    """(mode, value) of `genogan.generators.amount.synthetic_counts` (the GAN pools' sizing) for an
    amount: balance -> ('balance', 1), balance:R -> ('balance', R), r -> ('multiple', r)."""
    amount = parse_amount(amount)
    if amount == BALANCE:
        return BALANCE, 1.0
    if isinstance(amount, str):
        return BALANCE, float(amount.split(":", 1)[1])
    return "multiple", amount


def class_counts(y, amount) -> dict:
    """Synthetic samples to add per class: ratio r -> round(r * n_c); balance -> n_max - n_c;
    balance:R -> round(R * n_max) - n_c. The GAN stage's own `synthetic_counts` (TF-free), so
    the GAN pools and the classical arms are sized identically; light enough for validation."""
    from genogan.generators.amount import synthetic_counts

    return synthetic_counts(y, *amount_spec(amount))
