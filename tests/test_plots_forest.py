"""The main figure (paired differences to `none`) and ROC/PR legibility."""

import numpy as np
import pandas as pd

from genogan.benchmark import plots


def _aggregate():
    rows = []
    for clf in ("logreg", "svm"):
        for arm, diff in (("none", np.nan), ("ddpm", 0.0), ("smote", 0.01), ("cwgan_gp", -0.02),
                          ("gaussian_pca", 0.005), ("smote-x2", 0.3)):
            rows.append({"scenario": "main", "percent": 100, "arm": arm, "leaky": False,
                         "classifier": clf, "metric": "auroc", "n": 20, "diff_vs_none": diff,
                         "diff_ci_low": diff - 0.02, "diff_ci_high": diff + 0.02})
    return pd.DataFrame(rows)


def test_forest_plot_shows_paired_differences_with_a_zero_line(captured, tmp_path):
    plots.plot_forest(_aggregate(), tmp_path / "forest.png")
    (fig,) = captured
    ax = fig.axes[0]
    # grouped by family in the report's order, each labelled; no dose arm
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "smote  [classical]", "gaussian_pca  [comparator]", "cwgan_gp  [adversarial]",
        "ddpm  [diffusion]"]
    separators = [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert separators == [0.5, 1.5, 2.5]  # a line between each two families
    assert any(np.allclose(line.get_xdata(), 0) for line in ax.get_lines())
    markers = [line.get_xdata() for line in ax.get_lines()  # one marker line per classifier
               if line.get_marker() in ("o", "s")]
    assert len(markers) == 2
    for xs in markers:
        np.testing.assert_allclose(np.asarray(xs, dtype=float), [0.01, 0.005, -0.02, 0.0])
    assert "20 splits" in ax.get_title()
    assert (tmp_path / "forest.png").stat().st_size > 0


def test_arm_colours_are_distinct_and_none_is_black():
    arms = ["none"] + [f"arm{i}" for i in range(19)]
    colours = plots.arm_colours(arms)
    assert colours["none"] == "black"
    assert len({tuple(c) for a, c in colours.items() if a != "none"}) == 19


def test_roc_pr_draws_main_arms_only_with_legends_outside(captured, tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for arm in ("none", "smote", "smote-x2", "leaky-smote"):
        for i in range(20):
            rows.append({"scenario": "main", "percent": 100, "classifier": "logreg",
                         "leaky": arm.startswith("leaky"), "arm": arm, "positive": "case",
                         "condition": "case" if i % 2 else "control",
                         "score_case": rng.random(), "score_control": rng.random()})
    plots.plot_roc_pr(pd.DataFrame(rows), tmp_path / "roc.png", "logreg")
    (fig,) = captured
    roc = fig.axes[0]
    labels = [t.get_text() for t in roc.get_legend().get_texts()]
    assert [lab.split(" ")[0] for lab in labels] == ["none", "smote", "chance"]
    anchor = roc.get_legend().get_bbox_to_anchor().transformed(roc.transAxes.inverted())
    assert anchor.y0 < 0  # below the axes
