"""Build the aligner's index of the reference once (.mmi, or bwa's files) for every align job."""
import _bootstrap
from genogan.align import build_index, index_prefix

log = _bootstrap.start(snakemake)
build_index(snakemake.input.reference, snakemake.params.engine, index_prefix(snakemake.output),
            threads=snakemake.threads)
