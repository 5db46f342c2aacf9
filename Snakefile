# genogan: GAN-based augmentation of genomic data for disease classification.
# Run: snakemake --profile profiles/local   (see README.md)
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# The package in src/ holds all logic; make it importable without installation (conda/apptainer runs).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


# --sdm apptainer: run every job in this image (build it from the Dockerfile, see README).
if config.get("container"):

    container: config["container"]



include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/align.smk"
include: "workflow/rules/kmers.smk"
include: "workflow/rules/sequences.smk"
include: "workflow/rules/expression.smk"
include: "workflow/rules/gan.smk"
include: "workflow/rules/benchmark.smk"
include: "workflow/rules/quality.smk"
include: "workflow/rules/provenance.smk"


rule all:
    input:
        all_targets(),
    default_target: True
