"""Generative models for synthetic genomic feature vectors (TensorFlow/Keras 3): conditional GANs,
a conditional VAE and a conditional diffusion model behind one contract.

Layout: `contract` (the interface every model implements), `registry` (arm name -> family and
class; TensorFlow-free), one module per family (`gans`, `cvae`, `ddpm`), and the code written once
over the contract: `train` (the training loop: selection, checkpoints, resume, fine-tuning),
`checkpoints`, `store` (model directories), `synthesis` (generation), `augment` (the
imbalanced-learn sampler), `pipeline` (file-level stages of the CLI and the workflow).

Public API (imported lazily, so `import genogan.generators` and the CLI stay fast without TF):
- `train_model(X, y, model=..., params=..., seed=..., config=GanSettings|dict, checkpoint_dir=...,
  init_from=...)`
- `save_trained(trained, out_dir, config)`, `load_trained(model_dir)`
- `generate(model_dir, n_per_class, seed) -> FeatureMatrix`, `generate_arrays(...)`
- `synthetic_counts(y, mode, value)`, `GeneratorAugmenter` (imbalanced-learn sampler API)
- `FeaturePreprocessor`, `model_class(name)`, `names()`, `family(name)`
- monitor scores: `mmd_rbf`, `diversity_scores`
"""

from __future__ import annotations

import importlib

_LAZY = {
    "train_model": "genogan.generators.train",
    "TrainedModel": "genogan.generators.train",
    "save_trained": "genogan.generators.store",
    "load_trained": "genogan.generators.store",
    "output_paths": "genogan.generators.store",
    "generate": "genogan.generators.synthesis",
    "generate_arrays": "genogan.generators.synthesis",
    "synthetic_counts": "genogan.generators.amount",
    "AMOUNT_MODES": "genogan.generators.amount",
    "GeneratorAugmenter": "genogan.generators.augment",
    "FeaturePreprocessor": "genogan.generators.preprocess",
    "model_class": "genogan.generators.registry",
    "names": "genogan.generators.registry",
    "family": "genogan.generators.registry",
    "mmd_rbf": "genogan.generators.monitor",
    "diversity_scores": "genogan.generators.monitor",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'genogan.generators' has no attribute '{name}'")
