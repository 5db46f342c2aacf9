"""A reference cohort: more samples of the study's kind that generators may learn from.

Why: a generator fitted on a fold's few labelled samples cannot add information the classifier
lacks (Zheng et al. 2023); the published gains come from generators that first learned from a
larger cohort of the same assay. A reference cohort (public or unlabelled samples, or samples
labelled for another question) is read through exactly the study's feature path (the same
builder and options), matched to the study's features by name, and checked to hold no study
sample, ever:

- at validation (`check_disjoint_from_study`): the same sample id, or the same input file (by
  SHA-256, so a copy under another name is caught too);
- at the feature stage (`check_near_duplicates`): a reference feature vector nearer a study
  sample than the `near_duplicate_percentile`-th percentile of the study's own nearest-neighbour
  distances (the same sample re-quantified, or a technical replicate).

The reference then gives the space generators pretrain in and the representation the `+ref`
arms classify in (`genogan.reference_space`, kept apart so the GAN and benchmark jobs need none
of the input readers). Labels: a `condition` that is one of the study's classes conditions the
pretraining and feeds the `real+ref` ceiling; absent, empty or another label means unlabelled
(`UNLABELLED`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix
from genogan.reference_space import UNLABELLED, fit_reference_space  # noqa: F401 (API)

FIX_OVERLAP = ("remove the sample from the reference sheet (`reference_cohort.samples`): a "
               "reference cohort must never contain a study sample")


# ---- the sheet --------------------------------------------------------------------------------
def read_reference_sheet(path, *, needs_files: bool, base_dir=".",
                         check_files: bool = True) -> pd.DataFrame:
    """The reference sheet, indexed by sample: `condition` filled with `UNLABELLED` where absent
    or empty, `input_kind` per row (reads input: one file column per sample, as the study's)."""
    from genogan.validate import (
        FILE_COLUMNS,
        check_sheet_files,
        check_sample_ids,
        input_kind,
        read_sample_sheet,
    )

    sheet = read_sample_sheet(path)
    known = {"sample", "condition", *FILE_COLUMNS}
    unknown = [c for c in sheet.columns if c not in known and not c.startswith("meta_")]
    if "sample" not in sheet.columns or unknown or sheet.empty:
        raise GenoganInputError(
            "the reference sheet needs a `sample` column and rows"
            + (f"; unknown column(s) {unknown}" if unknown else ""), path=path,
            fix=f"use {sorted(known)} (condition optional), or prefix metadata with 'meta_'")
    if "condition" not in sheet.columns:
        sheet["condition"] = UNLABELLED
    check_sample_ids(sheet, path)
    sheet["input_kind"] = [input_kind(row, path, allow_none=not needs_files)
                           for _, row in sheet.iterrows()]
    if check_files:
        check_sheet_files(sheet, Path(base_dir), what="reference ")
    return sheet.set_index("sample", drop=False)


def study_labels(conditions, classes) -> np.ndarray:
    """The reference's labels as the study reads them: a study class, else `UNLABELLED`."""
    classes = {str(c) for c in classes}
    return np.array([c if c in classes else UNLABELLED for c in map(str, conditions)],
                    dtype=object).astype(str)


# ---- no study sample in the reference ------------------------------------------------------------
def check_disjoint_from_study(study: pd.DataFrame, reference: pd.DataFrame, *, study_path,
                              reference_path, base_dir=".", check_files: bool = True) -> None:
    """Stop when the reference shares a sample id or an input file (same SHA-256) with the
    study."""
    shared = sorted(set(study["sample"]) & set(reference["sample"]))
    if shared:
        raise GenoganInputError(
            f"sample id {shared[0]!r} is in both the study sheet ({study_path}) and the "
            f"reference cohort ({len(shared)} shared id(s))", path=reference_path,
            sample=shared[0], fix=FIX_OVERLAP)
    if not check_files:
        return
    study_files, ref_files = _input_files(study, base_dir), _input_files(reference, base_dir)
    # equal contents have equal sizes: only files whose size the other sheet also has are
    # hashed (at parse time, a cohort's FASTQs would otherwise be read in full at every start)
    sizes = {p.stat().st_size for _, _, p in study_files} & {
        p.stat().st_size for _, _, p in ref_files}
    study_digests = _digests(study_files, sizes)
    for digest, (ref_sample, ref_file) in _digests(ref_files, sizes).items():
        if digest in study_digests:
            sample, file = study_digests[digest]
            raise GenoganInputError(
                f"reference sample {ref_sample!r} reads the same file as study sample "
                f"{sample!r} ({ref_file} has the contents of {file})", path=reference_path,
                sample=ref_sample, fix=FIX_OVERLAP)


def _input_files(sheet: pd.DataFrame, base_dir) -> list[tuple[str, str, Path]]:
    """(sample, file as written, path) of every existing input file a sheet names."""
    from genogan.validate import FILE_COLUMNS

    return [(row["sample"], str(row[col]), Path(base_dir) / row[col])
            for _, row in sheet.iterrows() for col in FILE_COLUMNS
            if row.get(col, "") and (Path(base_dir) / row[col]).is_file()]


def _digests(files, sizes) -> dict[str, tuple[str, str]]:
    """SHA-256 -> (sample, file) of the files whose size is in `sizes` (first one per digest)."""
    from genogan.provenance import sha256

    out: dict[str, tuple[str, str]] = {}
    for sample, value, path in files:
        if path.stat().st_size in sizes:
            out.setdefault(sha256(path), (sample, value))
    return out


def nearest_study_neighbours(study_X, ref_X, percentile: float,
                             fraction: float = 0.5) -> pd.DataFrame:
    """Reference rows nearer a study sample than `fraction` x the `percentile`-th percentile of
    the study's own nearest-neighbour distances (features standardised by the study's mean and
    SD).

    Why the fraction: a reference of the study's own population puts about `percentile` % of its
    rows below the percentile itself (1,000 rows: ~10 genuine samples flagged); a re-quantified
    sample or a technical replicate sits far closer. Measured on a 30-feature simulation (40
    study, 300 reference rows): the nearest genuine reference row at 0.98 x the study's 1st
    percentile, study samples re-measured with noise SD 0.3 (standardised units) at 0.36-0.48 x.

    Returns one row per such reference row: `reference` and `study` (row indices), `distance`
    and the `threshold` it fell below (empty: none)."""
    from sklearn.neighbors import NearestNeighbors

    study_X, ref_X = np.asarray(study_X, np.float64), np.asarray(ref_X, np.float64)
    mean, sd = study_X.mean(axis=0), study_X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    S, R = (study_X - mean) / sd, (ref_X - mean) / sd
    nn = NearestNeighbors(n_neighbors=min(2, len(S))).fit(S)
    own = nn.kneighbors(S)[0][:, -1]  # the nearest *other* study sample
    threshold = float(fraction * np.percentile(own, percentile))
    dist, idx = nn.kneighbors(R, n_neighbors=1)
    close = np.flatnonzero(dist[:, 0] <= threshold)
    return pd.DataFrame({"reference": close, "study": idx[close, 0],
                         "distance": dist[close, 0], "threshold": threshold})


def check_near_duplicates(study: FeatureMatrix, reference: FeatureMatrix, percentile: float,
                          fraction: float = 0.5, path=None) -> None:
    """Stop when a reference sample is (near-)identical to a study sample (`nearest_study_
    neighbours`), naming both."""
    close = nearest_study_neighbours(study.X, reference.X, percentile, fraction)
    if len(close):
        first = close.sort_values("distance").iloc[0]
        ref_id = str(reference.samples[int(first["reference"])])
        study_id = str(study.samples[int(first["study"])])
        raise GenoganInputError(
            f"reference sample {ref_id!r} is a near-duplicate of study sample {study_id!r}: "
            f"distance {first['distance']:.4g}, below {fraction:g} x the study's own "
            f"nearest-neighbour distances' percentile {percentile:g} ({first['threshold']:.4g}); "
            f"{len(close)} such reference sample(s)", path=path, sample=ref_id,
            fix=FIX_OVERLAP + " (or lower `reference_cohort.near_duplicate_fraction` if they "
            "are truly different samples)")


# ---- features --------------------------------------------------------------------------------
def match_features(reference: FeatureMatrix, study_names, path=None,
                   logger: logging.Logger | None = None) -> FeatureMatrix:
    """The reference with exactly the study's features, in the study's order: a study feature
    the reference lacks is an error naming it; reference-only features are dropped (logged)."""
    from genogan.features import select_features

    names = list(study_names)
    have = set(reference.feature_names)
    missing = [f for f in names if f not in have]
    if missing:
        raise GenoganInputError(
            f"the reference cohort has no feature {missing[0]!r} ({len(missing)} of the "
            f"study's {len(names)} features are missing)", path=path,
            fix="build the reference with the same features (same genes / k / alphabet), or "
            "drop those features from the study")
    extra = len(have) - len(names)
    if extra:
        (logger or logging.getLogger("genogan")).info(
            "reference cohort: %d feature(s) not in the study dropped", extra)
    return select_features(reference, names, path, what="the reference cohort")


# ---- the feature stage -----------------------------------------------------------------------
def cohort_matrix(sheet: pd.DataFrame, *, input_type: str, options: dict, path: str = "",
                  count_files=(), logger: logging.Logger | None = None) -> FeatureMatrix:
    """A cohort's feature matrix through the study's own builder and options (`options`: the
    config section of the input type; `path`: the matrix / table / multi-FASTA; `count_files`:
    the per-sample k-mer counts of reads input, in sheet order)."""
    if input_type == "table":
        from genogan.features import table_to_matrix

        return table_to_matrix(path, sheet)
    if input_type == "expression":
        from genogan.expression import build_expression_matrix, matrix_options

        return build_expression_matrix(path, sheet, **matrix_options(options), logger=logger)
    if input_type == "sequences":
        from genogan.sequences import build_sequence_matrix

        return build_sequence_matrix(
            sheet, sequences=path or None, alphabet=options["alphabet"], k=options["k"],
            canonical=options["canonical"], normalise=options["normalise"],
            extra_features=options["extra_features"], logger=logger)
    from genogan.kmers import build_kmer_matrix

    return build_kmer_matrix(count_files, list(sheet["sample"]), list(sheet["condition"]),
                             options["normalise"])


def build_reference(sheet: pd.DataFrame, study: FeatureMatrix, *, input_type: str,
                    options: dict, rank: int, percentile: float, fraction: float = 0.5,
                    preprocess: dict | None = None,
                    path: str = "", count_files=(), sheet_path=None,
                    logger: logging.Logger | None = None):
    """Rule `reference_matrix`: (reference matrix with study labels, reference space).

    The reference goes through the study's feature path, is matched to the study's features,
    checked for near-duplicates of study samples, and its space is fitted on its rows only."""
    log = logger or logging.getLogger("genogan")
    ref = cohort_matrix(sheet, input_type=input_type, options=options, path=path,
                        count_files=count_files, logger=log)
    ref = match_features(ref, study.feature_names, path or sheet_path, log)
    check_near_duplicates(study, ref, percentile, fraction, sheet_path)
    labels = study_labels(ref.y, np.unique(study.y))
    other = int(((labels == UNLABELLED) & (ref.y != UNLABELLED)).sum())
    if other:
        log.info("reference cohort: %d sample(s) labelled with other classes than the study's "
                 "are used unlabelled", other)
    ref = FeatureMatrix(X=ref.X, y=labels, samples=ref.samples, feature_names=ref.feature_names)
    counts = pd.Series(labels).replace(UNLABELLED, "(unlabelled)").value_counts().to_dict()
    log.info("reference cohort: %d samples x %d features, labels %s", *ref.X.shape, counts)
    space = fit_reference_space(ref, rank, preprocess)
    log.info("reference space: %d principal components of %d reference rows",
             space.n_output_, len(ref.y))
    return ref, space


# ---- validation (`genogan validate` and the workflow's start) -----------------------------------
def cohort_kind(config: dict) -> str:
    """How the study's features are made: table | expression | sequences | reads."""
    return "table" if config.get("features_table") else config["input_type"]


def reference_arms(config: dict) -> list[str]:
    """Every `+ref` arm of the benchmark config (main and scenario lists)."""
    from genogan.benchmark.names import uses_reference

    bench = config.get("benchmark", {}) or {}
    lists = [bench.get("arms", [])] + [bench.get(k, {}).get("arms", []) for k in (
        "dose_response", "learning_curve", "imbalance", "null_control")]
    return list(dict.fromkeys(a for arms in lists for a in arms or [] if uses_reference(a)))


def load_reference_cohort(config: dict, study: pd.DataFrame, config_path=None,
                          check_files: bool = True) -> pd.DataFrame | None:
    """The reference sheet (None without `reference_cohort.samples`), after every check that
    needs no feature: settings, files, no study id or file in it, labels for `real+ref`."""
    opts = config.get("reference_cohort", {}) or {}
    arms = reference_arms(config)
    if not opts.get("samples"):
        if arms:
            raise GenoganInputError(f"benchmark arm {arms[0]!r} needs a reference cohort",
                                    path=config_path, fix="set `reference_cohort.samples` (and "
                                    "`reference_cohort.path`), or drop the +ref arms")
        return None
    kind = cohort_kind(config)
    _check_reference_settings(config, kind, arms, config_path)
    needs_files = kind == "reads" or (kind == "sequences" and not opts.get("path"))
    sheet = read_reference_sheet(opts["samples"], needs_files=needs_files,
                                 check_files=check_files)
    if check_files and opts.get("path"):
        from genogan.io import check_input_file

        check_input_file(opts["path"], "reference cohort data (`reference_cohort.path`)",
                         fix="set `reference_cohort.path` to an existing file")
    check_disjoint_from_study(study, sheet, study_path=config.get("samples"),
                              reference_path=opts["samples"], check_files=check_files)
    if "real+ref" in arms:
        labels = study_labels(sheet["condition"], study["condition"].unique())
        if (labels == UNLABELLED).all():
            raise GenoganInputError(
                "arm 'real+ref' adds the reference's samples labelled with the study's classes, "
                f"but none of them carries one ({sorted(study['condition'].unique())})",
                path=opts["samples"], fix="label reference samples in a `condition` column, "
                "or drop real+ref")
    return sheet


def _check_reference_settings(config: dict, kind: str, arms: list[str], config_path) -> None:
    opts = config["reference_cohort"]
    if kind in ("table", "expression") and not opts.get("path"):
        what = "samples x features table" if kind == "table" else "expression matrix"
        raise GenoganInputError(f"a reference cohort of {kind} input needs its {what}",
                                path=config_path, fix="set `reference_cohort.path`")
    if kind == "sequences" and bool(config["sequences"].get("path")) != bool(opts.get("path")):
        raise GenoganInputError(
            "the study's sequences come from " + ("one multi-FASTA (`sequences.path`)"
                                                  if config["sequences"].get("path") else
                                                  "the sheet's `fasta` column")
            + ": the reference's must come the same way", path=config_path,
            fix="set both `sequences.path` and `reference_cohort.path`, or neither")
    expr = config["expression"]  # validated: every key present
    if kind == "expression" and (expr["normalise"] != "none"
                                 or expr["filter"]["method"] != "none"):
        raise GenoganInputError(
            "a reference cohort cannot be combined with fold-fitted expression steps yet "
            "(`expression.normalise` / `expression.filter`): the reference space is fitted on "
            "every gene", path=config_path,
            fix="set expression.normalise: none and expression.filter.method: none")
    if arms and "none+ref" not in config["benchmark"].get("arms", []):
        raise GenoganInputError(
            f"benchmark.arms has +ref arms ({', '.join(arms)}) but not their control none+ref",
            path=config_path, fix="add none+ref to benchmark.arms: it separates what the "
            "reference's representation gives from what the generator adds")
