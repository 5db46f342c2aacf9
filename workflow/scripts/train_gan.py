"""Train a batch of conditional GANs and sample their pools in one process (rule train_gan)."""
import _bootstrap

log = _bootstrap.start(snakemake)

from genogan.generators.runtime import configure_threads  # noqa: E402 (imports TensorFlow)

configure_threads(snakemake.threads)

from genogan.generators.pipeline import train_batch  # noqa: E402

batch = snakemake.params.batch
train_batch(batch["trainings"], gan_cfg=batch["gan"], amount=snakemake.params.amount,
            logger=log)
