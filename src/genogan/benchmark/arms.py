"""Arm ids (the workflow's `{arm}` wildcard) and how each arm's augmenter is built.

An arm id is `[leaky-]<method>[-x<ratio>]`:
- `<method>`: a classical augmenter (`none`, `class_weight`, `smote`, `random_oversample`,
  `gaussian_noise`, `mixup`, `gaussian_pca`) or a GAN model name of the GAN stage (`cwgan_gp`,
  `vanilla_gan`, ...);
- `-x<ratio>`: a dose-response arm with synthetic:real ratio `<ratio>` (e.g. `cwgan_gp-x2`);
  without it the arm uses the configured default amount (`benchmark.amount`, e.g. balance);
- `leaky-`: the INVALID control, the same augmenter fitted on the whole cohort before splitting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from genogan.benchmark.names import base_method, is_gan_method, parse_amount, uses_reference
from genogan.errors import GenoganInputError

ARM_REGEX = r"(?:leaky-)?[A-Za-z0-9_]+(?:\+ref)?(?:-x[0-9]+(?:\.[0-9]+)?)?"
_ARM_RE = re.compile(r"^(?P<leaky>leaky-)?(?P<method>[A-Za-z0-9_]+(?:\+ref)?)"
                     r"(?:-x(?P<ratio>[0-9]+(?:\.[0-9]+)?))?$")
DETERMINISTIC = ("none", "class_weight", "real")  # no randomness: one run per fold (also +ref)


def format_ratio(ratio: float) -> str:
    """0.5 -> '0.5', 2.0 -> '2' (ids and file names stay short and unique)."""
    return f"{float(ratio):g}"


@dataclass(frozen=True)
class Arm:
    method: str
    ratio: float | None = None  # None: the configured default amount
    leaky: bool = False

    def __str__(self) -> str:
        text = self.method if self.ratio is None else f"{self.method}-x{format_ratio(self.ratio)}"
        return f"leaky-{text}" if self.leaky else text

    @property
    def is_gan(self) -> bool:
        return is_gan_method(self.method)

    @property
    def stochastic(self) -> bool:
        return base_method(self.method) not in DETERMINISTIC

    @property
    def uses_reference(self) -> bool:
        return uses_reference(self.method)

    @property
    def correct(self) -> Arm:
        """The valid arm a leaky arm is compared with."""
        return Arm(self.method, self.ratio, False)

    def amount(self, default="balance"):
        return parse_amount(default) if self.ratio is None else float(self.ratio)


def parse_arm(text: str) -> Arm:
    match = _ARM_RE.match(str(text))
    if not match:
        raise GenoganInputError(f"invalid benchmark arm {text!r}",
                                fix="use [leaky-]<method>[-x<ratio>], e.g. smote, cwgan_gp-x2, "
                                "leaky-smote")
    arm = Arm(match["method"], float(match["ratio"]) if match["ratio"] else None,
              bool(match["leaky"]))
    if arm.leaky and arm.uses_reference:
        raise GenoganInputError(f"arm {text!r}: the leaky control has no +ref variant",
                                fix="use leaky-<method> without +ref")
    if not arm.stochastic and (arm.ratio is not None or arm.leaky):
        raise GenoganInputError(f"arm {text!r}: {arm.method} adds no samples, so it has no dose "
                                "or leaky variant", fix=f"use plain '{arm.method}'")
    return arm


def derived_seed(*parts) -> int:
    """A 32-bit seed from several integers (benchmark seed, repeat, fold, generator seed)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def build_arm_augmenter(arm: Arm, *, amount="balance", seed: int = 0, params=None,
                        synthetic=None, full=None, feature_names=None, source: str = "",
                        reference_rows=None):
    """The augmenter of one arm for one fold and generator seed.

    GAN arms in the workflow use `synthetic` (the per-fold GAN output, or for a leaky arm the
    output of the GAN trained on the whole cohort). Leaky classical arms need `full`, the whole
    cohort as (X, y). Without `synthetic`, a GAN arm is trained here by `genogan.generators`.
    `real+ref` adds `reference_rows` ((X, y): the reference's samples with study labels).
    """
    # imbalanced-learn/scikit-learn only here: this module is read when the Snakefile is parsed
    from genogan.benchmark.augment import (
        LeakyAugmenter,
        PrecomputedSynthetic,
        ReferenceRows,
        make_augmenter,
    )

    dose = arm.amount(amount)
    if base_method(arm.method) == "real":
        if reference_rows is None:
            raise GenoganInputError(f"arm {arm} needs the reference cohort's labelled samples",
                                    fix="set `reference_cohort` (its `condition` column)")
        return ReferenceRows(*reference_rows)
    if arm.is_gan and synthetic is not None:
        return PrecomputedSynthetic(synthetic, amount=dose, seed=seed,
                                    feature_names=feature_names, source=source)
    if arm.leaky and arm.is_gan:
        raise GenoganInputError(f"arm {arm}: a leaky GAN arm needs the synthetic samples of the "
                                "GAN trained on the whole cohort (data set `full`)")
    base = make_augmenter(base_method(arm.method), amount=dose, seed=seed, params=params)
    if not arm.leaky:
        return base
    if full is None:
        raise GenoganInputError(f"arm {arm}: a leaky arm needs the whole cohort",
                                fix="pass results/datasets/full/train.parquet")
    return LeakyAugmenter(base, X_full=full[0], y_full=full[1])
