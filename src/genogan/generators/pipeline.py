"""File-level stages shared by the `genogan train/generate` CLI and the Snakemake scripts.

Both read the same `gan:` config section, so a rule and a command line given the same config train
the same model. (See the `gan:` block in config/config.yaml for the keys.)
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from genogan.errors import GenoganInputError
from genogan.generators.amount import synthetic_counts
from genogan.settings.sections import training_options


def default_model() -> str:
    """The model trained when none is named: the first of the config's `gan.models` default."""
    from genogan.settings.sections import schema_default

    return schema_default("gan.models")[0]


def rule_params(gan_cfg: dict, model: str) -> dict:
    """The slice of `gan:` one train_gan job depends on, as its `params:` (so editing another
    model's section, the amount or the resources does not retrain it)."""
    return {**training_options(gan_cfg), model: dict(gan_cfg.get(model) or {})}


def batch_rule_params(gan_cfg: dict, trainings: list[dict]) -> dict:
    """`params:` of one train_gan batch: its trainings and the `gan:` slice its models use."""
    gan = {}
    for model in dict.fromkeys(t.get("base_model", t["model"]) for t in trainings):
        gan.update(rule_params(gan_cfg, model))
    return {"trainings": trainings, "gan": gan}


def model_params_from(gan_cfg: dict | None, model: str) -> dict:
    return dict((gan_cfg or {}).get(model) or {})


def train_file(input_path, out_dir, *, gan_cfg: dict | None = None, model: str | None = None,
               seed: int = 1, checkpoint_dir=None, logger: logging.Logger | None = None,
               on_epoch_end=None, init_from=None):
    """Read a training matrix, train, and write the model directory's files atomically
    (only after training: a killed run leaves checkpoints, never outputs). `init_from`: a
    pretrained model (`store.LoadedModel`) to fine-tune."""
    from genogan.features import read_matrix
    from genogan.generators.store import save_trained
    from genogan.generators.train import train_model
    from genogan.groups import matrix_groups
    from genogan.io import timed

    logger = logger or logging.getLogger("genogan")
    model = model or default_model()
    fm = read_matrix(input_path)
    logger.info("training set %s: %d samples x %d features", input_path, *fm.X.shape)
    with timed(logger, f"training {model} (seed {seed})"):
        trained = train_model(fm.X, fm.y, model=model,
                              params=model_params_from(gan_cfg, model), seed=seed,
                              config=training_options(gan_cfg), checkpoint_dir=checkpoint_dir,
                              feature_names=fm.feature_names, logger=logger,
                              on_epoch_end=on_epoch_end, init_from=init_from,
                              groups=matrix_groups(fm))
    record = {"input": str(input_path), "gan": gan_cfg or {}}
    paths = save_trained(trained, out_dir, config=record)
    logger.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return trained


def pretrain_file(matrix_path, space_path, out_dir, *, classes, gan_cfg: dict | None = None,
                  model: str | None = None, pretrain: dict | None = None, seed: int = 1,
                  checkpoint_dir=None, logger: logging.Logger | None = None):
    """Rule `pretrain`: pretrain `model` on the reference matrix in the reference space (files
    of rule `reference_matrix`), write its model directory atomically."""
    from genogan.features import read_matrix
    from genogan.generators.store import save_trained
    from genogan.generators.train import pretrain_model
    from genogan.io import timed
    from genogan.reference_space import read_space

    logger = logger or logging.getLogger("genogan")
    model = model or default_model()
    ref = read_matrix(matrix_path)
    names, space = read_space(space_path)
    if list(names) != list(ref.feature_names):
        raise GenoganInputError("the reference space and matrix disagree on the features",
                                path=space_path, fix="rerun rule reference_matrix")
    with timed(logger, f"pretraining {model} on {len(ref.y)} reference rows (seed {seed})"):
        trained = pretrain_model(ref.X, ref.y, classes, space=space, model=model,
                                 params=model_params_from(gan_cfg, model), seed=seed,
                                 config=training_options(gan_cfg), pretrain=pretrain,
                                 checkpoint_dir=checkpoint_dir,
                                 feature_names=ref.feature_names, logger=logger)
    paths = save_trained(trained, out_dir, config={"input": str(matrix_path),
                                                   "gan": gan_cfg or {}, "pretrain": pretrain})
    logger.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return trained


def counts_for(class_counts: dict, amount: dict | None) -> dict:
    """Synthetic samples per class for a trained model, from its real class counts (`amount`
    None: the config's `gan.amount` default)."""
    from genogan.settings.sections import schema_default

    amount = amount or schema_default("gan.amount")
    y = np.repeat(np.asarray(list(class_counts), dtype=object),
                  [class_counts[c] for c in class_counts])
    return synthetic_counts(y, amount["mode"], amount["value"])


