"""The benchmark's answer in words: one sentence per classifier, the controls, the quality flags.

Written from the aggregated tables (`aggregate.aggregate`) to `results/benchmark/verdict.txt`
(also printed at the end of `make run`) and to the report's landing page. The wording follows the
paired confidence interval of the difference to `none`, never the point estimate alone: an arm
"improved" the metric only when the whole 95 % CI lies above 0, "lowered" it only when it lies
below, and otherwise there is "no detectable difference" -- "too wide to conclude" where the CI
also reaches beyond the margin of `conclusive.reading`. Several arms are compared with `none`,
so every claimed improvement also gives its Holm-adjusted p over the arms of that classifier.
Each GAN arm is also read against the non-adversarial comparator (`names.COMPARATOR`) by the same
rule on its paired difference: "beat it" only when that CI lies above 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from genogan.benchmark.conclusive import (
    GAIN,
    LOSS,
    SAME,
    TOO_WIDE,
    UNKNOWN,
    margin,
    metric_range,
    reading,
)
from genogan.benchmark.metrics import METRIC_LABELS
from genogan.benchmark.arms import parse_arm
from genogan.benchmark.names import (
    COMPARATOR,
    FAMILY_ORDER,
    REF_CONTROL,
    REF_SUFFIX,
    arm_family,
    base_method,
    in_fold_twin,
    is_gan_method,
)

NULL_SCENARIO = "null_control"
CHANCE = {"auroc": 0.5, "balanced_accuracy": 0.5, "mcc": 0.0}


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the input order."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, (len(p) - rank) * p[idx])
        adjusted[idx] = min(1.0, running)
    return adjusted


def _fmt_diff(row) -> str:
    return (f"{row['diff_vs_none']:+.3f} (95 % CI {row['diff_ci_low']:+.3f} to "
            f"{row['diff_ci_high']:+.3f}, p = {row['p_nb']:.2g})")


def compared_arms(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Valid main-comparison arms (default amount: no dose or leaky arms) with their paired
    difference to `none`, every classifier (the answer and the forest plot both read these)."""
    rows = table[(table["scenario"] == "main") & (table["percent"] == 100)
                 & (table["metric"] == metric) & ~table["leaky"].astype(bool)
                 & (table["arm"] != "none")
                 & ~table["arm"].astype(str).str.contains("-x", regex=False)]
    return by_family(rows.dropna(subset=["diff_vs_none"]))


