"""Class-conditional denoising diffusion model (family `diffusion`): the third kind of generator.

Ho et al. 2020 (DDPM): data x_0 are noised in T steps, x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t)
eps, and one network eps_theta(x_t, t, y) learns to predict the noise eps (the "simple" loss:
MSE between true and predicted noise). Sampling runs the chain backwards from N(0, I): Song et
al. 2021 (DDIM, eta = 0, the default) on `sampling_steps` evenly spaced timesteps, or the
ancestral DDPM sampler (`sampler: ddpm`, eta = 1 on the same timesteps; with `sampling_steps`
= `timesteps` it is Ho et al.'s Algorithm 2 with the posterior variance). The label conditions
by classifier-free guidance (Ho & Salimans 2022): in training the one-hot label is replaced by
zeros with probability `p_uncond`, so the same network is also an unconditional model, and
sampling uses eps = (1 + w) eps(x, y) - w eps(x, 0) with w = `guidance` (0: plain conditional).
TabDDPM (Kotelnikov et al. 2023) is the tabular precedent: an MLP denoiser on [x_t, time
embedding, label] for numerical features.

Why these choices for a fold's few tens of rows in a reduced space of 2-50 scores in [-1, 1]:
- The denoiser is a small MLP (two blocks of 64 units, as the GANs'), taking the sinusoidal
  embedding of t (fixed, computed in TF, no weights) and the one-hot label concatenated to x_t.
  A training step costs ~0.6 ms on one core at demo size (cwgan_gp: ~5 ms). On the demo's
  first 8 main splits 64 units memorised less than 128 (DCR below the holdout's 5th
  percentile 0.15 vs 0.25, both with guidance 0.5).
- Each training row is noised `noise_draws` (4) times per step, with independent t and eps: at
  n ~ 30 an epoch is one step, and the diffusion loss is a high-variance average over t; more
  draws cost little (a step this small is mostly fixed overhead) and make the few hundred steps
  of a training count.
- An exponential moving average of the weights (`ema_decay` 0.99, warmed up as (1 + s) / (10 +
  s) after s steps) is what samples, as in Ho et al. (0.9999 there, over far longer runs):
  the last iterate of Adam on a few rows wanders, and its error shows as biased class means
  (on 4-dim Gaussians, up to 0.4 class sd without the average, ~0.1 with it). The average is
  a second network, `denoiser_ema` (no optimizer), the one generation loads; `ema_decay: 0`
  drops it and samples with `denoiser`.
- T = 100 with the cosine schedule (Nichol & Dhariwal 2021), whose signal-to-noise ratio falls
  evenly, and 50 DDIM steps: a deterministic map from noise to samples, in one traced graph
  loop (500 rows: ~25 ms on one core). The predicted x_0 is clipped to [-`clip_x0`, `clip_x0`]
  (the data lie in [-1, 1]) and eps recomputed from it, so a sample cannot run away.
- Guidance is off by default (w = 0, the conditional model alone): guidance samples p(x | y)
  p(y | x)^w, which pushes classes apart. Trained on two Gaussians with means 3 apart, w = 1
  put the generated class means 5.8 apart (w = 0.3: 4), and such exaggerated classes would
  flatter a classifier trained on the augmented data. On separable classes the unguided model
  is already labelled correctly by a classifier trained on real rows (at the Bayes rate).
  Training still drops the label with p_uncond = 0.1 (Ho & Salimans), so `guidance` > 0 can be
  set for sharper, more label-typical samples. The shipped demo config sets 0.5: on its first 8
  main splits it raised label fidelity from 0.79 to 0.81 (64 units; 128 units: 0.79 -> 0.88)
  at the same memorisation. Note what that target rewards there: the same classifiers label
  the *real* held-out rows at 0.53 (20 splits), so fidelity above it is class separation the
  real data do not have; the benchmark's paired differences show whether it helps.
As with every model, the inner validation split selects the epoch (memorisation included: a
diffusion model trained long on a handful of rows reproduces them).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from genogan.errors import GenoganInputError
from genogan.generators.contract import GenerativeModel, dense_weights, fold_key, mlp

SCHEDULES = ("cosine", "linear")
SAMPLERS = ("ddim", "ddpm")


def alpha_bars(timesteps: int, schedule: str) -> np.ndarray:
    """abar_t = prod_{s<=t} (1 - beta_s) for t = 0..T (abar_0 = 1: the data themselves).

    cosine: Nichol & Dhariwal 2021, abar(t) = cos^2((t/T + s) / (1 + s) pi/2), s = 0.008, betas
    clipped at 0.999. linear: Ho et al.'s betas 1e-4..0.02 for T = 1000, rescaled by 1000/T so
    a shorter chain still ends in (nearly) pure noise.
    """
    T = int(timesteps)
    if schedule == "cosine":
        s = 0.008
        f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * math.pi / 2) ** 2
        betas = np.clip(1.0 - f[1:] / f[:-1], 0.0, 0.999)
    elif schedule == "linear":
        scale = 1000.0 / T
        betas = np.linspace(1e-4 * scale, min(0.02 * scale, 0.999), T)
    else:
        raise GenoganInputError(f"unknown ddpm schedule {schedule!r}",
                                fix=f"use one of: {', '.join(SCHEDULES)}")
    return np.concatenate([[1.0], np.cumprod(1.0 - betas)])


def sampling_timesteps(timesteps: int, steps: int) -> np.ndarray:
    """`steps` evenly spaced timesteps from T down to 1 (at most T), then 0 (the data)."""
    steps = max(1, min(int(steps), int(timesteps)))
    ts = np.unique(np.round(np.linspace(1, int(timesteps), steps)).astype(np.int64))
    return np.concatenate([ts[::-1], [0]])


def timestep_embedding(t, dim: int, timesteps: int):
    """Sinusoidal embedding (Vaswani et al. 2017, as in DDPM) of integer timesteps t, (n, dim).

    t is rescaled to 0..1000 whatever T is, so the standard frequency range (periods 2 pi to
    10,000 x 2 pi) spans the chain. No weights: the denoiser's first Dense layer reads it."""
    half = dim // 2
    freqs = tf.exp(-math.log(10_000.0) * tf.range(half, dtype=tf.float32) / half)
    args = (tf.cast(t, tf.float32) * (1000.0 / timesteps))[:, None] * freqs[None, :]
    return tf.concat([tf.sin(args), tf.cos(args)], axis=1)


