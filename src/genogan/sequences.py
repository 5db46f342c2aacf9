"""Protein and nucleotide sequences (FASTA) -> one dense k-mer profile per sample.

Two input layouts, both labelled by the sample sheet:
- one multi-FASTA with one record per sample (short labelled sequences such as promoters, splice
  sites or protein families): the record id (first word of the header) is the sample id;
- one FASTA per sample (sheet column `fasta`): the profile of a sample is the sum over its records
  (a proteome, a set of contigs); k-mers never span two records.

Why dense, small k: profiles feed a GAN and a classifier as fixed-length vectors, so every sample
must have the same columns. Protein k = 1..3 gives 20, 400 or 8,000 features; DNA k <= 8.

Feature order (the column names are the k-mer strings): lexicographic over the alphabet as written
in `PROTEIN.letters` ("ACDEFGHIKLMNPQRSTVWY") or `DNA.letters` ("ACGT"), i.e. the order of
`itertools.product(letters, repeat=k)`. Canonical DNA k-mers take the names and order of
`genogan.kmers.canonical_kmers(k)`, so sequence and read profiles line up.

Letters: lowercase is counted as uppercase (soft-masking marks repeats, it does not remove them).
Ambiguous letters (protein B Z X J U O *, DNA N and the IUPAC codes R Y S W K M B D H V, plus X)
and gaps (`-`, `.`) are kept out of the profile: a k-mer spanning one is skipped, and how many of
each were seen is returned (and logged by `build_sequence_matrix`). RNA `U` is read as `T` in DNA
mode. Any other character (digits, punctuation) is an error naming the record.

Counting is vectorised like the DNA read counter: a 256-entry lookup table turns bytes into codes,
rolling codes are built with k shifted adds, and one `np.bincount` over (sample, k-mer) indices
counts every sample at once.
"""

from __future__ import annotations

import gzip
import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from Bio.SeqIO.FastaIO import SimpleFastaParser

from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix
from genogan.settings.sections import schema_default

ALPHABET_CHOICES = ("auto", "dna", "protein")
NUCLEOTIDE_LETTERS = "ACGTUN"  # what makes a record "look like DNA" (case-insensitive)
DNA_LIKE_FRACTION = 0.9  # >= this fraction of A/C/G/T/U/N letters: nucleotide sequence
MIN_JUDGED_LENGTH = 10  # shorter records are too short to judge their alphabet
MAX_DENSE_CELLS = 2**28  # samples x features; 2 GiB of float64
GAPS = "-."
# Kyte & Doolittle (1982) hydropathy, for the optional mean-hydropathy (GRAVY) feature.
KYTE_DOOLITTLE = dict(A=1.8, C=2.5, D=-3.5, E=-3.5, F=2.8, G=-0.4, H=-3.2, I=4.5, K=-3.9, L=3.8,
                      M=1.9, N=-3.5, P=-1.6, Q=-3.5, R=-4.5, S=-0.8, T=-0.7, V=4.2, W=-0.9, Y=-1.3)

# byte codes below the alphabet size are letters; these mark what breaks a k-mer
_SEP, _GAP, _AMBIG, _INVALID = 252, 253, 254, 255


@dataclass(frozen=True)
class Alphabet:
    """A sequence alphabet: the letters k-mers are built from and what else is tolerated."""

    name: str
    letters: str  # standard letters, in feature order
    ambiguous: str  # tolerated, break k-mers, counted
    aliases: dict = field(default_factory=dict)  # read one letter as another (RNA U -> T)
    max_k: int = 3

    def table(self) -> np.ndarray:
        """256-entry byte -> code lookup (both cases), with the marker codes above."""
        table = np.full(256, _INVALID, dtype=np.uint8)
        for code, letter in enumerate(self.letters):
            table[[ord(letter), ord(letter.lower())]] = code
        for src, dst in self.aliases.items():
            table[[ord(src), ord(src.lower())]] = self.letters.index(dst)
        for letter in self.ambiguous:
            table[[ord(letter), ord(letter.lower())]] = _AMBIG
        for gap in GAPS:
            table[ord(gap)] = _GAP
        table[0] = _SEP
        return table


PROTEIN = Alphabet("protein", "ACDEFGHIKLMNPQRSTVWY", "BZXJUO*", max_k=3)
DNA = Alphabet("dna", "ACGT", "NRYSWKMBDHVX", aliases={"U": "T"}, max_k=8)
ALPHABETS = {"protein": PROTEIN, "dna": DNA}


