"""Generate synthetic samples per class from a trained GAN (rule generate)."""
import _bootstrap

log = _bootstrap.start(snakemake)

from genogan.gan.pipeline import generate_file  # noqa: E402 (imports TensorFlow)

paths = {key: snakemake.input[key] for key in ("generator", "preprocess", "model")}
generate_file(None, snakemake.output[0], amount=snakemake.params.amount,
              seed=int(snakemake.wildcards.seed), paths=paths, logger=log)
