"""GAN training and generation (TensorFlow on CPU, small networks so the suite stays quick)."""

import json
import logging
import os

import numpy as np
import pandas as pd
import pytest

from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix, read_matrix, write_matrix
from genogan.generators import (
    GeneratorAugmenter,
    generate,
    generate_arrays,
    load_trained,
    mmd_rbf,
    output_paths,
    save_trained,
    train_model,
)
from genogan.generators.gans import VanillaCGAN
from genogan.generators.registry import model_class
from genogan.generators.pipeline import generate_file, train_file

TINY = {
    "cwgan_gp": {"latent_dim": 8, "generator_units": [16], "critic_units": [16], "n_critic": 2},
    "vanilla_gan": {"latent_dim": 8, "generator_units": [16, 16], "discriminator_units": [16]},
}
QUICK = {"epochs": 4, "batch_size": 8, "monitor_every": 2, "checkpoint_every": 2}


def kmer_like(n=40, d=30, seed=0):
    """Compositional rows (k-mer frequencies), two classes with different profiles."""
    rng = np.random.default_rng(seed)
    base = rng.gamma(2.0, size=d)
    shift = np.where(np.arange(d) < d // 3, 3.0, 1.0)
    counts = np.vstack([rng.poisson(base * 20, size=(n // 2, d)),
                        rng.poisson(base * shift * 20, size=(n - n // 2, d))]).astype(float)
    counts[:, -1] = 0.0  # a k-mer never observed
    y = np.array(["case"] * (n // 2) + ["control"] * (n - n // 2))
    return counts / counts.sum(axis=1, keepdims=True), y


def weights(model):
    return [v.numpy() for v in model.weights]


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert len(wa) == len(wb)
    for x, z in zip(wa, wb, strict=True):
        np.testing.assert_array_equal(x, z)


@pytest.fixture(scope="module")
def trained():
    X, y = kmer_like()
    return train_model(X, y, model="cwgan_gp", params=TINY["cwgan_gp"], seed=3, config=QUICK,
                     feature_names=[f"k{i}" for i in range(X.shape[1])])


@pytest.fixture(scope="module")
def model_dir(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("gan") / "cwgan_gp" / "seed3"
    save_trained(trained, out, config={"note": "test"})
    return out


# ---- shapes, dtypes, outputs -------------------------------------------------------------------
def test_history_and_info(trained):
    h = trained.history
    assert list(h["epoch"]) == [1, 2, 3, 4]
    for col in ("critic_loss", "g_loss", "gp", "w_distance", "mmd", "mmd_class",
                "diversity_ratio", "std_ratio", "seconds"):
        assert col in h.columns
    assert np.isfinite(h[["critic_loss", "g_loss", "gp"]].to_numpy()).all()
    monitored = h.dropna(subset=["mmd"])
    assert list(monitored["epoch"]) == [2, 4] and (monitored["mmd"] >= 0).all()
    assert trained.classes == ["case", "control"]
    assert trained.class_counts == {"case": 20, "control": 20}
    assert trained.info["device"] == "no GPU found, training on CPU"
    assert trained.info["precision"] == "float32" and trained.info["jit_compile"] is False


def test_generated_shapes_dtypes_and_compositional_validity(trained):
    X, y = generate_arrays(trained.model, trained.preprocessor, trained.classes,
                           {"case": 7, "control": 5}, seed=11)
    assert X.shape == (12, 30) and X.dtype == np.float64
    assert y.tolist() == ["case"] * 7 + ["control"] * 5
    assert (X >= 0).all()
    np.testing.assert_allclose(X.sum(axis=1), 1.0, rtol=1e-12)
    assert (X[:, -1] == 0).all()
    X2, _ = generate_arrays(trained.model, trained.preprocessor, trained.classes,
                            {"case": 7, "control": 5}, seed=11)
    np.testing.assert_array_equal(X, X2)  # same seed, same samples
    X3, _ = generate_arrays(trained.model, trained.preprocessor, trained.classes,
                            {"case": 7, "control": 5}, seed=12)
    assert not np.array_equal(X, X3)


def test_model_directory_round_trip(trained, model_dir):
    paths = output_paths(model_dir)
    files = [*(p.name for p in paths.values()), "generator.weights.h5", "critic.weights.h5"]
    for name in files:
        assert (model_dir / name).stat().st_size > 0
    assert sorted(f.name for f in model_dir.iterdir()) == sorted(files)
    assert paths["loss"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads(paths["model"].read_text())
    assert meta["model"] == "cwgan_gp" and meta["classes"] == ["case", "control"]
    assert meta["family"] == "adversarial" and meta["networks"] == ["generator", "critic"]
    assert meta["sampling_networks"] == ["generator"]
    assert meta["params"]["critic_units"] == [16] and meta["seed"] == 3
    assert meta["feature_names"][:2] == ["k0", "k1"] and meta["config"] == {"note": "test"}
    hist = pd.read_csv(paths["history"], sep="\t")
    assert list(hist["epoch"]) == [1, 2, 3, 4]
    loaded = load_trained(model_dir, all_networks=True)
    assert_same_weights(loaded.model.generator, trained.model.generator)
    assert_same_weights(loaded.model.critic, trained.model.critic)
    counts = {"case": 3, "control": 4}
    fm = generate(model_dir, counts, seed=5)
    X, y = generate_arrays(trained.model, trained.preprocessor, trained.classes, counts, seed=5)
    np.testing.assert_array_equal(fm.X, X)
    assert fm.y.tolist() == y.tolist()
    assert fm.samples.tolist()[:2] == ["syn_cwgan_gp_5_0", "syn_cwgan_gp_5_1"]
    assert fm.extra["synthetic"].all() and set(fm.extra["model"]) == {"cwgan_gp"}
    assert set(fm.extra["seed"]) == {5} and fm.feature_names[:2] == ["k0", "k1"]


def test_generate_file_sizes_by_amount(model_dir, tmp_path):
    out = tmp_path / "syn.parquet"
    generate_file(model_dir, out, amount={"mode": "multiple", "value": 0.5}, seed=2)
    fm = read_matrix(out)
    assert pd.Series(fm.y).value_counts().to_dict() == {"case": 10, "control": 10}
    assert fm.extra["synthetic"].all() and fm.extra["model"].eq("cwgan_gp").all()
    assert fm.X.shape == (20, 30)
    generate_file(model_dir, out, amount={"mode": "balance", "value": 1}, seed=2)
    assert len(read_matrix(out).y) == 0  # balanced classes need no top-up


def test_pool_from_memory_equals_pool_from_the_written_model(trained, model_dir, tmp_path):
    """train_gan samples the GAN it has just trained instead of reloading it: the file must be
    the one `genogan generate` makes from the written model directory, value for value."""
    amount = {"mode": "multiple", "value": 2}
    from_disk, from_memory = tmp_path / "disk.parquet", tmp_path / "memory.parquet"
    generate_file(model_dir, from_disk, amount=amount, seed=4)
    generate_file(model_dir, from_memory, amount=amount, seed=4, trained=trained)
    a, b = read_matrix(from_disk), read_matrix(from_memory)
    np.testing.assert_array_equal(a.X, b.X)
    assert a.y.tolist() == b.y.tolist() and a.samples.tolist() == b.samples.tolist()
    pd.testing.assert_frame_equal(a.extra, b.extra)
    assert a.feature_names == b.feature_names and len(a.y) == 80


def test_generate_unknown_class(model_dir):
    with pytest.raises(GenoganInputError, match="the model knows: case, control"):
        generate(model_dir, {"flu": 3}, seed=1)


# ---- architecture ----------------------------------------------------------------------------
def describe(model):
    out = []
    for layer in model.layers:
        cfg = layer.get_config()
        kind = type(layer).__name__
        if kind == "Dense":
            out.append(("Dense", cfg["units"], cfg["activation"]))
        elif kind == "LeakyReLU":
            out.append(("LeakyReLU", pytest.approx(cfg["negative_slope"])))
        elif kind == "BatchNormalization":
            out.append(("BatchNormalization", pytest.approx(cfg["momentum"])))
        elif kind == "Activation":
            out.append(("Activation", cfg["activation"]))
    return out


def test_vanilla_gan_layer_stack_matches_issue():
    gan = VanillaCGAN(n_features=30, n_classes=2, seed=0)
    gen = [("Dense", 256, "linear"), ("LeakyReLU", 0.2), ("BatchNormalization", 0.8),
           ("Dense", 512, "linear"), ("LeakyReLU", 0.2), ("BatchNormalization", 0.8),
           ("Dense", 1024, "linear"), ("LeakyReLU", 0.2), ("BatchNormalization", 0.8),
           ("Dense", 30, "linear"), ("Activation", "tanh")]
    disc = [("Dense", 512, "linear"), ("LeakyReLU", 0.2), ("Dense", 256, "linear"),
            ("LeakyReLU", 0.2), ("Dense", 1, "linear"), ("Activation", "sigmoid")]
    assert describe(gan.generator) == gen
    assert describe(gan.critic) == disc
    assert gan.critic_role == "discriminator"
    for opt in (gan.generator_optimizer, gan.critic_optimizer):
        assert float(opt.learning_rate) == pytest.approx(2e-4) and opt.beta_1 == 0.5
    # conditioning: one-hot label concatenated to noise (latent 100) and to the sample
    assert gan.generator.get_layer("condition").output.shape[-1] == 100 + 2
    assert gan.critic.get_layer("condition").output.shape[-1] == 30 + 2


def test_cwgan_gp_uses_paper_settings():
    gan = model_class("cwgan_gp")(n_features=12, n_classes=3, seed=0)
    assert gan.params["n_critic"] == 5 and gan.params["gp_weight"] == 10.0
    assert gan.critic_optimizer.beta_1 == 0.0 and gan.critic_optimizer.beta_2 == 0.9
    # lr 1e-3 instead of the paper's 1e-4: a few tens of samples give one step per epoch
    assert float(gan.critic_optimizer.learning_rate) == pytest.approx(1e-3)
    assert not any(type(layer).__name__ == "BatchNormalization" for layer in gan.critic.layers)
    # projection conditioning: the label only enters through <embed(y), phi(x)>
    assert gan.critic.get_layer("projection") is not None
    concat = model_class("cwgan_gp")(12, 3, {"conditioning": "concat"}, seed=0)
    assert concat.critic.get_layer("condition").output.shape[-1] == 12 + 3


# ---- reproducibility and resume ---------------------------------------------------------------
@pytest.mark.parametrize("model", ["cwgan_gp", "vanilla_gan"])
def test_same_seed_gives_bit_identical_weights(model):
    X, y = kmer_like(24, 20)
    cfg = {**QUICK, "epochs": 3}
    a = train_model(X, y, model=model, params=TINY[model], seed=5, config=cfg)
    b = train_model(X, y, model=model, params=TINY[model], seed=5, config=cfg)
    c = train_model(X, y, model=model, params=TINY[model], seed=6, config=cfg)
    assert_same_weights(a.model.generator, b.model.generator)
    assert_same_weights(a.model.critic, b.model.critic)
    assert not np.array_equal(weights(a.model.generator)[0], weights(c.model.generator)[0])
    pd.testing.assert_frame_equal(a.history.drop(columns="seconds"),
                                  b.history.drop(columns="seconds"))


@pytest.mark.parametrize("model", ["cwgan_gp", "vanilla_gan"])
def test_weights_do_not_depend_on_how_steps_are_grouped_into_graph_calls(model):
    """The loop runs the epochs between two monitor/checkpoint epochs in one graph call: one
    epoch (3 steps) per call and all 6 epochs in one call must train the same weights and log
    the same losses."""
    X, y = kmer_like(24, 20)
    base = {**QUICK, "epochs": 6, "selection": {"validation_fraction": 0.0}}
    each = train_model(X, y, model=model, params=TINY[model], seed=5,
                     config={**base, "monitor_every": 1, "checkpoint_every": 1})
    once = train_model(X, y, model=model, params=TINY[model], seed=5,
                     config={**base, "monitor_every": 6, "checkpoint_every": 6})
    assert each.info["batch_size"] == 8  # 3 steps per epoch
    assert_same_weights(each.model.generator, once.model.generator)
    assert_same_weights(each.model.critic, once.model.critic)
    losses = [c for c in once.history.columns if c.endswith("loss")]
    assert losses
    pd.testing.assert_frame_equal(each.history[losses], once.history[losses])


@pytest.mark.parametrize("model", ["cwgan_gp", "vanilla_gan"])
def test_traced_step_shared_across_trainings_leaks_no_state(model, monkeypatch):
    """Trainings in one process share the traced step of their architecture (train_gan's
    compiled_model cache): a training run after another one of the same shape on other data must
    end bit for bit where it ends in a fresh cache, and an earlier result must not change."""
    from genogan.generators import train as train_module

    X, y = kmer_like(24, 20)
    X_other, y_other = kmer_like(24, 20, seed=7)
    cfg = {**QUICK, "epochs": 3}
    monkeypatch.setattr(train_module, "_COMPILED", {})
    alone = train_model(X, y, model=model, params=TINY[model], seed=5, config=cfg)
    kept = weights(alone.model.generator)
    traced = set(train_module._COMPILED)  # the fit's and the refit's generator widths
    other = train_model(X_other, y_other, model=model, params=TINY[model], seed=6, config=cfg)
    after = train_model(X, y, model=model, params=TINY[model], seed=5, config=cfg)
    assert set(train_module._COMPILED) == traced  # same shapes: no new trace
    assert_same_weights(alone.model.generator, after.model.generator)
    assert_same_weights(alone.model.critic, after.model.critic)
    for w, k in zip(weights(alone.model.generator), kept, strict=True):  # a copy, not the host
        np.testing.assert_array_equal(w, k)
    assert not np.array_equal(weights(other.model.generator)[0], kept[0])
    pd.testing.assert_frame_equal(alone.history.drop(columns="seconds"),
                                  after.history.drop(columns="seconds"))


@pytest.mark.parametrize("model", ["cwgan_gp", "vanilla_gan"])
def test_reinitialise_is_a_fresh_build_of_that_seed(model):
    """The cache's host is re-initialised for each training instead of building a new GAN: after
    training (weights, BatchNorm statistics and optimizer moments all moved), reinitialise(8)
    must equal a GAN built with seed 8, weight for weight and optimizer variable for variable."""
    import tensorflow as tf

    cls = model_class(model)
    host = cls(12, 2, TINY[model], seed=3)
    real = tf.random.stateless_normal((16, 12), seed=[1, 2])
    labels = tf.one_hot(np.arange(16) % 2, 2)
    for step in range(2):
        host.train_step((real, labels, tf.constant([4, step], tf.int64)))
    fresh = cls(12, 2, TINY[model], seed=8)
    assert not np.array_equal(weights(host.generator)[0], weights(fresh.generator)[0])
    host.reinitialise(8)
    assert_same_weights(host.generator, fresh.generator)
    assert_same_weights(host.critic, fresh.critic)
    for mine, theirs in ((host.generator_optimizer, fresh.generator_optimizer),
                         (host.critic_optimizer, fresh.critic_optimizer)):
        for a, b in zip(mine.variables, theirs.variables, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert host.seed == 8


class Killed(Exception):
    pass


def kill_at(epoch):
    def hook(e, row):
        if e == epoch:
            raise Killed(f"killed after epoch {e}")
    return hook


def write_train_set(path, X, y):
    fm = FeatureMatrix(X=X, y=y, samples=np.array([f"s{i}" for i in range(len(y))]),
                       feature_names=[f"k{i}" for i in range(X.shape[1])])
    write_matrix(fm, path)


@pytest.mark.parametrize("model", ["cwgan_gp", "vanilla_gan"])
def test_resume_after_kill_equals_uninterrupted_run(model, tmp_path):
    X, y = kmer_like(32, 20)
    data = tmp_path / "train.parquet"
    write_train_set(data, X, y)
    cfg = {"epochs": 6, "batch_size": 8, "checkpoint_every": 3, "monitor_every": 2,
           model: TINY[model]}
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    train_file(data, straight, gan_cfg=cfg, model=model, seed=9, checkpoint_dir=tmp_path / "c1")
    ckpt = tmp_path / "c2"
    with pytest.raises(Killed):  # dies in epoch 5: after the epoch-3 checkpoint, before the end
        train_file(data, resumed, gan_cfg=cfg, model=model, seed=9, checkpoint_dir=ckpt,
                   on_epoch_end=kill_at(5))
    assert not resumed.exists() or not any(resumed.iterdir())  # no output looks finished
    assert (ckpt / "checkpoint").exists()
    train_file(data, resumed, gan_cfg=cfg, model=model, seed=9, checkpoint_dir=ckpt)
    assert not ckpt.exists()  # checkpoints removed after success
    a = load_trained(straight, all_networks=True)
    b = load_trained(resumed, all_networks=True)
    assert_same_weights(a.model.generator, b.model.generator)
    assert_same_weights(a.model.critic, b.model.critic)
    ha = pd.read_csv(straight / "history.tsv", sep="\t").drop(columns="seconds")
    hb = pd.read_csv(resumed / "history.tsv", sep="\t").drop(columns="seconds")
    pd.testing.assert_frame_equal(ha, hb)


def test_checkpoint_of_other_data_is_not_resumed(tmp_path, caplog):
    X, y = kmer_like(24, 20)
    ckpt = tmp_path / "ckpt"
    cfg = {**QUICK, "epochs": 4, "keep_checkpoints": True}
    with pytest.raises(Killed):
        train_model(X, y, params=TINY["cwgan_gp"], seed=1, config=cfg, checkpoint_dir=ckpt,
                  on_epoch_end=kill_at(3))
    X2 = kmer_like(24, 20, seed=1)[0]
    with caplog.at_level(logging.WARNING, logger="genogan"):
        a = train_model(X2, y, params=TINY["cwgan_gp"], seed=1, config=cfg, checkpoint_dir=ckpt)
    assert "other data or settings" in caplog.text
    b = train_model(X2, y, params=TINY["cwgan_gp"], seed=1, config=cfg)
    assert_same_weights(a.model.generator, b.model.generator)


def test_early_stopping_keeps_best_generator():
    X, y = kmer_like(24, 20)
    cfg = {"epochs": 10, "batch_size": 8, "monitor_every": 1, "checkpoint_every": 5,
           "early_stopping": {"patience": 1, "min_delta": 1e9}}
    es = train_model(X, y, params=TINY["cwgan_gp"], seed=4, config=cfg)
    assert es.info["stopped_early"] and len(es.history) == 2 and es.info["best_epoch"] == 1
    one = train_model(X, y, params=TINY["cwgan_gp"], seed=4,
                    config={**cfg, "epochs": 1, "early_stopping": {"patience": 0}})
    assert_same_weights(es.model.generator, one.model.generator)  # weights after epoch 1


# ---- learning a known distribution -------------------------------------------------------------
def two_gaussians(n, rng, d=20):
    """Class a: N(0, I). Class b: mean 2 in the first 10 dims, pairs of dims correlated 0.8."""
    cov_b = np.eye(d)
    for i in range(0, d, 2):
        cov_b[i, i + 1] = cov_b[i + 1, i] = 0.8
    mean_b = np.where(np.arange(d) < 10, 2.0, 0.0)
    X = np.vstack([rng.multivariate_normal(np.zeros(d), np.eye(d), n),
                   rng.multivariate_normal(mean_b, cov_b, n)])
    return X, np.array(["a"] * n + ["b"] * n), {"a": np.zeros(d), "b": mean_b}


def test_generator_learns_class_conditional_gaussians():
    X, y, means = two_gaussians(200, np.random.default_rng(0))
    params = {"latent_dim": 32, "generator_units": [64, 64], "critic_units": [64, 64],
              "learning_rate": 2e-4}
    cfg = {"epochs": 150, "batch_size": 32, "monitor_every": 50, "checkpoint_every": 1000}
    tr = train_model(X, y, params=params, seed=1, config=cfg)
    untrained = model_class("cwgan_gp")(20, 2, params, seed=2)
    Xr, yr, _ = two_gaussians(500, np.random.default_rng(5))
    n = {"a": 500, "b": 500}
    Xg, yg = generate_arrays(tr.model, tr.preprocessor, tr.classes, n, seed=7)
    Xu, yu = generate_arrays(untrained, tr.preprocessor, tr.classes, n, seed=7)
    for c in ("a", "b"):
        dev = np.abs(Xg[yg == c].mean(axis=0) - means[c])
        assert dev.mean() < 0.3 and dev.max() < 1.0, (c, dev)  # the class means are 2 apart
        trained_mmd = mmd_rbf(Xr[yr == c], Xg[yg == c])
        untrained_mmd = mmd_rbf(Xr[yr == c], Xu[yu == c])
        assert trained_mmd < 0.4 * untrained_mmd, (c, trained_mmd, untrained_mmd)
        assert 0.7 < Xg[yg == c].std(axis=0).mean() < 1.3  # no mode collapse
    # the label steers the generator: class b is shifted by ~2 in its first 10 dims
    gap = Xg[yg == "b"][:, :10].mean() - Xg[yg == "a"][:, :10].mean()
    assert 1.6 < gap < 2.4
    monitored = tr.history.dropna(subset=["mmd"])
    assert monitored["mmd"].iloc[-1] < monitored["mmd"].iloc[0] * 1.5


# ---- wide inputs ---------------------------------------------------------------------------------
WIDE_CHILD = """
import json, resource, sys
import numpy as np
from genogan.generators import generate_arrays, train_model
rng = np.random.default_rng(0)
d = 32_896  # canonical 8-mers
X = rng.gamma(0.5, size=(40, d)) * (rng.random((40, d)) < 0.7)
X[20:, : d // 10] *= 2
X /= X.sum(axis=1, keepdims=True)
y = np.array(["case"] * 20 + ["control"] * 20)
tr = train_model(X, y, seed=1, config={"epochs": 4, "batch_size": 20, "monitor_every": 2,
                                     "checkpoint_every": 10})
Xg, yg = generate_arrays(tr.model, tr.preprocessor, tr.classes, {"case": 50, "control": 50}, 1)
json.dump({"history": tr.history.to_dict(orient="list"),
           "finite": bool(np.isfinite(Xg).all()), "min": float(Xg.min()),
           "row_sum_err": float(np.abs(Xg.sum(axis=1) - 1).max()),
           "params": tr.model.generator.count_params() + tr.model.critic.count_params(),
           "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}, sys.stdout)
"""


def test_wide_input_is_stable_and_memory_bounded():
    """40 samples x 32,896 features (k=8): finite, non-collapsed, valid output, bounded memory.
    Runs in a fresh process so its peak memory is its own."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", WIDE_CHILD], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    h = pd.DataFrame(res["history"])
    assert np.isfinite(h[["critic_loss", "g_loss", "gp", "w_distance"]].to_numpy()).all()
    mon = h.dropna(subset=["mmd"])
    assert len(mon) == 2 and np.isfinite(mon[["mmd", "mmd_class", "std_ratio"]]).all(axis=None)
    assert (mon["diversity_ratio"] > 0.2).all()  # not collapsed
    assert res["finite"] and res["min"] >= 0 and res["row_sum_err"] < 1e-9
    # parameters grow linearly with the width (two d x 256 layers), never d^2
    assert res["params"] < 3 * 256 * 32_896
    # weights + Adam moments are ~0.2 GB here; TensorFlow itself ~1 GB
    assert res["peak_rss_gib"] < 3, f"peak RSS {res['peak_rss_gib']:.2f} GiB"


# ---- mixed precision (on CPU here; the GPU picks it automatically) -----------------------------
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_with_float32_weights_and_outputs(precision):
    X, y = kmer_like(16, 12)
    tr = train_model(X, y, params=TINY["cwgan_gp"], seed=1,
                   config={**QUICK, "epochs": 1, "precision": precision})
    assert tr.info["precision"] == precision
    assert tr.model.generator.get_layer("dense_0").compute_dtype == precision.split("_")[1]
    assert tr.model.generator.get_layer("dense_0").kernel.dtype == "float32"
    scaled = type(tr.model.critic_optimizer).__name__ == "LossScaleOptimizer"
    assert scaled == (precision == "mixed_float16")  # float16 gradients need loss scaling
    assert tr.model.generator.output.dtype == "float32"
    assert np.isfinite(tr.history["critic_loss"]).all()


# ---- bad input ---------------------------------------------------------------------------------
def test_bad_input_errors():
    X, y = kmer_like(16, 12)
    with pytest.raises(GenoganInputError, match="at least 2 classes.*'case'.*condition"):
        train_model(X, np.array(["case"] * 16), config=QUICK)
    bad = X.copy()
    bad[3, 4] = np.nan
    with pytest.raises(GenoganInputError, match="NaN/inf.*row 3, feature column 4"):
        train_model(bad, y, config=QUICK)
    with pytest.raises(GenoganInputError, match="unknown generative model 'stylegan'.*cwgan_gp, "
                                                "vanilla_gan"):
        train_model(X, y, model="stylegan", config=QUICK)
    with pytest.raises(GenoganInputError, match="unknown parameter.*hidden.*critic_units"):
        train_model(X, y, params={"hidden": 3}, config=QUICK)
    with pytest.raises(GenoganInputError, match="unknown key.*epoch_count.*under .gan."):
        train_model(X, y, config={"epoch_count": 3})
    with pytest.raises(GenoganInputError, match="unknown key.*scaling.*under .gan.preprocess"):
        train_model(X, y, config={"preprocess": {"scaling": "robust"}})
    with pytest.raises(GenoganInputError, match="gan.epochs.: 0 is less than the minimum"):
        train_model(X, y, config={"epochs": 0})


# ---- imbalanced-learn sampler API ----------------------------------------------------------------
def test_gan_augmenter_in_imblearn_pipeline():
    from imblearn.pipeline import Pipeline
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    X, y_str = kmer_like(30, 12)
    keep = np.r_[0:6, 15:30]  # 6 cases vs 15 controls
    X, y = X[keep], np.where(y_str[keep] == "case", 1, 0)
    aug = GeneratorAugmenter(params=TINY["cwgan_gp"], seed=2, train={**QUICK, "epochs": 2})
    Xr, yr = clone(aug).fit_resample(X, y)
    assert Xr.shape == (30, 12) and yr.dtype == y.dtype
    np.testing.assert_array_equal(Xr[:21], X)  # real rows first, untouched
    np.testing.assert_array_equal(yr[:21], y)
    assert (yr[21:] == 1).all()  # only the minority class is topped up
    np.testing.assert_allclose(Xr[21:].sum(axis=1), 1.0)
    pipe = Pipeline([("gan", aug), ("clf", LogisticRegression(max_iter=500))]).fit(X, y)
    assert pipe.predict(X).shape == (21,)
    assert pipe.named_steps["gan"].sampling_counts_ == {0: 0, 1: 9}
    # the benchmark's amount forms: "balance", a ratio, or the config dict
    assert GeneratorAugmenter(amount="balance").counts_for(y) == {0: 0, 1: 9}
    assert GeneratorAugmenter(amount=0.5).counts_for(y) == {0: 8, 1: 3}
    assert GeneratorAugmenter(amount={"mode": "absolute", "value": 2}).counts_for(y) == {0: 2, 1: 2}
    # training options may ride along in params (as the benchmark passes them)
    model_params, train = GeneratorAugmenter(params={"epochs": 3, "latent_dim": 4})._split_params()
    assert model_params == {"latent_dim": 4} and train == {"epochs": 3}


# ---- command line ------------------------------------------------------------------------------
def test_cli_train_and_generate(tmp_path):
    from genogan.cli import main

    X, y = kmer_like(20, 10)
    data = tmp_path / "train.parquet"
    write_train_set(data, X, y)
    out = tmp_path / "model"
    rc = main(["train", "--input", str(data), "--out-dir", str(out), "--model", "vanilla_gan",
               "--seed", "4", "--epochs", "2", "--batch-size", "10", "--params",
               json.dumps(TINY["vanilla_gan"]), "--log", str(tmp_path / "train.log")])
    assert rc == 0
    assert json.loads((out / "model.json").read_text())["model"] == "vanilla_gan"
    assert "training on CPU" in (tmp_path / "train.log").read_text()
    assert not (tmp_path / "model.ckpt").exists()
    syn = tmp_path / "syn.parquet"
    rc = main(["generate", "--model-dir", str(out), "--output", str(syn), "--mode", "absolute",
               "--value", "3", "--seed", "8"])
    assert rc == 0
    fm = read_matrix(syn)
    assert fm.y.tolist() == ["case"] * 3 + ["control"] * 3
    assert fm.samples[0] == "syn_vanilla_gan_8_0" and fm.extra["seed"].eq(8).all()
    assert fm.feature_names == [f"k{i}" for i in range(10)]
    assert main(["generate", "--model-dir", str(tmp_path / "nope"), "--output",
                 str(syn)]) == 1
    os.remove(syn)


# ---- the default GAN at n ~ 30, p >> n (issue 13) ---------------------------------------------
def low_rank_two_class(n_per_class=15, p=2000, rank=10, seed=0):
    """Two classes on a `rank`-dimensional subspace of a p-dimensional space, plus small noise:
    latent z ~ N(class mean, I) (means 4 apart along the first latent axis), x = z A + 0.3 e."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(rank, p)) / np.sqrt(rank)
    y = np.array(["a"] * n_per_class + ["b"] * n_per_class)
    z = rng.normal(size=(len(y), rank))
    z[y == "b", 0] += 4.0
    return z @ basis + 0.3 * rng.normal(size=(len(y), p)), y


# default tier: 150 epochs of the default model and training options, ~7 s on one core
def test_default_gan_is_class_aware_and_diverse_on_a_wide_low_rank_cohort():
    """30 samples x 2,000 features of rank 10: label fidelity >= 0.9, k-NN recall >= 0.5, with
    the quality stage's own metric functions, default model and training options."""
    from genogan.quality.distances import fit_scaler, standardise
    from genogan.quality.fidelity import knn_precision_recall
    from genogan.quality.utility import label_fidelity

    X, y = low_rank_two_class()
    tr = train_model(X, y, seed=1)
    Xg, yg = generate_arrays(tr.model, tr.preprocessor, tr.classes, {"a": 60, "b": 60}, seed=2)
    label = label_fidelity(X, y, Xg, yg)
    assert label["accuracy"].mean() >= 0.9, label
    real_z, syn_z = standardise(fit_scaler(X), X, Xg)
    recall = [knn_precision_recall(real_z[y == c], syn_z[yg == c])["recall"] for c in "ab"]
    assert np.mean(recall) >= 0.5, recall
    assert tr.info["best_epoch"] and not tr.info["refit"]  # the epoch selected on the inner split


def test_inner_validation_split_never_contains_test_fold_samples(monkeypatch):
    """Instrumented: every row the selection scores as validation, and every row the reduced
    space is fitted on, is a row of the fold's training part, never one of its test part."""
    import genogan.generators.train as train_module
    from genogan.benchmark.splits import fold_dataset, make_splits
    from genogan.generators.preprocess import FeaturePreprocessor

    X, y = low_rank_two_class(12, 300, 5, seed=3)
    samples = np.array([f"s{i}" for i in range(len(y))])
    matrix = FeatureMatrix(X, y, samples, [f"f{j}" for j in range(X.shape[1])])
    splits = make_splits(samples, y, folds=3, repeats=1, seed=1)
    train, test = fold_dataset(matrix, splits, 0, 0)
    seen = {"validation": [], "fit": []}
    real_run, real_fit = train_module._Run, FeaturePreprocessor.fit

    def spy_run(X, y, *args, validation=None, **kwargs):
        if validation is not None:
            seen["validation"].append(np.asarray(validation[0]))
        return real_run(X, y, *args, validation=validation, **kwargs)

    def spy_fit(self, X):
        seen["fit"].append(np.asarray(X))
        return real_fit(self, X)

    monkeypatch.setattr(train_module, "_Run", spy_run)
    monkeypatch.setattr(FeaturePreprocessor, "fit", spy_fit)
    tr = train_model(train.X, train.y, params=TINY["cwgan_gp"], seed=4, config=QUICK)

    def rows_of(A, B):
        return [bool((np.abs(B - a).max(axis=1) == 0).any()) for a in A]

    assert seen["validation"] and seen["fit"]
    for V in seen["validation"] + seen["fit"]:
        assert all(rows_of(V, train.X)) and not any(rows_of(V, test.X))
    held = seen["validation"][0]
    np.testing.assert_array_equal(held, train.X[tr.info["inner_validation_rows"]])
    fit_rows = seen["fit"][0]  # the selection run's preprocessing never saw the held-back rows
    assert not any(rows_of(held, fit_rows)) and len(fit_rows) + len(held) == len(train.X)


def test_reduced_space_is_fitted_on_the_training_rows_only():
    """The kept model's components are the PCA of the training rows it was fitted on (the
    training part less the held-back selection rows; all of it with `refit`), and would differ
    had the test rows been included (so a leak would show)."""

    X, y = low_rank_two_class(12, 300, 5, seed=5)
    train, test = np.arange(18), np.arange(18, 24)
    for refit in (False, True):
        config = {**QUICK, "selection": {"validation_fraction": 0.2, "refit": refit}}
        tr = train_model(X[train], y[train], params=TINY["cwgan_gp"], seed=1, config=config)
        assert tr.info["refit"] is refit
        fitted_on = (X[train] if refit else
                     np.delete(X[train], tr.info["inner_validation_rows"], axis=0))
        assert len(fitted_on) == (18 if refit else 18 - len(tr.info["inner_validation_rows"]))
        assert_components_of_training_rows_only(tr, fitted_on, X[np.r_[train, test]])


def assert_components_of_training_rows_only(tr, fitted_on, with_test):
    from genogan.generators.preprocess import FeaturePreprocessor

    got = tr.preprocessor.reduced_.components_
    oracle = FeaturePreprocessor().fit(fitted_on).reduced_.components_
    leaky = FeaturePreprocessor().fit(with_test).reduced_.components_
    overlap = np.abs(np.sum(got * oracle, axis=1))  # |cos| of matched components (sign-free)
    np.testing.assert_allclose(overlap, 1.0, atol=1e-8)
    assert np.abs(np.sum(got * leaky[:len(got)], axis=1)).min() < 0.999
