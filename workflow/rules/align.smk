# Reads -> coordinate-sorted, indexed BAM with read groups, plus per-sample alignment stats.


rule align:
    input:
        unpack(fastq_inputs),
        reference=REFERENCE or [],
    output:
        bam="results/bam/{sample}.bam",
        bai="results/bam/{sample}.bam.bai",
    params:
        engine=config["align"]["engine"],
    log:
        "logs/align/{sample}.log",
    benchmark:
        "logs/benchmark/align/{sample}.tsv"
    threads: config["align"]["threads"]
    resources:
        mem_mb=config["align"]["mem_mb"],
        runtime=config["align"]["runtime"],
    conda:
        "../../envs/align.yaml"
    script:
        "../scripts/align.py"


rule alignment_stats:
    input:
        bam="results/bam/{sample}.bam",
        bai="results/bam/{sample}.bam.bai",
        reference=REFERENCE or [],
    output:
        "results/qc/{sample}.align_stats.tsv",
    log:
        "logs/alignment_stats/{sample}.log",
    conda:
        "../../envs/align.yaml"
    script:
        "../scripts/alignment_stats.py"


rule alignment_summary:
    input:
        expand("results/qc/{sample}.align_stats.tsv", sample=aligned_samples()),
    output:
        report(
            "results/qc/alignment_summary.tsv",
            caption="../report/alignment_summary.rst",
            category="1. Preprocessing",
        ),
    log:
        "logs/alignment_summary.log",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/concat_tsv.py"
