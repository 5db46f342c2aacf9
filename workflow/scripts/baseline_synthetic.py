"""Write the synthetic rows a classical augmenter (SMOTE, noise, mixup) adds to a training set."""
import _bootstrap

from genogan.benchmark.augment import classical_synthetic
from genogan.features import read_matrix, write_matrix

log = _bootstrap.start(snakemake)
wc = snakemake.wildcards
synthetic = classical_synthetic(read_matrix(snakemake.input.train), wc.model,
                                snakemake.params.amount, int(wc.seed),
                                snakemake.params.augmenter_params)
write_matrix(synthetic, snakemake.output[0])
log.info("%d synthetic samples from %s", len(synthetic.y), wc.model)
