"""The GAN rule (workflow/rules/gan.smk) inside a tiny workflow, its GPU/threads scheduling, and a
real SIGKILL + resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from genogan.features import FeatureMatrix, read_matrix, write_matrix
from genogan.benchmark.targets import Plan, benchmark_settings, gan_training_seed
from genogan.generators.pipeline import (
    gan_gpu_request,
    gan_threads,
    rule_params,
    visible_gpus,
)

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

GAN_CONFIG = {
    "models": ["cwgan_gp"], "seeds": [1], "epochs": 4, "batch_size": 8, "checkpoint_every": 2,
    "monitor_every": 2, "early_stopping": {"patience": 0, "metric": "mmd", "min_delta": 0.0},
    "jit_compile": "auto", "precision": "auto", "preprocess": {"mode": "auto"},
    "keep_checkpoints": False, "selection": {"validation_fraction": 0.2, "refit": True},
    "amount": {"mode": "absolute", "value": 5},
    "cwgan_gp": {"latent_dim": 8, "generator_units": [16], "critic_units": [16], "n_critic": 2},
    "vanilla_gan": {"latent_dim": 8, "generator_units": [16], "discriminator_units": [16]},
    "resources": {"threads": 2, "mem_mb": 2000, "runtime": "30m", "gpu": 1,
                  "gpu_model": "a100", "gres": ""},
}
# three GAN trainings (cwgan_gp on the whole cohort for the leaky control, vanilla_gan on both
# folds), two per train_gan job: b0 = [full cwgan_gp, r0_f0 vanilla_gan], b1 = [r0_f1 vanilla_gan]
BENCH_CONFIG = {"folds": 2, "repeats": 1, "generator_seeds": [1], "classifiers": ["logreg"],
                "arms": ["none", "vanilla_gan"], "gan_trainings_per_job": 2,
                "dose_response": {"enabled": False}, "learning_curve": {"enabled": False},
                "null_control": {"enabled": False},
                "leaky_control": {"enabled": True, "arms": ["cwgan_gp"]}}
PLAN = Plan(benchmark_settings(BENCH_CONFIG))
TARGETS = [f"results/gan/{b}" for b in PLAN.batches]
DATASETS = ("full", "r0_f0", "r0_f1")


def kmer_frequencies(n=20, d=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.gamma(2.0, size=(n, d))
    X[n // 2:, : d // 3] *= 3
    return X / X.sum(axis=1, keepdims=True), np.array(["case"] * (n // 2) + ["control"] * (n // 2))


def write_train(path, n=20, d=10):
    X, y = kmer_frequencies(n, d)
    write_matrix(FeatureMatrix(X=X, y=y, samples=np.array([f"s{i}" for i in range(n)]),
                               feature_names=[f"k{i}" for i in range(d)]), path)


@pytest.fixture
def tiny_workflow(tmp_path):
    """A scratch workflow: the real gan.smk, a config with a `gan:` section, two training sets."""
    (tmp_path / "Snakefile").write_text(
        'configfile: "config.yaml"\n\n\n'
        f'include: "{REPO}/workflow/rules/gan.smk"\n\n\n'
        f"rule all:\n    input:\n" + "".join(f'        "{t}",\n' for t in TARGETS))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"gan": GAN_CONFIG,
                                                          "benchmark": BENCH_CONFIG}))
    for dataset in DATASETS:
        write_train(tmp_path / f"results/datasets/{dataset}/train.parquet")
    return tmp_path


def snakemake(workdir, *args, timeout=900):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    proc = subprocess.run([str(BIN / "snakemake"), "--directory", str(workdir), "--nolock",
                           "-s", str(workdir / "Snakefile"), *args], capture_output=True,
                          text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def test_rule_params_only_what_training_uses():
    p = rule_params(GAN_CONFIG, "cwgan_gp")
    assert set(p) == {"epochs", "batch_size", "checkpoint_every", "monitor_every",
                      "early_stopping", "jit_compile", "precision", "preprocess",
                      "keep_checkpoints", "selection", "cwgan_gp"}
    assert p["cwgan_gp"]["critic_units"] == [16] and "amount" not in p and "resources" not in p
    assert rule_params({"epochs": 3}, "vanilla_gan") == {"epochs": 3, "vanilla_gan": {}}


def test_plan_batches_trainings_in_split_order():
    assert PLAN.batches == {"b0": [("full", "cwgan_gp", 1), ("r0_f0", "vanilla_gan", 1)],
                            "b1": [("r0_f1", "vanilla_gan", 1)]}
    one_each = Plan(benchmark_settings({**BENCH_CONFIG, "gan_trainings_per_job": 1}))
    assert len(one_each.batches) == 3 and all(len(v) == 1 for v in one_each.batches.values())
    seeds = {gan_training_seed(d, 1) for d, _, _ in PLAN.trainings}
    assert len(seeds) == 3  # every split's GAN is its own draw


def test_gpu_request_and_threads_follow_the_machine(tmp_path):
    proc, dev = tmp_path / "proc", tmp_path / "dev"
    dev.mkdir()
    assert visible_gpus({}, proc, dev) == 0
    (dev / "nvidia0").touch()
    (dev / "nvidia1").touch()
    (dev / "nvidiactl").touch()  # the control device is not a GPU
    assert visible_gpus({}, proc, dev) == 2
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "1"}, proc, dev) == 1
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}, proc, dev) == 0
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}, proc, dev) == 0
    (proc / "0000:01:00.0").mkdir(parents=True)
    assert visible_gpus({}, proc, tmp_path / "none") == 1
    # CPU-only machine: no GPU request (the local profile's gpu=1 cap does not serialise) and
    # one thread per training; with a GPU, or on a cluster, the configured values
    assert gan_gpu_request(1, gpus=0) == 0 and gan_threads(2, gpus=0) == 1
    assert gan_gpu_request(1, gpus=1) == 1 and gan_threads(2, gpus=1) == 2
    assert gan_gpu_request(1, gpus=0, local=False) == 1 and gan_threads(2, gpus=0, local=False) == 2


def test_gan_rule_dry_run_resources(tiny_workflow):
    out = snakemake(tiny_workflow, "-n", "--cores", "4")
    assert out.count("rule train_gan:") == len(PLAN.batches) == 2
    gpus = visible_gpus()
    for text in (f"gpu={1 if gpus else 0}", "gpu_model=a100", "mem_mb=2000", "runtime=30"):
        assert text in out, f"{text} not in dry-run output:\n{out[-3000:]}"
    # Snakemake prints `threads:` only above 1: 2 (configured) with a GPU, 1 on CPU
    assert ("threads: 2" in out) == bool(gpus), out[-3000:]
    assert "logs/train_gan/b0.log" in out and "results/gan/b1" in out
    assert "rule generate" not in out  # pools are sampled in the training job


@pytest.mark.slow
def test_gan_rules_run_in_a_tiny_workflow(tiny_workflow):
    snakemake(tiny_workflow, "--cores", "2")
    wd = tiny_workflow
    model_dir = wd / "results/gan/b0/full/cwgan_gp/seed1"
    names = {"generator.weights.h5", "critic.weights.h5", "preprocess.json", "model.json",
             "history.tsv", "loss.png", "synthetic.parquet"}
    assert {p.name for p in model_dir.iterdir()} == names
    meta = json.loads((model_dir / "model.json").read_text())
    assert meta["classes"] == ["case", "control"]
    log = (wd / "logs/train_gan/b0.log").read_text()
    assert "no GPU found, training on CPU" in log and "training 2 of 2" in log
    assert not (wd / "checkpoints/gan/full/cwgan_gp/seed1").exists()
    fm = read_matrix(wd / PLAN.pool_file("r0_f1", "vanilla_gan", 1))
    assert fm.y.tolist() == ["case"] * 5 + ["control"] * 5
    assert fm.extra["synthetic"].all() and fm.extra["model"].eq("vanilla_gan").all()
    assert fm.extra["seed"].eq(gan_training_seed("r0_f1", 1)).all()
    np.testing.assert_allclose(fm.X.sum(axis=1), 1.0)
    assert (wd / "logs/benchmark/train_gan/b0.tsv").exists()


def genogan_train(workdir, out, epochs):
    return [str(BIN / "genogan"), "train", "--input", str(workdir / "train.parquet"),
            "--out-dir", str(out), "--config", str(workdir / "config.yaml"), "--epochs",
            str(epochs), "--seed", "3", "--threads", "1"]


@pytest.mark.slow
def test_sigkill_then_rerun_gives_the_uninterrupted_weights(tmp_path):
    """A real kill (SIGKILL, no clean-up) of `genogan train` after a checkpoint, then a rerun."""
    from genogan.generators import load_trained

    write_train(tmp_path / "train.parquet", n=40, d=30)
    cfg = {**GAN_CONFIG, "checkpoint_every": 25, "monitor_every": 50}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"gan": cfg}))
    epochs = 400
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(genogan_train(tmp_path, straight, epochs), check=True, capture_output=True)
    proc = subprocess.Popen(genogan_train(tmp_path, killed, epochs), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ckpt_index = tmp_path / "killed.ckpt" / "checkpoint"
    deadline = time.time() + 300
    while not ckpt_index.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    if proc.poll() is not None:
        pytest.fail("training finished before it could be killed: raise `epochs`")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "generator.weights.h5").exists()
    subprocess.run(genogan_train(tmp_path, killed, epochs), check=True, capture_output=True)
    a = load_trained(straight, all_networks=True)
    b = load_trained(killed, all_networks=True)
    for net in ("generator", "critic"):
        for wa, wb in zip(getattr(a.model, net).weights, getattr(b.model, net).weights,
                          strict=True):
            np.testing.assert_array_equal(wa.numpy(), wb.numpy())
