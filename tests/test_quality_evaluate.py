"""evaluate_quality end to end, the TSV/PNG writers, the CLI and the Snakemake rules."""

import itertools
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genogan.cli import main
from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix, read_matrix, write_matrix
from genogan.quality import METRICS, evaluate_quality
from genogan.quality.report import FIGURE_FILES, TABLE_FILES

REPO = Path(__file__).resolve().parents[1]
KMERS = ["".join(p) for p in itertools.product("ACGT", repeat=2)]


def cohort(n, seed, tag, names=KMERS):
    """Two classes of 2-mer frequency profiles that differ in GC content."""
    r = np.random.default_rng(seed)
    y = np.array(["case", "control"])[np.arange(n) % 2]
    gc = np.array([w.count("G") + w.count("C") for w in names])
    alpha = 20 * np.exp(np.where(y == "case", 0.4, 0.0)[:, None] * gc[None, :])
    x = np.array([r.dirichlet(a) for a in alpha])
    return FeatureMatrix(x, y, np.array([f"{tag}{i}" for i in range(n)]), list(names))


@pytest.fixture(scope="module")
def fresh():
    train, holdout, synth = cohort(120, 1, "t"), cohort(60, 2, "h"), cohort(120, 3, "s")
    return train, holdout, synth, evaluate_quality(train, holdout, synth, seed=0,
                                                   mmd_permutations=100)


def summary_values(tables):
    return tables["summary"].set_index("metric")["value"]


def test_tables_are_complete_and_every_metric_is_documented(fresh):
    train, holdout, synth, tables = fresh
    assert set(tables) == set(TABLE_FILES)
    summary = tables["summary"]
    assert list(summary.columns) == ["group", "metric", "value", "direction", "interpretation"]
    for metric in summary.loc[summary["group"] != "note", "metric"]:
        assert metric.split("[")[0] in METRICS, metric
    assert len(tables["per_feature"]) == 2 * len(KMERS)  # per class
    assert list(tables["fidelity_by_class"]["class"]) == ["case", "control"]
    assert tables["per_feature"]["ks"].is_monotonic_decreasing
    assert len(tables["privacy"]) == len(train.X) + len(holdout.X) + len(synth.X)
    assert set(tables["sequence"]["source"]) == {"real", "synthetic"}


def test_fresh_samples_score_as_faithful_useful_and_private(fresh):
    v = summary_values(fresh[3])
    assert 0.35 <= v["fidelity.detection_auc"] <= 0.65
    assert v["fidelity.mmd_pvalue"] > 0.05
    assert v["label.accuracy_mean[logistic]"] > 0.7
    assert 0.35 < v["privacy.membership_auc"] < 0.65
    assert v["privacy.exact_copies"] == 0 and v["gate.dropped_fraction"] < 0.2
    assert v["sequence.closure_error_synthetic_mean"] < 1e-9


def test_copy_of_train_and_uniform_noise_give_the_known_answers(fresh):
    train, holdout, _, _ = fresh
    copy = FeatureMatrix(train.X.copy(), train.y, np.char.add("c", train.samples), KMERS)
    v = summary_values(evaluate_quality(train, holdout, copy, mmd_permutations=20))
    assert v["privacy.dcr_synthetic_median"] < 1e-6
    assert v["privacy.exact_copies"] == v["gate.dropped"] == len(train.X)
    assert v["privacy.membership_auc"] > 0.9 and v["privacy.privacy_loss"] > 0.3
    noise_x = np.random.default_rng(9).uniform(0, train.X.max(), train.X.shape)
    noise = FeatureMatrix(noise_x, train.y, np.char.add("n", train.samples), KMERS)
    v = summary_values(evaluate_quality(train, holdout, noise, mmd_permutations=100))
    assert v["fidelity.detection_auc"] > 0.95 and v["fidelity.mmd_pvalue"] < 0.05
    assert v["sequence.closure_error_synthetic_mean"] > 0.1


def test_minority_only_augmenter_is_compared_class_by_class(fresh):
    """SMOTE-style output (one class only) must not look unfaithful because of the class mix."""
    train, holdout, synth, _ = fresh
    case = synth.y == "case"
    only = FeatureMatrix(synth.X[case], synth.y[case], synth.samples[case], KMERS)
    tables = evaluate_quality(train, holdout, only, mmd_permutations=50)
    v = summary_values(tables)
    assert list(tables["fidelity_by_class"]["class"]) == ["case"]
    assert 0.3 <= v["fidelity.detection_auc"] <= 0.7
    assert np.isnan(v["utility.tstr_auroc[logistic]"])  # one class cannot train a classifier
    label = tables["label_fidelity"].set_index(["classifier", "class"])["n_synthetic"]
    assert label[("logistic", "control")] == 0 and label[("logistic", "case")] == case.sum()
    assert 0.3 < v["privacy.aa_train"] < 0.7


def test_synthetic_feature_order_does_not_matter(fresh):
    train, holdout, synth, tables = fresh
    order = np.random.default_rng(0).permutation(len(KMERS))
    shuffled = FeatureMatrix(synth.X[:, order], synth.y, synth.samples,
                             [KMERS[i] for i in order])
    again = summary_values(evaluate_quality(train, holdout, shuffled, mmd_permutations=100))
    before = summary_values(tables)
    for metric in ("fidelity.ks_mean", "fidelity.mmd2", "fidelity.mmd_pvalue",
                   "privacy.membership_auc", "gate.dropped", "sequence.gc_ks_max"):
        assert again[metric] == pytest.approx(before[metric])


