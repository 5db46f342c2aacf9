"""Bad inputs and faults: each stops with a message naming the file/sample and a fix, early,
and leaves no output that looks finished (issue 16: "nothing silently wrong").

One tiny cohort (`write_cohort`, 10 + 10 samples, a feature table) is reused; package functions
and `genogan validate` are called directly, so the default tier runs no Snakemake. The fault tests
(checkpoint corruption, SIGKILL of a real workflow run during GAN training) are `slow`.
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
    wa, wb = a.model.generator.get_weights(), b.model.generator.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, z) for x, z in zip(wa, wb, strict=True))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from genogan.generators import save_trained, train_model

    X, y = gan_data()
    trained = train_model(X, y, params=TINY, seed=2, config=QUICK)
    out = tmp_path_factory.mktemp("model")
    save_trained(trained, out)
    return out


def copy_model(model_dir, tmp_path):
    import shutil

    dst = tmp_path / "model"
    shutil.copytree(model_dir, dst)
    return dst


def test_fingerprint_covers_every_setting_that_changes_weights():
    from genogan.generators.checkpoints import checkpoint_fingerprint
    from genogan.generators.train import training_settings as gan

    X, y = gan_data()
    base = dict(X=X, y=y, model="cwgan_gp", params=TINY, seed=1, train_config=gan({}),
                runtime={"precision": "float32", "jit": False})
    ref = checkpoint_fingerprint(**base)
    changes = {"train_config": [gan({"epochs": 299}), gan({"batch_size": 16}),
                                gan({"preprocess": {"mode": "none"}}),
                                gan({"selection": {"refit": True}})],
               "seed": [2], "model": ["vanilla_gan"], "params": [{**TINY, "latent_dim": 9}],
               "runtime": [{"precision": "mixed_float16", "jit": False}],
               "y": [y[::-1]], "X": [X + 1e-12]}
    for key, values in changes.items():
        for value in values:
            assert checkpoint_fingerprint(**{**base, key: value}) != ref, (key, value)
    same = {**base, "train_config": gan({"keep_checkpoints": True, "amount": {
        "mode": "balance", "value": 2}, "resources": {"mem_mb": 999}})}
    assert checkpoint_fingerprint(**same) == ref  # none of these changes a weight


@pytest.mark.slow
def test_checkpoint_for_fewer_epochs_is_not_resumed(tmp_path, caplog):
    """Before: `epochs` was not in the fingerprint; a checkpoint at epoch 4 was 'resumed' by a
    3-epoch run, which returned the 4-epoch generator."""
    from genogan.generators import train_model

    X, y = gan_data()
    ckpt = tmp_path / "ckpt"
    with pytest.raises(Killed):
        train_model(X, y, params=TINY, seed=1, config={**QUICK, "epochs": 6}, checkpoint_dir=ckpt,
                  on_epoch_end=kill_at(5))
    cfg = {**QUICK, "epochs": 3}
    with caplog.at_level(logging.WARNING, logger="genogan"):
        resumed = train_model(X, y, params=TINY, seed=1, config=cfg, checkpoint_dir=ckpt)
    assert "other data or settings" in caplog.text
    assert resumed.info["epochs_trained"] == 3
    fresh = train_model(X, y, params=TINY, seed=1, config=cfg)
    assert same_generator(resumed, fresh)


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate_data", "truncate_index", "garbage_state"])
def test_corrupt_checkpoint_is_discarded_and_training_restarts(tmp_path, caplog, damage):
    """Before: a truncated checkpoint gave `IndexError: Read less bytes than requested` on every
    rerun until checkpoints/ was deleted by hand."""
    from genogan.generators import train_model

    X, y = gan_data()
    ckpt = tmp_path / "ckpt"
    with pytest.raises(Killed):
        train_model(X, y, params=TINY, seed=1, config=QUICK, checkpoint_dir=ckpt,
                  on_epoch_end=kill_at(3))
    if damage == "garbage_state":
        (ckpt / "checkpoint").write_bytes(b"\xff\x00 not a checkpoint state")
    else:
        suffix = ".data-00000-of-00001" if damage == "truncate_data" else ".index"
        target = next(p for p in ckpt.iterdir() if p.name.endswith(suffix))
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    with caplog.at_level(logging.WARNING, logger="genogan"):
        rerun = train_model(X, y, params=TINY, seed=1, config=QUICK, checkpoint_dir=ckpt)
    assert "training from scratch" in caplog.text
    fresh = train_model(X, y, params=TINY, seed=1, config=QUICK)
    assert same_generator(rerun, fresh)


def test_truncated_weights_file_names_path_and_fix(model_dir, tmp_path):
    from genogan.generators.pipeline import generate_file

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
    from genogan.generators.pipeline import generate_file

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
    from genogan.generators import load_trained

    model = copy_model(model_dir, tmp_path)
    (model / "model.json").write_text('{"format_version": 1, "mod')
    with pytest.raises(GenoganInputError, match="not valid JSON") as err:
        load_trained(model)
    assert_clear(err.value, model / "model.json")


def test_generated_samples_checked_finite_and_in_range():
    from genogan.generators.store import SANE_RANGE_FACTOR, check_generated

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
    # balance:1.5 (the shipped amount): plain `balance` adds nothing to a balanced cohort, which
    # validation stops (no silent no-op)
    return {"samples": str(folder / "samples.tsv"), "features_table": str(folder / "table.tsv"),
            "benchmark": {"folds": 2, "repeats": 1, "amount": "balance:1.5"}}


def validate(config):
    import copy

    from genogan.config_check import load_workflow_inputs

    return load_workflow_inputs(copy.deepcopy(config), "config.yaml")


@pytest.fixture
def cohort(tmp_path):
    return write_cohort(tmp_path)


def test_tiny_cohort_is_valid(cohort):
    sheet, _, _ = validate(cohort)
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
    with pytest.raises(GenoganInputError,
                       match=r"imbalance scenario.*leaves [01], fewer than 2") as err:
        validate(config)
    assert_clear(err.value, "samples.tsv", "minority_fractions")


def test_quality_needs_more_than_k_samples_per_part(tmp_path):
    config = write_cohort(tmp_path, 5, 5)  # 3 folds: one test fold holds 1 + 1 samples
    config["benchmark"].update(folds=3, null_control={"enabled": False})
    with pytest.raises(GenoganInputError, match=r"the test part of benchmark data set r0_f\d has "
                       "[23] samples; the quality stage needs more than 3") as err:
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


# ---- 4. inputs that were misread ---------------------------------------------------------------
def write_fastq(path, n=2):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"@r{i}\nACGTACGT\n+\nIIIIIIII\n" for i in range(n)))
    return path


def reads_sheet(folder, fq1_of=None):
    """Sheet of 10 + 10 read samples; `fq1_of` replaces some samples' fq1 value."""
    rows = ["sample\tcondition\tfq1"]
    for i in range(2 * N_PER_CLASS):
        sid = f"s{i}"
        value = (fq1_of or {}).get(sid) or str(write_fastq(folder / f"{sid}.fq"))
        rows.append(f"{sid}\t{'case' if i % 2 else 'control'}\t{value}")
    (folder / "samples.tsv").write_text("\n".join(rows) + "\n")
    (folder / "ref.fa").write_text(">chr1\nACGTACGTACGT\n")
    return {"samples": str(folder / "samples.tsv"), "reference": str(folder / "ref.fa"),
            "benchmark": {"folds": 2, "repeats": 1, "amount": "balance:1.5"}}