def by_family(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with a `family` column (names.arm_family), grouped in `FAMILY_ORDER` (stable
    within a family), as the forest plot and the answer present them."""
    rows = rows.assign(family=[arm_family(parse_arm(a).method) for a in rows["arm"]])
    rank = rows["family"].map({f: i for i, f in enumerate(FAMILY_ORDER)})
    return rows.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")


def main_rows(table: pd.DataFrame, classifier: str, metric: str) -> pd.DataFrame:
    """`compared_arms` of one classifier, with Holm-adjusted p over its arms."""
    rows = compared_arms(table, metric)
    rows = rows[rows["classifier"] == classifier].dropna(subset=["p_nb"]).copy()
    rows["p_holm"] = holm(rows["p_nb"]) if len(rows) else []
    return rows


CEILING_SHARE = 0.01  # `none` within 1 % of the metric's range from its maximum: no room


def ceiling_of(table: pd.DataFrame, classifier: str, metric: str) -> pd.Series | None:
    """`none`'s main row when its whole CI lies within CEILING_SHARE of the metric's maximum (no
    room for any arm to improve), else None. The lower bound decides: with few splits a CI
    clipped at the maximum (e.g. AUROC 0.73, CI 0.34 to 1.00) is wide, not a ceiling."""
    lo, hi = metric_range(metric)
    none = table[(table["scenario"] == "main") & (table["percent"] == 100)
                 & (table["metric"] == metric) & (table["classifier"] == classifier)
                 & (table["arm"] == "none") & ~table["leaky"].astype(bool)]
    if none.empty or "ci_low" not in none or not np.isfinite(float(none["ci_low"].iloc[0])):
        return None
    row = none.iloc[0]
    return row if row["ci_low"] >= hi - CEILING_SHARE * (hi - lo) else None


def classifier_sentence(table: pd.DataFrame, classifier: str, metric: str = "auroc") -> str:
    """Did any augmenter improve `metric` over no augmentation for this classifier? At a
    ceiling (`ceiling_of`) the answer is "no room to improve", and a zero difference with a
    zero-width CI is never printed as a finding."""
    label = METRIC_LABELS.get(metric, metric)
    rows = main_rows(table, classifier, metric)
    if rows.empty:
        return f"{classifier}: no augmented arm was compared with no augmentation."
    splits = int(rows["n"].max())
    better = rows[rows["diff_ci_low"] > 0].sort_values("diff_vs_none", ascending=False)
    worse = rows[rows["diff_ci_high"] < 0].sort_values("diff_vs_none")
    ceiling = ceiling_of(table, classifier, metric)
    if len(better):
        parts = [f"{r['arm']} by {_fmt_diff(r)}; Holm-adjusted p = {r['p_holm']:.2g}"
                 for _, r in better.iterrows()]
        text = f"{classifier}: {' and '.join(parts)} improved {label} over no augmentation"
    elif ceiling is not None:
        text = (f"{classifier}: no room to improve: without augmentation {label} is already "
                f"{ceiling['mean']:.3f} (95 % CI {ceiling['ci_low']:.3f} to "
                f"{ceiling['ci_high']:.3f}), within {CEILING_SHARE:.0%} of its maximum")
    elif (rows["diff_vs_none"].abs().max() == 0
          and (rows["diff_ci_high"] - rows["diff_ci_low"]).max() == 0):
        text = (f"{classifier}: every arm scored exactly as no augmentation on every split "
                "(no difference to report)")
    else:
        best = rows.loc[rows["diff_vs_none"].idxmax()]
        text = (f"{classifier}: no augmenter improved {label} over no augmentation (no "
                f"detectable difference); the largest difference, {best['arm']}, was "
                f"{_fmt_diff(best)}")
    if len(worse):
        text += "; " + ", ".join(f"{r['arm']} lowered it by {_fmt_diff(r)}"
                                 for _, r in worse.iterrows())
    text += _too_wide_clause(rows, metric, "diff_ci_low", "diff_ci_high", 0.0)
    return f"{text} ({len(rows)} arms, {splits} train/test splits)."


def harm_sentence(table: pd.DataFrame, classifiers, skip_metric: str = "auroc") -> str | None:
    """Every significant loss (the paired 95 % CI below 0) on the other reported metrics, for
    every classifier: the answer's own metric already names its losses."""
    from genogan.benchmark.metrics import METRICS

    parts = []
    for metric in (m for m in METRICS if m != skip_metric):
        rows = compared_arms(table, metric)
        rows = rows[rows["classifier"].isin(list(classifiers)) & (rows["diff_ci_high"] < 0)]
        for _, r in rows.sort_values("diff_vs_none").iterrows():
            parts.append(f"{r['arm']} lowered {METRIC_LABELS.get(metric, metric)} by "
                         f"{-r['diff_vs_none']:.3f} (95 % CI {r['diff_ci_low']:+.3f} to "
                         f"{r['diff_ci_high']:+.3f}, {r['classifier']})")
    return ("Losses on the other metrics (paired 95 % CI below 0): " + "; ".join(parts) + "."
            if parts else None)


def _too_wide_clause(rows: pd.DataFrame, metric: str, low: str, high: str, centre: float) -> str:
    """'; too wide to conclude for a, b (...)' naming the rows whose CI `conclusive.reading`
    finds too wide, or ''."""
    wide = [r["arm"] for _, r in rows.iterrows()
            if reading(r[low], r[high], metric, centre) == TOO_WIDE]
    if not wide:
        return ""
    return (f"; too wide to conclude for {', '.join(wide)} (95 % CI contains "
            f"{centre:g} and reaches beyond {centre:g} +- {margin(metric):g})")


def comparator_sentence(table: pd.DataFrame, classifier: str,
                        metric: str = "auroc") -> str | None:
    """Did each generative arm beat the non-adversarial comparator (paired, same splits), and
    which family, if any, did?"""
    if "diff_vs_comparator" not in table:
        return None
    rows = compared_arms(table, metric)
    rows = rows[(rows["classifier"] == classifier)].dropna(subset=["diff_vs_comparator"])
    if rows.empty:
        return None
    parts = []
    for _, r in rows.iterrows():
        diff = f"{r['diff_vs_comparator']:+.3f}"
        ci = f"95 % CI {r['cmp_ci_low']:+.3f} to {r['cmp_ci_high']:+.3f}, p = {r['p_cmp']:.2g}"
        if r["cmp_ci_low"] > 0:
            parts.append(f"{r['arm']} beat it by {diff} ({ci})")
        elif r["cmp_ci_high"] < 0:
            parts.append(f"{r['arm']} did worse by {diff} ({ci})")
        else:
            parts.append(f"{r['arm']} did not beat it ({diff}, {ci})")
    winners = rows[rows["cmp_ci_low"] > 0]
    families = ", ".join(f"{f} ({', '.join(winners.loc[winners['family'] == f, 'arm'])})"
                         for f in dict.fromkeys(winners["family"]))
    tested = ", ".join(dict.fromkeys(rows["family"]))
    summary = (f"families that beat it: {families}" if families else
               f"no family beat it (tested: {tested})")
    return (f"Generative models vs the non-adversarial comparator {COMPARATOR} (a "
            f"class-conditional Gaussian in the same fold-fitted reduced space; {COMPARATOR}"
            f"{REF_SUFFIX} for +ref arms, {classifier}, "
            f"{METRIC_LABELS.get(metric, metric)}): {summary}; {'; '.join(parts)}.")


def _paired_words(r, col: str, low: str, high: str, p: str, what: str) -> str:
    ci = f"95 % CI {r[low]:+.3f} to {r[high]:+.3f}, p = {r[p]:.2g}"
    verb = ("beat" if r[low] > 0 else "did worse than" if r[high] < 0
            else "did not differ detectably from")
    return f"{r['arm']} {verb} {what} ({r[col]:+.3f}, {ci})"


def reference_sentence(table: pd.DataFrame, classifier: str,
                       metric: str = "auroc") -> str | None:
    """What the reference cohort gave: its representation alone (`none+ref` vs `none`), each
    `+ref` arm beyond that representation (vs `none+ref`) and beyond its in-fold twin, and, in
    words, whether any generator added anything beyond the representation."""
    rows = compared_arms(table, metric)
    rows = rows[(rows["classifier"] == classifier)
                & rows["arm"].astype(str).str.endswith(REF_SUFFIX)]
    if rows.empty:
        return None
    label = METRIC_LABELS.get(metric, metric)
    parts = []
    control = rows[rows["arm"] == REF_CONTROL]
    if len(control):
        r = control.iloc[0]
        parts.append(f"the reference's representation alone ({REF_CONTROL} vs none) changed "
                     f"{label} by {_fmt_diff(r)}")
    if "diff_vs_ref_control" in rows:
        for _, r in rows.dropna(subset=["diff_vs_ref_control"]).iterrows():
            text = _paired_words(r, "diff_vs_ref_control", "rc_ci_low", "rc_ci_high", "p_rc",
                                 REF_CONTROL)
            if "diff_vs_twin" in rows and pd.notna(r.get("diff_vs_twin")):
                text += " and " + _paired_words(r, "diff_vs_twin", "twin_ci_low", "twin_ci_high",
                                             "p_twin", f"its in-fold twin {in_fold_twin(r['arm'])}"
                                             ).split(" ", 1)[1]
            parts.append(text)
    generators = rows[[is_gan_method(parse_arm(a).method) for a in rows["arm"]]]
    if "diff_vs_ref_control" in generators and len(generators):
        winners = generators[generators["rc_ci_low"] > 0]
        parts.append(
            f"generators that added to the reference's representation: "
            f"{', '.join(winners['arm'])}" if len(winners) else
            "no generator added anything detectable beyond the reference's representation "
            f"({REF_CONTROL}): what the +ref generators score, the representation gives alone")
    return f"Reference cohort ({classifier}, {label}): " + "; ".join(parts) + "."


def splits_sentence(splits: pd.DataFrame | None, pairs: pd.DataFrame | None) -> str | None:
    """Whether the splits kept groups together; or, without groups, the replicate-like pairs
    that may have been split (`splits.close_pairs`)."""
    if splits is None or splits.empty:
        return None
    if "group" in splits.columns:
        return (f"Splits were grouped: the {splits['group'].nunique()} groups of the sheet's "
                f"`group` column ({splits['sample'].nunique()} samples) never sit on both sides "
                "of a split, nor of a generator's inner validation split.")
    if pairs is None or pairs.empty:
        return None
    r = pairs.iloc[0]
    return (f"Splits are by sample (no `group` column), and {len(pairs)} sample pair(s) are far "
            f"closer than typical (e.g. {r['sample_a']} and {r['sample_b']}, distance "
            f"{r['distance']:.3g} against a typical {r['typical']:.3g}): if they are replicates or "
            "one person's samples, the scores above may be inflated; add a `group` column to the "
            "sample sheet.")


def null_sentence(table: pd.DataFrame, classifier: str, metric: str = "auroc") -> str | None:
    """The permuted-label control must sit at chance for every arm."""
    rows = table[(table["scenario"] == NULL_SCENARIO) & (table["metric"] == metric)
                 & (table["classifier"] == classifier) & ~table["leaky"].astype(bool)]
    if rows.empty:
        return None
    chance = CHANCE.get(metric, 0.5)
    off = rows[(rows["ci_low"] > chance) | (rows["ci_high"] < chance)]
    label = METRIC_LABELS.get(metric, metric)
    if off.empty:
        return (f"Null control (permuted labels, {classifier}): every arm is at chance "
                f"({label} {rows['mean'].min():.2f} to {rows['mean'].max():.2f}; each 95 % CI "
                f"contains {chance}){_too_wide_clause(rows, metric, 'ci_low', 'ci_high', chance)}"
                ".")
    worst = off.loc[(off["mean"] - chance).abs().idxmax()]
    return (f"Null control (permuted labels, {classifier}): NOT at chance for "
            f"{', '.join(off['arm'])} (e.g. {worst['arm']} {label} {worst['mean']:.2f}, 95 % CI "
            f"{worst['ci_low']:.2f} to {worst['ci_high']:.2f}): suspect leakage before trusting "
            "any result.")


def leaky_sentence(inflation: pd.DataFrame, classifier: str, metric: str = "auroc") -> str | None:
    """How much a pipeline that fits the augmenter on the whole cohort would overstate."""
    if inflation is None or inflation.empty:
        return None
    rows = inflation[(inflation["metric"] == metric) & (inflation["classifier"] == classifier)
                     & (inflation["scenario"] == "main")]
    if rows.empty:
        return None
    parts = [f"{r['correct_arm']} {r['inflation']:+.3f} (95 % CI {r['ci_low']:+.3f} to "
             f"{r['ci_high']:+.3f})" for _, r in rows.iterrows()]
    return (f"Leaky control (INVALID by design, {classifier}): fitting the augmenter on the whole "
            f"cohort before splitting would change {METRIC_LABELS.get(metric, metric)} by "
            f"{'; '.join(parts)}.")


def quality_sentences(overview: pd.DataFrame | None) -> list[str]:
    """The cross-fold quality flags in words, one entry per generator (`quality.report.
    quality_overview`'s `flags` column: collapse, label-blind, memorising, or none raised)."""
    if overview is None or overview.empty:
        return []
    return [f"Synthetic data quality, {row['model']} ({int(row['n'])} splits x seeds): "
            f"{row['flags']}" for _, row in overview.iterrows()]


def verdict_lines(tables: dict, classifiers, metric: str = "auroc", main_classifier=None,
                  quality_flags: pd.DataFrame | None = None) -> list[str]:
    """Every sentence of the answer, the main classifier first. `tables` may hold `splits` and
    `close_pairs` (the split file and its close pairs) for the sentence on grouping."""
    classifiers = list(classifiers)
    if main_classifier in classifiers:
        classifiers.remove(main_classifier)
        classifiers.insert(0, main_classifier)
    table = tables["aggregate"]
    lines = [classifier_sentence(table, clf, metric) for clf in classifiers]
    harm = harm_sentence(table, classifiers, metric)
    if harm:
        lines.append(harm)
    control_clf = classifiers[0]
    for sentence in (comparator_sentence(table, control_clf, metric),
                     reference_sentence(table, control_clf, metric),
                     null_sentence(table, control_clf, metric),
                     leaky_sentence(tables.get("inflation"), control_clf, metric),
                     noop_arms_note(table),  # no silent no-op
                     splits_sentence(tables.get("splits"), tables.get("close_pairs"))):
        if sentence:
            lines.append(sentence)
    return lines + quality_sentences(quality_flags)


READING_WORDS = {GAIN: "gain", LOSS: "LOSS", SAME: "no detectable difference",
                 TOO_WIDE: "too wide to conclude", UNKNOWN: "?"}


def answer_table(table: pd.DataFrame, classifiers, metric: str = "auroc") -> pd.DataFrame:
    """The first page's table: arm x classifier, each cell the paired difference to `none`
    with its 95 % CI and its reading (gain, LOSS, no detectable difference, too wide); a
    classifier at a ceiling says "no room" in every cell."""
    rows = compared_arms(table, metric)
    out = pd.DataFrame(index=pd.Index(list(dict.fromkeys(rows["arm"])), name="arm"))
    for clf in classifiers:
        ceiling = ceiling_of(table, clf, metric) is not None
        cells = {}
        for _, r in rows[rows["classifier"] == clf].iterrows():
            word = READING_WORDS[reading(r["diff_ci_low"], r["diff_ci_high"], metric)]
            if ceiling and word != "gain":
                word = "no room to improve"
            cells[r["arm"]] = (f"{r['diff_vs_none']:+.3f} [{r['diff_ci_low']:+.3f}, "
                               f"{r['diff_ci_high']:+.3f}] {word}")
        out[clf] = pd.Series(cells)
    return out.fillna("")


def _list_table(frame: pd.DataFrame, title: str) -> str:
    """`frame` (index and columns) as an RST list-table."""
    header = [frame.index.name or ""] + [str(c) for c in frame.columns]
    body = [[str(i)] + [str(v) for v in row] for i, row in zip(frame.index, frame.to_numpy(),
                                                              strict=True)]
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header] + body:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines)


