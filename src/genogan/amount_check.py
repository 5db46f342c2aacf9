"""No silent no-op: an augmenting arm that adds nothing is reported, not benchmarked as if it did.

With `benchmark.amount: balance` every class is topped up to the majority class, so a cohort
whose classes are equal in every training part gets 0 synthetic samples: the arm is `none` under
another name, and `class_weight` ("balanced") gives every sample the same weight, which is
`none` too. The benchmark would then compare `none` with `none` and report "no difference".

At validation (`check_augmentation_adds`, from the sheet's labels and the very training parts
the workflow will build, `cohort_check.training_parts`): an arm that adds nothing in EVERY
training part it runs on is an error (it cannot answer the benchmark's question, its GAN
trainings would be hours of wasted work, and a ratio amount fixes it); one that adds nothing in
some parts only is a warning, and so is `class_weight` on balanced classes (no amount changes
it; the arm is harmless and listed in the shipped config).
In the report (`verdict.noop_arms_note`, from the metrics tables): a sentence naming every arm
that trained on no synthetic sample at all (it lives with the verdict: this module is imported
while the Snakefile is parsed, the verdict by the jobs).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from genogan.errors import GenoganInputError

FIX = ("set `benchmark.amount` to 'balance:1.5' (every class up to 1.5 x the majority class) or "
       "a synthetic:real ratio (e.g. 1: one synthetic sample per real one in every class): both "
       "add samples whatever the class balance; or list dose-response arms such as smote-x1")


def arm_additions(parts: dict, bench: dict) -> dict[str, dict[str, int]]:
    """{arm: {data set: synthetic samples it adds to that training part}} for every valid
    augmenting arm of the plan; `class_weight` counts as adding 1 when it reweights anything
    (its classes differ in size) and 0 when all weights are equal."""
    from genogan.benchmark.arms import parse_arm
    from genogan.benchmark.names import base_method, class_counts
    from genogan.benchmark.targets import classify_jobs

    added: dict[str, dict[str, int]] = {}
    for dataset, arm_id, _ in classify_jobs(bench):
        arm = parse_arm(arm_id)
        method = base_method(arm.method)  # `+ref` arms add as their method does
        if method in ("none", "real") or arm.leaky or dataset not in parts:
            continue  # none(+ref) adds nothing by design; real+ref adds reference rows
        counts = parts[dataset][0]
        counts = counts[counts > 0]
        if method == "class_weight":
            n = int(counts.nunique() > 1)
        else:
            y = np.repeat(counts.index.to_numpy(), counts.to_numpy())
            n = int(sum(class_counts(y, arm.amount(bench["amount"])).values()))
        added.setdefault(arm_id, {})[dataset] = n
    return added


def check_augmentation_adds(sheet: pd.DataFrame, config: dict, path=None,
                            logger: logging.Logger | None = None) -> dict:
    """Error when an augmenting arm adds nothing in every training part it runs on, warning when
    it adds nothing in some of them. Returns `arm_additions` (for tests and the log)."""
    from genogan.benchmark.targets import benchmark_settings
    from genogan.cohort_check import training_parts

    bench = benchmark_settings(config.get("benchmark", {}))
    parts = training_parts(sheet["condition"], sheet["sample"], bench, sheet.get("group"))
    added = arm_additions(parts, bench)
    layout = _layout(sheet)
    log = logger or logging.getLogger("genogan")
    never = sorted(a for a, per in added.items() if not any(per.values()))
    for arm in [a for a in never if a in ("class_weight", "class_weight+ref")]:
        never.remove(arm)  # no amount can change that: a warning, the arm is harmless
        del added[arm]
        log.warning("arm %s reweights nothing: classes %s are balanced in every training part, "
                    "so it equals `none` (drop it from benchmark.arms)", arm, layout)
    if never:
        raise GenoganInputError(
            f"arm(s) {', '.join(never)} add no synthetic sample in any training part: with "
            f"`benchmark.amount: {bench['amount']}` and classes {layout} there is nothing to "
            "top up, so each would be benchmarked as `none` against `none`", path=path, fix=FIX)
    for arm, per in added.items():
        empty = [ds for ds, n in per.items() if n == 0]
        if empty and arm == "class_weight":
            log.warning("arm class_weight reweights nothing in %d of its %d training parts "
                        "(first: %s; classes there are balanced); there it equals `none`",
                        len(empty), len(per), empty[0])
        elif empty:
            log.warning(
                "arm %s adds no synthetic sample in %d of its %d training parts (first: %s; "
                "classes there are balanced); there it equals `none`. To exercise it: %s", arm,
                len(empty), len(per), empty[0], FIX)
    return added


def check_gan_pools_cover(sheet: pd.DataFrame, config: dict, path=None) -> None:
    """Every GAN arm's dose fits in its pool: `gan.amount` sizes the pool a GAN samples once per
    training part (`synthetic_counts`), and every dose of that part (the default amount, e.g.
    balance:1.5, and each dose-response ratio) draws from it. A dose larger than the pool stops
    here, with the `gan.amount` that covers it, instead of in the evaluate job after the GAN
    trainings. A leaky GAN arm's pool comes from the whole cohort (`full`)."""
    from genogan.benchmark.arms import parse_arm
    from genogan.benchmark.names import class_counts
    from genogan.benchmark.targets import benchmark_settings, classify_jobs
    from genogan.cohort_check import training_parts
    from genogan.generators.amount import synthetic_counts
    from genogan.settings.sections import as_dict, section

    bench = benchmark_settings(config.get("benchmark", {}))
    gan = as_dict(section("gan", config.get("gan")).amount)  # its default: the settings layer
    parts = training_parts(sheet["condition"], sheet["sample"], bench, sheet.get("group"))
    full = sheet["condition"].astype(str).to_numpy()
    worst = None  # (multiple needed, arm, data set, class)
    for dataset, arm_id, _ in classify_jobs(bench):
        arm = parse_arm(arm_id)
        if not arm.is_gan or dataset not in parts:
            continue
        counts = parts[dataset][0]
        y = np.repeat(counts.index.to_numpy(), counts.to_numpy())
        need = class_counts(y, arm.amount(bench["amount"]))
        pool = synthetic_counts(full if arm.leaky else y, gan["mode"], gan["value"])
        for cls, n in need.items():
            if n > pool.get(cls, 0):
                multiple = n / max(int(np.sum((full if arm.leaky else y) == cls)), 1)
                if worst is None or multiple > worst[0]:
                    worst = (multiple, arm_id, dataset, cls, n, pool.get(cls, 0))
    if worst:
        multiple, arm_id, dataset, cls, n, have = worst
        raise GenoganInputError(
            f"arm {arm_id} needs {n} synthetic samples of class {cls!r} in training part "
            f"{dataset}, but `gan.amount` ({gan['mode']} {gan['value']:g}) makes a pool of "
            f"{have}", path=path, fix=f"set `gan.amount` to {{mode: multiple, value: "
            f"{math.ceil(multiple * 2) / 2:g}}} (covers every dose), or lower `benchmark.amount`"
            " / the largest dose-response ratio")


def _layout(sheet: pd.DataFrame) -> str:
    counts = sheet["condition"].astype(str).value_counts().sort_index()
    return ", ".join(f"{c} {n}" for c, n in counts.items())
