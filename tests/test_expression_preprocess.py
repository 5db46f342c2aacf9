"""Expression preprocessing: clip + log2 and log2(x + pseudocount) against hand-computed values,
quantile normalisation against a brute-force oracle, and a leakage trap for its fold fitting."""

import numpy as np
import pandas as pd
import pytest
import yaml

from genogan.errors import GenoganInputError
from genogan.expression import (
    QuantileNormaliser,
    apply_fold_filter,
    apply_fold_normalisation,
    build_expression_matrix,
    check_expression_config,
    clip_values,
    describe_transform,
    fold_settings,
    matrix_options,
    transform_values,
)
from genogan.features import FeatureMatrix
from genogan.validate import validate_config

# MAS5-style signal: negative values and values above the scanner's ceiling
SIGNAL = pd.DataFrame({"A1": [-35.5, 20.0, 160.0, 40000.0], "A2": [12.0, 640.0, 16000.0, 80.0],
                       "A3": [5120.0, -2.0, 20.5, 1280.0]},
                      index=pd.Index(["P1", "P2", "P3", "P4"], name="probe"))
SHEET = pd.DataFrame({"sample": ["A1", "A2", "A3"], "condition": ["ALL", "AML", "ALL"]})


def signal_file(tmp_path):
    path = tmp_path / "signal.tsv"
    path.write_text(SIGNAL.to_csv(sep="\t"))
    return path


# ---- per-sample transforms ----------------------------------------------------------------------
def test_microarray_clip_then_log2_by_hand(tmp_path):
    """floor 20, ceiling 16,000, then log2: 20 = 2^4.3219, 160 = 2^7.3219, 16000 = 2^13.9658."""
    fm = build_expression_matrix(signal_file(tmp_path), SHEET, values="normalised",
                                 transform="log2", pseudocount=0.0,
                                 clip={"floor": 20, "ceiling": 16000})
    log2_20, log2_16000 = 4.321928094887363, 13.965784284662087
    expected = np.array([
        [log2_20, log2_20, 7.321928094887363, log2_16000],       # A1: -35.5 and 40000 clipped
        [log2_20, 9.321928094887363, log2_16000, 6.321928094887363],  # A2: 12 -> 20
        [12.321928094887363, log2_20, 4.357552004618084, 10.321928094887363],  # log2(20.5)
    ])
    np.testing.assert_allclose(fm.X, expected, rtol=0, atol=1e-12)
    assert fm.feature_names == ["P1", "P2", "P3", "P4"]


def test_log2_with_pseudocount_by_hand():
    X = np.array([[0.0, 1.0, 3.0], [7.0, 15.0, 0.5]])
    np.testing.assert_allclose(transform_values(X, "log2", pseudocount=1.0),
                               [[0.0, 1.0, 2.0], [3.0, 4.0, np.log2(1.5)]], atol=1e-15)
    np.testing.assert_allclose(transform_values(X + 0.5, "log2", pseudocount=0.5),
                               [[0.0, 1.0, 2.0], [3.0, 4.0, np.log2(1.5)]], atol=1e-15)


def test_clip_one_side_and_bad_bounds():
    X = np.array([[-1.0, 5.0, 50.0]])
    np.testing.assert_array_equal(clip_values(X, floor=0), [[0.0, 5.0, 50.0]])
    np.testing.assert_array_equal(clip_values(X, ceiling=10), [[-1.0, 5.0, 10.0]])
    np.testing.assert_array_equal(clip_values(X), X)
    with pytest.raises(GenoganInputError, match="clip floor 100 is above the ceiling 10"):
        clip_values(X, 100, 10)


def test_log2_of_negative_signal_without_a_floor_says_how_to_fix(tmp_path):
    with pytest.raises(GenoganInputError, match=r"log2\(x \+ 1\) of a value <= -1 \(-35.5.*"
                       r"sample 'A1'.*expression.clip.floor"):
        build_expression_matrix(signal_file(tmp_path), SHEET, values="normalised",
                                transform="log2")


