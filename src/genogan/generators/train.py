"""Train a generative model on a feature matrix: resumable, reproducible, monitored.

One loop for every model of the contract (`genogan.generators.contract`): GANs, the VAE and the
diffusion model differ only in their `train_step` and `sample`.

The loop is deliberately explicit (rather than `Model.fit`) because three properties depend on it:
- **Exact resume.** Shuffling is keyed on (seed, epoch) and noise on (seed, global step), and the
  checkpoint holds models, optimizers (with their step counters), the epoch, the early-stopping
  state and the history so far. A run killed after a checkpoint and rerun ends with the same
  weights, bit for bit, as an uninterrupted one.
- **Nothing half-written.** Checkpoints go to a directory outside the declared outputs; outputs are
  written by `genogan.generators.store.save_trained` only after training, each atomically.
- **Monitoring.** Every `monitor_every` epochs the model generates as many samples as the
  training set (same labels) and MMD/diversity against the real (preprocessed) data enter the
  history.
- **Model selection on the training part only** (`selection`, on by default). A stratified inner
  validation split holds back a fraction of the *training* rows; the preprocessing (reduced space
  included) and the model are fitted on the rest. At every monitor epoch the generator is scored on
  the held-back rows: `val_score` = MMD between generated and held-back samples (generator space)
  + (1 - label fidelity), the label fidelity of a logistic regression fitted on the inner training
  rows, + the fraction of generated samples nearer an inner training row than held-back rows
  are (memorisation). The best epoch is kept; with `refit` the model is then retrained on the
  whole training part for that many epochs. The fold's test part never reaches `train_gan` at all.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import astuple, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from genogan.errors import GenoganInputError
from genogan.generators import runtime
from genogan.generators.checkpoints import checkpoint_fingerprint, resume_checkpoint
from genogan.generators.monitor import MONITOR_COLUMNS, monitor_scores
from genogan.generators.registry import model_class
from genogan.generators.preprocess import FeaturePreprocessor
from genogan.settings.sections import GanSettings, as_dict, validated

tf = runtime.tf
_SPLIT_KEY = 3_000_017  # seeds the inner validation split
_MONITOR_KEY = 1_000_003  # fold-in constant separating monitor noise from training noise
_MONITOR_MAX_ROWS = 2_000


def training_settings(config) -> GanSettings:
    """The training options: the typed `gan:` settings (a dict is validated against the config
    schema first, so a partial config meets the same checks as the workflow's)."""
    return config if isinstance(config, GanSettings) else validated("gan", config)


@dataclass
class TrainedModel:
    """A trained model with everything needed to generate samples and save outputs."""

    model: object  # a genogan.generators.contract.GenerativeModel
    preprocessor: FeaturePreprocessor
    classes: list
    class_counts: dict
    history: pd.DataFrame
    info: dict
    feature_names: list | None = None

    @property
    def model_name(self):
        return self.model.model_name


# ---- input checks ------------------------------------------------------------------------------
def check_training_data(X, y):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise GenoganInputError(f"training a generative model needs at least 2 samples and 1 "
                                f"feature, got shape "
                                f"{X.shape}")
    if len(y) != len(X):
        raise GenoganInputError(f"{len(y)} labels for {len(X)} samples")
    if not np.isfinite(X).all():
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise GenoganInputError(
            f"training data has {int((~np.isfinite(X)).sum())} NaN/inf values (first: sample "
            f"row {row}, feature column {col})", fix="impute or drop missing values first")
    classes = np.unique(y.astype(str))
    if len(classes) < 2:
        raise GenoganInputError(
            f"a class-conditional model needs at least 2 classes, the training data has only "
            f"{classes.tolist()}", fix="check the 'condition' column of the sample sheet")
    return X, y.astype(str), classes


def label_index(y, classes) -> np.ndarray:
    """Each row's class index; -1 for a row without one of `classes` (an unlabelled reference
    row in pretraining)."""
    classes = np.asarray(classes).astype(str)
    y = np.asarray(y).astype(str)
    idx = np.searchsorted(classes, y)
    known = (idx < len(classes)) & (classes[np.minimum(idx, len(classes) - 1)] == y)
    return np.where(known, idx, -1)


def one_hot(y, classes) -> np.ndarray:
    """One-hot labels; an all-zero row for a row without one of `classes` (pretraining gives
    unlabelled rows a random class first: `random_labels_for_unlabelled`)."""
    idx = label_index(y, classes)
    out = np.zeros((len(idx), len(classes)), dtype=np.float32)
    out[np.flatnonzero(idx >= 0), idx[idx >= 0]] = 1.0
    return out


def random_labels_for_unlabelled(y, classes, seed: int) -> np.ndarray:
    """`y` with each unlabelled row given a class drawn at random (seeded).

    Why not the all-zero label: a network's weights on a label input that is always zero get no
    gradient, so at fine-tuning the first one-hot label adds their random initial values to every
    sample. Measured on a 40-feature simulation (1,000 unlabelled reference rows, 26 labelled):
    the zero-label pretrained cwgan_gp, fine-tuned, ended further (MMD 0.38 to held-out rows)
    than a generator trained on the 26 rows alone (0.20). Random labels instead train the
    conditional networks to give the reference's marginal whatever the label, the start from
    which fine-tuning learns what each class changes."""
    y = np.asarray(y).astype(str)
    missing = label_index(y, classes) < 0
    out = y.astype(object)  # a '<U1' copy of empty labels would truncate 'case' to 'c'
    rng = np.random.default_rng([int(seed), _SPLIT_KEY + 1])
    out[missing] = rng.choice(np.asarray(classes).astype(str), size=int(missing.sum()))
    return out.astype(str)


def inner_validation_split(y, fraction: float, seed: int,
                           groups=None) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, validation rows) of the training part: per class round(fraction * n_c) rows
    held back, at least 1, always leaving 2 to fit; a class of fewer than 3 keeps all its rows.
    Indices are into the rows passed in (the training part only), seeded by `seed`.

    With `groups` (patients, individuals) whole groups are held back: each group counts for its
    most frequent class, and a class's groups are taken in seeded order while the rows held back
    stay within the class's target, so no group sits on both sides of the selection split."""
    y = np.asarray(y)
    rng = np.random.default_rng([int(seed), _SPLIT_KEY])
    if groups is not None:
        return _grouped_inner_split(y, np.asarray(groups).astype(str), fraction, rng)
    val = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        n_val = min(max(1, round(fraction * len(idx))), len(idx) - 2) if fraction > 0 else 0
        if n_val > 0:
            val.append(rng.choice(idx, size=n_val, replace=False))
    val = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    return np.setdiff1d(np.arange(len(y)), val), val


