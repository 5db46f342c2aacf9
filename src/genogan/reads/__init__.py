"""Reads I/O shared by the aligner and the k-mer counter: open, chunk, parse, progress.

Files are opened with xopen (plain, gzip/bgzip, bz2, xz, zstd — detected from the content;
gzip is decompressed with ISA-L or zlib-ng where available), cut into chunks of whole records by
``dnaio.read_chunks`` / ``dnaio.read_paired_chunks`` without parsing them (cheap, so the
parent process or thread does only that), and parsed at C speed by dnaio wherever the work
runs. Every problem becomes one :class:`~genogan.errors.GenoganInputError` naming the file,
the record number where known, and the fix: malformed or truncated records, corrupt or
truncated gzip, mates with different names or read counts.
"""

from __future__ import annotations

import io
import logging
import re
import time
import zlib
from pathlib import Path

from genogan.errors import GenoganInputError

logger = logging.getLogger("genogan")

DEFAULT_CHUNK_BYTES = 4 << 20
# dnaio and xopen are imported inside the functions: the workflow imports genogan.align (and so
# this module) while parsing, where only Snakemake's own dependencies may be needed.
_REPAIR = "`seqkit pair`"


def open_binary(path, threads: int = 0):
    """Binary reader of a plain or compressed file (xopen; `threads` > 0 decompresses in a
    separate process, e.g. pigz/igzip, 0 in-process)."""
    from xopen import xopen

    try:
        return xopen(path, "rb", threads=threads)
    except OSError as err:
        raise GenoganInputError(f"cannot open reads file ({err})", path=path,
                                fix="check the path in the sample sheet") from err


def read_error(err: Exception, path, record: int | None = None,
               kind: str = "FASTQ") -> GenoganInputError:
    """The one message for a file that cannot be read or parsed (`record` is 1-based)."""
    where = f" at record {record}" if record is not None else ""
    if isinstance(err, EOFError | zlib.error) or "compressed" in str(err).lower() or \
            "gzip" in str(err).lower():
        return GenoganInputError(
            f"compressed file is truncated or corrupt{where} ({err})", path=path,
            fix="re-download or re-create the file; check it with `gzip -t`")
    record = "" if record is None else f" {record}"
    detail = getattr(err, "message", None) or str(err)
    return GenoganInputError(
        f"malformed or truncated {kind} record{record} ({detail})", path=path,
        fix="check that the file is complete FASTQ (4 lines a record) or FASTA; re-download "
            "or re-export it")


def _format_error_record(err, first_record: int) -> int | None:
    line = getattr(err, "line", None)
    return None if line is None else first_record + line // 4 + 1


def count_records(data: bytes) -> int:
    """Records in a chunk of whole records (bytes.count: C speed)."""
    if data[:1] in (b">", b"#"):
        return data.count(b"\n>") + 1
    return (data.rstrip().count(b"\n") + 4) // 4 if data.strip() else 0


def chunks(path, chunk_bytes: int = DEFAULT_CHUNK_BYTES, threads: int = 0):
    """Yield (index of the first record, bytes) chunks of whole FASTQ/FASTA records of one
    file, not parsed. A record longer than `chunk_bytes` doubles the chunk size."""
    import dnaio

    first = consumed = 0
    try:
        while True:
            try:
                with open_binary(path, threads) as handle:
                    _skip(handle, consumed)
                    for chunk in _guarded(dnaio.read_chunks(handle, chunk_bytes), path, path):
                        data = bytes(chunk)
                        yield first, data
                        first += count_records(data)
                        consumed += len(data)
                return
            except OverflowError:
                chunk_bytes *= 2
    except GenoganInputError:
        raise
    except (OSError, EOFError, ValueError, AssertionError, zlib.error) as err:
        raise read_error(err, path, first + 1) from err


