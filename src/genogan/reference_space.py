"""The reference cohort's space: what pretraining, fine-tuning and the `+ref` arms share.

`fit_reference_space` fits the generators' preprocessing (`genogan.generators.preprocess`) with its
reduced space on reference rows only, so no study row, let alone a test row, shapes it; the
`+ref` arms classify in its scores (`project`). Kept apart from `genogan.reference` (the input
side: sheets, checks, feature builders) so the GAN and benchmark jobs import no input reader.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genogan.features import FeatureMatrix

UNLABELLED = ""  # the condition of a reference row that carries no study label


def fit_reference_space(reference: FeatureMatrix, rank: int, preprocess: dict | None = None):
    """The generators' preprocessing fitted on the reference rows only, reduced to `rank`
    principal components (at most n - 1): the space pretraining and fine-tuning share and the
    `+ref` arms' representation."""
    from genogan.generators.preprocess import FeaturePreprocessor

    opts = {**(preprocess or {}), "rank": int(rank)}
    return FeaturePreprocessor(**opts).fit(reference.X)


def project(fm: FeatureMatrix, space, feature_names) -> FeatureMatrix:
    """A matrix in the reference space (columns `ref_pc1..r`), the `+ref` arms' features.
    `feature_names`: the features the space was fitted on, in order (taken from `fm` by name)."""
    from genogan.features import select_features

    fm = select_features(fm, feature_names, fm.source or None, what="a matrix to project")
    U = (space.transform(fm.X).astype(np.float64) if len(fm.X)  # no labelled reference row
         else np.zeros((0, space.n_output_)))
    names = [f"ref_pc{i + 1}" for i in range(U.shape[1])]
    extra = None if fm.extra is None else fm.extra.copy()
    return FeatureMatrix(X=U, y=fm.y, samples=fm.samples, feature_names=names, extra=extra,
                         source=fm.source)


class ReferenceRepresentation:
    """What the `+ref` arms need: the reference space (and the features it was fitted on) and
    the reference rows that carry a study class (`real+ref`), read from the files rule
    `reference_matrix` writes."""

    def __init__(self, space, feature_names, labelled: FeatureMatrix):
        self.space, self.feature_names, self.labelled = space, list(feature_names), labelled

    def project(self, fm: FeatureMatrix) -> FeatureMatrix:
        return project(fm, self.space, self.feature_names)

    def labelled_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The reference's labelled rows in the reference space, as (X, y)."""
        fm = self.project(self.labelled)
        return fm.X, fm.y

    @classmethod
    def load(cls, space_path, matrix_path) -> ReferenceRepresentation:
        from genogan.features import read_matrix

        names, space = read_space(space_path)
        ref = read_matrix(matrix_path)
        keep = ref.y != UNLABELLED
        labelled = FeatureMatrix(X=ref.X[keep], y=ref.y[keep], samples=ref.samples[keep],
                                 feature_names=ref.feature_names)
        return cls(space, names, labelled)


def write_space(space, feature_names, path) -> None:
    import json

    from genogan.io import atomic_write_text

    atomic_write_text(path, json.dumps({"feature_names": list(feature_names),
                                        "preprocessor": space.to_dict()}))


def read_space(path):
    """(feature names, fitted `FeaturePreprocessor`) of a reference space file."""
    import json

    from genogan.generators.preprocess import FeaturePreprocessor

    data = json.loads(Path(path).read_text())
    return data["feature_names"], FeaturePreprocessor.from_dict(data["preprocessor"])