def test_hash_inside_a_path_is_kept(tmp_path):
    """Before: the sheet was read with comment='#', so `run#1/s0.fq` became `run`."""
    fq = write_fastq(tmp_path / "run#1" / "s0.fq")
    sheet, _, _ = validate(reads_sheet(tmp_path, {"s0": str(fq)}))
    assert sheet.loc["s0", "fq1"] == str(fq)


def test_comment_lines_are_still_skipped(tmp_path):
    config = reads_sheet(tmp_path)
    path = tmp_path / "samples.tsv"
    path.write_text("# my cohort\n" + path.read_text())
    assert len(validate(config)[0]) == 2 * N_PER_CLASS


def _loop(folder):
    link = folder / "loop.fq"
    link.symlink_to(link)
    return str(link)


def _broken(folder):
    link = folder / "broken.fq"
    link.symlink_to(folder / "gone.fq")
    return str(link)


def _directory(folder):
    (folder / "reads_dir").mkdir()
    return str(folder / "reads_dir")


@pytest.mark.parametrize("make, message", [
    (_directory, "fq1 file is a directory, not a file"),
    (_loop, "fq1 file is a symbolic link loop"),
    (_broken, "fq1 file is a broken symbolic link"),
    (lambda folder: str(folder / "absent.fq"), "fq1 file does not exist"),
])
def test_unreadable_fq1_says_what_it_is(tmp_path, make, message):
    """Before: a directory or a symlink loop given as fq1 was reported as 'does not exist'."""
    value = make(tmp_path)
    with pytest.raises(GenoganInputError, match=message) as err:
        validate(reads_sheet(tmp_path, {"s3": value}))
    assert_clear(err.value, value, "sample 's3'", "correct the path")


