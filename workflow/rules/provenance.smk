# Provenance for the report: the run's config (all seeds included), software versions and
# SHA-256 checksums of every input file.
PROVENANCE_OUTPUTS = [
    "results/provenance/config.yaml",
    "results/provenance/versions.tsv",
    "results/provenance/checksums.tsv",
]


rule provenance:
    input:
        provenance_inputs(),
    output:
        config=report(
            "results/provenance/config.yaml",
            caption="../report/provenance_config.rst",
            category="8. Run provenance",
            labels={"file": "configuration used"},
        ),
        versions=report(
            "results/provenance/versions.tsv",
            caption="../report/provenance_versions.rst",
            category="8. Run provenance",
            labels={"file": "software versions"},
        ),
        checksums=report(
            "results/provenance/checksums.tsv",
            caption="../report/provenance_checksums.rst",
            category="8. Run provenance",
            labels={"file": "input checksums"},
        ),
    log:
        "logs/provenance.log",
    conda:
        "../../envs/ml.yaml"
    params:
        config=config,
    script:
        "../scripts/provenance.py"
