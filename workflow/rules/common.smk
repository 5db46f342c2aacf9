# Sample sheet parsing, validation, input functions and target lists.
import pandas as pd

from genogan.config_check import apply_user_configfiles, load_workflow_inputs
from genogan.reference import cohort_kind
from genogan.settings import output_settings, paths
from genogan.settings.sections import from_config

# A --configfile that does not say `demo:` is not the demo (config_check explains the rules).
USER_CONFIGFILES = [str(path) for path in workflow.overwrite_configfiles]
apply_user_configfiles(config, USER_CONFIGFILES)
# REFERENCE: the reference genome; REFERENCE_COHORT: the reference cohort's sheet (or None)
SAMPLES, REFERENCE, REFERENCE_COHORT = load_workflow_inputs(
    config, ", ".join(USER_CONFIGFILES) or "config/config.yaml"
)
# the validated config as typed settings (genogan.settings.sections): the rules read these
SETTINGS = from_config(config)
REFERENCE_SETTINGS = SETTINGS.reference_cohort
REFERENCE_KIND = cohort_kind(config)  # table | expression | sequences | reads
INPUT_TYPE = config["input_type"]
DEMO = config["demo"]["enabled"]
DEMO_DIR = config["demo"]["outdir"]


wildcard_constraints:
    sample=paths.WILDCARDS["sample"],


def sample_row(wildcards):
    """A study sample's row, or a reference cohort sample's (ids never overlap: checked at
    validation), so reference reads go through the same align and k-mer rules."""
    if wildcards.sample in SAMPLES.index or REFERENCE_COHORT is None:
        return SAMPLES.loc[wildcards.sample]
    return REFERENCE_COHORT.loc[wildcards.sample]


def fastq_inputs(wildcards):
    row = sample_row(wildcards)
    return {"fq1": row["fq1"], **({"fq2": row["fq2"]} if row.get("fq2", "") else {})}


def kmer_inputs(wildcards):
    """What the k-mer counter reads for a sample: its BAM, its reads or its FASTA."""
    row = sample_row(wildcards)
    kind = row["input_kind"]
    if kind == "fastq" and config["kmers"]["source"] == "aligned":
        return {"bam": paths.BAM.format(sample=wildcards.sample)}
    if kind == "fastq":
        return fastq_inputs(wildcards)
    if kind in ("bam", "cram"):
        return {kind: row[kind], "reference": REFERENCE}
    return {"fasta": row["fasta"]}


def feature_matrix_inputs(wildcards):
    if config["features_table"]:
        return {"table": config["features_table"], "sheet": config["samples"]}
    counts = expand(paths.KMER_PROFILE, sample=SAMPLES.index)
    return {"counts": counts, "sheet": config["samples"]}


def sequence_inputs(wildcards):
    """One multi-FASTA (`sequences.path`) or every sample's `fasta` (tracked as inputs)."""
    path = config["sequences"]["path"]
    if path:
        return {"sheet": config["samples"], "sequences": path}
    return {"sheet": config["samples"], "fastas": list(SAMPLES["fasta"])}


def expression_inputs(wildcards):
    # scikit-learn comes with genogan.expression: imported only for expression input
    from genogan.expression import gene_lengths_file

    inputs = {"sheet": config["samples"], "matrix": config["expression"]["path"]}
    lengths = gene_lengths_file(config["expression"])
    return {**inputs, "gene_lengths": lengths} if lengths else inputs


def reference_matrix_inputs(wildcards):
    """The reference cohort through the study's feature path: its data, and the study matrix
    whose features it must match."""
    inputs = {"sheet": REFERENCE_SETTINGS.samples, "study": paths.MATRIX}
    if REFERENCE_SETTINGS.path:
        inputs["data"] = REFERENCE_SETTINGS.path
    if REFERENCE_KIND == "reads":
        inputs["counts"] = expand(paths.KMER_PROFILE, sample=REFERENCE_COHORT.index)
    if REFERENCE_KIND == "sequences" and not REFERENCE_SETTINGS.path:
        inputs["fastas"] = list(REFERENCE_COHORT["fasta"])
    return inputs


def provenance_inputs():
    """Every input file of the run: the sheets, the reference genome, the feature table, the
    reference cohort's data, per-sample inputs."""
    files = [config["samples"], REFERENCE, config["features_table"]]
    files += [config["sequences"]["path"], config["expression"]["path"]]
    files += [REFERENCE_SETTINGS.samples, REFERENCE_SETTINGS.path]
    for sheet in (SAMPLES, REFERENCE_COHORT):
        for col in ("fq1", "fq2", "bam", "cram", "fasta"):
            if sheet is not None and col in sheet.columns:
                files += list(sheet[col])
    return [f for f in dict.fromkeys(files) if f]


def aligned_samples():
    return [s for s, kind in SAMPLES["input_kind"].items() if kind == "fastq"]


def preprocessing_targets():
    targets = [paths.MATRIX]
    if aligned_samples() and not config["features_table"]:
        targets.append(paths.ALIGNMENT_SUMMARY)
    return targets


def all_targets():
    from genogan.benchmark.targets import benchmark_targets, quality_targets

    benchmark = benchmark_targets(config)
    answer = [paths.VERDICT] if benchmark else []
    return (
        preprocessing_targets()
        + benchmark
        + answer
        + quality_targets(config)
        + PROVENANCE_OUTPUTS
    )