def test_unreadable_permissions(tmp_path):
    import os

    config = reads_sheet(tmp_path)
    fq = tmp_path / "s1.fq"
    fq.chmod(0)
    try:
        if os.access(fq, os.R_OK):
            pytest.skip("running as root: permissions do not stop reading")
        with pytest.raises(GenoganInputError, match="not readable") as err:
            validate(config)
        assert_clear(err.value, fq, "s1")
    finally:
        fq.chmod(0o644)


@pytest.mark.parametrize("sep, name", [(",", "comma"), (";", "semicolon")])
def test_comma_separated_sheet_says_so(tmp_path, sep, name):
    """Before: `unknown column(s) ['sample,condition,fq1,fq2']`."""
    config = reads_sheet(tmp_path)
    path = tmp_path / "samples.tsv"
    path.write_text(path.read_text().replace("\t", sep))
    with pytest.raises(GenoganInputError, match=f"sample sheet is {name}-separated") as err:
        validate(config)
    assert_clear(err.value, path, "save it tab-separated")


def test_class_spelled_in_two_cases_gets_a_hint(tmp_path):
    """Before: `Case` beside `case` were two classes, with no hint."""
    config = write_cohort(tmp_path, extra_rows=[(f"x{i}", "Case") for i in range(3)])
    with pytest.raises(GenoganInputError, match="'Case' and 'case' differ only in upper/lower "
                       "case") as err:
        validate(config)
    assert_clear(err.value, "samples.tsv", "case-sensitive")


def test_sheet_not_utf8(tmp_path):
    config = reads_sheet(tmp_path)
    path = tmp_path / "samples.tsv"
    path.write_bytes(path.read_bytes().replace(b"case", b"c\xe4se"))
    with pytest.raises(GenoganInputError, match="not UTF-8") as err:
        validate(config)
    assert_clear(err.value, path)


def test_empty_sheet(tmp_path):
    config = reads_sheet(tmp_path)
    (tmp_path / "samples.tsv").write_text("# nothing yet\n")
    with pytest.raises(GenoganInputError, match="sample sheet is empty") as err:
        validate(config)
    assert_clear(err.value, "samples.tsv")


# feature tables ---------------------------------------------------------------------------------
def build_features(config, out):
    """What rule feature_matrix does with a table: read sheet + table, write the matrix."""
    from genogan.features import table_to_matrix, write_feature_outputs
    from genogan.validate import read_sample_sheet

    sheet = read_sample_sheet(config["samples"])
    fm = table_to_matrix(config["features_table"], sheet)
    write_feature_outputs(fm, sheet, out / "matrix.parquet", out / "features.txt")
    return fm


