"""Expression matrices: orientation, transforms vs hand computation, bad input, per-fold filter."""

import gzip
import logging

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from genogan import expression
from genogan.errors import GenoganInputError
from genogan.expression import (
    GeneFilter,
    apply_fold_filter,
    build_expression_matrix,
    check_expression_config,
    gene_lengths_file,
    transform_values,
)
from genogan.features import FeatureMatrix

COUNTS = pd.DataFrame({"S1": [10, 0, 5, 85], "S2": [1, 2, 3, 4], "S3": [0, 0, 7, 3]},
                      index=pd.Index(["G1", "G2", "G3", "G4"], name="gene"))
SHEET = pd.DataFrame({"sample": ["S3", "S1", "S2"], "condition": ["case", "control", "case"]})
LENGTHS = pd.Series([1000, 2000, 500, 4000], index=COUNTS.index, name="length")


def genes_x_samples(tmp_path, df=COUNTS, name="counts.tsv", sep="\t"):
    path = tmp_path / name
    path.write_text(df.to_csv(sep=sep))
    return path


def hand_values(df=COUNTS, sheet=SHEET):
    """samples x genes in sheet order, as floats."""
    return df[list(sheet["sample"])].T.to_numpy(dtype=float)


# ---- orientation --------------------------------------------------------------------------------
def test_genes_x_samples_tsv_is_detected(tmp_path):
    fm = build_expression_matrix(genes_x_samples(tmp_path), SHEET, transform="none")
    assert list(fm.samples) == ["S3", "S1", "S2"] and list(fm.y) == ["case", "control", "case"]
    assert fm.feature_names == ["G1", "G2", "G3", "G4"]
    np.testing.assert_array_equal(fm.X, hand_values())


def test_samples_x_genes_csv_is_detected(tmp_path):
    path = genes_x_samples(tmp_path, COUNTS.T.rename_axis("sample"), "counts.csv", sep=",")
    fm = build_expression_matrix(path, SHEET, transform="none")
    assert fm.feature_names == ["G1", "G2", "G3", "G4"]
    np.testing.assert_array_equal(fm.X, hand_values())


def test_configured_orientation_and_parquet(tmp_path):
    path = tmp_path / "m.parquet"
    COUNTS.T.rename_axis("sample").reset_index().to_parquet(path)
    fm = build_expression_matrix(path, SHEET, orientation="samples_x_genes", transform="none")
    np.testing.assert_array_equal(fm.X, hand_values())
    with pytest.raises(GenoganInputError, match="sample listed in the sheet is absent"):
        build_expression_matrix(path, SHEET, orientation="genes_x_samples")


def test_ambiguous_or_unmatched_orientation(tmp_path):
    square = pd.DataFrame(np.ones((3, 3)), index=["S1", "S2", "S3"], columns=["S1", "S2", "S3"])
    with pytest.raises(GenoganInputError, match="both row and column names.*set "
                       "`expression.orientation`"):
        build_expression_matrix(genes_x_samples(tmp_path, square), SHEET)
    other = COUNTS.rename(columns=lambda c: c.lower())
    with pytest.raises(GenoganInputError, match="none of the sheet's sample ids is a row or "
                       "column name"):
        build_expression_matrix(genes_x_samples(tmp_path, other), SHEET)


def test_sheet_sample_absent_from_the_matrix(tmp_path):
    path = genes_x_samples(tmp_path, COUNTS.drop(columns="S2"))
    with pytest.raises(GenoganInputError) as err:
        build_expression_matrix(path, SHEET)
    msg = str(err.value)
    assert "1 sample(s) listed in the sheet are absent from the expression matrix" in msg
    assert "sample 'S2'" in msg and "counts.tsv" in msg and "drop it from the sheet" in msg


