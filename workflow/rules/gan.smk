# Conditional GAN training (GPU when the scheduler gives one) and synthetic sample generation.
# Logic lives in genogan.gan; the scripts are thin adapters. Training reads only a training set
# (`full` or one CV fold's train.parquet), never a test part. Checkpoints go to checkpoints/gan/...
# (outside the declared outputs): a killed job resumes from there on rerun, with identical results.
from genogan.benchmark.splits import DATASET_WILDCARD_REGEX
from genogan.gan.pipeline import rule_params as gan_rule_params

GAN_DIR = "results/gan/{dataset}/{model}/seed{seed}"
# GAN model names only: classical baselines write synthetic files too (rule baseline_synthetic)
GAN_MODEL_REGEX = "(?!(?:smote|random_oversample|gaussian_noise|mixup)/)[A-Za-z][A-Za-z0-9_]*"


rule train_gan:
    input:
        train="results/datasets/{dataset}/train.parquet",
    output:
        generator=f"{GAN_DIR}/generator.weights.h5",
        critic=f"{GAN_DIR}/critic.weights.h5",
        preprocess=f"{GAN_DIR}/preprocess.json",
        model=f"{GAN_DIR}/model.json",
        history=f"{GAN_DIR}/history.tsv",
        loss=report(
            f"{GAN_DIR}/loss.png",
            caption="../report/gan_loss.rst",
            category="GAN training",
            subcategory="{model}",
            labels={"dataset": "{dataset}", "model": "{model}", "seed": "{seed}"},
        ),
    log:
        "logs/train_gan/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "logs/benchmark/train_gan/{dataset}/{model}/seed{seed}.tsv"
    wildcard_constraints:
        dataset=DATASET_WILDCARD_REGEX,
        model=GAN_MODEL_REGEX,
        seed="[0-9]+",
    conda:
        "../../envs/gan.yaml"
    threads: config["gan"]["resources"]["threads"]
    resources:
        # a job killed for memory is retried (--retries) with proportionally more
        mem_mb=lambda wildcards, attempt: config["gan"]["resources"]["mem_mb"] * attempt,
        runtime=config["gan"]["resources"]["runtime"],
        gpu=config["gan"]["resources"]["gpu"],
        gpu_model=config["gan"]["resources"]["gpu_model"],
        gres=config["gan"]["resources"]["gres"],
    params:
        gan=lambda wildcards: gan_rule_params(config["gan"], wildcards.model),
        checkpoint_dir="checkpoints/gan/{dataset}/{model}/seed{seed}",
    script:
        "../scripts/train_gan.py"


rule generate:
    input:
        generator=f"{GAN_DIR}/generator.weights.h5",
        preprocess=f"{GAN_DIR}/preprocess.json",
        model=f"{GAN_DIR}/model.json",
    output:
        "results/synthetic/{dataset}/{model}/seed{seed}.parquet",
    log:
        "logs/generate/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "logs/benchmark/generate/{dataset}/{model}/seed{seed}.tsv"
    wildcard_constraints:
        dataset=DATASET_WILDCARD_REGEX,
        model=GAN_MODEL_REGEX,
        seed="[0-9]+",
    conda:
        "../../envs/gan.yaml"
    threads: 1
    resources:
        mem_mb=config["gan"]["resources"]["mem_mb"],
    params:
        amount=config["gan"]["amount"],
    script:
        "../scripts/generate.py"