def assert_nothing_finished(out):
    left = [p.name for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert all(name.startswith(".") for name in left), left


def test_leading_zero_ids_stay_text(tmp_path):
    """Before: table ids `0000` were parsed as the integer 0 and reported absent."""
    config = write_cohort(tmp_path)
    for name in ("samples.tsv", "table.tsv"):
        path = tmp_path / name
        path.write_text(path.read_text().replace("case0\t", "0000\t").replace("ctrl0\t", "0001\t"))
    fm = build_features(config, tmp_path / "out")
    assert {"0000", "0001"} <= set(fm.samples)


def test_duplicate_feature_column_rejected(tmp_path):
    """Before: the repeat was silently renamed `g1.1`."""
    config = write_cohort(tmp_path)
    path = tmp_path / "table.tsv"
    path.write_text(path.read_text().replace("g3", "g1", 1))
    out = tmp_path / "out"
    with pytest.raises(GenoganInputError, match="repeated column name 'g1'") as err:
        build_features(config, out)
    assert_clear(err.value, path)
    assert_nothing_finished(out)


def test_csv_named_tsv_says_comma_separated(tmp_path):
    """Before: every sample was reported 'absent from the feature table'."""
    config = write_cohort(tmp_path)
    path = tmp_path / "table.tsv"
    path.write_text(path.read_text().replace("\t", ","))
    out = tmp_path / "out"
    with pytest.raises(GenoganInputError, match="comma-separated, but its name says tab") as err:
        build_features(config, out)
    assert_clear(err.value, path, "name it .csv")
    assert_nothing_finished(out)


def test_extra_table_samples_are_logged(tmp_path, caplog):
    """Before: table samples missing from the sheet were dropped without a log line."""
    config = write_cohort(tmp_path)
    path = tmp_path / "table.tsv"
    path.write_text(path.read_text() + "stray1\t1\t2\t3\n")
    with caplog.at_level(logging.WARNING, logger="genogan"):
        fm = build_features(config, tmp_path / "out")
    assert "stray1" not in set(fm.samples)
    assert "1 sample(s) not in the sample sheet are left out: stray1" in caplog.text


@pytest.mark.parametrize("table_id, sheet_id, hint", [
    ("7", "007", "leading zeros differ"),
    ("Case0", "case0", "sample ids are case-sensitive"),
    ("other", "case0", "add it to the table"),
])
def test_absent_sample_gets_a_hint(tmp_path, table_id, sheet_id, hint):
    config = write_cohort(tmp_path)
    for name, new in (("samples.tsv", sheet_id), ("table.tsv", table_id)):
        path = tmp_path / name
        path.write_text(path.read_text().replace("case0\t", f"{new}\t"))
    out = tmp_path / "out"
    with pytest.raises(GenoganInputError, match="absent from the feature table") as err:
        build_features(config, out)
    assert_clear(err.value, "table.tsv", f"sample '{sheet_id}'", hint)
    assert_nothing_finished(out)


@pytest.mark.parametrize("row, message", [
    ("case1\tnan\t1\t2", "NaN/inf"),
    ("case1\tinf\t1\t2", "NaN/inf"),
    ("case1\tabc\t1\t2", "non-numeric feature column"),
])
def test_bad_table_values(tmp_path, row, message):
    config = write_cohort(tmp_path)
    path = tmp_path / "table.tsv"
    lines = [row if line.startswith("case1\t") else line
             for line in path.read_text().splitlines()]
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    with pytest.raises(GenoganInputError, match=message) as err:
        build_features(config, out)
    assert_clear(err.value, path)
    assert_nothing_finished(out)


def test_duplicate_table_sample(tmp_path):
    config = write_cohort(tmp_path)
    path = tmp_path / "table.tsv"
    path.write_text(path.read_text() + "case3\t1\t2\t3\n")
    with pytest.raises(GenoganInputError, match="duplicate sample in feature table") as err:
        build_features(config, tmp_path / "out")
    assert_clear(err.value, path, "sample 'case3'")


def test_missing_table(tmp_path):
    config = write_cohort(tmp_path)
    (tmp_path / "table.tsv").unlink()
    with pytest.raises(GenoganInputError, match="feature table does not exist") as err:
        build_features(config, tmp_path / "out")
    assert_clear(err.value, "table.tsv")


# expression matrices ----------------------------------------------------------------------------
def expression_table(folder, values="counts"):
    rng = np.random.default_rng(0)
    samples = [f"case{i}" for i in range(N_PER_CLASS)] + [f"ctrl{i}" for i in range(N_PER_CLASS)]
    genes = [f"G{j}" for j in range(6)]
    X = rng.poisson(20, size=(len(genes), len(samples))).astype(float)
    lines = ["gene\t" + "\t".join(samples)] + [
        f"{g}\t" + "\t".join(f"{v:g}" for v in row) for g, row in zip(genes, X, strict=True)]
    path = folder / "expr.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


def build_expression(config_dir, path, values="counts"):
    from genogan.expression import build_expression_matrix
    from genogan.validate import read_sample_sheet

    sheet = read_sample_sheet(config_dir / "samples.tsv")
    return build_expression_matrix(path, sheet, values=values, transform="cpm")


def test_non_integer_counts_rejected(tmp_path):
    """Before: non-integer values declared as counts passed silently."""
    write_cohort(tmp_path)
    path = expression_table(tmp_path)
    path.write_text(path.read_text().replace("\t2", "\t2.37", 1))
    with pytest.raises(GenoganInputError, match="non-integer count") as err:
        build_expression(tmp_path, path)
    assert_clear(err.value, path, "expression.values: normalised")


def test_expression_csv_named_tsv(tmp_path):
    write_cohort(tmp_path)
    path = expression_table(tmp_path)
    path.write_text(path.read_text().replace("\t", ","))
    with pytest.raises(GenoganInputError, match="expression matrix is comma-separated") as err:
        build_expression(tmp_path, path)
    assert_clear(err.value, path)


def test_expression_leading_zero_sample_rows(tmp_path):
    config = write_cohort(tmp_path)
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(sheet.read_text().replace("case0\t", "0042\t"))
    path = expression_table(tmp_path)
    rows = [line.split("\t") for line in path.read_text().splitlines()]
    transposed = ["\t".join(col) for col in zip(*rows, strict=True)]  # samples x genes
    path.write_text("\n".join(transposed).replace("case0\t", "0042\t") + "\n")
    fm = build_expression(tmp_path, path)
    assert "0042" in set(fm.samples)
    assert config


# ---- 5. resources that cannot work ---------------------------------------------------------------
def test_k12_fails_at_validation_with_estimate(tmp_path):
    """Before: `k: 12` passed and died in features.write_matrix with an empty MemoryError."""
    config = reads_sheet(tmp_path)
    config["kmers"] = {"k": 12}
    with pytest.raises(GenoganInputError, match=r"kmers.k = 12 gives 8,390,656 canonical k-mer "
                       r"features; .* needs about [\d,]+ MB, more than kmers.mem_mb") as err:
        validate(config)
    assert_clear(err.value, "config.yaml", "use kmers.k <= ")


def test_memory_estimate_matches_measured_peak_order():
    """The estimate's constants come from measured peaks (k = 8/9); it must grow with both
    features and samples and reject only what cannot fit."""
    from genogan.cohort_check import feature_matrix_bytes
    from genogan.kmers import n_canonical

    k8, k9 = feature_matrix_bytes(8, n_canonical(8)), feature_matrix_bytes(8, n_canonical(9))
    assert 200e6 < k8 < 300e6 and 850e6 < k9 < 1100e6  # measured: 238 MB and 891 MB
    assert feature_matrix_bytes(40, n_canonical(8)) > k8


def test_default_k_passes(tmp_path):
    config = reads_sheet(tmp_path)
    config["kmers"] = {"k": 6}
    assert len(validate(config)[0]) == 2 * N_PER_CLASS


def test_feature_table_problems_stop_validation(tmp_path):
    """The table is read at validation (genogan validate / Snakefile parse), not first in the
    feature_matrix job."""
    config = write_cohort(tmp_path)
    path = tmp_path / "table.tsv"
    path.write_text(path.read_text().replace("ctrl4\t", "ctrl_4\t"))
    with pytest.raises(GenoganInputError, match="absent from the feature table") as err:
        validate(config)
    assert_clear(err.value, path, "sample 'ctrl4'")


# alignments -------------------------------------------------------------------------------------
def write_reference(path, seed):
    rng = np.random.default_rng(seed)
    seq = "".join(rng.choice(list("ACGT"), 3000))
    path.write_text(">chr1\n" + "\n".join(seq[i:i + 60] for i in range(0, 3000, 60)) + "\n")
    return seq


def write_alignments(path, reference, seq, mode="wc"):
    """Reads copied from `seq`, written as CRAM ("wc") or BAM ("wb") with pysam."""
    import pysam

    pysam.faidx(str(reference))
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 3000}]}
    with pysam.AlignmentFile(str(path), mode, header=header,
                             reference_filename=str(reference)) as out:
        for i, pos in enumerate(range(0, 2800, 50)):
            read = pysam.AlignedSegment(out.header)
            read.query_name, read.reference_id, read.reference_start = f"r{i}", 0, pos
            read.mapping_quality, read.cigarstring = 60, "100M"
            read.query_sequence = seq[pos:pos + 100]
            read.query_qualities = pysam.qualitystring_to_array("I" * 100)
            out.write(read)
    return path


