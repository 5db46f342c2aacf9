"""Conditional variational autoencoder (family `likelihood`): the VAE beside the GANs.

Kingma & Welling 2014 with the label given to both networks (Sohn et al. 2015, CVAE):
encoder q(z | x, y) = N(mu, diag(sigma^2)), decoder p(x | z, y) = N(dec(z, y), obs_sd^2 I), prior
p(z) = N(0, I). The loss is the negative ELBO per sample, sum over features of the squared error
/ (2 obs_sd^2) + beta x KL(q || p). Sampling draws z from the prior and decodes it with the
class's label; `sample_noise` adds the decoder's own N(0, obs_sd^2) (off by default: the
preprocessing already adds the reduced space's residual noise).

Why this shape for a fold's few tens of rows: the networks are as small as the GANs' (64 units),
work in the same fold-fitted reduced space, and their decoder ends in tanh like the GAN
generator, because that space is scaled into [-1, 1]. `obs_sd` sets the balance between
reconstruction and the prior: smaller copies the training rows more closely (memorisation),
larger pulls samples towards the class mean (lower k-NN recall). The default was chosen on the
demo's folds for the quality targets (label fidelity, recall, distance to training), and the
inner validation split selects the epoch as for every model.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from genogan.generators.contract import GenerativeModel, dense_weights, fold_key, mlp


def build_encoder(n_features, n_classes, latent_dim, units, *, seed, leaky_slope, dtype):
    """[sample, one-hot label] -> Dense blocks -> [mu, log variance] of q(z | x, y)."""
    x = keras.Input((n_features,), name="sample")
    label = keras.Input((n_classes,), name="label")
    h = keras.layers.Concatenate(name="condition", dtype=dtype)([x, label])
    out = mlp(h, units, 2 * latent_dim, seed=seed, first=100, leaky_slope=leaky_slope,
              dtype=dtype)
    return keras.Model([x, label], out, name="encoder")


def build_decoder(n_features, n_classes, latent_dim, units, *, seed, leaky_slope, dtype,
                  learn_sd=False):
    """[latent z, one-hot label] -> Dense blocks -> the mean of p(x | z, y) before its tanh, and
    with `learn_sd` the log standard deviation of every feature too."""
    z = keras.Input((latent_dim,), name="latent")
    label = keras.Input((n_classes,), name="label")
    h = keras.layers.Concatenate(name="condition", dtype=dtype)([z, label])
    out = mlp(h, units, n_features * (2 if learn_sd else 1), seed=seed, first=0,
              leaky_slope=leaky_slope, dtype=dtype)
    return keras.Model([z, label], out, name="decoder")


class CVAE(GenerativeModel):
    """Class-conditional VAE; `train_step` is one stochastic-gradient step on the negative ELBO
    with the reparameterisation trick (noise keyed on the step)."""

    model_name = "cvae"
    sampling_networks = ("decoder",)
    default_params = {
        "latent_dim": 8, "encoder_units": [64, 64], "decoder_units": [64, 64],
        "obs_sd": 0.1, "beta": 1.0, "learning_rate": 1e-3, "leaky_slope": 0.2,
        "sample_noise": False, "instance_noise": 0.0, "learn_obs_sd": False,
    }

    def build_networks(self):
        p, dt = self.params, self.precision
        self.latent_dim = int(p["latent_dim"])
        common = dict(seed=self.seed, leaky_slope=p["leaky_slope"], dtype=dt)
        return {
            "encoder": build_encoder(self.n_features, self.n_classes, self.latent_dim,
                                     p["encoder_units"], **common),
            "decoder": build_decoder(self.n_features, self.n_classes, self.latent_dim,
                                     p["decoder_units"], learn_sd=p["learn_obs_sd"], **common),
        }

    def build_optimizers(self):
        # the contract keeps one optimizer per network: two Adams stepping on the same ELBO
        lr = self.params["learning_rate"]
        return {"encoder": self.adam(lr), "decoder": self.adam(lr)}

    @classmethod
    def weight_count(cls, n_features: int, n_classes: int, params: dict) -> int:
        p = cls.resolve_params(params)
        latent = int(p["latent_dim"])
        return (dense_weights([n_features + n_classes, *p["encoder_units"], 2 * latent])
                + dense_weights([latent + n_classes, *p["decoder_units"],
                                 n_features * (2 if p["learn_obs_sd"] else 1)]))

    def decode(self, z, labels, training=False):
        """(mean, sd) of p(x | z, y): the mean in [-1, 1] (tanh, as the GAN generator's output),
        the sd learned per feature and row (at least `obs_sd`) or fixed at `obs_sd`."""
        out = tf.cast(self.decoder([z, labels], training=training), tf.float32)
        floor = float(self.params["obs_sd"])
        if not self.params["learn_obs_sd"]:
            return tf.tanh(out), tf.fill(tf.shape(out), floor)
        mean, raw = tf.split(out, 2, axis=1)
        return tf.tanh(mean), floor + tf.nn.softplus(raw)

    def train_step(self, data):
        real, labels, step_key = data
        if self.params["instance_noise"]:  # the smoothed rows are the target, as cwgan_gp's critic
            real = real + self.params["instance_noise"] * tf.random.stateless_normal(
                tf.shape(real), seed=fold_key(step_key, 1))
        with tf.GradientTape(persistent=True) as tape:
            stats = tf.cast(self.encoder([real, labels], training=True), tf.float32)
            mu, log_var = tf.split(stats, 2, axis=1)
            log_var = tf.clip_by_value(log_var, -10.0, 10.0)
            eps = tf.random.stateless_normal(tf.shape(mu), seed=fold_key(step_key, 0))
            z = mu + tf.exp(0.5 * log_var) * eps
            mean, sd = self.decode(z, labels, training=True)
            # Gaussian negative log-likelihood (its constant dropped)
            rec = tf.reduce_mean(tf.reduce_sum(
                tf.square(real - mean) / (2.0 * tf.square(sd)) + tf.math.log(sd), axis=1))
            kl = tf.reduce_mean(0.5 * tf.reduce_sum(
                tf.square(mu) + tf.exp(log_var) - 1.0 - log_var, axis=1))
            loss = rec + self.params["beta"] * kl
            enc_scaled = self.encoder_optimizer.scale_loss(loss)
            dec_scaled = self.decoder_optimizer.scale_loss(loss)
        self.apply_gradients("encoder", tape, enc_scaled)
        self.apply_gradients("decoder", tape, dec_scaled)
        del tape
        return {"loss": loss, "reconstruction": rec, "kl": kl}

    def sample(self, labels_onehot, key):
        labels_onehot = tf.convert_to_tensor(labels_onehot, tf.float32)
        n = tf.shape(labels_onehot)[0]
        z = tf.random.stateless_normal((n, self.latent_dim), seed=fold_key(key, 0))
        mean, sd = self.decode(z, labels_onehot)
        if not self.params["sample_noise"]:
            return mean
        return mean + sd * tf.random.stateless_normal(tf.shape(mean), seed=fold_key(key, 1))
