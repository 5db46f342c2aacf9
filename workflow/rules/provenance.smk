# Provenance for the report: the run's config (all seeds included), software versions and
# SHA-256 checksums of every input file.
PROVENANCE_OUTPUTS = [
    paths.PROVENANCE_CONFIG,
    paths.PROVENANCE_VERSIONS,
    paths.PROVENANCE_CHECKSUMS,
]


rule provenance:
    input:
        provenance_inputs(),
    output:
        config=report(
            paths.PROVENANCE_CONFIG,
            caption="../report/provenance_config.rst",
            category="8. Run provenance",
            labels={"file": "configuration used"},
        ),
        versions=report(
            paths.PROVENANCE_VERSIONS,
            caption="../report/provenance_versions.rst",
            category="8. Run provenance",
            labels={"file": "software versions"},
        ),
        checksums=report(
            paths.PROVENANCE_CHECKSUMS,
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