def test_cram_with_wrong_same_named_reference(tmp_path):
    """Before: a CRAM decoded with another reference of the same names and lengths was reported
    'truncated or corrupt'."""
    from genogan.kmers import count_kmers_bam

    right, wrong = tmp_path / "right.fa", tmp_path / "wrong.fa"
    seq = write_reference(right, 1)
    write_reference(wrong, 2)
    __import__("pysam").faidx(str(wrong))
    cram = write_alignments(tmp_path / "s.cram", right, seq)
    assert count_kmers_bam(cram, 4, reference=right).sum() > 0
    with pytest.raises(GenoganInputError, match="other bases in the reference") as err:
        count_kmers_bam(cram, 4, reference=wrong)
    assert_clear(err.value, cram, "set `reference:` to the FASTA it was aligned to")


def test_truncated_bam(tmp_path):
    from genogan.kmers import count_kmers_bam

    ref = tmp_path / "ref.fa"
    bam = write_alignments(tmp_path / "s.bam", ref, write_reference(ref, 1), mode="wb")
    bam.write_bytes(bam.read_bytes()[: bam.stat().st_size // 2])
    with pytest.raises(GenoganInputError, match="truncated or corrupt|cannot open") as err:
        count_kmers_bam(bam, 4)
    assert_clear(err.value, bam)


# reads ------------------------------------------------------------------------------------------
GOOD_RECORD = "@r{i}\nACGTACGTAC\n+\nIIIIIIIIII\n"


def _fastq(n=4):
    return "".join(GOOD_RECORD.format(i=i) for i in range(n))


@pytest.mark.parametrize("content, message", [
    (_fastq()[:-8], "malformed or truncated FASTQ"),                 # cut inside a record
    (_fastq(2) + "@r9\nACGT\nIIII\n", "malformed or truncated FASTQ"),  # '+' line missing
    (_fastq(2) + "@r9\nACGT\n+\nII\n", "malformed or truncated FASTQ"),  # quality too short
    ("", "empty"),
])
def test_bad_fastq(tmp_path, content, message):
    from genogan.kmers import count_kmers_fastq

    fq = tmp_path / "s.fq"
    fq.write_text(content)
    with pytest.raises(GenoganInputError, match=message) as err:
        count_kmers_fastq(fq, 4)
    assert_clear(err.value, fq)


def test_truncated_gzip_fastq(tmp_path):
    import gzip

    from genogan.kmers import count_kmers_fastq

    fq = tmp_path / "s.fq.gz"
    fq.write_bytes(gzip.compress(_fastq(200).encode())[:-40])
    with pytest.raises(GenoganInputError, match="truncated or corrupt") as err:
        count_kmers_fastq(fq, 4)
    assert_clear(err.value, fq, "gzip -t")


def test_mates_out_of_sync(tmp_path):
    from genogan.kmers import count_kmers_fastq

    r1, r2 = tmp_path / "s_1.fq", tmp_path / "s_2.fq"
    r1.write_text(_fastq(4))
    r2.write_text(_fastq(3))
    with pytest.raises(GenoganInputError) as err:
        count_kmers_fastq([r1, r2], 4)
    assert "Fix: " in str(err.value) and ("s_1.fq" in str(err.value) or "s_2.fq" in str(err.value))


@pytest.mark.parametrize("edit, message", [
    (lambda rows: rows + [rows[1]], "duplicate sample id"),
    (lambda rows: [rows[0], rows[1].replace("s0\t", "s 0\t", 1)] + rows[2:], "invalid sample id"),
    (lambda rows: [rows[0], rows[1].replace("\tcontrol\t", "\t\t", 1)] + rows[2:],
     "empty condition"),
    (lambda rows: [rows[0] + "\tbatch"] + [r + "\t1" for r in rows[1:]], "unknown column"),
])
def test_bad_sheet_rows(tmp_path, edit, message):
    config = reads_sheet(tmp_path)
    path = tmp_path / "samples.tsv"
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    with pytest.raises(GenoganInputError, match=message) as err:
        validate(config)
    assert_clear(err.value, path)


def test_single_class(tmp_path):
    config = write_cohort(tmp_path, n_control=0)
    with pytest.raises(GenoganInputError, match="only one class") as err:
        validate(config)
    assert_clear(err.value, "samples.tsv")


def test_class_smaller_than_folds(tmp_path):
    config = write_cohort(tmp_path, 10, 2)
    config["benchmark"]["folds"] = 3
    with pytest.raises(GenoganInputError, match="fewer than the 3 cross-validation folds") as err:
        validate(config)
    assert_clear(err.value, "samples.tsv", "benchmark.folds")


# reference --------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda folder: str(folder / "absent.fa"), "reference FASTA does not exist"),
    (lambda folder: str(folder), "reference FASTA is a directory"),
    (lambda folder: "", "reads or alignments need a reference genome"),
])
def test_bad_reference(tmp_path, make, message):
    config = reads_sheet(tmp_path)
    config["reference"] = make(tmp_path)
    with pytest.raises(GenoganInputError, match=message) as err:
        validate(config)
    assert "Fix: " in str(err.value) and "reference" in str(err.value)


