"""The whole benchmark in one Python call (no Snakemake): same splits, jobs and statistics.

Useful for notebooks, tests and small cohorts; the workflow runs the same `evaluate_arm` per job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from genogan.benchmark.aggregate import aggregate
from genogan.benchmark.arms import parse_arm
from genogan.benchmark.jobs import cohort_positive, evaluate_arm
from genogan.benchmark.splits import dataset_from_id, make_splits, matrix_groups
from genogan.benchmark.targets import (
    benchmark_settings,
    classify_jobs,
    generator_seeds_for,
    required_gan_amount,
)
from genogan.features import FeatureMatrix


@dataclass
class BenchmarkResult:
    settings: dict
    splits: pd.DataFrame
    per_fold: pd.DataFrame
    oof: pd.DataFrame
    tables: dict = field(default_factory=dict)  # aggregate, inflation, worth, pooled_oof


def run_benchmark(matrix: FeatureMatrix, benchmark_config: dict | None = None, *,
                  synthetic_provider=None, log=None) -> BenchmarkResult:
    """Run every (data set, arm, classifier) job of the config in memory and aggregate.

    `synthetic_provider(dataset, model, seed, train)` returns the synthetic pool (FeatureMatrix)
    of a GAN arm; `dataset` is `full` (with the whole cohort as `train`) for leaky GAN arms.
    Without one, `GANPoolProvider` trains each GAN once per data set and seed in-process, as the
    workflow's train_gan/generate rules do.
    """
    s = benchmark_settings(benchmark_config)
    if synthetic_provider is None:
        synthetic_provider = GANPoolProvider(s)
    splits = make_splits(matrix.samples, matrix.y, s["folds"], s["repeats"], s["seed"],
                         matrix_groups(matrix))
    positive = cohort_positive(s, matrix.y)
    datasets, rows, oofs = {}, [], []
    for dataset, arm, clf in classify_jobs(s):
        if dataset not in datasets:
            datasets[dataset] = dataset_from_id(matrix, splits, dataset, s["seed"])
        train, test = datasets[dataset]
        synthetic = _synthetic_for(dataset, arm, s, train, matrix, synthetic_provider)
        if log:
            log.info("classify %s %s %s", dataset, arm, clf)
        r, o = evaluate_arm(train, test, dataset, arm, clf, s, positive=positive,
                            synthetic=synthetic, full=matrix)
        rows.append(r)
        oofs.append(o)
    per_fold = pd.concat(rows, ignore_index=True)
    oof = pd.concat(oofs, ignore_index=True)
    return BenchmarkResult(s, splits, per_fold, oof, aggregate(per_fold, oof, s))


class GANPoolProvider:
    """Trains `genogan.generators.GeneratorAugmenter` once per (data set, model, seed) and caches
    its pool.

    The pool is large enough for every dose of the config (and for balancing), so all classifiers
    and doses of a fold share one GAN, exactly like the per-fold GAN jobs of the workflow.
    """

    def __init__(self, s: dict):
        self.s, self.cache = s, {}

    def pool_multiple(self, y) -> float:
        """A multiple of every class that covers the largest dose and the default amount."""
        from genogan.benchmark.augment import class_counts

        counts = pd.Series(y).value_counts()
        need = class_counts(y, self.s["amount"])
        return max([required_gan_amount(self.s)["value"]]
                   + [need[c] / counts[c] for c in counts.index])

    def __call__(self, dataset, model, seed, train: FeatureMatrix) -> FeatureMatrix:
        key = (dataset, model, seed)
        if key not in self.cache:
            from genogan.generators import GeneratorAugmenter

            amount = {"mode": "multiple", "value": self.pool_multiple(train.y)}
            gan = GeneratorAugmenter(model=model, params=self.s["augmenter_params"].get(model),
                               amount=amount, seed=seed)
            X_res, y_res = gan.fit_resample(train.X, train.y)
            n = len(train.y)
            self.cache[key] = FeatureMatrix(
                X_res[n:], np.asarray(y_res[n:]),
                np.array([f"{model}_{seed}_{i}" for i in range(len(y_res) - n)]),
                list(train.feature_names))
        return self.cache[key]


def _synthetic_for(dataset, arm, s, train, matrix, provider):
    a = parse_arm(arm)
    if not a.is_gan:
        return None
    source, data = ("full", matrix) if a.leaky else (dataset, train)
    return [provider(source, a.method, g, data) for g in generator_seeds_for(dataset, s)]
