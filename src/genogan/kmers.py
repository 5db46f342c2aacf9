"""Canonical k-mer profiles (k = 1..12, dense) from reads, FASTA or alignments.

**Encoding.** A k-mer's 2-bit code puts its first base in the most significant bits (A=0, C=1,
G=2, T=3), so numeric order equals lexicographic order. Its canonical form is the smaller of the
k-mer and its reverse complement -- the convention of ``jellyfish count -C`` -- so counts do not
depend on which strand a read came from. Features are the canonical k-mers *sorted by code*
(i.e. alphabetically): ``canonical_kmers(k)``. There are ``4**k / 2`` of them for odd k and
``(4**k + 4**(k/2)) / 2`` for even k (even k has reverse-complement palindromes, counted once per
occurrence like every other k-mer).

**What is counted.** Every window of k consecutive bases inside one read (or one FASTA record)
whose bases are all A/C/G/T (case-insensitive). A window touching N or any other character is
skipped; no window ever spans two reads or two records.

**How it is fast.** Reads come through `genogan.reads`: the calling thread only cuts the file
into chunks of whole records (xopen + dnaio), and each worker parses its chunk with dnaio (C
speed) and joins the sequences with a newline as separator; BAM reads and FASTA records are
handed over by pysam/dnaio one at a time. Then bytes become 2-bit codes through a
256-entry table, window codes for the whole batch are built by doubling (codes of 2-mers, then
4-mers, 8-mers, combined by shifts and ORs on the narrowest integer type), windows touching an
invalid byte are sent to a sentinel bin, and ``np.add.at`` counts all 4**k forward codes;
folding forward codes onto canonical k-mers happens once at the end. numpy releases the GIL in
these loops, so batches are counted on a pool of ``threads`` worker threads (each with its own
accumulator) while the calling thread reads, decompresses and finds record boundaries. At most
``2 * threads`` batches are in flight: memory does not grow with the number of reads.
"""

from __future__ import annotations

import argparse
import functools
import logging
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genogan import reads
from genogan.errors import GenoganInputError
from genogan.io import atomic_path
from genogan.settings.sections import schema_default

log = logging.getLogger("genogan.kmers")

K_MIN, K_MAX = 1, 12
NORMALISATIONS = ("counts", "frequency", "clr")
DEFAULT_PSEUDOCOUNT = 0.5
DEFAULT_BATCH_BYTES = 1 << 20
COUNTS_FORMAT = "genogan.kmers/1"
_NEWLINE = 10

# Byte -> 2-bit code; 4 marks anything that is not A/C/G/T (N, IUPAC, '\n' separators, ...).
BASE_CODES = np.full(256, 4, dtype=np.uint8)
for _code, _base in enumerate(b"ACGT"):
    BASE_CODES[_base] = BASE_CODES[_base + 32] = _code
BASE_CODES.flags.writeable = False


# --------------------------------------------------------------------------- k-mer index


