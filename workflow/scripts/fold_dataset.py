"""Write one data set's training part and test part as separate parquet files.

`full` (the whole cohort, input of the INVALID leaky control only) has no test part.
"""
import _bootstrap
from genogan.benchmark.jobs import fold_dataset_job, full_dataset_job

log = _bootstrap.start(snakemake)
dataset = snakemake.wildcards.get("dataset", "full")
if dataset == "full":
    matrix = full_dataset_job(snakemake.input.matrix, snakemake.output.train)
    log.info("full: %d samples (leaky control only)", len(matrix.samples))
else:
    train, test = fold_dataset_job(snakemake.input.matrix, snakemake.input.splits, dataset,
                                   snakemake.params.seed, snakemake.output.train,
                                   snakemake.output.test, snakemake.params.feature_filter)
    log.info("%s: %d training, %d test samples", dataset, len(train.samples), len(test.samples))
