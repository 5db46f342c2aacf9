"""Conditional GANs (TensorFlow/Keras 3) for synthetic genomic feature vectors.

Public API (imported lazily, so `import genogan.gan` and the CLI stay fast without TensorFlow):
- `train_gan(X, y, model=..., params=..., seed=..., config=TrainConfig|dict, checkpoint_dir=...)`
- `save_trained(trained, out_dir_or_paths, config)`, `load_trained(model_dir)`
- `generate(model_dir, n_per_class, seed) -> FeatureMatrix`, `generate_arrays(...)`
- `synthetic_counts(y, mode, value)`, `GANAugmenter` (imbalanced-learn sampler API)
- `FeaturePreprocessor`, `MODELS` (name -> class registry), `get_model_class(name)`
- monitor scores: `mmd_rbf`, `diversity_scores`
"""

from __future__ import annotations

import importlib

_LAZY = {
    "train_gan": "genogan.gan.train",
    "TrainConfig": "genogan.gan.train",
    "TrainedGAN": "genogan.gan.train",
    "save_trained": "genogan.gan.store",
    "load_trained": "genogan.gan.store",
    "output_paths": "genogan.gan.store",
    "OUTPUT_NAMES": "genogan.gan.store",
    "generate": "genogan.gan.synthesis",
    "generate_arrays": "genogan.gan.synthesis",
    "synthetic_counts": "genogan.gan.amount",
    "AMOUNT_MODES": "genogan.gan.amount",
    "GANAugmenter": "genogan.gan.augment",
    "FeaturePreprocessor": "genogan.gan.preprocess",
    "MODELS": "genogan.gan.models",
    "get_model_class": "genogan.gan.models",
    "mmd_rbf": "genogan.gan.monitor",
    "diversity_scores": "genogan.gan.monitor",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'genogan.gan' has no attribute '{name}'")