def check_k(k) -> int:
    """Dense counting keeps 4**k counters per thread, so k is limited to 1..12."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not K_MIN <= k <= K_MAX:
        raise GenoganInputError(
            f"k={k!r} is out of range {K_MIN}..{K_MAX}",
            fix=f"choose an integer k between {K_MIN} and {K_MAX} (k = 6 gives 2,080 features)")
    return int(k)


def n_canonical(k: int) -> int:
    """Number of canonical k-mers (the feature count)."""
    k = check_k(k)
    return (4**k + 4 ** (k // 2)) // 2 if k % 2 == 0 else 4**k // 2


def reverse_complement_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """2-bit codes of the reverse complements (complement of code b is 3 - b)."""
    x = np.asarray(codes, dtype=np.uint32).copy()
    rc = np.zeros_like(x)
    for _ in range(k):
        rc = (rc << 2) | (3 - (x & 3))
        x >>= 2
    return rc


@functools.cache
def _index_tables(k: int) -> tuple[np.ndarray, np.ndarray]:
    """(canonical codes sorted, code -> canonical feature index); read-only, cached per k."""
    codes = np.arange(4**k, dtype=np.uint32)
    rc = reverse_complement_codes(codes, k)
    is_canonical = codes <= rc
    canonical = codes[is_canonical]
    index = np.empty(4**k, dtype=np.int32)
    index[canonical] = np.arange(canonical.size, dtype=np.int32)
    index[~is_canonical] = index[rc[~is_canonical]]
    canonical.flags.writeable = index.flags.writeable = False
    return canonical, index


def canonical_codes(k: int) -> np.ndarray:
    """Sorted 2-bit codes of the canonical k-mers (the feature order)."""
    return _index_tables(check_k(k))[0]


def canonical_index(k: int) -> np.ndarray:
    """Array of length 4**k mapping any k-mer code to the index of its canonical feature."""
    return _index_tables(check_k(k))[1]


def decode(codes: np.ndarray, k: int) -> list[str]:
    """2-bit codes -> k-mer strings."""
    shifts = np.arange(2 * (k - 1), -1, -2, dtype=np.uint32)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)[(np.asarray(codes, np.uint32)[:, None]
                                                      >> shifts) & 3]
    return np.ascontiguousarray(letters).view(f"S{k}").ravel().astype(str).tolist()


def canonical_kmers(k: int) -> list[str]:
    """Feature names: canonical k-mers in feature order (sorted; 8.4 M strings for k = 12)."""
    return decode(canonical_codes(k), check_k(k))


# --------------------------------------------------------------------------- counting core


def _code_dtype(bits: int):
    return np.uint8 if bits <= 8 else np.uint16 if bits <= 16 else np.uint32


def _shift_or(high: np.ndarray, low: np.ndarray, shift: int, dtype) -> np.ndarray:
    out = np.left_shift(high, shift, dtype=dtype)
    np.bitwise_or(out, low, out=out)
    return out


def window_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """Forward code of every window of k bases, by doubling (2-, 4-, 8-mers) instead of k passes.

    `codes` holds 0..3 per base and 4 for an invalid byte. A window containing an invalid byte
    gets a meaningless value here: `count_into` sends those windows to the sentinel bin. The
    result has room for the sentinel 4**k (one bit more than the code needs).
    """
    n = codes.size
    blocks = {1: codes}
    p = 1
    while 2 * p <= k:
        x = blocks[p]
        blocks[2 * p] = _shift_or(x[: x.size - p], x[p:], 2 * p, _code_dtype(4 * p))
        p *= 2
    out_dtype = _code_dtype(2 * k + 1)
    result, width = None, 0
    for p in (8, 4, 2, 1):
        if k & p:
            if result is None:
                result, width = blocks[p], p
                continue
            size = n - width - p + 1
            dtype = out_dtype if width + p == k else _code_dtype(2 * (width + p))
            result = _shift_or(result[:size], blocks[p][width:width + size], 2 * p, dtype)
            width += p
    return result.astype(out_dtype, copy=False)


def _invalidate(windows: np.ndarray, codes: np.ndarray, k: int) -> None:
    """Send every window that touches an invalid base to the sentinel bin 4**k.

    Invalid bases are sparse (one read separator per read, a few N), so marking the k windows
    around each costs far less than a pass over every window; when they are dense (N runs in an
    assembly) a cumulative sum over invalid flags is used instead.
    """
    bad = np.flatnonzero(codes > 3)
    if bad.size == 0:
        return
    sentinel = 4**k
    if bad.size * k <= windows.size:
        idx = (bad[:, None] - np.arange(k)).ravel()
        idx = idx[(idx >= 0) & (idx < windows.size)]
        windows[idx] = sentinel
    else:
        flags = np.zeros(codes.size + 1, dtype=np.int32)
        flags[bad + 1] = 1
        np.cumsum(flags, out=flags)
        np.putmask(windows, flags[k:] - flags[: windows.size] > 0, sentinel)


def count_into(acc: np.ndarray, ascii_seq: np.ndarray, k: int) -> int:
    """Add the forward k-mer codes of a separator-joined ASCII batch to `acc` (size 4**k + 1).

    Returns the number of windows seen (valid or not). The last bin of `acc` collects the
    invalid windows and is dropped when folding.
    """
    if ascii_seq.size < k:
        return 0
    codes = np.take(BASE_CODES, ascii_seq)
    windows = window_codes(codes, k)
    _invalidate(windows, codes, k)
    np.add.at(acc, windows, 1)
    return int(windows.size)


def fold_canonical(forward: np.ndarray, k: int) -> np.ndarray:
    """Forward-code counts (4**k, or 4**k + 1 with the sentinel) -> canonical counts (int64)."""
    out = np.zeros(n_canonical(k), dtype=np.int64)
    np.add.at(out, canonical_index(k), forward[: 4**k])
    return out


# --------------------------------------------------------------------------- thread pool


class _CountPool:
    """Counts batches on `threads` worker threads, each with its own accumulator.

    `submit(fn, *args)` runs `fn(*args) -> (ascii_batch, reads, bases)` on a worker (parsing is
    part of the worker's job, so it runs in parallel too) and counts the batch there. At most
    `2 * threads` batches are pending; `submit` blocks on the oldest beyond that, which is also
    where a worker's error (e.g. a malformed record) reaches the caller.
    """

    def __init__(self, k: int, threads: int, progress: reads.Progress):
        if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1:
            raise GenoganInputError(f"threads={threads!r} must be a positive integer",
                                    fix="pass threads >= 1")
        self.k, self.progress = k, progress
        self.max_pending = 2 * int(threads)
        self._executor = ThreadPoolExecutor(int(threads), thread_name_prefix="kmers")
        self._pending: deque = deque()
        self._local = threading.local()
        self._accs: list[np.ndarray] = []
        self._lock = threading.Lock()

    def _acc(self) -> np.ndarray:
        acc = getattr(self._local, "acc", None)
        if acc is None:
            acc = self._local.acc = np.zeros(4**self.k + 1, dtype=np.int64)
            with self._lock:
                self._accs.append(acc)
        return acc

    def _work(self, fn, args):
        batch, reads, bases = fn(*args)
        count_into(self._acc(), batch, self.k)
        return reads, bases

    def _collect_one(self) -> None:
        reads, bases = self._pending.popleft().result()
        self.progress.add(reads, bases)

    def submit(self, fn, *args) -> None:
        while len(self._pending) >= self.max_pending:
            self._collect_one()
        self._pending.append(self._executor.submit(self._work, fn, args))

    def finish(self) -> np.ndarray:
        """Wait for every batch; return the canonical counts."""
        while self._pending:
            self._collect_one()
        self.close()
        forward = np.zeros(4**self.k + 1, dtype=np.int64)
        for acc in self._accs:
            forward += acc
        return fold_canonical(forward, self.k)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def count_sequences(seqs, k: int, threads: int = 1,
                    batch_bytes: int = DEFAULT_BATCH_BYTES) -> np.ndarray:
    """Canonical counts over an iterable of sequences (str or bytes), each counted on its own."""
    k, batch_bytes = check_k(k), _check_batch_bytes(batch_bytes)
    with _CountPool(k, threads, reads.Progress("sequences", every_s=1e9)) as pool:
        batcher = _Batcher(pool, batch_bytes)
        for seq in seqs:
            batcher.add(seq if isinstance(seq, str) else bytes(seq).decode("ascii", "replace"))
        batcher.flush()
        return pool.finish()


# --------------------------------------------------------------------------- input files


def _fastq_sequences(data: bytes, path, first_record: int):
    """Parse one chunk of whole records (dnaio, in the worker): (the sequences joined by
    '\\n' as ASCII codes, reads, bases)."""
    _, seqs, _ = reads.columns(data, path, first_record)
    joined = "\n".join(seqs).encode("ascii", "replace")
    return np.frombuffer(joined, dtype=np.uint8), len(seqs), len(joined) - max(len(seqs) - 1, 0)


def _check_batch_bytes(batch_bytes) -> int:
    if isinstance(batch_bytes, bool) or not isinstance(batch_bytes, int) or batch_bytes < 1:
        raise GenoganInputError(f"batch_bytes={batch_bytes!r} must be a positive integer",
                                fix="use the default (1 MiB)")
    return batch_bytes


def count_kmers_fastq(paths, k: int, threads: int = 1, batch_bytes: int = DEFAULT_BATCH_BYTES,
                      paired: bool | None = None) -> np.ndarray:
    """Canonical k-mer counts over all reads of one sample's FASTQ file(s), plain or gzip.

    `paths` is one path or a list (e.g. R1 and R2: both mates are counted, each read on its
    own). With `paired` (default: when exactly two files are given) both files must hold the
    same number of records, which catches mismatched or truncated mates.
    """
    k, batch_bytes = check_k(k), _check_batch_bytes(batch_bytes)
    paths = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not paths:
        raise GenoganInputError("no FASTQ file given", fix="pass at least one FASTQ path")
    records = []
    progress = reads.Progress(" + ".join(p.name for p in paths), every_s=15.0)
    with _CountPool(k, threads, progress) as pool:
        for path in paths:
            total = 0
            for first, data in reads.chunks(path, batch_bytes):
                pool.submit(_fastq_sequences, data, path, first)
                total = first + reads.count_records(data)
            if total == 0:
                raise GenoganInputError("FASTQ file is empty (no records)", path=path,
                                        fix="check the file; remove the sample if it has no "
                                            "reads")
            records.append(total)
        counts = pool.finish()
    progress.log()
    if (len(paths) == 2 if paired is None else paired) and len(set(records)) > 1:
        raise GenoganInputError(
            f"mates differ in record count ({records[0]:,} in {paths[0].name} vs "
            f"{records[1]:,} in {paths[1].name})", path=paths[1],
            fix="give the R1 and R2 files of the same run; re-download a truncated mate")
    return counts


def _ready(seq: bytes, reads: int = 0, bases: int = 0):
    """A batch that is already separator-joined sequence."""
    return np.frombuffer(seq, dtype=np.uint8), reads, bases


def _joined(seqs: list, reads: int, bases: int):
    """Join a list of str sequences with separators (in the worker, off the reading thread)."""
    return _ready("\n".join(seqs).encode("ascii", "replace"), reads, bases)


class _Batcher:
    """Collects sequences (str) into batches of about `batch_bytes` and submits them."""

    def __init__(self, pool: _CountPool, batch_bytes: int):
        self.pool, self.batch_bytes = pool, batch_bytes
        self.seqs: list[str] = []
        self.size = 0

    def add(self, seq: str) -> None:
        self.seqs.append(seq)
        self.size += len(seq) + 1
        if self.size >= self.batch_bytes:
            self.flush()

    def flush(self) -> None:
        if self.seqs:
            self.pool.submit(_joined, self.seqs, len(self.seqs), self.size - len(self.seqs))
            self.seqs, self.size = [], 0


def count_kmers_fasta(path, k: int, threads: int = 1,
                      batch_bytes: int = DEFAULT_BATCH_BYTES) -> np.ndarray:
    """Canonical k-mer counts over every record of a FASTA (plain or gzip), summed per file.

    Records are parsed by dnaio (genogan.reads, C speed); no k-mer spans two records. A long
    record (a chromosome) is cut into pieces of `batch_bytes` that overlap by k - 1 bases, so
    every window is counted exactly once while memory stays bounded by the longest record.
    """

    k, batch_bytes = check_k(k), _check_batch_bytes(batch_bytes)
    path = Path(path)
    if not path.is_file():
        raise GenoganInputError("FASTA file not found", path=path,
                                fix="check the path in the sample sheet")
    progress = reads.Progress(path.name, every_s=15.0)
    records = 0
    with _CountPool(k, threads, progress) as pool:
        batcher = _Batcher(pool, batch_bytes)
        for _, seq in reads.records(path):
            records += 1
            if len(seq) <= batch_bytes:
                batcher.add(seq)
                continue
            for start in range(0, len(seq) - k + 1, batch_bytes):
                piece = seq[start:start + batch_bytes + k - 1]
                pool.submit(_joined, [piece], int(start == 0),
                            min(batch_bytes, len(seq) - start))
        batcher.flush()
        counts = pool.finish()
    if records == 0:
        raise GenoganInputError("FASTA file has no records", path=path,
                                fix="supply a FASTA with at least one '>' record")
    progress.log()
    return counts


# --------------------------------------------------------------------------- BAM / CRAM

# Skipped: unmapped (0x4), secondary (0x100), QC-fail (0x200), duplicate (0x400),
# supplementary (0x800).
SKIP_FLAGS = 0x4 | 0x100 | 0x200 | 0x400 | 0x800


def read_bed(path) -> dict[str, list[tuple[int, int]]]:
    """BED (0-based, half-open) -> merged, sorted intervals per contig."""
    path = Path(path)
    if not path.is_file():
        raise GenoganInputError("regions BED file not found", path=path,
                                fix="set kmers.regions to an existing BED file, or to \"\"")
    raw: dict[str, list[tuple[int, int]]] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        try:
            contig, start, end = fields[0], int(fields[1]), int(fields[2])
            if not 0 <= start < end:
                raise ValueError
        except (IndexError, ValueError):
            raise GenoganInputError(
                f"BED line {number} is not 'contig<TAB>start<TAB>end' with 0 <= start < end: "
                f"{line[:60]!r}", path=path, fix="fix or remove that line") from None
        raw.setdefault(contig, []).append((start, end))
    if not raw:
        raise GenoganInputError("regions BED file has no intervals", path=path,
                                fix="add intervals or set kmers.regions to \"\"")
    merged = {}
    for contig, intervals in raw.items():
        out: list[list[int]] = []
        for start, end in sorted(intervals):
            if out and start <= out[-1][1]:
                out[-1][1] = max(out[-1][1], end)
            else:
                out.append([start, end])
        merged[contig] = [(s, e) for s, e in out]
    return merged


def _open_alignments(path: Path, reference, threads: int):
    import pysam

    if not path.is_file():
        raise GenoganInputError("alignment file not found", path=path,
                                fix="check the bam/cram path in the sample sheet")
    try:
        return pysam.AlignmentFile(str(path), "r", threads=threads,
                                   reference_filename=str(reference) if reference else None)
    except (OSError, ValueError) as err:
        raise GenoganInputError(
            f"cannot open alignment file: {err}", path=path,
            fix="supply a valid BAM/CRAM (for CRAM also the reference FASTA)") from err


def _region_reads(bam, path: Path, regions: dict, bed_path):
    """Reads overlapping the merged regions, each read once even if it spans two regions."""
    if not bam.has_index():
        raise GenoganInputError("region filtering needs an indexed BAM/CRAM", path=path,
                                fix=f"run `samtools index {path}`")
    known = set(bam.references)
    for contig in regions:
        if contig not in known:
            raise GenoganInputError(
                f"BED contig '{contig}' is not in the alignment header", path=bed_path,
                fix="use the reference's contig names (e.g. 'chr1' vs '1')")
    for contig in bam.references:
        prev_end = -1
        for start, end in regions.get(contig, ()):
            for read in bam.fetch(contig, start, end):
                if read.reference_start < prev_end:
                    continue  # overlaps the previous region too: already seen there
                yield read
            prev_end = end


def count_kmers_bam(path, k: int, min_mapq: int = schema_default("kmers.min_mapq"),
                    regions_bed=None, threads: int = 1,
                    reference=None, batch_bytes: int = DEFAULT_BATCH_BYTES) -> np.ndarray:
    """Canonical k-mer counts over the filtered reads of a BAM/CRAM.

    Kept: mapped, primary (not secondary/supplementary), not duplicate, not QC-fail, mapping
    quality >= `min_mapq`. With `regions_bed`, only reads whose alignment overlaps a region are
    kept, and each kept read is counted *whole* (not clipped to the region): the profile
    describes the reads from those regions. The stored read sequence (`query_sequence`, soft
    clips included, hard clips absent) is counted; its orientation does not matter because
    counts are canonical. CRAM needs `reference` unless the file embeds it.
    """
    k, batch_bytes = check_k(k), _check_batch_bytes(batch_bytes)
    path = Path(path)
    regions = read_bed(regions_bed) if regions_bed else None
    progress = reads.Progress(path.name, every_s=15.0)
    skipped = 0
    with _open_alignments(path, reference, threads) as bam, \
            _CountPool(k, threads, progress) as pool:
        records = _region_reads(bam, path, regions, regions_bed) if regions else \
            bam.fetch(until_eof=True)
        batcher = _Batcher(pool, batch_bytes)
        try:
            for read in records:
                seq = read.query_sequence
                if read.flag & SKIP_FLAGS or read.mapping_quality < min_mapq or not seq:
                    skipped += 1
                    continue
                batcher.add(seq)
        except OSError as err:
            from genogan.validate import alignment_reference_mismatch

            wrong = alignment_reference_mismatch(path, reference) if reference else None
            if wrong:
                raise GenoganInputError(
                    f"the alignment cannot be decoded with this reference: {wrong}", path=path,
                    fix=f"set `reference:` to the FASTA it was aligned to (not {reference}), or "
                    "re-align the reads to this one") from err
            raise GenoganInputError(
                f"alignment file is truncated or corrupt ({err})", path=path,
                fix="re-create the BAM/CRAM; check it with `samtools quickcheck`") from err
        batcher.flush()
        counts = pool.finish()
    progress.log()
    log.info("%s: %s reads kept, %s skipped by the filters (MAPQ >= %d, primary, not duplicate, "
             "not QC-fail%s)", path.name, f"{progress.reads:,}", f"{skipped:,}", min_mapq,
             ", in regions" if regions else "")
    if progress.reads == 0:
        log.warning("%s: no read passed the filters; its k-mer profile is empty", path)
    return counts


# --------------------------------------------------------------------------- count files


@dataclass
class KmerCounts:
    """One sample's canonical k-mer counts as stored in `results/kmers/{sample}.npz`."""

    counts: np.ndarray  # int64, length n_canonical(k), in canonical_kmers(k) order
    k: int
    sample: str
    source: str  # aligned | reads | fasta
    canonical: bool = True


def save_counts(path, counts, k: int, sample: str, source: str) -> None:
    """Write counts atomically as `.npz` (counts, k, canonical, sample, source, format)."""
    k = check_k(k)
    counts = np.asarray(counts)
    if counts.shape != (n_canonical(k),):
        raise ValueError(f"counts have shape {counts.shape}, expected "
                         f"({n_canonical(k)},) for k={k}")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, counts=counts.astype(np.int64), k=np.int64(k),
                            canonical=np.bool_(True), sample=np.str_(sample),
                            source=np.str_(source), format=np.str_(COUNTS_FORMAT))


