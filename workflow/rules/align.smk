# Reads -> coordinate-sorted, indexed BAM with read groups and per-sample alignment stats.
# The aligner's index is built once (index_reference) and loaded by every align job.
import os

from genogan.align import align_mem_mb, index_files, index_from_files


rule index_reference:
    input:
        reference=REFERENCE or [],
    output:
        index_files(config["align"]["engine"], paths.INDEX_PREFIX),
    log:
        "logs/index_reference.log",
    benchmark:
        "logs/benchmark/index_reference.tsv"
    conda:
        "../../envs/align.yaml"
    threads: config["align"]["threads"]
    resources:
        mem_mb=config["align"]["mem_mb"],
        runtime=config["align"]["runtime"],
    params:
        engine=config["align"]["engine"],
    script:
        "../scripts/index_reference.py"


rule align:
    input:
        unpack(fastq_inputs),
        reference=REFERENCE or [],
        index=index_files(config["align"]["engine"], paths.INDEX_PREFIX),
    output:
        bam=paths.BAM,
        bai=paths.BAI,
        # the per-sample stats come from the same job: a rule of their own was a third of the
        # DAG's jobs (1,000 of 3,040 at 1,000 samples) for ~0.1 s of work each
        stats=paths.ALIGN_STATS,
    log:
        "logs/align/{sample}.log",
    benchmark:
        "logs/benchmark/align/{sample}.tsv"
    conda:
        "../../envs/align.yaml"
    threads: config["align"]["threads"]
    resources:
        mem_mb=lambda wildcards, input, threads, attempt: align_mem_mb(
            sum(os.path.getsize(f) for f in input.index if os.path.exists(f)),
            threads,
            attempt,
            floor_mb=config["align"]["mem_mb"],
        ),
        runtime=config["align"]["runtime"],
    params:
        engine=config["align"]["engine"],
        index=lambda w, input: index_from_files(config["align"]["engine"], input.index),
    script:
        "../scripts/align.py"


rule alignment_summary:
    input:
        expand(paths.ALIGN_STATS, sample=aligned_samples()),
    output:
        report(
            paths.ALIGNMENT_SUMMARY,
            caption="../report/alignment_summary.rst",
            category="7. Preprocessing",
            labels={"table": "alignment summary per sample"},
        ),
    log:
        "logs/alignment_summary.log",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/concat_tsv.py"
