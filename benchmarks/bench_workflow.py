"""Workflow cost: jobs of the demo, dry-run time of a 1,000-sample sheet, per-rule time split.

    python benchmarks/bench_workflow.py [--anchor REV] [--workdir DIR] [--pairs N]

- Jobs: `snakemake -n --forceall` of the demo with the shipped config, per rule.
- Dry-run time of a 1,000-sample FASTQ sheet with the shipped benchmark config (target < 10 s),
  median of `--pairs` runs. With `--anchor REV` (e.g. the commit before a change) the same two
  measurements run on that revision too (exported with `git archive`, nothing in this checkout
  changes), alternating anchor and ours (`--ours`, default HEAD); the ratios are medians of
  per-pair ratios.
- Per-rule time split of a finished demo run (`--workdir`, e.g. a clone after `make run`): jobs,
  summed and mean wall seconds per rule, from the rules' `benchmark:` files.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
BENCH_ROOT = "logs/benchmark"


def job_counts(stdout: str) -> dict[str, int]:
    """Snakemake's `Job stats` table as {rule: count} (`total` included)."""
    lines = stdout[stdout.index("Job stats:"):].splitlines()[3:]
    out = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        out[parts[0]] = int(parts[1])
    return out


def dry_run(repo: Path, workdir: Path, *extra) -> tuple[float, dict]:
    cmd = [SNAKEMAKE, "-s", str(repo / "Snakefile"), "--directory", str(workdir), "-n",
           "--quiet", "rules", "--nolock", "--cores", "2", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"dry-run failed in {workdir}:\n{proc.stdout[-2000:]}"
                         f"{proc.stderr[-3000:]}")
    return elapsed, job_counts(proc.stdout)


def large_sheet(workdir: Path, repo: Path, n: int = 1000) -> None:
    """A 1,000-sample FASTQ sheet (tiny files) with the repo's shipped config otherwise."""
    rows = ["sample\tcondition\tfq1"]
    for i in range(n):
        fq = workdir / "reads" / f"s{i}.fq"
        fq.parent.mkdir(parents=True, exist_ok=True)
        fq.write_text(f"@r{i}\nACGTACGTAC\n+\nIIIIIIIIII\n")
        rows.append(f"s{i}\t{'case' if i % 3 == 0 else 'control'}\t{fq}")
    (workdir / "samples.tsv").write_text("\n".join(rows) + "\n")
    (workdir / "ref.fa").write_text(">chr1\n" + "ACGT" * 50 + "\n")
    cfg = yaml.safe_load((repo / "config/config.yaml").read_text())
    cfg.update(samples=str(workdir / "samples.tsv"), reference=str(workdir / "ref.fa"))
    cfg["demo"]["enabled"] = False
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def export_revision(rev: str, dest: Path) -> Path:
    """The tree of `rev` as plain files (git archive), leaving this checkout untouched."""
    data = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def measure(repo: Path, tmp: Path, name: str) -> dict:
    big = tmp / f"{name}_big"
    big.mkdir()
    large_sheet(big, repo)
    seconds, big_jobs = dry_run(repo, big, "--configfile", str(big / "config.yaml"))
    _, demo_jobs = dry_run(repo, repo, "--forceall")  # the demo: its own config and sheet
    return {"dry_run_s": seconds, "big_jobs": big_jobs, "demo_jobs": demo_jobs}


def rule_times(workdir: Path) -> pd.DataFrame:
    """jobs, total and mean wall seconds per rule from a finished run's benchmark files."""
    rows = []
    for path in sorted((workdir / BENCH_ROOT).rglob("*.tsv")):
        rule = path.relative_to(workdir / BENCH_ROOT).parts[0].removesuffix(".tsv")
        rows.append({"rule": rule, "s": float(pd.read_csv(path, sep="\t")["s"].iloc[-1])})
    if not rows:
        return pd.DataFrame(columns=["rule", "jobs", "wall_s_total", "mean_s_per_job"])
    df = pd.DataFrame(rows).groupby("rule")["s"].agg(jobs="size", wall_s_total="sum",
                                                    mean_s_per_job="mean")
    return df.sort_values("wall_s_total", ascending=False).reset_index()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--anchor", help="git revision to compare with (e.g. the commit before)")
    ap.add_argument("--ours", default="HEAD", help="revision measured as ours (default HEAD)")
    ap.add_argument("--workdir", type=Path, help="a finished demo run (per-rule time split)")
    ap.add_argument("--pairs", type=int, default=1, help="dry-run repetitions (median)")
    ap.add_argument("--no-dry-run", action="store_true", help="only the per-rule time split")
    args = ap.parse_args(argv)
    if not args.no_dry_run:
        dry_runs(args)
    if args.workdir:
        table = rule_times(args.workdir)
        print(f"\nper-rule time split of {args.workdir} (benchmark: files):")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
        print(f"sum of job wall times: {table['wall_s_total'].sum():.0f} s in "
              f"{table['jobs'].sum()} benchmarked jobs")
    return 0


def dry_runs(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        anchor = export_revision(args.anchor, tmp / "anchor") if args.anchor else None
        head = export_revision(args.ours, tmp / "ours")
        ours, theirs = [], []
        for i in range(args.pairs):
            if anchor:
                theirs.append(measure(anchor, tmp, f"anchor{i}"))
            ours.append(measure(head, tmp, f"ours{i}"))
    report("ours", ours)
    if theirs:
        report(f"anchor {args.anchor}", theirs)
        ratios = [t["dry_run_s"] / o["dry_run_s"] for t, o in zip(theirs, ours, strict=True)]
        print(f"dry-run time anchor/ours (median of {len(ratios)} per-pair ratios): "
              f"{statistics.median(ratios):.2f}x")
        print(f"demo jobs anchor/ours: {theirs[0]['demo_jobs']['total']} / "
              f"{ours[0]['demo_jobs']['total']} = "
              f"{theirs[0]['demo_jobs']['total'] / ours[0]['demo_jobs']['total']:.2f}x")


def report(label: str, runs: list[dict]) -> None:
    med = statistics.median(r["dry_run_s"] for r in runs)
    jobs = runs[0]["demo_jobs"]
    print(f"[{label}] dry-run of a 1,000-sample sheet, shipped benchmark config: {med:.1f} s "
          f"(median of {len(runs)}; target < 10 s); {runs[0]['big_jobs']['total']} jobs")
    print(f"[{label}] demo jobs: {jobs['total']} -- "
          + ", ".join(f"{k} {v}" for k, v in jobs.items() if k != "total"))


if __name__ == "__main__":
    sys.exit(main())