@dataclass
class Record:
    id: str
    seq: str
    path: str


@dataclass
class KmerProfile:
    """k-mer counts of groups of records (one group per sample) and what was skipped."""

    counts: np.ndarray  # (n_groups, n_features) int64
    feature_names: list[str]
    letters: np.ndarray  # (n_groups, len(alphabet.letters)) counts of standard letters
    ambiguous: np.ndarray  # (n_groups,) ambiguous letters and gaps
    skipped: dict[str, int]  # ambiguous letter / gap -> count, over all groups
    lowercase: int  # lowercase letters (counted as uppercase)


# ---- reading ----------------------------------------------------------------------------------
def _open_text(path):
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="ascii", errors="replace")
    return open(path, encoding="ascii", errors="replace")


def read_fasta(path) -> list[Record]:
    """All records of a (gzipped or plain) FASTA; ids are the first word of each header.

    Fails on a missing/empty file, text before the first '>', an empty id or an empty record:
    each would otherwise silently drop or misassign a sample.
    """
    path = Path(path)
    if not path.is_file():
        raise GenoganInputError("FASTA file does not exist", path=path,
                                fix="correct the path (relative paths are relative to the "
                                "working directory)")
    with _open_text(path) as fh:
        head = fh.read(4096).lstrip()
        if not head:
            raise GenoganInputError("FASTA file is empty", path=path,
                                    fix="give a FASTA with at least one '>' record")
        if not head.startswith(">"):
            raise GenoganInputError("not a FASTA file: it does not start with a '>' header",
                                    path=path, fix="give sequences in FASTA format (FASTQ "
                                    "reads go in the sheet's fq1/fq2 columns)")
        fh.seek(0)
        records = [Record(title.split()[0] if title.split() else "", seq, str(path))
                   for title, seq in SimpleFastaParser(fh)]
    for rec in records:
        if not rec.id:
            raise GenoganInputError("FASTA record with an empty header", path=path,
                                    fix="give every record an id after '>'")
        if not rec.seq:
            raise GenoganInputError(f"FASTA record '{rec.id}' has no sequence", path=path,
                                    fix="remove the empty record or add its sequence")
    return records


# ---- alphabet ---------------------------------------------------------------------------------
def _letter_fractions(records: list[Record]) -> tuple[np.ndarray, np.ndarray]:
    """Per record: number of letters (A-Z, '*') and of nucleotide letters (A/C/G/T/U/N)."""
    is_letter = np.zeros(256, dtype=bool)
    is_nuc = np.zeros(256, dtype=bool)
    for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ*":
        is_letter[[ord(c), ord(c.lower())]] = True
    for c in NUCLEOTIDE_LETTERS:
        is_nuc[[ord(c), ord(c.lower())]] = True
    letters = np.zeros(len(records))
    nucs = np.zeros(len(records))
    for start, stop in _chunks(records):
        raw, rec = _concat(records[start:stop])
        letters[start:stop] = np.bincount(rec, weights=is_letter[raw], minlength=stop - start)
        nucs[start:stop] = np.bincount(rec, weights=is_nuc[raw], minlength=stop - start)
    return letters, nucs


def resolve_alphabet(records: list[Record], alphabet: str = "auto") -> str:
    """Check every record against `alphabet` ('dna', 'protein' or 'auto') and return the alphabet.

    A record is DNA-like when at least 90 % of its letters are A/C/G/T/U/N. `auto` takes the
    alphabet of all records pooled; then a record of the other kind (DNA given as protein, or a
    protein given as DNA) is an error naming the file, the record and the fix. Records shorter than
    10 letters are not judged on their own.
    """
    if alphabet not in ALPHABET_CHOICES:
        raise GenoganInputError(f"unknown alphabet '{alphabet}'",
                                fix=f"use one of: {', '.join(ALPHABET_CHOICES)}")
    letters, nucs = _letter_fractions(records)
    if alphabet == "auto":
        total = letters.sum()
        alphabet = "dna" if total and nucs.sum() / total >= DNA_LIKE_FRACTION else "protein"
        why = "the other sequences are"
        fix_key = "split the file by alphabet, or set `sequences.alphabet`"
    else:
        why = "`sequences.alphabet` is"
        fix_key = None
    frac = np.divide(nucs, letters, out=np.zeros_like(nucs), where=letters > 0)
    judged = letters >= MIN_JUDGED_LENGTH
    wrong = judged & ((frac >= DNA_LIKE_FRACTION) if alphabet == "protein"
                      else (frac < DNA_LIKE_FRACTION))
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        rec = records[i]
        if alphabet == "protein":
            problem = (f"record '{rec.id}' looks like DNA ({frac[i]:.0%} of its letters are "
                       f"A/C/G/T/U/N) but {why} protein")
            fix = fix_key or ("set `sequences.alphabet: dna` (or `auto`) for nucleotide "
                              "sequences, or give the translated protein sequences")
        else:
            problem = (f"record '{rec.id}' looks like protein ({1 - frac[i]:.0%} of its letters "
                       f"are not A/C/G/T/U/N) but {why} DNA")
            fix = fix_key or ("set `sequences.alphabet: protein` (or `auto`) for amino-acid "
                              "sequences")
        raise GenoganInputError(problem, path=rec.path, fix=fix)
    return alphabet