def test_annotation_columns_and_extra_samples_are_ignored(tmp_path, caplog):
    df = COUNTS.assign(symbol=["a", "b", "c", "d"], S9=[1, 1, 1, 1])
    with caplog.at_level(logging.INFO, logger="genogan"):
        fm = build_expression_matrix(genes_x_samples(tmp_path, df), SHEET, transform="none")
    np.testing.assert_array_equal(fm.X, hand_values())
    assert "ignored 2 columns not in the sheet: symbol, S9" in caplog.text


def test_featurecounts_comment_and_length_column_give_tpm(tmp_path):
    df = COUNTS.copy()
    df.insert(0, "Length", LENGTHS)
    path = tmp_path / "fc.txt"
    path.write_text("# Program:featureCounts v2.0.6\n" + df.to_csv(sep="\t"))
    fm = build_expression_matrix(path, SHEET, transform="tpm", log=False)
    rate = hand_values() / (LENGTHS.to_numpy() / 1000)
    np.testing.assert_allclose(fm.X, rate / rate.sum(axis=1, keepdims=True) * 1e6)


def test_gct_and_gzipped_tsv(tmp_path):
    gct = tmp_path / "m.gct"
    body = COUNTS.assign(Description="x")[["Description", "S1", "S2", "S3"]]
    gct.write_text("#1.2\n4\t3\n" + body.rename_axis("Name").to_csv(sep="\t"))
    np.testing.assert_array_equal(build_expression_matrix(gct, SHEET, transform="none").X,
                                  hand_values())
    gz = tmp_path / "m.tsv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(COUNTS.to_csv(sep="\t"))
    np.testing.assert_array_equal(build_expression_matrix(gz, SHEET, transform="none").X,
                                  hand_values())


# ---- transforms ---------------------------------------------------------------------------------
def test_transforms_by_hand(tmp_path):
    path = genes_x_samples(tmp_path)
    X = hand_values()  # rows S3, S1, S2; library sizes 10, 100, 10
    assert X.sum(axis=1).tolist() == [10, 100, 10]
    log1p = build_expression_matrix(path, SHEET, transform="log1p").X
    np.testing.assert_allclose(log1p, np.log1p(X))
    cpm = build_expression_matrix(path, SHEET, transform="cpm", log=False).X
    np.testing.assert_allclose(cpm[1], [1e5, 0, 5e4, 8.5e5])  # S1: 10, 0, 5, 85 of 100
    np.testing.assert_allclose(cpm[0], [0, 0, 7e5, 3e5])
    logcpm = build_expression_matrix(path, SHEET, transform="cpm").X
    np.testing.assert_allclose(logcpm, np.log1p(cpm))
    lengths = tmp_path / "lengths.tsv"
    lengths.write_text(LENGTHS.to_csv(sep="\t"))
    tpm = build_expression_matrix(path, SHEET, transform="tpm", log=False,
                                  gene_lengths=str(lengths)).X
    s1 = np.array([10 / 1.0, 0 / 2.0, 5 / 0.5, 85 / 4.0])  # reads per kb
    np.testing.assert_allclose(tpm[1], s1 / s1.sum() * 1e6)
    np.testing.assert_allclose(tpm.sum(axis=1), 1e6)
    np.testing.assert_array_equal(build_expression_matrix(path, SHEET, transform="none").X, X)


