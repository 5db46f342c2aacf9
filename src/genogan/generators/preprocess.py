"""Feature preprocessing for GAN training, fitted on training data only and inverted on generation.

Why: k-mer counts and frequencies are non-negative, skewed and (for frequencies) compositional.
A generator with a tanh output cannot produce them directly, and a critic sees mostly scale
differences if features are left raw. So features are transformed (log1p or centred log-ratio),
standardised and scaled into the generator's output range; generated samples go through the exact
inverse, then are clipped to stay non-negative and renormalised to sum to one when the training
rows did (or re-centred to sum to zero when the training rows were already CLR-transformed).
Features that are constant, or zero in every training sample, are generated as that constant.

With n training samples and p >> n features the rows span at most n - 1 directions, so by default
the standardised rows are also projected on their top principal components (a `ReducedSpace`,
fitted on the training rows only): the networks learn r whitened scores instead of p features.
On generation the scores are mapped back, and a per-feature residual noise (the probabilistic-PCA /
factor-analysis observation model, estimated from the training residuals) is added, so a
synthetic sample is as far from every training sample as a fresh real one is.

Everything fitted is kept in plain JSON (no pickles), so a model directory is safe to share.
"""

from __future__ import annotations

import json

import numpy as np

from genogan.errors import GenoganInputError

MODES = ("auto", "log1p", "clr", "none")
FORMAT_VERSION = 2
RANK_AUTO_FRACTION = 0.5  # rank "auto": half the training rows (see ReducedSpace)
_COMPOSITIONAL_RTOL = 1e-6


def is_row_centred(X: np.ndarray) -> bool:
    """True when every row sums to 0 but values are not all 0: e.g. CLR-transformed k-mers."""
    X = np.asarray(X, dtype=np.float64)
    scale = np.abs(X).sum(axis=1)
    if X.size == 0 or X.shape[1] < 2 or not (scale > 0).all():
        return False
    return bool((np.abs(X.sum(axis=1)) <= _COMPOSITIONAL_RTOL * scale).all())


def is_compositional(X: np.ndarray) -> bool:
    """True when every row is non-negative and sums to 1 (relative frequencies)."""
    X = np.asarray(X, dtype=np.float64)
    if X.size == 0 or (X < 0).any():
        return False
    return bool(np.allclose(X.sum(axis=1), 1.0, rtol=0.0, atol=_COMPOSITIONAL_RTOL * X.shape[1]))


def resolve_rank(rank, n_samples: int, n_features: int) -> int:
    """The reduced space's dimension: ``"auto"`` = round(RANK_AUTO_FRACTION * n), an integer as
    given; always within [1, min(n - 1, p)] (the rank of n centred rows)."""
    top = max(1, min(n_samples - 1, n_features))
    if rank == "auto":
        return int(min(top, max(2, round(RANK_AUTO_FRACTION * n_samples))))
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < 1:
        raise GenoganInputError(f"preprocess rank must be 'auto', null or an integer >= 1, "
                                f"got {rank!r}", fix="e.g. gan: {preprocess: {rank: auto}}")
    return int(min(rank, top))


