"""Input checks shared by the quality entry points: same features, enough samples, known classes."""

from __future__ import annotations

from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix


def align_features(fm: FeatureMatrix, names: list[str], role: str, path=None) -> FeatureMatrix:
    """`fm` with its columns in the order of `names` (the training features).

    Columns are matched by name, so a synthetic file that stores features in another order is
    still scored correctly; a different feature set is an error, not something to guess about.
    """
    position = {f: i for i, f in enumerate(fm.feature_names)}
    missing = [f for f in names if f not in position]
    extra = sorted(set(position) - set(names))
    if missing or extra:
        raise GenoganInputError(
            f"{role} features differ from the training features (missing {missing[:3]}, "
            f"unexpected {extra[:3]})", path=path,
            fix="score synthetic data generated from the same feature matrix and fold")
    if list(fm.feature_names) == list(names):
        return fm
    order = [position[f] for f in names]
    return FeatureMatrix(fm.X[:, order], fm.y, fm.samples, list(names), fm.extra)


def check_inputs(train: FeatureMatrix, holdout: FeatureMatrix, synthetic: FeatureMatrix,
                 paths: dict | None = None, k: int = 3) -> tuple[FeatureMatrix, FeatureMatrix]:
    """Holdout and synthetic aligned to the training features; rejects unscorable inputs."""
    paths = paths or {}
    names = list(train.feature_names)
    holdout = align_features(holdout, names, "holdout", paths.get("holdout"))
    synthetic = align_features(synthetic, names, "synthetic", paths.get("synthetic"))
    for role, fm in (("train", train), ("holdout", holdout), ("synthetic", synthetic)):
        if len(fm.X) <= k:
            raise GenoganInputError(f"{role} set has {len(fm.X)} samples; the quality metrics "
                                    f"need more than {k}", path=paths.get(role),
                                    fix="use a larger fold or generate more synthetic samples")
    if len(set(train.y)) < 2:
        raise GenoganInputError("the training set has a single class", path=paths.get("train"),
                                fix="use a stratified fold with at least two classes")
    unknown = sorted(set(synthetic.y) - set(train.y))
    if unknown:
        raise GenoganInputError(f"synthetic class(es) {unknown} do not occur in the training set",
                                path=paths.get("synthetic"),
                                fix="generate only the training classes of this fold")
    return holdout, synthetic
