"""Snakemake profiles: both parse the way Snakemake reads them, the SLURM profile asks for a GPU for
GAN training in the plugin's own syntax (checked by building the sbatch call with the installed
snakemake-executor-plugin-slurm), `slurm_extra` never repeats flags the plugin sets, the local
profile caps `gpu` at 1, and dry-runs of the real workflow accept both profiles.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from snakemake.profiles import ProfileConfigFileParser
from snakemake.resources import Resource
from snakemake_interface_common.exceptions import WorkflowError

pytest.importorskip("snakemake_executor_plugin_slurm",
                    reason="the SLURM plugin is the `slurm` extra: pip install -e '.[slurm]'")
from snakemake_executor_plugin_slurm.submit_string import get_submit_command  # noqa: E402
from snakemake_executor_plugin_slurm.utils import set_gres_string  # noqa: E402
from snakemake_executor_plugin_slurm.validation import validate_slurm_extra  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "slurm"))
from genogan_workdir import ROOT, snakemake_cmd  # noqa: E402

PROFILES = {name: ROOT / "profiles" / name / "config.v8+.yaml" for name in ("local", "slurm")}
GPU_RULES = ("train_gan", "pretrain")


def load(name: str) -> dict:
    return yaml.safe_load(PROFILES[name].read_text())


def snakemake_args(name: str) -> dict:
    """The profile as Snakemake turns it into command-line arguments."""
    with open(PROFILES[name]) as fh:
        return dict(ProfileConfigFileParser().parse(fh))


class FakeResources(dict):
    """Job resources as the plugin reads them: `.get(name)` and attribute access."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


class FakeJob:
    def __init__(self, name: str, resources: dict, threads: int):
        self.name, self.threads, self.resources = name, threads, FakeResources(resources)


def evaluate(value, threads: int, attempt: int = 1):
    """A profile resource value as Snakemake evaluates it for one job (same evaluator)."""
    if not isinstance(value, str):
        return value
    return Resource.cli_evaluator("x", value, wildcards={}, input=[], attempt=attempt,
                                  threads=threads, async_run=None)


def job_resources(rule: str, threads: int, attempt: int = 1) -> dict:
    profile = load("slurm")
    merged = dict(profile.get("default-resources") or {})
    merged.update((profile.get("set-resources") or {}).get(rule, {}))
    return {k: evaluate(v, threads, attempt) for k, v in merged.items()}


def sbatch_call(rule: str, threads: int, attempt: int = 1) -> str:
    """The sbatch command line the installed plugin would build for a job of `rule`."""
    job = FakeJob(rule, job_resources(rule, threads, attempt), threads)
    params = dict(run_uuid="run", slurm_logfile="log/%j.log", comment_str=f"rule_{rule}",
                  account="", partition="", workdir="/work")
    return get_submit_command(job, params) + set_gres_string(job)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_parses_as_snakemake_reads_it(name):
    assert isinstance(load(name), dict)
    args = snakemake_args(name)
    assert args, f"profiles/{name} is empty"
    assert "profiles/default" not in str(PROFILES[name])  # Snakemake would apply it silently


def test_slurm_profile_core_settings():
    profile = load("slurm")
    assert profile["executor"] == "slurm"
    assert int(profile["jobs"]) >= 1
    assert int(profile["latency-wait"]) >= 30  # shared file systems are slow to show outputs
    assert int(profile["retries"]) >= 1
    assert profile["rerun-incomplete"] is True
    defaults = profile["default-resources"]
    assert {"mem_mb", "runtime"} <= set(defaults)
    if "slurm-status-command" in profile:
        assert profile["slurm-status-command"] in ("sacct", "squeue")


def test_default_resources_scale_with_attempt_and_follow_threads():
    first, second = job_resources("align", threads=2), job_resources("align", threads=2, attempt=2)
    assert second["mem_mb"] == 2 * first["mem_mb"]
    assert second["runtime"] == 2 * first["runtime"]
    call = sbatch_call("align", threads=2)
    assert "--cpus-per-task=2" in call
    assert f"--mem {first['mem_mb']}" in call and f"-t {first['runtime']}" in call
    assert "--gpus" not in call and "--gres" not in call


@pytest.mark.parametrize("rule", GPU_RULES)
def test_slurm_profile_requests_a_gpu_for_gan_training(rule):
    resources = job_resources(rule, threads=2)
    assert resources.get("gpu") or "gpu" in str(resources.get("gres", "")), (
        f"set-resources: {rule} asks for no GPU")
    call = sbatch_call(rule, threads=2)
    assert re.search(r"--gpus=(\w+:)?[1-9]|--gres=gpu(:\w+)?:[1-9]", call), call
    assert "--ntasks=" not in call  # the plugin leaves task geometry alone for GPU jobs


def _slurm_extras():
    profile = load("slurm")
    extras = [("default-resources", (profile.get("default-resources") or {}).get("slurm_extra"))]
    extras += [(f"set-resources {rule}", res.get("slurm_extra"))
               for rule, res in (profile.get("set-resources") or {}).items()]
    return [(where, evaluate(extra, 1)) for where, extra in extras if extra]


def test_slurm_extra_never_repeats_plugin_managed_flags():
    for where, extra in _slurm_extras():
        try:
            validate_slurm_extra(FakeJob("x", {"slurm_extra": extra}, 1))
        except WorkflowError as exc:
            pytest.fail(f"profiles/slurm {where}: slurm_extra {extra!r}: {exc}")


def test_slurm_extra_check_rejects_a_managed_flag():
    with pytest.raises(WorkflowError, match="GPU allocation"):
        validate_slurm_extra(FakeJob("x", {"slurm_extra": "--mail-type=END --gpus=2"}, 1))


def test_no_site_placeholder_is_left_active():
    """Account and partition stay commented out: a placeholder would make every sbatch fail."""
    profile = load("slurm")
    blocks = [profile.get("default-resources") or {},
              *(profile.get("set-resources") or {}).values()]
    for block in blocks:
        for key in ("slurm_account", "slurm_partition"):
            value = str(block.get(key, ""))
            assert not re.search(r"my_|<|your", value), f"{key}: {value!r} looks like a placeholder"


def test_local_profile_caps_gpu_at_one():
    """The cap serialises GAN jobs only where they request a GPU: train_gan asks for one only
    on a machine that has one (tests/test_gan_workflow.py::test_gpu_request_and_threads...)."""
    resources = snakemake_args("local")["resources"]
    assert "gpu=1" in resources, resources


def test_local_profile_keeps_the_terminal_quiet():
    """No per-job rule blocks or `Shell command: None` lines; progress and errors stay."""
    profile = load("local")
    assert not profile.get("printshellcmds")
    assert "rules" in profile["quiet"] and "progress" not in profile["quiet"]
    assert profile["show-failed-logs"] is True


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_dry_run_with_profile(tiny_workdir, name):
    """The plugin validates its settings and Snakemake evaluates every job's resources."""
    # --cores 4: a dry-run otherwise plans with one core and scales `threads` down to 1.
    proc = subprocess.run(snakemake_cmd(tiny_workdir, "--profile", str(PROFILES[name].parent),
                                        "--dry-run", "--cores", "4"),
                          capture_output=True, text=True, timeout=180)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "feature_matrix" in out and "This was a dry-run" in out
    if name == "slurm":
        assert "cpus_per_task=2" in out  # align/kmer_profile threads reach --cpus-per-task
