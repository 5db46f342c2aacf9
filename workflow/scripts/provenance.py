"""Record config, software versions and input checksums for the report."""
import _bootstrap
import yaml

from genogan.io import atomic_path, atomic_write_text
from genogan.provenance import file_checksums, software_versions

log = _bootstrap.start(snakemake)
atomic_write_text(snakemake.output.config, yaml.safe_dump(dict(snakemake.params.config),
                                                          sort_keys=False))
for table, path in ((software_versions(), snakemake.output.versions),
                    (file_checksums(snakemake.input), snakemake.output.checksums)):
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
log.info("checksummed %d input files", len(snakemake.input))
