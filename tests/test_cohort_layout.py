"""Validation's scikit-learn-free split layout has exactly make_splits' class counts in every
training and test part (the smallest-class checks depend on nothing else)."""

import numpy as np
import pytest

from genogan.benchmark.splits import make_splits, split_layout


def _counts(splits):
    return (splits.groupby(["repeat", "fold", "role", "condition"]).size()
            .sort_index().to_dict())


@pytest.mark.parametrize("seed", range(12))
def test_layout_counts_equal_stratified_kfold(seed):
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 5))
    folds = int(rng.integers(2, 6))
    sizes = rng.integers(folds, 40, size=n_classes)
    y = rng.permutation(np.repeat([f"c{k}" for k in range(n_classes)], sizes))
    ids = [f"s{i}" for i in range(len(y))]
    expected = make_splits(ids, y, folds, 2, seed)
    layout = split_layout(ids, y, folds, 2)
    assert _counts(layout) == _counts(expected)
    assert len(layout) == len(expected)
