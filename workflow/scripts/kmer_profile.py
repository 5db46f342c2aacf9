"""Count one sample's canonical k-mers from its BAM/CRAM, reads or FASTA."""
import _bootstrap

from genogan import kmers
from genogan.io import timed

log = _bootstrap.start(snakemake)
inp, opts, sample = snakemake.input, snakemake.params.kmers, snakemake.wildcards.sample
k, threads = opts["k"], snakemake.threads
with timed(log, f"counting canonical {k}-mers of {sample}"):
    if "bam" in inp.keys() or "cram" in inp.keys():
        path = inp.get("bam") or inp.get("cram")
        reference = inp.get("reference")
        if reference:  # user-supplied alignments must match the reference we were given
            from genogan.align import check_alignment_reference

            check_alignment_reference(path, reference)
        counts = kmers.count_kmers_bam(path, k, min_mapq=opts["min_mapq"],
                                       regions_bed=opts["regions"] or None, threads=threads,
                                       reference=reference)
        source = "aligned"
    elif "fq1" in inp.keys():
        counts = kmers.count_kmers_fastq([p for p in (inp.fq1, inp.get("fq2")) if p], k,
                                         threads=threads)
        source = "reads"
    else:
        counts = kmers.count_kmers_fasta(inp.fasta, k, threads=threads)
        source = "fasta"
kmers.save_counts(snakemake.output[0], counts, k, sample, source)
log.info("%s: %d k-mers counted from %s", sample, int(counts.sum()), source)
