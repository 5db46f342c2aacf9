"""Concatenate per-sample TSVs (same columns) into one summary table."""
import _bootstrap
import pandas as pd

from genogan.io import atomic_path

log = _bootstrap.start(snakemake)
table = pd.concat([pd.read_csv(p, sep="\t") for p in snakemake.input], ignore_index=True)
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, sep="\t", index=False)
log.info("%d rows written to %s", len(table), snakemake.output[0])
