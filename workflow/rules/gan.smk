# Conditional GAN training (GPU when the scheduler gives one). Logic lives in genogan.generators; the
# script is a thin adapter. One job trains a batch of `benchmark.gan_trainings_per_job` GANs
# (the plan in genogan.benchmark.targets) after ONE TensorFlow start-up and samples each GAN's
# synthetic pool in the same process; set it to 1 on a cluster for one GPU job per training.
# Each training reads only its data set's train.parquet, never a test part. Checkpoints go to
# checkpoints/gan/... (outside the declared outputs): a killed job resumes from there on rerun.
from genogan.benchmark import targets as gan_plan_targets
from genogan.generators.pipeline import (
    batch_rule_params,
    gan_gpu_request,
    gan_threads,
    rule_params,
)
from genogan.settings import paths
from genogan.settings.sections import as_dict, section

GAN_PLAN = gan_plan_targets.Plan(
    gan_plan_targets.benchmark_settings(config["benchmark"])
)
GAN_RESOURCES = section("gan", config["gan"]).resources


rule train_gan:
    input:
        unpack(lambda wc: GAN_PLAN.batch_inputs(wc.batch)),
    output:
        directory(paths.GAN_BATCH),
    log:
        "logs/train_gan/{batch}.log",
    benchmark:
        "logs/benchmark/train_gan/{batch}.tsv"
    wildcard_constraints:
        batch=paths.WILDCARDS["batch"],
    conda:
        "../../envs/gan.yaml"
    threads: lambda wc: gan_threads(GAN_RESOURCES.threads, local=workflow.local_exec)
    resources:
        # a job killed for memory is retried (--retries) with proportionally more
        mem_mb=lambda wildcards, attempt: GAN_RESOURCES.mem_mb * attempt,
        runtime=GAN_RESOURCES.runtime,
        # the configured GPU only where one exists: CPU-only machines run batches in parallel
        gpu=lambda wc: gan_gpu_request(GAN_RESOURCES.gpu, local=workflow.local_exec),
        gpu_model=GAN_RESOURCES.gpu_model,
        gres=GAN_RESOURCES.gres,
    params:
        batch=lambda wc: batch_rule_params(
            config["gan"], GAN_PLAN.batch_params(wc.batch)
        ),
        amount=config["gan"]["amount"],
    script:
        "../scripts/train_gan.py"
