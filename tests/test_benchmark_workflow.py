"""The benchmark rules in a tiny Snakemake workflow (classical arms + a GAN model's pools).

The scratch Snakefile includes only workflow/rules/benchmark.smk; the feature matrix and the
synthetic pools of a stand-in GAN model are placed as source files (where the train_gan batches
would write them), so the test needs neither the upstream stages nor TensorFlow. Pools are made
from each data set's training part only. One evaluate job per split.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from genogan.benchmark.splits import dataset_from_id, make_splits
from genogan.benchmark.targets import Plan, benchmark_settings, benchmark_targets
from genogan.features import FeatureMatrix, write_matrix
from conftest import gaussian_matrix

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

BENCH = {"folds": 2, "repeats": 1, "seed": 3, "generator_seeds": [1], "classifiers": ["logreg"],
         "arms": ["none", "smote", "cwgan_gp"],
         "dose_response": {"ratios": [0, 0.5, 1], "arms": ["cwgan_gp"]},
         "learning_curve": {"fractions": [0.5], "arms": ["none", "cwgan_gp"]},
         "null_control": {"arms": ["none", "cwgan_gp"]},
         "leaky_control": {"arms": ["smote", "cwgan_gp"]}}

SNAKEFILE = f"""
import sys
sys.path.insert(0, {str(REPO / "src")!r})
from genogan.benchmark.targets import benchmark_targets

configfile: "config.yaml"

include: {str(REPO / "workflow" / "rules" / "benchmark.smk")!r}

rule all:
    input:
        benchmark_targets(config),
    default_target: True
"""


def _matrix(n_case=8, n_control=12, p=10, seed=0) -> FeatureMatrix:
    return gaussian_matrix(n_case, n_control, p, shift=1.5, n_shifted=2, seed=seed,
                           sample_format="S{:02d}", feature_prefix="k")


def _pool(train: FeatureMatrix, seed: int) -> FeatureMatrix:
    """Stand-in GAN output: 2 jittered copies per training sample (enough for a dose of 1)."""
    rng = np.random.default_rng(seed)
    idx = np.repeat(np.arange(len(train.y)), 2)
    X = train.X[idx] + rng.normal(scale=0.2, size=(len(idx), train.X.shape[1]))
    extra = pd.DataFrame({"synthetic": True, "model": "cwgan_gp", "seed": seed}, index=idx)
    return FeatureMatrix(X, train.y[idx], np.array([f"syn{i}" for i in range(len(idx))]),
                         train.feature_names, extra.reset_index(drop=True))


def _setup(workdir: Path) -> FeatureMatrix:
    fm = _matrix()
    write_matrix(fm, workdir / "results/features/matrix.parquet")
    s = benchmark_settings(BENCH)
    plan = Plan(s)
    splits = make_splits(fm.samples, fm.y, s["folds"], s["repeats"], s["seed"])
    for dataset, model, seed in plan.trainings:  # where train_gan batches put their pools
        train = fm if dataset == "full" else dataset_from_id(fm, splits, dataset, s["seed"])[0]
        write_matrix(_pool(train, seed), workdir / plan.pool_file(dataset, model, seed))
    (workdir / "Snakefile").write_text(SNAKEFILE)
    (workdir / "config.yaml").write_text(yaml.safe_dump({"benchmark": BENCH}))
    return fm


def _snakemake(workdir, *args):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    proc = subprocess.run([str(BIN / "snakemake"), "--nolock", "-c2", *args], cwd=workdir,
                          capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc


@pytest.mark.slow
def test_benchmark_rules_run_end_to_end_and_report(tmp_path):
    fm = _setup(tmp_path)
    _snakemake(tmp_path)
    assert sorted(p.name for p in (tmp_path / "logs/evaluate").iterdir()) == [
        "r0_f0.log", "r0_f1.log"]  # one job per split: main, learning-curve and null data sets
    for target in benchmark_targets({"benchmark": BENCH}):
        assert (tmp_path / target).stat().st_size > 0, target
    per_fold = pd.read_csv(tmp_path / "results/benchmark/per_fold.tsv", sep="\t")
    assert set(per_fold["arm"]) == {"none", "smote", "cwgan_gp", "cwgan_gp-x0.5", "cwgan_gp-x1",
                                    "leaky-smote", "leaky-cwgan_gp"}
    splits = pd.read_csv(tmp_path / "results/splits/splits.tsv", sep="\t")
    for fold in (0, 1):  # the GAN/SMOTE input of fold f holds no test sample of fold f
        test_ids = set(splits.query(f"fold == {fold} and role == 'test'")["sample"])
        train = pd.read_parquet(tmp_path / f"results/datasets/r0_f{fold}/train.parquet")
        test = pd.read_parquet(tmp_path / f"results/datasets/r0_f{fold}/test.parquet")
        assert not set(train["sample"]) & test_ids and set(test["sample"]) == test_ids
    full = pd.read_parquet(tmp_path / "results/datasets/full/train.parquet")
    assert len(full) == len(fm.samples)
    infl = pd.read_csv(tmp_path / "results/benchmark/inflation.tsv", sep="\t")
    assert set(infl["correct_arm"]) == {"smote", "cwgan_gp"}
    _snakemake(tmp_path, "--report", "report.html")
    html = (tmp_path / "report.html").read_text(errors="replace")
    assert "INVALID" in html and "Nadeau" in html


@pytest.mark.slow
def test_in_process_benchmark_trains_real_gans_on_training_folds_only(monkeypatch):
    """run_benchmark with a real cWGAN-GP (few epochs): one GAN per fold and seed, fitted on that
    fold's training rows only; only the INVALID leaky arm's GAN sees the whole cohort."""
    from genogan.benchmark.run import run_benchmark
    from genogan.generators.augment import GeneratorAugmenter

    fm = _matrix(10, 14, p=12, seed=2)
    fits = []
    original = GeneratorAugmenter.fit

    def recording_fit(self, X, y):
        fits.append({np.asarray(r).tobytes() for r in np.asarray(X)})
        return original(self, X, y)

    monkeypatch.setattr(GeneratorAugmenter, "fit", recording_fit)
    cfg = {"folds": 2, "repeats": 1, "generator_seeds": [1], "classifiers": ["logreg", "svm"],
           "arms": ["none", "cwgan_gp"],
           "augmenter_params": {"cwgan_gp": {"epochs": 4, "monitor_every": 2}},
           "dose_response": {"ratios": [0.5, 2], "arms": ["cwgan_gp"]},
           "learning_curve": {"enabled": False}, "null_control": {"enabled": False},
           "leaky_control": {"arms": ["cwgan_gp"]}}
    res = run_benchmark(fm, cfg)
    assert len(fits) == 3  # r0_f0, r0_f1 and `full` (leaky), shared by classifiers and doses
    all_rows = {np.asarray(r).tobytes() for r in fm.X}
    train_rows = []
    for fold in (0, 1):
        train_ids = set(res.splits.query(f"fold == {fold} and role == 'train'")["sample"])
        train_rows.append({fm.X[i].tobytes() for i, s in enumerate(fm.samples) if s in train_ids})
    # each GAN saw exactly one fold's training rows; only the leaky control's saw everything
    assert all(rows in train_rows + [all_rows] for rows in fits)
    assert all(rows in fits for rows in train_rows) and fits.count(all_rows) == 1
    pf = res.per_fold
    syn = pf.query("arm == 'cwgan_gp-x2'")
    assert (syn["n_train_synthetic"] == 2 * syn["n_train_real"]).all()
    assert np.isfinite(pf["auroc"]).all()
