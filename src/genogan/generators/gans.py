"""Conditional GANs (family `adversarial`): network builders and one `GenerativeModel` per GAN.

As in the Keras `wgan_gp` example, networks are built by plain functions and each GAN's
`train_step` reads like its paper's algorithm. The contract (networks, optimizers, stateless
randomness keyed on the step, sampling, weight count) is `genogan.generators.contract`'s; the
names are registered in `genogan.generators.registry`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from genogan.errors import GenoganInputError
from genogan.generators.contract import GenerativeModel, dense_weights, fold_key, mlp, seeded_init


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
    out = mlp(h, units, n_features, seed=seed, first=0, leaky_slope=leaky_slope, dtype=dtype,
              out_activation="tanh", batchnorm_momentum=batchnorm_momentum)
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
    out = mlp(h, units, 1, seed=seed, first=100, leaky_slope=leaky_slope, dtype=dtype,
              out_activation=output_activation)
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
        h = keras.layers.Dense(u, kernel_initializer=seeded_init(seed, 100 + i), dtype=dtype,
                               name=f"dense_{i}")(h)
        h = keras.layers.LeakyReLU(negative_slope=leaky_slope, dtype=dtype, name=f"act_{i}")(h)
    score = keras.layers.Dense(1, kernel_initializer=seeded_init(seed, 100 + len(units)),
                               dtype=dtype, name="dense_out")(h)
    embed = keras.layers.Dense(units[-1], use_bias=False, dtype=dtype, name="label_embedding",
                               kernel_initializer=seeded_init(seed, 200))(label)
    proj = keras.layers.Dot(axes=1, dtype=dtype, name="projection")([embed, h])
    out = keras.layers.Add(dtype="float32", name="score")([score, proj])
    return keras.Model([x, label], out, name=name)


class ConditionalGAN(GenerativeModel):
    """A conditional GAN: a generator [noise, one-hot label] -> sample and a critic (or
    discriminator) trained against it. Subclasses add `build_networks` and `train_step`."""

    critic_role = "critic"  # what the second network is called in logs and model.json
    sampling_networks = ("generator",)

    def __init__(self, n_features: int, n_classes: int, params: dict | None = None, *,
                 seed: int = 0, precision: str = "float32"):
        self.latent_dim = int(self.resolve_params(params)["latent_dim"])
        super().__init__(n_features, n_classes, params, seed=seed, precision=precision)

    def build_optimizers(self):
        p = self.params
        return {"generator": self.adam(p["learning_rate"], p["beta_1"], p["beta_2"]),
                "critic": self.adam(p["learning_rate"], p["beta_1"], p["beta_2"])}

    def noise(self, n, key):
        return tf.random.stateless_normal((n, self.latent_dim), seed=key)

    def sample(self, labels_onehot, key):
        """Generated samples (in the preprocessed space) for the given one-hot labels."""
        labels_onehot = tf.convert_to_tensor(labels_onehot, tf.float32)
        z = self.noise(tf.shape(labels_onehot)[0], key)
        return self.generator([z, labels_onehot], training=False)

    @classmethod
    def weight_count(cls, n_features: int, n_classes: int, params: dict) -> int:
        """The generator's and the critic's Dense layers (the projection critic adds its label
        embedding and, with minibatch_std, one input to its last hidden layer)."""
        p = cls.resolve_params(params)
        critic_units = p.get("critic_units") or p["discriminator_units"]
        gen = dense_weights([p["latent_dim"] + n_classes, *p["generator_units"], n_features])
        gen += 4 * sum(p["generator_units"]) if p.get("batchnorm_momentum") is not None else 0
        if p.get("conditioning", "concat") == "projection":
            inputs = [n_features, *critic_units[:-1]]
            if p["minibatch_std"]:  # one more input to the last hidden layer
                inputs[-1] += 1
            critic = (sum(a * b + b for a, b in zip(inputs, critic_units, strict=True))
                      + dense_weights([critic_units[-1], 1]) + n_classes * critic_units[-1])
        else:
            critic = dense_weights([n_features + n_classes, *critic_units, 1])
        return gen + critic


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
        return {"generator": gen, "critic": critic}

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
                tf.shape(real), seed=fold_key(step_key, 10_000))
        def critic_update(k, *_):
            z = self.noise(n, fold_key(step_key, 2 * k))
            eps = tf.random.stateless_uniform((n, 1), seed=fold_key(step_key, 2 * k + 1))
            fake = self.generator([z, labels], training=True)  # outside the tape: no G grads
            with tf.GradientTape() as tape:
                d_real = tf.reduce_mean(self.critic([real, labels], training=True))
                d_fake = tf.reduce_mean(self.critic([fake, labels], training=True))
                gp = self.gradient_penalty(real, fake, labels, eps)
                d_loss = d_fake - d_real + lam * gp
                scaled = self.critic_optimizer.scale_loss(d_loss)
            self.apply_gradients("critic", tape, scaled)
            return k + 1, d_loss, gp, d_real - d_fake

        # a graph loop, not n_critic unrolled copies: tracing the unrolled step took ~5 s, paid
        # again for every generator-space width a process meets (fit and refit differ). The
        # counter is int32 as a Python int becomes: fold_in of an int64 gives other keys.
        n_critic = int(self.params["n_critic"])
        zero = tf.constant(0.0)
        _, d_loss, gp, w_dist = tf.while_loop(
            lambda k, *_: k < n_critic, critic_update,
            (tf.constant(0, tf.int32), zero, zero, zero))
        z = self.noise(n, fold_key(step_key, 2 * n_critic))
        with tf.GradientTape() as tape:
            fake = self.generator([z, labels], training=True)
            g_loss = -tf.reduce_mean(self.critic([fake, labels], training=True))
            scaled = self.generator_optimizer.scale_loss(g_loss)
        self.apply_gradients("generator", tape, scaled)
        return {"critic_loss": d_loss, "g_loss": g_loss, "gp": gp, "w_distance": w_dist}


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
        return {"generator": gen, "critic": disc}

    def train_step(self, data):
        real, labels, step_key = data
        n = tf.shape(real)[0]
        bce = keras.losses.binary_crossentropy
        ones, zeros = tf.ones((n, 1)), tf.zeros((n, 1))
        z = self.noise(n, fold_key(step_key, 0))
        fake = self.generator([z, labels], training=True)
        with tf.GradientTape() as tape:
            p_real = self.critic([real, labels], training=True)
            p_fake = self.critic([fake, labels], training=True)
            d_loss = 0.5 * (tf.reduce_mean(bce(ones, p_real)) + tf.reduce_mean(bce(zeros, p_fake)))
            scaled = self.critic_optimizer.scale_loss(d_loss)
        self.apply_gradients("critic", tape, scaled)
        z = self.noise(n, fold_key(step_key, 1))
        with tf.GradientTape() as tape:
            fake = self.generator([z, labels], training=True)
            g_loss = tf.reduce_mean(bce(ones, self.critic([fake, labels], training=True)))
            scaled = self.generator_optimizer.scale_loss(g_loss)
        self.apply_gradients("generator", tape, scaled)
        return {"d_loss": d_loss, "g_loss": g_loss, "d_real": tf.reduce_mean(p_real),
                "d_fake": tf.reduce_mean(p_fake)}
