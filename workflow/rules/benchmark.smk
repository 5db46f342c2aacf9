# Leakage-free classification benchmark: splits -> per-fold data sets -> classify -> aggregate -> plots.
# The job list comes from genogan.benchmark.targets (unit-tested); rule `all` calls benchmark_targets.
# Leakage is structural: rule fold_dataset writes a fold's training part and test part to separate
# files, and the GAN rules (gan.smk) read only train.parquet.
from genogan.benchmark import targets as bench_targets
from genogan.benchmark.arms import ARM_REGEX
from genogan.benchmark.classify import CLASSIFIERS
from genogan.benchmark.splits import DATASET_REGEX

BENCH = bench_targets.benchmark_settings(config.get("benchmark", {}))
# fitted per training fold (never on the whole matrix): the expression gene filter
FEATURE_FILTER = (
    config["expression"]["filter"]
    if config.get("input_type") == "expression"
    else {"method": "none", "n": 1}
)


rule split:
    input:
        matrix="results/features/matrix.parquet",
    output:
        splits="results/splits/splits.tsv",
    log:
        "logs/split.log",
    conda:
        "../../envs/ml.yaml"
    params:
        folds=BENCH["folds"],
        repeats=BENCH["repeats"],
        seed=BENCH["seed"],
    script:
        "../scripts/split.py"


rule fold_dataset:
    input:
        matrix="results/features/matrix.parquet",
        splits="results/splits/splits.tsv",
    output:
        train="results/datasets/{dataset}/train.parquet",
        test="results/datasets/{dataset}/test.parquet",
    log:
        "logs/fold_dataset/{dataset}.log",
    wildcard_constraints:
        dataset=DATASET_REGEX,
    conda:
        "../../envs/ml.yaml"
    params:
        seed=BENCH["seed"],
        feature_filter=FEATURE_FILTER,
    script:
        "../scripts/fold_dataset.py"


rule full_dataset:
    input:
        matrix="results/features/matrix.parquet",
    output:
        train="results/datasets/full/train.parquet",
    log:
        "logs/full_dataset.log",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/fold_dataset.py"


rule classify:
    input:
        unpack(lambda wc: bench_targets.classify_inputs(wc.dataset, wc.arm, BENCH)),
    output:
        metrics="results/classify/{dataset}/{arm}/{classifier}.tsv",
        oof="results/classify/{dataset}/{arm}/{classifier}.oof.tsv",
    log:
        "logs/classify/{dataset}/{arm}/{classifier}.log",
    benchmark:
        "logs/benchmark/classify/{dataset}/{arm}/{classifier}.tsv"
    wildcard_constraints:
        dataset=DATASET_REGEX,
        arm=ARM_REGEX,
        classifier="|".join(CLASSIFIERS),
    conda:
        "../../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=BENCH["mem_mb"],
        runtime=BENCH["runtime"],
    params:
        benchmark=lambda wc: bench_targets.classify_params(BENCH, wc.arm, wc.classifier),
    script:
        "../scripts/classify.py"


rule aggregate:
    input:
        **bench_targets.all_classify_outputs(config),
    output:
        per_fold="results/benchmark/per_fold.tsv",
        aggregate=report(
            "results/benchmark/aggregate.tsv",
            caption="../report/benchmark_aggregate.rst",
            category="Benchmark",
            subcategory="Tables",
        ),
        inflation=report(
            "results/benchmark/inflation.tsv",
            caption="../report/benchmark_inflation_table.rst",
            category="Benchmark",
            subcategory="Tables",
        ),
        worth=report(
            "results/benchmark/worth.tsv",
            caption="../report/benchmark_worth.rst",
            category="Benchmark",
            subcategory="Tables",
        ),
        pooled_oof="results/benchmark/pooled_oof.tsv",
    log:
        "logs/aggregate.log",
    benchmark:
        "logs/benchmark/aggregate.tsv"
    conda:
        "../../envs/ml.yaml"
    params:
        benchmark=BENCH,
    script:
        "../scripts/aggregate.py"


BENCH_PLOT_REPORT = {
    "arms": ("benchmark_arms.rst", "Main comparison"),
    "roc_pr": ("benchmark_roc_pr.rst", "Main comparison"),
    "dose_response": ("benchmark_dose_response.rst", "Scenarios"),
    "learning_curve": ("benchmark_learning_curve.rst", "Scenarios"),
    "imbalance": ("benchmark_imbalance.rst", "Scenarios"),
    "null_control": ("benchmark_null_control.rst", "Controls"),
    "leaky_inflation": ("benchmark_leaky_inflation.rst", "Controls"),
}


rule plots:
    input:
        aggregate="results/benchmark/aggregate.tsv",
        inflation="results/benchmark/inflation.tsv",
        worth="results/benchmark/worth.tsv",
        pooled_oof="results/benchmark/pooled_oof.tsv",
    output:
        **{
            key: report(
                path,
                caption=f"../report/{BENCH_PLOT_REPORT[key][0]}",
                category="Benchmark",
                subcategory=BENCH_PLOT_REPORT[key][1],
            )
            for key, path in bench_targets.plot_outputs(BENCH).items()
        },
    log:
        "logs/plots.log",
    conda:
        "../../envs/ml.yaml"
    params:
        benchmark=BENCH,
    script:
        "../scripts/plots.py"


# Synthetic samples of the classical baselines (SMOTE, noise, ...) as files, so the quality stage
# scores them beside the GANs, with pools of the same size as the GANs' (`gan.amount`).
# Reads only the fold's training part.
GAN_AMOUNT = config.get("gan", {}).get("amount", {"mode": "multiple", "value": 5})
BASELINE_POOL = GAN_AMOUNT["value"] if GAN_AMOUNT["mode"] == "multiple" else "balance"
rule baseline_synthetic:
    input:
        train="results/datasets/{dataset}/train.parquet",
    output:
        "results/synthetic/{dataset}/{model}/seed{seed}.parquet",
    log:
        "logs/baseline_synthetic/{dataset}/{model}/seed{seed}.log",
    wildcard_constraints:
        dataset=DATASET_REGEX,
        model="smote|random_oversample|gaussian_noise|mixup",
        seed="[0-9]+",
    conda:
        "../../envs/ml.yaml"
    params:
        amount=BASELINE_POOL,
        augmenter_params=lambda wc: BENCH["augmenter_params"].get(wc.model, {}),
    script:
        "../scripts/baseline_synthetic.py"
