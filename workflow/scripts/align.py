"""Align one sample's reads to the reference: coordinate-sorted, indexed BAM with a read group,
and its alignment statistics (mapped %, properly paired %, mean depth) as a one-row TSV."""
import _bootstrap
from genogan.align import align_sample, alignment_stats, write_stats_tsv

log = _bootstrap.start(snakemake)
inp, out, sample = snakemake.input, snakemake.output, snakemake.wildcards.sample
align_sample(inp.reference, inp.fq1, inp.get("fq2"), out.bam, sample=sample,
             threads=snakemake.threads, engine=snakemake.params.engine,
             index=snakemake.params.index)
stats = alignment_stats(out.bam, inp.reference)
write_stats_tsv(stats, out.stats, sample=sample)
log.info("%s", stats)
