"""Groups of samples (the sheet's `group` column: patient, individual, family) and what grouped
splits need of them. numpy and pandas only: read at validation, where the workflow's rule
environments may lack scikit-learn (the splits themselves live in `genogan.benchmark.splits`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genogan.errors import GenoganInputError


def check_group_counts(y, groups, folds: int, path=None) -> None:
    """Grouped folds need, in every class, at least `folds` groups (each fold's test part takes
    whole groups)."""
    frame = pd.DataFrame({"y": np.asarray(y, dtype=str), "group": np.asarray(groups, dtype=str)})
    per_class = frame.groupby("y")["group"].nunique()
    short = per_class[per_class < folds]
    if len(short):
        cls = short.index[0]
        example = frame.loc[frame["y"] == cls, "group"].iloc[0]
        raise GenoganInputError(
            f"class {cls!r} has samples of {int(short.iloc[0])} group(s) (e.g. {example!r}), "
            f"fewer than the {folds} cross-validation folds: grouped folds put whole groups in "
            "each test part", path=path,
            fix="lower benchmark.folds, add samples of other groups (patients), or check the "
            "`group` column")


def matrix_groups(matrix) -> np.ndarray | None:
    """The matrix's `group` column (carried from the sheet), or None."""
    if matrix.extra is None or "group" not in matrix.extra.columns:
        return None
    return matrix.extra["group"].astype(str).to_numpy()
