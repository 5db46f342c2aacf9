"""Draw the benchmark figures from the aggregated tables."""
import _bootstrap
from genogan.benchmark.jobs import plots_job

log = _bootstrap.start(snakemake)
inp = snakemake.input
plots_job({k: inp[k] for k in ("aggregate", "inflation", "worth", "pooled_oof")},
          snakemake.params.benchmark, dict(snakemake.output.items()))
log.info("figures: %s", ", ".join(snakemake.output))