# FASTA (sequence input) -------------------------------------------------------------------------
@pytest.mark.parametrize("content, message", [
    ("", "FASTA file is empty"),
    ("ACGT\n>x\nACGT\n", "does not start with a '>' header"),
    (">a\nACGT\n>\nACGT\n", "empty header"),
    (">a\nACGT\n>b\n>c\nACGT\n", "'b' has no sequence"),
    ("@r\nACGT\n+\nIIII\n", "not a FASTA file"),
])
def test_bad_fasta(tmp_path, content, message):
    from genogan.sequences import read_fasta

    fa = tmp_path / "seqs.fa"
    fa.write_text(content)
    with pytest.raises(GenoganInputError, match=message) as err:
        read_fasta(fa)
    assert_clear(err.value, fa)


# config -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, message", [
    ({"kmers": {"k": 13}}, "key 'kmers.k': 13 is greater than the maximum of 12"),
    ({"kmerz": {}}, "unknown key(s) ['kmerz']"),
    ({"benchmark": {"folds": 1}}, "key 'benchmark.folds'"),
    ({"samples": "nope.tsv"}, "sample sheet not found"),
])
def test_bad_config_values(tmp_path, change, message):
    config = {**write_cohort(tmp_path), **change}
    with pytest.raises(GenoganInputError) as err:
        validate(config)
    assert message in str(err.value) and "Fix: " in str(err.value)