def build_denoiser(n_features, n_classes, time_dim, units, *, seed, leaky_slope=0.2,
                   dtype="float32", name="denoiser"):
    """MLP noise predictor: [x_t, time embedding, one-hot label (zeros: unconditional)] ->
    Dense blocks -> linear eps (float32)."""
    x = keras.Input((n_features,), name="x_t")
    temb = keras.Input((time_dim,), name="time")
    label = keras.Input((n_classes,), name="label")
    h = keras.layers.Concatenate(name="condition", dtype=dtype)([x, temb, label])
    out = mlp(h, units, n_features, seed=seed, first=0, leaky_slope=leaky_slope, dtype=dtype)
    return keras.Model([x, temb, label], out, name=name)


class DDPM(GenerativeModel):
    """Class-conditional DDPM with classifier-free guidance; DDIM or ancestral sampling.

    Networks: `denoiser` (trained by Adam) and, with `ema_decay` > 0, `denoiser_ema`, its
    exponential moving average (no optimizer), which is what `sample` uses and generation loads.
    """

    model_name = "ddpm"
    sampling_networks = ("denoiser",)  # ("denoiser_ema",) with ema_decay > 0: see __init__
    default_params = {
        "units": [64, 64], "time_embedding": 16, "timesteps": 100, "schedule": "cosine",
        "sampling_steps": 50, "sampler": "ddim", "guidance": 0.0, "p_uncond": 0.1,
        "noise_draws": 4, "clip_x0": 1.5, "ema_decay": 0.99, "learning_rate": 1e-3,
        "leaky_slope": 0.2,
    }

    def __init__(self, n_features: int, n_classes: int, params: dict | None = None, *,
                 seed: int = 0, precision: str = "float32"):
        p = self.resolve_params(params)
        _check_params(p)
        self.timesteps, self.time_dim = int(p["timesteps"]), int(p["time_embedding"])
        ab = alpha_bars(self.timesteps, p["schedule"])
        self._sqrt_ab = tf.constant(np.sqrt(ab), tf.float32)
        self._sqrt_1m_ab = tf.constant(np.sqrt(1.0 - ab), tf.float32)
        ts = sampling_timesteps(self.timesteps, p["sampling_steps"])
        self._ts = tf.constant(ts[:-1], tf.int32)  # each sampling step's timestep, T first
        self._ab_t = tf.constant(ab[ts[:-1]], tf.float32)
        self._ab_prev = tf.constant(ab[ts[1:]], tf.float32)  # ... and the one it steps to
        super().__init__(n_features, n_classes, params, seed=seed, precision=precision)
        if float(self.params["ema_decay"]) > 0:
            self.sampling_networks = ("denoiser_ema",)
        self._sampler = None  # the traced reverse chain, built on first use

    def build_networks(self):
        p = self.params
        args = (self.n_features, self.n_classes, self.time_dim, p["units"])
        kw = dict(seed=self.seed, leaky_slope=p["leaky_slope"], dtype=self.precision)
        nets = {"denoiser": build_denoiser(*args, **kw)}
        if float(p["ema_decay"]) > 0:  # same seed: the average starts at the initial weights
            nets["denoiser_ema"] = build_denoiser(*args, **kw, name="denoiser_ema")
        return nets

    def build_optimizers(self):
        return {"denoiser": self.adam(self.params["learning_rate"])}

    @classmethod
    def weight_count(cls, n_features: int, n_classes: int, params: dict) -> int:
        """The denoiser's Dense layers (the time embedding has no weights), twice with EMA."""
        p = cls.resolve_params(params)
        one = dense_weights([n_features + int(p["time_embedding"]) + n_classes, *p["units"],
                             n_features])
        return 2 * one if float(p["ema_decay"]) > 0 else one

    def eps(self, net, x, t, labels, training=False):
        """`net`'s noise prediction (float32) at integer timesteps t, shape (n,)."""
        out = net([x, timestep_embedding(t, self.time_dim, self.timesteps), labels],
                  training=training)
        return tf.cast(out, tf.float32)

    def train_step(self, data):
        """The simple loss of Ho et al. (Algorithm 1) on `noise_draws` noisings of each row,
        labels dropped to zeros with probability p_uncond (classifier-free guidance), then the
        moving average's update."""
        real, labels, step_key = data
        k = int(self.params["noise_draws"])
        x0 = tf.tile(tf.cast(real, tf.float32), [k, 1])
        y = tf.tile(tf.cast(labels, tf.float32), [k, 1])
        n = tf.shape(x0)[0]
        t = tf.random.stateless_uniform((n,), seed=fold_key(step_key, 0), minval=1,
                                        maxval=self.timesteps + 1, dtype=tf.int32)
        noise = tf.random.stateless_normal(tf.shape(x0), seed=fold_key(step_key, 1))
        keep = tf.random.stateless_uniform((n, 1), seed=fold_key(step_key, 2)) >= float(
            self.params["p_uncond"])
        y = y * tf.cast(keep, tf.float32)
        x_t = (tf.gather(self._sqrt_ab, t)[:, None] * x0
               + tf.gather(self._sqrt_1m_ab, t)[:, None] * noise)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(noise - self.eps(self.denoiser, x_t, t, y,
                                                             training=True)))
            scaled = self.denoiser_optimizer.scale_loss(loss)
        self.apply_gradients("denoiser", tape, scaled)
        if float(self.params["ema_decay"]) > 0:
            # warm-up (1 + s) / (10 + s) after s updates, as in common EMA implementations: a
            # training of a few hundred steps is not dominated by the initial weights
            s = tf.cast(self.denoiser_optimizer.iterations, tf.float32)
            d = tf.minimum(float(self.params["ema_decay"]), (1.0 + s) / (10.0 + s))
            for avg, w in zip(self.denoiser_ema.weights, self.denoiser.weights, strict=True):
                avg.assign(d * avg + (1.0 - d) * w)
        return {"loss": loss}

    def _reverse_chain(self, labels, key):
        """x_T ~ N(0, I) keyed by `key`, then one DDIM (eta 0) or DDPM (eta 1) update per
        sampling timestep, in a graph loop (one trace per model, any number of rows)."""
        p = self.params
        net = getattr(self, self.sampling_networks[0])
        w, clip = float(p["guidance"]), float(p["clip_x0"])
        eta = 1.0 if p["sampler"] == "ddpm" else 0.0
        n = tf.shape(labels)[0]
        x = tf.random.stateless_normal((n, self.n_features), seed=fold_key(key, 0))
        both = tf.concat([labels, tf.zeros_like(labels)], axis=0)  # conditional, unconditional

        def step(i, x):
            t = tf.fill([n], self._ts[i])
            ab_t, ab_prev = self._ab_t[i], self._ab_prev[i]
            if w:  # one network call for both predictions
                e = self.eps(net, tf.concat([x, x], axis=0), tf.concat([t, t], axis=0), both)
                e = (1.0 + w) * e[:n] - w * e[n:]
            else:
                e = self.eps(net, x, t, labels)
            x0 = tf.clip_by_value((x - tf.sqrt(1.0 - ab_t) * e) / tf.sqrt(ab_t), -clip, clip)
            e = (x - tf.sqrt(ab_t) * x0) / tf.sqrt(1.0 - ab_t)  # consistent with the clipped x0
            x_prev = tf.sqrt(ab_prev) * x0
            if eta:  # DDIM's sigma_t with eta = 1: DDPM's posterior variance
                var = (1.0 - ab_prev) / (1.0 - ab_t) * (1.0 - ab_t / ab_prev)
                z = tf.random.stateless_normal(tf.shape(x), seed=fold_key(key, i + 1))
                x_prev += tf.sqrt(tf.maximum(1.0 - ab_prev - var, 0.0)) * e + tf.sqrt(var) * z
            else:
                x_prev += tf.sqrt(1.0 - ab_prev) * e
            return i + 1, x_prev

        n_steps = int(self._ts.shape[0])
        _, x = tf.while_loop(lambda i, _: i < n_steps, step, (tf.constant(0, tf.int32), x))
        return x

    def sample(self, labels_onehot, key):
        """Generated samples (float32, in the generator space) for the given one-hot labels;
        the same key gives the same samples."""
        if self._sampler is None:  # traced once per model; any number of rows
            self._sampler = tf.function(self._reverse_chain, input_signature=(
                tf.TensorSpec((None, self.n_classes), tf.float32),
                tf.TensorSpec((2,), tf.int64)))
        labels = tf.reshape(tf.convert_to_tensor(labels_onehot, tf.float32),
                            (-1, self.n_classes))
        return self._sampler(labels, tf.cast(tf.convert_to_tensor(key), tf.int64))