def landing_rst(lines: list[str], description: str, table: pd.DataFrame | None = None,
                metric: str = "auroc") -> str:
    """The report's first page: the answer (the compact `answer_table` first, when given, then
    the sentences), then the workflow's own description."""
    title = "The answer"
    items = "\n".join(f"* {line}" for line in lines)
    note = ("Differences are paired (same splits) with Nadeau-Bengio corrected 95 % CIs; "
            "\"improved\" means the whole CI lies above 0.")
    head = f"{title}\n{'=' * len(title)}\n\n"
    if table is not None and not table.empty:
        label = METRIC_LABELS.get(metric, metric)
        head += _list_table(table, f"{label} difference to no augmentation (95 % CI) and its "
                            "reading") + "\n\n"
    return f"{head}{items}\n\n{note}\n\n{description}"


def noop_arms_note(per_fold: pd.DataFrame) -> str:
    """For the report: '' or one sentence naming the augmenting arms (not `none`, not
    `class_weight`, which adds no samples by design) that trained on no synthetic sample in any
    evaluation of the per-fold metrics table (`n_train_synthetic`; the aggregate table's mean of
    it works the same: the verdict reads that one)."""
    if not {"arm", "method", "n_train_synthetic"} <= set(per_fold.columns):
        return ""  # a table without per-arm sample counts (e.g. empty) says nothing either way
    rows = per_fold[~per_fold["method"].map(base_method).isin(["none", "class_weight"])]
    totals = rows.groupby("arm", sort=True)["n_train_synthetic"].sum()
    idle = [str(a) for a, n in totals.items() if n == 0]
    if not idle:
        return ""
    return (f"No augmentation happened in arm(s) {', '.join(idle)}: they trained on 0 synthetic "
            "samples in every split (balanced classes with `benchmark.amount: balance`), so "
            "their results are those of `none`, not evidence about augmentation; use "
            "`benchmark.amount: balance:1.5` or a ratio.")
