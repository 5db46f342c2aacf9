"""Model directory: what training writes and generation reads (no pickles anywhere).

A model directory holds one `<network>.weights.h5` per network of the model (Keras weights: a
GAN's generator and critic, the VAE's encoder and decoder, the diffusion model's denoiser; see
`genogan.generators.contract`), `preprocess.json` (the fitted FeaturePreprocessor), `model.json`
(model name and family, networks, architecture parameters, class order and counts, feature
names, seed, training info, config) and `history.tsv` + `loss.png` (training monitor). Every file
is written through `genogan.io.atomic_path`, so a killed job never leaves one that looks finished.
Nothing here knows a model's networks by name: `model.json` lists them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genogan import __version__
from genogan.errors import GenoganInputError
from genogan.generators.checkpoints import plain
from genogan.generators.registry import family, model_class
from genogan.generators.preprocess import FeaturePreprocessor
from genogan.io import atomic_path, atomic_write_text

OUTPUT_NAMES = {  # beside one `<network>.weights.h5` per network
    "preprocess": "preprocess.json",
    "model": "model.json",
    "history": "history.tsv",
    "loss": "loss.png",
}
MODEL_FORMAT_VERSION = 2  # 2: weights per network, named in model.json
# Generated samples in the generator's space must stay within this many times the training data's
# range there (training data spans [-1, 1] after scaling; a healthy generator stays close to it).
SANE_RANGE_FACTOR = 20.0
_RETRAIN_FIX = ("delete the model directory and rerun rule train_gan (Snakemake reruns it when "
                "its outputs are gone), or `genogan train` for the CLI")


def output_paths(out_dir) -> dict[str, Path]:
    """The standard file names inside a model directory (the weights: `weights_path`)."""
    return {k: Path(out_dir) / v for k, v in OUTPUT_NAMES.items()}


def weights_path(out_dir, network: str) -> Path:
    return Path(out_dir) / f"{network}.weights.h5"


def model_metadata(trained, config: dict | None = None) -> dict:
    import keras
    import tensorflow as tf

    model = trained.model
    return {
        "format_version": MODEL_FORMAT_VERSION, "model": model.model_name,
        "family": family(model.model_name), "networks": list(model.network_names),
        "sampling_networks": list(model.sampling_networks), "params": plain(model.params),
        "n_features": model.n_features, "n_classes": model.n_classes,
        "classes": list(trained.classes), "class_counts": dict(trained.class_counts),
        "feature_names": trained.feature_names, "seed": trained.info["seed"],
        "info": plain(trained.info), "config": plain(config or {}),
        "versions": {"genogan": __version__, "tensorflow": tf.__version__,
                     "keras": keras.__version__},
    }


def save_weights(model, path) -> None:
    """Keras insists on a `.weights.h5` name, so the temp file keeps that suffix."""
    with atomic_path(path, suffix=".weights.h5") as tmp:
        model.save_weights(str(tmp))


def save_trained(trained, out_dir, config: dict | None = None) -> dict[str, Path]:
    """Write every output of a training run into `out_dir`; returns the paths written."""
    paths = output_paths(out_dir)
    for name, net in trained.model.networks().items():
        paths[name] = weights_path(out_dir, name)
        save_weights(net, paths[name])
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

    from genogan.generators.monitor import MONITOR_COLUMNS

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
class LoadedModel:
    model: object  # a genogan.generators.contract.GenerativeModel
    preprocessor: FeaturePreprocessor
    meta: dict

    @property
    def classes(self):
        return self.meta["classes"]

    @property
    def model_name(self):
        return self.meta["model"]


def load_trained(model_dir, *, all_networks: bool = False) -> LoadedModel:
    """Rebuild a model from its directory (weights, preprocessing and metadata): the networks
    sampling needs, or every network (`all_networks`, e.g. to fine-tune or compare runs).

    A missing, truncated or corrupt file (weights that do not load, or load as NaN/inf) is a
    `GenoganInputError` naming that file and the fix, never a bare h5/JSON error.
    """
    paths = output_paths(model_dir)
    for key in ("model", "preprocess"):
        _require(paths[key])
    meta = _read_json(paths["model"])
    if meta.get("format_version") != MODEL_FORMAT_VERSION:
        raise GenoganInputError(f"unsupported model.json format {meta.get('format_version')!r}",
                                path=paths["model"], fix="retrain with this genogan version")
    model = model_class(meta["model"])(meta["n_features"], meta["n_classes"], meta["params"],
                                       seed=meta["seed"])
    for name in meta["networks"] if all_networks else meta["sampling_networks"]:
        load_weights_checked(getattr(model, name), _require(weights_path(model_dir, name)))
    try:
        prep = FeaturePreprocessor.from_json(Path(paths["preprocess"]).read_text())
    except (ValueError, KeyError, TypeError) as err:
        raise GenoganInputError(f"preprocessing file is unreadable or corrupt ({err})",
                                path=paths["preprocess"], fix=_RETRAIN_FIX) from err
    return LoadedModel(model, prep, meta)


def _require(path) -> Path:
    if not Path(path).exists():
        raise GenoganInputError(f"model directory lacks {Path(path).name}", path=path,
                                fix="rerun `genogan train` / train_gan")
    return Path(path)


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


def read_history(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")
