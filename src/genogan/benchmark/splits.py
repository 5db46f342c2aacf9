"""Cross-validation splits and per-fold data sets, written once and read by every downstream job.

Why a split file: the GAN of fold f, the SMOTE of fold f and the classifier of fold f must all agree
on which samples are held out, and each must be a separate job (one GPU job per fold on a cluster).
So the assignment is computed once (`make_splits`), stored as a TSV, and every job derives its
data set from it with `fold_dataset`, which returns the training part and the test part as
separate objects: the training file handed to a GAN never contains a test sample.

Data set ids (the workflow's `{dataset}` wildcard):
- `r{repeat}_f{fold}`          one fold of the main benchmark (test = that fold, train = the rest);
- `r{repeat}_f{fold}_p{pct}`   learning curve: `pct` % of the real training part (per class, nested:
                               p25 is a subset of p50); the test part is the full real test fold;
- `r{repeat}_f{fold}_m{pct}`   class imbalance: the cohort's minority class keeps `pct` % of its
                               training samples (nested, seeded; every other class and the test
                               part are untouched);
- `null_r{repeat}_f{fold}`     permuted-label null control (labels permuted once over the whole
                               cohort, seeded, before splitting: test labels are permuted too);
- `full`                       the whole matrix (only for the *leaky* control; never a CV fold).
`DATASET_REGEX` matches the fold ids (not `full`); `DATASET_WILDCARD_REGEX` matches both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from genogan.errors import GenoganInputError
from genogan.groups import matrix_groups  # noqa: F401 (API: read with the splits)
from genogan.features import FeatureMatrix

SPLIT_COLUMNS = ["sample", "condition", "repeat", "fold", "role"]
DATASET_REGEX = r"(?:null_)?r[0-9]+_f[0-9]+(?:_[pm][0-9]+)?"
DATASET_WILDCARD_REGEX = rf"full|{DATASET_REGEX}"
_DATASET_RE = re.compile(r"^(?P<null>null_)?r(?P<repeat>[0-9]+)_f(?P<fold>[0-9]+)"
                         r"(?:_p(?P<pct>[0-9]+)|_m(?P<minority>[0-9]+))?$")
MIN_PER_CLASS = 2  # smallest class kept by a training subsample (SMOTE, classifiers need 2)
_IMBALANCE_STREAM = 0x696D62  # 'imb': the minority subsample's seed stream, apart from the others


@dataclass(frozen=True)
class DatasetId:
    """A parsed data set id; `str()` gives the canonical wildcard value back."""

    repeat: int
    fold: int
    percent: int = 100
    null: bool = False
    minority: int = 100  # % of the minority class's training samples kept (imbalance scenario)

    def __post_init__(self):
        if self.minority != 100 and (self.percent != 100 or self.null):
            raise ValueError("the imbalance scenario (minority < 100) is not combined with a "
                             "learning-curve percent or the null control")

    def __str__(self) -> str:
        text = f"r{self.repeat}_f{self.fold}"
        if self.percent != 100:
            text += f"_p{self.percent}"
        if self.minority != 100:
            text += f"_m{self.minority}"
        return f"null_{text}" if self.null else text

    @property
    def fraction(self) -> float:
        return self.percent / 100.0

    @property
    def minority_fraction(self) -> float:
        return self.minority / 100.0

    @property
    def scenario(self) -> str:
        """`main`, `learning_curve`, `imbalance` or `null_control` (how aggregation groups rows)."""
        if self.null:
            return "null_control"
        if self.minority != 100:
            return "imbalance"
        return "learning_curve" if self.percent != 100 else "main"

    @property
    def curve_percent(self) -> int:
        """The `percent` column of the results: the x value of this id's scenario curve
        (minority % kept for `imbalance`, training % kept otherwise)."""
        return self.minority if self.scenario == "imbalance" else self.percent


def parse_dataset_id(text: str) -> DatasetId:
    """Parse `r0_f1`, `r0_f1_p25`, `r0_f1_m25`, `null_r0_f1`; bad ids get an error naming the
    pattern."""
    match = _DATASET_RE.match(str(text))
    pct = int(match["pct"]) if match and match["pct"] else 100
    minority = int(match["minority"]) if match and match["minority"] else 100
    if not match or not 1 <= pct <= 100 or not 1 <= minority <= 100 or (
            match["null"] and minority != 100):
        raise GenoganInputError(
            f"invalid benchmark data set id {text!r}",
            fix="use r<repeat>_f<fold>, r<repeat>_f<fold>_p<1-99>, r<repeat>_f<fold>_m<1-99> or "
                "null_r<repeat>_f<fold>")
    return DatasetId(int(match["repeat"]), int(match["fold"]), pct, bool(match["null"]), minority)


def fraction_to_percent(fraction: float, key: str = "benchmark.learning_curve.fractions") -> int:
    """Scenario fractions become integer percents in ids; reject ones that would round.

    `key` is the config key the fraction came from (named in the error)."""
    pct = round(float(fraction) * 100)
    if not 1 <= pct <= 100 or abs(pct - float(fraction) * 100) > 1e-9:
        raise GenoganInputError(
            f"fraction {fraction!r} in `{key}` is not a whole percent in (0, 1]",
            fix=f"use fractions such as 0.1, 0.25, 0.5 in `{key}`")
    return pct


def make_splits(samples, conditions, folds: int, repeats: int, seed: int,
                groups=None) -> pd.DataFrame:
    """Repeated stratified k-fold assignment as a long table (one row per sample x repeat x fold).

    Each sample is `test` in exactly one fold of every repeat and `train` in the others. With
    `groups` (the sheet's `group` column: patient, individual, family) every group sits on one
    side of every split (`StratifiedGroupKFold`, reshuffled per repeat), and the table gets a
    `group` column: a person is never scored on samples of themselves the model has seen.
    """
    samples = np.asarray(samples, dtype=str)
    y = np.asarray(conditions, dtype=str)
    _check_can_split(samples, y, folds, repeats, groups)
    # scikit-learn not at import: the Snakefile imports this module at parse time
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedGroupKFold

    if groups is None:
        cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
        test_parts = [test for _, test in cv.split(np.zeros(len(y)), y)]
    else:
        groups = np.asarray(groups, dtype=str)
        test_parts = []
        for repeat in range(repeats):
            state = int(np.random.SeedSequence([int(seed), repeat]).generate_state(1)[0])
            cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=state)
            test_parts += [test for _, test in cv.split(np.zeros(len(y)), y, groups)]
    rows = []
    for i, test_idx in enumerate(test_parts):
        repeat, fold = divmod(i, folds)
        role = np.full(len(y), "train", dtype=object)
        role[test_idx] = "test"
        rows.append(pd.DataFrame({"sample": samples, "condition": y, "repeat": repeat,
                                  "fold": fold, "role": role}))
    table = pd.concat(rows, ignore_index=True)[SPLIT_COLUMNS]
    if groups is not None:
        table["group"] = np.tile(groups, len(test_parts))
    return table


CLOSE_PAIR_FRACTION = 0.1  # "far closer than typical": a tenth of the median pairwise distance


def close_pairs(X, samples, fraction: float = CLOSE_PAIR_FRACTION, max_rows: int = 2000,
                seed: int = 0) -> pd.DataFrame:
    """Sample pairs far closer than typical: each sample's nearest neighbour, kept when nearer
    than `fraction` x the median distance between two samples (features standardised). Technical
    replicates, a person's two biopsies, the same file twice: without a `group` column they
    would be split across training and test. The median comes from at most `max_rows` rows
    (pairwise distances are quadratic); the neighbour search covers every row."""
    from scipy.spatial.distance import pdist
    from sklearn.neighbors import NearestNeighbors

    X = np.asarray(X, dtype=np.float64)
    sd = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    rows = np.random.default_rng(seed).permutation(len(Z))[:max_rows]
    typical = float(np.median(pdist(Z[rows]))) if len(rows) > 1 else 0.0
    dist, idx = NearestNeighbors(n_neighbors=2).fit(Z).kneighbors(Z)
    out = []
    for i in np.flatnonzero(dist[:, 1] < fraction * typical):
        j = int(idx[i, 1])
        if i < j or int(idx[j, 1]) != i:  # each mutual pair once
            out.append((str(samples[i]), str(samples[j]), float(dist[i, 1])))
    frame = pd.DataFrame(out, columns=["sample_a", "sample_b", "distance"])
    frame["typical"] = typical
    return frame.sort_values("distance", ignore_index=True)



def split_layout(samples, conditions, folds: int, repeats: int) -> pd.DataFrame:
    """A table shaped like `make_splits` whose every (repeat, fold) has the same class counts in
    its training and test parts, without scikit-learn (validation runs while the Snakefile is
    parsed, where only Snakemake's dependencies may be present). Which samples go where differs.

    StratifiedKFold gives fold `i` the classes of `sorted(y_encoded)[i::folds]` (classes encoded in
    order of first appearance), whatever the shuffling; `tests/test_cohort_layout.py` checks the
    counts against `make_splits`.
    """
    samples = np.asarray(samples, dtype=str)
    y = np.asarray(conditions, dtype=str)
    _check_can_split(samples, y, folds, repeats)
    _, first, inverse = np.unique(y, return_index=True, return_inverse=True)
    encoded = np.argsort(np.argsort(first))[inverse]
    order = np.sort(encoded)
    allocation = np.array([np.bincount(order[i::folds], minlength=len(first))
                           for i in range(folds)])
    fold_of = np.empty(len(y), dtype=int)
    for cls in range(len(first)):
        fold_of[np.flatnonzero(encoded == cls)] = np.repeat(np.arange(folds), allocation[:, cls])
    rows = [pd.DataFrame({"sample": samples, "condition": y, "repeat": repeat, "fold": fold,
                          "role": np.where(fold_of == fold, "test", "train")})
            for repeat in range(repeats) for fold in range(folds)]
    return pd.concat(rows, ignore_index=True)[SPLIT_COLUMNS]


def _check_can_split(samples, y, folds, repeats, groups=None) -> None:
    if folds < 2 or repeats < 1:
        raise GenoganInputError(f"cannot make {folds}-fold x {repeats} splits",
                                fix="set benchmark.folds >= 2 and benchmark.repeats >= 1")
    if len(set(samples)) != len(samples):
        dup = pd.Series(samples)[pd.Series(samples).duplicated()].iloc[0]
        raise GenoganInputError("duplicate sample id in the feature matrix", sample=dup,
                                fix="give every sample a unique id")
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise GenoganInputError("only one class in the feature matrix",
                                fix="a classifier needs at least two classes")
    if counts.min() < folds:
        raise GenoganInputError(
            f"class {str(classes[counts.argmin()])!r} has {counts.min()} samples, fewer than the "
            f"{folds} cross-validation folds", fix="add samples or lower benchmark.folds")
    if groups is not None:
        from genogan.groups import check_group_counts

        check_group_counts(y, groups, folds)



def write_splits(splits: pd.DataFrame, path) -> None:
    from genogan.io import atomic_path

    with atomic_path(path) as tmp:
        splits.to_csv(tmp, sep="\t", index=False)


def read_splits(path) -> pd.DataFrame:
    splits = pd.read_csv(path, sep="\t", dtype={"sample": str, "condition": str},
                         keep_default_na=False)  # a sample or class named 'NA' stays text
    missing = [c for c in SPLIT_COLUMNS if c not in splits.columns]
    if missing:
        raise GenoganInputError(f"split file lacks columns {missing}", path=path,
                                fix="regenerate it with `genogan split`")
    return splits


def permuted_labels(y, seed: int, repeat: int = 0) -> np.ndarray:
    """The null control's labels: one seeded permutation of the whole cohort's labels per repeat
    (every fold of a repeat shares it, so test labels are permuted consistently).

    Why one per repeat: with a single permutation every split scores the same draw, and its luck
    is shared by all of them, outside the CI over splits. Measured on the reference example (40
    samples, logreg on a 6-dimensional space): the one shipped permutation gave AUROC 0.13 over
    its 5 folds, a draw as low as 1 % of 100 permutations (their mean 0.51)."""
    rng = np.random.default_rng([int(seed), 0x6E756C6C, int(repeat)])  # 'null': own stream
    return rng.permutation(np.asarray(y))


def subsample_per_class(y, fraction: float, seed) -> np.ndarray:
    """Indices of a stratified, nested, deterministic subsample (sorted).

    Each class keeps `round(fraction * n_c)` samples (at least `MIN_PER_CLASS`, at most n_c),
    taken as the first ones of a per-class permutation fixed by `seed`: a smaller fraction is
    always a subset of a larger one, so the learning curve varies only the amount of data.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    keep = []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        n_keep = min(len(idx), max(MIN_PER_CLASS, int(round(fraction * len(idx)))))
        keep.append(rng.permutation(idx)[:n_keep])
    return np.sort(np.concatenate(keep))


def subsample_minority(y, minority: str, fraction: float, seed) -> np.ndarray:
    """Indices (sorted) that keep every sample except part of the `minority` class.

    The minority class keeps `round(fraction * n)` of its n samples, the first ones of a seeded
    permutation, so a smaller fraction is a subset of a larger one and the imbalance sweep varies
    only how rare the class is. Fewer than `MIN_PER_CLASS` kept is an error: SMOTE and the
    classifiers need two samples of each class.
    """
    y = np.asarray(y).astype(str)
    idx = np.flatnonzero(y == str(minority))
    n_keep = int(round(float(fraction) * len(idx)))
    if n_keep < MIN_PER_CLASS:
        raise GenoganInputError(
            f"imbalance scenario: keeping {float(fraction):g} of the {len(idx)} training samples "
            f"of minority class {str(minority)!r} leaves {n_keep}, fewer than {MIN_PER_CLASS}",
            fix="raise the smallest value of benchmark.imbalance.minority_fractions, lower "
                "benchmark.folds, or add samples of that class")
    kept = np.random.default_rng(seed).permutation(idx)[:n_keep]
    return np.sort(np.concatenate([np.flatnonzero(y != str(minority)), kept]))


def _take(matrix: FeatureMatrix, idx, y=None) -> FeatureMatrix:
    extra = matrix.extra.iloc[idx].reset_index(drop=True) if matrix.extra is not None else None
    labels = matrix.y if y is None else y
    return FeatureMatrix(X=matrix.X[idx], y=labels[idx], samples=matrix.samples[idx],
                         feature_names=list(matrix.feature_names), extra=extra)


def fold_dataset(matrix: FeatureMatrix, splits: pd.DataFrame, repeat: int, fold: int,
                 fraction: float = 1.0, permute_labels: bool = False, seed: int = 0,
                 minority_fraction: float = 1.0):
    """(train, test) FeatureMatrix objects of one fold; the two share no sample.

    `fraction` < 1 subsamples only the training part (stratified, nested, deterministic); the
    test part is always the whole real test fold. `minority_fraction` < 1 instead drops part of
    the cohort's minority class (`default_positive` of all labels: the same class in every fold)
    from the training part only, so the classifiers and GANs learn from a more imbalanced set
    and are scored on the real test fold. `permute_labels` replaces the labels of the
    whole cohort by the repeat's seeded permutation *before* splitting, so test labels are
    permuted too and every arm must score at chance.
    """
    part = splits[(splits["repeat"] == repeat) & (splits["fold"] == fold)]
    if part.empty:
        raise GenoganInputError(f"no split for repeat {repeat}, fold {fold}",
                                fix="check benchmark.folds/repeats match the split file")
    role = _roles_for(matrix, part)
    y = permuted_labels(matrix.y, seed, repeat) if permute_labels else matrix.y
    train_idx = np.flatnonzero(role == "train")
    test_idx = np.flatnonzero(role == "test")
    if fraction < 1.0:
        sub_seed = np.random.SeedSequence([int(seed), int(repeat), int(fold)])
        train_idx = train_idx[subsample_per_class(y[train_idx], fraction, sub_seed)]
    if minority_fraction < 1.0:
        from genogan.benchmark.metrics import default_positive  # scikit-learn: not at parse time

        sub_seed = np.random.SeedSequence([int(seed), int(repeat), int(fold), _IMBALANCE_STREAM])
        train_idx = train_idx[subsample_minority(y[train_idx], default_positive(y),
                                                 minority_fraction, sub_seed)]
    return _take(matrix, train_idx, y), _take(matrix, test_idx, y)


def _roles_for(matrix: FeatureMatrix, part: pd.DataFrame) -> np.ndarray:
    """Role of each matrix row; the split file and the matrix must list the same samples."""
    roles = dict(zip(part["sample"].astype(str), part["role"], strict=True))
    missing = [s for s in matrix.samples if s not in roles]
    if missing or len(roles) != len(matrix.samples):
        extra = sorted(set(roles) - set(matrix.samples))
        raise GenoganInputError(
            "the split file and the feature matrix list different samples",
            sample=(missing or extra)[0], fix="rerun rule `split` (delete results/splits/)")
    return np.array([roles[s] for s in matrix.samples])


def dataset_from_id(matrix: FeatureMatrix, splits: pd.DataFrame, dataset: str, seed: int):
    """`fold_dataset` driven by a data set id such as `r0_f1_p25`, `r0_f1_m25` or `null_r1_f0`."""
    ds = parse_dataset_id(dataset)
    return fold_dataset(matrix, splits, ds.repeat, ds.fold, fraction=ds.fraction,
                        permute_labels=ds.null, seed=seed,
                        minority_fraction=ds.minority_fraction)