def paired_chunks(path1, path2, chunk_bytes: int = DEFAULT_CHUNK_BYTES, threads: int = 0):
    """Yield (index of the first pair, R1 bytes, R2 bytes): chunks holding the same number of
    records (except perhaps the last, which `pair_columns` checks). A record longer than
    `chunk_bytes` doubles the chunk size."""
    import dnaio

    first = used1 = used2 = 0
    try:
        while True:
            try:
                with open_binary(path1, threads) as h1, open_binary(path2, threads) as h2:
                    _skip(h1, used1)
                    _skip(h2, used2)
                    pairs = dnaio.read_paired_chunks(h1, h2, chunk_bytes)
                    for c1, c2 in _guarded(pairs, path1, path2):
                        data1, data2 = bytes(c1), bytes(c2)
                        yield first, data1, data2
                        first += count_records(data1)
                        used1, used2 = used1 + len(data1), used2 + len(data2)
                return
            except ValueError as err:
                if "do not fit" not in str(err):
                    raise
                chunk_bytes *= 2
    except GenoganInputError:
        raise
    except dnaio.FileFormatError as err:
        ended = re.search(r"File (\d) ended|R(\d) reads is empty", str(err))
        if ended is None:
            raise read_error(err, f"{path1}' or '{path2}", first + 1) from err
        short = int(ended[1] or ended[2])
        counts = (first, first + 1) if short == 1 else (first + 1, first)
        raise _count_error(path1, path2, str(err), counts) from err
    except (OSError, EOFError, ValueError, zlib.error) as err:
        raise read_error(err, f"{path1}' or '{path2}", first + 1) from err


def _skip(handle, n: int) -> None:
    """Read past the first `n` (decompressed) bytes: where a retry with larger chunks goes on."""
    while n > 0:
        got = len(handle.read(min(n, 1 << 22)))
        if not got:
            return
        n -= got


def _guarded(iterator, path1, path2):
    """Re-raise decompression errors with the file they come from (xopen does not say)."""
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except (EOFError, zlib.error) as err:
            raise read_error(err, _which_broken(path1, path2)) from err
        yield item


def _which_broken(path1, path2):
    """The file of a pair whose decompression fails (checked once, after a failure)."""
    from xopen import xopen

    for path in dict.fromkeys((path1, path2)):
        try:
            with xopen(path, "rb") as handle:
                while handle.read(1 << 22):
                    pass
        except (EOFError, OSError, zlib.error):
            return path
    return path1


def _count_error(path1, path2, detail: str, counts: tuple[int, int] | None = None):
    if counts is not None:
        n1, n2 = counts
        shorter, longer, n = (path1, path2, n1) if n1 < n2 else (path2, path1, n2)
        problem = f"'{shorter}' ends after {n} reads but '{longer}' has more"
    else:
        problem = detail
    return GenoganInputError(
        f"mate files have different read counts: {problem}", path=path1,
        fix=f"give the R1 and R2 files of the same run (same reads, same order); re-export "
            f"them or re-pair them with e.g. {_REPAIR}")


def parse(data: bytes, path, first_record: int = 0) -> list:
    """dnaio records (``.id``, ``.sequence``, ``.qualities``) of one chunk."""
    import dnaio

    if data[-4:].count(b"\n") > 1:  # blank lines at the end of the file
        data = data.rstrip() + b"\n"
        if data == b"\n":
            return []
    fileformat = "fasta" if data[:1] in (b">", b"#") else "fastq"
    try:
        with dnaio.open(io.BytesIO(data), fileformat=fileformat) as reader:
            return list(reader)
    except dnaio.FileFormatError as err:
        record = _format_error_record(err, first_record) if fileformat == "fastq" else None
        raise read_error(err, path, record,
                         fileformat.upper()) from err


def columns(data: bytes, path, first_record: int = 0):
    """(ids, sequences, qualities or Nones) of one chunk."""
    records = parse(data, path, first_record)
    return ([r.id for r in records], [r.sequence for r in records],
            [r.qualities for r in records])


def pair_columns(data1: bytes, data2: bytes, path1, path2, first_record: int = 0):
    """(names, seqs1, quals1, seqs2, quals2) of one pair of chunks; mate names must agree up
    to a trailing /1, /2 (the shared name has it dropped)."""
    n1, s1, q1 = columns(data1, path1, first_record)
    n2, s2, q2 = columns(data2, path2, first_record)
    if len(n1) != len(n2):
        raise _count_error(path1, path2, "", (first_record + len(n1), first_record + len(n2)))
    names = n1 if n1 == n2 else [mate_name(a, b, first_record + i, path1, path2)
                                 for i, (a, b) in enumerate(zip(n1, n2, strict=True))]
    return names, s1, q1, s2, q2