# ---- k-mer names --------------------------------------------------------------------------------
def kmer_names(alphabet: str, k: int, canonical: bool = False) -> list[str]:
    """Feature names in column order: all k-mers in lexicographic alphabet order.

    Canonical DNA k-mers (a k-mer and its reverse complement merged) use
    `genogan.kmers.canonical_kmers(k)`, the names and order of the read-based profiles.
    """
    alpha = ALPHABETS[alphabet]
    if canonical:
        if alphabet != "dna":
            raise GenoganInputError("canonical k-mers exist only for DNA",
                                    fix="set `sequences.canonical: false` for protein input")
        from genogan.kmers import canonical_kmers

        return list(canonical_kmers(k))
    return ["".join(p) for p in itertools.product(alpha.letters, repeat=k)]


def _column_of_code(alphabet: str, k: int, canonical: bool) -> tuple[np.ndarray, list[str]]:
    """For every rolling code (base-|letters|, first letter most significant) its column."""
    names = kmer_names(alphabet, k, canonical)
    if canonical:
        from genogan.kmers import canonical_index

        return np.asarray(canonical_index(k), dtype=np.int64), names
    return np.arange(len(ALPHABETS[alphabet].letters) ** k, dtype=np.int64), names


# ---- counting -----------------------------------------------------------------------------------
CHUNK_BYTES = 1 << 24  # sequence bytes encoded at once: bounds memory for large proteomes


def _chunks(records: list[Record], max_bytes: int = CHUNK_BYTES):
    """(start, stop) ranges of consecutive records of about `max_bytes` (records are not split)."""
    start, size = 0, 0
    for i, rec in enumerate(records):
        size += len(rec.seq) + 1
        if size >= max_bytes:
            yield start, i + 1
            start, size = i + 1, 0
    if start < len(records):
        yield start, len(records)


def _concat(records: list[Record]) -> tuple[np.ndarray, np.ndarray]:
    """Bytes of the records joined by a NUL separator, and the record index of every byte."""
    joined = "\0".join(r.seq for r in records).encode("ascii", errors="replace")
    raw = np.frombuffer(joined, dtype=np.uint8)
    lengths = np.fromiter((len(r.seq) + 1 for r in records), dtype=np.int64, count=len(records))
    return raw, np.repeat(np.arange(len(records)), lengths)[: raw.size]


def _check_characters(codes: np.ndarray, raw: np.ndarray, rec_of_byte: np.ndarray,
                      records: list[Record], alphabet: str) -> None:
    bad = np.flatnonzero(codes == _INVALID)
    if bad.size:
        rec = records[int(rec_of_byte[bad[0]])]
        char = chr(raw[bad[0]])
        alpha = ALPHABETS[alphabet]
        raise GenoganInputError(
            f"record '{rec.id}' contains {bad.size} character(s) that are not {alphabet} "
            f"letters (first: {char!r})", path=rec.path,
            fix=f"keep only {alpha.letters} (ambiguity codes {alpha.ambiguous} and gaps "
            f"'{GAPS}' are tolerated and skipped)")