def test_transform_errors(tmp_path):
    path = genes_x_samples(tmp_path)
    with pytest.raises(GenoganInputError, match="transform 'tpm' needs gene lengths.*"
                       "expression.gene_lengths"):
        build_expression_matrix(path, SHEET, transform="tpm")
    with pytest.raises(GenoganInputError, match="'nope.tsv' is neither a file nor a column"):
        build_expression_matrix(path, SHEET, transform="tpm", gene_lengths="nope.tsv")
    short = tmp_path / "short.tsv"
    short.write_text(LENGTHS.iloc[:2].to_csv(sep="\t"))
    with pytest.raises(GenoganInputError, match="no length for gene 'G3'"):
        build_expression_matrix(path, SHEET, transform="tpm", gene_lengths=str(short))
    with pytest.raises(GenoganInputError, match="transform 'cpm' needs raw counts"):
        build_expression_matrix(path, SHEET, transform="cpm", values="normalised")
    centred = genes_x_samples(tmp_path, COUNTS - 5, "centred.tsv")
    with pytest.raises(GenoganInputError, match="log1p of negative values.*transform: none"):
        build_expression_matrix(centred, SHEET, transform="log1p", values="normalised")
    empty = genes_x_samples(tmp_path, COUNTS.assign(S2=0), "zero.tsv")
    with pytest.raises(GenoganInputError, match=r"sample has no counts \(cannot compute CPM\).*"
                       "sample 'S2'"):
        build_expression_matrix(empty, SHEET, transform="cpm")
    with pytest.raises(GenoganInputError, match="unknown transform 'vst'"):
        transform_values(np.ones((2, 2)), "vst")


# ---- bad input ----------------------------------------------------------------------------------
def _with_cell(gene, sample, value):
    df = COUNTS.astype(object)
    df.loc[gene, sample] = value
    return df


@pytest.mark.parametrize("df, kwargs, message", [
    (pd.concat([COUNTS, COUNTS.iloc[[1]]]), {}, "duplicate gene id 'G2' in the expression matrix"),
    (_with_cell("G3", "S2", "NA"), {}, "1 missing value(s) in the expression matrix (first: gene "
     "'G3') [sample 'S2'"),
    (_with_cell("G4", "S1", -3), {}, "1 negative count(s) in the expression matrix (first: gene "
     "'G4', value -3) [sample 'S1'"),
    (_with_cell("G1", "S3", "high"), {}, "1 non-numeric value(s) in the expression matrix (first: "
     "gene 'G1', value 'high') [sample 'S3'"),
    (_with_cell("G1", "S3", "inf"), {}, "1 infinite value(s)"),
])
def test_bad_values_name_gene_sample_file_and_fix(tmp_path, df, kwargs, message):
    path = genes_x_samples(tmp_path, df)
    with pytest.raises(GenoganInputError) as err:
        build_expression_matrix(path, SHEET, transform="none", **kwargs)
    assert message in str(err.value)
    assert "counts.tsv" in str(err.value) and "Fix:" in str(err.value)


def test_negative_values_are_fine_when_declared_normalised(tmp_path):
    path = genes_x_samples(tmp_path, _with_cell("G4", "S1", -3))
    fm = build_expression_matrix(path, SHEET, transform="none", values="normalised")
    assert fm.X[1, 3] == -3


def test_duplicates_in_a_header_are_not_renamed_away(tmp_path):
    """pandas would rename a repeated header 'G2' to 'G2.1'; the raw header is checked."""
    path = tmp_path / "sxg.tsv"
    path.write_text("sample\tG1\tG2\tG2\nS1\t1\t2\t3\nS2\t1\t2\t3\nS3\t1\t2\t3\n")
    with pytest.raises(GenoganInputError, match="duplicate gene id 'G2'"):
        build_expression_matrix(path, SHEET)
    path.write_text("gene\tS1\tS2\tS3\tS1\nG1\t1\t2\t3\t4\n")
    with pytest.raises(GenoganInputError, match="duplicate sample id.*sample 'S1'"):
        build_expression_matrix(path, SHEET)


def test_condition_column_must_agree_with_the_sheet(tmp_path):
    df = COUNTS.T.rename_axis("sample").assign(condition=["control", "case", "control"])
    path = genes_x_samples(tmp_path, df, "sxg.tsv")
    with pytest.raises(GenoganInputError, match="condition in the expression matrix disagrees"
                       r".*sample 'S3'"):
        build_expression_matrix(path, SHEET)
    good = genes_x_samples(tmp_path, df.assign(condition=["control", "case", "case"]), "ok.tsv")
    assert build_expression_matrix(good, SHEET).feature_names == ["G1", "G2", "G3", "G4"]