class ReducedSpace:
    """Top-r principal components of (standardised) training rows, whitened, and back.

    `transform` gives whitened scores (unit variance on the training rows); `inverse_transform`
    maps scores back and, given an `rng`, adds independent N(0, noise_sd_j^2) residual noise per
    feature j. noise_sd_j^2 is the training residual's sum of squares over its degrees of freedom
    (n - 1 - r), i.e. what a new sample's part outside the r components is expected to carry.
    """

    def __init__(self, rank="auto", residual_noise: bool = True):
        self.rank, self.residual_noise = rank, bool(residual_noise)

    def fit(self, Z) -> ReducedSpace:
        Z = np.asarray(Z, dtype=np.float64)
        n = len(Z)
        self.n_fit_ = n
        self.mean_ = Z.mean(axis=0)
        C = Z - self.mean_
        _, s, vt = np.linalg.svd(C, full_matrices=False)
        r = resolve_rank(self.rank, n, Z.shape[1])
        self.components_ = vt[:r]
        sd = s[:r] / np.sqrt(max(n - 1, 1))
        self.scale_ = np.where(sd > 1e-12, sd, 1.0)
        resid = C - (C @ self.components_.T) @ self.components_
        dof = max(n - 1 - r, 1)
        self.noise_sd_ = np.sqrt((resid ** 2).sum(axis=0) / dof)
        return self

    @property
    def n_components_(self) -> int:
        return len(self.components_)

    def transform(self, Z) -> np.ndarray:
        return ((np.asarray(Z, np.float64) - self.mean_) @ self.components_.T) / self.scale_

    def inverse_transform(self, W, rng: np.random.Generator | None = None) -> np.ndarray:
        Z = (np.asarray(W, np.float64) * self.scale_) @ self.components_ + self.mean_
        if rng is not None and self.residual_noise:
            Z = Z + rng.standard_normal(Z.shape) * self.noise_sd_
        return Z

    def to_dict(self) -> dict:
        return {"rank": self.rank, "residual_noise": self.residual_noise, "n_fit": self.n_fit_,
                "mean": self.mean_.tolist(), "components": self.components_.tolist(),
                "scale": self.scale_.tolist(), "noise_sd": self.noise_sd_.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> ReducedSpace:
        self = cls(d["rank"], d["residual_noise"])
        self.n_fit_ = int(d["n_fit"])
        for key in ("mean", "components", "scale", "noise_sd"):
            setattr(self, f"{key}_", np.asarray(d[key], dtype=np.float64))
        self.components_ = self.components_.reshape(-1, len(self.mean_))
        return self


class FeaturePreprocessor:
    """Transform -> standardise -> scale into [-1, 1] (times `1/(1+margin)`), and back.

    Parameters
    ----------
    mode : "auto" picks "clr" for compositional rows, "log1p" for non-negative data, else "none".
    margin : the largest training |z| of a feature maps to 1/(1+margin), so a tanh output can reach
        slightly past the training range instead of needing infinite pre-activations.
    scale_to_unit : False keeps plain z-scores (for a generator with a linear output).
    rank : None keeps every feature; ``"auto"`` or an integer r projects the standardised rows on
        their top-r principal components (`ReducedSpace`, whitened), so the networks see r
        scores. Fitted on the rows passed to `fit` only (the training part).
    residual_noise : with a rank, add the fitted per-feature residual noise on generation.
    """

    def __init__(self, mode: str = "auto", margin: float = 0.05, scale_to_unit: bool = True,
                 rank="auto", residual_noise: bool = True):
        if mode not in MODES:
            raise GenoganInputError(f"unknown preprocessing mode '{mode}'",
                                    fix=f"use one of: {', '.join(MODES)}")
        if rank is not None:
            resolve_rank(rank, 2, 1)  # a bad value fails here, before any work
        self.mode, self.margin, self.scale_to_unit = mode, float(margin), bool(scale_to_unit)
        self.rank, self.residual_noise = rank, bool(residual_noise)
        self.reduced_ = None
        self.fitted_ = False

    # ---- fitting -----------------------------------------------------------------------------
    def fit(self, X) -> FeaturePreprocessor:
        X = _check_finite(X)
        self.n_features_ = X.shape[1]
        self.compositional_ = is_compositional(X)
        self.centred_ = is_row_centred(X)  # CLR input: generated rows are re-centred too
        self.nonnegative_ = (X.min(axis=0) >= 0)
        self.zero_ = (X == 0).all(axis=0)  # e.g. k-mers never seen: generated as 0, too
        self.mode_ = self._resolve_mode(X)
        positive = X[X > 0]
        # half the smallest positive value: the usual CLR pseudocount for zeros
        self.pseudocount_ = float(positive.min() / 2) if positive.size else 1.0
        self.row_total_ = float(X.sum(axis=1).mean())
        T = self._forward(X)
        self.mean_ = T.mean(axis=0)
        std = T.std(axis=0)
        # zero variance (up to rounding of the mean): maps to 0 and back to the constant
        self.constant_ = std <= 1e-9 * (1.0 + np.abs(self.mean_))
        self.std_ = np.where(self.constant_, 1.0, std)
        Z = self._standardise(T)
        self.reduced_ = None
        if self.rank is not None:
            self.reduced_ = ReducedSpace(self.rank, self.residual_noise).fit(Z)
            Z = self.reduced_.transform(Z)
        zmax = np.abs(Z).max(axis=0) * (1.0 + self.margin)
        self.bound_ = np.where(zmax > 0, zmax, 1.0) if self.scale_to_unit else np.ones_like(zmax)
        self.fitted_ = True
        return self

    def _resolve_mode(self, X) -> str:
        if self.mode == "auto":
            if self.compositional_:
                return "clr"
            return "log1p" if self.nonnegative_.all() else "none"
        if self.mode in ("log1p", "clr") and not self.nonnegative_.all():
            raise GenoganInputError(
                f"preprocessing mode '{self.mode}' needs non-negative features, but some are "
                "negative", fix="use mode 'none' (or 'auto') for signed features")
        return self.mode

    # ---- transforms ----------------------------------------------------------------------------
    def _forward(self, X):
        if self.mode_ == "log1p":
            return np.log1p(X)
        if self.mode_ == "clr":
            L = np.log(X + self.pseudocount_)
            return L - L.mean(axis=1, keepdims=True)
        return X.copy()

    def _backward(self, T):
        if self.mode_ == "log1p":
            return np.expm1(T)
        if self.mode_ == "clr":
            # log(x + p) = clr + g per row; pick g so the row total matches the training mean
            E = np.exp(T - T.max(axis=1, keepdims=True))
            scale = (self.row_total_ + self.n_features_ * self.pseudocount_) / E.sum(axis=1)
            return E * scale[:, None] - self.pseudocount_
        return T

    def _standardise(self, T):
        Z = (T - self.mean_) / self.std_
        Z[:, self.constant_] = 0.0
        return Z

    @property
    def n_output_(self) -> int:
        """Columns of the generator's space: the rank when reduced, else the feature count."""
        self._check_fitted()
        return self.reduced_.n_components_ if self.reduced_ is not None else self.n_features_

    def transform(self, X) -> np.ndarray:
        """Input space -> the generator's space (float32, what the networks see)."""
        self._check_fitted()
        X = _check_finite(X, self.n_features_)
        Z = self._standardise(self._forward(X))
        if self.reduced_ is not None:
            Z = self.reduced_.transform(Z)
        return (Z / self.bound_).astype(np.float32)

    def inverse_transform(self, U, rng: np.random.Generator | None = None) -> np.ndarray:
        """Generator space -> input space, with the input's validity constraints restored.

        `rng`: with a reduced space, draws its residual noise (generation passes one; without it
        the map is deterministic, e.g. to check transform/inverse round trips).
        """
        self._check_fitted()
        U = np.array(U, dtype=np.float64)
        if U.ndim != 2 or U.shape[1] != self.n_output_:
            raise GenoganInputError(f"generator output has shape {U.shape}, the preprocessing "
                                    f"expects {self.n_output_} columns")
        Z = U * self.bound_
        if self.reduced_ is not None:
            Z = self.reduced_.inverse_transform(Z, rng)
        Z[:, self.constant_] = 0.0  # whatever the generator says, a constant stays constant
        X = self._backward(Z * self.std_ + self.mean_)
        X = np.where(self.nonnegative_, np.maximum(X, 0.0), X)
        X[:, self.zero_] = 0.0
        if self.centred_:
            X = X - X.mean(axis=1, keepdims=True)
        if self.compositional_:
            total = X.sum(axis=1, keepdims=True)
            X = np.divide(X, total, out=np.full_like(X, 1.0 / X.shape[1]), where=total > 0)
        return X

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    # ---- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        self._check_fitted()
        return {
            "format_version": FORMAT_VERSION, "mode": self.mode, "mode_used": self.mode_,
            "margin": self.margin, "scale_to_unit": self.scale_to_unit,
            "n_features": self.n_features_, "compositional": self.compositional_,
            "row_centred": self.centred_,
            "pseudocount": self.pseudocount_, "row_total": self.row_total_,
            "nonnegative": self.nonnegative_.astype(int).tolist(),
            "constant": self.constant_.astype(int).tolist(),
            "zero": self.zero_.astype(int).tolist(),
            "mean": self.mean_.tolist(), "std": self.std_.tolist(), "bound": self.bound_.tolist(),
            "rank": self.rank, "residual_noise": self.residual_noise,
            "reduced": self.reduced_.to_dict() if self.reduced_ is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict) -> FeaturePreprocessor:
        if d.get("format_version") != FORMAT_VERSION:
            raise GenoganInputError(
                f"preprocessing JSON has format_version {d.get('format_version')!r}, expected "
                f"{FORMAT_VERSION}", fix="retrain the GAN with this genogan version")
        self = cls(d["mode"], d["margin"], d["scale_to_unit"], d["rank"], d["residual_noise"])
        self.reduced_ = ReducedSpace.from_dict(d["reduced"]) if d["reduced"] else None
        self.mode_, self.n_features_ = d["mode_used"], int(d["n_features"])
        self.compositional_, self.pseudocount_ = bool(d["compositional"]), d["pseudocount"]
        self.centred_ = bool(d["row_centred"])
        self.row_total_ = d["row_total"]
        self.nonnegative_ = np.asarray(d["nonnegative"], dtype=bool)
        self.constant_ = np.asarray(d["constant"], dtype=bool)
        self.zero_ = np.asarray(d["zero"], dtype=bool)
        for key in ("mean", "std", "bound"):
            setattr(self, f"{key}_", np.asarray(d[key], dtype=np.float64))
        self.fitted_ = True
        return self

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> FeaturePreprocessor:
        return cls.from_dict(json.loads(text))

    def _check_fitted(self):
        if not self.fitted_:
            raise RuntimeError("FeaturePreprocessor is not fitted; call fit(X) first")


def _check_finite(X, n_features: int | None = None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise GenoganInputError(f"expected a non-empty 2-D feature matrix, got shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise GenoganInputError(
            f"feature matrix has {X.shape[1]} features, the preprocessing was fitted on "
            f"{n_features}", fix="use the same feature set as the training data")
    if not np.isfinite(X).all():
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise GenoganInputError(
            f"feature matrix has NaN/inf values (first at row {row}, feature column {col})",
            fix="impute or drop missing values before training")
    return X
