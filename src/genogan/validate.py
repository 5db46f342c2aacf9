"""Validation of the workflow config and the sample sheet.

Everything here fails early with a `GenoganInputError` naming the file, the sample and the fix, so a
user never waits for a cluster job to discover a typo. JSON-schema checks (types, ranges, unknown
keys) come first, then semantic checks the schema cannot express (duplicates, files, classes).
"""

from __future__ import annotations

import io
import logging
import os
import re
from pathlib import Path

import pandas as pd

from genogan.errors import GenoganInputError
from genogan.io import check_delimited_header, check_input_file, input_file_problem
from genogan.settings import load_schema, validate_config  # noqa: F401 (API)
from genogan.settings.paths import WILDCARDS

SAMPLE_ID = re.compile(f"^{WILDCARDS['sample']}$")  # the rules' `sample` wildcard
INPUT_COLUMNS = ("fq1", "bam", "cram", "fasta")  # one input kind per sample; fq2 goes with fq1
FILE_COLUMNS = ("fq1", "fq2", "bam", "cram", "fasta")


def read_sample_sheet(path) -> pd.DataFrame:
    """The sheet as text columns. Whole lines starting with `#` are comments; a `#` inside a
    value (`run#1/reads.fq`) is kept. A comma-separated sheet is an error saying so."""
    path = Path(path)
    if input_file_problem(path) == "does not exist":
        raise GenoganInputError("sample sheet not found", path=path,
                                fix="set `samples:` in config/config.yaml to an existing TSV")
    check_input_file(path, "sample sheet", fix="set `samples:` in config/config.yaml to a TSV file")
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError as err:
        raise GenoganInputError(f"sample sheet is not UTF-8 text ({err.reason} at byte "
                                f"{err.start})", path=path,
                                fix="save it as a tab-separated UTF-8 text file") from None
    lines = [line for line in lines if not line.lstrip().startswith("#")]
    if not lines:
        raise GenoganInputError("the sample sheet is empty", path=path,
                                fix="write a header line (sample, condition, ...) and one row "
                                "per sample, tab-separated")
    check_delimited_header(path, lines[0], "\t", "the sample sheet")
    sheet = pd.read_csv(io.StringIO("\n".join(lines) + "\n"), sep="\t", dtype=str,
                        keep_default_na=False)
    sheet.columns = [c.strip() for c in sheet.columns]
    return sheet.apply(lambda col: col.str.strip())


def _check_columns(sheet: pd.DataFrame, path) -> None:
    schema = load_schema("samples.schema.yaml")
    known = set(schema["properties"])
    unknown = [c for c in sheet.columns if c not in known and not c.startswith("meta_")]
    if unknown:
        raise GenoganInputError(
            f"unknown column(s) {unknown} in the sample sheet", path=path,
            fix=f"use only {sorted(known)}, or prefix free metadata columns with 'meta_'")
    for col in ("sample", "condition"):
        if col not in sheet.columns:
            raise GenoganInputError(f"the sample sheet has no '{col}' column", path=path,
                                    fix="add 'sample' and 'condition' columns (tab-separated)")
    if sheet.empty:
        raise GenoganInputError("the sample sheet has no rows", path=path, fix="list your samples")


def _check_ids(sheet: pd.DataFrame, path) -> None:
    check_sample_ids(sheet, path)
    empty = sheet[sheet["condition"] == ""]
    if len(empty):
        raise GenoganInputError("empty condition (class label)", path=path,
                                sample=empty["sample"].iloc[0], fix="fill in `condition`")


def check_sample_ids(sheet: pd.DataFrame, path) -> None:
    """Every id matches the rules' `sample` wildcard and is unique (study and reference
    sheets)."""
    for sample in sheet["sample"]:
        if not SAMPLE_ID.match(sample):
            raise GenoganInputError(
                "invalid sample id", path=path, sample=sample,
                fix="use letters, digits, '.', '_' or '-', starting with a letter or digit")
    dup = sheet["sample"][sheet["sample"].duplicated()]
    if len(dup):
        raise GenoganInputError("duplicate sample id", path=path, sample=dup.iloc[0],
                                fix="give every row a unique `sample`")


def input_kind(row: pd.Series, path=None, allow_none=False) -> str | None:
    """The one input kind of a sheet row: 'fastq', 'bam', 'cram', 'fasta' (or None for tables)."""
    kinds = [c for c in INPUT_COLUMNS if row.get(c, "")]
    if row.get("fq2", "") and not row.get("fq1", ""):
        raise GenoganInputError("fq2 given without fq1", path=path, sample=row["sample"],
                                fix="put read 1 in `fq1` (single-end reads go in `fq1` only)")
    if len(kinds) > 1:
        raise GenoganInputError(f"more than one input kind ({', '.join(kinds)})", path=path,
                                sample=row["sample"], fix="give exactly one of fq1(+fq2), bam, "
                                "cram or fasta per sample")
    if not kinds:
        if allow_none:
            return None
        raise GenoganInputError("no input file", path=path, sample=row["sample"],
                                fix="fill one of fq1(+fq2), bam, cram or fasta, or set "
                                "`features_table` in the config")
    return {"fq1": "fastq"}.get(kinds[0], kinds[0])


def check_sheet_files(sheet: pd.DataFrame, base_dir: Path, what: str = "") -> None:
    """Every file a sheet row names exists and is readable (`what`: e.g. "reference ")."""
    for _, row in sheet.iterrows():
        for col in FILE_COLUMNS:
            value = row.get(col, "")
            if not value:
                continue
            check_input_file(Path(base_dir) / value, f"{what}{col} file", sample=row["sample"],
                             fix="correct the path in the sheet (relative paths are relative "
                             "to the working directory)")


