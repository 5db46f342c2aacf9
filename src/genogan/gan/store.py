"""Model directory: what `train_gan` writes and `generate` reads (no pickles anywhere).

A model directory holds `generator.weights.h5` and `critic.weights.h5` (Keras weights; the critic
file holds the discriminator for models that have one), `preprocess.json` (the fitted
FeaturePreprocessor), `model.json` (model name, architecture parameters, class order and counts,
feature names, seed, training info, config) and `history.tsv` + `loss.png` (training monitor).
Every file is written through `genogan.io.atomic_path`, so a killed job never leaves one that looks
finished.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genogan import __version__
from genogan.errors import GenoganInputError
from genogan.gan.models import get_model_class
from genogan.gan.preprocess import FeaturePreprocessor
from genogan.io import atomic_path, atomic_write_text

OUTPUT_NAMES = {
    "generator": "generator.weights.h5",
    "critic": "critic.weights.h5",
    "preprocess": "preprocess.json",
    "model": "model.json",
    "history": "history.tsv",
    "loss": "loss.png",
}
MODEL_FORMAT_VERSION = 1
# Generated samples in the generator's space must stay within this many times the training data's
# range there (training data spans [-1, 1] after scaling; a healthy generator stays close to it).
SANE_RANGE_FACTOR = 20.0
_RETRAIN_FIX = ("delete the model directory and rerun rule train_gan (Snakemake reruns it when "
                "its outputs are gone), or `genogan train` for the CLI")


def output_paths(out_dir) -> dict[str, Path]:
    """The standard file names inside a model directory."""
    return {k: Path(out_dir) / v for k, v in OUTPUT_NAMES.items()}


def _plain(obj):
    """Keras wraps dict/list attributes in tracking types; JSON wants plain ones."""
    return json.loads(json.dumps(obj, default=str))


def model_metadata(trained, config: dict | None = None) -> dict:
    import keras
    import tensorflow as tf

    gan = trained.gan
    return {
        "format_version": MODEL_FORMAT_VERSION, "model": gan.model_name,
        "critic_role": gan.critic_role, "params": _plain(gan.params),
        "n_features": gan.n_features, "n_classes": gan.n_classes, "latent_dim": gan.latent_dim,
        "classes": list(trained.classes), "class_counts": dict(trained.class_counts),
        "feature_names": trained.feature_names, "seed": trained.info["seed"],
        "info": _plain(trained.info), "config": _plain(config or {}),
        "versions": {"genogan": __version__, "tensorflow": tf.__version__,
                     "keras": keras.__version__},
    }


def save_weights(model, path) -> None:
    """Keras insists on a `.weights.h5` name, so the temp file keeps that suffix."""
    with atomic_path(path, suffix=".weights.h5") as tmp:
        model.save_weights(str(tmp))


def save_trained(trained, paths, config: dict | None = None) -> dict[str, Path]:
    """Write every output of a training run; `paths` is a directory or a dict like
    `output_paths()` (Snakemake's named outputs)."""
    paths = output_paths(paths) if isinstance(paths, (str, Path)) else {
        k: Path(v) for k, v in dict(paths).items()}
    missing = sorted(set(OUTPUT_NAMES) - set(paths))
    if missing:
        raise ValueError(f"output paths missing for: {', '.join(missing)}")
    save_weights(trained.gan.generator, paths["generator"])
    save_weights(trained.gan.critic, paths["critic"])
    atomic_write_text(paths["preprocess"], trained.preprocessor.to_json())
    atomic_write_text(paths["model"], json.dumps(model_metadata(trained, config), indent=1))
    with atomic_path(paths["history"]) as tmp:
        trained.history.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    plot_history(trained.history, paths["loss"], title=f"{trained.model_name} "
                 f"(seed {trained.info['seed']})")
    return paths


def plot_history(history: pd.DataFrame, path, title: str = "") -> None:
    """Loss curves (left) and monitor scores (right) per epoch, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genogan.gan.train import MONITOR_COLUMNS

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    losses = [c for c in history.columns if c not in ("epoch", "seconds", *MONITOR_COLUMNS)]
    for col in losses:
        ax1.plot(history["epoch"], history[col], label=col, lw=1)
    ax1.set(xlabel="epoch", ylabel="loss (epoch mean)", title="losses")
    ax1.legend(fontsize=8)
    mon = history.dropna(subset=["mmd"])
    for col in MONITOR_COLUMNS:
        ax2.plot(mon["epoch"], mon[col], marker="o", ms=3, lw=1, label=col)
    ax2.axhline(1.0, color="grey", lw=0.5, ls=":")
    ax2.set(xlabel="epoch", title="fidelity: MMD (lower is better); diversity: ratios (~1)")
    ax2.legend(fontsize=8)
    fig.suptitle(title)
    # fixed margins: tight_layout measured a quarter of the plot's cost, paid per training
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.84, wspace=0.2)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


@dataclass
class LoadedGAN:
    gan: object
    preprocessor: FeaturePreprocessor
    meta: dict

    @property
    def classes(self):
        return self.meta["classes"]

    @property
    def model_name(self):
        return self.meta["model"]


def load_trained(model_dir=None, *, paths: dict | None = None, with_critic=False) -> LoadedGAN:
    """Rebuild a GAN from its model directory (weights, preprocessing and metadata).

    A missing, truncated or corrupt file (weights that do not load, or load as NaN/inf) is a
    `GenoganInputError` naming that file and the fix, never a bare h5/JSON error.
    """
    paths = {**(output_paths(model_dir) if model_dir is not None else {}), **(paths or {})}
    for key in ("model", "preprocess", "generator") + (("critic",) if with_critic else ()):
        if not Path(paths[key]).exists():
            raise GenoganInputError(f"model directory lacks {Path(paths[key]).name}",
                                    path=paths[key], fix="rerun `genogan train` / train_gan")
    meta = _read_json(paths["model"])
    if meta.get("format_version") != MODEL_FORMAT_VERSION:
        raise GenoganInputError(f"unsupported model.json format {meta.get('format_version')!r}",
                                path=paths["model"], fix="retrain with this genogan version")
    cls = get_model_class(meta["model"])
    gan = cls(meta["n_features"], meta["n_classes"], meta["params"], seed=meta["seed"])
    load_weights_checked(gan.generator, paths["generator"])
    if with_critic:
        load_weights_checked(gan.critic, paths["critic"])
    try:
        prep = FeaturePreprocessor.from_json(Path(paths["preprocess"]).read_text())
    except (ValueError, KeyError, TypeError) as err:
        raise GenoganInputError(f"preprocessing file is unreadable or corrupt ({err})",
                                path=paths["preprocess"], fix=_RETRAIN_FIX) from err
    return LoadedGAN(gan, prep, meta)


def _read_json(path) -> dict:
    try:
        meta = json.loads(Path(path).read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise GenoganInputError(f"model metadata is not valid JSON (truncated or corrupt: {err})",
                                path=path, fix=_RETRAIN_FIX) from err
    if not isinstance(meta, dict):
        raise GenoganInputError("model metadata is not a JSON object", path=path, fix=_RETRAIN_FIX)
    return meta


def load_weights_checked(model, path) -> None:
    """Load Keras weights; a file that does not load or holds NaN/inf weights is an error naming
    it (a same-size corruption loads "fine" and would make every generated sample NaN)."""
    try:
        model.load_weights(str(path))
    except Exception as err:  # h5py/Keras raise OSError, ValueError, KeyError, ... for bad files
        raise GenoganInputError(
            f"weights file cannot be read: truncated, corrupt or from another model "
            f"({type(err).__name__}: {str(err)[:200]})", path=path, fix=_RETRAIN_FIX) from err
    bad = [w.name for w in model.weights if not np.isfinite(np.asarray(w.numpy())).all()]
    if bad:
        raise GenoganInputError(f"weights file holds NaN/inf values (in {bad[0]}): it is corrupt",
                                path=path, fix=_RETRAIN_FIX)


def check_generated(U, X, *, model: str = "", path=None) -> None:
    """Generated samples must be finite, and stay within `SANE_RANGE_FACTOR` x the training
    range in the generator's space (`U`); `X` (input space) must be finite too. Checked before
    anything is written: a broken generator never reaches a classifier."""
    U, X = np.asarray(U, dtype=np.float64), np.asarray(X, dtype=np.float64)
    for name, arr in (("generator output", U), ("generated samples", X)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise GenoganInputError(
                f"{model} {name}: {int(bad.any(axis=1).sum())} of {len(arr)} samples contain "
                f"NaN/inf (first: row {int(np.argwhere(bad)[0][0])})", path=path,
                fix="the model's weights are corrupt or training diverged: " + _RETRAIN_FIX)
    if U.size and np.abs(U).max() > SANE_RANGE_FACTOR:
        raise GenoganInputError(
            f"{model} generated samples reach {np.abs(U).max():.3g} in the generator's space, "
            f"more than {SANE_RANGE_FACTOR:g}x the training data's range (|u| <= 1)", path=path,
            fix="the model's weights are corrupt or training diverged: " + _RETRAIN_FIX)


# ---- checkpoints (resume of a killed training run) --------------------------------------------
def checkpoint_fingerprint(X, y, model: str, params: dict, seed: int, train_config,
                           runtime: dict | None = None) -> str:
    """What a checkpoint must match to be resumed: every input of the trained weights.

    The data, labels, model name and resolved architecture parameters, the seed, every training
    option (`epochs` included: a checkpoint past a shorter run's end would return an over-trained
    model; only `keep_checkpoints` is left out) and the resolved runtime (precision, XLA,
    TensorFlow version: each changes the arithmetic).
    """
    opts = asdict(train_config) if is_dataclass(train_config) else dict(train_config)
    opts.pop("keep_checkpoints", None)
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X, dtype=np.float64).tobytes())
    h.update(str(np.asarray(X).shape).encode())
    h.update("\x00".join(map(str, y)).encode())
    h.update(json.dumps([model, _plain(params), int(seed), opts, runtime or {}], sort_keys=True,
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


def read_history(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")
