"""Per-sample alignment statistics (mapped %, properly paired %, mean depth) as a one-row TSV."""
import _bootstrap
from genogan.align import alignment_stats, write_stats_tsv

log = _bootstrap.start(snakemake)
stats = alignment_stats(snakemake.input.bam, snakemake.input.reference)
write_stats_tsv(stats, snakemake.output[0], sample=snakemake.wildcards.sample)
log.info("%s", stats)
