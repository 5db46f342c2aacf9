"""Conditional GAN models: network builders, one `keras.Model` subclass per GAN, and a registry.

Adding a model means adding one class decorated with `@register` that defines `default_params`,
`build_networks()`, `build_optimizers()` and a `train_step` that reads like its paper's algorithm.

Randomness inside a training step is *stateless*: every noise draw is keyed on the step key
(`[seed, global_step]`) handed in by the training loop. So a run resumed from a checkpoint draws
exactly the noise an uninterrupted run would have, and no RNG state has to be saved.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from genogan.errors import GenoganInputError

MODELS: dict[str, type[ConditionalGAN]] = {}


def register(cls):
    """Class decorator: make a GAN selectable by its `model_name` in config."""
    MODELS[cls.model_name] = cls
    return cls


def get_model_class(name: str):
    if name not in MODELS:
        raise GenoganInputError(f"unknown GAN model '{name}'",
                                fix=f"choose one of: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def _init(seed: int, i: int):
    """A seeded initializer per layer: same seed -> same initial weights, in any process.

    Scaled by fan-in only (LeCun uniform): Glorot's fan-out term would shrink a 30,000-feature
    output layer's weights ~100-fold, so an untrained generator would emit near-constant samples.
    """
    return keras.initializers.VarianceScaling(1.0, "fan_in", "uniform", seed=int(seed) * 1000 + i)


# ---- network builders (plain functions, as in the Keras wgan_gp example) -------------------------
def build_generator(n_features, n_classes, latent_dim, units, *, seed, leaky_slope=0.2,
                    batchnorm_momentum=None, dtype="float32", name="generator"):
    """MLP generator: [noise, one-hot label] -> Dense blocks -> tanh output in [-1, 1].

    Each hidden block is Dense -> LeakyReLU (-> BatchNormalization when a momentum is given).
    The output Dense runs in the compute dtype; its tanh runs in float32 so mixed precision never
    rounds the samples themselves.
    """
    noise = keras.Input((latent_dim,), name="noise")
    label = keras.Input((n_classes,), name="label")
    h = keras.layers.Concatenate(name="condition", dtype=dtype)([noise, label])
    for i, u in enumerate(units):
        h = keras.layers.Dense(u, kernel_initializer=_init(seed, i), dtype=dtype,
                               name=f"dense_{i}")(h)
        h = keras.layers.LeakyReLU(negative_slope=leaky_slope, dtype=dtype, name=f"act_{i}")(h)
        if batchnorm_momentum is not None:
            h = keras.layers.BatchNormalization(momentum=batchnorm_momentum, dtype=dtype,
                                                name=f"bn_{i}")(h)
    h = keras.layers.Dense(n_features, kernel_initializer=_init(seed, len(units)), dtype=dtype,
                           name="dense_out")(h)
    out = keras.layers.Activation("tanh", dtype="float32", name="tanh")(h)
    return keras.Model([noise, label], out, name=name)


def build_critic(n_features, n_classes, units, *, seed, leaky_slope=0.2, output_activation=None,
                 dtype="float32", name="critic"):
    """MLP critic/discriminator: [sample, one-hot label] -> Dense blocks -> one score.

    No batch normalisation: it would couple samples in a batch and break the per-sample gradient
    penalty of WGAN-GP. `output_activation="sigmoid"` turns the critic into a discriminator.
    """
    x = keras.Input((n_features,), name="sample")
    label = keras.Input((n_classes,), name="label")
    h = keras.layers.Concatenate(name="condition", dtype=dtype)([x, label])
    for i, u in enumerate(units):
        h = keras.layers.Dense(u, kernel_initializer=_init(seed, 100 + i), dtype=dtype,
                               name=f"dense_{i}")(h)
        h = keras.layers.LeakyReLU(negative_slope=leaky_slope, dtype=dtype, name=f"act_{i}")(h)
    h = keras.layers.Dense(1, kernel_initializer=_init(seed, 100 + len(units)), dtype=dtype,
                           name="dense_out")(h)
    act = output_activation or "linear"
    out = keras.layers.Activation(act, dtype="float32", name=act)(h)
    return keras.Model([x, label], out, name=name)


class MinibatchStd(keras.layers.Layer):
    """Appends one feature: the mean over features of the across-batch standard deviation
    (Karras et al. 2018). A collapsed generator's batch has a tell-tale small spread, so the
    critic can see and punish collapse that no single sample reveals."""

    def call(self, h):
        mean = tf.reduce_mean(h, axis=0, keepdims=True)
        sd = tf.sqrt(tf.reduce_mean(tf.square(h - mean), axis=0) + 1e-8)
        stat = tf.reduce_mean(sd) * tf.ones_like(h[:, :1])
        return tf.concat([h, stat], axis=1)

    def compute_output_shape(self, shape):
        return (shape[0], None if shape[1] is None else shape[1] + 1)


def build_projection_critic(n_features, n_classes, units, *, seed, leaky_slope=0.2,
                            minibatch_std=True, dtype="float32", name="critic"):
    """Projection critic (Miyato & Koyama 2018): D(x, y) = w.phi(x) + <embed(y), phi(x)>.

    The label enters through an inner product with the critic's features, so the score cannot
    be produced without it: a generator that ignores its label is penalised directly, unlike a
    label merely concatenated to the input, which a critic may learn to disregard.
    """
    x = keras.Input((n_features,), name="sample")
    label = keras.Input((n_classes,), name="label")
    h = x
    for i, u in enumerate(units):
        if minibatch_std and i == len(units) - 1:
            h = MinibatchStd(dtype=dtype, name="minibatch_std")(h)
        h = keras.layers.Dense(u, kernel_initializer=_init(seed, 100 + i), dtype=dtype,
                               name=f"dense_{i}")(h)
        h = keras.layers.LeakyReLU(negative_slope=leaky_slope, dtype=dtype, name=f"act_{i}")(h)
    score = keras.layers.Dense(1, kernel_initializer=_init(seed, 100 + len(units)), dtype=dtype,
                               name="dense_out")(h)
    embed = keras.layers.Dense(units[-1], use_bias=False, dtype=dtype, name="label_embedding",
                               kernel_initializer=_init(seed, 200))(label)
    proj = keras.layers.Dot(axes=1, dtype=dtype, name="projection")([embed, h])
    out = keras.layers.Add(dtype="float32", name="score")([score, proj])
    return keras.Model([x, label], out, name=name)


# layer weights with a `{name}_initializer` (Dense, BatchNormalization): what reinitialise redraws
_INITIALISED = ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance")


def _key(step_key, k):
    """Independent stateless seed number k within one training step."""
    return tf.random.experimental.stateless_fold_in(step_key, k)


class ConditionalGAN(keras.Model):
    """Shared plumbing: networks, optimizers, noise and sampling. Subclasses add `train_step`."""

    model_name = ""
    critic_role = "critic"  # what the second network is called in logs and model.json
    default_params: dict = {}

    def __init__(self, n_features: int, n_classes: int, params: dict | None = None, *,
                 seed: int = 0, precision: str = "float32"):
        super().__init__(name=self.model_name)
        self.params = self.resolve_params(params)
        self.n_features, self.n_classes = int(n_features), int(n_classes)
        self.latent_dim = int(self.params["latent_dim"])
        self.seed, self.precision = int(seed), precision
        self.generator, self.critic = self.build_networks()
        self.g_optimizer, self.d_optimizer = self.build_optimizers()
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.critic.trainable_variables)
        self._build_seed = self.seed  # the seed inside the layers' initializers
        self._optimizer_start = [[v.numpy() for v in opt.variables]
                                 for opt in (self.g_optimizer, self.d_optimizer)]

    @classmethod
    def resolve_params(cls, params: dict | None) -> dict:
        """Defaults overlaid with config; an unknown key is an error, not silently ignored."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(cls.default_params))
        if unknown:
            raise GenoganInputError(
                f"unknown parameter(s) {', '.join(unknown)} for GAN model '{cls.model_name}'",
                fix=f"valid parameters: {', '.join(sorted(cls.default_params))}")
        return {**cls.default_params, **params}

    def _adam(self, lr, beta_1, beta_2):
        opt = keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2)
        if self.precision == "mixed_float16":  # float16 gradients need loss scaling
            opt = keras.optimizers.LossScaleOptimizer(opt)
        return opt

    def noise(self, n, key):
        return tf.random.stateless_normal((n, self.latent_dim), seed=key)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def sample(self, labels_onehot, key):
        """Generated samples (in the preprocessed space) for the given one-hot labels."""
        labels_onehot = tf.convert_to_tensor(labels_onehot, tf.float32)
        z = self.noise(tf.shape(labels_onehot)[0], key)
        return self.generator([z, labels_onehot], training=False)

    def take_state_of(self, other: ConditionalGAN) -> None:
        """Become `other`: its networks' weights (BatchNorm statistics included) and its
        optimizers' variables (step counters, moments, loss scale). Lets a traced step bound to
        this GAN's variables train `other`'s initialisation (see train.compiled_gan)."""
        for mine, theirs in ((self.generator, other.generator), (self.critic, other.critic)):
            mine.set_weights(theirs.get_weights())
        for mine, theirs in ((self.g_optimizer, other.g_optimizer),
                             (self.d_optimizer, other.d_optimizer)):
            for var, value in zip(mine.variables, theirs.variables, strict=True):
                var.assign(value)
        self.seed = other.seed

    def reinitialise(self, seed: int) -> None:
        """Become what `type(self)(..., seed=seed)` starts as, without building it (~0.2 s a
        build, three per training before): every weight redrawn by its layer's initializer
        re-seeded as `_init(seed, i)` would seed it (Keras' integer-seeded initializers are
        stateless: same seed, same values), the optimizers' state as built (seed-free). A
        weight without an initializer to redraw it is an error, never a stale value."""
        redrawn = 0
        for net in (self.generator, self.critic):
            for layer in net.layers:
                for name in _INITIALISED:
                    var = getattr(layer, name, None)
                    init = getattr(layer, f"{name}_initializer", None)
                    if var is None or init is None:
                        continue
                    if getattr(init, "seed", None) is not None:
                        offset = int(init.seed) - self._build_seed * 1000  # the `i` of _init
                        init = type(init).from_config(
                            {**init.get_config(), "seed": int(seed) * 1000 + offset})
                    var.assign(init(var.shape, var.dtype))
                    redrawn += 1
        n_weights = len(self.generator.weights) + len(self.critic.weights)
        if redrawn != n_weights:
            raise RuntimeError(f"{self.model_name}: re-initialised {redrawn} of {n_weights} "
                               "weights; add the missing layer weight to _INITIALISED")
        for opt, start in zip((self.g_optimizer, self.d_optimizer), self._optimizer_start,
                              strict=True):
            for var, value in zip(opt.variables, start, strict=True):
                var.assign(value)
        self.seed = int(seed)

    def copy(self) -> ConditionalGAN:
        """An independent GAN in this one's state (a shared host is retrained by the next run)."""
        twin = type(self)(self.n_features, self.n_classes, self.params, seed=self.seed,
                          precision=self.precision)
        twin.take_state_of(self)
        return twin

    def _apply(self, optimizer, tape, loss, variables):
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables, strict=True))

    def build_networks(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def build_optimizers(self):  # pragma: no cover - abstract
        raise NotImplementedError


@register
class CWGANGP(ConditionalGAN):
    """Class-conditional Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, Alg. 1).

    The label (one-hot) is concatenated to the noise; the critic is a projection critic with a
    minibatch-standard-deviation feature (`conditioning: projection`, the default) or takes the
    label concatenated to its input (`conditioning: concat`, the original cWGAN-GP). Networks are
    small (64 units), sized for the fold-fitted reduced space of a few tens of training samples.
    `instance_noise` (sd, generator-space units) jitters the real samples the critic sees, so
    the target is a smoothed version of the few training points rather than the points
    themselves (which a generator would otherwise learn to reproduce: memorisation).
    Adam uses the paper's settings (lr 1e-4, beta_1 0, beta_2 0.9), n_critic 5, lambda 10. As in
    the Keras `wgan_gp` example, the n_critic critic updates of a step reuse the step's real batch
    with fresh noise each time.
    """

    model_name = "cwgan_gp"
    default_params = {
        "latent_dim": 16, "generator_units": [64, 64], "critic_units": [64, 64],
        "n_critic": 5, "gp_weight": 10.0, "learning_rate": 1e-3, "beta_1": 0.0, "beta_2": 0.9,
        "leaky_slope": 0.2, "conditioning": "projection", "minibatch_std": True,
        "instance_noise": 0.15,
    }

    def build_networks(self):
        p, dt = self.params, self.precision
        gen = build_generator(self.n_features, self.n_classes, self.latent_dim,
                              p["generator_units"], seed=self.seed, leaky_slope=p["leaky_slope"],
                              dtype=dt)
        if p["conditioning"] == "projection":
            critic = build_projection_critic(self.n_features, self.n_classes, p["critic_units"],
                                             seed=self.seed, leaky_slope=p["leaky_slope"],
                                             minibatch_std=p["minibatch_std"], dtype=dt)
        elif p["conditioning"] == "concat":
            critic = build_critic(self.n_features, self.n_classes, p["critic_units"],
                                  seed=self.seed, leaky_slope=p["leaky_slope"], dtype=dt)
        else:
            raise GenoganInputError(f"unknown cwgan_gp conditioning {p['conditioning']!r}",
                                    fix="use projection or concat")
        return gen, critic

    def build_optimizers(self):
        p = self.params
        return (self._adam(p["learning_rate"], p["beta_1"], p["beta_2"]),
                self._adam(p["learning_rate"], p["beta_1"], p["beta_2"]))

    def gradient_penalty(self, real, fake, labels, eps):
        """lambda-free penalty E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates x_hat."""
        x_hat = eps * real + (1.0 - eps) * fake
        with tf.GradientTape() as tape:
            tape.watch(x_hat)
            score = self.critic([x_hat, labels], training=True)
        grads = tape.gradient(score, x_hat)
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1) + 1e-12)
        return tf.reduce_mean(tf.square(norm - 1.0))

    def train_step(self, data):
        real, labels, step_key = data
        n = tf.shape(real)[0]
        lam = self.params["gp_weight"]
        if self.params["instance_noise"]:  # smooths the few real points the critic sees
            real = real + self.params["instance_noise"] * tf.random.stateless_normal(
                tf.shape(real), seed=_key(step_key, 10_000))
        def critic_update(k, *_):
            z = self.noise(n, _key(step_key, 2 * k))
            eps = tf.random.stateless_uniform((n, 1), seed=_key(step_key, 2 * k + 1))
            fake = self.generator([z, labels], training=True)  # outside the tape: no G grads
            with tf.GradientTape() as tape:
                d_real = tf.reduce_mean(self.critic([real, labels], training=True))
                d_fake = tf.reduce_mean(self.critic([fake, labels], training=True))
                gp = self.gradient_penalty(real, fake, labels, eps)
                d_loss = d_fake - d_real + lam * gp
                scaled = self.d_optimizer.scale_loss(d_loss)
            self._apply(self.d_optimizer, tape, scaled, self.critic.trainable_variables)
            return k + 1, d_loss, gp, d_real - d_fake

        # a graph loop, not n_critic unrolled copies: tracing the unrolled step took ~5 s, paid
        # again for every generator-space width a process meets (fit and refit differ). The
        # counter is int32 as a Python int becomes: fold_in of an int64 gives other keys.
        n_critic = int(self.params["n_critic"])
        zero = tf.constant(0.0)
        _, d_loss, gp, w_dist = tf.while_loop(
            lambda k, *_: k < n_critic, critic_update,
            (tf.constant(0, tf.int32), zero, zero, zero))
        z = self.noise(n, _key(step_key, 2 * n_critic))
        with tf.GradientTape() as tape:
            fake = self.generator([z, labels], training=True)
            g_loss = -tf.reduce_mean(self.critic([fake, labels], training=True))
            scaled = self.g_optimizer.scale_loss(g_loss)
        self._apply(self.g_optimizer, tape, scaled, self.generator.trainable_variables)
        return {"critic_loss": d_loss, "g_loss": g_loss, "gp": gp, "w_distance": w_dist}


