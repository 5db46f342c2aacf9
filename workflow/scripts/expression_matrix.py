"""Gene-expression matrix -> labelled, transformed samples x genes feature matrix.

The gene filter (`expression.filter`) is not applied here: it is fitted per training fold by the
benchmark (`genogan.expression.apply_fold_filter`), never on the whole matrix.
"""
import _bootstrap

from genogan.expression import build_expression_matrix, describe_transform, matrix_options
from genogan.features import write_feature_outputs
from genogan.io import timed
from genogan.validate import read_sample_sheet

log = _bootstrap.start(snakemake)
opts = snakemake.params.expression
sheet = read_sample_sheet(snakemake.input.sheet)
log.info("preprocessing: %s", describe_transform(opts))
with timed(log, f"reading the expression matrix {snakemake.input.matrix}"):
    fm = build_expression_matrix(snakemake.input.matrix, sheet, **matrix_options(opts),
                                 logger=log)
write_feature_outputs(fm, sheet, snakemake.output.matrix, snakemake.output.names, log)
