"""The contract every generative model implements (GANs, the conditional VAE, the diffusion model).

Imitating scvi-tools' module/model split: a model is one small `keras.Model` subclass that says
*what* it is (networks, optimizers, one training step, sampling); *how* it is trained (epochs,
batches, inner-validation selection, checkpoints, resume), stored and used (generation, quality,
the benchmark) is written once, in `train.py`, `store.py` and `synthesis.py`, over this interface:

- `build_networks() -> {name: keras.Model}`: every network; each becomes an attribute of that
  name, is checkpointed and is saved as `<name>.weights.h5`.
- `build_optimizers() -> {network name: optimizer}`: the optimizer training that network, kept
  as attribute `<name>_optimizer` (a network without one, e.g. a frozen part, is allowed).
- `sampling_networks`: the networks `sample` needs (the GAN's generator, the VAE's decoder, the
  diffusion model's denoiser). Generation loads only these; model selection keeps their weights
  of the best epoch.
- `train_step((real, onehot labels, step key)) -> {loss name: scalar}`: one update on a batch, in
  the fold's generator space (`FeaturePreprocessor`: reduced, scaled into [-1, 1]). Randomness
  is *stateless*, keyed on the step key `[seed, global step]` (`fold_key`), so a run resumed from
  a checkpoint draws what an uninterrupted run would have, and no RNG state is saved.
- `sample(onehot labels, key) -> samples` in the generator space, also stateless.
- `weight_count(n_features, n_classes, params)` (class method, no networks built): the memory
  check before a job starts; a test ties it to the built networks' `count_params()`.
- `default_params`: the architecture's defaults; config `gan.<model name>` overrides them, and an
  unknown key is an error.

Pretraining and fine-tuning are the training loop's (`train.train_model(..., init_from=...)`):
any model that honours this contract can be fine-tuned from another run's weights.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from genogan.errors import GenoganInputError

# layer weights with a `{name}_initializer` (Dense, BatchNormalization, Embedding): what
# `reinitialise` redraws
_INITIALISED = ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance",
                "embeddings")


def seeded_init(seed: int, i: int):
    """A seeded initializer per layer: same seed -> same initial weights, in any process.

    Scaled by fan-in only (LeCun uniform): Glorot's fan-out term would shrink a 30,000-feature
    output layer's weights ~100-fold, so an untrained generator would emit near-constant samples.
    """
    return keras.initializers.VarianceScaling(1.0, "fan_in", "uniform", seed=int(seed) * 1000 + i)


def fold_key(step_key, k):
    """Independent stateless seed number k within one training step (or one sampling call)."""
    return tf.random.experimental.stateless_fold_in(step_key, k)


def dense_weights(sizes) -> int:
    """Weights and biases of a chain of Dense layers with these widths (input first)."""
    sizes = [int(s) for s in sizes]
    return sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))


def mlp(inputs, units, out_units, *, seed, first: int, leaky_slope=0.2, dtype="float32",
        out_activation=None, batchnorm_momentum=None):
    """Dense -> LeakyReLU (-> BatchNormalization) blocks, then a Dense output of `out_units`
    (float32 activation, so mixed precision never rounds a model's outputs). Layer i's
    initializer is `seeded_init(seed, first + i)`."""
    h = inputs
    for i, u in enumerate(units):
        h = keras.layers.Dense(u, kernel_initializer=seeded_init(seed, first + i), dtype=dtype,
                               name=f"dense_{i}")(h)
        h = keras.layers.LeakyReLU(negative_slope=leaky_slope, dtype=dtype, name=f"act_{i}")(h)
        if batchnorm_momentum is not None:
            h = keras.layers.BatchNormalization(momentum=batchnorm_momentum, dtype=dtype,
                                                name=f"bn_{i}")(h)
    h = keras.layers.Dense(out_units, kernel_initializer=seeded_init(seed, first + len(units)),
                           dtype=dtype, name="dense_out")(h)
    act = out_activation or "linear"
    return keras.layers.Activation(act, dtype="float32", name=act)(h)


class GenerativeModel(keras.Model):
    """Shared plumbing of every generative model: networks, optimizers, state handling."""

    model_name = ""
    default_params: dict = {}
    sampling_networks: tuple[str, ...] = ()

    def __init__(self, n_features: int, n_classes: int, params: dict | None = None, *,
                 seed: int = 0, precision: str = "float32"):
        super().__init__(name=self.model_name)
        self.params = self.resolve_params(params)
        self.n_features, self.n_classes = int(n_features), int(n_classes)
        self.seed, self.precision = int(seed), precision
        self.network_names = []
        for name, net in self.build_networks().items():
            setattr(self, name, net)
            self.network_names.append(name)
        self.optimizer_names = []
        for name, opt in self.build_optimizers().items():
            setattr(self, f"{name}_optimizer", opt)
            opt.build(getattr(self, name).trainable_variables)
            self.optimizer_names.append(name)
        self._build_seed = self.seed  # the seed inside the layers' initializers
        self._optimizer_start = [[v.numpy() for v in opt.variables] for opt in self.optimizers()]

    # ---- what a model defines ----------------------------------------------------------------
    def build_networks(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def build_optimizers(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def train_step(self, data):  # pragma: no cover - abstract
        raise NotImplementedError

    def sample(self, labels_onehot, key):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def weight_count(cls, n_features: int, n_classes: int, params: dict) -> int:
        raise NotImplementedError  # pragma: no cover - abstract

    # ---- shared ------------------------------------------------------------------------------
    @classmethod
    def resolve_params(cls, params: dict | None) -> dict:
        """Defaults overlaid with config; an unknown key is an error, not silently ignored."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(cls.default_params))
        if unknown:
            raise GenoganInputError(
                f"unknown parameter(s) {', '.join(unknown)} for model '{cls.model_name}'",
                fix=f"valid parameters: {', '.join(sorted(cls.default_params))}")
        return {**cls.default_params, **params}

    def networks(self) -> dict:
        return {name: getattr(self, name) for name in self.network_names}

    def optimizers(self) -> list:
        return [getattr(self, f"{name}_optimizer") for name in self.optimizer_names]

    def checkpoint_objects(self) -> dict:
        """What a checkpoint holds of the model: every network and every optimizer."""
        return {**self.networks(), **{f"{n}_optimizer": getattr(self, f"{n}_optimizer")
                                      for n in self.optimizer_names}}

    def sampling_weights(self) -> list:
        return [w for name in self.sampling_networks for w in getattr(self, name).weights]

    def built_weight_count(self) -> int:
        return sum(net.count_params() for net in self.networks().values())

    def adam(self, lr, beta_1=0.9, beta_2=0.999):
        opt = keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2)
        if self.precision == "mixed_float16":  # float16 gradients need loss scaling
            opt = keras.optimizers.LossScaleOptimizer(opt)
        return opt

    def scale_learning_rates(self, factor: float) -> None:
        """Every optimizer's learning rate times `factor` (fine-tuning). `reinitialise` restores
        the built rates (the rate is an optimizer variable)."""
        for opt in self.optimizers():
            opt.learning_rate = float(opt.learning_rate) * float(factor)

    def apply_gradients(self, network: str, tape, loss):
        """One optimizer update of `network` from `loss` (scaled for mixed precision)."""
        opt, variables = getattr(self, f"{network}_optimizer"), getattr(
            self, network).trainable_variables
        grads = tape.gradient(loss, variables)
        opt.apply_gradients(zip(grads, variables, strict=True))

    def take_state_of(self, other: GenerativeModel) -> None:
        """Become `other`: its networks' weights (BatchNorm statistics included) and its
        optimizers' variables (step counters, moments, loss scale). Lets a traced step bound to
        this model's variables train `other`'s initialisation (see train.compiled_model)."""
        for mine, theirs in zip(self.networks().values(), other.networks().values(),
                                strict=True):
            mine.set_weights(theirs.get_weights())
        for mine, theirs in zip(self.optimizers(), other.optimizers(), strict=True):
            for var, value in zip(mine.variables, theirs.variables, strict=True):
                var.assign(value)
        self.seed = other.seed

    def reinitialise(self, seed: int) -> None:
        """Become what `type(self)(..., seed=seed)` starts as, without building it (~0.2 s a
        build, three per training before): every weight redrawn by its layer's initializer
        re-seeded as `seeded_init(seed, i)` would seed it (Keras' integer-seeded initializers
        are stateless: same seed, same values), the optimizers' state as built (seed-free). A
        weight without an initializer to redraw it is an error, never a stale value."""
        redrawn, n_weights = 0, 0
        for net in self.networks().values():
            n_weights += len(net.weights)
            for layer in net.layers:
                for name in _INITIALISED:
                    var = getattr(layer, name, None)
                    init = getattr(layer, f"{name}_initializer", None)
                    if var is None or init is None:
                        continue
                    if getattr(init, "seed", None) is not None:
                        offset = int(init.seed) - self._build_seed * 1000  # the `i` of seeded_init
                        init = type(init).from_config(
                            {**init.get_config(), "seed": int(seed) * 1000 + offset})
                    var.assign(init(var.shape, var.dtype))
                    redrawn += 1
        if redrawn != n_weights:
            raise RuntimeError(f"{self.model_name}: re-initialised {redrawn} of {n_weights} "
                               "weights; add the missing layer weight to _INITIALISED")
        for opt, start in zip(self.optimizers(), self._optimizer_start, strict=True):
            for var, value in zip(opt.variables, start, strict=True):
                var.assign(value)
        self.seed = int(seed)

    def copy(self) -> GenerativeModel:
        """An independent model in this one's state (a shared host is retrained by the next run)."""
        twin = type(self)(self.n_features, self.n_classes, self.params, seed=self.seed,
                          precision=self.precision)
        twin.take_state_of(self)
        return twin

    def call(self, inputs, training=False):  # Keras requires it; sampling is `sample`
        raise NotImplementedError(f"{self.model_name}: use sample(labels, key)")
