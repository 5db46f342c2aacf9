"""Feature matrix I/O and user-supplied feature tables."""

import numpy as np
import pandas as pd
import pytest

from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix, read_matrix, table_to_matrix, write_matrix


def sheet(ids=("a", "b", "c"), labels=("x", "y", "x")):
    return pd.DataFrame({"sample": list(ids), "condition": list(labels)})


def test_round_trip_keeps_order_values_and_extra(tmp_path):
    rng = np.random.default_rng(0)
    names = ["TTT", "AAA", "CCG"]  # deliberately not sorted: order must survive
    fm = FeatureMatrix(X=rng.random((4, 3)), y=np.array(["case", "ctrl", "ctrl", "case"]),
                       samples=np.array(["s1", "s2", "s3", "s4"]), feature_names=names,
                       extra=pd.DataFrame({"synthetic": [False, True, True, False]}))
    write_matrix(fm, tmp_path / "m.parquet")
    back = read_matrix(tmp_path / "m.parquet")
    assert back.feature_names == names
    np.testing.assert_array_equal(back.X, fm.X)
    assert list(back.y) == list(fm.y) and list(back.samples) == list(fm.samples)
    assert back.extra["synthetic"].tolist() == [False, True, True, False]
    assert not list(tmp_path.glob("*.tmp*")), "atomic write left a temp file"


def test_table_in_sheet_order_and_labelled(tmp_path):
    path = tmp_path / "t.tsv"
    pd.DataFrame({"id": ["c", "a", "b"], "g1": [3.0, 1.0, 2.0], "g2": [30, 10, 20]}).to_csv(
        path, sep="\t", index=False)
    fm = table_to_matrix(path, sheet())
    assert list(fm.samples) == ["a", "b", "c"] and list(fm.y) == ["x", "y", "x"]
    np.testing.assert_array_equal(fm.X, [[1, 10], [2, 20], [3, 30]])
    assert fm.feature_names == ["g1", "g2"]


@pytest.mark.parametrize("table, message", [
    ({"sample": ["a", "b"], "g": [1.0, 2.0]}, "absent from the feature table"),
    ({"sample": ["a", "b", "c", "c"], "g": [1.0, 2, 3, 4]}, "duplicate sample"),
    ({"sample": ["a", "b", "c"], "g": [1.0, np.nan, 3]}, r"NaN/inf.*sample 'b'"),
    ({"sample": ["a", "b", "c"], "g": ["1", "x", "3"]}, "non-numeric feature column 'g'"),
    ({"sample": ["a", "b", "c"], "condition": ["x", "x", "x"], "g": [1.0, 2, 3]},
     r"disagrees with the sample sheet.*sample 'b'"),
])
def test_bad_tables(tmp_path, table, message):
    path = tmp_path / "t.csv"
    pd.DataFrame(table).to_csv(path, index=False)
    with pytest.raises(GenoganInputError, match=message):
        table_to_matrix(path, sheet())


def test_atomic_outputs_get_umask_permissions(tmp_path):
    import os

    from genogan.io import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "x.txt", "hi")
    finally:
        os.umask(old)
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o644


def test_write_feature_outputs_carries_meta_columns(tmp_path):
    from genogan.features import write_feature_outputs

    fm = FeatureMatrix(X=np.eye(2), y=np.array(["a", "b"]), samples=np.array(["s1", "s2"]),
                       feature_names=["f1", "f2"])
    sheet = pd.DataFrame({"sample": ["s1", "s2"], "condition": ["a", "b"],
                          "meta_batch": ["x", "y"]})
    write_feature_outputs(fm, sheet, tmp_path / "m.parquet", tmp_path / "names.txt")
    back = read_matrix(tmp_path / "m.parquet")
    assert back.extra["meta_batch"].tolist() == ["x", "y"] and back.feature_names == ["f1", "f2"]
    assert (tmp_path / "names.txt").read_text() == "f1\nf2\n"