def test_missing_matrix_file(tmp_path):
    with pytest.raises(GenoganInputError, match="expression matrix not found"):
        build_expression_matrix(tmp_path / "nope.tsv", SHEET)


# ---- gene filter --------------------------------------------------------------------------------
def test_variance_filter_keeps_the_top_n_by_variance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 30)) * rng.uniform(0.1, 5, size=30)
    f = GeneFilter("variance", n=5).fit(X)
    assert set(np.flatnonzero(f.get_support())) == set(np.argsort(-X.var(axis=0))[:5])
    np.testing.assert_array_equal(f.transform(X), X[:, f.get_support()])
    assert f.transform(X).shape == (20, 5)


def test_anova_filter_ranks_like_f_oneway_and_t_test():
    rng = np.random.default_rng(1)
    y = np.array(["a"] * 10 + ["b"] * 12)
    X = rng.normal(size=(22, 40))
    X[y == "b", :6] += np.linspace(0.5, 3, 6)
    X[:, 39] = 1.0  # constant: F undefined, ranked last
    f = GeneFilter("anova", n=6).fit(X, y)
    f_scores = np.array([stats.f_oneway(X[y == "a", j], X[y == "b", j]).statistic
                         for j in range(39)])
    t_scores = np.array([stats.ttest_ind(X[y == "a", j], X[y == "b", j]).statistic
                         for j in range(39)])
    np.testing.assert_allclose(f.scores_[:39], f_scores)
    np.testing.assert_allclose(f.scores_[:39], t_scores**2)
    assert set(np.flatnonzero(f.get_support())) == set(np.argsort(-f_scores)[:6])
    assert f.scores_[39] == -np.inf


def test_gene_filter_is_an_sklearn_transformer():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(30, 12)), np.repeat(["a", "b"], 15)
    f = clone(GeneFilter("anova", n=3))
    assert f.get_params() == {"method": "anova", "n": 3}
    pipe = make_pipeline(GeneFilter("variance", n=4), StandardScaler()).fit(X, y)
    assert pipe.transform(X).shape == (30, 4)
    assert GeneFilter("variance", n=100).fit(X).transform(X).shape == (30, 12)  # n > genes


@pytest.mark.parametrize("kwargs, y, message", [
    ({"method": "mad"}, None, "unknown gene filter 'mad'"),
    ({"method": "variance", "n": 0}, None, "gene filter n = 0 must be at least 1"),
    ({"method": "anova"}, None, "needs labels of two or more classes"),
])
def test_gene_filter_bad_parameters(kwargs, y, message):
    with pytest.raises(GenoganInputError, match=message):
        GeneFilter(**kwargs).fit(np.ones((4, 3)), y)


def leaky_fold(seed=0, n_genes=20):
    """Train: gene 0 separates the classes a little. Test: gene 1 separates them perfectly and
    with a huge variance, while it is pure noise in training. A filter that sees the test rows
    picks gene 1; one fitted on the training rows alone picks gene 0."""
    rng = np.random.default_rng(seed)
    y_train, y_test = np.repeat(["case", "control"], 10), np.repeat(["case", "control"], 6)
    train = rng.normal(size=(20, n_genes))
    test = rng.normal(size=(12, n_genes))
    train[:, 0] = 2 * train[:, 0] + np.where(y_train == "case", 4.0, 0.0)
    test[:, 1] = np.where(y_test == "case", 60.0, -60.0)
    names = [f"G{i}" for i in range(n_genes)]

    def fm(X, y, tag):
        return FeatureMatrix(X=X, y=y, samples=np.array([f"{tag}{i}" for i in range(len(y))]),
                             feature_names=names)
    return fm(train, y_train, "tr"), fm(test, y_test, "te")


