# The answer: verdict.txt (printed by `make run`), the report's landing page (workflow/Snakefile
# shows it first once it exists) and the result tables as HTML pages inside the report.
# Included after benchmark.smk: BENCH (the checked benchmark settings) and BENCH_TABLES come
# from there.
from genogan.benchmark import targets as report_targets_mod

REPORT_QUALITY = report_targets_mod.quality_targets(config)
REPORT_TABLES = paths.REPORT_TABLES


rule quality_overview:
    input:
        REPORT_QUALITY,
    output:
        tsv=paths.QUALITY_OVERVIEW,
        flags=paths.QUALITY_FLAGS,
    log:
        "logs/quality_overview.log",
    conda:
        "../../envs/ml.yaml"
    script:
        "../scripts/quality_overview.py"


rule verdict:
    input:
        **({"quality": paths.QUALITY_OVERVIEW} if REPORT_QUALITY else {}),
        aggregate=BENCH_TABLES["aggregate"],
        inflation=BENCH_TABLES["inflation"],
        worth=BENCH_TABLES["worth"],
        splits=paths.SPLITS,
        close_pairs=paths.CLOSE_PAIRS,
    output:
        **(
            {
                "quality_html": report(
                    f"{REPORT_TABLES}/quality.html",
                    caption="../report/table_quality.rst",
                    category="5. Synthetic-data quality",
                    labels={"table": "across splits and seeds"},
                )
            }
            if REPORT_QUALITY
            else {}
        ),
        verdict=paths.VERDICT,
        landing=paths.LANDING,
        aggregate_html=report(
            f"{REPORT_TABLES}/aggregate.html",
            caption="../report/table_aggregate.rst",
            category="2. Main comparison",
            labels={"table": "all results (sortable)"},
        ),
        inflation_html=report(
            f"{REPORT_TABLES}/inflation.html",
            caption="../report/table_inflation.rst",
            category="4. Controls",
            labels={"table": "leaky-control inflation"},
        ),
        worth_html=report(
            f"{REPORT_TABLES}/worth.html",
            caption="../report/table_worth.rst",
            category="3. Scenarios",
            labels={"table": "worth in real samples"},
        ),
    log:
        "logs/verdict.log",
    conda:
        "../../envs/ml.yaml"
    params:
        benchmark={k: BENCH[k] for k in ("classifiers", "main_classifier")},
        description=f"{workflow.current_basedir}/../report/workflow.rst",
    script:
        "../scripts/verdict.py"
