"""Protein or nucleotide FASTA (one record per sample, or one file per sample) -> feature matrix."""
import _bootstrap

from genogan.features import write_feature_outputs
from genogan.io import timed
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
write_feature_outputs(fm, sheet, snakemake.output.matrix, snakemake.output.names, log)
