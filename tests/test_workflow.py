"""Workflow tests: lint, dry-runs of the DAG, bad-config messages, a tiny end-to-end run."""

import json
import time

import numpy as np
import pytest
import yaml
from conftest import REPO, run_snakemake, write_config

from genogan.features import read_matrix
from genogan.simulate import CohortParams, simulate_cohort


def test_lint_clean(tmp_path):
    proc = run_snakemake(REPO, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dry_run_demo_plans_every_stage(tmp_path):
    proc = run_snakemake(REPO, "-n", "--forceall", "--quiet", "rules")
    for rule in ("simulate_demo", "align", "kmer_profile", "feature_matrix", "split", "datasets",
                 "train_gan", "evaluate", "quality", "aggregate", "plots", "provenance"):
        assert rule in proc.stdout, f"{rule} missing from the demo DAG:\n{proc.stdout}"
    counts = job_counts(proc.stdout)
    # the shipped config: 20 main splits -> one evaluate job each (every arm x classifier and
    # scenario data set in-process); GAN trainings batched; quality per split of one repeat
    assert counts["evaluate"] == 20 and counts["quality"] == 5 and counts["datasets"] == 1
    assert 1 <= counts["train_gan"] <= 8
    assert "generate" not in counts and "classify" not in counts


def job_counts(stdout: str) -> dict:
    """Snakemake's `Job stats` table as {rule: count}."""
    lines = stdout[stdout.index("Job stats:"):].splitlines()[3:]
    out = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        out[parts[0]] = int(parts[1])
    return out


def test_shipped_config_has_power():
    """>= 20 main splits and >= 10 per scenario, so CIs can answer the question."""
    from genogan.benchmark.targets import benchmark_settings

    s = benchmark_settings(yaml.safe_load((REPO / "config/config.yaml").read_text())["benchmark"])
    assert s["folds"] * s["repeats"] >= 20
    for key in ("learning_curve", "imbalance", "null_control"):
        assert s[key]["enabled"] and s["folds"] * s[key]["repeats"] >= 10, key


def test_genogan_help_imports_no_stage():
    """`genogan --help` stays fast: no pandas, scikit-learn or TensorFlow; the command table
    matches what the stage modules register."""
    import subprocess
    import sys

    code = ("import sys; from genogan.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pandas', 'sklearn', 'tensorflow', 'numpy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    from genogan.cli import COMMANDS, build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)


def test_demo_sheet_matches_simulator(tmp_path):
    """The committed demo sheet is exactly what rule simulate_demo will produce."""
    demo = yaml.safe_load((REPO / "config/config.yaml").read_text())["demo"]
    params = CohortParams(seed=demo["seed"], n_samples=demo["n_samples"],
                          case_fraction=demo["case_fraction"], coverage=0.01,
                          contig_lengths=(20_000,), cnv_length=2000, n_disease_loci=4,
                          cnv_motif_copies=10, effect_size=demo["effect_size"])
    sheet = simulate_cohort(tmp_path, params, sheet_path_prefix=demo["outdir"])
    assert sheet.read_text() == (REPO / "config/samples.tsv").read_text()


def test_dry_run_of_1000_samples(tmp_path):
    """A large sheet plans quickly (design target: seconds) and every sample gets its jobs."""
    rows = ["sample\tcondition\tfq1"]
    for i in range(1000):
        fq = tmp_path / f"s{i}.fq"
        fq.touch()
        rows.append(f"s{i}\t{'case' if i % 3 == 0 else 'control'}\t{fq}")
    (tmp_path / "samples.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "ref.fa").write_text(">chr1\nACGT\n")
    cfg = write_config(tmp_path, {"samples": "samples.tsv", "reference": "ref.fa"})
    start = time.perf_counter()
    proc = run_snakemake(tmp_path, "--configfile", str(cfg), "-n", "--quiet", "rules")
    elapsed = time.perf_counter() - start
    print(f"dry-run of 1000 samples: {elapsed:.1f} s")  # benchmarks/bench_workflow.py measures
    counts = job_counts(proc.stdout)
    assert counts["align"] == 1000
    assert counts["evaluate"] <= 20 and counts["train_gan"] <= 8  # not per sample or arm


@pytest.mark.parametrize("config_change, message", [
    ({"kmers": {"k": 13}}, "key 'kmers.k': 13 is greater than the maximum of 12"),
    ({"kmerz": {}}, "unknown key(s) ['kmerz']"),
    ({"samples": "nope.tsv"}, "sample sheet not found"),
])
def test_bad_config_stops_with_message(tmp_path, config_change, message):
    config = {"samples": str(REPO / "config/samples.tsv"), "demo": {"enabled": True},
              **config_change}
    cfg = write_config(tmp_path, config)
    proc = run_snakemake(tmp_path, "--configfile", str(cfg), "-n", check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


def tiny_cohort(tmp_path, n_samples=8):
    params = CohortParams(seed=3, n_samples=n_samples, contig_lengths=(20_000, 10_000),
                          coverage=2.0, cnv_length=2000, n_disease_loci=4, cnv_motif_copies=10)
    simulate_cohort(tmp_path / "data", params, sheet_path_prefix=str(tmp_path / "data"))
    return tmp_path / "data"


def test_tiny_end_to_end_to_feature_matrix(tmp_path):
    data = tiny_cohort(tmp_path)
    cfg = write_config(tmp_path, {
        "samples": str(data / "samples.tsv"), "reference": str(data / "reference.fa"),
        "kmers": {"k": 4, "normalise": "frequency"},
        # 3 cases in 2 folds: too few for augmenters/quality (rejected at validation), enough for
        # the features this test builds and a classifier-only benchmark
        "benchmark": {"folds": 2, "arms": ["none", "class_weight"], "quality_baselines": [],
                      **{k: {"enabled": False} for k in ("dose_response", "learning_curve",
                                                         "imbalance", "null_control",
                                                         "leaky_control")}}})
    run_snakemake(tmp_path, "--configfile", str(cfg), "--cores", "2",
                  "results/features/matrix.parquet", "results/qc/alignment_summary.tsv")
    fm = read_matrix(tmp_path / "results/features/matrix.parquet")
    assert fm.X.shape == (8, 136)  # canonical 4-mers: (4^4 + 4^2) / 2
    np.testing.assert_allclose(fm.X.sum(axis=1), 1.0)
    stats = (tmp_path / "results/qc/alignment_summary.tsv").read_text().splitlines()
    assert len(stats) == 9
    assert (tmp_path / "results/bam/S001.bam.bai").exists()
    assert (tmp_path / "logs/align/S001.log").read_text().strip()


@pytest.mark.slow
def test_tiny_full_pipeline_reads_to_report(tmp_path):
    """The real Snakefile end to end on a tiny cohort: reads -> BAM -> k-mers -> folds ->
    generative models -> classifiers -> statistics -> quality -> HTML report; no training set
    holds a test sample. One model of each family takes part, the VAE and the diffusion model
    in the scenarios the GAN used to carry alone (dose-response, learning curve, null and leaky
    controls)."""
    import pandas as pd

    data = tiny_cohort(tmp_path, n_samples=12)
    cfg = write_config(tmp_path, {
        "samples": str(data / "samples.tsv"), "reference": str(data / "reference.fa"),
        "kmers": {"k": 3},
        "benchmark": {"folds": 2, "repeats": 1, "classifiers": ["logreg"],
                      "main_classifier": "logreg",
                      "arms": ["none", "smote", "cwgan_gp", "cvae", "ddpm"],
                      "generator_seeds": [1],
                      "dose_response": {"enabled": True, "ratios": [0, 1], "arms": ["ddpm"]},
                      "learning_curve": {"enabled": True, "fractions": [0.5],
                                         "arms": ["none", "cvae"]},
                      "null_control": {"enabled": True, "arms": ["none", "ddpm"]},
                      "leaky_control": {"enabled": True, "arms": ["cvae", "cwgan_gp"]},
                      "imbalance": {"enabled": False},  # 2 cases per training part: too few
                      "quality_baselines": ["smote"]},
        "gan": {"epochs": 4, "batch_size": 8, "checkpoint_every": 2, "monitor_every": 2,
                "amount": {"mode": "multiple", "value": 2},
                "cwgan_gp": {"generator_units": [16], "critic_units": [16], "latent_dim": 8},
                "cvae": {"encoder_units": [16], "decoder_units": [16], "latent_dim": 4},
                "ddpm": {"units": [16], "timesteps": 20, "sampling_steps": 5}},
        "quality": {"detection_folds": 2, "mmd_permutations": 20}})
    run_snakemake(tmp_path, "--configfile", str(cfg), "--cores", "2", timeout=1500)
    agg = pd.read_csv(tmp_path / "results/benchmark/aggregate.tsv", sep="\t")
    assert {"none", "smote", "cwgan_gp", "cvae", "ddpm", "ddpm-x1"} <= set(agg["arm"])
    inflation = pd.read_csv(tmp_path / "results/benchmark/inflation.tsv", sep="\t")
    assert {"cvae", "cwgan_gp"} <= set(inflation["correct_arm"])
    assert {"learning_curve", "null_control"} <= set(agg["scenario"])
    for fold in ("r0_f0", "r0_f1"):
        train = pd.read_parquet(tmp_path / f"results/datasets/{fold}/train.parquet")
        test = pd.read_parquet(tmp_path / f"results/datasets/{fold}/test.parquet")
        assert not set(train["sample"]) & set(test["sample"])
        for model in ("cwgan_gp", "cvae", "ddpm"):
            assert (tmp_path / f"results/quality/{fold}/{model}/seed1/summary.tsv").exists()
    log = (tmp_path / "logs/train_gan/b0.log").read_text()  # every GAN of the run in one job
    assert "training on CPU" in log and "r0_f0 cwgan_gp seed 1" in log
    for model in ("cvae", "ddpm"):  # trained (and selected) like the GAN
        meta = json.loads(next((tmp_path / "results/gan").glob(f"*/r0_f0/{model}/seed1/"
                                                                 "model.json")).read_text())
        assert meta["family"] != "adversarial" and meta["info"]["inner_validation_rows"]
    run_snakemake(tmp_path, "--configfile", str(cfg), "--report", "report.html")
    html = (tmp_path / "report.html").read_text(errors="replace")
    assert "INVALID" in html or "leaky" in html