def mate_name(n1: str, n2: str, index: int, path1, path2) -> str:
    """Shared name of a pair (a trailing /1, /2 is dropped); mismatched names are an error."""
    if n1 == n2:
        return n1
    if n1[:-2] == n2[:-2] and n1.endswith("/1") and n2.endswith("/2"):
        return n1[:-2]
    raise GenoganInputError(
        f"mate names differ at read pair {index + 1}: '{n1}' in '{path1}' vs '{n2}' in "
        f"'{path2}'", path=path2,
        fix=f"give R1 and R2 files whose reads are in the same order (re-export them, or "
            f"re-pair them with e.g. {_REPAIR})")


def check(path1, path2=None) -> int:
    """Read every record of one file or a mate pair once and return the number of reads
    (pairs): what a consumer that parses the files itself (the aligner's minimap2) would pass
    over silently — malformed or truncated records, corrupt or truncated compression, mates
    with different names or counts — becomes the reads layer's error.

    The fast path is dnaio's reader (C speed, mate names checked by dnaio); on any problem the
    files are read again the chunked way (`chunks` / `paired_chunks` + `parse`, as the k-mer
    counter reads them), which is the authority: it raises the error naming file, record and
    fix, or counts the reads where only the fast path objected (e.g. blank lines at the end)."""
    import dnaio

    try:
        with dnaio.open(path1, file2=path2, open_threads=0) as reader:
            return sum(1 for _ in reader)
    except (dnaio.FileFormatError, OSError, EOFError, ValueError, zlib.error):
        pass
    if path2 is None:
        return sum(len(parse(data, path1, first)) for first, data in chunks(path1))
    return sum(len(pair_columns(data1, data2, path1, path2, first)[0])
               for first, data1, data2 in paired_chunks(path1, path2))


def records(path, kind: str = "FASTA"):
    """Stream (name, sequence) of every record of a FASTA/FASTQ (plain or compressed)."""
    import dnaio

    try:
        with dnaio.open(path, open_threads=0) as reader:
            for rec in reader:
                yield rec.name, rec.sequence
    except dnaio.FileFormatError as err:
        raise read_error(err, path, None, kind) from err
    except (OSError, EOFError, ValueError, zlib.error) as err:
        raise read_error(err, path, None, kind) from err


def check_file(path, label: str, sample: str | None = None) -> Path:
    """`path` exists and is not empty."""
    path = Path(path)
    if not path.is_file():
        raise GenoganInputError(f"{label} file not found", sample=sample, path=path,
                                fix="check the path in config/samples.tsv or config.yaml")
    if path.stat().st_size == 0:
        raise GenoganInputError(f"{label} file is empty", sample=sample, path=path,
                                fix="re-create or re-download it")
    return path


class Progress:
    """Reads (and bases) done, logged every `every_s` seconds and at the end."""

    def __init__(self, what: str, unit: str = "reads", every_s: float = 10.0):
        self.what, self.unit, self.every_s = what, unit, every_s
        self.reads = self.bases = 0
        self.start = self.last = time.perf_counter()

    def add(self, reads: int, bases: int = 0) -> None:
        self.reads += reads
        self.bases += bases
        now = time.perf_counter()
        if now - self.last >= self.every_s:
            self.last = now
            self.log("progress")

    def log(self, stage: str = "done") -> None:
        secs = max(time.perf_counter() - self.start, 1e-9)
        bases = (f", {self.bases / 1e6:.1f} M bases ({self.bases / secs / 1e6:.1f} M bases/s)"
                 if self.bases else "")
        logger.info("%s %s: %s %s in %.2f s (%.0f %s/s)%s", self.what, stage,
                    f"{self.reads:,}", self.unit, secs, self.reads / secs, self.unit, bases)
