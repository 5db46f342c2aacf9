"""Throwaway working directories that run the real genogan Snakefile on a tiny demo cohort.

Shared by tests/test_envs.py, tests/test_profiles.py and tests/slurm/test_slurm.py (they put this
folder on sys.path). The config is the repository's `config/config.yaml` with a few keys
overridden, so keys other stages add later come along untouched.
"""

from __future__ import annotations

import copy
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEFILE = ROOT / "Snakefile"
BIN = Path(sys.executable).parent


def deep_update(base: dict, overrides: dict) -> dict:
    """Merge `overrides` into a copy of `base`: nested dicts merge, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def write_config(workdir: Path, overrides: dict | None = None) -> dict:
    """Write `workdir/config/config.yaml`: the repository config with `overrides` merged in."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config = deep_update(config, overrides or {})
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def handmade_sheet(workdir: Path, config: dict, n_per_class: int = 4) -> Path:
    """A demo-style sample sheet without simulating anything: enough to parse and dry-run the DAG
    (with the demo enabled, the reads are outputs of `simulate_demo`, so they need not exist)."""
    outdir = config["demo"]["outdir"]
    rows = ["sample\tcondition\tfq1\tfq2"]
    for i in range(2 * n_per_class):
        sid, cond = f"S{i + 1:03d}", ("case" if i % 2 == 0 else "control")
        rows.append(f"{sid}\t{cond}\t{outdir}/reads/{sid}_R1.fastq.gz\t{outdir}/reads/{sid}_R2.fastq.gz")
    path = workdir / config["samples"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


def simulated_sheet(workdir: Path, config: dict) -> Path:
    """The sample sheet `simulate_demo` will check against, made by the simulator itself (in a
    scratch folder that is removed, so the workflow's own `simulate_demo` job still runs)."""
    from genogan.simulate import CohortParams, simulate_cohort

    demo = config["demo"]
    params = CohortParams(seed=demo["seed"], n_samples=demo["n_samples"],
                          case_fraction=demo["case_fraction"], coverage=demo["coverage"],
                          effect_size=demo["effect_size"])
    scratch = workdir / ".sheet-scratch"
    sheet = simulate_cohort(scratch, params, sheet_path_prefix=demo["outdir"])
    path = workdir / config["samples"]
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sheet, path)
    shutil.rmtree(scratch)
    return path


def snakemake_cmd(workdir: Path, *args: str) -> list[str]:
    """Command line running the repository's Snakefile in `workdir`."""
    return [str(BIN / "snakemake"), "--snakefile", str(SNAKEFILE), "--directory", str(workdir),
            *args]