def check_read_files_distinct(sheet: pd.DataFrame, base_dir: Path, path=None) -> None:
    """fq2 must not be fq1 again (error); one FASTQ listed for two samples is a loud warning
    (usually a copy-paste slip in the sheet: both samples would get the same reads)."""
    owners: dict[str, list[str]] = {}
    for _, row in sheet.iterrows():
        files = [row.get(col, "") for col in ("fq1", "fq2") if row.get(col, "")]
        real = [os.path.realpath(base_dir / f) for f in files]
        if len(real) == 2 and real[0] == real[1]:
            raise GenoganInputError(
                "fq2 is the same file as fq1", path=base_dir / files[1], sample=row["sample"],
                fix="put the read-2 FASTQ in fq2, or leave fq2 empty for single-end reads")
        for name in dict.fromkeys(real):
            owners.setdefault(name, []).append(row["sample"])
    for name, samples in owners.items():
        if len(samples) > 1:
            logging.getLogger("genogan").warning(
                "WARNING: the FASTQ '%s' is listed for %d samples (%s) in %s: they will get the "
                "same reads; check the sample sheet", name, len(samples), ", ".join(samples),
                path or "the sample sheet")


def check_classes(conditions: pd.Series, n_folds: int | None, path=None) -> None:
    """At least two classes, each with at least `n_folds` samples (stratified CV needs them)."""
    counts = conditions.value_counts()
    spellings: dict[str, list[str]] = {}
    for label in sorted(counts.index):
        spellings.setdefault(label.lower(), []).append(label)
    clash = next((v for v in spellings.values() if len(v) > 1), None)
    if clash:
        raise GenoganInputError(
            f"classes {' and '.join(map(repr, clash))} differ only in upper/lower case "
            f"({', '.join(f'{c!r}: {int(counts[c])}' for c in clash)} samples)", path=path,
            fix="class labels are case-sensitive: use one spelling in `condition`")
    if len(counts) < 2:
        raise GenoganInputError(f"only one class ({counts.index[0]!r}) in `condition`", path=path,
                                fix="a classifier needs at least two classes (e.g. case, control)")
    if n_folds:
        small = counts[counts < n_folds]
        if len(small):
            raise GenoganInputError(
                f"class {small.index[0]!r} has {int(small.iloc[0])} samples, fewer than the "
                f"{n_folds} cross-validation folds", path=path,
                fix="add samples or lower `benchmark.folds` in the config")


def load_sample_sheet(path, *, base_dir=".", check_files=True, n_folds=None,
                      allow_no_input=False) -> pd.DataFrame:
    """Read and validate the sample sheet; return it indexed by sample, with `input_kind`."""
    sheet = read_sample_sheet(path)
    _check_columns(sheet, path)
    _check_ids(sheet, path)
    sheet["input_kind"] = [input_kind(row, path, allow_no_input) for _, row in sheet.iterrows()]
    if check_files:
        check_sheet_files(sheet, Path(base_dir))
    check_read_files_distinct(sheet, Path(base_dir), path)
    check_classes(sheet["condition"], n_folds, path)
    if "group" in sheet.columns:
        _check_groups(sheet, n_folds, path)
    return sheet.set_index("sample", drop=False)


def _check_groups(sheet: pd.DataFrame, n_folds: int | None, path) -> None:
    """Every sample names its group, and every class has a group per fold."""
    from genogan.groups import check_group_counts

    empty = sheet[sheet["group"] == ""]
    if len(empty):
        raise GenoganInputError("empty `group`", path=path, sample=empty["sample"].iloc[0],
                                fix="name every sample's group (patient, individual), or drop "
                                "the column")
    if n_folds:
        check_group_counts(sheet["condition"], sheet["group"], n_folds, path)


def check_reference_needed(sheet: pd.DataFrame, config: dict, path=None) -> None:
    needs = sheet[sheet["input_kind"].isin(["fastq", "bam", "cram"])]
    ref = config.get("reference", "")
    if len(needs) and not ref:
        raise GenoganInputError("reads or alignments need a reference genome", path=path,
                                sample=needs["sample"].iloc[0],
                                fix="set `reference:` in the config")


def alignment_reference_mismatch(alignment_path, reference) -> str | None:
    """Why `reference` is not the one a BAM/CRAM was made against, or None if it may be.

    Compares every header @SQ (name, length and, where recorded, the M5 checksum of the
    uppercase sequence, as the SAM spec defines it) with the reference FASTA. A CRAM decoded
    with a reference of the same names and lengths but other bases fails deep inside htslib
    with "truncated file"; this names the real cause. Reads the reference, so it is meant for
    the error path, not for every workflow parse.
    """
    import hashlib

    import pysam

    with pysam.AlignmentFile(str(alignment_path), "r", check_sq=False,
                             reference_filename=str(reference)) as aln:
        header = aln.header.to_dict().get("SQ", [])
    with pysam.FastaFile(str(reference)) as fasta:
        lengths = dict(zip(fasta.references, fasta.lengths, strict=True))
        for sq in header:
            name, length = sq["SN"], int(sq["LN"])
            if name not in lengths:
                return f"contig '{name}' of the alignment header is not in the reference"
            if lengths[name] != length:
                return (f"contig '{name}' is {length:,} bp in the alignment header but "
                        f"{lengths[name]:,} bp in the reference")
            if "M5" in sq:
                md5 = hashlib.md5(fasta.fetch(name).upper().encode()).hexdigest()
                if md5 != sq["M5"].lower():
                    return (f"contig '{name}' has other bases in the reference than the one the "
                            f"alignment was made against (MD5 {md5} != header M5 {sq['M5']})")
    return None
