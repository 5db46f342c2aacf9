"""Device detection, precision and determinism settings for TensorFlow training.

Why a module: the same training code must run on a laptop CPU and a SLURM GPU node, state in the
log which device it used, use mixed precision only where it pays (a GPU), and give bit-identical
weights for a seed on CPU.
"""

from __future__ import annotations

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's C++ start-up chatter out of logs

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from genogan.errors import GenoganInputError  # noqa: E402

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


def configure_threads(threads: int | None) -> None:
    """Pin TF's thread pools to the cores Snakemake gave the job (before any op runs)."""
    if not threads:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(min(int(threads), 2))
    except RuntimeError:  # TF already initialised (e.g. in a test session): keep its pools
        pass


def gpu_devices() -> list:
    return tf.config.list_physical_devices("GPU")


# Where a scheduler records the GPUs it gave a job (SLURM sets the first two, or only the CUDA one)
GPU_GRANT_VARIABLES = ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_GPUS", "SLURM_STEP_GPUS")


def granted_gpus(environ=None) -> str:
    """The GPU ids the scheduler gave this job ('' when it gave none; '-1' hides every GPU)."""
    environ = os.environ if environ is None else environ
    for name in GPU_GRANT_VARIABLES:
        value = environ.get(name, "").strip()
        if value and value not in ("-1", "NoDevFiles"):
            return f"{name}={value}"
    return ""


# Set to 1 where a scheduler declares GPUs with no device behind them (tests/slurm's cluster).
ALLOW_CPU_VARIABLE = "GENOGAN_ALLOW_CPU_ON_GPU_JOB"


def check_gpu_visible(gpus=None, environ=None) -> None:
    """A job that was given a GPU but cannot see one must fail, not train slowly on the CPU.

    The usual cause is the venv's CPU-only TensorFlow (`tensorflow-cpu`) on a GPU node."""
    environ = os.environ if environ is None else environ
    grant = granted_gpus(environ)
    if environ.get(ALLOW_CPU_VARIABLE) == "1":
        return
    if grant and not (gpu_devices() if gpus is None else gpus):
        raise GenoganInputError(
            f"this job was given a GPU ({grant}) but TensorFlow {tf.__version__} sees none "
            f"(built with CUDA: {tf.test.is_built_with_cuda()})",
            fix="install the GPU build (`make env GPU=1`, i.e. tensorflow[and-cuda]; with conda "
            "see envs/gan.yaml), or train on the CPU on purpose with `gan.resources.gpu: 0`")


def describe_device() -> str:
    """One line for the log: which device training runs on."""
    gpus = gpu_devices()
    if not gpus:
        return "no GPU found, training on CPU"
    details = tf.config.experimental.get_device_details(gpus[0])
    name = details.get("device_name", "unknown GPU")
    more = f" (+{len(gpus) - 1} more GPU(s) visible, using one)" if len(gpus) > 1 else ""
    return f"training on GPU:0 ({name}){more}"


def resolve_precision(precision: str = "auto") -> str:
    """Mixed precision only on a GPU: bfloat16 on compute capability >= 8 (no loss scaling
    needed), float16 with loss scaling on older GPUs; plain float32 on CPU, where it is faster
    and bit-reproducible."""
    if precision not in PRECISIONS:
        raise GenoganInputError(f"unknown precision '{precision}'",
                                fix=f"use one of: {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    gpus = gpu_devices()
    if not gpus:
        return "float32"
    cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
    return "mixed_bfloat16" if tuple(cc) >= (8, 0) else "mixed_float16"


def resolve_jit(jit_compile="auto") -> bool:
    """XLA on GPU; off on CPU, where it measured slower for these small MLPs
    (see benchmarks/bench_gan.py)."""
    if jit_compile == "auto":
        return bool(gpu_devices())
    return bool(jit_compile)


_TF_SEEDED = False


def make_deterministic(seed: int) -> None:
    """Seed Python and NumPy per training and make TF ops deterministic (bit-identical on CPU).

    All of a training's TensorFlow randomness is explicit (seeded initialisers, stateless noise
    keyed on the step; nothing draws from Keras' global SeedGenerator), so TF's global seed is
    set once per process only: setting it clears TF's kernel cache, and each later training
    would pay ~3.5 s re-instantiating its already traced step (which calling
    `keras.utils.set_random_seed` per training did)."""
    global _TF_SEEDED
    import random

    random.seed(int(seed))
    np.random.seed(int(seed))
    if not _TF_SEEDED:
        tf.random.set_seed(0)
        tf.config.experimental.enable_op_determinism()
        _TF_SEEDED = True


def log_runtime(logger: logging.Logger, precision: str, jit: bool) -> None:
    check_gpu_visible()
    logger.info(describe_device())
    logger.info("TensorFlow %s, Keras %s, precision %s, XLA jit_compile=%s",
                tf.__version__, keras.__version__, precision, jit)
