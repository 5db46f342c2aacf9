"""Writing the quality tables and figures, and the file-level entry points used by CLI and rules."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

from genogan.features import FeatureMatrix, read_matrix, write_matrix  # noqa: E402
from genogan.io import atomic_path  # noqa: E402
from genogan.quality.distances import fit_scaler, standardise  # noqa: E402
from genogan.quality.evaluate import evaluate_quality  # noqa: E402
from genogan.quality.inputs import align_features, check_inputs  # noqa: E402
from genogan.quality.privacy import privacy_gate  # noqa: E402

TABLE_FILES = {
    "summary": "summary.tsv", "per_feature": "per-feature.tsv",
    "fidelity_by_class": "fidelity-by-class.tsv", "detection": "detection.tsv",
    "label_fidelity": "label-fidelity.tsv", "utility": "utility.tsv", "privacy": "privacy.tsv",
    "near_copies": "near-copies.tsv", "sequence": "sequence.tsv",
}
FIGURE_FILES = {"pca": "pca.png", "dcr": "dcr.png"}


def write_table(table: pd.DataFrame, path) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def write_quality(tables: dict[str, pd.DataFrame], out_dir) -> dict[str, Path]:
    """Write every table as a TSV under `out_dir` (names in TABLE_FILES); returns the paths."""
    out_dir = Path(out_dir)
    written = {}
    for name, table in tables.items():
        path = out_dir / TABLE_FILES.get(name, f"{name.replace('_', '-')}.tsv")
        write_table(table, path)
        written[name] = path
    return written


def plot_pca(train: FeatureMatrix, synthetic: FeatureMatrix, path) -> None:
    """Real training vs synthetic samples on the first two principal components, one panel per
    class. Scaler and PCA are fitted on the real training samples only, so the axes are the
    real data's main directions of variation and synthetic samples are projected onto them.
    """
    scaler = fit_scaler(train.X)
    train_z, synth_z = standardise(scaler, train.X, synthetic.X)
    n_comp = min(2, train_z.shape[1], len(train_z))
    pca = PCA(n_components=n_comp).fit(train_z)
    pr, ps = (np.pad(pca.transform(z), ((0, 0), (0, 2 - n_comp))) for z in (train_z, synth_z))
    classes = sorted(set(train.y) | set(synthetic.y))
    fig, axes = plt.subplots(1, len(classes), figsize=(4.2 * len(classes), 4), squeeze=False,
                             sharex=True, sharey=True)
    var = np.pad(pca.explained_variance_ratio_, (0, 2 - n_comp)) * 100
    for ax, label in zip(axes[0], classes, strict=True):
        r, s = pr[train.y == label], ps[synthetic.y == label]
        ax.scatter(r[:, 0], r[:, 1], s=14, alpha=0.7, label=f"real train (n={len(r)})")
        ax.scatter(s[:, 0], s[:, 1], s=14, alpha=0.5, marker="x",
                   label=f"synthetic (n={len(s)})")
        ax.set_title(f"class {label}")
        ax.set_xlabel(f"PC1 ({var[0]:.1f}% of real variance)")
        ax.legend(fontsize=8, loc="best")
    axes[0, 0].set_ylabel(f"PC2 ({var[1]:.1f}%)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def plot_dcr(privacy_table: pd.DataFrame, threshold: float, path) -> None:
    """Distance-to-closest-training-record histograms: synthetic vs unseen holdout samples,
    with the privacy gate's threshold. Synthetic mass left of the holdout curve = near-copies.
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    values = [privacy_table.loc[privacy_table["set"] == s, "dcr_train"].to_numpy()
              for s in ("synthetic", "holdout")]
    top = max(float(np.max(v)) for v in values if len(v)) or 1.0
    bins = np.linspace(0, top * 1.02, 40)
    for v, label in zip(values, ("synthetic -> train", "holdout -> train"), strict=True):
        ax.hist(v, bins=bins, density=True, alpha=0.55, label=f"{label} (n={len(v)})")
    ax.axvline(threshold, color="k", linestyle="--", label=f"gate threshold {threshold:.3g}")
    ax.set_xlabel("distance to closest training record (standardised units)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def run_quality(train_path, holdout_path, synthetic_path, out_dir, *, seed: int = 0,
                detection_folds: int = 5, mmd_permutations: int = 200,
                gate_percentile: float = 5.0, n_jobs: int | None = None) -> dict:
    """Read the three parquet files, score them, write tables and figures under `out_dir`."""
    paths = {"train": train_path, "holdout": holdout_path, "synthetic": synthetic_path}
    train, holdout, synthetic = (read_matrix(p) for p in paths.values())
    holdout, synthetic = check_inputs(train, holdout, synthetic, paths)
    tables = evaluate_quality(train, holdout, synthetic, seed, detection_folds=detection_folds,
                              mmd_permutations=mmd_permutations, gate_percentile=gate_percentile,
                              n_jobs=n_jobs, paths=paths)
    write_quality(tables, out_dir)
    summary = tables["summary"].set_index("metric")["value"]
    plot_pca(train, synthetic, Path(out_dir) / FIGURE_FILES["pca"])
    plot_dcr(tables["privacy"], float(summary["gate.threshold"]),
             Path(out_dir) / FIGURE_FILES["dcr"])
    return tables


def run_gate(train_path, synthetic_path, out_parquet, out_tsv=None, *,
             percentile: float = 5.0):
    """Write the synthetic samples that pass the leakage-free privacy gate (training data only).

    The optional one-row TSV records threshold, kept and dropped counts for the report.
    """
    train = read_matrix(train_path)
    synthetic = align_features(read_matrix(synthetic_path), train.feature_names, "synthetic",
                               synthetic_path)
    result = privacy_gate(synthetic, train, "loo", percentile)
    write_matrix(result.kept, out_parquet)
    if out_tsv:
        write_table(pd.DataFrame([{"reference": result.reference, "percentile": percentile,
                                   "threshold": result.threshold, "n_synthetic": len(result.keep),
                                   "kept": int(result.keep.sum()),
                                   "dropped": result.n_dropped}]), out_tsv)
    return result
