"""The reference cohort through the study's feature path, checked and with its space (rule
reference_matrix)."""
import _bootstrap

from genogan.features import read_matrix, write_matrix
from genogan.io import timed
from genogan.reference import build_reference, read_reference_sheet
from genogan.reference_space import write_space

log = _bootstrap.start(snakemake)
p = snakemake.params
sheet = read_reference_sheet(snakemake.input.sheet, needs_files=False, check_files=False)
with timed(log, f"building the reference cohort's features ({len(sheet)} samples)"):
    ref, space = build_reference(
        sheet, read_matrix(snakemake.input.study), input_type=p.kind, options=p.options,
        rank=p.rank, percentile=p.percentile, fraction=p.fraction, preprocess=p.preprocess,
        path=snakemake.input.get("data", ""), count_files=list(snakemake.input.get("counts", [])),
        sheet_path=snakemake.input.sheet, logger=log)
write_matrix(ref, snakemake.output.matrix)
write_space(space, ref.feature_names, snakemake.output.space)
