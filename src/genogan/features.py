"""The feature matrix: one parquet of samples x features with labels and sample metadata.

Layout: columns `sample`, `condition`, then one float column per feature. The ordered feature
names are stored in the parquet schema metadata (key `genogan.features`) so readers never have to
guess which columns are features.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from genogan.errors import GenoganInputError
from genogan.io import atomic_path

META_COLUMNS = ("sample", "condition")
FEATURES_KEY = b"genogan.features"


@dataclass
class FeatureMatrix:
    X: np.ndarray  # (n_samples, n_features) float64
    y: np.ndarray  # (n_samples,) class labels (str)
    samples: np.ndarray  # (n_samples,) sample ids (str)
    feature_names: list[str]
    extra: pd.DataFrame | None = None  # other per-sample columns (e.g. synthetic flag, seed)

    def to_frame(self) -> pd.DataFrame:
        meta = pd.DataFrame({"sample": self.samples, "condition": self.y})
        feats = pd.DataFrame(self.X, columns=self.feature_names)
        parts = [meta] + ([self.extra.reset_index(drop=True)] if self.extra is not None else [])
        return pd.concat(parts + [feats], axis=1)


def write_matrix(fm: FeatureMatrix, path) -> None:
    """Write atomically; feature order is kept in the schema metadata."""
    table = pa.Table.from_pandas(fm.to_frame(), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[FEATURES_KEY] = json.dumps(list(fm.feature_names)).encode()
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_matrix(path) -> FeatureMatrix:
    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    df = table.to_pandas()
    if FEATURES_KEY in meta:
        names = json.loads(meta[FEATURES_KEY])
    else:  # a plain table supplied by a user: every column but the metadata is a feature
        names = [c for c in df.columns if c not in META_COLUMNS]
    return frame_to_matrix(df, names, path)


def frame_to_matrix(df: pd.DataFrame, feature_names, path=None) -> FeatureMatrix:
    for col in META_COLUMNS:
        if col not in df.columns:
            raise GenoganInputError(f"feature table lacks the '{col}' column", path=path,
                                    fix="add 'sample' and 'condition' columns")
    X = df[list(feature_names)].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise GenoganInputError(
            f"feature table has {int(bad.sum())} NaN/inf values (first: feature "
            f"'{feature_names[col]}')", path=path, sample=str(df["sample"].iloc[row]),
            fix="impute or drop the missing values before running genogan")
    extra_cols = [c for c in df.columns if c not in META_COLUMNS and c not in set(feature_names)]
    extra = df[extra_cols].reset_index(drop=True) if extra_cols else None
    return FeatureMatrix(X=X, y=df["condition"].astype(str).to_numpy(),
                         samples=df["sample"].astype(str).to_numpy(),
                         feature_names=list(feature_names), extra=extra)


def read_table(path) -> pd.DataFrame:
    """Read a TSV/CSV/parquet table by its extension."""
    path = str(path)
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    sep = "," if path.endswith((".csv", ".csv.gz")) else "\t"
    return pd.read_csv(path, sep=sep)


def table_to_matrix(path, sheet: pd.DataFrame) -> FeatureMatrix:
    """A user-supplied samples x features table (first column `sample`), labelled from the sheet.

    Samples are taken in sheet order; a sheet sample missing from the table, or a label column that
    disagrees with the sheet, is an error (it would silently drop or mislabel a patient).
    """
    table = read_table(path)
    if "sample" not in table.columns:
        table = table.rename(columns={table.columns[0]: "sample"})
    table["sample"] = table["sample"].astype(str)
    if table["sample"].duplicated().any():
        dup = table["sample"][table["sample"].duplicated()].iloc[0]
        raise GenoganInputError("duplicate sample in feature table", path=path, sample=dup,
                                fix="keep one row per sample")
    missing = [s for s in sheet["sample"] if s not in set(table["sample"])]
    if missing:
        raise GenoganInputError("sample listed in the sheet is absent from the feature table",
                                path=path, sample=missing[0],
                                fix="add it or drop it from the sheet")
    table = table.set_index("sample").loc[list(sheet["sample"])]
    if "condition" in table.columns:
        disagree = table["condition"].astype(str).to_numpy() != sheet["condition"].to_numpy()
        if disagree.any():
            raise GenoganInputError("condition in the table disagrees with the sample sheet",
                                    path=path, sample=str(table.index[disagree][0]),
                                    fix="drop the table's condition column or correct it")
        table = table.drop(columns="condition")
    non_numeric = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if non_numeric:
        raise GenoganInputError(f"non-numeric feature column '{non_numeric[0]}'", path=path,
                                fix="features must be numbers; move labels to the sample sheet")
    df = pd.concat([sheet[["sample", "condition"]].reset_index(drop=True),
                    table.reset_index(drop=True)], axis=1)
    return frame_to_matrix(df, [str(c) for c in table.columns], path)


def write_feature_outputs(fm: FeatureMatrix, sheet: pd.DataFrame, matrix_path, names_path,
                          logger=None) -> None:
    """Write a stage's matrix and feature-name list, carrying the sheet's `meta_*` columns."""
    from genogan.io import atomic_write_text

    meta_columns = [c for c in sheet.columns if c.startswith("meta_")]
    if meta_columns:
        fm.extra = sheet[meta_columns].reset_index(drop=True)
    write_matrix(fm, matrix_path)
    atomic_write_text(names_path, "\n".join(fm.feature_names) + "\n")
    if logger:
        labels, counts = np.unique(fm.y, return_counts=True)
        logger.info("matrix: %d samples x %d features, classes %s", *fm.X.shape,
                    dict(zip(labels, counts, strict=True)))