def _grouped_inner_split(y, groups, fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.DataFrame({"y": y.astype(str), "group": groups})
    owner = frame.groupby("group")["y"].agg(lambda v: v.value_counts().index[0])
    held = []
    for c in np.unique(y.astype(str)):
        n_c = int((frame["y"] == c).sum())
        target = min(max(1, round(fraction * n_c)), n_c - 2) if fraction > 0 else 0
        taken = 0
        for g in rng.permutation(np.sort(owner.index[owner == c].to_numpy())):
            size = int((frame["group"] == g).sum())
            if taken + size <= target:
                held.append(g)
                taken += size
    val = np.flatnonzero(frame["group"].isin(held).to_numpy())
    return np.setdiff1d(np.arange(len(y)), val), val


class ValidationScorer:
    """Selection scores of generated samples against held-back training rows (generator space):
    val_mmd (MMD to the held-back rows), val_label (label fidelity of a logistic regression
    fitted on the inner training rows), val_memorised (fraction of generated samples closer to
    an inner training row than the 5th percentile of the held-back rows' distances to them: the
    quality stage's memorisation measure, `privacy.dcr_below_holdout_p05`, on training rows
    only), val_score = val_mmd + 1 - val_label + val_memorised (lower is better). What depends
    on real rows only (the classifier, the distance threshold) is fitted once per training, not
    at every monitor epoch."""

    def __init__(self, U_fit, y_fit, U_val, y_val):
        from sklearn.linear_model import LogisticRegression

        from genogan.quality.privacy import dcr

        self.U_fit, self.U_val, self.val_classes = U_fit, U_val, np.unique(y_val)
        self.clf = LogisticRegression(max_iter=1000).fit(U_fit, y_fit)
        self.threshold = np.percentile(dcr(U_val, U_fit), 5)

    def __call__(self, fake, y_fake) -> dict[str, float]:
        from genogan.generators.monitor import mmd_rbf
        from genogan.quality.privacy import dcr

        pred = self.clf.predict(fake)
        label = float(np.mean([np.mean(pred[y_fake == c] == c) for c in np.unique(y_fake)]))
        mmd = mmd_rbf(self.U_val, fake[np.isin(y_fake, self.val_classes)])
        memorised = float(np.mean(dcr(fake, self.U_fit) < self.threshold))
        return {"val_mmd": mmd, "val_label": label, "val_memorised": memorised,
                "val_score": mmd + 1.0 - label + memorised}


# ---- compiled training steps, traced once per architecture ------------------------------------
_COMPILED: dict[tuple, tuple] = {}  # architecture key -> (host model, its traced StepLoop)
_COMPILED_MAX = 8


class StepLoop:
    """Many training steps in one graph call: `loop(U, onehot, rows, key0)` runs one step per
    row of `rows` (the batch's row indices into U) and returns each step's losses.

    One call per epoch cost more than the steps: measured on 1 core at demo size, a cwgan_gp
    step took 13.9 ms called one by one and 7.8 ms inside a graph loop (vanilla_gan 28.6 vs
    20.7 ms). Step i's noise is keyed on key0 + [0, i], i.e. [seed, global step], exactly as
    before, and its batch is gathered from U by the same row indices, so the weights do not
    depend on how the steps are grouped into calls. With XLA the step itself is compiled
    (`jit_compile`) and the loop around it stays a plain graph loop (a loop of dynamic length).
    """

    def __init__(self, model, n_features: int, n_classes: int, jit: bool):
        self.names: list[str] = []  # the step's loss names, in order (known after tracing)
        step = tf.function(model.train_step, jit_compile=True) if jit else model.train_step

        def loop(U, onehot, rows, key0):
            losses = tf.TensorArray(tf.float32, size=tf.shape(rows)[0])

            def body(i, losses):
                key = key0 + tf.stack([tf.constant(0, tf.int64), tf.cast(i, tf.int64)])
                out = step((tf.gather(U, rows[i]), tf.gather(onehot, rows[i]), key))
                self.names[:] = list(out)
                return i + 1, losses.write(i, tf.stack([tf.cast(out[k], tf.float32)
                                                        for k in self.names]))

            _, losses = tf.while_loop(lambda i, _: i < tf.shape(rows)[0], body,
                                      (tf.constant(0, tf.int32), losses))
            return losses.stack()

        signature = (tf.TensorSpec((None, n_features), tf.float32),
                     tf.TensorSpec((None, n_classes), tf.float32),
                     tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((2,), tf.int64))
        self.loop = tf.function(loop, input_signature=signature)

    def __call__(self, U, onehot, rows: np.ndarray, key0) -> np.ndarray:
        """Losses of every step, (steps x len(names)), float64."""
        out = self.loop(U, onehot, tf.constant(rows, tf.int32), tf.constant(key0, tf.int64))
        return out.numpy().astype(np.float64)


def compiled_model(model, n_features, n_classes, params, seed, precision, jit):
    """A model initialised exactly as `model(n_features, n_classes, params, seed=seed)` would be,
    and its traced training loop (`StepLoop`).

    Tracing the step (autograph, gradient-penalty double back-propagation, the critic loop)
    costs seconds, while a whole training at n ~ 25 runs for a few: measured on 1 core, 2.1 s
    per cwgan_gp trace plus 0.6 s for its first call (4.6 + 2.1 s with the n_critic updates
    unrolled) against 7 ms per step. So a process that trains many GANs (rule
    train_gan's batches, fit + refit of every training) traces each architecture once: the first
    GAN of an architecture becomes the host whose variables the trace captures, and each later
    one re-initialises the host to its own seed's starting state (`reinitialise`). The batch
    dimension is left open in the signature, so fit and refit, and folds of different sizes,
    share a trace whenever their generator space has the same width. Nothing but initial state
    crosses between trainings: a GAN trained after others ends bit for bit where it would alone
    (tests/test_gan_train.py).
    """
    cls = model_class(model)
    key = (model, int(n_features), int(n_classes),
           json.dumps(cls.resolve_params(params), sort_keys=True), precision, bool(jit))
    if key not in _COMPILED:
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.pop(next(iter(_COMPILED)))  # oldest first: batches run in split order
        fresh = cls(n_features, n_classes, params, seed=seed, precision=precision)
        _COMPILED[key] = (fresh, StepLoop(fresh, n_features, n_classes, bool(jit)))
        return _COMPILED[key]
    host, step = _COMPILED[key]
    host.reinitialise(seed)
    return host, step


# ---- the training run --------------------------------------------------------------------------
class _Run:
    """State of one training run: data tensors, compiled step, checkpoint and history."""

    def __init__(self, X, y, classes, model, params, seed, cfg, checkpoint_dir, logger,
                 validation=None, init_from=None, space=None):
        self.cfg, self.seed, self.logger = cfg, int(seed), logger
        self.precision = runtime.resolve_precision(cfg.precision)
        self.jit = runtime.resolve_jit(cfg.jit_compile)
        runtime.log_runtime(logger, self.precision, self.jit)
        # fine-tuning keeps the pretrained model's space: its weights only mean something there;
        # pretraining is given its space (fitted on the reference by rule reference_matrix)
        self.prep = (init_from.preprocessor if init_from is not None else space
                     if space is not None else FeaturePreprocessor(**cfg.preprocess).fit(X))
        logger.info("preprocessing: mode %s, compositional input: %s", self.prep.mode_,
                    self.prep.compositional_)
        self.U = self.prep.transform(X)
        self.y, self.classes = y, classes
        self.y_idx, self.onehot = label_index(y, classes), one_hot(y, classes)
        self.U_t, self.onehot_t = tf.constant(self.U, tf.float32), tf.constant(self.onehot)
        self.model, self.step_fn = compiled_model(model, self.prep.n_output_, len(classes),
                                                  params, seed, self.precision, self.jit)
        if init_from is not None:
            for mine, theirs in zip(self.model.networks().values(),
                                    init_from.model.networks().values(), strict=True):
                mine.set_weights(theirs.get_weights())
            self.model.scale_learning_rates(cfg.fine_tune_lr_scale)
        self.val = None
        if validation is not None:  # held-back training rows, in the generator's space
            X_val, y_val = validation
            self.val = ValidationScorer(self.U, self.y, self.prep.transform(X_val).astype(
                np.float64), np.asarray(y_val))
        patience = cfg.early_stopping.patience
        self.select_metric = ("val_score" if self.val is not None else
                              cfg.early_stopping.metric if patience > 0 else None)
        self.batch = min(int(cfg.batch_size), len(X))
        self.steps_per_epoch = len(X) // self.batch
        start = {} if init_from is None else {"init_from": _weights_digest(self.model)}
        if space is not None:
            start["space"] = self.prep.to_json()
        self._init_state(checkpoint_fingerprint(X, y, model, self.model.params, seed, cfg, {
            "precision": self.precision, "jit": self.jit, "tf": tf.__version__, **start}),
            checkpoint_dir)

    # checkpoint ---------------------------------------------------------------------------------
    def _init_state(self, fp, checkpoint_dir):
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.history_json = tf.Variable("[]", dtype=tf.string, trainable=False)
        self.es_best = tf.Variable(np.inf, dtype=tf.float64, trainable=False)
        self.es_wait = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.es_best_epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.fingerprint = tf.Variable(fp, dtype=tf.string, trainable=False)
        objs = dict(**self.model.checkpoint_objects(), epoch=self.epoch,
                    history=self.history_json, es_best=self.es_best, es_wait=self.es_wait,
                    es_best_epoch=self.es_best_epoch, fingerprint=self.fingerprint)
        self.best_weights = None
        if self.select_metric is not None:
            self.best_weights = [tf.Variable(w.numpy(), trainable=False)
                                 for w in self.model.sampling_weights()]
            objs["best_sampling_weights"] = self.best_weights
        self.ckpt = tf.train.Checkpoint(**objs)
        self.manager = None
        if checkpoint_dir is not None:
            self.checkpoint_dir = Path(checkpoint_dir)
            self._maybe_resume(fp)
            self.manager = tf.train.CheckpointManager(self.ckpt, str(self.checkpoint_dir),
                                                      max_to_keep=1)

    def _maybe_resume(self, fp):
        if resume_checkpoint(self.ckpt, self.checkpoint_dir, fp, self.logger):
            self.logger.info("resuming at epoch %d", int(self.epoch.numpy()))

    def save_checkpoint(self, epoch: int, history: list[dict]):
        """The loop keeps epoch and history in Python and hands them to the checkpoint only
        here: assigning the two variables every epoch cost ~1.3 s per demo-sized training
        (re-serialising the growing history each time), more than a third of its steps."""
        if self.manager is not None:
            self.epoch.assign(epoch)
            self.history_json.assign(json.dumps(history))
            path = self.manager.save(checkpoint_number=epoch)
            self.logger.info("checkpoint written: %s", path)

    # data ---------------------------------------------------------------------------------------
    def step_rows(self, start_epoch: int, end_epoch: int) -> np.ndarray:
        """Row indices of every step's batch for epochs [start, end), (steps x batch): the
        sample order fixed by (seed, epoch), each epoch's incomplete last batch dropped."""
        used = self.steps_per_epoch * self.batch
        return np.concatenate([
            np.random.default_rng([self.seed, e]).permutation(len(self.U))[:used]
            for e in range(start_epoch, end_epoch)]).reshape(-1, self.batch)

    def run_epochs(self, start_epoch: int, end_epoch: int) -> list[dict]:
        """Train epochs [start, end) in one graph call; each epoch's mean losses. A step's
        noise key is [seed, global step]."""
        losses = self.step_fn(self.U_t, self.onehot_t, self.step_rows(start_epoch, end_epoch),
                              [self.seed, start_epoch * self.steps_per_epoch])
        means = losses.reshape(end_epoch - start_epoch, self.steps_per_epoch, -1).mean(axis=1)
        for e, row in enumerate(means, start_epoch + 1):
            if not np.isfinite(row).all():
                bad = [k for k, v in zip(self.step_fn.names, row, strict=True)
                       if not np.isfinite(v)]
                raise FloatingPointError(f"{self.model.model_name} training diverged at epoch {e}: "
                                         f"{', '.join(bad)} not finite")
        return [dict(zip(self.step_fn.names, map(float, row), strict=True)) for row in means]

    # monitor ------------------------------------------------------------------------------------
    def monitor(self, epoch: int) -> dict:
        key = tf.random.experimental.stateless_fold_in(
            tf.constant([self.seed, epoch], tf.int64), _MONITOR_KEY)
        rows = self.monitor_rows()
        fake = self.model.sample(self.onehot[rows], key).numpy().astype(np.float64)
        scores = monitor_scores(self.U[rows], self.y_idx[rows], fake, self.y_idx[rows])
        if self.val is not None:
            scores.update(self.val(fake, self.y))
        return scores

    def monitor_rows(self) -> np.ndarray:
        """The rows the monitor compares with: all, or a fixed subsample of `_MONITOR_MAX_ROWS`
        (MMD and pairwise distances are quadratic: a 5,000-row reference would cost more than
        its training)."""
        if len(self.U) <= _MONITOR_MAX_ROWS:
            return np.arange(len(self.U))
        rng = np.random.default_rng([self.seed, _MONITOR_KEY])
        return np.sort(rng.choice(len(self.U), _MONITOR_MAX_ROWS, replace=False))

    def early_stop(self, row: dict, epoch: int) -> bool:
        """Track the best epoch by the selection metric; True when patience is exhausted."""
        patience = self.cfg.early_stopping.patience
        score = row.get(self.select_metric, np.nan) if self.select_metric else np.nan
        if not np.isfinite(score):
            return False
        if score < self.es_best.numpy() - self.cfg.early_stopping.min_delta:
            self.es_best.assign(score)
            self.es_best_epoch.assign(epoch)
            self.es_wait.assign(0)
            for var, w in zip(self.best_weights, self.model.sampling_weights(), strict=True):
                var.assign(w)
            return False
        self.es_wait.assign_add(1)
        return patience > 0 and int(self.es_wait.numpy()) >= patience

    def restore_best(self):
        for var, w in zip(self.best_weights, self.model.sampling_weights(), strict=True):
            w.assign(var)


def _iterate(run: _Run, cfg: GanSettings, on_epoch_end):
    """The epoch loop; returns (history rows, stopped_early). Epochs run in chunks that end
    where something needs the weights (a monitor epoch, a checkpoint, the last epoch), one
    graph call each; within a chunk no decision is taken, so the history, the selected epoch
    and early stopping are those of an epoch-by-epoch loop. `seconds` of an epoch is its share
    of the chunk's time (plus the monitor's, on monitor epochs)."""
    history = json.loads(run.history_json.numpy().decode())
    done = int(run.epoch.numpy())  # epochs trained so far
    while done < cfg.epochs:
        end = min(cfg.epochs, _next_multiple(done, cfg.monitor_every),
                  _next_multiple(done, cfg.checkpoint_every))
        t0 = time.perf_counter()
        rows = run.run_epochs(done, end)
        share = (time.perf_counter() - t0) / len(rows)
        for epoch, losses in enumerate(rows, done + 1):  # 1-based
            t0 = time.perf_counter()
            row = {"epoch": epoch, **losses}
            last = epoch == cfg.epochs
            if epoch % cfg.monitor_every == 0 or last:
                row.update(run.monitor(epoch - 1))
            row["seconds"] = share + time.perf_counter() - t0
            history.append(row)
            stop = run.early_stop(row, epoch)
            _log_row(run.logger, row)
            if epoch % cfg.checkpoint_every == 0 and not last:
                run.save_checkpoint(epoch, history)
            if on_epoch_end is not None:
                on_epoch_end(epoch, row)
            if stop:
                run.logger.info("early stopping at epoch %d: best %s %.4g at epoch %d", epoch,
                                run.select_metric, run.es_best.numpy(),
                                run.es_best_epoch.numpy())
                return history, True
        done = end
    return history, False


def _next_multiple(epoch: int, every: int) -> int:
    return (epoch // every + 1) * every


def _log_row(logger, row):
    logger.info("epoch %d: %s", row["epoch"], ", ".join(
        f"{k}={v:.4g}" for k, v in row.items() if k != "epoch" and np.isfinite(v)))


def _weights_digest(model) -> str:
    """A fingerprint of a model's starting weights (a fine-tuning run's checkpoint must have
    started from the same pretrained weights to be resumed)."""
    import hashlib

    h = hashlib.sha256()
    for w in model.weights:
        h.update(np.ascontiguousarray(w.numpy()).tobytes())
    return h.hexdigest()


def train_model(X, y, *, model: str = "cwgan_gp", params: dict | None = None, seed: int = 1,
                config: GanSettings | dict | None = None, checkpoint_dir=None,
                feature_names=None, logger: logging.Logger | None = None,
                on_epoch_end=None, init_from=None, groups=None) -> TrainedModel:
    """Train `model` (a registered name) on features X (n_samples x n_features) with labels y.

    `config`: the `gan:` training options (`GanSettings` or a partial config dict).
    `checkpoint_dir`: where periodic checkpoints go (resumed from when present and made for the
    same data and settings; removed after success unless `keep_checkpoints`). `on_epoch_end(epoch,
    row)` is called after each epoch (and after its checkpoint), e.g. for progress or tests.
    `init_from`: fine-tune a pretrained model (a `TrainedModel` or `store.LoadedModel` of the
    same model and classes): training starts from its weights, in its preprocessing space (not
    refitted), with fresh optimizers. `pretrain` is `train_model` on the larger cohort.
    `groups`: each row's group (patient, individual): the inner validation split holds back
    whole groups.
    """
    logger = logger or logging.getLogger("genogan")
    cfg = training_settings(config)
    model_class(model)  # unknown name -> clear error before any work
    X, y, classes = check_training_data(X, y)
    if init_from is not None:
        _check_init(init_from, model, classes, X.shape[1])
    runtime.make_deterministic(seed)
    sel = cfg.selection
    fit, val = inner_validation_split(y, float(sel.validation_fraction), seed, groups)
    validation = (X[val], y[val]) if len(val) else None
    run = _Run(X[fit], y[fit], classes, model, params, seed, cfg, checkpoint_dir, logger,
               validation=validation, init_from=init_from)
    logger.info("model %s: %d features (%d in the generator's space), classes %s, %d samples "
                "(%d held back for model selection), batch %d, %d epochs%s", model, X.shape[1],
                run.prep.n_output_, classes.tolist(), len(fit), len(val), run.batch, cfg.epochs,
                ", fine-tuned from a pretrained model" if init_from is not None else "")
    t0 = time.perf_counter()
    history, stopped = _iterate(run, cfg, on_epoch_end)
    best = int(run.es_best_epoch.numpy()) if run.best_weights else None
    if run.best_weights is not None and np.isfinite(run.es_best.numpy()):
        run.restore_best()  # as Keras' EarlyStopping(restore_best_weights=True)
    final = run
    if validation is not None and sel.refit and best:
        logger.info("refit on all %d training samples for the selected %d epochs", len(X), best)
        # the refit's history is not kept (the selection run's is), so it monitors only its
        # last epoch (a finite-loss check) instead of every monitor_every epochs
        refit_cfg = replace(cfg, epochs=best, monitor_every=best,
                            early_stopping=replace(cfg.early_stopping, patience=0),
                            selection=replace(sel, validation_fraction=0.0))
        final = _Run(X, y, classes, model, params, seed, refit_cfg,
                     None if checkpoint_dir is None else Path(checkpoint_dir) / "refit", logger,
                     init_from=init_from)
        _iterate(final, refit_cfg, None)
    elapsed = time.perf_counter() - t0
    if checkpoint_dir is not None and not cfg.keep_checkpoints:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    info = {"seed": int(seed), "device": runtime.describe_device(), "precision": run.precision,
            "jit_compile": run.jit, "epochs_trained": len(history), "stopped_early": stopped,
            "best_epoch": best, "refit": final is not run, "fine_tuned": init_from is not None,
            "inner_validation_rows": val.tolist(), "n_features_generator": run.prep.n_output_,
            "train_seconds_this_run": round(elapsed, 3), "batch_size": run.batch,
            "weight_count": run.model.built_weight_count(), "train_config": as_dict(cfg)}
    counts = {str(c): int((y == c).sum()) for c in classes}
    hist = _history_frame(history)
    return TrainedModel(final.model.copy(), final.prep, [str(c) for c in classes], counts, hist,
                        info, list(feature_names) if feature_names is not None else None)


def pretrain_model(X, y, classes, *, space, model: str = "cwgan_gp", params: dict | None = None,
                   seed: int = 1, config: GanSettings | dict | None = None,
                   pretrain: dict | None = None, checkpoint_dir=None, feature_names=None,
                   logger: logging.Logger | None = None, on_epoch_end=None) -> TrainedModel:
    """Pretrain `model` on a reference cohort, once per run, for every fold to fine-tune
    (`train_model(..., init_from=)`).

    `classes`: the study's classes (the conditioning input's columns); a row of `y` outside them
    is unlabelled and enters with an all-zero label (`one_hot`), so an unlabelled reference
    trains the unconditional model and labelled rows condition it. `space`: the fitted
    `FeaturePreprocessor` of the reference (`genogan.reference.fit_reference_space`), kept as
    the pretrained model's space. `pretrain`: the `reference_cohort.pretrain` settings (a dict,
    validated; its `epochs` of `batch_size` rows), no selection split (the fold's fine-tuning
    selects on its own inner validation rows), the monitor at the last epoch only; checkpoints,
    bit-exact resume and `on_epoch_end` as `train_model`'s.
    """
    logger = logger or logging.getLogger("genogan")
    cfg = training_settings(config)
    epochs, batch_size = astuple(validated("reference_cohort", {"pretrain": dict(
        pretrain or {})}).pretrain)
    cfg = replace(cfg, epochs=int(epochs), batch_size=int(batch_size), monitor_every=int(epochs),
                  early_stopping=replace(cfg.early_stopping, patience=0),
                  selection=replace(cfg.selection, validation_fraction=0.0))
    model_class(model)
    X = np.asarray(X, dtype=np.float64)
    classes = np.unique(np.asarray(classes).astype(str))
    if X.ndim != 2 or len(X) < 2 or len(classes) < 2:
        raise GenoganInputError(f"pretraining needs >= 2 reference rows and the study's >= 2 "
                                f"classes, got {X.shape} rows and classes {classes.tolist()}")
    runtime.make_deterministic(seed)
    y = np.asarray(y).astype(str)
    labelled = int((label_index(y, classes) >= 0).sum())
    run = _Run(X, random_labels_for_unlabelled(y, classes, seed), classes, model, params, seed,
               cfg, checkpoint_dir, logger, space=space)
    logger.info("pretraining %s on %d reference rows (%d with a study label) in a %d-dim space, "
                "batch %d, %d epochs", model, len(X), labelled, run.prep.n_output_, run.batch,
                cfg.epochs)
    t0 = time.perf_counter()
    history, _ = _iterate(run, cfg, on_epoch_end)
    if checkpoint_dir is not None and not cfg.keep_checkpoints:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    info = {"seed": int(seed), "device": runtime.describe_device(), "precision": run.precision,
            "jit_compile": run.jit, "epochs_trained": len(history), "pretrained": True,
            "reference_rows": len(X), "labelled_rows": labelled,
            "n_features_generator": run.prep.n_output_, "batch_size": run.batch,
            "train_seconds_this_run": round(time.perf_counter() - t0, 3),
            "weight_count": run.model.built_weight_count(), "train_config": as_dict(cfg)}
    counts = {str(c): int((run.y_idx == i).sum()) for i, c in enumerate(classes)}
    return TrainedModel(run.model.copy(), run.prep, [str(c) for c in classes], counts,
                        _history_frame(history), info,
                        list(feature_names) if feature_names is not None else None)


def _check_init(init_from, model: str, classes, n_features: int) -> None:
    """A pretrained model can start this training only if it is the same model, for the same
    classes, on the same input features."""
    problems = []
    if init_from.model_name != model:
        problems.append(f"it is a {init_from.model_name}, this training a {model}")
    if [str(c) for c in init_from.classes] != [str(c) for c in classes]:
        problems.append(f"its classes are {list(init_from.classes)}, these {classes.tolist()}")
    if init_from.preprocessor.n_features_ != n_features:
        problems.append(f"it has {init_from.preprocessor.n_features_} input features, these "
                        f"data {n_features}")
    if problems:
        raise GenoganInputError("cannot fine-tune from the pretrained model: " +
                                "; ".join(problems),
                                fix="pretrain the same model on the same features and classes")


def _history_frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for col in MONITOR_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan
    cols = ["epoch"] + [c for c in df.columns if c not in ("epoch", "seconds", *MONITOR_COLUMNS)]
    return df[cols + list(MONITOR_COLUMNS) + ["seconds"]]