def test_genogan_validate_cli_exit_status(tmp_path):
    """`genogan validate` runs the same checks: exit status 1 and one line naming file + fix."""
    import subprocess
    import sys

    import yaml

    config = write_cohort(tmp_path, extra_rows=[("t0", "third"), ("t1", "third")])
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(config))
    cli = [sys.executable, "-m", "genogan.cli", "validate", "--configfile", str(path)]
    proc = subprocess.run(cli, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode != 0, proc.stdout
    assert "class 'third'" in proc.stderr and "Fix: " in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    config = write_cohort(tmp_path)
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run(cli, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("OK: 20 samples"), proc.stderr


def test_yaml_syntax_error(tmp_path):
    from genogan.config_check import read_config_file

    path = tmp_path / "my.yaml"
    path.write_text("samples: s.tsv\nkmers:\n  k: 6\n   source: reads\n")
    with pytest.raises(GenoganInputError, match="YAML syntax error at line") as err:
        read_config_file(path)
    assert_clear(err.value, path)


# ---- fault test: SIGKILL during GAN training, unlock, rerun --------------------------------------
def _fault_workdir(folder):
    """An imbalanced table cohort (8 cases, 16 controls): `amount: balance` really adds synthetic
    cases, so identical aggregates after resume show the resumed GAN's samples are identical."""
    import yaml

    config = write_cohort(folder, 8, 16)
    config.update({
        "demo": {"enabled": False},
        "benchmark": {"folds": 2, "repeats": 1, "classifiers": ["logreg"],
                      "main_classifier": "logreg", "arms": ["none", "cwgan_gp"],
                      "generator_seeds": [1], "quality_baselines": [], "amount": "balance",
                      **{k: {"enabled": False} for k in ("dose_response", "learning_curve",
                                                         "imbalance", "null_control",
                                                         "leaky_control")}},
        "gan": {"epochs": 600, "batch_size": 8, "checkpoint_every": 20, "monitor_every": 100,
                "amount": {"mode": "multiple", "value": 2},
                "cwgan_gp": {"generator_units": [16], "critic_units": [16], "latent_dim": 8}},
        "quality": {"detection_folds": 2, "mmd_permutations": 10}})
    path = folder / "fault.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _snakemake(workdir, config, *args):
    import os
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    bin_dir = Path(sys.executable).parent
    cmd = [str(bin_dir / "snakemake"), "-s", str(root / "Snakefile"), "--directory",
           str(workdir), "--configfile", str(config), "--cores", "2",
           "results/benchmark/aggregate.tsv", *args]
    return cmd, {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def _synthetic_pools(workdir):
    results = workdir / "results"
    return sorted(p for p in results.rglob("*.parquet") if "synthetic" in str(p.relative_to(
        results))) if results.exists() else []


def _table(workdir, name="aggregate"):
    import pandas as pd

    table = pd.read_csv(workdir / f"results/benchmark/{name}.tsv", sep="\t")
    return table[[c for c in table.columns if "second" not in c and "time" not in c]]


@pytest.mark.slow
def test_sigkill_during_gan_training_then_unlock_and_rerun_is_identical(tmp_path):
    import os
    import signal
    import subprocess
    import time

    import pandas as pd

    straight, killed = tmp_path / "straight", tmp_path / "killed"
    for folder in (straight, killed):
        folder.mkdir()
    cmd, env = _snakemake(straight, _fault_workdir(straight))
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=1800)

    cmd, env = _snakemake(killed, _fault_workdir(killed))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 1500
    while not list((killed / "checkpoints").rglob("checkpoint")):
        assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint was written"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and its training job, as `kill -9` would
    proc.wait()
    assert not (killed / "results/benchmark/aggregate.tsv").exists()
    assert not _synthetic_pools(killed)  # nothing that looks finished

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    assert rerun.returncode != 0 and "--unlock" in rerun.stdout + rerun.stderr  # as README says
    subprocess.run(cmd + ["--unlock"], env=env, check=True, capture_output=True, timeout=300)
    done = subprocess.run(cmd + ["--rerun-incomplete"], env=env, capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stderr[-4000:]
    logs = "".join(p.read_text() for p in (killed / "logs").rglob("*.log"))
    assert "resumed from checkpoint" in logs
    for name in ("aggregate", "per_fold"):
        pd.testing.assert_frame_equal(_table(straight, name), _table(killed, name))
    per_fold = _table(killed, "per_fold")
    assert (per_fold.loc[per_fold["arm"] == "cwgan_gp", "n_train_synthetic"] > 0).all()
    pools = _synthetic_pools(killed)
    assert pools and [p.relative_to(killed) for p in pools] == [
        p.relative_to(straight) for p in _synthetic_pools(straight)]
    for a, b in zip(_synthetic_pools(straight), pools, strict=True):  # bit-identical pools
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    assert (pd.read_parquet(pools[0])["condition"] == "case").sum() > 0  # cases really made


def test_gan_layers_without_reduced_space_checked_at_validation(tmp_path):
    """With `gan.preprocess.rank: null` the outer layers have one unit per feature: a default
    vanilla GAN on 32,896 canonical 8-mers does not fit 500 MB."""
    config = reads_sheet(tmp_path)
    config["kmers"] = {"k": 8}
    config["benchmark"].update(arms=["none", "vanilla_gan"])
    config["gan"] = {"preprocess": {"mode": "auto", "rank": None}, "resources": {"mem_mb": 500}}
    with pytest.raises(GenoganInputError, match=r"vanilla_gan on 32,896 features .* weights: "
                       r"about [\d,]+ MB to train, more than gan.resources.mem_mb = 500") as err:
        validate(config)
    assert_clear(err.value, "config.yaml", "gan.preprocess.rank: auto")
    config["gan"]["preprocess"]["rank"] = "auto"  # the default reduced space: layers ~ rank
    assert len(validate(config)[0]) == 2 * N_PER_CLASS
    # oracle: generator (1 noise + 1 class) -> 3 -> 1, critic (1 feature + 1 class) -> 2 -> 1
    from genogan.generators.registry import model_class

    tiny = {"latent_dim": 1, "generator_units": [3], "critic_units": [2],
            "conditioning": "concat"}
    assert model_class("cwgan_gp").weight_count(1, 1, tiny) == (2 * 3 + 3) + (3 * 1 + 1) + \
        (2 * 2 + 2) + (2 * 1 + 1)
