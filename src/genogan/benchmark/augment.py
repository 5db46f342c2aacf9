"""Augmenters (the benchmark's arms) with imbalanced-learn's sampler API.

Every augmenter offers `fit_resample(X, y) -> (X_res, y_res)` with the real rows first, unchanged
and in order, then the synthetic rows; after the call `synthetic_mask_` flags the synthetic rows.
Because resampling happens only in `fit_resample`, an augmenter dropped into an
`imblearn.pipeline.Pipeline` is applied to training folds only: leakage-free cross-validation by
construction. The workflow runs the same objects per fold, with GAN samples precomputed by the GAN
rules (`PrecomputedSynthetic`).

How much to add is one number for every arm (`amount`): a synthetic:real ratio per class (0, 0.5,
1, 2, 5: the dose-response sweep), `"balance"` (top every class up to the majority class) or
`"balance:R"` (every class up to R x the majority class; `names.parse_amount`).
`class_counts` maps (y, amount) to per-class counts using the GAN stage's own `synthetic_counts`, so
the GAN rules and the classical arms size their samples identically.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

# the names and the amount interpreter live in the light module the Snakefile reads
from genogan.benchmark.names import (  # noqa: F401
    CLASSICAL_METHODS,
    amount_spec,
    class_counts,
    is_gan_method,
    parse_amount,
)
from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix


class Augmenter(BaseEstimator):
    """Base class: subclasses implement `generate(X, y, counts)` for the synthetic rows only.

    Splitting "how many" (`class_counts` of the training labels) from "from what" (`generate`'s
    X, y) is what lets the leaky control feed the same generator the whole cohort while sizing it
    like the correct arm (`LeakyAugmenter`).
    """

    class_weight = None  # "balanced" for the class_weight arm: the classifier is reweighted instead

    def fit_resample(self, X, y):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        X_syn, y_syn = self.generate(X, y, self.counts_for(y))
        return self._stack(X, y, X_syn, y_syn)

    def counts_for(self, y) -> dict:
        return class_counts(y, getattr(self, "amount", 0))

    def generate(self, X, y, counts):  # pragma: no cover - abstract
        raise NotImplementedError

    def _stack(self, X, y, X_syn, y_syn):
        X_syn = np.asarray(X_syn, dtype=np.float64).reshape(-1, X.shape[1])
        y_syn = np.asarray(y_syn)
        self.n_real_, self.n_synthetic_ = len(y), len(y_syn)
        self.synthetic_mask_ = synthetic_mask(len(y), len(y) + len(y_syn))
        return np.vstack([X, X_syn]), np.concatenate([y, y_syn])

    def _rng(self):
        return np.random.default_rng(getattr(self, "seed", 0))


def synthetic_mask(n_real: int, n_total: int) -> np.ndarray:
    """Synthetic rows of any sampler that follows the contract (real rows first), e.g. the GAN's."""
    return np.arange(n_total) >= n_real


class NoAugmentation(Augmenter):
    """`none`: the real training data only (the reference every arm is compared to)."""

    def __init__(self, amount=0, seed: int = 0):
        self.amount, self.seed = amount, seed

    def counts_for(self, y) -> dict:
        return {c: 0 for c in np.unique(y)}

    def generate(self, X, y, counts):
        return np.empty((0, X.shape[1])), np.empty(0, dtype=y.dtype)


class ClassWeight(NoAugmentation):
    """`class_weight`: no new samples; the classifier gets `class_weight="balanced"`."""

    class_weight = "balanced"


def _check_min_class(y, counts, need: int, method: str) -> None:
    for cls, n_new in counts.items():
        n_c = int(np.sum(y == cls))
        if n_new > 0 and n_c < need:
            raise GenoganInputError(
                f"{method} needs at least {need} real samples of class {cls!r} to make synthetic "
                f"ones; the training set has {n_c}", fix="use more data or fewer folds")


class SMOTEAugmenter(Augmenter):
    """`smote`: imbalanced-learn's SMOTE; k is lowered for classes with <= k_neighbors samples."""

    def __init__(self, amount="balance", seed: int = 0, k_neighbors: int = 5):
        self.amount, self.seed, self.k_neighbors = amount, seed, k_neighbors

    def generate(self, X, y, counts):
        from imblearn.over_sampling import SMOTE

        grow = {c: int(np.sum(y == c)) + n for c, n in counts.items() if n > 0}
        if not grow:
            return np.empty((0, X.shape[1])), np.empty(0, dtype=y.dtype)
        _check_min_class(y, counts, 2, "SMOTE")
        k = min(int(self.k_neighbors), min(int(np.sum(y == c)) for c in grow) - 1)
        self.k_used_ = k
        sampler = SMOTE(sampling_strategy=grow, k_neighbors=k, random_state=self.seed)
        X_res, y_res = sampler.fit_resample(X, y)
        return X_res[len(y):], y_res[len(y):]


