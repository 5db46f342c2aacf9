"""Write the repeated stratified k-fold split file that every benchmark job reads."""
import _bootstrap
from genogan.benchmark.jobs import split_job

log = _bootstrap.start(snakemake)
p = snakemake.params
splits = split_job(snakemake.input.matrix, snakemake.output.splits, p.folds, p.repeats, p.seed)
log.info("%d samples, %d folds x %d repeats", splits["sample"].nunique(), p.folds, p.repeats)
