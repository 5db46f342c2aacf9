"""The real-SLURM tier: run the genogan workflow through `profiles/slurm` on a live cluster.

Start a throwaway single-node cluster first (Debian/Ubuntu, as root; installs slurm-wlm + munge):

    sudo tests/slurm/start_cluster.sh && make test-slurm; sudo tests/slurm/stop_cluster.sh

The tests run the real Snakefile on a tiny demo cohort with a copy of profiles/slurm adapted to the
local cluster (partition `debug`, no account, job states polled with `squeue` because the cluster
has no accounting database), then check from the controller's own records (`squeue`/`scontrol`,
kept for an hour by MinJobAge) that every job ran as a completed SLURM job of its rule, that GPU
rules asked SLURM for a GPU, that `threads:` became SLURM CPUs, and that the outputs equal those of
a local run with the same seeds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from genogan_workdir import ROOT, simulated_sheet, snakemake_cmd, write_config

pytestmark = pytest.mark.slurm

PARTITION = os.environ.get("GENOGAN_SLURM_PARTITION", "debug")
# The one GAN of the config below (leaky control: `full`) is batch b0 of train_gan (a GPU request),
# which samples its pool in the same job (genogan.benchmark.targets.Plan.pool_file).
GAN_BATCH = "results/gan/b0"
SYNTHETIC = f"{GAN_BATCH}/full/cwgan_gp/seed1/synthetic.parquet"
# What the cluster run builds: preprocessing, alignment QC and one GAN. Add more (e.g. "all") as
# the workflow grows; GENOGAN_SLURM_TARGETS (space-separated) overrides.
TARGETS = os.environ.get(
    "GENOGAN_SLURM_TARGETS",
    f"results/features/matrix.parquet results/qc/alignment_summary.tsv {GAN_BATCH}").split()
# Outputs compared with a local run of the same config: path -> relative tolerance (0 = exact;
# TSV and other non-parquet files are compared byte for byte).
COMPARED = {"results/features/matrix.parquet": 0.0, "results/qc/alignment_summary.tsv": 0.0,
            SYNTHETIC: 0.0}
SLURM_PROFILE = ROOT / "profiles" / "slurm" / "config.v8+.yaml"
# Rules the SLURM profile gives a GPU (set-resources with gpu or a gpu gres); every other job must
# hold no GPU.
GPU_RULES = {rule for rule, res in (yaml.safe_load(SLURM_PROFILE.read_text())
                                    .get("set-resources") or {}).items()
             if res.get("gpu") or "gpu" in str(res.get("gres", ""))}
ALLOWED_LOCAL = {"all"}  # rules that may run on the submit host (they run nothing)
# The tiny cohort: keys merged into config/config.yaml (3 cases, 3 controls: enough for 3 folds),
# and a short GAN training. Its benchmark is classifier-only: validation rejects augmenters and
# quality on training parts of 2 per class (the targets below train the `full` GAN directly).
CONFIG = {"demo": {"enabled": True, "seed": 7, "n_samples": 6, "case_fraction": 0.5,
                   "coverage": 0.5},
          "benchmark": {"folds": 3, "arms": ["none", "class_weight"], "quality_baselines": [],
                        "gan_trainings_per_job": 1,  # one GPU job per training on a cluster
                        "leaky_control": {"enabled": True, "arms": ["cwgan_gp"]},  # the full GAN
                        **{k: {"enabled": False} for k in ("dose_response", "learning_curve",
                                                           "imbalance", "null_control")}},
          "gan": {"epochs": 10, "checkpoint_every": 5, "monitor_every": 5}}
RUN_TIMEOUT = 1800


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def cluster_problem() -> str | None:
    """Why the SLURM tier cannot run here, or None if a usable cluster answers."""
    if shutil.which("sbatch") is None:
        return ("sbatch not on PATH: no SLURM here. Start a local test cluster with "
                "`sudo tests/slurm/start_cluster.sh` (Debian/Ubuntu, installs slurm-wlm + munge)")
    try:
        proc = _run(["sinfo", "-h", "-p", PARTITION, "-o", "%T"], timeout=30)
    except subprocess.TimeoutExpired:
        return "SLURM installed but slurmctld does not answer (sinfo timed out after 30 s)"
    if proc.returncode != 0:
        return f"SLURM installed but the cluster is not up (sinfo: {proc.stderr.strip()[:200]})"
    if not re.search(r"^(idle|mixed|allocated)", proc.stdout, re.M):
        return (f"no usable node in partition {PARTITION!r} (states: {proc.stdout.split()}); "
                "run tests/slurm/start_cluster.sh or set GENOGAN_SLURM_PARTITION")
    return None


@pytest.fixture(scope="module")
def cluster():
    problem = cluster_problem()
    if problem:
        pytest.skip(problem)


def write_cluster_profile(dest: Path) -> Path:
    """profiles/slurm adapted to the local test cluster (only site settings change)."""
    profile = yaml.safe_load(SLURM_PROFILE.read_text())
    profile["default-resources"]["slurm_partition"] = f"'{PARTITION}'"
    profile.update({
        "slurm-status-command": "squeue",  # no accounting database: sacct cannot answer
        "slurm-init-seconds-before-status-checks": 2,  # MinJobAge (3600 s) >= 3 x this
        "slurm-keep-successful-logs": True,  # evidence for the tests
        "latency-wait": 10,
        "jobs": 20,
    })
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.v8+.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return dest


def run_logged(cmd: list[str], log: Path) -> int:
    # The test cluster's GPU is declared with no device behind it (File=/dev/null): GAN jobs get
    # CUDA_VISIBLE_DEVICES but no GPU, which genogan refuses unless told it is on purpose.
    env = {**os.environ, "GENOGAN_ALLOW_CPU_ON_GPU_JOB": "1"}
    with open(log, "w") as fh:
        return subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT,
                              env=env).returncode


def job_stats(output: str) -> Counter:
    """The `Job stats:` table Snakemake prints before running: rule -> number of jobs."""
    lines = output.split("Job stats:", 1)[1].splitlines()[3:]
    counts = Counter()
    for line in lines:
        name, _, count = line.strip().rpartition(" ")
        if name.strip() == "total" or not count.isdigit():
            break
        counts[name.strip()] = int(count)
    return counts


def slurm_jobs(run_id: str) -> list[dict]:
    """Every job of this Snakemake run as slurmctld remembers it (squeue --states=all)."""
    proc = _run(["squeue", "--states=all", "-h", "--name", run_id, "-o", "%i|%T|%k"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    jobs = []
    for line in proc.stdout.splitlines():
        job_id, state, comment = line.strip().split("|", 2)
        m = re.match(r"rule_(?P<rule>.+?)(?:_wildcards_(?P<wc>.*))?$", comment)
        assert m, f"job {job_id}: comment {comment!r} does not name a rule"
        show = _run(["scontrol", "show", "job", "-o", job_id], timeout=60).stdout
        jobs.append(dict(id=job_id, state=state, rule=m["rule"], wildcards=m["wc"] or "",
                         show=show))
    return jobs


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """The same tiny demo built through SLURM and locally; timings go to the test output."""
    base = tmp_path_factory.mktemp("slurm-tier")
    profile = write_cluster_profile(base / "profile")
    dirs = {}
    for kind in ("slurm", "local"):
        workdir = base / kind
        config = write_config(workdir, CONFIG)
        simulated_sheet(workdir, config)
        dirs[kind] = workdir
    t0 = time.monotonic()
    rc = run_logged(snakemake_cmd(dirs["slurm"], "--profile", str(profile), *TARGETS),
                    dirs["slurm"] / "run.log")
    slurm_s = time.monotonic() - t0
    slurm_out = (dirs["slurm"] / "run.log").read_text()
    assert rc == 0, f"SLURM run failed:\n{slurm_out[-6000:]}"
    t0 = time.monotonic()
    rc = run_logged(snakemake_cmd(dirs["local"], "--profile", str(ROOT / "profiles" / "local"),
                                  *TARGETS), dirs["local"] / "run.log")
    local_s = time.monotonic() - t0
    assert rc == 0, f"local run failed:\n{(dirs['local'] / 'run.log').read_text()[-6000:]}"
    print(f"\nSLURM run {slurm_s:.0f} s, local run {local_s:.0f} s (targets: {TARGETS})")
    run_id = re.search(r"SLURM run ID: (\S+)", slurm_out)
    assert run_id, "no 'SLURM run ID' in the Snakemake output: did it use the slurm executor?"
    return dict(dirs=dirs, out=slurm_out, run_id=run_id[1], jobs=slurm_jobs(run_id[1]),
                planned=job_stats(slurm_out))


def test_every_rule_ran_as_a_completed_slurm_job(runs):
    local = set(re.findall(r"^localrule (\w+):", runs["out"], re.M))
    assert local <= ALLOWED_LOCAL, f"rules run on the submit host instead of SLURM: {local}"
    expected = Counter({r: n for r, n in runs["planned"].items() if r not in ALLOWED_LOCAL})
    assert expected, f"no jobs planned? output:\n{runs['out'][-3000:]}"
    completed = Counter(j["rule"] for j in runs["jobs"] if j["state"] == "COMPLETED")
    assert completed == expected, (f"SLURM completed {dict(completed)}, Snakemake planned "
                                   f"{dict(expected)}; all jobs: {runs['jobs']}")
    # The plugin's per-job log (kept) exists for each job: SLURM wrote it from the compute node.
    logdir = runs["dirs"]["slurm"] / ".snakemake" / "slurm_logs"
    for job in runs["jobs"]:
        found = list(logdir.glob(f"rule_{job['rule']}/**/{job['id']}.log"))
        assert found, f"no SLURM log for job {job['id']} ({job['rule']}) under {logdir}"


def test_threads_became_slurm_cpus(runs):
    config = yaml.safe_load((runs["dirs"]["slurm"] / "config" / "config.yaml").read_text())
    want = {"align": config["align"]["threads"], "kmer_profile": config["kmers"]["threads"]}
    checked = 0
    for job in runs["jobs"]:
        if job["rule"] in want:
            cpus = re.search(r"\bNumCPUs=(\d+)", job["show"])
            assert cpus and int(cpus[1]) == want[job["rule"]], (job["rule"], job["show"])
            checked += 1
    assert checked, "no align/kmer_profile job ran on SLURM"


def test_gpu_rules_asked_slurm_for_a_gpu(runs):
    gpu_jobs = [j for j in runs["jobs"] if j["rule"] in GPU_RULES]
    for job in runs["jobs"]:
        asked = re.search(r"TresPerJob=\S*gpu:[1-9]", job["show"]) is not None
        assert asked == (job["rule"] in GPU_RULES), (
            f"job {job['id']} ({job['rule']}): GPU request {asked}\n{job['show']}")
    if not gpu_jobs:
        pytest.skip(f"no GPU rule ({sorted(GPU_RULES)}) among the targets {TARGETS} yet; "
                    "test_profile_gpu_request_reaches_slurm covers the profile's GPU request")


def _compare(path: str, slurm: Path, local: Path, rtol: float) -> None:
    a, b = slurm / path, local / path
    assert a.is_file() and b.is_file(), f"{path} missing from a run"
    if path.endswith(".parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b),
                                      check_exact=rtol == 0, rtol=rtol or 1e-5)
    else:
        assert a.read_bytes() == b.read_bytes(), f"{path} differs between SLURM and local runs"


@pytest.mark.parametrize("path", sorted(COMPARED))
def test_outputs_equal_a_local_run(runs, path):
    # a file inside a directory target (the train_gan batch) is built by that target
    if not any(path == t or t == "all" or path.startswith(f"{t}/") for t in TARGETS):
        pytest.skip(f"{path} is not among the targets {TARGETS}")
    _compare(path, runs["dirs"]["slurm"], runs["dirs"]["local"], COMPARED[path])


GPU_SNAKEFILE = r"""
rule all:
    input: "gpu.txt", "cpu.txt"