class RandomOversample(Augmenter):
    """`random_oversample`: exact copies of random real training samples (imbalanced-learn)."""

    def __init__(self, amount="balance", seed: int = 0):
        self.amount, self.seed = amount, seed

    def generate(self, X, y, counts):
        from imblearn.over_sampling import RandomOverSampler

        grow = {c: int(np.sum(y == c)) + n for c, n in counts.items() if n > 0}
        if not grow:
            return np.empty((0, X.shape[1])), np.empty(0, dtype=y.dtype)
        X_res, y_res = RandomOverSampler(sampling_strategy=grow,
                                         random_state=self.seed).fit_resample(X, y)
        return X_res[len(y):], y_res[len(y):]


class GaussianNoise(Augmenter):
    """`gaussian_noise`: random real samples plus N(0, (scale * sd_j)^2) noise per feature j.

    sd_j is the feature's standard deviation over the (training) data passed in, so the jitter is
    on every feature's own scale; constant features stay constant.
    """

    def __init__(self, amount="balance", seed: int = 0, scale: float = 0.1):
        self.amount, self.seed, self.scale = amount, seed, scale

    def generate(self, X, y, counts):
        rng, sd = self._rng(), X.std(axis=0)
        rows, labels = [], []
        for cls, n_new in counts.items():
            idx = np.flatnonzero(y == cls)
            if n_new == 0 or len(idx) == 0:
                continue
            base = X[rng.choice(idx, size=n_new, replace=True)]
            rows.append(base + rng.normal(size=base.shape) * (self.scale * sd))
            labels.append(np.full(n_new, cls, dtype=y.dtype))
        return _concat(rows, labels, X, y)


class Mixup(Augmenter):
    """`mixup`: within-class convex combinations lam*x_i + (1-lam)*x_j, lam ~ Beta(alpha, alpha).

    Within-class only, so every synthetic sample keeps an unambiguous label.
    """

    def __init__(self, amount="balance", seed: int = 0, alpha: float = 1.0):
        self.amount, self.seed, self.alpha = amount, seed, alpha

    def generate(self, X, y, counts):
        rng = self._rng()
        rows, labels = [], []
        for cls, n_new in counts.items():
            idx = np.flatnonzero(y == cls)
            if n_new == 0 or len(idx) == 0:
                continue
            i, j = rng.choice(idx, size=(2, n_new), replace=True)
            lam = rng.beta(self.alpha, self.alpha, size=(n_new, 1))
            rows.append(lam * X[i] + (1.0 - lam) * X[j])
            labels.append(np.full(n_new, cls, dtype=y.dtype))
        return _concat(rows, labels, X, y)


class GaussianPCA(Augmenter):
    """`gaussian_pca`: a class-conditional Gaussian in the GAN stage's fold-fitted reduced space.

    The non-adversarial comparator of the GANs: the same `FeaturePreprocessor` (transform,
    standardise, top-`rank` principal components; fitted on the training rows passed in only)
    maps the rows to whitened scores; per class, scores are drawn from N(class mean, pooled
    within-class covariance) and mapped back with the fitted residual noise, exactly as a GAN's
    generated scores are. The pooled covariance keeps a class of a few samples well defined.
    """

    def __init__(self, amount="balance", seed: int = 0, rank="auto"):
        self.amount, self.seed, self.rank = amount, seed, rank

    def generate(self, X, y, counts):
        from genogan.generators.preprocess import FeaturePreprocessor

        rng = self._rng()
        prep = FeaturePreprocessor(rank=self.rank, scale_to_unit=False).fit(X)
        U = prep.transform(X).astype(np.float64)
        classes = [c for c in counts if counts[c] > 0]
        means = {c: U[y == c].mean(axis=0) for c in np.unique(y)}
        within = np.vstack([U[y == c] - means[c] for c in means])
        cov = within.T @ within / max(len(U) - len(means), 1)
        rows, labels = [], []
        for cls in classes:
            n_new = counts[cls]
            rows.append(rng.multivariate_normal(means[cls], cov, size=n_new, method="eigh"))
            labels.append(np.full(n_new, cls, dtype=y.dtype))
        if not rows:
            return _concat(rows, labels, X, y)
        return prep.inverse_transform(np.vstack(rows), rng=rng), np.concatenate(labels)


def _concat(rows, labels, X, y):
    if not rows:
        return np.empty((0, X.shape[1])), np.empty(0, dtype=y.dtype)
    return np.vstack(rows), np.concatenate(labels)