def generate_file(model_dir, output, *, amount: dict | None = None, seed: int = 1,
                  logger: logging.Logger | None = None, trained=None):
    """Generate synthetic samples sized by `amount` and write them as a FeatureMatrix parquet.

    `trained` (a TrainedModel in memory, as rule train_gan has): sample it instead of reloading
    `model_dir` -- the same weights and preprocessor it wrote, so the same samples."""
    from genogan.features import write_matrix
    from genogan.generators.store import output_paths
    from genogan.generators.synthesis import generate, sampling_source, synthetic_matrix

    logger = logger or logging.getLogger("genogan")
    if trained is not None:
        class_counts, model = trained.class_counts, trained.model_name
    else:
        model_json = output_paths(model_dir)["model"]
        if not model_json.exists():
            raise GenoganInputError("trained model not found", path=model_json,
                                    fix="run `genogan train` (rule train_gan) first")
        meta = json.loads(model_json.read_text())
        class_counts, model = meta["class_counts"], meta["model"]
    counts = counts_for(class_counts, amount)
    logger.info("generating %s synthetic samples per class with %s (seed %d)", counts, model,
                seed)
    if trained is not None:
        fm = synthetic_matrix(trained.model, trained.preprocessor, trained.classes, model,
                              trained.feature_names, counts, seed,
                              source=sampling_source(model_dir, trained.model))
    else:
        fm = generate(model_dir, counts, seed)
    write_matrix(fm, output)
    logger.info("wrote %d synthetic samples to %s", len(fm.y), output)
    return fm


def train_batch(trainings: list[dict], *, gan_cfg: dict | None = None, amount: dict | None = None,
                checkpoint_root="checkpoints/gan", logger: logging.Logger | None = None) -> list:
    """Rule `train_gan`: several trainings of generative models in one process (one TensorFlow
    start-up).

    Each entry of `trainings` ({dataset, model, seed, train, out, train_seed}; a `+ref` arm's
    also {base_model, init_from: its pretrained model directory}) is trained on its
    `train` file only, its model files written to `out`, and its synthetic pool (sized by
    `amount`, e.g. `gan.amount`) sampled from the model in memory to `out/synthetic.parquet`.
    The training seed `train_seed` also seeds the pool. Checkpoints go to
    `checkpoint_root/{dataset}/{model}/seed{seed}`: a killed job resumes each training there.
    """
    from genogan.generators.store import load_trained

    logger = logger or logging.getLogger("genogan")
    pools, pretrained = [], {}
    for i, t in enumerate(trainings, 1):
        logger.info("training %d of %d: %s %s seed %s", i, len(trainings), t["dataset"],
                    t["model"], t["seed"])
        init = t.get("init_from")  # a `+ref` arm: fine-tune the model pretrained on the reference
        if init and init not in pretrained:
            pretrained[init] = load_trained(init, all_networks=True)
        trained = train_file(
            t["train"], t["out"], gan_cfg=gan_cfg, model=t.get("base_model", t["model"]),
            seed=int(t["train_seed"]),
            checkpoint_dir=f"{checkpoint_root}/{t['dataset']}/{t['model']}/seed{t['seed']}",
            logger=logger, init_from=pretrained.get(init))
        pools.append(generate_file(t["out"], Path(t["out"]) / "synthetic.parquet", amount=amount,
                                   seed=int(t["train_seed"]), logger=logger, trained=trained))
    return pools


# ---- scheduling: GPU request and threads of rule train_gan ------------------------------------
def visible_gpus(environ=None, proc_dir="/proc/driver/nvidia/gpus", dev_dir="/dev") -> int:
    """NVIDIA GPUs this process could use, found without importing TensorFlow (the DAG is built
    in a fraction of a second): the driver's device list, narrowed by CUDA_VISIBLE_DEVICES."""
    import os
    import re

    environ = os.environ if environ is None else environ
    proc, dev = Path(proc_dir), Path(dev_dir)
    found = len(list(proc.iterdir())) if proc.is_dir() else 0
    if not found and dev.is_dir():
        found = sum(1 for p in dev.iterdir() if re.fullmatch(r"nvidia[0-9]+", p.name))
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return found
    ids = [v for v in visible.split(",") if v.strip() and not v.strip().startswith("-")]
    return min(found, len(ids))


def gan_gpu_request(configured: int, gpus: int | None = None, local: bool = True) -> int:
    """`gpu` resource of a train_gan job on this machine: the configured request where a GPU
    exists, else 0, so the local profile's `gpu=1` cap serialises GAN jobs only on a GPU
    machine and CPU-only machines run them in parallel. (On SLURM the profile's
    `set-resources` sets the request for the compute node; `local=False` keeps it anyway.)"""
    if not local:
        return int(configured)
    gpus = visible_gpus() if gpus is None else gpus
    return int(configured) if gpus > 0 else 0


def gan_threads(configured: int, gpus: int | None = None, local: bool = True) -> int:
    """`threads` of a train_gan job: the configured count with a GPU (input pipeline, host
    ops); 1 on CPU, where a second thread measured no faster at these sizes and two trainings
    in parallel use both cores. Cluster jobs (`local=False`) keep the configured count."""
    if not local:
        return int(configured)
    gpus = visible_gpus() if gpus is None else gpus
    return int(configured) if gpus > 0 else 1
