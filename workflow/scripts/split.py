"""Write the repeated stratified (grouped) k-fold split file every benchmark job reads, and the
sample pairs far closer than typical (rule split)."""
import _bootstrap
from genogan.benchmark.jobs import split_job

log = _bootstrap.start(snakemake)
p = snakemake.params
splits = split_job(snakemake.input.matrix, snakemake.output.splits, p.folds, p.repeats, p.seed,
                   close_out=snakemake.output.close_pairs, log=log)
log.info("%d samples, %d folds x %d repeats%s", splits["sample"].nunique(), p.folds, p.repeats,
         f", grouped ({splits['group'].nunique()} groups)" if "group" in splits else "")
