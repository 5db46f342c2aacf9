"""Aggregate all per-fold results: means, corrected CIs, paired tests, inflation, worth."""
import _bootstrap
from genogan.benchmark.jobs import aggregate_job

log = _bootstrap.start(snakemake)
out = snakemake.output
tables = aggregate_job(snakemake.input.metrics, snakemake.input.oof, snakemake.params.benchmark,
                       {k: out[k] for k in ("per_fold", "aggregate", "inflation", "worth",
                                            "pooled_oof")})
log.info("%d per-fold rows -> %d aggregate rows", len(tables["per_fold"]),
         len(tables["aggregate"]))