def count_kmers(records: list[Record], groups, n_groups: int, alphabet: str, k: int,
                canonical: bool = False) -> KmerProfile:
    """Dense k-mer counts per group of records (`groups[i]` is the group of `records[i]`).

    k-mers containing an ambiguous letter or a gap are skipped; k-mers never span two records.
    Records are encoded in chunks of about `CHUNK_BYTES`, so memory stays bounded.
    """
    alpha = ALPHABETS[alphabet]
    if not 1 <= k <= alpha.max_k:
        raise GenoganInputError(f"k = {k} is out of range for {alphabet} sequences",
                                fix=f"set `sequences.k` between 1 and {alpha.max_k}")
    column, names = _column_of_code(alphabet, k, canonical)
    if n_groups * len(names) > MAX_DENSE_CELLS:
        raise GenoganInputError(
            f"{n_groups} samples x {len(names)} features is too large a dense matrix",
            fix="lower `sequences.k`")
    size, table = len(alpha.letters), alpha.table()
    groups = np.asarray(groups, dtype=np.int64)
    counts = None
    letters = np.zeros((n_groups, size), dtype=np.int64)
    ambiguous = np.zeros(n_groups, dtype=np.int64)
    skipped_codes = np.zeros(256, dtype=np.int64)
    lowercase = 0
    for start, stop in _chunks(records):
        raw, rec = _concat(records[start:stop])
        codes = table[raw]
        _check_characters(codes, raw, rec, records[start:stop], alphabet)
        group = groups[start:stop][rec]
        is_letter = codes < size
        part = _rolling_counts(codes, is_letter, group, column, len(names), n_groups, k, size)
        counts = part if counts is None else np.add(counts, part, out=counts)
        letters += np.bincount(group[is_letter] * size + codes[is_letter],
                               minlength=n_groups * size).reshape(n_groups, size)
        skip = (codes == _AMBIG) | (codes == _GAP)
        ambiguous += np.bincount(group[skip], minlength=n_groups)
        skipped_codes += np.bincount(raw[skip], minlength=256)
        lowercase += int(np.count_nonzero((raw >= ord("a")) & (raw <= ord("z"))))
    skipped: dict[str, int] = {}
    for byte in np.flatnonzero(skipped_codes):
        letter = chr(byte).upper()
        skipped[letter] = skipped.get(letter, 0) + int(skipped_codes[byte])
    if counts is None:
        counts = np.zeros((n_groups, len(names)), dtype=np.int64)
    return KmerProfile(counts=counts, feature_names=names, letters=letters, ambiguous=ambiguous,
                       skipped=skipped, lowercase=lowercase)


def _rolling_counts(codes, is_letter, group_of_byte, column, n_features, n_groups, k, size):
    """Rolling base-`size` codes of every window of k letters, counted per group."""
    n_win = codes.size - k + 1
    if n_win <= 0:
        return np.zeros((n_groups, n_features), dtype=np.int64)
    values = np.where(is_letter, codes, 0).astype(np.int64)
    kmer = np.zeros(n_win, dtype=np.int64)
    for j in range(k):
        kmer = kmer * size + values[j:j + n_win]
    breaks = np.concatenate([[0], np.cumsum(~is_letter)])
    valid = (breaks[k:] - breaks[:n_win]) == 0
    index = group_of_byte[:n_win][valid] * n_features + column[kmer[valid]]
    return np.bincount(index, minlength=n_groups * n_features).reshape(n_groups, n_features)


# ---- sequence-level features --------------------------------------------------------------------
def sequence_features(profile: KmerProfile, alphabet: str) -> tuple[np.ndarray, list[str]]:
    """Length, ambiguous fraction, composition (and GRAVY for protein, GC for DNA) per group.

    Names start with `seq_` so they never collide with k-mer names. Composition is the fraction of
    each standard letter among the standard letters (it equals the k = 1 frequency profile).
    """
    alpha = ALPHABETS[alphabet]
    n_letters = profile.letters.sum(axis=1).astype(np.float64)
    length = n_letters + profile.ambiguous
    denom = np.where(n_letters > 0, n_letters, 1.0)
    comp = profile.letters / denom[:, None]
    cols = [length, profile.ambiguous / np.where(length > 0, length, 1.0)]
    names = ["seq_length", "seq_ambiguous_fraction"]
    if alphabet == "protein":
        hydropathy = np.array([KYTE_DOOLITTLE[a] for a in alpha.letters])
        cols.append(comp @ hydropathy)
        names.append("seq_gravy")
    else:
        cols.append(comp[:, [1, 2]].sum(axis=1))
        names.append("seq_gc")
    X = np.column_stack(cols + [comp])
    return X, names + [f"seq_comp_{a}" for a in alpha.letters]