def load_counts(path) -> KmerCounts:
    """Read a counts file written by `save_counts`, checking it is complete and consistent."""
    path = Path(path)
    fix = "re-run `genogan kmers count` (or the kmer_profile rule) for this sample"
    if not path.is_file():
        raise GenoganInputError("k-mer counts file not found", path=path, fix=fix)
    try:
        with np.load(path, allow_pickle=False) as data:
            fields = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError) as err:
        raise GenoganInputError(f"not a readable k-mer counts file ({err})", path=path,
                                fix=fix) from err
    missing = {"counts", "k", "sample", "source", "canonical"} - set(fields)
    if missing:
        raise GenoganInputError(f"k-mer counts file lacks {sorted(missing)}", path=path, fix=fix)
    k = int(fields["k"])
    counts = fields["counts"]
    if not K_MIN <= k <= K_MAX or counts.shape != (n_canonical(k),):
        raise GenoganInputError(f"k-mer counts file is inconsistent (k={k}, {counts.size} counts)",
                                path=path, fix=fix)
    return KmerCounts(counts=counts.astype(np.int64, copy=False), k=k,
                      sample=str(fields["sample"]), source=str(fields["source"]),
                      canonical=bool(fields["canonical"]))


# --------------------------------------------------------------------------- normalisation


