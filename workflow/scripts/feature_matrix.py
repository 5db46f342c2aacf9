"""Merge per-sample k-mer counts (or a supplied table) into one labelled feature matrix."""
import _bootstrap
import numpy as np

from genogan.features import table_to_matrix, write_matrix
from genogan.io import atomic_write_text, timed
from genogan.validate import read_sample_sheet

log = _bootstrap.start(snakemake)
sheet = read_sample_sheet(snakemake.input.sheet)
with timed(log, "building the feature matrix"):
    if "table" in snakemake.input.keys():
        fm = table_to_matrix(snakemake.input.table, sheet)
    else:
        from genogan.kmers import build_kmer_matrix

        fm = build_kmer_matrix(snakemake.input.counts, list(sheet["sample"]),
                               list(sheet["condition"]), snakemake.params.normalise)
meta_columns = [c for c in sheet.columns if c.startswith("meta_")]
if meta_columns:
    fm.extra = sheet[meta_columns].reset_index(drop=True)
write_matrix(fm, snakemake.output.matrix)
atomic_write_text(snakemake.output.names, "\n".join(fm.feature_names) + "\n")
labels, counts = np.unique(fm.y, return_counts=True)
log.info("matrix: %d samples x %d features, classes %s", *fm.X.shape,
         dict(zip(labels, counts, strict=True)))
