"""Bad inputs and faults: each stops with a message naming the file/sample and a fix, early,
and leaves no output that looks finished (issue 16: "nothing silently wrong").

One tiny cohort is reused; package functions and `genogan validate` are called directly (no
Snakemake runs), so the module stays in the default tier.
"""

import logging

import numpy as np
import pytest

from genogan.errors import GenoganInputError

def assert_clear(err: GenoganInputError, *names: str):
    """The message names every given file/sample and carries a fix."""
    text = str(err)
    assert "Fix: " in text, text
    for name in names:
        assert str(name) in text, (name, text)


# ---- GAN: checkpoints, weights, generated samples -----------------------------------------------
TINY = {"latent_dim": 8, "generator_units": [16], "critic_units": [16], "n_critic": 2}
QUICK = {"epochs": 4, "batch_size": 8, "monitor_every": 2, "checkpoint_every": 2}


def gan_data(n=24, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[: n // 2, :3] += 2
    y = np.array(["case"] * (n // 2) + ["control"] * (n - n // 2))
    return X, y


class Killed(Exception):
    pass


def kill_at(epoch):
    def hook(e, row):
        if e == epoch:
            raise Killed(f"killed after epoch {e}")
    return hook


def same_generator(a, b):
    wa, wb = a.gan.generator.get_weights(), b.gan.generator.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, z) for x, z in zip(wa, wb, strict=True))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from genogan.gan import save_trained, train_gan

    X, y = gan_data()
    trained = train_gan(X, y, params=TINY, seed=2, config=QUICK)
    out = tmp_path_factory.mktemp("model")
    save_trained(trained, out)
    return out


def copy_model(model_dir, tmp_path):
    import shutil

    dst = tmp_path / "model"
    shutil.copytree(model_dir, dst)
    return dst


def test_fingerprint_covers_every_setting_that_changes_weights():
    from genogan.gan.store import checkpoint_fingerprint
    from genogan.gan.train import TrainConfig

    X, y = gan_data()
    base = dict(X=X, y=y, model="cwgan_gp", params=TINY, seed=1, train_config=TrainConfig(),
                runtime={"precision": "float32", "jit": False})
    ref = checkpoint_fingerprint(**base)
    changes = {"train_config": [TrainConfig(epochs=299), TrainConfig(batch_size=16),
                                TrainConfig(preprocess={"mode": "none"})],
               "seed": [2], "model": ["vanilla_gan"], "params": [{**TINY, "latent_dim": 9}],
               "runtime": [{"precision": "mixed_float16", "jit": False}],
               "y": [y[::-1]], "X": [X + 1e-12]}
    for key, values in changes.items():
        for value in values:
            assert checkpoint_fingerprint(**{**base, key: value}) != ref, (key, value)
    same = {**base, "train_config": TrainConfig(keep_checkpoints=True)}
    assert checkpoint_fingerprint(**same) == ref  # keeping checkpoints changes no weight


@pytest.mark.slow
def test_checkpoint_for_fewer_epochs_is_not_resumed(tmp_path, caplog):
    """Before: `epochs` was not in the fingerprint; a checkpoint at epoch 4 was 'resumed' by a
    3-epoch run, which returned the 4-epoch generator."""
    from genogan.gan import train_gan

    X, y = gan_data()
    ckpt = tmp_path / "ckpt"
    with pytest.raises(Killed):
        train_gan(X, y, params=TINY, seed=1, config={**QUICK, "epochs": 6}, checkpoint_dir=ckpt,
                  on_epoch_end=kill_at(5))
    cfg = {**QUICK, "epochs": 3}
    with caplog.at_level(logging.WARNING, logger="genogan"):
        resumed = train_gan(X, y, params=TINY, seed=1, config=cfg, checkpoint_dir=ckpt)
    assert "other data or settings" in caplog.text
    assert resumed.info["epochs_trained"] == 3
    fresh = train_gan(X, y, params=TINY, seed=1, config=cfg)
    assert same_generator(resumed, fresh)


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate_data", "truncate_index", "garbage_state"])
def test_corrupt_checkpoint_is_discarded_and_training_restarts(tmp_path, caplog, damage):
    """Before: a truncated checkpoint gave `IndexError: Read less bytes than requested` on every
    rerun until checkpoints/ was deleted by hand."""
    from genogan.gan import train_gan

    X, y = gan_data()
    ckpt = tmp_path / "ckpt"
    with pytest.raises(Killed):
        train_gan(X, y, params=TINY, seed=1, config=QUICK, checkpoint_dir=ckpt,
                  on_epoch_end=kill_at(3))
    if damage == "garbage_state":
        (ckpt / "checkpoint").write_bytes(b"\xff\x00 not a checkpoint state")
    else:
        suffix = ".data-00000-of-00001" if damage == "truncate_data" else ".index"
        target = next(p for p in ckpt.iterdir() if p.name.endswith(suffix))
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    with caplog.at_level(logging.WARNING, logger="genogan"):
        rerun = train_gan(X, y, params=TINY, seed=1, config=QUICK, checkpoint_dir=ckpt)
    assert "training from scratch" in caplog.text
    fresh = train_gan(X, y, params=TINY, seed=1, config=QUICK)
    assert same_generator(rerun, fresh)


def test_truncated_weights_file_names_path_and_fix(model_dir, tmp_path):
    from genogan.gan.pipeline import generate_file

    model = copy_model(model_dir, tmp_path)
    weights = model / "generator.weights.h5"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    out = tmp_path / "out" / "synthetic.parquet"
    with pytest.raises(GenoganInputError, match="weights file cannot be read") as err:
        generate_file(model, out, amount={"mode": "multiple", "value": 1}, seed=1)
    assert_clear(err.value, weights, "rerun rule train_gan")
    assert not out.exists()


def _overwrite_kernel(path, n_bytes=4096):
    """Overwrite the first bytes of the largest weight matrix with 0xFF (float NaN), keeping the
    file's size: the h5 structure stays valid."""
    import h5py

    found = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: found.append((obj.size * obj.dtype.itemsize,
                                                     obj.id.get_offset()))
                     if isinstance(obj, h5py.Dataset) and obj.id.get_offset() else None)
    size, offset = max(found)
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(b"\xff" * min(n_bytes, size))


def test_same_size_weights_corruption_is_detected(model_dir, tmp_path):
    """Before: 4 KiB of 0xFF in a weight matrix made `generate` write all-NaN samples silently."""
    from genogan.gan.pipeline import generate_file

    model = copy_model(model_dir, tmp_path)
    weights = model / "generator.weights.h5"
    size = weights.stat().st_size
    _overwrite_kernel(weights)
    assert weights.stat().st_size == size
    out = tmp_path / "out" / "synthetic.parquet"
    with pytest.raises(GenoganInputError, match="NaN/inf") as err:
        generate_file(model, out, amount={"mode": "multiple", "value": 1}, seed=1)
    assert_clear(err.value, weights)
    assert not out.exists()


def test_corrupt_model_json_names_path(model_dir, tmp_path):
    from genogan.gan import load_trained

    model = copy_model(model_dir, tmp_path)
    (model / "model.json").write_text('{"format_version": 1, "mod')
    with pytest.raises(GenoganInputError, match="not valid JSON") as err:
        load_trained(model)
    assert_clear(err.value, model / "model.json")


def test_generated_samples_checked_finite_and_in_range():
    from genogan.gan.store import SANE_RANGE_FACTOR, check_generated

    good = np.zeros((3, 2))
    check_generated(good, good)
    bad = good.copy()
    bad[1, 0] = np.nan
    with pytest.raises(GenoganInputError, match=r"1 of 3 samples contain NaN/inf.*Fix"):
        check_generated(bad, good, model="cwgan_gp", path="m/generator.weights.h5")
    far = good.copy()
    far[2, 1] = 2 * SANE_RANGE_FACTOR
    with pytest.raises(GenoganInputError, match="training data's range"):
        check_generated(far, good)


# ---- the tiny cohort (a feature table + sheet) and its config -----------------------------------
N_PER_CLASS = 10


def write_cohort(folder, n_case=N_PER_CLASS, n_control=N_PER_CLASS, extra_rows=()):
    """A sheet and a matching samples x features table; returns the config dict."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [(f"case{i}", "case") for i in range(n_case)] + [
        (f"ctrl{i}", "control") for i in range(n_control)] + list(extra_rows)
    (folder / "samples.tsv").write_text(
        "sample\tcondition\n" + "".join(f"{s}\t{c}\n" for s, c in rows))
    rng = np.random.default_rng(0)
    lines = ["sample\tg1\tg2\tg3"] + [f"{s}\t" + "\t".join(f"{v:.4f}" for v in rng.normal(size=3))
                                       for s, _ in rows]
    (folder / "table.tsv").write_text("\n".join(lines) + "\n")
    return {"samples": str(folder / "samples.tsv"), "features_table": str(folder / "table.tsv"),
            "benchmark": {"folds": 2, "repeats": 1}}


def validate(config):
    import copy

    from genogan.config_check import load_workflow_inputs

    return load_workflow_inputs(copy.deepcopy(config), "config.yaml")


@pytest.fixture
def cohort(tmp_path):
    return write_cohort(tmp_path)


def test_tiny_cohort_is_valid(cohort):
    sheet, _ = validate(cohort)
    assert len(sheet) == 2 * N_PER_CLASS


# ---- 1. small classes in any training part, checked at validation --------------------------------
def test_third_class_of_two_rejected_at_validation(tmp_path):
    """Before: passed validation, failed after GAN training (`SMOTE needs at least 2 ...`)."""
    config = write_cohort(tmp_path, extra_rows=[("t0", "third"), ("t1", "third")])
    with pytest.raises(GenoganInputError, match=r"class 'third' .* 1 sample\(s\) in the training "
                       r"part of benchmark data set r0_f\d; .*smote") as err:
        validate(config)
    assert_clear(err.value, "samples.tsv", "add samples of class 'third'")


def test_null_control_permutation_leaving_one_sample_rejected(tmp_path):
    config = write_cohort(tmp_path, 4, 4)
    with pytest.raises(GenoganInputError, match=r"null_r0_f\d") as err:
        validate(config)
    assert_clear(err.value, "samples.tsv", "null_control.enabled: false")


def test_learning_curve_and_imbalance_parts_are_checked(tmp_path):
    config = write_cohort(tmp_path, 5, 12)
    config["benchmark"].update(null_control={"enabled": False},
                               imbalance={"enabled": True, "minority_fractions": [0.25]})
    with pytest.raises(GenoganInputError, match=r"imbalance scenario.*leaves [01], fewer than 2") as err:
        validate(config)
    assert_clear(err.value, "samples.tsv", "minority_fractions")


def test_quality_needs_more_than_k_samples_per_part(tmp_path):
    config = write_cohort(tmp_path, 5, 5)  # 3 folds: one test fold holds 1 + 1 samples
    config["benchmark"].update(folds=3, null_control={"enabled": False})
    with pytest.raises(GenoganInputError, match=r"the test part of benchmark data set r0_f\d has [23] "
                       "samples; the quality stage needs more than 3") as err:
        validate(config)
    assert_clear(err.value, "samples.tsv")


def test_small_cohort_quality_has_every_metric():
    """Before: 4 + 4 samples, 2 folds: `quality` died with `failed: 'fidelity.detection_auc'`
    (classes with <= k training samples were skipped). Now k-NN metrics use fewer neighbours."""
    from genogan.features import FeatureMatrix
    from genogan.quality.evaluate import evaluate_quality

    rng = np.random.default_rng(1)

    def fm(n_per, prefix):
        y = np.repeat(["case", "control"], n_per)
        return FeatureMatrix(rng.normal(size=(len(y), 5)) + (y == "case")[:, None], y,
                             np.array([f"{prefix}{i}" for i in range(len(y))]),
                             [f"g{j}" for j in range(5)])

    train, holdout, synthetic = fm(2, "tr"), fm(2, "ho"), fm(3, "sy")
    summary = evaluate_quality(train, holdout, synthetic, mmd_permutations=10)["summary"]
    values = summary.set_index("metric")["value"]
    for metric in ("fidelity.detection_auc", "fidelity.mmd_pvalue", "privacy.membership_auc",
                   "privacy.dcr_below_holdout_p05", "gate.dropped"):
        assert np.isfinite(values[metric]), metric
    assert summary["interpretation"].str.contains("use k = 1 instead of 3").any()
