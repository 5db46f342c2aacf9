"""Align one sample's reads to the reference: coordinate-sorted, indexed BAM with a read group."""
import _bootstrap
from genogan.align import align_sample

log = _bootstrap.start(snakemake)
inp = snakemake.input
align_sample(inp.reference, inp.fq1, inp.get("fq2"), snakemake.output.bam,
             sample=snakemake.wildcards.sample, threads=snakemake.threads,
             engine=snakemake.params.engine, index=snakemake.params.index)
