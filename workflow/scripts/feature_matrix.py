"""Merge per-sample k-mer counts (or a supplied table) into one labelled feature matrix."""
import _bootstrap

from genogan.features import table_to_matrix, write_feature_outputs
from genogan.io import timed
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
write_feature_outputs(fm, sheet, snakemake.output.matrix, snakemake.output.names, log)
