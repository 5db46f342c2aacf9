"""The answer in words, the report's landing page and its HTML tables."""
import _bootstrap
from genogan.report.landing import verdict_job

log = _bootstrap.start(snakemake)
lines = verdict_job(dict(snakemake.input.items()), snakemake.params.benchmark,
                    snakemake.params.description, dict(snakemake.output.items()))
for line in lines:
    log.info("%s", line)
