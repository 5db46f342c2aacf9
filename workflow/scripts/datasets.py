"""Write every data set's training part and test part to separate files (rule datasets)."""
import _bootstrap
from genogan.benchmark.jobs import datasets_job

log = _bootstrap.start(snakemake)
p = snakemake.params
done = datasets_job(snakemake.input.matrix, snakemake.input.splits, p.datasets, p.seed,
                    feature_filter=p.feature_filter, threads=snakemake.threads)
log.info("wrote %d data sets", len(done))
