# Leakage-free classification benchmark: splits -> per-fold data sets -> evaluate -> aggregate -> plots.
# The job list comes from genogan.benchmark.targets.Plan (unit-tested), computed once here; rule
# `all` calls benchmark_targets. Leakage is structural: rule datasets writes each data set's
# training part and test part to separate files, and the GAN rules (gan.smk) read only
# train.parquet. One evaluate job per split runs all its arms x classifiers in-process.
from genogan.benchmark import targets as bench_targets
from genogan.settings import fold_settings, paths

BENCH = bench_targets.benchmark_settings(config["benchmark"])
BENCH_PLAN = bench_targets.Plan(BENCH)
# the aggregated tables: per_fold, aggregate, inflation, worth, pooled_oof
BENCH_TABLES = bench_targets.aggregate_outputs()
# fitted per training fold (never on the whole matrix): the expression gene filter
FEATURE_FILTER = fold_settings(config)


rule split:
    input:
        matrix=paths.MATRIX,
    output:
        splits=paths.SPLITS,
        close_pairs=paths.CLOSE_PAIRS,
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


# Every data set's training part and test part, each to its own file, in one job.
rule datasets:
    input:
        matrix=paths.MATRIX,
        splits=paths.SPLITS,
    output:
        train=[bench_targets.dataset_part(ds) for ds in BENCH_PLAN.datasets()],
        test=[
            bench_targets.dataset_part(ds, "test")
            for ds in BENCH_PLAN.datasets()
            if ds != "full"
        ],
    log:
        "logs/datasets.log",
    benchmark:
        "logs/benchmark/datasets.tsv"
    conda:
        "../../envs/ml.yaml"
    threads: 2  # every later job waits for this one: parquet writes run in parallel threads
    params:
        datasets=BENCH_PLAN.datasets(),
        seed=BENCH["seed"],
        feature_filter=FEATURE_FILTER,
    script:
        "../scripts/datasets.py"


# Every arm x classifier of one split (its main fold and scenario data sets) in one process.
rule evaluate:
    input:
        unpack(lambda wc: BENCH_PLAN.evaluate_inputs(wc.split)),
    output:
        **bench_targets.evaluate_outputs("{split}"),
    log:
        "logs/evaluate/{split}.log",
    benchmark:
        "logs/benchmark/evaluate/{split}.tsv"
    wildcard_constraints:
        split=paths.WILDCARDS["split"],
    conda:
        "../../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=BENCH["mem_mb"],
        runtime=BENCH["runtime"],
    params:
        jobs=lambda wc: BENCH_PLAN.evaluations[wc.split],
        pools=lambda wc: BENCH_PLAN.pools_of(BENCH_PLAN.evaluations[wc.split]),
        benchmark=bench_targets.evaluate_params(BENCH),
    script:
        "../scripts/evaluate.py"


rule aggregate:
    input:
        **bench_targets.all_evaluate_outputs(config),
    output:
        per_fold=BENCH_TABLES["per_fold"],
        aggregate=report(
            BENCH_TABLES["aggregate"],
            caption="../report/benchmark_aggregate.rst",
            category="2. Main comparison",
            subcategory="Tables (TSV downloads)",
            labels={"table": "all results (TSV)"},
        ),
        inflation=report(
            BENCH_TABLES["inflation"],
            caption="../report/benchmark_inflation_table.rst",
            category="2. Main comparison",
            subcategory="Tables (TSV downloads)",
            labels={"table": "leaky-control inflation (TSV)"},
        ),
        worth=report(
            BENCH_TABLES["worth"],
            caption="../report/benchmark_worth.rst",
            category="2. Main comparison",
            subcategory="Tables (TSV downloads)",
            labels={"table": "worth in real samples (TSV)"},
        ),
        pooled_oof=BENCH_TABLES["pooled_oof"],
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


# figure -> (caption, report category, label); categories are numbered in reading order:
# 1. the answer (landing page), 2. main comparison, 3. scenarios, 4. controls, 5. quality, ...
BENCH_PLOT_REPORT = {
    "forest": (
        "benchmark_forest.rst",
        "2. Main comparison",
        "difference to none (main figure)",
    ),
    "arms": ("benchmark_arms.rst", "2. Main comparison", "scores per arm"),
    "roc_pr": ("benchmark_roc_pr.rst", "2. Main comparison", "ROC and PR curves"),
    "dose_response": ("benchmark_dose_response.rst", "3. Scenarios", "dose response"),
    "learning_curve": (
        "benchmark_learning_curve.rst",
        "3. Scenarios",
        "learning curve",
    ),
    "imbalance": ("benchmark_imbalance.rst", "3. Scenarios", "class imbalance"),
    "null_control": ("benchmark_null_control.rst", "4. Controls", "permuted labels"),
    "leaky_inflation": (
        "benchmark_leaky_inflation.rst",
        "4. Controls",
        "leaky inflation",
    ),
}


rule plots:
    input:
        aggregate=BENCH_TABLES["aggregate"],
        inflation=BENCH_TABLES["inflation"],
        worth=BENCH_TABLES["worth"],
        pooled_oof=BENCH_TABLES["pooled_oof"],
    output:
        **{
            key: report(
                path,
                caption=f"../report/{BENCH_PLOT_REPORT[key][0]}",
                category=BENCH_PLOT_REPORT[key][1],
                labels={"figure": BENCH_PLOT_REPORT[key][2]},
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
