"""Synthetic-data quality across splits and seeds, per generator, with its flags in words."""
import _bootstrap
from genogan.quality.report import write_quality_overview

log = _bootstrap.start(snakemake)
table = write_quality_overview(list(snakemake.input), snakemake.output.tsv,
                               snakemake.output.flags)
for flags in table["flags"]:
    log.info("%s", flags)
