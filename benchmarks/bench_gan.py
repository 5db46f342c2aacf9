#!/usr/bin/env python
"""Benchmark (c): GAN training throughput and achieved FLOP/s vs the machine's matmul FLOP/s.

For each shape (samples x features, batch) and each XLA setting, the compiled training step of the
model (`tf.function(gan.train_step)`, exactly what `train_gan` runs) is timed on a fixed batch
after a warm-up; the best of `--repeats` timings is used. Reported:

- samples/s: real samples consumed per second (batch x steps / time; each cWGAN-GP step is
  n_critic critic updates + 1 generator update on that batch);
- achieved FLOP/s: matmul FLOPs per step (counted analytically from the layer sizes, below) / time
  per step, and its fraction of the machine's dense matmul FLOP/s, measured by TensorFlow in the
  same run (best of several 2048^2 and 4096^2 float32 `tf.matmul`s, 2 n^3 FLOPs each);
- the analytic count is checked against TensorFlow's own count of the MatMul ops in the traced
  step graph (ratio printed);
- end to end: `train_gan` epochs (tf.data pipeline, loss bookkeeping, no monitoring) in samples/s.

Analytic matmul FLOPs, with F_X = sum over X's dense layers of 2*m*k*n (batch m, k -> n) and
F_X1 its first layer:
  cwgan_gp, per step:  n_critic * (F_G + 13 F_D - 3 F_D1) + 3 F_G - F_G1 + 2 F_D
    critic update: G forward; D forward on real, fake and interpolates (3), their weight
    gradients (3) and input gradients (3, none in the first layer), the penalty's input gradient
    (1) and its double back-propagation (weight gradient + gradient of the gradient, 2 + 1).
    generator update: G forward + weight and input gradients (no input gradient in layer 1);
    D forward + input gradients.
  vanilla_gan, per step: 4 F_G - F_G1 + 8 F_D - 2 F_D1

    python benchmarks/bench_gan.py                       # 40x2080 (k=6 cohort) and 1024x2080
    python benchmarks/bench_gan.py --shapes 40x32896:40 --jit off
    python benchmarks/bench_gan.py --model vanilla_gan --threads 2
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def parse_shape(text: str):
    """'NxD:B' -> (n_samples, n_features, batch); batch defaults to min(N, 256)."""
    dims, _, batch = text.partition(":")
    n, d = (int(v) for v in dims.lower().split("x"))
    return n, d, int(batch) if batch else min(n, 256)


def dense_flops(model, m: int) -> tuple[float, float]:
    """(sum over Dense layers of 2*m*k*n, the first Dense layer's share)."""
    import keras

    sizes = [(layer.kernel.shape[0], layer.kernel.shape[1]) for layer in model.layers
             if isinstance(layer, keras.layers.Dense)]
    flops = [2.0 * m * k * n for k, n in sizes]
    return sum(flops), flops[0]


def analytic_step_flops(gan, m: int) -> float:
    fg, fg1 = dense_flops(gan.generator, m)
    fd, fd1 = dense_flops(gan.critic, m)
    if gan.model_name == "cwgan_gp":
        nc = int(gan.params["n_critic"])
        return nc * (fg + 13 * fd - 3 * fd1) + 3 * fg - fg1 + 2 * fd
    if gan.model_name == "vanilla_gan":
        return 4 * fg - fg1 + 8 * fd - 2 * fd1
    raise ValueError(f"no FLOP model for {gan.model_name}")


def graph_matmul_flops(concrete_fn) -> float:
    """2*m*k*n summed over the MatMul ops TensorFlow traced for one step."""
    total = 0.0
    for op in concrete_fn.graph.get_operations():
        if op.type not in ("MatMul", "BatchMatMulV2"):
            continue
        a, b = op.inputs[0].shape, op.inputs[1].shape
        ta, tb = op.get_attr("transpose_a") if op.type == "MatMul" else False, (
            op.get_attr("transpose_b") if op.type == "MatMul" else False)
        m, k = (a[-1], a[-2]) if ta else (a[-2], a[-1])
        n = b[-2] if tb else b[-1]
        total += 2.0 * m * k * n
    return total


def peak_matmul_flops(tf, sizes=(2048, 4096), repeats=8) -> float:
    """Dense float32 matmul FLOP/s of this machine as TensorFlow sees it: the best over sizes and
    repeats (best, not mean: on a shared machine other jobs only ever slow a run down)."""
    best_rate = 0.0
    mm = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    for n in sizes:
        a = tf.random.stateless_normal((n, n), seed=[1, 2])
        b = tf.random.stateless_normal((n, n), seed=[3, 4])
        mm(a, b).numpy()
        for _ in range(repeats):
            t0 = time.perf_counter()
            mm(a, b).numpy()
            best_rate = max(best_rate, 2.0 * n**3 / (time.perf_counter() - t0))
    return best_rate


def time_steps(tf, gan, n_features, batch, jit, steps, repeats):
    """Best seconds per compiled train step on a fixed batch, plus the traced function."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(-0.9, 0.9, size=(batch, n_features)).astype(np.float32))
    y = tf.constant(np.eye(gan.n_classes, dtype=np.float32)[rng.integers(0, gan.n_classes,
                                                                          batch)])
    fn = tf.function(gan.train_step, jit_compile=jit)
    key = tf.constant([1, 0], tf.int64)
    for _ in range(3):  # trace/compile + warm-up
        out = fn((x, y, key))
    float(next(iter(out.values())))
    best = np.inf
    for r in range(repeats):
        t0 = time.perf_counter()
        for i in range(steps):
            out = fn((x, y, tf.constant([1, r * steps + i], tf.int64)))
        float(next(iter(out.values())))  # wait for the last step
        best = min(best, (time.perf_counter() - t0) / steps)
    spec = (tf.TensorSpec(x.shape, tf.float32), tf.TensorSpec(y.shape, tf.float32),
            tf.TensorSpec((2,), tf.int64))
    return best, tf.function(gan.train_step).get_concrete_function(spec)


def end_to_end(model, params, n, d, batch, epochs, jit):
    """samples/s of `train_model` itself (tf.data, per-epoch bookkeeping; monitoring off)."""
    import logging

    from genogan.generators.train import train_model

    rng = np.random.default_rng(1)
    X = rng.gamma(2.0, size=(n, d))
    X /= X.sum(axis=1, keepdims=True)
    y = np.where(np.arange(n) < n // 2, "case", "control")
    cfg = {"epochs": epochs, "batch_size": batch, "monitor_every": 10**6,
           "checkpoint_every": 10**6, "jit_compile": jit}
    logging.getLogger("genogan").setLevel(logging.WARNING)
    tr = train_model(X, y, model=model, params=params, seed=1, config=cfg)
    seconds = tr.history["seconds"].iloc[1:].sum()  # epoch 1 includes tracing
    steps = (epochs - 1) * (n // min(batch, n))
    return steps * min(batch, n) / seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="cwgan_gp")
    ap.add_argument("--shapes", nargs="+", default=["40x2080:40", "1024x2080:256"],
                    help="NxD[:batch] (samples x features, batch)")
    ap.add_argument("--jit", choices=("off", "on", "both"), default="both")
    ap.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=30, help="end-to-end epochs (0: skip)")
    ap.add_argument("--threads", type=int, default=0, help="TF threads (0: TF default)")
    args = ap.parse_args(argv)

    from genogan.generators import runtime
    from genogan.generators.registry import model_class

    runtime.configure_threads(args.threads or None)
    tf = runtime.tf
    print(runtime.describe_device().replace("training on", "device:"))
    print(f"TensorFlow {tf.__version__}, intra-op threads "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or 'default'}, "
          f"CPUs {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    peak = peak_matmul_flops(tf)
    jits = {"off": [False], "on": [True], "both": [False, True]}[args.jit]
    rows = []
    cls = model_class(args.model)
    for shape in args.shapes:
        n, d, batch = parse_shape(shape)
        for jit in jits:
            gan = cls(d, 2, seed=1)
            sec, concrete = time_steps(tf, gan, d, batch, jit, args.steps, args.repeats)
            flops = analytic_step_flops(gan, batch)
            rows.append((n, d, batch, jit, sec, flops, graph_matmul_flops(concrete) / flops))
    # measured again after the runs; the higher value is used (a conservative fraction)
    peak = max(peak, peak_matmul_flops(tf))
    print(f"dense matmul peak used: {peak / 1e9:.1f} GFLOP/s (best before/after the runs)\n")
    print(f"{'shape':>14} {'batch':>5} {'xla':>4} {'ms/step':>9} {'samples/s':>10} "
          f"{'GFLOP/step':>10} {'graph/analytic':>14} {'GFLOP/s':>8} {'of peak':>8}")
    for n, d, batch, jit, sec, flops, ratio in rows:
        achieved = flops / sec
        print(f"{n:>6}x{d:<7} {batch:>5} {'on' if jit else 'off':>4} {sec * 1e3:>9.2f} "
              f"{batch / sec:>10.0f} {flops / 1e9:>10.3f} {ratio:>14.3f} "
              f"{achieved / 1e9:>8.1f} {achieved / peak:>8.1%}")
    if args.epochs > 1:
        print(f"\nend to end (train_gan, {args.epochs} epochs, first excluded):")
        for shape in args.shapes:
            n, d, batch = parse_shape(shape)
            for jit in jits:
                sps = end_to_end(args.model, None, n, d, batch, args.epochs, jit)
                print(f"{n:>6}x{d:<7} batch {batch:>4} xla {'on' if jit else 'off':>3}: "
                      f"{sps:,.0f} samples/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
