"""Model directory: what `train_gan` writes and `generate` reads (no pickles anywhere).

A model directory holds `generator.weights.h5` and `critic.weights.h5` (Keras weights; the critic
file holds the discriminator for models that have one), `preprocess.json` (the fitted
FeaturePreprocessor), `model.json` (model name, architecture parameters, class order and counts,
feature names, seed, training info, config) and `history.tsv` + `loss.png` (training monitor).
Every file is written through `genogan.io.atomic_path`, so a killed job never leaves one that looks
finished.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

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
    fig.tight_layout()
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
    """Rebuild a GAN from its model directory (weights, preprocessing and metadata)."""
    paths = {**(output_paths(model_dir) if model_dir is not None else {}), **(paths or {})}
    for key in ("model", "preprocess", "generator") + (("critic",) if with_critic else ()):
        if not Path(paths[key]).exists():
            raise GenoganInputError(f"model directory lacks {Path(paths[key]).name}",
                                    path=paths[key], fix="rerun `genogan train` / train_gan")
    meta = json.loads(Path(paths["model"]).read_text())
    if meta.get("format_version") != MODEL_FORMAT_VERSION:
        raise GenoganInputError(f"unsupported model.json format {meta.get('format_version')!r}",
                                path=paths["model"], fix="retrain with this genogan version")
    cls = get_model_class(meta["model"])
    gan = cls(meta["n_features"], meta["n_classes"], meta["params"], seed=meta["seed"])
    gan.generator.load_weights(str(paths["generator"]))
    if with_critic:
        gan.critic.load_weights(str(paths["critic"]))
    prep = FeaturePreprocessor.from_json(Path(paths["preprocess"]).read_text())
    return LoadedGAN(gan, prep, meta)


def read_history(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")
