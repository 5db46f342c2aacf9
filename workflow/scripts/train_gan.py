"""Train one conditional GAN on a training set (rule train_gan)."""
import _bootstrap

log = _bootstrap.start(snakemake)

from genogan.gan.runtime import configure_threads  # noqa: E402 (imports TensorFlow)

configure_threads(snakemake.threads)

from genogan.gan.pipeline import train_file  # noqa: E402
from genogan.gan.store import OUTPUT_NAMES  # noqa: E402

train_file(
    snakemake.input.train,
    {key: snakemake.output[key] for key in OUTPUT_NAMES},
    gan_cfg=snakemake.params.gan,
    model=snakemake.wildcards.model,
    seed=int(snakemake.wildcards.seed),
    checkpoint_dir=snakemake.params.checkpoint_dir,
    logger=log,
)
