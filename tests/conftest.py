"""Shared fixtures: repository paths and a runner for the workflow in a scratch directory."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_snakemake(workdir, *args, check=True, timeout=900, snakefile=None):
    """Run the repository's Snakefile (or `snakefile`) in `workdir`; return the process."""
    snakefile = snakefile or REPO / "Snakefile"
    cmd = [str(BIN / "snakemake"), "-s", str(snakefile), "--directory", str(workdir),
           "--nolock", *args]
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
                             f"{proc.stderr[-6000:]}")
    return proc


def write_config(workdir, config: dict) -> Path:
    path = Path(workdir) / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def repo():
    return REPO


@pytest.fixture(scope="module")
def tiny_workdir(tmp_path_factory):
    """A working directory with the repository config and a hand-made 20-sample demo sheet (the
    smallest balanced cohort every training part of the shipped benchmark accepts at validation:
    5 folds, quality needs more than 3 test samples per fold)."""
    sys.path.insert(0, str(REPO / "tests" / "slurm"))
    from genogan_workdir import handmade_sheet
    from genogan_workdir import write_config as write_workdir_config

    workdir = tmp_path_factory.mktemp("workdir")
    config = write_workdir_config(workdir, {"demo": {"enabled": True, "n_samples": 20}})
    handmade_sheet(workdir, config, n_per_class=10)
    return workdir


def gaussian_matrix(n_case, n_control, p, *, shift, n_shifted, seed=0, sample_format="s{:03d}",
                    feature_prefix="f"):
    """A small labelled FeatureMatrix: standard normal features, the first `n_shifted` moved by
    `shift` in cases (cases first, then controls)."""
    import numpy as np

    from genogan.features import FeatureMatrix

    rng = np.random.default_rng(seed)
    y = np.array(["case"] * n_case + ["control"] * n_control)
    X = rng.normal(size=(len(y), p))
    X[y == "case", :n_shifted] += shift
    return FeatureMatrix(X, y, np.array([sample_format.format(i) for i in range(len(y))]),
                         [f"{feature_prefix}{j}" for j in range(p)])


@pytest.fixture
def captured(monkeypatch):
    """The figure each genogan.benchmark.plots function draws, instead of only its PNG."""
    from genogan.benchmark import plots

    figures = []

    def keep(fig, path):
        figures.append(fig)
        fig.savefig(path)

    monkeypatch.setattr(plots, "_save", keep)
    return figures


# ---- generative models: a two-class toy set and weight comparison over every network ----------
def two_classes(n=24, d=6, seed=0, shift=2.0):
    """n rows of d standard normal features, classes a and b, b shifted by `shift` on feature 0."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.array(["a"] * (n // 2) + ["b"] * (n - n // 2))
    X[y == "b", 0] += shift
    return X, y


def all_weights(model):
    """Every weight of every network of a `GenerativeModel`, as arrays."""
    return [w.numpy() for net in model.networks().values() for w in net.weights]


def assert_same_weights(a, b):
    import numpy as np

    wa, wb = all_weights(a), all_weights(b)
    assert len(wa) == len(wb) > 0
    for x, z in zip(wa, wb, strict=True):
        np.testing.assert_array_equal(x, z)
