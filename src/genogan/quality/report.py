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
from genogan.settings.sections import schema_default  # noqa: E402

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
                detection_folds: int = schema_default("quality.detection_folds"),
                mmd_permutations: int = schema_default("quality.mmd_permutations"),
                gate_percentile: float = schema_default("quality.privacy_gate.percentile"),
                n_jobs: int | None = None) -> dict:
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
             percentile: float = schema_default("quality.privacy_gate.percentile")):
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


# --------------------------------------------------------------------------- across folds
# Flag thresholds on the means over folds and seeds (one home; the report quotes them)
COLLAPSE_RECALL, COLLAPSE_DENSITY = 0.30, 1.5  # few real samples covered, crowded modes
LABEL_BLIND_MARGIN = 0.10  # label fidelity within this of chance
MEMORISATION_DCR = 0.20  # synthetic closer than the holdout's 5th percentile (0.05 expected)
# real-vs-synthetic detection AUC this far below 0.5 is systematic, not noise: synthetic
# samples sit around the real training rows, so a held-out real row's neighbours are
# synthetic and cross-validation calls it synthetic (measured 0.10-0.14 on the demo)
DETECTION_BELOW_CHANCE = 0.35
OVERVIEW_METRICS = {"label": "label.accuracy_mean", "chance": "label.chance",
                    "recall": "fidelity.recall", "density": "fidelity.density",
                    "detection_auc": "fidelity.detection_auc", "dcr_below_holdout_p05":
                    "privacy.dcr_below_holdout_p05", "gate_dropped": "gate.dropped_fraction"}


def overview_row(summary: pd.DataFrame) -> dict:
    """The flag-relevant numbers of one quality summary table (label fidelity: mean over the
    quality stage's classifiers)."""
    value = summary.set_index("metric")["value"]
    row = {}
    for name, metric in OVERVIEW_METRICS.items():
        hits = value[[m.split("[", 1)[0] == metric for m in value.index]]
        row[name] = float(hits.mean()) if len(hits) else np.nan
    return row


def quality_overview(summaries) -> pd.DataFrame:
    """Means over folds and seeds per model, with the three flags.

    `summaries`: iterable of (dataset, model, seed, summary table). Columns: model, n (folds x
    seeds), the OVERVIEW_METRICS means, collapse, label_blind, memorisation (bool) and `flags`
    (the words the report prints).
    """
    rows = [{"dataset": d, "model": m, "seed": s, **overview_row(t)} for d, m, s, t in summaries]
    if not rows:
        return pd.DataFrame(columns=["model", "n", *OVERVIEW_METRICS, "collapse", "label_blind",
                                     "memorisation", "detection_below_chance", "flags"])
    per_fold = pd.DataFrame(rows)
    mean = per_fold.groupby("model", sort=True)[list(OVERVIEW_METRICS)].mean()
    mean.insert(0, "n", per_fold.groupby("model", sort=True).size())
    mean["collapse"] = (mean["recall"] < COLLAPSE_RECALL) & (mean["density"] > COLLAPSE_DENSITY)
    mean["label_blind"] = mean["label"] <= mean["chance"] + LABEL_BLIND_MARGIN
    mean["memorisation"] = mean["dcr_below_holdout_p05"] > MEMORISATION_DCR
    mean["detection_below_chance"] = mean["detection_auc"] < DETECTION_BELOW_CHANCE
    mean["flags"] = [flag_words(model, r) for model, r in mean.iterrows()]
    return mean.reset_index()


def flag_words(model: str, r) -> str:
    """One sentence per raised flag (or that none is raised), for the report and the log."""
    words = []
    if r["collapse"]:
        words.append(f"{model} collapses: its samples cover only {r['recall']:.0%} of the real "
                     f"samples (k-NN recall) while crowding them (density {r['density']:.2f}).")
    if r["label_blind"]:
        words.append(f"{model} ignores its label: a classifier trained on real data gives its "
                     f"samples their requested class {r['label']:.0%} of the time (chance "
                     f"{r['chance']:.0%}).")
    if r["memorisation"]:
        words.append(f"{model} memorises: {r['dcr_below_holdout_p05']:.0%} of its samples are "
                     "closer to a training sample than 95% of unseen real samples are (about 5% "
                     f"expected); the privacy gate drops {r['gate_dropped']:.0%}.")
    if r["detection_below_chance"]:
        words.append(f"{model}'s real-vs-synthetic detection AUC is {r['detection_auc']:.2f}, "
                     "far below 0.5: not realism but synthetic samples surrounding the real "
                     "training samples (cross-validation then calls held-out real samples "
                     "synthetic); read it with the distances to the training set.")
    if not any(r[f] for f in ("collapse", "label_blind", "memorisation")):
        words.insert(0, f"{model}: no collapse, label-blindness or memorisation flagged "
                     f"(recall {r['recall']:.2f}, label fidelity {r['label']:.2f}, "
                     f"{r['dcr_below_holdout_p05']:.0%} closer than the holdout's 5th "
                     "percentile).")
    return " ".join(words)


def write_quality_overview(summary_paths, out_tsv, out_txt=None) -> pd.DataFrame:
    """Read results/quality/{dataset}/{model}/seed{seed}/summary.tsv files, write the overview
    table (TSV) and, optionally, its flags in words (one line per model)."""
    items = []
    for path in map(Path, summary_paths):
        seed, model, dataset = path.parent.name, path.parent.parent.name, path.parents[2].name
        items.append((dataset, model, seed.removeprefix("seed"), pd.read_csv(path, sep="\t")))
    table = quality_overview(items)
    write_table(table, out_tsv)
    if out_txt:
        from genogan.io import atomic_write_text

        atomic_write_text(out_txt, "\n".join(table["flags"]) + "\n")
    return table