@register
class VanillaCGAN(ConditionalGAN):
    """Conditional GAN (Mirza & Osindero 2014) with the classic Keras example's networks.

    Generator: Dense 256 -> 512 -> 1024, each followed by LeakyReLU(0.2) and
    BatchNormalization(momentum=0.8), tanh output. Discriminator: Dense 512 -> 256 with
    LeakyReLU(0.2) -> Dense 1 with sigmoid. Binary cross-entropy, Adam(2e-4, beta_1=0.5), one
    discriminator update then one (non-saturating) generator update per step.
    """

    model_name = "vanilla_gan"
    critic_role = "discriminator"
    default_params = {
        "latent_dim": 100, "generator_units": [256, 512, 1024],
        "discriminator_units": [512, 256], "batchnorm_momentum": 0.8, "leaky_slope": 0.2,
        "learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999,
    }

    def build_networks(self):
        p, dt = self.params, self.precision
        gen = build_generator(self.n_features, self.n_classes, self.latent_dim,
                              p["generator_units"], seed=self.seed, leaky_slope=p["leaky_slope"],
                              batchnorm_momentum=p["batchnorm_momentum"], dtype=dt)
        disc = build_critic(self.n_features, self.n_classes, p["discriminator_units"],
                            seed=self.seed, leaky_slope=p["leaky_slope"],
                            output_activation="sigmoid", dtype=dt, name="discriminator")
        return gen, disc

    def build_optimizers(self):
        p = self.params
        return (self._adam(p["learning_rate"], p["beta_1"], p["beta_2"]),
                self._adam(p["learning_rate"], p["beta_1"], p["beta_2"]))

    def train_step(self, data):
        real, labels, step_key = data
        n = tf.shape(real)[0]
        bce = keras.losses.binary_crossentropy
        ones, zeros = tf.ones((n, 1)), tf.zeros((n, 1))
        z = self.noise(n, _key(step_key, 0))
        fake = self.generator([z, labels], training=True)
        with tf.GradientTape() as tape:
            p_real = self.critic([real, labels], training=True)
            p_fake = self.critic([fake, labels], training=True)
            d_loss = 0.5 * (tf.reduce_mean(bce(ones, p_real)) + tf.reduce_mean(bce(zeros, p_fake)))
            scaled = self.d_optimizer.scale_loss(d_loss)
        self._apply(self.d_optimizer, tape, scaled, self.critic.trainable_variables)
        z = self.noise(n, _key(step_key, 1))
        with tf.GradientTape() as tape:
            fake = self.generator([z, labels], training=True)
            g_loss = tf.reduce_mean(bce(ones, self.critic([fake, labels], training=True)))
            scaled = self.g_optimizer.scale_loss(g_loss)
        self._apply(self.g_optimizer, tape, scaled, self.generator.trainable_variables)
        return {"d_loss": d_loss, "g_loss": g_loss, "d_real": tf.reduce_mean(p_real),
                "d_fake": tf.reduce_mean(p_fake)}