# ---- the feature matrix -------------------------------------------------------------------------
def _records_per_sample(sheet: pd.DataFrame, sequences, base_dir) -> tuple[list[Record], list]:
    """Records and their sample index, from one multi-FASTA or the sheet's per-sample files."""
    samples = list(sheet["sample"])
    if sequences:
        records = read_fasta(sequences)
        return records, _match_records(records, samples, sequences)
    if "fasta" not in sheet.columns:
        raise GenoganInputError("sequence input needs FASTA files", fix="set `sequences.path` "
                                "to one multi-FASTA, or give each sample a `fasta` in the sheet")
    records, groups = [], []
    for i, (sample, fasta) in enumerate(zip(samples, sheet["fasta"], strict=True)):
        if not fasta:
            raise GenoganInputError("no `fasta` file for this sample", sample=sample,
                                    fix="fill the sheet's `fasta` column, or set "
                                    "`sequences.path` to one multi-FASTA")
        file_records = read_fasta(Path(base_dir) / fasta)
        records += file_records
        groups += [i] * len(file_records)
    return records, groups


def _match_records(records: list[Record], samples: list[str], path) -> list[int]:
    """Sample index of each record of a one-record-per-sample FASTA; mismatches are errors."""
    ids = pd.Series([r.id for r in records])
    dup = ids[ids.duplicated()]
    if len(dup):
        raise GenoganInputError(f"duplicate record id '{dup.iloc[0]}' in the multi-FASTA",
                                path=path, sample=dup.iloc[0],
                                fix="give each sample exactly one record (ids must be unique)")
    index = {s: i for i, s in enumerate(samples)}
    extra = [r for r in ids if r not in index]
    if extra:
        raise GenoganInputError(
            f"{len(extra)} record(s) are not in the sample sheet (first: '{extra[0]}')",
            path=path, sample=extra[0],
            fix="add them to the sheet with their condition, or remove them from the FASTA")
    present = set(ids)
    missing = [s for s in samples if s not in present]
    if missing:
        raise GenoganInputError(
            f"{len(missing)} sample(s) of the sheet have no record in the multi-FASTA (first: "
            f"'{missing[0]}')", path=path, sample=missing[0],
            fix="the record id (first word after '>') must equal the sample id")
    return [index[r] for r in ids]


def _check_empty_profiles(profile: KmerProfile, samples, k) -> None:
    empty = np.flatnonzero(profile.counts.sum(axis=1) == 0)
    if empty.size:
        i = int(empty[0])
        length = int(profile.letters[i].sum() + profile.ambiguous[i])
        raise GenoganInputError(
            f"no valid {k}-mer in this sample's sequence (length {length}, "
            f"{int(profile.ambiguous[i])} ambiguous letters/gaps)", sample=str(samples[i]),
            fix="lower `sequences.k` or drop the sample")


def check_sequence_config(opts: dict, sheet: pd.DataFrame, config_path=None) -> None:
    """Early (parse-time) checks of the `sequences:` config section against the sheet.

    Catches what would otherwise fail inside a job: no input named, both inputs named, a missing
    multi-FASTA, k too large for protein, canonical k-mers asked for protein.
    """
    has_fasta = "fasta" in sheet.columns and (sheet["fasta"].astype(str) != "").any()
    if opts.get("path") and has_fasta:
        raise GenoganInputError("both `sequences.path` and per-sample `fasta` files are given",
                                path=config_path, fix="use one multi-FASTA (`sequences.path`) "
                                "or one FASTA per sample (sheet column `fasta`), not both")
    if opts.get("path") and not Path(opts["path"]).is_file():
        raise GenoganInputError("`sequences.path` does not exist", path=opts["path"],
                                fix="correct `sequences.path` in the config (relative paths "
                                "are relative to the working directory)")
    if not opts.get("path") and not has_fasta:
        raise GenoganInputError("input_type 'sequences' needs FASTA input", path=config_path,
                                fix="set `sequences.path` to a multi-FASTA with one record per "
                                "sample, or fill the sheet's `fasta` column")
    if not opts.get("path"):
        empty = sheet[sheet["fasta"].astype(str) == ""]
        if len(empty):
            raise GenoganInputError("no `fasta` file for this sample",
                                    sample=str(empty["sample"].iloc[0]), path=config_path,
                                    fix="give every sample a `fasta` or use `sequences.path`")
    alphabet = opts.get("alphabet", schema_default("sequences.alphabet"))
    k = int(opts.get("k", schema_default("sequences.k")))
    if alphabet == "protein" and not 1 <= k <= PROTEIN.max_k:
        raise GenoganInputError(f"sequences.k = {k} is too large for protein (20^{k} dense "
                                "features)", path=config_path, fix="set `sequences.k` to 1, 2 "
                                "or 3")
    if alphabet == "protein" and opts.get("canonical"):
        raise GenoganInputError("canonical k-mers exist only for DNA", path=config_path,
                                fix="set `sequences.canonical: false` for protein input")


