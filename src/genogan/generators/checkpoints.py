"""Checkpoints of a training run: what one must match to be resumed, and resuming it safely.

Its own module so that the training loop (which writes checkpoints) and the store (which writes
finished model directories) do not import each other.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, is_dataclass
from pathlib import Path

import numpy as np

from genogan.settings.sections import training_options


def plain(obj):
    """Keras wraps dict/list attributes in tracking types; JSON wants plain ones."""
    return json.loads(json.dumps(obj, default=str))


def checkpoint_fingerprint(X, y, model: str, params: dict, seed: int, train_config,
                           runtime: dict | None = None) -> str:
    """What a checkpoint must match to be resumed: every input of the trained weights.

    The data, labels, model name and resolved architecture parameters, the seed, every training
    option (`epochs` included: a checkpoint past a shorter run's end would return an over-trained
    model; only `keep_checkpoints` is left out) and the resolved runtime (precision, XLA,
    TensorFlow version: each changes the arithmetic).
    """
    opts = training_options(asdict(train_config) if is_dataclass(train_config)
                            else dict(train_config))
    opts.pop("keep_checkpoints", None)
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X, dtype=np.float64).tobytes())
    h.update(str(np.asarray(X).shape).encode())
    h.update("\x00".join(map(str, y)).encode())
    h.update(json.dumps([model, plain(params), int(seed), opts, runtime or {}], sort_keys=True,
                        default=str).encode())
    return h.hexdigest()


def resume_checkpoint(ckpt, checkpoint_dir, fp: str, logger: logging.Logger | None = None
                      ) -> bool:
    """Restore `ckpt` (a tf.train.Checkpoint) from the latest checkpoint in `checkpoint_dir` when
    it was made for the same fingerprint. A checkpoint made for other data/settings, or one that
    is truncated or corrupt, is deleted with a warning and training starts from scratch (its
    tensors are all read before anything is restored, so a bad file never half-loads)."""
    import tensorflow as tf

    logger = logger or logging.getLogger("genogan")
    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.exists():
        return False
    try:
        latest = tf.train.latest_checkpoint(str(checkpoint_dir))
        if latest is None:
            if any(checkpoint_dir.iterdir()):
                raise ValueError("no readable checkpoint index")
            return False
        reader = tf.train.load_checkpoint(latest)
        saved = reader.get_tensor("fingerprint/.ATTRIBUTES/VARIABLE_VALUE")
        if saved.decode() != fp:
            logger.warning("checkpoint %s was made for other data or settings (e.g. epochs, "
                           "seed, model parameters; fingerprint %s, this run %s): ignoring it "
                           "and training from scratch", latest, saved.decode()[:12], fp[:12])
            shutil.rmtree(checkpoint_dir)
            return False
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)  # a truncated data file fails here, before any restore
    except Exception as err:  # noqa: BLE001 (TF raises many types for a damaged checkpoint)
        logger.warning("checkpoint in %s is truncated or corrupt (%s: %s): deleting it and "
                       "training from scratch", checkpoint_dir, type(err).__name__,
                       str(err)[:200])
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        return False
    ckpt.restore(latest).assert_existing_objects_matched()
    logger.info("resumed from checkpoint %s", latest)
    return True
