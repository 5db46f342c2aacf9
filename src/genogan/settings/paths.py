"""The workflow's file layout: every path template the rules and `genogan.benchmark.targets`
share, typed once.

Templates use Snakemake's wildcard syntax (`{dataset}`), so a rule uses them as they are and
Python code fills them with `str.format` (or `fill`). Standard library only: the `.smk` files
import this at parse time.
"""

from __future__ import annotations

# alignment: the aligner's index (built once), per-sample BAMs and their QC
INDEX_PREFIX = "results/index/reference"
BAM = "results/bam/{sample}.bam"
BAI = f"{BAM}.bai"
ALIGN_STATS = "results/qc/{sample}.align_stats.tsv"
ALIGNMENT_SUMMARY = "results/qc/alignment_summary.tsv"

# provenance for the report: the run's config, software versions, input checksums
PROVENANCE_CONFIG = "results/provenance/config.yaml"
PROVENANCE_VERSIONS = "results/provenance/versions.tsv"
PROVENANCE_CHECKSUMS = "results/provenance/checksums.tsv"

MATRIX = "results/features/matrix.parquet"
FEATURE_NAMES = "results/features/feature_names.txt"
KMER_PROFILE = "results/kmers/{sample}.npz"

# the reference cohort (optional): its matrix (the study's features, study labels or none), the
# space fitted on it, and each generator pretrained on it (once per run)
REFERENCE_DIR = "results/reference"
REFERENCE_MATRIX = f"{REFERENCE_DIR}/matrix.parquet"
REFERENCE_SPACE = f"{REFERENCE_DIR}/space.json"
PRETRAINED = f"{REFERENCE_DIR}/pretrained/{{model}}"

SPLITS = "results/splits/splits.tsv"
CLOSE_PAIRS = "results/splits/close_pairs.tsv"  # replicate-like pairs (ungrouped splits only)
DATASET_DIR = "results/datasets/{dataset}"
DATASET_TRAIN = f"{DATASET_DIR}/train.parquet"
DATASET_TEST = f"{DATASET_DIR}/test.parquet"

# one train_gan job's output directory, and one training's folder inside it
GAN_BATCH = "results/gan/{batch}"
GAN_POOL_DIR = f"{GAN_BATCH}/{{dataset}}/{{model}}/seed{{seed}}"
GAN_POOL = f"{GAN_POOL_DIR}/synthetic.parquet"

# one synthetic source's quality tables and figures, and its privacy-gated pool
QUALITY_DIR = "results/quality/{dataset}/{model}/seed{seed}"
GATED_POOL = f"{QUALITY_DIR}/gated.parquet"
GATE_TABLE = f"{QUALITY_DIR}/gate.tsv"

EVALUATE_DIR = "results/evaluate/{split}"
BENCHMARK_DIR = "results/benchmark"
VERDICT = f"{BENCHMARK_DIR}/verdict.txt"
LANDING = f"{BENCHMARK_DIR}/landing.rst"  # the report's first page once it exists
QUALITY_OVERVIEW = "results/quality/overview.tsv"
QUALITY_FLAGS = "results/quality/flags.txt"
REPORT_TABLES = "results/report_tables"

# what each wildcard may match (rules' wildcard_constraints; the sample sheet's id check)
WILDCARDS = {"sample": "[A-Za-z0-9][A-Za-z0-9._-]*", "split": "r[0-9]+_f[0-9]+",
             "batch": "b[0-9]+"}


def fill(template: str, **wildcards) -> str:
    """A template with some or all wildcards filled; the others stay `{name}` wildcards."""

    class _Keep(dict):
        def __missing__(self, key):
            return "{" + key + "}"

    return template.format_map(_Keep(wildcards))
