"""Augmentation by any registered generative model, with imbalanced-learn's sampler API.

`GeneratorAugmenter(...).fit_resample(X, y)` trains a class-conditional model on (X, y) and
returns the real samples followed by synthetic ones. Inside an `imblearn.pipeline.Pipeline`,
resampling runs only during `fit`, so cross-validation never lets the model see a test fold:
leakage-free by construction.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.base import BaseEstimator

from genogan.generators.amount import synthetic_counts


class GeneratorAugmenter(BaseEstimator):
    """Append generated samples to a training set.

    Parameters
    ----------
    model : a registered model name (`genogan.generators.registry.names()`).
    params : model hyper-parameters (overrides of the model's defaults); training options
        (`gan:` config keys such as `epochs`, `GanSettings`) may be mixed in and go to training.
    amount : how many to add: ``"balance"`` (top every class up to the majority class), a number
        r (r x each class's real count), or ``{"mode": ..., "value": ...}`` as in config
        `gan.amount` (see `genogan.generators.synthetic_counts`). Default: balance.
    seed : seeds training (bit-identical on CPU) and generation.
    train : training options (`gan:` config keys: epochs, batch_size, early_stopping, ...).
    """

    _estimator_type = "sampler"

    def __init__(self, model: str = "cwgan_gp", params: dict | None = None,
                 amount=None, seed: int = 0, train: dict | None = None):
        self.model, self.params, self.amount, self.seed, self.train = (
            model, params, amount, seed, train)

    def _split_params(self):
        from genogan.settings.sections import GanSettings

        train_keys = set(GanSettings.__dataclass_fields__)
        params = dict(self.params or {})
        train = {**{k: params.pop(k) for k in list(params) if k in train_keys},
                 **(self.train or {})}
        return params, train

    def counts_for(self, y) -> dict:
        """Synthetic samples per class that `fit_resample` adds for labels y."""
        amount = self.amount
        if amount is None or (isinstance(amount, str) and amount.lower() == "balance"):
            amount = {"mode": "balance", "value": 1}
        elif not isinstance(amount, dict):
            amount = {"mode": "multiple", "value": float(amount)}
        amount = {"mode": "balance", "value": 1, **amount}
        return synthetic_counts(y, amount["mode"], amount["value"])

    def fit(self, X, y):
        from genogan.generators.train import train_model

        y = np.asarray(y)
        self.classes_ = np.unique(y)
        codes = np.searchsorted(self.classes_, y).astype(str)
        # train on class indices (zero-padded strings sort like the indices), so any label type
        # maps back exactly
        codes = np.char.zfill(codes, len(str(len(self.classes_))))
        params, train = self._split_params()
        self.trained_ = train_model(np.asarray(X, dtype=np.float64), codes, model=self.model,
                                  params=params, seed=self.seed, config=train,
                                  logger=logging.getLogger("genogan.augment"))
        return self

    def fit_resample(self, X, y):
        from genogan.generators.synthesis import generate_arrays

        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        counts = self.counts_for(y)  # before training: a bad amount fails fast
        self.fit(X, y)
        self.sampling_counts_ = counts
        codes = self.trained_.classes  # zero-padded class indices, in class order
        per_code = {codes[i]: counts[c] for i, c in enumerate(self.classes_.tolist())}
        X_syn, y_syn = generate_arrays(self.trained_.model, self.trained_.preprocessor, codes,
                                       per_code, self.seed)
        y_syn = self.classes_[y_syn.astype(int)] if len(y_syn) else y[:0]
        return np.vstack([X, X_syn]), np.concatenate([y, y_syn])
