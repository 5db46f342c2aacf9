"""Leakage-free disease-classification benchmark: real vs augmented (GAN, classical) training data.

Modules: `splits` (repeated stratified k-fold, per-fold data sets), `augment` (imblearn-style
augmenters), `arms` (arm ids), `classify` (pipelines, one fold's evaluation), `metrics`, `stats`
(corrected t-test, DeLong, CIs, worth-in-real-samples), `aggregate`, `plots`, `targets` (config ->
workflow files), `jobs` (one function per workflow job), `run` (whole benchmark in memory), `cli`.
Heavy modules are imported on use, so `import genogan.benchmark` stays cheap.
"""

from genogan.benchmark.splits import (
    DATASET_REGEX,
    DATASET_WILDCARD_REGEX,
    fold_dataset,
    make_splits,
    parse_dataset_id,
)

__all__ = ["DATASET_REGEX", "DATASET_WILDCARD_REGEX", "fold_dataset", "make_splits",
           "parse_dataset_id"]