rule train_gan:
    output: "gpu.txt"
    shell: "echo $SLURM_JOB_ID ${{SLURM_GPUS_ON_NODE:-0}} ${{CUDA_VISIBLE_DEVICES:-none}} >{output}"

rule plain:
    output: "cpu.txt"
    shell: "echo $SLURM_JOB_ID ${{SLURM_GPUS_ON_NODE:-0}} > {output}"
"""


def test_profile_gpu_request_reaches_slurm(cluster, tmp_path):
    """profiles/slurm's `set-resources: train_gan: gpu` becomes a GPU allocation on the cluster
    (a two-rule workflow, so this holds before the real GAN rule is among the targets)."""
    (tmp_path / "Snakefile").write_text(GPU_SNAKEFILE)
    profile = write_cluster_profile(tmp_path / "profile")
    cmd = [str(Path(snakemake_cmd(tmp_path)[0])), "--directory", str(tmp_path),
           "--snakefile", str(tmp_path / "Snakefile"), "--profile", str(profile)]
    rc = run_logged(cmd, tmp_path / "run.log")
    out = (tmp_path / "run.log").read_text()
    assert rc == 0, out[-4000:]
    gpu_job, gpus, cuda = (tmp_path / "gpu.txt").read_text().split()
    cpu_job, cpu_gpus = (tmp_path / "cpu.txt").read_text().split()
    assert gpu_job.isdigit() and cpu_job.isdigit(), "rules did not run inside SLURM jobs"
    assert gpus == "1" and cuda != "none", "SLURM gave the train_gan job no GPU"
    assert cpu_gpus == "0", "a rule without a GPU request got one"
    show = _run(["scontrol", "show", "job", "-o", gpu_job], timeout=60).stdout
    assert re.search(r"TresPerJob=\S*gpu:1", show), show
