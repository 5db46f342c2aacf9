# Quality of synthetic samples (fidelity, label fidelity, utility, privacy) per fold, and the
# leakage-free privacy gate. Settings: config["quality"] (detection_folds, mmd_permutations,
# privacy_gate: {enabled, percentile}).

QUALITY_DIR = "results/quality/{dataset}/{model}/seed{seed}"


rule quality:
    input:
        train="results/datasets/{dataset}/train.parquet",
        holdout="results/datasets/{dataset}/test.parquet",
        synthetic="results/synthetic/{dataset}/{model}/seed{seed}.parquet",
    output:
        summary=report(
            f"{QUALITY_DIR}/summary.tsv",
            caption="../report/quality_summary.rst",
            category="Synthetic data quality",
            subcategory="{model}",
            labels={
                "dataset": "{dataset}",
                "seed": "{seed}",
                "result": "summary table",
            },
        ),
        per_feature=f"{QUALITY_DIR}/per-feature.tsv",
        fidelity_by_class=f"{QUALITY_DIR}/fidelity-by-class.tsv",
        detection=f"{QUALITY_DIR}/detection.tsv",
        label_fidelity=f"{QUALITY_DIR}/label-fidelity.tsv",
        utility=f"{QUALITY_DIR}/utility.tsv",
        privacy=f"{QUALITY_DIR}/privacy.tsv",
        near_copies=f"{QUALITY_DIR}/near-copies.tsv",
        sequence=f"{QUALITY_DIR}/sequence.tsv",
        pca=report(
            f"{QUALITY_DIR}/pca.png",
            caption="../report/quality_pca.rst",
            category="Synthetic data quality",
            subcategory="{model}",
            labels={"dataset": "{dataset}", "seed": "{seed}", "result": "PCA overlay"},
        ),
        dcr=report(
            f"{QUALITY_DIR}/dcr.png",
            caption="../report/quality_dcr.rst",
            category="Synthetic data quality",
            subcategory="{model}",
            labels={
                "dataset": "{dataset}",
                "seed": "{seed}",
                "result": "distance to closest record",
            },
        ),
    log:
        "logs/quality/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "logs/benchmark/quality/{dataset}/{model}/seed{seed}.tsv"
    conda:
        "../../envs/ml.yaml"
    threads: config["quality"].get("threads", 2)
    resources:
        mem_mb=config["quality"].get("mem_mb", 4000),
        runtime=config["quality"].get("runtime", "30m"),
    params:
        seed=lambda wildcards: int(wildcards.seed),
        detection_folds=config["quality"].get("detection_folds", 5),
        mmd_permutations=config["quality"].get("mmd_permutations", 200),
        gate_percentile=config["quality"].get("privacy_gate", {}).get("percentile", 5),
    script:
        "../scripts/quality.py"


# Reads only the training part and the synthetic set: the threshold comes from within-training
# leave-one-out distances, so a gated set used for training carries nothing from the test fold.
rule privacy_gate:
    input:
        train="results/datasets/{dataset}/train.parquet",
        synthetic="results/synthetic/{dataset}/{model}/seed{seed}.parquet",
    output:
        gated=f"{QUALITY_DIR}/gated.parquet",
        table=f"{QUALITY_DIR}/gate.tsv",
    log:
        "logs/privacy_gate/{dataset}/{model}/seed{seed}.log",
    conda:
        "../../envs/ml.yaml"
    resources:
        mem_mb=2000,
        runtime="10m",
    params:
        percentile=config["quality"].get("privacy_gate", {}).get("percentile", 5),
    script:
        "../scripts/quality.py"
