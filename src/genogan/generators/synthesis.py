"""Generate synthetic samples per class from a trained model, in the input feature space.

Noise is drawn statelessly per fixed-size chunk from (seed, chunk index), so the same model, counts
and seed always give the same samples, whatever the machine's batch sizes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix
from genogan.generators import runtime
from genogan.generators.store import check_generated, load_trained, weights_path

tf = runtime.tf
CHUNK = 4096
_GEN_KEY = 2_000_003


def labels_for(classes, n_per_class: dict) -> np.ndarray:
    """Row labels in class order: n_per_class[c] copies of each class c."""
    classes = [str(c) for c in classes]
    unknown = sorted(set(map(str, n_per_class)) - set(classes))
    if unknown:
        raise GenoganInputError(f"cannot generate unknown class(es) {', '.join(unknown)}",
                                fix=f"the model knows: {', '.join(classes)}")
    counts = {str(k): int(v) for k, v in n_per_class.items()}
    if any(v < 0 for v in counts.values()):
        raise GenoganInputError(f"negative sample count in {counts}")
    return np.asarray([c for c in classes for _ in range(counts.get(c, 0))], dtype=object)


def generate_arrays(model, preprocessor, classes, n_per_class: dict, seed: int, *, source=None):
    """(X, y): generated samples in the input space and their labels (class order).

    Checked finite and in a sane range (`store.check_generated`; `source` names the weights file
    in the error) before they are returned."""
    y = labels_for(classes, n_per_class)
    index = {c: i for i, c in enumerate(map(str, classes))}
    idx = np.asarray([index[c] for c in y], dtype=np.int64)
    onehot = np.eye(len(classes), dtype=np.float32)[idx] if len(y) else np.zeros(
        (0, len(classes)), np.float32)
    parts = []
    for c, start in enumerate(range(0, len(y), CHUNK)):
        key = tf.random.experimental.stateless_fold_in(
            tf.constant([int(seed), c], tf.int64), _GEN_KEY)
        parts.append(np.asarray(model.sample(onehot[start:start + CHUNK], key)))
    U = np.vstack(parts) if parts else np.zeros((0, preprocessor.n_output_), np.float32)
    # the reduced space's residual noise: seeded by the generation seed, like the model's noise
    rng = np.random.default_rng([int(seed), _GEN_KEY])
    X = (preprocessor.inverse_transform(U, rng=rng) if len(U)
         else np.zeros((0, preprocessor.n_features_)))
    check_generated(U, X, model=getattr(model, "model_name", ""), path=source)
    return X, y.astype(str)


def generate(model_dir, n_per_class: dict, seed: int) -> FeatureMatrix:
    """Synthetic FeatureMatrix with extra columns `synthetic` (True), `model` and `seed`;
    sample ids `syn_{model}_{seed}_{i}`."""
    loaded = load_trained(model_dir)
    return synthetic_matrix(loaded.model, loaded.preprocessor, loaded.classes, loaded.model_name,
                            loaded.meta.get("feature_names"), n_per_class, seed,
                            source=sampling_source(model_dir, loaded.model))


def sampling_source(model_dir, model):
    """The weights file an error about generated samples names: the first sampling network's."""
    return weights_path(model_dir, model.sampling_networks[0]) if model_dir else None


def synthetic_matrix(model, preprocessor, classes, model_name: str, feature_names,
                     n_per_class: dict, seed: int, *, source=None) -> FeatureMatrix:
    """`generate`'s matrix from a model in memory (rule train_gan samples the model it has just
    trained: the same weights and preprocessor it writes, so the same samples as reloading)."""
    X, y = generate_arrays(model, preprocessor, classes, n_per_class, seed, source=source)
    names = feature_names or [f"f{i}" for i in range(X.shape[1])]
    n = len(y)
    extra = pd.DataFrame({"synthetic": np.ones(n, dtype=bool), "model": [model_name] * n,
                          "seed": np.full(n, int(seed), dtype=np.int64)})
    samples = np.asarray([f"syn_{model_name}_{seed}_{i}" for i in range(n)], dtype=object)
    return FeatureMatrix(X=X, y=y, samples=samples, feature_names=list(names), extra=extra)
