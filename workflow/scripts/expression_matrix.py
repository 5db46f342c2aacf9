"""Gene-expression matrix -> labelled, transformed samples x genes feature matrix.

The gene filter (`expression.filter`) is not applied here: it is fitted per training fold by the
benchmark (`genogan.expression.apply_fold_filter`), never on the whole matrix.
"""
import _bootstrap
import numpy as np

from genogan.expression import build_expression_matrix
from genogan.features import write_matrix
from genogan.io import atomic_write_text, timed
from genogan.validate import read_sample_sheet

log = _bootstrap.start(snakemake)
opts = snakemake.params.expression
sheet = read_sample_sheet(snakemake.input.sheet)
with timed(log, f"reading the expression matrix {snakemake.input.matrix}"):
    fm = build_expression_matrix(
        snakemake.input.matrix, sheet, orientation=opts["orientation"], values=opts["values"],
        transform=opts["transform"], log=opts["log"], gene_lengths=opts["gene_lengths"],
        logger=log)
meta_columns = [c for c in sheet.columns if c.startswith("meta_")]
if meta_columns:
    fm.extra = sheet[meta_columns].reset_index(drop=True)
write_matrix(fm, snakemake.output.matrix)
atomic_write_text(snakemake.output.names, "\n".join(fm.feature_names) + "\n")
labels, counts = np.unique(fm.y, return_counts=True)
log.info("matrix: %d samples x %d genes, classes %s", *fm.X.shape,
         dict(zip(labels, counts, strict=True)))