def test_schema_keys_reach_the_matrix_builder_and_the_config_check(tmp_path):
    path = signal_file(tmp_path)
    config = validate_config({"samples": "s.tsv", "input_type": "expression", "expression": {
        "path": str(path), "values": "normalised", "transform": "log2", "pseudocount": 0,
        "clip": {"floor": 20, "ceiling": 16000}, "normalise": "quantile"}})
    opts = config["expression"]
    assert matrix_options(opts)["clip"] == {"floor": 20, "ceiling": 16000}
    check_expression_config(opts)
    fm = build_expression_matrix(path, SHEET, **matrix_options(opts))
    assert fm.X.min() == pytest.approx(np.log2(20)) and fm.X.max() == pytest.approx(np.log2(16000))
    assert fold_settings(config) == {"method": "variance", "n": 1000, "normalise": "quantile"}
    assert fold_settings({"input_type": "reads"})["normalise"] == "none"
    defaults = validate_config({"samples": "s.tsv"})["expression"]
    assert defaults["clip"] == {"floor": None, "ceiling": None}
    assert (defaults["pseudocount"], defaults["normalise"]) == (1.0, "none")
    with pytest.raises(GenoganInputError, match="clip floor 50 is above the ceiling 5"):
        check_expression_config({**opts, "clip": {"floor": 50, "ceiling": 5}})


def test_the_transform_is_recorded_in_the_provenance_config(tmp_path):
    """rule provenance writes the validated config (yaml.safe_dump of it) as
    results/provenance/config.yaml: every transform setting, defaults filled in, is there."""
    config = validate_config({"samples": "s.tsv", "input_type": "expression", "expression": {
        "path": "m.tsv", "values": "normalised", "transform": "log2", "pseudocount": 0,
        "clip": {"floor": 20, "ceiling": 16000}, "normalise": "quantile"}})
    recorded = yaml.safe_load(yaml.safe_dump(dict(config), sort_keys=False))["expression"]
    assert {k: recorded[k] for k in ("values", "transform", "pseudocount", "clip", "normalise",
                                     "log", "filter")} == {
        "values": "normalised", "transform": "log2", "pseudocount": 0,
        "clip": {"floor": 20, "ceiling": 16000}, "normalise": "quantile", "log": True,
        "filter": {"method": "variance", "n": 1000}}
    assert describe_transform(recorded) == (
        "clip [20, 16000] -> log2(x + 0) -> quantile normalisation (fitted per training part) "
        "-> top 1000 genes by variance (fitted per training part)")
    assert describe_transform({"transform": "cpm"}) == "cpm + log1p"
    assert describe_transform({"transform": "none"}) == "none (values as given)"


