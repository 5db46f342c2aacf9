"""Evaluate every arm x classifier of one split in one process (rule evaluate)."""
import _bootstrap
from genogan.benchmark.jobs import evaluate_job

log = _bootstrap.start(snakemake)
inp, p = snakemake.input, snakemake.params
evaluate_job(list(inp.train), list(inp.test), inp.splits, p.jobs, p.benchmark, p.pools,
             snakemake.output.metrics, snakemake.output.oof, full_path=inp.get("full"),
             threads=snakemake.threads, log=log,
             reference_paths=(inp.reference_space, inp.reference_matrix)
             if "reference_space" in inp.keys() else None)