def build_sequence_matrix(sheet: pd.DataFrame, *, sequences=None,
                          alphabet: str = schema_default("sequences.alphabet"),
                          k: int = schema_default("sequences.k"),
                          canonical: bool = schema_default("sequences.canonical"),
                          normalise: str = schema_default("sequences.normalise"),
                          extra_features: bool = schema_default("sequences.extra_features"),
                          base_dir=".",
                          logger: logging.Logger | None = None) -> FeatureMatrix:
    """The labelled samples x k-mer matrix of a sequence cohort, samples in sheet order.

    `sequences`: one multi-FASTA (one record per sample, id = sample id); else the sheet's
    `fasta` column. `normalise` is applied to the k-mer block with `genogan.kmers.normalise`
    (counts | frequency | clr); `extra_features` appends `sequence_features` (left unnormalised).
    """
    from genogan.kmers import normalise as normalise_counts

    log = logger or logging.getLogger("genogan")
    samples = sheet["sample"].astype(str).to_numpy()
    records, groups = _records_per_sample(sheet, sequences, base_dir)
    resolved = resolve_alphabet(records, alphabet)
    if canonical and resolved != "dna":
        raise GenoganInputError("canonical k-mers exist only for DNA", path=records[0].path,
                                fix="set `sequences.canonical: false` for protein input")
    profile = count_kmers(records, groups, len(samples), resolved, k, canonical)
    log.info("%d records of %d samples read as %s; %d %s%d-mers counted", len(records),
             len(samples), resolved, int(profile.counts.sum()),
             "canonical " if canonical else "", k)
    _log_skipped(log, profile)
    _check_empty_profiles(profile, samples, k)
    X = np.asarray(normalise_counts(profile.counts, normalise), dtype=np.float64)
    names = list(profile.feature_names)
    if extra_features:
        extra_X, extra_names = sequence_features(profile, resolved)
        X, names = np.hstack([X, extra_X]), names + extra_names
    return FeatureMatrix(X=X, y=sheet["condition"].astype(str).to_numpy(), samples=samples,
                         feature_names=names)


def _log_skipped(log: logging.Logger, profile: KmerProfile) -> None:
    if profile.skipped:
        detail = ", ".join(f"{letter}: {n}" for letter, n in sorted(profile.skipped.items()))
        log.info("ambiguous letters/gaps skipped (k-mers spanning them not counted) in %d "
                 "samples: %s", int(np.count_nonzero(profile.ambiguous)), detail)
    else:
        log.info("no ambiguous letters or gaps")
    if profile.lowercase:
        log.info("%d lowercase letters counted as uppercase", profile.lowercase)


# ---- command line -------------------------------------------------------------------------------
def register_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "sequences", help="protein/nucleotide FASTA -> k-mer feature matrix",
        description="Count dense k-mer profiles of protein or nucleotide sequences, one sample "
        "per record of a multi-FASTA (--fasta) or per file in the sheet's `fasta` column.")
    p.add_argument("--samples", required=True, help="sample sheet (sample, condition[, fasta])")
    p.add_argument("--fasta", help="one multi-FASTA with one record per sample (id = sample)")
    p.add_argument("--alphabet", choices=ALPHABET_CHOICES, default="auto")
    p.add_argument("-k", type=int, default=2, help="k-mer length (protein 1-3, DNA 1-8)")
    p.add_argument("--canonical", action="store_true", help="merge reverse complements (DNA)")
    p.add_argument("--normalise", choices=("counts", "frequency", "clr"), default="frequency")
    p.add_argument("--extra-features", action="store_true",
                   help="append length, ambiguous fraction, GRAVY/GC and composition")
    p.add_argument("--out", required=True, help="output matrix (.parquet)")
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    from genogan.features import write_matrix
    from genogan.io import setup_logging
    from genogan.validate import load_sample_sheet

    log = setup_logging()
    sheet = load_sample_sheet(args.samples, check_files=False, allow_no_input=True)
    fm = build_sequence_matrix(sheet.reset_index(drop=True), sequences=args.fasta,
                               alphabet=args.alphabet, k=args.k, canonical=args.canonical,
                               normalise=args.normalise, extra_features=args.extra_features,
                               logger=log)
    write_matrix(fm, args.out)
    print(f"{args.out}: {fm.X.shape[0]} samples x {fm.X.shape[1]} features")
    return 0
