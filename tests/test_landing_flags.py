"""The landing page (rule `verdict`) reports the number of splits and every generator's quality
flags, from real aggregated results and the real cross-fold quality overview; and its sentences
say when a CI is too wide to conclude."""

import pandas as pd

from genogan.benchmark.aggregate import summarise, unit_table
from genogan.benchmark.verdict import classifier_sentence, null_sentence
from genogan.quality.report import quality_overview
from genogan.report.landing import verdict_job
from test_conclusive import _per_fold
from test_report_captions import rst_warnings

# per generator: label fidelity, chance, k-NN recall, density, detection AUC, DCR share, gate
QUALITY = {"cwgan_gp": (0.95, 0.5, 0.10, 3.0, 0.9, 0.04, 0.02),      # collapses
           "vanilla_gan": (0.52, 0.5, 0.60, 1.0, 0.7, 0.05, 0.03),   # ignores its label
           "smote": (0.90, 0.5, 0.70, 1.1, 0.6, 0.45, 0.30),         # memorises
           "noise": (0.90, 0.5, 0.70, 1.0, 0.6, 0.05, 0.01)}         # no flag
METRIC_NAMES = ("label.accuracy_mean[logreg]", "label.chance", "fidelity.recall",
                "fidelity.density", "fidelity.detection_auc", "privacy.dcr_below_holdout_p05",
                "gate.dropped_fraction")


def _summaries():
    for model, values in QUALITY.items():
        for split in ("r0_f0", "r0_f1"):
            yield split, model, 0, pd.DataFrame({"metric": METRIC_NAMES, "value": values})


def test_landing_page_reports_splits_and_every_generators_flags(tmp_path):
    none = [0.70, 0.72, 0.68, 0.75, 0.71]
    units = unit_table(_per_fold({"none": none, "smote": [v + 0.02 for v in none],
                                  "cwgan_gp": [0.9, 0.5, 0.6, 0.8, 0.7]}))
    inputs = {"aggregate": tmp_path / "aggregate.tsv", "inflation": tmp_path / "inflation.tsv",
              "worth": tmp_path / "worth.tsv", "quality": tmp_path / "quality.tsv"}
    summarise(units).to_csv(inputs["aggregate"], sep="\t", index=False)
    for key in ("inflation", "worth"):
        inputs[key].write_text("")  # no leaky control, no learning curve
    quality_overview(_summaries()).to_csv(inputs["quality"], sep="\t", index=False)
    description = tmp_path / "workflow.rst"
    description.write_text("Workflow\n========\n\nText.\n")
    outputs = {"verdict": tmp_path / "verdict.txt", "landing": tmp_path / "landing.rst"}
    verdict_job(inputs, {"classifiers": ["logreg"], "main_classifier": "logreg"}, description,
                outputs)
    page = outputs["landing"].read_text()
    assert rst_warnings(page) == ""
    assert page.index(".. list-table::") < page.index("\n* logreg:")  # the table leads
    answer = page.split("\n* ")[1]
    assert answer.startswith("logreg: smote by +0.020")  # identical +0.02 gains: CI [+0.02, +0.02]
    assert "(2 arms, 5 train/test splits)" in answer
    assert "too wide to conclude for cwgan_gp" in answer
    flags = {line.split(",")[1].split("(")[0].strip(): line for line in page.splitlines()
             if line.startswith("* Synthetic data quality")}
    assert set(flags) == set(QUALITY)
    assert "(2 splits x seeds)" in flags["noise"]
    assert "cwgan_gp collapses: its samples cover only 10%" in flags["cwgan_gp"]
    assert "vanilla_gan ignores its label" in flags["vanilla_gan"]
    assert "smote memorises: 45%" in flags["smote"]
    assert "noise: no collapse, label-blindness or memorisation flagged" in flags["noise"]
    assert not any(w in flags["noise"] for w in ("collapses:", "ignores its", "memorises:"))
    assert outputs["verdict"].read_text().splitlines()[0] == page.split("\n* ")[1].strip()


def test_verdict_names_too_wide_cis_and_not_narrow_ones():
    narrow = {"scenario": "main", "percent": 100, "leaky": False, "classifier": "logreg",
              "metric": "auroc", "n": 20, "p_nb": 0.6}
    table = pd.DataFrame([{**narrow, "arm": "none", "diff_vs_none": None},
                          {**narrow, "arm": "smote", "diff_vs_none": 0.004,
                           "diff_ci_low": -0.015, "diff_ci_high": 0.023},
                          {**narrow, "arm": "cwgan_gp", "diff_vs_none": 0.07,
                           "diff_ci_low": -1.0, "diff_ci_high": 1.0}])
    text = classifier_sentence(table, "logreg")
    assert "no detectable difference" in text
    assert ("too wide to conclude for cwgan_gp (95 % CI contains 0 and reaches beyond 0 +- 0.05)"
            in text)
    assert "smote (95 % CI contains" not in text and "for cwgan_gp, smote" not in text
    null = pd.DataFrame([{"scenario": "null_control", "metric": "auroc", "classifier": "logreg",
                          "leaky": False, "arm": arm, "mean": 0.5, "ci_low": lo, "ci_high": hi}
                         for arm, lo, hi in (("none", 0.47, 0.53), ("cwgan_gp", 0.2, 0.8))])
    assert null_sentence(null, "logreg").endswith(
        "each 95 % CI contains 0.5); too wide to conclude for cwgan_gp (95 % CI contains 0.5 and "
        "reaches beyond 0.5 +- 0.05).")
