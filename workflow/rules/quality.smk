# Quality of synthetic samples (fidelity, label fidelity, utility, privacy) per fold, and the
# leakage-free privacy gate. Settings: SETTINGS.quality (genogan.settings.sections.QualitySettings:
# detection_folds, mmd_permutations, privacy_gate: {enabled, percentile}, resources).
from genogan.benchmark import targets as quality_targets_mod
from genogan.settings import paths

QUALITY = SETTINGS.quality
QUALITY_BENCH = quality_targets_mod.benchmark_settings(config["benchmark"])
QUALITY_PLAN = quality_targets_mod.Plan(QUALITY_BENCH)
QUALITY_MODELS = quality_targets_mod.quality_models(QUALITY_BENCH)
QUALITY_SEED = int(QUALITY_BENCH["generator_seeds"][0])
# classical baselines' pools: sized like the GAN pools (`gan.amount`), drawn in the quality job
GAN_AMOUNT = SETTINGS.gan.amount
BASELINE_POOL = GAN_AMOUNT.value if GAN_AMOUNT.mode == "multiple" else "balance"
QUALITY_CAPTIONS = {"pca": "PCA overlay", "dcr": "distance to closest record"}


# Fidelity, utility and privacy of every synthetic source (GANs, classical baselines) of one
# split, in one process.
rule quality:
    input:
        unpack(lambda wc: QUALITY_PLAN.quality_inputs(wc.dataset)),
    output:
        **{
            f"{m}__{key}": f"{quality_targets_mod.quality_dir(m, QUALITY_SEED)}/{name}"
            for m in QUALITY_MODELS
            for key, name in quality_targets_mod.QUALITY_TABLES.items()
            if key != "summary"
        },
        **{
            f"{m}__summary": report(
                f"{quality_targets_mod.quality_dir(m, QUALITY_SEED)}/summary.tsv",
                caption="../report/quality_summary.rst",
                category="5. Synthetic-data quality",
                subcategory=m,
                labels={
                    "dataset": "{dataset}",
                    "seed": str(QUALITY_SEED),
                    "result": "summary table",
                },
            )
            for m in QUALITY_MODELS
        },
        **{
            f"{m}__{key}": report(
                f"{quality_targets_mod.quality_dir(m, QUALITY_SEED)}/{name}",
                caption=f"../report/quality_{key}.rst",
                category="5. Synthetic-data quality",
                subcategory=m,
                labels={
                    "dataset": "{dataset}",
                    "seed": str(QUALITY_SEED),
                    "result": QUALITY_CAPTIONS[key],
                },
            )
            for m in QUALITY_MODELS
            for key, name in quality_targets_mod.QUALITY_FIGURES.items()
        },
    log:
        "logs/quality/{dataset}.log",
    benchmark:
        "logs/benchmark/quality/{dataset}.tsv"
    wildcard_constraints:
        dataset=paths.WILDCARDS["split"],
    conda:
        "../../envs/ml.yaml"
    threads: QUALITY.threads
    resources:
        mem_mb=QUALITY.mem_mb,
        runtime=QUALITY.runtime,
    params:
        pools=lambda wc: QUALITY_PLAN.quality_pools(wc.dataset),
        baselines=QUALITY_PLAN.quality_baselines(BASELINE_POOL),
        out_dirs=lambda wc: QUALITY_PLAN.quality_out_dirs(wc.dataset),
        seed=QUALITY_SEED,
        quality={
            "detection_folds": QUALITY.detection_folds,
            "mmd_permutations": QUALITY.mmd_permutations,
            "gate_percentile": QUALITY.privacy_gate.percentile,
        },
    script:
        "../scripts/quality.py"


# Reads only the training part and the synthetic set: the threshold comes from within-training
# leave-one-out distances, so a gated set used for training carries nothing from the test fold.
rule privacy_gate:
    input:
        train=paths.DATASET_TRAIN,
        pools=lambda wc: QUALITY_PLAN.batch_dirs([f"{wc.dataset}/{wc.model}/{wc.seed}"]),
    output:
        gated=paths.GATED_POOL,
        table=paths.GATE_TABLE,
    log:
        "logs/privacy_gate/{dataset}/{model}/seed{seed}.log",
    conda:
        "../../envs/ml.yaml"
    resources:
        mem_mb=2000,
        runtime="10m",
    params:
        synthetic=lambda wc: QUALITY_PLAN.pool_file(wc.dataset, wc.model, int(wc.seed)),
        percentile=QUALITY.privacy_gate.percentile,
    script:
        "../scripts/quality.py"