@pytest.mark.parametrize("method", ["anova", "variance"])
def test_fold_filter_is_fitted_on_training_samples_only(method, monkeypatch):
    train, test = leaky_fold()
    both = np.vstack([train.X, test.X])
    leaky = GeneFilter(method, n=1).fit(both, np.concatenate([train.y, test.y]))
    assert leaky.get_support()[1], "the construction must trap a filter that sees test samples"

    seen = []
    real_fit = GeneFilter.fit

    def recording_fit(self, X, y=None):
        seen.append((np.array(X, copy=True), None if y is None else np.array(y)))
        return real_fit(self, X, y)

    monkeypatch.setattr(GeneFilter, "fit", recording_fit)
    new_train, new_test = apply_fold_filter(train, test, method, 1)
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0][0], train.X)  # exactly the training rows, nothing else
    np.testing.assert_array_equal(seen[0][1], train.y)
    assert not any((seen[0][0] == row).all(axis=1).any() for row in test.X)
    assert new_train.feature_names == new_test.feature_names == ["G0"]
    np.testing.assert_array_equal(new_test.X, test.X[:, [0]])
    np.testing.assert_array_equal(new_train.X, train.X[:, [0]])
    assert list(new_test.samples) == list(test.samples) and list(new_test.y) == list(test.y)


def test_fold_filter_per_cv_fold_matches_a_train_only_fit():
    rng = np.random.default_rng(5)
    y = np.repeat(["case", "control"], 15)
    X = rng.normal(size=(30, 50))
    X[y == "case", :8] += 1.0
    names = [f"G{i}" for i in range(50)]
    samples = np.array([f"s{i}" for i in range(30)])
    for train_idx, test_idx in StratifiedKFold(3, shuffle=True, random_state=0).split(X, y):
        train = FeatureMatrix(X[train_idx], y[train_idx], samples[train_idx], names)
        test = FeatureMatrix(X[test_idx], y[test_idx], samples[test_idx], names)
        new_train, new_test = apply_fold_filter(train, test, "anova", 10)
        expected = GeneFilter("anova", 10).fit(X[train_idx], y[train_idx]).get_support()
        assert new_train.feature_names == [n for n, k in zip(names, expected, strict=True) if k]
        assert new_test.X.shape == (len(test_idx), 10)


def test_fold_filter_none_and_mismatched_genes():
    train, test = leaky_fold()
    assert apply_fold_filter(train, test, "none", 5) == (train, test)
    full, nothing = apply_fold_filter(train, None, "variance", 3)  # the `full` data set
    assert nothing is None and len(full.feature_names) == 3
    test.feature_names = list(reversed(test.feature_names))
    with pytest.raises(GenoganInputError, match="training and test matrices have different genes"):
        apply_fold_filter(train, test, "variance", 5)


def test_expression_module_documents_its_choices():
    assert expression.FILTER_METHODS == ("none", "variance", "anova")
    assert expression.TRANSFORMS == ("none", "log1p", "log2", "cpm", "tpm")
    assert expression.NORMALISE_METHODS == ("none", "quantile")


def test_expression_config_checks(tmp_path):
    with pytest.raises(GenoganInputError, match="needs `expression.path`"):
        check_expression_config({"path": ""}, "cfg.yaml")
    with pytest.raises(GenoganInputError, match="expression matrix not found.*nope.tsv"):
        check_expression_config({"path": str(tmp_path / "nope.tsv")})
    path = genes_x_samples(tmp_path)
    with pytest.raises(GenoganInputError, match="transform 'tpm' needs raw counts"):
        check_expression_config({"path": str(path), "transform": "tpm", "values": "normalised"})
    check_expression_config({"path": str(path), "transform": "cpm", "values": "counts"})
    assert gene_lengths_file({"transform": "tpm", "gene_lengths": str(path)}) == str(path)
    assert gene_lengths_file({"transform": "tpm", "gene_lengths": "Length"}) is None
    assert gene_lengths_file({"transform": "cpm", "gene_lengths": str(path)}) is None