@pytest.mark.parametrize("change, message", [
    (lambda s: FeatureMatrix(s.X, s.y, s.samples, ["X" + n for n in s.feature_names]),
     "features differ from the training features"),
    (lambda s: FeatureMatrix(s.X, np.where(s.y == "case", "other", s.y), s.samples,
                             s.feature_names), "do not occur in the training set"),
    (lambda s: FeatureMatrix(s.X[:2], s.y[:2], s.samples[:2], s.feature_names),
     "synthetic set has 2 samples"),
])
def test_bad_inputs_name_the_file_and_the_fix(fresh, change, message):
    train, holdout, synth, _ = fresh
    with pytest.raises(GenoganInputError, match=message) as err:
        evaluate_quality(train, holdout, change(synth), paths={"synthetic": "syn.parquet"})
    assert "syn.parquet" in str(err.value) and "Fix:" in str(err.value)


def write_inputs(tmp_path, fresh):
    train, holdout, synth, _ = fresh
    synth = FeatureMatrix(synth.X, synth.y, synth.samples, synth.feature_names,
                          pd.DataFrame({"synthetic": [True] * len(synth.X)}))
    paths = {}
    for name, fm in (("train", train), ("test", holdout), ("synthetic", synth)):
        paths[name] = tmp_path / f"{name}.parquet"
        write_matrix(fm, paths[name])
    return paths


def test_cli_writes_tables_figures_and_gated_set(tmp_path, fresh, capsys):
    paths = write_inputs(tmp_path, fresh)
    out = tmp_path / "out"
    rc = main(["quality", "--train", str(paths["train"]), "--holdout", str(paths["test"]),
               "--synthetic", str(paths["synthetic"]), "--out-dir", str(out),
               "--mmd-permutations", "20", "--gated-out", str(out / "gated.parquet")])
    assert rc == 0 and "fidelity.detection_auc" in capsys.readouterr().out
    for name in list(TABLE_FILES.values()) + list(FIGURE_FILES.values()):
        assert (out / name).stat().st_size > 0, name
    for name in FIGURE_FILES.values():
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    summary = pd.read_csv(out / "summary.tsv", sep="\t")
    dropped = int(summary.set_index("metric").loc["gate.dropped", "value"])
    gated = read_matrix(out / "gated.parquet")
    assert len(gated.X) == len(fresh[2].X) - dropped
    assert gated.extra is not None and gated.extra["synthetic"].all()


def test_cli_rejects_bad_settings(tmp_path, fresh, capsys):
    paths = write_inputs(tmp_path, fresh)
    rc = main(["quality", "--train", str(paths["train"]), "--holdout", str(paths["test"]),
               "--synthetic", str(paths["synthetic"]), "--out-dir", str(tmp_path / "o"),
               "--gate-percentile", "150"])
    assert rc == 1 and "--gate-percentile is out of range" in capsys.readouterr().err


SNAKEFILE = """
from genogan.settings.sections import from_config

config["quality"] = {{"detection_folds": 3, "mmd_permutations": 20,
                     "privacy_gate": {{"enabled": True, "percentile": 5}}}}
config["benchmark"] = {{"folds": 2, "repeats": 1, "arms": ["none"], "generator_seeds": [3],
                       "quality_baselines": ["smote"]}}
SETTINGS = from_config({{"samples": "unused", **config}})  # what common.smk defines
include: "{rules}"
"""


@pytest.mark.slow  # starts Snakemake and one job (~15-30 s on 2 shared cores)
def test_snakemake_quality_rule_scores_a_split(tmp_path, fresh):
    """The per-split quality job under Snakemake: it draws the classical baseline's pool from the
    training part and scores it against the split's held-out part."""
    paths = write_inputs(tmp_path, fresh)
    data = tmp_path / "results" / "datasets" / "r0_f1"
    data.mkdir(parents=True)
    paths["train"].rename(data / "train.parquet")
    paths["test"].rename(data / "test.parquet")
    (tmp_path / "Snakefile").write_text(
        SNAKEFILE.format(rules=REPO / "workflow" / "rules" / "quality.smk"))
    out = Path("results/quality/r0_f1/smote/seed3")
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", str(out / "summary.tsv"), "-s", "Snakefile", "-c2"],
        cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / out / "pca.png").exists() and (tmp_path / out / "dcr.png").exists()
    summary = pd.read_csv(tmp_path / out / "summary.tsv", sep="\t")
    assert "privacy.membership_auc" in set(summary["metric"])


@pytest.mark.slow
def test_scales_to_thousands_of_samples_and_features():
    """2000 train + 2000 synthetic + 500 holdout samples x 2000 features, end to end."""
    r = np.random.default_rng(0)
    names = [f"f{j}" for j in range(2000)]

    def make(n, tag):
        y = np.array(["case", "control"])[np.arange(n) % 2]
        x = r.normal(size=(n, 2000)) + 0.3 * (y == "case")[:, None]
        return FeatureMatrix(x, y, np.array([f"{tag}{i}" for i in range(n)]), names)
    start = time.perf_counter()
    v = summary_values(evaluate_quality(make(2000, "t"), make(500, "h"), make(2000, "s"),
                                        n_jobs=2))
    elapsed = time.perf_counter() - start
    print(f"evaluate_quality 2000+2000+500 x 2000: {elapsed:.1f} s")
    assert elapsed < 600
    assert 0.4 < v["fidelity.detection_auc"] < 0.62 and v["fidelity.mmd_pvalue"] > 0.05
