"""Gene-expression matrices -> labelled samples x genes feature matrix, and a per-fold gene filter.

Input: a TSV/CSV (optionally gzipped) or parquet table, genes x samples or samples x genes. The
orientation is detected by matching the sample sheet's ids against the column names and the row
names (the first column), or set in the config. In a genes x samples table, columns that are not
sheet samples (gene symbols, a `length` column, samples outside this study) are ignored; rows of a
samples x genes table that are not in the sheet are ignored too. Leading `#` comment lines
(featureCounts) and the two GCT header lines (`#1.2`) are skipped.

Per-sample transforms (an optional `clip` floor/ceiling first, then `none`, `log1p`,
`log2(x + pseudocount)`, `cpm`, `tpm`; log1p after CPM/TPM by default) use one sample's own values
only, so applying them to the whole matrix leaks nothing across folds. Two steps are different:
quantile normalisation (`QuantileNormaliser`: its reference distribution is the mean of many
samples' sorted values) and the gene filter (choosing the top-N genes by variance or by an ANOVA F
test looks at many samples and at labels). Both are scikit-learn transformers that must be fitted
on the training part of a fold only; `apply_fold_filter(train, test, method, n, normalise)` fits
the normaliser, then the filter, on the training part and applies both to the test part.
"""

from __future__ import annotations

import gzip
import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_selection import SelectorMixin, f_classif
from sklearn.utils.validation import check_is_fitted, validate_data

from genogan.errors import GenoganInputError
from genogan.settings import fold_settings  # noqa: F401 (its home: the light settings layer)
from genogan.io import check_delimited_header, input_file_problem
from genogan.settings.sections import schema_default
from genogan.features import FeatureMatrix

ORIENTATIONS = ("auto", "genes_x_samples", "samples_x_genes")
VALUE_KINDS = ("counts", "normalised")
TRANSFORMS = ("none", "log1p", "log2", "cpm", "tpm")
FILTER_METHODS = ("none", "variance", "anova")
NORMALISE_METHODS = ("none", "quantile")