# ---- quantile normalisation ---------------------------------------------------------------------
def brute_force_quantile(train: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Textbook algorithm, written out: reference[r] = mean over training samples of their
    r-th smallest value; a value of rank r gets reference[r]; values tied in a sample get the
    mean of the reference over the ranks the tie group occupies."""
    n_genes = train.shape[1]
    reference = [np.mean([sorted(sample)[r] for sample in train]) for r in range(n_genes)]
    out = np.empty_like(rows, dtype=float)
    for i, sample in enumerate(rows):
        order = sorted(range(n_genes), key=lambda g: sample[g])
        for g in range(n_genes):
            tied_ranks = [r for r, h in enumerate(order) if sample[h] == sample[g]]
            out[i, g] = np.mean([reference[r] for r in tied_ranks])
    return out


def test_quantile_normalisation_matches_the_brute_force_oracle_with_ties():
    rng = np.random.default_rng(17)
    train = rng.integers(0, 6, size=(7, 9)).astype(float)  # few distinct values: many ties
    test = rng.integers(0, 6, size=(4, 9)).astype(float)
    fitted = QuantileNormaliser().fit(train)
    np.testing.assert_allclose(fitted.transform(train), brute_force_quantile(train, train),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(fitted.transform(test), brute_force_quantile(train, test),
                               rtol=0, atol=1e-12)


def test_quantile_normalisation_by_hand():
    """Two training samples, no ties: reference = mean of sorted rows = [1.5, 3.5, 5.5]."""
    train = np.array([[3.0, 1.0, 5.0], [2.0, 6.0, 4.0]])
    fitted = QuantileNormaliser().fit(train)
    np.testing.assert_array_equal(fitted.reference_, [1.5, 3.5, 5.5])
    np.testing.assert_array_equal(fitted.transform(train), [[3.5, 1.5, 5.5], [1.5, 5.5, 3.5]])
    # a test sample with a tie at the bottom: ranks 1-2 share (1.5 + 3.5) / 2
    np.testing.assert_array_equal(fitted.transform(np.array([[0.0, 9.0, 0.0]])),
                                  [[2.5, 5.5, 2.5]])
    # continuous data: every sample ends up with exactly the reference distribution
    X = np.random.default_rng(0).lognormal(size=(5, 40))
    normalised = QuantileNormaliser().fit(X).transform(X)
    np.testing.assert_allclose(np.sort(normalised, axis=1), np.tile(np.sort(normalised[0]), (5, 1)))


def fold(n_train=8, n_test=4, genes=12, seed=3):
    rng = np.random.default_rng(seed)
    names = [f"G{i}" for i in range(genes)]
    y = np.array(["a", "b"] * ((n_train + n_test) // 2))
    X = rng.lognormal(size=(n_train + n_test, genes))
    samples = np.array([f"s{i}" for i in range(n_train + n_test)])
    train = FeatureMatrix(X[:n_train], y[:n_train], samples[:n_train], names)
    test = FeatureMatrix(X[n_train:], y[n_train:], samples[n_train:], names)
    return train, test


def test_quantile_reference_never_sees_a_test_sample():
    """Instrumented: make a test sample extreme; the training output (and the other test
    samples) must not move. A reference fitted on train + test would move them all."""
    train, test = fold()
    new_train, new_test = apply_fold_normalisation(train, test, "quantile")
    changed = FeatureMatrix(test.X.copy(), test.y, test.samples, test.feature_names)
    changed.X[0] = changed.X[0] * 1e4 + 1e6
    again_train, again_test = apply_fold_normalisation(train, changed, "quantile")
    np.testing.assert_array_equal(again_train.X, new_train.X)
    np.testing.assert_array_equal(again_test.X[1:], new_test.X[1:])
    # the test sample itself is mapped onto the training reference (its ranks are unchanged)
    np.testing.assert_array_equal(again_test.X[0], new_test.X[0])
    # the trap works: a reference fitted on everything does move the training output
    both = np.vstack([train.X, changed.X])
    leaky = QuantileNormaliser().fit(both).transform(train.X)
    assert not np.allclose(leaky, new_train.X)
    np.testing.assert_allclose(new_train.X, brute_force_quantile(train.X, train.X), atol=1e-12)
    np.testing.assert_allclose(new_test.X, brute_force_quantile(train.X, test.X), atol=1e-12)


def test_fold_filter_normalises_first_then_filters_on_the_training_part():
    train, test = fold(genes=20)
    new_train, new_test = apply_fold_filter(train, test, "variance", 5, normalise="quantile")
    norm_train, norm_test = apply_fold_normalisation(train, test, "quantile")
    keep = np.argsort(-norm_train.X.var(axis=0), kind="stable")[:5]
    mask = np.zeros(20, dtype=bool)
    mask[keep] = True
    assert new_train.feature_names == [n for n, k in zip(train.feature_names, mask, strict=True)
                                       if k]
    np.testing.assert_array_equal(new_test.X, norm_test.X[:, mask])
    full, nothing = apply_fold_filter(train, None, "none", 1, normalise="quantile")  # `full`
    assert nothing is None
    np.testing.assert_allclose(full.X, brute_force_quantile(train.X, train.X), atol=1e-12)
    assert apply_fold_normalisation(train, test, "none") == (train, test)
    with pytest.raises(GenoganInputError, match="unknown normalisation 'loess'"):
        apply_fold_normalisation(train, test, "loess")
