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
