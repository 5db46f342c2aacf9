"""Pretrain one generative model on the reference cohort (rule pretrain)."""
import _bootstrap

log = _bootstrap.start(snakemake)

from genogan.generators.runtime import configure_threads  # noqa: E402 (imports TensorFlow)

configure_threads(snakemake.threads)

from genogan.generators.pipeline import pretrain_file  # noqa: E402

p = snakemake.params
pretrain_file(snakemake.input.matrix, snakemake.input.space, snakemake.output[0],
              classes=p.classes, gan_cfg=p.gan, model=snakemake.wildcards.model,
              pretrain=p.pretrain, seed=p.seed,
              checkpoint_dir=f"checkpoints/pretrain/{snakemake.wildcards.model}", logger=log)
