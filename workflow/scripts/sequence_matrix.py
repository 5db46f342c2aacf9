"""Protein or nucleotide FASTA (one record per sample, or one file per sample) -> feature matrix."""
import _bootstrap
import numpy as np

from genogan.features import write_matrix
from genogan.io import atomic_write_text, timed
from genogan.sequences import build_sequence_matrix
from genogan.validate import read_sample_sheet

log = _bootstrap.start(snakemake)
opts = snakemake.params.sequences
sheet = read_sample_sheet(snakemake.input.sheet)
with timed(log, f"counting {opts['alphabet']} {opts['k']}-mers of {len(sheet)} samples"):
    fm = build_sequence_matrix(
        sheet, sequences=snakemake.input.get("sequences") or None, alphabet=opts["alphabet"],
        k=opts["k"], canonical=opts["canonical"], normalise=opts["normalise"],
        extra_features=opts["extra_features"], logger=log)
meta_columns = [c for c in sheet.columns if c.startswith("meta_")]
if meta_columns:
    fm.extra = sheet[meta_columns].reset_index(drop=True)
write_matrix(fm, snakemake.output.matrix)
atomic_write_text(snakemake.output.names, "\n".join(fm.feature_names) + "\n")
labels, counts = np.unique(fm.y, return_counts=True)
log.info("matrix: %d samples x %d features, classes %s", *fm.X.shape,
         dict(zip(labels, counts, strict=True)))
