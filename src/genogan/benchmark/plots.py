"""Benchmark figures (matplotlib, Agg): each one titled, labelled and with a legend.

Every function takes the aggregated tables (`aggregate.aggregate`) and writes one PNG atomically.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import auc, precision_recall_curve, roc_curve  # noqa: E402

from genogan.benchmark.conclusive import TOO_WIDE, reading, too_wide_note  # noqa: E402
from genogan.benchmark.metrics import METRIC_LABELS  # noqa: E402
from genogan.benchmark.names import is_balance  # noqa: E402
from genogan.benchmark.verdict import compared_arms  # noqa: E402
from genogan.io import atomic_path  # noqa: E402

PANEL_METRICS = ("auroc", "auprc", "balanced_accuracy", "mcc")
CHANCE = {"auroc": 0.5, "mcc": 0.0}


def _save(fig, path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:  # bbox "tight": legends placed outside the axes stay in
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)


def _empty(path, title: str, message: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    _save(fig, path)


def _too_wide(rows: pd.DataFrame, metric: str, label, low="diff_ci_low", high="diff_ci_high",
              centre: float = 0.0, what: str = "difference to none") -> str:
    """The note naming the plotted CIs too wide to conclude (`conclusive.reading`), or ''.

    rows: the plotted comparisons (NaN bounds, e.g. the `none` arm itself, are not counted);
    label(row) names one in the note; a table without these bounds names none."""
    if not {low, high} <= set(rows.columns):
        return ""
    rows = rows.dropna(subset=[low, high])
    wide = [label(r) for _, r in rows.iterrows()
            if reading(r[low], r[high], metric, centre) == TOO_WIDE]
    return too_wide_note(wide, metric, len(rows), what)


def _mark_too_wide(fig, *notes: str, below=None) -> None:
    """Put the too-wide notes on the figure (red, kept by bbox 'tight'): under the artist `below`
    (e.g. an axes' x label) when given, else under the whole figure."""
    text = "\n".join(n for n in notes if n)
    if not text:
        return
    if below is None:
        fig.text(0.5, 0.0, text, ha="center", va="top", fontsize="small", color="#b22222")
    else:
        _note_below(fig, below, text, color="#b22222")


def _note_below(fig, artist, text: str, **kw):
    """A text centred under `artist` (a Text or Axes), 6 points below it; returns it."""
    return fig.axes[0].annotate(text, xy=(0.5, 0), xycoords=artist, xytext=(0, -6),
                                textcoords="offset points", ha="center", va="top",
                                fontsize="small", annotation_clip=False, **kw)


def _errorbar_x(ax, y, sub, offset, label):
    err = np.vstack([sub["mean"] - sub["ci_low"], sub["ci_high"] - sub["mean"]])
    ax.errorbar(sub["mean"], y + offset, xerr=np.nan_to_num(err), fmt="o", capsize=3,
                label=label)


def plot_arms(table: pd.DataFrame, path, scenario: str = "main", title_extra: str = "") -> None:
    """Forest plot: each metric's mean and 95 % CI per arm, one marker per classifier."""
    main = table[(table["scenario"] == scenario) & (table["percent"] == 100)]
    if main.empty:
        return _empty(path, "Metric per arm", "no results for this scenario")
    arms = list(dict.fromkeys(main["arm"]))
    classifiers = list(dict.fromkeys(main["classifier"]))
    fig, axes = plt.subplots(1, len(PANEL_METRICS), figsize=(4 * len(PANEL_METRICS),
                                                              1.0 + 0.45 * len(arms)), sharey=True)
    for ax, metric in zip(axes, PANEL_METRICS, strict=True):
        for k, clf in enumerate(classifiers):
            sub = main[(main["metric"] == metric) & (main["classifier"] == clf)]
            sub = sub.set_index("arm").reindex(arms)
            offset = (k - (len(classifiers) - 1) / 2) * 0.2
            _errorbar_x(ax, np.arange(len(arms)), sub, offset, clf)
        if metric in CHANCE:
            ax.axvline(CHANCE[metric], color="grey", ls=":", lw=1, label="chance")
        ax.set_xlabel(f"{METRIC_LABELS[metric]} (mean, 95 % CI)")
        ax.set_title(METRIC_LABELS[metric])
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(np.arange(len(arms)), arms)
    axes[0].set_ylabel("arm (augmenter)")
    axes[0].invert_yaxis()
    axes[-1].legend(title="classifier", loc="best", fontsize="small")
    fig.suptitle(f"Classification performance per augmentation arm{title_extra} "
                 "(CV folds x repeats; Nadeau-Bengio corrected 95 % CI)")
    _save(fig, path)


def arm_colours(arms) -> dict:
    """A distinct colour per arm, stable across figures (`none` always black)."""
    palette = list(plt.get_cmap("tab20").colors)
    others = [a for a in dict.fromkeys(arms) if a != "none"]
    colours = {arm: palette[(2 * i) % 20 + (2 * i // 20) % 2] for i, arm in enumerate(others)}
    return {"none": "black", **colours}


def plot_forest(table: pd.DataFrame, path, metric: str = "auroc") -> None:
    """The main figure: paired difference to `none` per arm and classifier, with the corrected
    95 % CI and a zero line (CIs of differences are much tighter than those of the scores)."""
    rows = compared_arms(table, metric)
    label = METRIC_LABELS.get(metric, metric)
    if rows.empty:
        return _empty(path, f"Difference in {label} vs no augmentation", "no augmented arm")
    arms = list(dict.fromkeys(rows["arm"]))
    classifiers = list(dict.fromkeys(rows["classifier"]))
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.5 * len(arms)))
    markers = "osD^vP*X"
    for k, clf in enumerate(classifiers):
        sub = rows[rows["classifier"] == clf].set_index("arm").reindex(arms)
        y = np.arange(len(arms)) + (k - (len(classifiers) - 1) / 2) * 0.18
        err = np.vstack([sub["diff_vs_none"] - sub["diff_ci_low"],
                         sub["diff_ci_high"] - sub["diff_vs_none"]])
        ax.errorbar(sub["diff_vs_none"], y, xerr=np.nan_to_num(err), fmt=markers[k % 8],
                    capsize=3, label=clf)
    ax.axvline(0, color="grey", lw=1)
    family = dict(zip(rows["arm"], rows["family"], strict=False))
    ax.set_yticks(np.arange(len(arms)), [f"{a}  [{family[a]}]" for a in arms])
    for i in range(1, len(arms)):  # a line between families (rows come grouped: by_family)
        if family[arms[i]] != family[arms[i - 1]]:
            ax.axhline(i - 0.5, color="grey", lw=0.6, ls="--")
    ax.invert_yaxis()
    ax.set_xlabel(f"difference in {label} vs none (paired, Nadeau-Bengio corrected 95 % CI)")
    ax.set_ylabel("arm (augmenter)  [family]")
    ax.set_title(f"Does augmentation help? {label} minus no augmentation, "
                 f"{int(rows['n'].max())} splits")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(title="classifier", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    _mark_too_wide(fig, _too_wide(rows, metric, lambda r: f"{r['arm']} / {r['classifier']}"),
                   below=ax.xaxis.label)
    _save(fig, path)


def plot_roc_pr(pooled: pd.DataFrame, path, classifier: str) -> None:
    """ROC and precision-recall curves of the valid main arms (default amount; dose arms are in
    the dose-response figure) from pooled out-of-fold scores."""
    sel = pooled[(pooled["scenario"] == "main") & (pooled["percent"] == 100)
                 & (pooled["classifier"] == classifier) & ~pooled["leaky"].astype(bool)
                 & ~pooled["arm"].astype(str).str.contains("-x", regex=False)]
    score_cols = [c for c in sel.columns if c.startswith("score_") and sel[c].notna().any()]
    if sel.empty or len(score_cols) != 2:
        return _empty(path, "ROC and PR curves", "ROC/PR curves are drawn for binary problems")
    positive = str(sel["positive"].iloc[0])
    fig, (ax_roc, ax_pr) = plt.subplots(1, 2, figsize=(13, 5))
    colours = arm_colours(sel["arm"])
    for arm, sub in sel.groupby("arm", sort=False):
        truth = sub["condition"].astype(str) == positive
        score = sub[f"score_{positive}"]
        fpr, tpr, _ = roc_curve(truth, score)
        prec, rec, _ = precision_recall_curve(truth, score)
        ax_roc.plot(fpr, tpr, color=colours[arm], label=f"{arm} (AUC {auc(fpr, tpr):.2f})")
        ax_pr.plot(rec, prec, color=colours[arm], label=f"{arm} (AP {_ap(truth, score):.2f})")
    ax_roc.plot([0, 1], [0, 1], color="grey", ls=":", label="chance")
    ax_pr.axhline(truth.mean(), color="grey", ls=":", label=f"prevalence {truth.mean():.2f}")
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate",
               title=f"ROC ({classifier}; positive class '{positive}')")
    ax_pr.set(xlabel="recall", ylabel="precision", title=f"Precision-recall ({classifier})")
    for ax in (ax_roc, ax_pr):  # legends below the axes, never over the curves
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
        ax.grid(alpha=0.3)
    fig.suptitle("Pooled out-of-fold predictions (each sample's score averaged over repeats "
                 "and generator seeds)")
    _save(fig, path)


def _ap(truth, score) -> float:
    from sklearn.metrics import average_precision_score

    return average_precision_score(truth, score)


def plot_learning_curve(table: pd.DataFrame, worth: pd.DataFrame, path, classifier: str,
                        metric: str = "auroc") -> None:
    """Metric vs number of real training samples, one line (with CI band) per arm."""
    lc = table[(table["scenario"] == "learning_curve") & (table["classifier"] == classifier)
               & (table["metric"] == metric)]
    if lc.empty:
        return _empty(path, "Learning curve", "learning curve disabled or empty")
    full = table[(table["scenario"] == "main") & (table["classifier"] == classifier)
                 & (table["metric"] == metric) & table["arm"].isin(lc["arm"].unique())]
    data = pd.concat([lc, full]).sort_values("n_train_real")
    fig, ax = plt.subplots(figsize=(7, 5))
    for arm, sub in data.groupby("arm", sort=False):
        line, = ax.plot(sub["n_train_real"], sub["mean"], marker="o", label=arm)
        ax.fill_between(sub["n_train_real"], sub["ci_low"], sub["ci_high"], alpha=0.15,
                        color=line.get_color())
    if metric in CHANCE:
        ax.axhline(CHANCE[metric], color="grey", ls=":", label="chance")
    ax.set(xlabel="real training samples per fold (mean)",
           ylabel=f"{METRIC_LABELS[metric]} (mean, 95 % CI)",
           title=f"Learning curve ({classifier}): where does augmentation help?")
    ax.legend(title="arm", fontsize="small")
    ax.grid(alpha=0.3)
    below = ax.xaxis.label
    note = _worth_note(worth, classifier, metric)
    if note:  # under the x label, never over the curves
        below = _note_below(fig, below, note, bbox={"facecolor": "white", "edgecolor": "grey"})
    _mark_too_wide(fig, _too_wide(data[data["arm"] != "none"], metric,
                                  lambda r: f"{r['arm']} at {r['percent']:.0f} %"), below=below)
    _save(fig, path)


IMBALANCE_METRICS = ("auroc", "balanced_accuracy")


def plot_imbalance(table: pd.DataFrame, path, classifier: str,
                   metrics=IMBALANCE_METRICS) -> None:
    """Metric vs % of the minority class's training samples kept, one line (with CIs) per arm.

    The 100 % point is the main benchmark (same arms, main classifier). A threshold-free metric
    (AUROC) sits beside balanced accuracy, which is where imbalance and rebalancing show most.
    """
    im = table[(table["scenario"] == "imbalance") & (table["classifier"] == classifier)]
    if im.empty:
        return _empty(path, "Class imbalance", "imbalance scenario disabled or empty")
    full = table[(table["scenario"] == "main") & (table["classifier"] == classifier)
                 & (table["percent"] == 100) & table["arm"].isin(im["arm"].unique())]
    data = pd.concat([im, full])
    arms = list(dict.fromkeys(im["arm"]))
    percents = sorted({int(p) for p in data["percent"]})
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for k, arm in enumerate(arms):
            sub = data[(data["metric"] == metric) & (data["arm"] == arm)].sort_values("percent")
            x = sub["percent"].astype(float) * (1 + (k - (len(arms) - 1) / 2) * 0.02)
            err = np.vstack([sub["mean"] - sub["ci_low"], sub["ci_high"] - sub["mean"]])
            ax.errorbar(x, sub["mean"], yerr=np.nan_to_num(err), marker="o", capsize=3,
                        label=arm)
        if metric in CHANCE:
            ax.axhline(CHANCE[metric], color="grey", ls=":", label="chance")
        ax.set_xscale("log")
        ax.set_xticks(percents, [f"{p} %" for p in percents])
        ax.minorticks_off()
        ax.set(xlabel="minority-class training samples kept (% of the fold's; test fold intact)",
               ylabel=f"{METRIC_LABELS[metric]} (mean, 95 % CI)", title=METRIC_LABELS[metric])
        ax.grid(alpha=0.3)
    axes[0][0].legend(title="arm", fontsize="small", loc="best")
    _mark_too_wide(fig, *(_too_wide(data[(data["arm"] != "none") & (data["metric"] == m)], m,
                                    lambda r: f"{r['arm']} at {r['percent']:.0f} %")
                          for m in metrics))
    fig.suptitle(f"Class imbalance ({classifier}): does augmentation help as the minority class "
                 "shrinks? (100 % = main benchmark)")
    _save(fig, path)


def _worth_note(worth: pd.DataFrame, classifier: str, metric: str) -> str:
    """One line per arm: its largest worth in real samples where its gap to none is a detectable
    gain, otherwise its largest gap worded by its CI (`conclusive.worth_statement`)."""
    if worth is None or worth.empty:
        return ""
    w = worth[(worth["classifier"] == classifier) & (worth["metric"] == metric)]
    lines = []
    for _, sub in w.groupby("arm", sort=False):
        gains = sub[(sub["reading"] == "gain") & (sub["extra_real_samples"] > 0)]
        best = (gains.loc[gains["extra_real_samples"].idxmax()] if len(gains)
                else sub.loc[sub["gap"].fillna(-np.inf).idxmax()])
        lines.append(best["statement"])
    return "\n".join(lines)


def plot_null(table: pd.DataFrame, path, metric: str = "auroc") -> None:
    """Permuted-label control: every arm's score with its CI must straddle chance."""
    null = table[(table["scenario"] == "null_control") & (table["metric"] == metric)]
    if null.empty:
        return _empty(path, "Null control", "null control disabled or empty")
    arms = list(dict.fromkeys(null["arm"]))
    fig, ax = plt.subplots(figsize=(7, 1.5 + 0.5 * len(arms)))
    for k, (clf, sub) in enumerate(null.groupby("classifier", sort=False)):
        _errorbar_x(ax, np.arange(len(arms)), sub.set_index("arm").reindex(arms), 0.15 * k, clf)
    ax.axvline(CHANCE.get(metric, 0.5), color="red", ls="--", label="chance")
    ax.set_yticks(np.arange(len(arms)), arms)
    ax.invert_yaxis()
    ax.set(xlabel=f"{METRIC_LABELS[metric]} (mean, 95 % CI)", ylabel="arm",
           title="Permuted-label null control: every arm must be at chance")
    ax.legend(title="classifier", fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    _mark_too_wide(fig, _too_wide(null, metric, lambda r: f"{r['arm']} / {r['classifier']}",
                                  "ci_low", "ci_high", CHANCE.get(metric, 0.5),
                                  "score minus chance"))
    _save(fig, path)


def plot_dose_response(table: pd.DataFrame, path, classifier: str, methods,
                       metric: str = "auroc") -> None:
    """Metric vs synthetic:real ratio per method; ratio 0 is the `none` arm."""
    main = table[(table["scenario"] == "main") & (table["classifier"] == classifier)
                 & (table["metric"] == metric)]
    none = main[main["arm"] == "none"]
    fig, ax = plt.subplots(figsize=(7, 5))
    drawn = []
    for method in methods:
        sub = main[(main["method"] == method) & ~main["amount"].map(is_balance)]
        sub = pd.concat([none, sub]).assign(ratio=lambda d: d["amount"].astype(float))
        sub = sub.sort_values("ratio")
        if len(sub) < 2:
            continue
        drawn.append(sub[sub["arm"] != "none"])
        line, = ax.plot(sub["ratio"], sub["mean"], marker="o", label=method)
        ax.fill_between(sub["ratio"], sub["ci_low"], sub["ci_high"], alpha=0.15,
                        color=line.get_color())
    if len(none):
        ax.axhline(float(none["mean"].iloc[0]), color="grey", ls=":", label="none (real only)")
    ratios = sorted({0.0} | {float(a) for a in main["amount"] if not is_balance(a)})
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xticks(ratios, [f"{r:g}" for r in ratios])
    ax.minorticks_off()
    ax.set(xlabel="synthetic : real ratio (per class)",
           ylabel=f"{METRIC_LABELS[metric]} (mean, 95 % CI)",
           title=f"Dose-response ({classifier}): does more synthetic data help?")
    ax.legend(title="augmenter", fontsize="small")
    ax.grid(alpha=0.3)
    if drawn:
        _mark_too_wide(fig, _too_wide(pd.concat(drawn), metric,
                                      lambda r: f"{r['method']} x{float(r['amount']):g}"))
    _save(fig, path)


def plot_inflation(inflation: pd.DataFrame, path, metric: str = "auroc") -> None:
    """Leaky - correct, clearly marked INVALID: how much a naive pipeline overstates the gain."""
    sub = inflation[inflation["metric"] == metric] if len(inflation) else inflation
    title = "INVALID leaky pipelines: inflation = leaky - correct"
    if sub.empty:
        return _empty(path, title, "leaky control disabled or empty")
    labels = [f"{a} / {c}" for a, c in zip(sub["correct_arm"], sub["classifier"], strict=True)]
    fig, ax = plt.subplots(figsize=(8, 1.8 + 0.45 * len(sub)))
    y = np.arange(len(sub))
    err = np.nan_to_num(np.vstack([sub["inflation"] - sub["ci_low"],
                                   sub["ci_high"] - sub["inflation"]]))
    ax.barh(y, sub["inflation"], xerr=err, color="#d62728", alpha=0.6, hatch="//",
            capsize=3, label="inflation (INVALID leaky arm - correct arm)")
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set(xlabel=f"{METRIC_LABELS[metric]} inflation (mean, 95 % CI)",
           ylabel="augmenter / classifier", title=title)
    ax.text(0.99, 0.02, "INVALID: augmenter fitted on all samples incl. test folds",
            transform=ax.transAxes, ha="right", va="bottom", color="#d62728", fontsize="small")
    ax.legend(fontsize="small", loc="upper right")
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def all_plots(tables: dict, outputs: dict, s: dict) -> None:
    """Draw every figure named in `outputs` (keys as in `targets.plot_outputs`)."""
    clf = s["main_classifier"]
    draw = {
        "forest": lambda p: plot_forest(tables["aggregate"], p),
        "arms": lambda p: plot_arms(tables["aggregate"], p),
        "roc_pr": lambda p: plot_roc_pr(tables["pooled_oof"], p, clf),
        "learning_curve": lambda p: plot_learning_curve(tables["aggregate"], tables["worth"], p,
                                                        clf),
        "imbalance": lambda p: plot_imbalance(tables["aggregate"], p, clf),
        "null_control": lambda p: plot_null(tables["aggregate"], p),
        "dose_response": lambda p: plot_dose_response(tables["aggregate"], p, clf,
                                                      s["dose_response"]["arms"]),
        "leaky_inflation": lambda p: plot_inflation(tables["inflation"], p),
    }
    for key, path in outputs.items():
        draw[key](path)