def _check_params(p: dict) -> None:
    """Values the config schema cannot check (or a caller passing params directly)."""
    problems = []
    if p["schedule"] not in SCHEDULES:
        problems.append(f"schedule {p['schedule']!r} is not one of {', '.join(SCHEDULES)}")
    if p["sampler"] not in SAMPLERS:
        problems.append(f"sampler {p['sampler']!r} is not one of {', '.join(SAMPLERS)}")
    if int(p["time_embedding"]) < 2 or int(p["time_embedding"]) % 2:
        problems.append(f"time_embedding must be even and >= 2, got {p['time_embedding']}")
    for key in ("timesteps", "sampling_steps", "noise_draws"):
        if int(p[key]) < 1:
            problems.append(f"{key} must be >= 1, got {p[key]}")
    if not 0.0 <= float(p["p_uncond"]) < 1.0:
        problems.append(f"p_uncond must be in [0, 1), got {p['p_uncond']}")
    if not 0.0 <= float(p["ema_decay"]) < 1.0:
        problems.append(f"ema_decay must be in [0, 1), got {p['ema_decay']}")
    if float(p["guidance"]) > 0 and float(p["p_uncond"]) == 0:
        problems.append("guidance > 0 needs p_uncond > 0 (the unconditional model it uses)")
    if float(p["clip_x0"]) <= 0:
        problems.append(f"clip_x0 must be > 0, got {p['clip_x0']}")
    if problems:
        raise GenoganInputError("ddpm parameters: " + "; ".join(problems))