# ---- reading ----------------------------------------------------------------------------------
def _text_lines(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    return opener(path, "rt", newline="")


def _header_skip(path: Path) -> int:
    """Lines before the header: GCT's two (`#1.2`, dimensions) or leading `#` comments."""
    with _text_lines(path) as fh:
        first = fh.readline()
        if first.startswith("#1.2"):
            return 2
        skip = 0
        while first.startswith("#"):
            skip += 1
            first = fh.readline()
    return skip


def read_expression_table(path) -> pd.DataFrame:
    """The table as written: first column as the row index, header names kept verbatim.

    pandas renames a repeated header name ('G1', 'G1.1'); the raw header is read separately so a
    duplicate gene or sample id in the header is seen (and reported) instead of renamed.
    """
    path = Path(path)
    problem = input_file_problem(path)
    if problem:
        raise GenoganInputError(
            f"expression matrix {'not found' if problem == 'does not exist' else problem}",
            path=path, fix="set `expression.path` to an existing TSV/CSV/parquet file")
    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
        if isinstance(table.index, pd.RangeIndex) and table.index.name is None:
            table = table.set_index(table.columns[0])
    else:
        sep = "," if ".csv" in path.suffixes else "\t"
        skip = _header_skip(path)
        with _text_lines(path) as fh:
            for _ in range(skip):
                fh.readline()
            line = fh.readline()
        header = check_delimited_header(path, line, sep, "expression matrix", duplicates=False)
        # ids stay text: `0007` keeps its leading zeros
        table = pd.read_csv(path, sep=sep, skiprows=skip, index_col=0, dtype={0: str})
        names = header[1:] if len(header) == table.shape[1] + 1 else header
        if len(names) == table.shape[1]:  # R's write.table omits the index's header cell
            table.columns = [h.strip() for h in names]
    if table.empty:
        raise GenoganInputError("expression matrix has no rows or no columns", path=path,
                                fix="give a genes x samples or samples x genes table with a "
                                "header row and ids in the first column")
    table.index = table.index.astype(str).str.strip()
    table.columns = [str(c) for c in table.columns]
    if all(pd.api.types.is_numeric_dtype(d) for d in table.dtypes):
        # one block instead of one per column: selecting rows of a wide table is then fast
        table = pd.DataFrame(table.to_numpy(), index=table.index, columns=table.columns)
    return table


# ---- orientation and checks -------------------------------------------------------------------
def detect_orientation(table: pd.DataFrame, samples, path=None) -> str:
    """'genes_x_samples' when every sheet sample is a column, 'samples_x_genes' when a row."""
    samples = list(samples)
    columns, rows = set(table.columns), set(table.index)
    in_cols = sum(s in columns for s in samples)
    in_rows = sum(s in rows for s in samples)
    if in_cols == len(samples) and in_rows < len(samples):
        return "genes_x_samples"
    if in_rows == len(samples) and in_cols < len(samples):
        return "samples_x_genes"
    if in_cols == in_rows == len(samples):
        raise GenoganInputError("the sheet's sample ids are both row and column names of the "
                                "expression matrix", path=path,
                                fix="set `expression.orientation` to genes_x_samples or "
                                "samples_x_genes")
    if in_cols == in_rows == 0:
        raise GenoganInputError(
            "none of the sheet's sample ids is a row or column name of the expression matrix",
            path=path, sample=samples[0],
            fix="sample ids must equal the matrix's column names (genes x samples) or its first "
            "column (samples x genes)")
    axis = "columns" if in_cols >= in_rows else "rows"
    names = set(table.columns) if axis == "columns" else set(table.index)
    missing = [s for s in samples if s not in names]
    raise GenoganInputError(
        f"{len(missing)} sample(s) listed in the sheet are absent from the expression matrix "
        f"(its {axis} hold the other {len(samples) - len(missing)})", path=path,
        sample=missing[0], fix="add the sample to the matrix or drop it from the sheet")


def _first_duplicate(names) -> str | None:
    names = pd.Series(list(names))
    dup = names[names.duplicated()]
    return None if dup.empty else str(dup.iloc[0])


def orient(table: pd.DataFrame, sheet: pd.DataFrame, orientation: str = "auto", path=None,
           logger: logging.Logger | None = None) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(samples x genes values in sheet order, ignored annotation columns, orientation).

    Duplicate gene or sample ids, a sheet sample absent from the matrix and a `condition` column
    that disagrees with the sheet are errors.
    """
    log = logger or logging.getLogger("genogan")
    if orientation not in ORIENTATIONS:
        raise GenoganInputError(f"unknown orientation '{orientation}'", path=path,
                                fix=f"use one of: {', '.join(ORIENTATIONS)}")
    samples = list(sheet["sample"].astype(str))
    if orientation == "auto":
        orientation = detect_orientation(table, samples, path)
    genes_axis = table.index if orientation == "genes_x_samples" else table.columns
    samples_axis = table.columns if orientation == "genes_x_samples" else table.index
    dup_gene, dup_sample = _first_duplicate(genes_axis), _first_duplicate(samples_axis)
    if dup_gene is not None:
        raise GenoganInputError(f"duplicate gene id '{dup_gene}' in the expression matrix",
                                path=path, fix="keep one row per gene (sum or drop duplicated "
                                "ids, e.g. after mapping to gene symbols)")
    if dup_sample is not None:
        raise GenoganInputError("duplicate sample id in the expression matrix", path=path,
                                sample=dup_sample, fix="keep one column/row per sample")
    present, wanted = set(samples_axis), set(samples)
    missing = [s for s in samples if s not in present]
    if missing:
        raise GenoganInputError("sample listed in the sheet is absent from the expression matrix",
                                path=path, sample=missing[0],
                                fix="add it to the matrix or drop it from the sheet")
    annotations = pd.DataFrame(index=table.index)
    if orientation == "genes_x_samples":
        other = [c for c in table.columns if c not in wanted]
        annotations = table[other]
        values = table[samples].T
    else:
        other = [s for s in table.index if s not in wanted]
        values = table.loc[samples]
        if "condition" in values.columns:
            _check_condition(values["condition"], sheet, path)
            values = values.drop(columns="condition")
    if other:
        log.info("ignored %d %s not in the sheet: %s%s", len(other),
                 "columns" if orientation == "genes_x_samples" else "rows",
                 ", ".join(other[:5]), " ..." if len(other) > 5 else "")
    return values, annotations, orientation


def _check_condition(condition: pd.Series, sheet: pd.DataFrame, path) -> None:
    disagree = condition.astype(str).to_numpy() != sheet["condition"].astype(str).to_numpy()
    if disagree.any():
        raise GenoganInputError("condition in the expression matrix disagrees with the sheet",
                                path=path, sample=str(condition.index[disagree][0]),
                                fix="drop the matrix's condition column or correct it")


def numeric_values(values: pd.DataFrame, values_kind: str = "counts", path=None) -> np.ndarray:
    """samples x genes as float64; non-numeric, missing, infinite or negative counts are errors."""
    if values_kind not in VALUE_KINDS:
        raise GenoganInputError(f"unknown value kind '{values_kind}'", path=path,
                                fix=f"set `expression.values` to one of: {', '.join(VALUE_KINDS)}")
    text = [c for c, dtype in values.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
    if text:  # only columns pandas could not parse as numbers are converted cell by cell
        parsed = values[text].apply(pd.to_numeric, errors="coerce")
        _report_cell(parsed.isna() & values[text].notna(), values[text], path,
                     "non-numeric value",
                     "expression values must be numbers; move annotations out of the value cells")
        values = values.assign(**{c: parsed[c] for c in text})
    X = values.to_numpy(dtype=np.float64)
    _report_cell(pd.DataFrame(np.isnan(X)), values, path, "missing value",
                 "fill or drop the gene (genogan does not impute expression values)",
                 show_value=False)
    _report_cell(pd.DataFrame(np.isinf(X)), values, path, "infinite value",
                 "replace it with a finite number or drop the gene")
    if values_kind == "counts":
        _report_cell(pd.DataFrame(X < 0), values, path, "negative count",
                     "counts cannot be negative; if these values are normalised (log-ratios, "
                     "z-scores) set `expression.values: normalised`")
        _report_cell(pd.DataFrame(X != np.round(X)), values, path, "non-integer count",
                     "`expression.values: counts` needs whole numbers: round estimated counts "
                     "(salmon/RSEM), or set `expression.values: normalised` for TPM/FPKM/log "
                     "values")
    return X


def _report_cell(bad: pd.DataFrame, values: pd.DataFrame, path, what: str, fix: str,
                 show_value: bool = True) -> None:
    mask = bad.to_numpy()
    if mask.any():
        row, col = np.argwhere(mask)[0]
        cell = values.iat[row, col]
        shown = f", value {cell!r}" if isinstance(cell, str) else f", value {cell}"
        raise GenoganInputError(
            f"{int(mask.sum())} {what}(s) in the expression matrix (first: gene "
            f"'{values.columns[col]}'{shown if show_value else ''})", path=path,
            sample=str(values.index[row]), fix=fix)


# ---- transforms -------------------------------------------------------------------------------
def gene_lengths_for(genes, source: str, annotations: pd.DataFrame, path=None) -> np.ndarray:
    """Gene lengths (bp) for TPM: a column of a genes x samples matrix or a two-column file.

    `source` empty: a column named `length` (any case, e.g. featureCounts' `Length`) is used.
    """
    lookup = {c.lower(): c for c in annotations.columns}
    if source and Path(source).is_file():
        table = read_expression_table(source)
        lengths, where = table.iloc[:, 0], source
    elif source in annotations.columns or (not source and "length" in lookup):
        lengths, where = annotations[source or lookup["length"]], path
    else:
        raise GenoganInputError(
            "transform 'tpm' needs gene lengths" + (f" ('{source}' is neither a file nor a "
                                                     "column of the matrix)" if source else ""),
            path=path, fix="set `expression.gene_lengths` to a TSV/CSV (gene id, length in bp) "
            "or to a length column of the genes x samples matrix, or use transform 'cpm'")
    lengths = pd.to_numeric(lengths, errors="coerce")
    missing = [g for g in genes if g not in lengths.index]
    if missing:
        raise GenoganInputError(f"no length for gene '{missing[0]}' ({len(missing)} genes)",
                                path=where, fix="give a length for every gene of the matrix")
    lengths = lengths.loc[list(genes)].to_numpy(dtype=np.float64)
    bad = ~(lengths > 0)
    if bad.any():
        raise GenoganInputError(f"gene '{list(genes)[int(np.flatnonzero(bad)[0])]}' has a "
                                "missing or non-positive length", path=where,
                                fix="gene lengths must be positive numbers (bp)")
    return lengths


def clip_values(X: np.ndarray, floor=None, ceiling=None, path=None) -> np.ndarray:
    """Each value limited to [floor, ceiling] (None: no limit on that side), per value.

    The classic microarray (MAS5-style signal) preprocessing clips at floor 20 and ceiling
    16,000 before log2: signal below the floor is noise (negative values included), above the
    ceiling the scanner saturates.
    """
    if floor is not None and ceiling is not None and floor > ceiling:
        raise GenoganInputError(f"clip floor {floor} is above the ceiling {ceiling}", path=path,
                                fix="set `expression.clip.floor` below `expression.clip.ceiling`")
    if floor is None and ceiling is None:
        return X.copy()
    return np.clip(X, floor, ceiling)


def transform_values(X: np.ndarray, method: str = "log1p", *, log: bool = True,
                     gene_lengths: np.ndarray | None = None, values_kind: str = "counts",
                     samples=None, path=None,
                     pseudocount: float = schema_default("expression.pseudocount")) -> np.ndarray:
    """Per-sample transform of a samples x genes matrix (no information shared across samples).

    none: as given; log1p: log(1 + x); log2: log2(x + pseudocount); cpm: x / library size * 1e6;
    tpm: (x / length in kb), rescaled to sum to 1e6 per sample. `log` applies log1p after cpm/tpm.
    """
    if method not in TRANSFORMS:
        raise GenoganInputError(f"unknown transform '{method}'", path=path,
                                fix="set `expression.transform` to one of: "
                                f"{', '.join(TRANSFORMS)}")
    samples = list(samples) if samples is not None else [str(i) for i in range(len(X))]
    if method == "none":
        return X.copy()
    if method == "log1p":
        _check_nonnegative(X, samples, path, "log1p")
        return np.log1p(X)
    if method == "log2":
        return _log2(X, float(pseudocount), samples, path)
    if values_kind != "counts":
        raise GenoganInputError(f"transform '{method}' needs raw counts but `expression.values` "
                                "is normalised", path=path,
                                fix="use transform 'log1p' or 'none' for normalised values")
    if method == "tpm":
        if gene_lengths is None:
            raise GenoganInputError("transform 'tpm' needs gene lengths", path=path,
                                    fix="set `expression.gene_lengths`, or use transform 'cpm'")
        X = X / (np.asarray(gene_lengths, dtype=np.float64) / 1e3)
    totals = X.sum(axis=1)
    if (totals <= 0).any():
        raise GenoganInputError(f"sample has no counts (cannot compute {method.upper()})",
                                path=path, sample=samples[int(np.flatnonzero(totals <= 0)[0])],
                                fix="drop the sample from the sheet")
    scaled = X / totals[:, None] * 1e6
    return np.log1p(scaled) if log else scaled


def _log2(X, pseudocount, samples, path) -> np.ndarray:
    shifted = X + pseudocount
    if (shifted <= 0).any():
        row, col = np.argwhere(shifted <= 0)[0]
        raise GenoganInputError(
            f"log2(x + {pseudocount:g}) of a value <= {-pseudocount:g} ({X[row, col]:g}, gene "
            f"column {int(col) + 1})", path=path, sample=samples[int(row)],
            fix="for microarray signal set `expression.clip.floor` (e.g. 20); otherwise raise "
            "`expression.pseudocount`, or use transform 'none' for log-scale values")
    return np.log2(shifted)


def _check_nonnegative(X, samples, path, what) -> None:
    if (X < 0).any():
        row = int(np.argwhere(X < 0)[0][0])
        raise GenoganInputError(f"{what} of negative values", path=path, sample=samples[row],
                                fix="these values look already log-transformed or centred: set "
                                "`expression.transform: none`")


def build_expression_matrix(path, sheet: pd.DataFrame, *,
                            orientation: str = schema_default("expression.orientation"),
                            values: str = schema_default("expression.values"),
                            transform: str = schema_default("expression.transform"),
                            log: bool = schema_default("expression.log"),
                            gene_lengths: str = schema_default("expression.gene_lengths"),
                            pseudocount: float = schema_default("expression.pseudocount"),
                            clip: dict | None = None,
                            logger: logging.Logger | None = None) -> FeatureMatrix:
    """The labelled samples x genes matrix (samples in sheet order, genes in file order).

    `clip` ({floor, ceiling}, either None) is applied before `transform`. The fold-fitted steps
    (quantile normalisation, gene filter) are not applied here: see `apply_fold_filter`.
    """
    logger = logger or logging.getLogger("genogan")
    table = read_expression_table(path)
    frame, annotations, orientation = orient(table, sheet, orientation, path, logger)
    X = numeric_values(frame, values, path)
    genes = [str(g) for g in frame.columns]
    lengths = (gene_lengths_for(genes, gene_lengths, annotations, path)
               if transform == "tpm" else None)
    clip = clip or {}
    X = clip_values(X, clip.get("floor"), clip.get("ceiling"), path)
    X = transform_values(X, transform, log=log, gene_lengths=lengths, values_kind=values,
                         samples=frame.index, path=path, pseudocount=pseudocount)
    logger.info("expression matrix %s: %s, %d samples x %d genes, %s", path, orientation,
                X.shape[0], X.shape[1], describe_transform({
                    "transform": transform, "log": log, "pseudocount": pseudocount,
                    "clip": clip}))
    return FeatureMatrix(X=X, y=sheet["condition"].astype(str).to_numpy(),
                         samples=sheet["sample"].astype(str).to_numpy(), feature_names=genes)


def check_expression_config(opts: dict, config_path=None) -> None:
    """Early (parse-time) checks of the `expression:` config section."""
    if not opts.get("path"):
        raise GenoganInputError("input_type 'expression' needs `expression.path`",
                                path=config_path, fix="set `expression.path` to a TSV/CSV/"
                                "parquet matrix (genes x samples or samples x genes)")
    if not Path(opts["path"]).is_file():
        raise GenoganInputError("expression matrix not found", path=opts["path"],
                                fix="correct `expression.path` (relative paths are relative "
                                "to the working directory)")
    if opts.get("transform") in ("cpm", "tpm") and opts.get("values") == "normalised":
        raise GenoganInputError(f"transform '{opts['transform']}' needs raw counts but "
                                "`expression.values` is normalised", path=config_path,
                                fix="use transform 'log1p', 'log2' or 'none' for normalised "
                                "values")
    clip = opts.get("clip") or {}
    if None not in (clip.get("floor"), clip.get("ceiling")) and clip["floor"] > clip["ceiling"]:
        raise GenoganInputError(f"clip floor {clip['floor']} is above the ceiling "
                                f"{clip['ceiling']}", path=config_path,
                                fix="set `expression.clip.floor` below `expression.clip.ceiling`"
                                " (microarray signal: floor 20, ceiling 16000)")


def matrix_options(opts: dict) -> dict:
    """`build_expression_matrix` keyword arguments from the (validated) `expression:` section."""
    keys = ("orientation", "values", "transform", "log", "gene_lengths", "pseudocount", "clip")
    return {key: opts[key] for key in keys if key in opts}


def describe_transform(opts: dict) -> str:
    """The preprocessing chain in words, e.g. 'clip [20, 16000] -> log2(x + 0) -> quantile
    normalisation (fitted per training part)'. For the log and the report's provenance."""
    clip = opts.get("clip") or {}
    steps = []
    if clip.get("floor") is not None or clip.get("ceiling") is not None:
        lo, hi = clip.get("floor"), clip.get("ceiling")
        steps.append(f"clip [{'-inf' if lo is None else f'{lo:g}'}, "
                     f"{'inf' if hi is None else f'{hi:g}'}]")
    opts = {key: opts.get(key, schema_default(f"expression.{key}"))
            for key in ("transform", "pseudocount", "log")} | opts  # absent: the default
    transform = opts["transform"]
    if transform == "log2":
        steps.append(f"log2(x + {float(opts['pseudocount']):g})")
    elif transform != "none":
        steps.append(transform + (" + log1p" if opts["log"] and transform in ("cpm", "tpm")
                                  else ""))
    if opts.get("normalise") not in (None, "none"):  # fold-fitted steps: only when given
        steps.append(f"{opts['normalise']} normalisation (fitted per training part)")
    filt = opts.get("filter") or {}
    if filt.get("method") not in (None, "none"):
        steps.append(f"top {filt.get('n')} genes by {filt['method']} (fitted per training part)")
    return " -> ".join(steps) or "none (values as given)"


def gene_lengths_file(opts: dict) -> str | None:
    """The gene-lengths file a TPM transform reads (a workflow input), or None (a column)."""
    source = opts.get("gene_lengths", "")
    if opts.get("transform") == "tpm" and source and Path(source).is_file():
        return source
    return None


# ---- fold-fitted quantile normalisation ---------------------------------------------------------
class QuantileNormaliser(TransformerMixin, BaseEstimator):
    """Quantile normalisation against a reference fitted on training samples only.

    fit: the reference distribution is the mean, rank by rank, of the training samples' sorted
    values (`reference_`, ascending, one value per gene). transform: each sample (training or
    test, one at a time) gets the reference value of its own rank per gene, so every sample ends
    up with the reference's distribution and a test sample never changes the reference. Ties: a
    group of equal values in one sample gets the mean of the reference values at the ranks it
    occupies (all its members the same value; the sample's mean is kept).
    """

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64)
        self.reference_ = np.sort(X, axis=1).mean(axis=0)
        return self

    def transform(self, X):
        check_is_fitted(self, "reference_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        cumulative = np.concatenate([[0.0], np.cumsum(self.reference_)])
        lo = rankdata(X, method="min", axis=1).astype(np.int64) - 1  # first rank of the tie
        hi = rankdata(X, method="max", axis=1).astype(np.int64)  # one past its last rank
        return (cumulative[hi] - cumulative[lo]) / (hi - lo)


def apply_fold_normalisation(train_fm: FeatureMatrix, test_fm: FeatureMatrix | None,
                             method: str) -> tuple[FeatureMatrix, FeatureMatrix | None]:
    """Fit the normaliser on the training samples only and apply it to both sets.

    Same calling convention as `apply_fold_filter`: 'none' returns both unchanged; `test_fm`
    None (the `full` data set of the leaky control) returns (normalised train, None).
    """
    if method not in NORMALISE_METHODS:
        raise GenoganInputError(f"unknown normalisation '{method}'",
                                fix=f"set `expression.normalise` to one of: "
                                f"{', '.join(NORMALISE_METHODS)}")
    if method == "none":
        return train_fm, test_fm
    _check_same_genes(train_fm, test_fm)
    fitted = QuantileNormaliser().fit(train_fm.X)
    return (_with_values(train_fm, fitted.transform(train_fm.X)),
            None if test_fm is None else _with_values(test_fm, fitted.transform(test_fm.X)))


def _with_values(fm: FeatureMatrix, X: np.ndarray) -> FeatureMatrix:
    extra = None if fm.extra is None else fm.extra.copy()
    return FeatureMatrix(X=X, y=fm.y.copy(), samples=fm.samples.copy(),
                         feature_names=list(fm.feature_names), extra=extra)


def _check_same_genes(train_fm: FeatureMatrix, test_fm: FeatureMatrix | None) -> None:
    if test_fm is not None and list(test_fm.feature_names) != list(train_fm.feature_names):
        raise GenoganInputError("training and test matrices have different genes",
                                fix="build both from the same feature matrix")


# ---- the per-fold gene filter -----------------------------------------------------------------
class GeneFilter(SelectorMixin, BaseEstimator):
    """Keep the `n` genes with the highest training-set score (scikit-learn transformer).

    method: `variance` (unsupervised: highest variance) or `anova` (label-based: one-way ANOVA F
    between classes; for two classes this is the squared two-sample t statistic, so it ranks like
    a t-test). Ties keep file order; genes with an undefined F (constant in training) rank last.
    Fit it on the training samples of a fold only; inside an sklearn Pipeline that is automatic.
    """

    def __init__(self, method: str = "variance", n: int = 1000):
        self.method = method
        self.n = n

    def fit(self, X, y=None):
        if self.method not in FILTER_METHODS[1:]:
            raise GenoganInputError(f"unknown gene filter '{self.method}'",
                                    fix=f"use one of: {', '.join(FILTER_METHODS)}")
        if int(self.n) < 1:
            raise GenoganInputError(f"gene filter n = {self.n} must be at least 1",
                                    fix="set `expression.filter.n` to a positive number")
        X = validate_data(self, X, dtype=np.float64)
        self.scores_ = self._scores(X, y)
        keep = np.argsort(-self.scores_, kind="stable")[: int(self.n)]
        self.support_ = np.zeros(X.shape[1], dtype=bool)
        self.support_[keep] = True
        return self

    def _scores(self, X, y) -> np.ndarray:
        if self.method == "variance":
            return X.var(axis=0)
        if y is None or len(np.unique(y)) < 2:
            raise GenoganInputError("the 'anova' gene filter needs labels of two or more classes",
                                    fix="fit it with the training labels, or use 'variance'")
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")  # constant genes: F undefined, ranked last below
            scores, _ = f_classif(X, np.asarray(y))
        return np.where(np.isfinite(scores), scores, -np.inf)

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_


def apply_fold_filter(train_fm: FeatureMatrix, test_fm: FeatureMatrix | None, method: str,
                      n: int, normalise: str = "none"
                      ) -> tuple[FeatureMatrix, FeatureMatrix | None]:
    """Fit the normaliser, then a `GeneFilter`, on the training samples only; apply both.

    `normalise` ('none' or 'quantile', `apply_fold_normalisation`) runs first, on all genes.
    `method` 'none' keeps every gene. The test matrix must have the training columns;
    `test_fm` None (the `full` data set, which has no test part) returns (filtered train, None).
    """
    _check_same_genes(train_fm, test_fm)
    train_fm, test_fm = apply_fold_normalisation(train_fm, test_fm, normalise)
    if method == "none":
        return train_fm, test_fm
    selector = GeneFilter(method=method, n=n).fit(train_fm.X, train_fm.y)
    mask = selector.get_support()
    return _subset(train_fm, mask), None if test_fm is None else _subset(test_fm, mask)


def _subset(fm: FeatureMatrix, mask: np.ndarray) -> FeatureMatrix:
    names = [name for name, keep in zip(fm.feature_names, mask, strict=True) if keep]
    extra = None if fm.extra is None else fm.extra.copy()
    return FeatureMatrix(X=fm.X[:, mask].copy(), y=fm.y.copy(), samples=fm.samples.copy(),
                         feature_names=names, extra=extra)


# ---- command line -------------------------------------------------------------------------------
def register_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "expression", help="expression matrix -> transformed feature matrix",
        description="Read a genes x samples or samples x genes expression table, label it from "
        "the sample sheet and apply a per-sample transform. The gene filter is fitted per "
        "training fold by the benchmark, not here.")
    p.add_argument("--samples", required=True, help="sample sheet (sample, condition)")
    p.add_argument("--matrix", required=True, help="TSV/CSV/parquet expression table")
    p.add_argument("--orientation", choices=ORIENTATIONS, default="auto")
    p.add_argument("--values", choices=VALUE_KINDS, default="counts")
    p.add_argument("--transform", choices=TRANSFORMS, default="cpm")
    p.add_argument("--no-log", action="store_true", help="no log1p after cpm/tpm")
    p.add_argument("--gene-lengths", default="", help="lengths file or column (for tpm)")
    p.add_argument("--pseudocount", type=float, default=1.0, help="for log2: log2(x + this)")
    p.add_argument("--clip-floor", type=float, default=None, help="clip below (e.g. 20)")
    p.add_argument("--clip-ceiling", type=float, default=None, help="clip above (e.g. 16000)")
    p.add_argument("--out", required=True, help="output matrix (.parquet)")
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    from genogan.features import write_matrix
    from genogan.io import setup_logging
    from genogan.validate import load_sample_sheet

    log = setup_logging()
    sheet = load_sample_sheet(args.samples, check_files=False, allow_no_input=True)
    fm = build_expression_matrix(args.matrix, sheet.reset_index(drop=True),
                                 orientation=args.orientation, values=args.values,
                                 transform=args.transform, log=not args.no_log,
                                 gene_lengths=args.gene_lengths,
                                 pseudocount=args.pseudocount,
                                 clip={"floor": args.clip_floor, "ceiling": args.clip_ceiling},
                                 logger=log)
    write_matrix(fm, args.out)
    print(f"{args.out}: {fm.X.shape[0]} samples x {fm.X.shape[1]} genes")
    return 0