class PrecomputedSynthetic(Augmenter):
    """Appends synthetic samples made elsewhere (the GAN rules' per-fold parquet).

    Per class, the first `count` rows of a seeded permutation of the pool are used, so a smaller
    dose is a subset of a larger one. A pool smaller than the dose is an error, never a silent
    smaller dose. `feature_names` (the training matrix's) reorders/validates the pool's columns.
    """

    def __init__(self, synthetic=None, amount="balance", seed: int = 0, feature_names=None,
                 source: str = ""):
        self.synthetic, self.amount, self.seed = synthetic, amount, seed
        self.feature_names, self.source = feature_names, source

    def _pool(self):
        from genogan.features import read_matrix, select_features

        syn = self.synthetic
        if not isinstance(syn, FeatureMatrix):
            syn = read_matrix(syn)
        if self.feature_names is not None:
            syn = select_features(syn, self.feature_names, path=self.source or None,
                                  what="synthetic samples")
        return syn.X, syn.y

    def generate(self, X, y, counts):
        X_pool, y_pool = self._pool()
        if X_pool.shape[1] != X.shape[1]:
            raise GenoganInputError(
                f"synthetic samples have {X_pool.shape[1]} features, training data "
                f"{X.shape[1]}", path=self.source or None, fix="regenerate the synthetic samples")
        rng, rows, labels = self._rng(), [], []
        for cls, n_new in counts.items():
            idx = np.flatnonzero(y_pool.astype(str) == str(cls))
            if n_new > len(idx):
                raise GenoganInputError(
                    f"{n_new} synthetic samples of class {cls!r} needed, the pool has "
                    f"{len(idx)}", path=self.source or None,
                    fix="generate more (raise `gan.amount` to at least the largest "
                    "benchmark ratio, e.g. mode multiple, value 5)")
            if n_new:
                rows.append(X_pool[rng.permutation(idx)[:n_new]])
                labels.append(np.full(n_new, cls, dtype=y.dtype))
        return _concat(rows, labels, X, y)


class LeakyAugmenter(Augmenter):
    """INVALID by design: the base augmenter generates from the whole cohort (test samples too).

    The number of synthetic samples is sized on the training labels exactly as in the correct arm,
    so the only difference between leaky and correct is what the generator saw. Used only to report
    how much a naive pipeline would inflate the scores (inflation = leaky - correct).
    """

    leaky = True

    def __init__(self, base=None, X_full=None, y_full=None):
        self.base, self.X_full, self.y_full = base, X_full, y_full

    @property
    def class_weight(self):
        return getattr(self.base, "class_weight", None)

    def counts_for(self, y) -> dict:
        return self.base.counts_for(y)

    def generate(self, X, y, counts):
        return self.base.generate(np.asarray(self.X_full, dtype=np.float64),
                                  np.asarray(self.y_full), counts)


class ReferenceRows(NoAugmentation):
    """`real+ref`: the reference cohort's samples that carry a study class, added as they are
    (real samples, not synthetic ones): what the reference's labels are worth, the ceiling no
    generator is credited beyond. They count as added rows (`n_train_synthetic`)."""

    def __init__(self, X_reference=None, y_reference=None, seed: int = 0):
        self.X_reference, self.y_reference, self.seed = X_reference, y_reference, seed

    def fit_resample(self, X, y):
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
        keep = np.isin(np.asarray(self.y_reference).astype(str), np.unique(y.astype(str)))
        return self._stack(X, y, np.asarray(self.X_reference)[keep],
                           np.asarray(self.y_reference)[keep].astype(y.dtype))


AUGMENTERS = {
    "none": NoAugmentation,
    "class_weight": ClassWeight,
    "smote": SMOTEAugmenter,
    "random_oversample": RandomOversample,
    "gaussian_noise": GaussianNoise,
    "mixup": Mixup,
    "gaussian_pca": GaussianPCA,
}


def make_augmenter(method: str, amount="balance", seed: int = 0, params: dict | None = None):
    """Build an arm's augmenter; generative models come from
    `genogan.generators.GeneratorAugmenter` (trained here)."""
    params = dict(params or {})
    if method in AUGMENTERS:
        if method in ("none", "class_weight"):
            return AUGMENTERS[method](seed=seed)
        return AUGMENTERS[method](amount=amount, seed=seed, **params)
    try:
        from genogan.generators import GeneratorAugmenter
    except ImportError as err:  # pragma: no cover - depends on the GAN stage being installed
        raise GenoganInputError(f"unknown augmenter {method!r} and no GAN stage to build it",
                                fix=f"use one of {sorted(AUGMENTERS)} or a GAN model") from err
    mode, value = amount_spec(amount)
    return GeneratorAugmenter(model=method, params=params, amount={"mode": mode, "value": value},
                        seed=seed)


def classical_synthetic(train, method: str, amount="balance", seed: int = 0,
                        params: dict | None = None):
    """Only the synthetic rows a classical augmenter adds to `train` (a FeatureMatrix), labelled
    like the GAN pools, so the quality stage scores SMOTE/noise/mixup beside the GANs."""
    import pandas as pd

    from genogan.features import FeatureMatrix

    if method not in CLASSICAL_METHODS or method in ("none", "class_weight"):
        raise GenoganInputError(f"{method!r} adds no classical synthetic samples",
                                fix="use smote, random_oversample, gaussian_noise, mixup or "
                                "gaussian_pca")
    aug = make_augmenter(method, amount, seed, params)
    X, y = aug.fit_resample(train.X, train.y)
    mask = np.asarray(aug.synthetic_mask_, dtype=bool)
    n = int(mask.sum())
    extra = pd.DataFrame({"synthetic": [True] * n, "model": [method] * n, "seed": [seed] * n})
    return FeatureMatrix(X=X[mask], y=np.asarray(y)[mask],
                         samples=np.array([f"syn_{method}_{seed}_{i}" for i in range(n)]),
                         feature_names=list(train.feature_names), extra=extra)