def normalise(counts, method: str = "clr", pseudocount: float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
    """Normalise a samples x k-mers count matrix (rows = samples); returns float64.

    - ``counts``: raw counts, unchanged.
    - ``frequency``: each row divided by its total, so rows sum to 1 (removes sequencing depth).
    - ``clr``: centred log-ratio, ``log(x + p) - mean(log(x + p))`` over the row, with
      pseudocount p (default 0.5) added to every count so zero counts have a finite log; rows
      sum to 0. CLR treats a profile as compositional (only ratios carry information), which
      suits depth-dependent counts and Euclidean-geometry models.
    """
    X = np.asarray(counts, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D samples x k-mers matrix, got shape {X.shape}")
    if (X < 0).any():
        raise ValueError("k-mer counts must be non-negative")
    _check_method(method)
    if method == "counts":
        return X.copy()
    if method == "frequency":
        totals = X.sum(axis=1, keepdims=True)
        if (totals == 0).any():
            raise ValueError(f"row {int(np.argmin(totals))} has no k-mers; cannot form frequencies")
        return X / totals
    if not pseudocount > 0:
        raise ValueError(f"CLR needs a positive pseudocount, got {pseudocount}")
    logs = np.log(X + pseudocount)
    return logs - logs.mean(axis=1, keepdims=True)


def _check_method(method: str) -> None:
    if method not in NORMALISATIONS:
        raise GenoganInputError(f"unknown normalisation '{method}'",
                                fix=f"set kmers.normalise to one of {', '.join(NORMALISATIONS)}")


def build_kmer_matrix(count_files, samples, conditions, method: str = "clr",
                      pseudocount: float = DEFAULT_PSEUDOCOUNT):
    """Stack per-sample counts (file i belongs to samples[i]) into a normalised FeatureMatrix.

    Every file must hold the same k and the sample id it is listed for, and at least one k-mer.
    Feature names are the canonical k-mer strings.
    """
    from genogan.features import FeatureMatrix

    count_files, samples, conditions = list(count_files), list(samples), list(conditions)
    if not (len(count_files) == len(samples) == len(conditions)) or not samples:
        raise ValueError(f"need one counts file per sample: {len(count_files)} files, "
                         f"{len(samples)} samples, {len(conditions)} conditions")
    _check_method(method)
    loaded = [load_counts(p) for p in count_files]
    first = loaded[0]
    for path, sample, counts in zip(count_files, samples, loaded, strict=True):
        if counts.k != first.k or counts.canonical != first.canonical:
            raise GenoganInputError(
                f"k-mer counts have k={counts.k} but {count_files[0]} has k={first.k}",
                path=path, sample=sample,
                fix="count every sample with the same k (delete results/kmers/ and re-run)")
        if counts.sample != sample:
            raise GenoganInputError(f"counts file holds sample '{counts.sample}'", path=path,
                                    sample=sample, fix="pass the counts file of this sample")
        if counts.counts.sum() == 0:
            raise GenoganInputError(
                "no k-mers were counted for this sample", path=path, sample=sample,
                fix="check its input (reads present? kmers.min_mapq / kmers.regions too strict?)")
    X = normalise(np.stack([c.counts for c in loaded]), method, pseudocount)
    return FeatureMatrix(X=X, y=np.asarray(conditions, dtype=str),
                         samples=np.asarray(samples, dtype=str),
                         feature_names=canonical_kmers(first.k))


# --------------------------------------------------------------------------- CLI


def _cli_count(args) -> int:
    from genogan.io import setup_logging

    setup_logging(args.log)
    batch = max(1, int(args.batch_mb * (1 << 20)))
    source = {"aligned": "bam", "cram": "bam"}.get(args.source, args.source)
    if source == "reads":
        counts = count_kmers_fastq(args.inputs, args.k, threads=args.threads, batch_bytes=batch)
    else:
        if len(args.inputs) != 1:
            raise GenoganInputError(f"--source {args.source} takes exactly one input file, "
                                    f"got {len(args.inputs)}", fix="pass one file per sample")
        if source == "fasta":
            counts = count_kmers_fasta(args.inputs[0], args.k, threads=args.threads,
                                       batch_bytes=batch)
        else:
            counts = count_kmers_bam(args.inputs[0], args.k, min_mapq=args.min_mapq,
                                     regions_bed=args.regions, threads=args.threads,
                                     reference=args.reference, batch_bytes=batch)
    stored = {"bam": "aligned"}.get(source, source)
    save_counts(args.out, counts, args.k, args.sample, stored)
    log.info("%s: %s canonical %d-mers counted -> %s", args.sample, f"{int(counts.sum()):,}",
             args.k, args.out)
    return 0


def _cli_matrix(args) -> int:
    from genogan.features import write_matrix
    from genogan.io import atomic_write_text, setup_logging
    from genogan.validate import read_sample_sheet

    setup_logging(args.log)
    sheet = read_sample_sheet(args.samples)
    for col in ("sample", "condition"):
        if col not in sheet.columns:
            raise GenoganInputError(f"sample sheet lacks the '{col}' column", path=args.samples,
                                    fix="add 'sample' and 'condition' columns")
    by_sample: dict[str, str] = {}
    for path in args.counts:
        sample = load_counts(path).sample
        if sample in by_sample:
            raise GenoganInputError(f"two counts files for sample '{sample}' "
                                    f"({by_sample[sample]} and {path})", path=path,
                                    fix="pass one counts file per sample")
        by_sample[sample] = path
    unknown = sorted(set(by_sample) - set(sheet["sample"]))
    if unknown:
        raise GenoganInputError(f"counts for sample(s) {unknown} not in the sample sheet",
                                path=args.samples, fix="add them to the sheet or drop the files")
    missing = [s for s in sheet["sample"] if s not in by_sample]
    if missing:
        raise GenoganInputError(f"no counts file for sample(s) {missing[:5]}", path=args.samples,
                                fix="count every sample of the sheet (genogan kmers count)")
    fm = build_kmer_matrix([by_sample[s] for s in sheet["sample"]], sheet["sample"],
                           sheet["condition"], args.normalise, args.pseudocount)
    write_matrix(fm, args.out)
    if args.names:
        atomic_write_text(args.names, "\n".join(fm.feature_names) + "\n")
    log.info("feature matrix %d samples x %d %d-mers (%s) -> %s", *fm.X.shape,
             len(fm.feature_names[0]), args.normalise, args.out)
    return 0


def register_cli(subparsers) -> None:
    """`genogan kmers count ...` and `genogan kmers matrix ...`."""
    parser = subparsers.add_parser(
        "kmers", help="count canonical k-mers per sample; merge counts into a feature matrix",
        description="Canonical k-mer profiles (k = 1..12, as `jellyfish count -C`): `count` one "
        "sample's reads, FASTA or filtered alignments into an .npz; `matrix` merges the .npz "
        "files of a sample sheet into one normalised feature matrix (parquet).")
    actions = parser.add_subparsers(dest="kmers_action", metavar="ACTION")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)

    count = actions.add_parser(
        "count", help="count one sample's canonical k-mers",
        description="Count canonical k-mers of one sample. Windows touching N (or any non-ACGT "
        "byte) are skipped; no k-mer spans two reads or records.",
        epilog="examples:\n  genogan kmers count --sample s1 --k 6 --source reads --threads 2 "
        "--out s1.npz s1_R1.fastq.gz s1_R2.fastq.gz\n  genogan kmers count --sample s1 --source "
        "bam --min-mapq 20 --regions panel.bed --out s1.npz s1.bam",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    count.add_argument("inputs", nargs="+", metavar="INPUT",
                       help="FASTQ file(s) (plain or .gz; R1 R2 = both mates counted), one FASTA, "
                       "or one BAM/CRAM")
    count.add_argument("--sample", required=True, help="sample id stored in the output")
    count.add_argument("--k", type=int, default=6, help="k-mer length, 1..12 (default 6)")
    count.add_argument("--source", choices=["reads", "fasta", "bam", "aligned", "cram"],
                       default="reads", help="input kind (default reads; aligned/cram = bam)")
    count.add_argument("--threads", type=int, default=1, help="counting threads (default 1)")
    count.add_argument("--min-mapq", type=int, default=20,
                       help="BAM/CRAM: minimum mapping quality (default 20)")
    count.add_argument("--regions", metavar="BED",
                       help="BAM/CRAM: count only reads overlapping these regions (whole reads)")
    count.add_argument("--reference", metavar="FASTA", help="CRAM: reference FASTA")
    count.add_argument("--batch-mb", type=float, default=DEFAULT_BATCH_BYTES / (1 << 20),
                       help="input bytes per batch (memory ~ 2 x threads x batch; default 1)")
    count.add_argument("--out", required=True, help="output .npz")
    count.add_argument("--log", help="also write the log to this file")
    count.set_defaults(func=_cli_count)

    matrix = actions.add_parser(
        "matrix", help="merge per-sample counts into a normalised feature matrix",
        description="Merge the .npz counts of every sample in the sheet (matched by the sample id "
        "stored in each file; all must have the same k) into a parquet feature matrix with "
        "columns sample, condition and one column per canonical k-mer.")
    matrix.add_argument("counts", nargs="+", metavar="COUNTS", help=".npz files from `count`")
    matrix.add_argument("--samples", required=True, help="sample sheet TSV (sample, condition)")
    matrix.add_argument("--normalise", choices=NORMALISATIONS, default="clr",
                        help="counts (raw), frequency (rows sum to 1) or clr (centred log-ratio; "
                        "default)")
    matrix.add_argument("--pseudocount", type=float, default=DEFAULT_PSEUDOCOUNT,
                        help="CLR pseudocount added to every count (default 0.5)")
    matrix.add_argument("--out", required=True, help="output parquet")
    matrix.add_argument("--names", help="also write the feature names, one per line")
    matrix.add_argument("--log", help="also write the log to this file")
    matrix.set_defaults(func=_cli_matrix)


def main(argv=None) -> int:
    """`python -m genogan.kmers ...`: the `kmers` subcommand alone (used by the benchmark)."""
    import sys

    parser = argparse.ArgumentParser(prog="python -m genogan.kmers")
    register_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["kmers", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except GenoganInputError as err:
        print(f"genogan kmers: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
