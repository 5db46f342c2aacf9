# Per-sample canonical k-mer profiles, merged into one feature matrix (or a supplied table).


rule kmer_profile:
    input:
        unpack(kmer_inputs),
    output:
        paths.KMER_PROFILE,
    log:
        "logs/kmer_profile/{sample}.log",
    benchmark:
        "logs/benchmark/kmer_profile/{sample}.tsv"
    conda:
        "../../envs/align.yaml"
    threads: config["kmers"]["threads"]
    resources:
        mem_mb=config["kmers"]["mem_mb"],
    params:
        kmers=output_settings(config["kmers"], ("k", "source", "min_mapq", "regions")),
    script:
        "../scripts/kmer_profile.py"


if INPUT_TYPE == "reads":

    rule feature_matrix:
        input:
            unpack(feature_matrix_inputs),
        output:
            matrix=paths.MATRIX,
            names=paths.FEATURE_NAMES,
        log:
            "logs/feature_matrix.log",
        benchmark:
            "logs/benchmark/feature_matrix.tsv"
        conda:
            "../../envs/ml.yaml"
        params:
            normalise=config["kmers"]["normalise"],
        script:
            "../scripts/feature_matrix.py"
