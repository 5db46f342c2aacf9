"""Per-sample alignment statistics (mapped %, properly paired %, mean depth) as a one-row TSV."""
import _bootstrap
from genogan.align import alignment_stats, write_stats_tsv

log = _bootstrap.start(snakemake)
stats = alignment_stats(snakemake.input.bam, snakemake.input.reference)
write_stats_tsv({"sample": snakemake.wildcards.sample, **stats}, snakemake.output[0])
log.info("%s", stats)
