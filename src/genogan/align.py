"""Reads → coordinate-sorted, indexed BAM (with read group), alignment stats, BAM/CRAM checks.

Engines
-------
``mappy`` (default, pip-only)
    minimap2's own Python binding, in-process. mappy 2.31 holds the GIL inside ``Aligner.map``
    (measured: two threads map no faster than one), so ``threads`` > 1 means that many *forked
    worker processes*, sharing the index copy-on-write. The parent only cuts the FASTQ into raw
    4-line blocks (plain or gzip; other layouts such as FASTA reads are parsed with pysam and sent
    as records). Each worker parses and validates its block, maps the pairs and formats SAM text,
    then writes it straight into the pipe of ``samtools sort`` — in input order (workers take
    turns), so the BAM does not depend on scheduling. Sorting, BGZF compression and indexing
    (``--write-index``) overlap the mapping, as in ``minimap2 | samtools sort``, and memory stays
    bounded whatever the number of reads. The sorter is the ``samtools`` binary when one ≥ 1.10
    is on PATH (usually built with libdeflate), otherwise the samtools bundled with pysam.
``minimap2`` / ``bwa-mem``
    The binaries (``envs/align.yaml``) write SAM to the same sorter. ``bwa index`` is built
    beside the reference on first use (under a lock file, renamed into place).

Records written by the mappy engine
-----------------------------------
* Primary alignments; further non-overlapping primary chains of a read are written as
  supplementary (0x800, soft-clipped, full SEQ); secondary alignments are not written.
* An unmapped read whose mate is mapped takes the mate's RNAME/POS (SAM convention), so it sorts
  next to its mate; the mapped mate points at its own position as RNEXT/PNEXT.
* Proper pair (0x2): both mates primary-mapped to the same contig on opposite strands, facing
  each other (FR: the forward read starts before the reverse read ends) and the fragment (TLEN)
  is at most ``max_insert`` (default 800, minimap2's ``-F`` for ``-x sr``).
* TLEN is the SAM-spec span from the leftmost to the rightmost mapped base, positive for the
  leftmost mate (read 1 on ties). Tags: ``NM`` and ``RG``. A trailing ``/1``, ``/2`` on read
  names is dropped; mates must otherwise share their name.

Output is atomic: the BAM and its ``.bai`` are written under temporary names and renamed into
place (index first), so a failed or killed run never leaves a BAM that looks finished.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import fcntl
import gzip
import functools
import io
import logging
import math
import multiprocessing
import operator
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from itertools import islice, zip_longest
from pathlib import Path

from genogan import __version__
from genogan.errors import GenoganInputError
from genogan.io import atomic_path, timed

logger = logging.getLogger("genogan")

ENGINES = ("mappy", "minimap2", "bwa-mem")
DEFAULT_MAX_INSERT = 800
BATCH_PAIRS = 4000
RAW_BYTES_PER_READ = 330  # raw FASTQ block size per batch ≈ BATCH_PAIRS reads of 150 bp
BWA_INDEX_SUFFIXES = (".amb", ".ann", ".bwt", ".pac", ".sa")
INSTALL_HINT = (
    "install it with conda (`conda env create -f envs/align.yaml`, or run Snakemake with "
    "--software-deployment-method conda) or your package manager (e.g. `apt-get install {pkg}`), "
    "or use engine 'mappy', which needs only pip"
)
STATS_COLUMNS = ("sample", "total_reads", "mapped_reads", "mapped_pct", "properly_paired_reads",
                 "properly_paired_pct", "mean_depth", "mean_mapq", "genome_length")

# The sorter runs samtools (bundled with pysam) in a child process: it reads SAM/BAM on stdin.
_SORT_CODE = ("import sys, pysam; assert sys.argv[1] == 'sort'; "
              "pysam.samtools.sort(*sys.argv[2:], catch_stdout=False)")


# --------------------------------------------------------------------------------------------
# Reference helpers
# --------------------------------------------------------------------------------------------
def reference_contigs(reference) -> list[tuple[str, int]]:
    """(name, length) of each reference contig, in order.

    Reads the ``.fai`` when one exists beside the FASTA (or when `reference` is the .fai itself),
    otherwise scans the FASTA with a C parser; no file is written next to the user's reference.
    """
    reference = Path(reference)
    fai = reference if reference.suffix == ".fai" else Path(f"{reference}.fai")
    if fai.exists() and (fai == reference or fai.stat().st_mtime >= reference.stat().st_mtime):
        contigs = []
        with open(fai) as handle:
            for line in handle:
                fields = line.rstrip("\n").split("\t")
                if len(fields) >= 2:
                    contigs.append((fields[0], int(fields[1])))
    else:
        if not reference.exists():
            raise GenoganInputError("reference FASTA not found", path=reference,
                                    fix="check the `reference` path in config/config.yaml")
        import pysam

        with pysam.FastxFile(str(reference)) as handle:
            contigs = [(rec.name, len(rec.sequence)) for rec in handle]
    if not contigs:
        raise GenoganInputError("reference has no sequences", path=reference,
                                fix="give a FASTA file with at least one '>' record")
    return contigs


def _sam_header(contigs, sample: str, rg_id: str, command: str) -> str:
    lines = ["@HD\tVN:1.6\tSO:unsorted"]
    lines += [f"@SQ\tSN:{name}\tLN:{length}" for name, length in contigs]
    lines.append(f"@RG\tID:{rg_id}\tSM:{sample}\tPL:ILLUMINA")
    lines.append(f"@PG\tID:genogan-align\tPN:genogan\tVN:{__version__}\tCL:{command}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# mappy engine: per-pair SAM formatting (runs in worker processes)
# --------------------------------------------------------------------------------------------
class Flag(enum.IntFlag):
    """SAM FLAG bits (SAM spec §1.4)."""

    PAIRED = 0x1
    PROPER_PAIR = 0x2
    UNMAPPED = 0x4
    MATE_UNMAPPED = 0x8
    REVERSE = 0x10
    MATE_REVERSE = 0x20
    READ1 = 0x40
    READ2 = 0x80
    SECONDARY = 0x100
    QC_FAIL = 0x200
    DUPLICATE = 0x400
    SUPPLEMENTARY = 0x800


def _clipped_cigar(hit, read_len: int, query_reversed: bool = False) -> str:
    """CIGAR with soft clips for the unaligned read ends, in reference orientation.

    mappy's q_st/q_en are on the read as given, except for read 2 of a pair
    (`query_reversed`): mappy maps the reverse complement of read 2 and flips the strand back,
    but not the query coordinates, so they are on the reverse complement of read 2.
    """
    if (hit.strand > 0) != query_reversed:
        lead, trail = hit.q_st, read_len - hit.q_en
    else:
        lead, trail = read_len - hit.q_en, hit.q_st
    cigar = hit.cigar_str
    if lead:
        cigar = f"{lead}S{cigar}"
    if trail:
        cigar = f"{cigar}{trail}S"
    return cigar


def _split_hits(hits, max_insert: int | None = None):
    """(read-1 hit, read-2 hit, others → supplementary) from the primary hits; secondaries go.

    Each mate's first primary hit is its SAM-primary record, except when those two do not form
    a proper pair but other primary hits do: minimap2 then makes that pair the primary records
    (pe.c, ``sam_pri``); mappy does not expose the flag, so the pair is found here again.
    """
    primary: tuple[list, list] = ([], [])
    for hit in hits:
        if hit.is_primary:
            primary[hit.read_num - 1].append(hit)
    h1 = primary[0][0] if primary[0] else None
    h2 = primary[1][0] if primary[1] else None
    if (max_insert is not None and h1 is not None and h2 is not None
            and len(primary[0]) + len(primary[1]) > 2 and not _is_proper(h1, h2, max_insert)):
        h1, h2 = next(((a, b) for a in primary[0] for b in primary[1]
                       if _is_proper(a, b, max_insert)), (h1, h2))
    extra = [hit for hit in primary[0] + primary[1] if hit is not h1 and hit is not h2]
    return h1, h2, extra


def _is_proper(h1, h2, max_insert: int) -> bool:
    """Same contig, opposite strands, facing each other (FR), fragment within `max_insert`."""
    if h1.ctg != h2.ctg or h1.strand == h2.strand:
        return False
    fwd, rev = (h1, h2) if h1.strand > 0 else (h2, h1)
    if fwd.r_st > rev.r_en - 1:
        return False
    return max(h1.r_en, h2.r_en) - min(h1.r_st, h2.r_st) <= max_insert


def _read_fields(seq, qual, hit, revcomp):
    """SEQ and QUAL as SAM wants them: reverse-complemented on the reverse strand, '*' if empty."""
    if hit is not None and hit.strand < 0:
        return revcomp(seq), (qual[::-1] if qual else "*")
    return (seq or "*"), (qual or "*")


def _mate_bits(hit, mate, first: bool) -> int:
    """FLAG bits of a record of a pair that are set by its own and its mate's hit."""
    flag = Flag.PAIRED | (Flag.READ1 if first else Flag.READ2)
    if hit is None:
        flag |= Flag.UNMAPPED
    elif hit.strand < 0:
        flag |= Flag.REVERSE
    if mate is None:
        flag |= Flag.MATE_UNMAPPED
    elif mate.strand < 0:
        flag |= Flag.MATE_REVERSE
    return flag


def _pair_lines(name, s1, q1, s2, q2, hits, tags, max_insert, revcomp, out) -> None:
    """Append the SAM lines of one read pair (mappy hits of `map(s1, s2)`) to `out`."""
    h1, h2, extra = _split_hits(hits, max_insert)
    mates = ((h1, h2, s1, q1, True), (h2, h1, s2, q2, False))
    if h1 is None and h2 is None:
        for _, _, seq, qual, first in mates:
            flag = _mate_bits(None, None, first)
            out.append(f"{name}\t{flag:d}\t*\t0\t0\t*\t*\t0\t0\t{seq or '*'}\t{qual or '*'}\t"
                       f"{tags}")
        return
    proper = h1 is not None and h2 is not None and _is_proper(h1, h2, max_insert)
    tlen1 = 0
    if h1 is not None and h2 is not None and h1.ctg == h2.ctg:
        span = max(h1.r_en, h2.r_en) - min(h1.r_st, h2.r_st)
        tlen1 = span if h1.r_st <= h2.r_st else -span
    for hit, mate, seq, qual, first in mates:
        flag = _mate_bits(hit, mate, first) | (Flag.PROPER_PAIR if proper else 0)
        tlen = tlen1 if first else -tlen1
        if hit is None:  # unmapped, placed at its mapped mate (SAM convention)
            pos = mate.r_st + 1
            out.append(f"{name}\t{flag:d}\t{mate.ctg}\t{pos}\t0\t*\t=\t{pos}\t0\t"
                       f"{seq or '*'}\t{qual or '*'}\t{tags}")
            continue
        sam_seq, sam_qual = _read_fields(seq, qual, hit, revcomp)
        mate = mate or hit  # an unmapped mate sits at this read's position
        rnext = "=" if mate.ctg == hit.ctg else mate.ctg
        out.append(f"{name}\t{flag:d}\t{hit.ctg}\t{hit.r_st + 1}\t{hit.mapq}\t"
                   f"{_clipped_cigar(hit, len(seq), not first)}\t{rnext}\t{mate.r_st + 1}\t"
                   f"{tlen}\t{sam_seq}\t{sam_qual}\tNM:i:{hit.NM}\t{tags}")
    for hit in extra:
        _supplementary_line(name, hit, h1, h2, (s1, q1), (s2, q2), tags, revcomp, out)


def _supplementary_line(name, hit, h1, h2, raw1, raw2, tags, revcomp, out) -> None:
    first = hit.read_num == 1
    seq, qual = raw1 if first else raw2
    mate = h2 if first else h1
    sam_seq, sam_qual = _read_fields(seq, qual, hit, revcomp)
    flag = _mate_bits(hit, mate, first) | Flag.SUPPLEMENTARY
    mate = mate or hit
    rnext = "=" if mate.ctg == hit.ctg else mate.ctg
    out.append(f"{name}\t{flag:d}\t{hit.ctg}\t{hit.r_st + 1}\t{hit.mapq}\t"
               f"{_clipped_cigar(hit, len(seq), not first)}\t{rnext}\t{mate.r_st + 1}\t0\t"
               f"{sam_seq}\t{sam_qual}\tNM:i:{hit.NM}\t{tags}")


def _single_lines(name, seq, qual, hits, tags, revcomp, out) -> None:
    """SAM lines of one single-end read: primary, extra primary chains as supplementary."""
    first = True
    for hit in hits:
        if not hit.is_primary:
            continue
        s, q = _read_fields(seq, qual, hit, revcomp)
        flag = (Flag.REVERSE if hit.strand < 0 else 0) | (0 if first else Flag.SUPPLEMENTARY)
        out.append(f"{name}\t{flag:d}\t{hit.ctg}\t{hit.r_st + 1}\t{hit.mapq}\t"
                   f"{_clipped_cigar(hit, len(seq))}\t*\t0\t0\t{s}\t{q}\tNM:i:{hit.NM}\t{tags}")
        first = False
    if first:
        out.append(f"{name}\t{Flag.UNMAPPED:d}\t*\t0\t0\t*\t*\t0\t0\t{seq or '*'}\t{qual or '*'}\t"
                   f"{tags}")


_WORKER: dict = {}


def _worker_state() -> dict:
    """Per-process mapping state (the aligner is inherited from the parent through fork).

    A fresh ThreadBuffer per batch keeps minimap2's per-thread memory pool from growing over
    a long run (it is cheap to create)."""
    import mappy

    state = _WORKER
    state["buf"] = mappy.ThreadBuffer()
    state["revcomp"] = mappy.revcomp
    return state


def _map_batch(seq_no: int, first_index: int, payload) -> int:
    """Map one batch, write its SAM text to the sorter in input order; return the read count."""
    state = _worker_state()
    out: list[str] = []
    if state["paired"]:
        names, s1, q1, s2, q2 = _pair_columns(payload, state, first_index)
        _map_pairs(state, names, s1, q1, s2, q2, out)
    else:
        names, seqs, quals = _single_columns(payload, state, first_index)
        amap, buf, revcomp, tags = (state["aligner"].map, state["buf"], state["revcomp"],
                                    state["tags"])
        for name, seq, qual in zip(names, seqs, quals, strict=True):
            _single_lines(name, seq, qual, list(amap(seq, name=name, buf=buf)), tags, revcomp, out)
    out.append("")
    data = "\n".join(out).encode()
    if "turn" in state:
        _write_in_turn(state, seq_no, data)
    else:
        _write_all(state["out_fd"], data)
    return len(names)


def _write_in_turn(state, seq_no: int, data: bytes) -> None:
    """Workers write to the sorter's pipe directly (no copy through the parent), one batch at a
    time and in input order, so the BAM is the same whatever the scheduling."""
    cond, turn, abort = state["cond"], state["turn"], state["abort"]
    with cond:
        while turn.value != seq_no:
            if abort.value:
                raise RuntimeError("alignment aborted")
            cond.wait(0.5)
    try:
        _write_all(state["out_fd"], data)
    finally:
        with cond:
            turn.value += 1
            cond.notify_all()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _map_pairs(state, names, seqs1, quals1, seqs2, quals2, out) -> None:
    """Map read pairs and format their SAM lines (one formatting path: `_pair_lines`)."""
    amap, buf, revcomp = state["aligner"].map, state["buf"], state["revcomp"]
    tags, max_insert = state["tags"], state["max_insert"]
    for name, s1, q1, s2, q2 in zip(names, seqs1, quals1, seqs2, quals2, strict=True):
        _pair_lines(name, s1, q1, s2, q2, list(amap(s1, s2, name=name, buf=buf)), tags, max_insert,
                    revcomp, out)


# --------------------------------------------------------------------------------------------
# Reading FASTQ: raw 4-line blocks split by the parent, parsed by the workers
# --------------------------------------------------------------------------------------------
_FIRST_CHAR = operator.itemgetter(slice(0, 1))
_HAS_SPACE = re.compile(r"\s").search


def _open_binary(path):
    """Binary line reader for plain or gzip files (by magic bytes, not by name)."""
    with open(path, "rb") as handle:
        gz = handle.read(2) == b"\x1f\x8b"
    if gz:
        return io.BufferedReader(gzip.open(path, "rb"), buffer_size=1 << 20)
    return open(path, "rb", buffering=1 << 20)


def _is_four_line_fastq(path) -> bool:
    """Whether the file starts like standard FASTQ (4 lines a record), the fast input path."""
    with _open_binary(path) as handle:
        head = list(islice(handle, 4))
    if len(head) < 4:
        return False
    return (head[0][:1] == b"@" and head[2][:1] == b"+"
            and len(head[1].rstrip(b"\r\n")) == len(head[3].rstrip(b"\r\n")))


def _input_batches(fq1, fq2, batch_pairs: int):
    """Yield (index of first read, payload) batches; both mates' batches have equal counts.

    Standard 4-line FASTQ travels as raw text blocks (cheap to split and to pass to workers);
    anything else (FASTA reads, wrapped FASTQ) is parsed here by pysam and sent as records.
    """
    if all(_is_four_line_fastq(p) for p in (fq1, fq2) if p is not None):
        yield from _raw_batches(fq1, fq2, batch_pairs)
    else:
        yield from _record_batches(fq1, fq2, batch_pairs)


class _FastqBlocks:
    """Raw blocks of whole 4-line FASTQ records, cut from large reads of a plain or gzip file.

    Lines are counted with `bytes.count` (C speed): no Python work is done per read here.
    """

    def __init__(self, handle):
        self.handle, self.buf, self.eof = handle, b"", False

    def fill(self, size: int) -> None:
        while len(self.buf) < size and not self.eof:
            chunk = self.handle.read(max(size - len(self.buf), 1 << 16))
            if chunk:
                self.buf += chunk
            else:  # end of file: drop trailing blank lines, end with exactly one newline
                self.eof = True
                body = self.buf.rstrip()
                self.buf = body + b"\n" if body else b""

    def exhausted(self) -> bool:
        """Whether nothing but blank lines is left."""
        while not self.buf.strip() and not self.eof:
            self.fill(len(self.buf) + (1 << 16))
        return not self.buf.strip()

    def _cut(self, end: int) -> bytes:
        block, self.buf = self.buf[:end], self.buf[end:]
        return block

    def take(self, size: int) -> tuple[bytes, int]:
        """About `size` bytes of whole records, (block, records); (b"", 0) at the end.

        An incomplete last record is passed on as is (the parser reports it)."""
        while True:
            self.fill(size)
            buf = self.buf
            limit = min(size, len(buf))
            lines = buf.count(b"\n", 0, limit)
            if self.eof and limit == len(buf):
                return self._cut(limit), (lines + 3) // 4
            if lines >= 4:
                pos = buf.rfind(b"\n", 0, limit)
                for _ in range(lines % 4):
                    pos = buf.rfind(b"\n", 0, pos)
                return self._cut(pos + 1), lines // 4
            size *= 2  # a record longer than the block

    def take_records(self, records: int, hint: int) -> tuple[bytes, int]:
        """Exactly `records` records (fewer only at the end of the file): (block, records).

        `hint` is the mate block's size: mates usually have equal-length records, so one
        count confirms the cut; otherwise lines are walked one by one."""
        want = 4 * records
        self.fill(hint + 1)
        buf = self.buf
        if buf[hint - 1:hint] == b"\n" and buf.count(b"\n", 0, hint) == want:
            return self._cut(hint), records
        pos = found = 0
        while found < want:
            j = self.buf.find(b"\n", pos)
            if j >= 0:
                pos, found = j + 1, found + 1
            elif self.eof:
                block = self._cut(len(self.buf))
                return block, (block.count(b"\n") + 3) // 4
            else:
                self.fill(len(self.buf) + (1 << 20))
        return self._cut(pos), records


def _raw_batches(fq1, fq2, batch_pairs: int):
    size = batch_pairs * RAW_BYTES_PER_READ
    with contextlib.ExitStack() as stack:
        r1 = _FastqBlocks(stack.enter_context(_open_binary(fq1)))
        r2 = _FastqBlocks(stack.enter_context(_open_binary(fq2))) if fq2 is not None else None
        first = 0
        while True:
            block1, n1 = r1.take(size)
            if r2 is None:
                if not n1:
                    return
                yield first, ("raw", block1, None)
            else:
                if not n1:
                    if not r2.exhausted():
                        _count_mismatch(fq1, fq2, first, first + 1)
                    return
                block2, n2 = r2.take_records(n1, len(block1))
                if n2 != n1:
                    _count_mismatch(fq1, fq2, first + n1, first + n2)
                yield first, ("raw", block1, block2)
            first += n1


def _count_mismatch(fq1, fq2, n1: int, n2: int):
    shorter, longer, n = (fq1, fq2, n1) if n1 < n2 else (fq2, fq1, n2)
    raise GenoganInputError(
        f"mate files have different read counts: '{shorter}' ends after {n} reads but "
        f"'{longer}' has more", path=fq1,
        fix="give the R1 and R2 files of the same run (same reads, same order); re-export "
            "them or re-pair them with e.g. `seqkit pair`")


def _record_batches(fq1, fq2, batch_pairs: int):
    batch: list = []
    first = 0
    records = _fastx(fq1) if fq2 is None else zip_longest(_fastx(fq1), _fastx(fq2))
    for rec in records:
        if fq2 is not None:
            r1, r2 = rec
            if r1 is None or r2 is None:
                n = first + len(batch)
                _count_mismatch(fq1, fq2, n if r1 is None else n + 1, n if r2 is None else n + 1)
            rec = r1 + r2
        batch.append(rec)
        if len(batch) >= batch_pairs:
            yield first, ("records", batch)
            first += len(batch)
            batch = []
    if batch:
        yield first, ("records", batch)


def _fastx(path):
    """(name, sequence, quality) records from a FASTQ/FASTA (plain or gzip), C-speed via pysam."""
    import pysam

    try:
        with pysam.FastxFile(str(path)) as handle:
            for rec in handle:
                yield rec.name, rec.sequence, rec.quality
    except (ValueError, OSError) as err:
        raise GenoganInputError(f"cannot read FASTQ ({err})", path=path,
                                fix="the file is truncated or malformed; re-download or "
                                    "re-export it") from err


def _fastq_columns(blob: bytes, path, first_index: int):
    """Names, sequences and qualities of a raw 4-line FASTQ block, validated in bulk."""
    try:
        text = blob.decode("ascii")
    except UnicodeDecodeError:
        raise GenoganInputError("FASTQ contains non-ASCII bytes (binary or corrupt data) near "
                                f"read {first_index + 1}", path=path,
                                fix="re-download or re-export the file") from None
    if "\r" in text:  # Windows line endings
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    heads, seqs, plus, quals = lines[0::4], lines[1::4], lines[2::4], lines[3::4]
    if (len(lines) % 4 or set(map(_FIRST_CHAR, heads)) != {"@"}
            or set(map(_FIRST_CHAR, plus)) != {"+"}
            or list(map(len, seqs)) != list(map(len, quals))):
        bad = _first_bad_record(heads, seqs, plus, quals)
        raise GenoganInputError(f"malformed or truncated FASTQ record {first_index + bad + 1}",
                                path=path, fix="check the file is complete 4-line FASTQ "
                                "(re-download or re-export it)")
    names = [h[1:] for h in heads]
    if (" " in text or "\t" in text) and any(map(_HAS_SPACE, names)):
        names = [n.split(None, 1)[0] if n.strip() else n for n in names]
    return names, seqs, quals


def _first_bad_record(heads, seqs, plus, quals) -> int:
    for i, head in enumerate(heads):
        if (i >= len(quals) or head[:1] != "@" or plus[i][:1] != "+"
                or len(seqs[i]) != len(quals[i])):
            return i
    return len(heads)


def _pair_columns(payload, state, first_index):
    """(names, seqs1, quals1, seqs2, quals2) of a batch of pairs; mate names must agree."""
    if payload[0] == "raw":
        names1, s1, q1 = _fastq_columns(payload[1], state["fq1"], first_index)
        names2, s2, q2 = _fastq_columns(payload[2], state["fq2"], first_index)
    else:
        names1, s1, q1, names2, s2, q2 = (list(col) for col in zip(*payload[1], strict=True))
    names = names1 if names1 == names2 else [
        _mate_names(a, b, first_index + i, state) for i, (a, b) in
        enumerate(zip(names1, names2, strict=True))]
    return names, s1, q1, s2, q2


def _single_columns(payload, state, first_index):
    if payload[0] == "raw":
        return _fastq_columns(payload[1], state["fq1"], first_index)
    names, seqs, quals = (list(col) for col in zip(*payload[1], strict=True))
    return names, seqs, quals


def _mate_names(n1: str, n2: str, index: int, state) -> str:
    """Shared name of a pair (a trailing /1, /2 is dropped); mismatched names are an error."""
    if n1 == n2:
        return n1
    if n1[:-2] == n2[:-2] and n1.endswith("/1") and n2.endswith("/2"):
        return n1[:-2]
    raise GenoganInputError(
        f"mate names differ at read pair {index + 1}: '{n1}' in '{state['fq1']}' vs '{n2}' in "
        f"'{state['fq2']}'", path=state["fq2"],
        fix="give R1 and R2 files whose reads are in the same order (re-export them, or "
            "re-pair them with e.g. `seqkit pair`)")


# --------------------------------------------------------------------------------------------
# Sorter: samtools sort (from pysam) in a child process reading SAM on stdin
# --------------------------------------------------------------------------------------------
class _StderrDrain(threading.Thread):
    """Collect a child's stderr (logged, and quoted in errors) without blocking the pipe."""

    def __init__(self, stream, label: str):
        super().__init__(daemon=True)
        self.stream, self.label, self.lines = stream, label, deque(maxlen=50)

    def run(self):
        for raw in self.stream:
            line = raw.decode(errors="replace").rstrip()
            if line:
                self.lines.append(line)
                logger.debug("%s: %s", self.label, line)

    def tail(self) -> str:
        self.join(timeout=5)
        return "\n".join(self.lines)


@functools.cache
def _samtools_prefix() -> tuple[str, ...]:
    """How to run `samtools`: the binary on PATH when recent enough (≥ 1.10, for --write-index;
    it is usually built with libdeflate, ~30 % less CPU than pysam's zlib build), else the copy
    bundled with pysam in a child Python process, so the mappy engine still needs only pip."""
    exe = shutil.which("samtools")
    if exe:
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, timeout=30)
            match = re.match(r"samtools (\d+)\.(\d+)", out.stdout.decode(errors="replace"))
            if match and (int(match[1]), int(match[2])) >= (1, 10):
                return (exe,)
        except (OSError, subprocess.SubprocessError):
            pass
    return (sys.executable, "-c", _SORT_CODE)


def _sort_command(tmp_bam: Path, tmp_bai: Path, threads: int, sort_mem: str) -> list[str]:
    return [*_samtools_prefix(), "sort", "-@", str(max(threads, 1)), "-m", sort_mem,
            "--no-PG", "--write-index", "-T", f"{tmp_bam}.sorttmp",
            "-o", f"{tmp_bam}##idx##{tmp_bai}", "-"]


def _start_sorter(tmp_bam, tmp_bai, threads, sort_mem, stdin=subprocess.PIPE):
    proc = subprocess.Popen(_sort_command(tmp_bam, tmp_bai, threads, sort_mem), stdin=stdin,
                            stderr=subprocess.PIPE)
    drain = _StderrDrain(proc.stderr, "samtools sort")
    drain.start()
    return proc, drain


def _finish(proc, drain, what: str) -> None:
    rc = proc.wait()
    if rc != 0:
        raise RuntimeError(f"{what} failed (exit code {rc}): {drain.tail()}")
    drain.join(timeout=5)


def _kill(*procs) -> None:
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def _atomic_bam(out_bam):
    """Yield (tmp_bam, tmp_bai); on success the index is renamed into place, then the BAM."""
    out_bam = Path(out_bam)
    final_bai = Path(f"{out_bam}.bai")
    with atomic_path(out_bam) as tmp_bam:
        tmp_bai = Path(f"{tmp_bam}.bai")
        try:
            yield tmp_bam, tmp_bai
            if not tmp_bai.exists():
                raise RuntimeError(f"the sorter wrote no index for {out_bam}")
            os.replace(tmp_bai, final_bai)
        finally:
            tmp_bai.unlink(missing_ok=True)
            for leftover in tmp_bam.parent.glob(f"{tmp_bam.name}.sorttmp*"):
                leftover.unlink(missing_ok=True)
    # The BAM was renamed after its index: touch the index so htslib does not call it stale.
    os.utime(final_bai)


# --------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------
def _load_aligner(reference, preset: str, threads: int):
    import mappy

    with timed(logger, f"mappy: indexing {reference}"):
        aligner = mappy.Aligner(str(reference), preset=preset, n_threads=max(threads, 1))
    if not aligner:
        raise GenoganInputError("mappy could not load the reference", path=reference,
                                fix="give a readable FASTA (plain or gzip) or a minimap2 .mmi")
    return aligner


def _aligner_contigs(reference, aligner) -> list[tuple[str, int]]:
    """Contigs for the header: from the .fai when present, else from the index just built
    (no second pass over a large FASTA; also works for a minimap2 .mmi)."""
    if Path(f"{reference}.fai").exists():
        return reference_contigs(reference)
    return [(name, len(aligner.seq(name))) for name in aligner.seq_names]


def _run_mappy(state: dict, batches, threads: int, sort_cmd: list[str], header: str) -> int:
    """Map all batches and stream SAM into the sorter; return the number of reads (pairs).

    The sorter reads a pipe whose write end the forked workers inherit; the pool is forked
    before this process starts any thread (the sorter's stderr reader comes after).
    """
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(AttributeError, OSError):  # Linux: fewer, larger pipe writes
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    executor = sorter = None
    progress = _Progress()
    _WORKER.clear()
    _WORKER.update(state, out_fd=write_fd)
    try:
        if threads > 1 and "fork" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("fork")
            _WORKER.update(turn=ctx.RawValue("q", 0), abort=ctx.RawValue("b", 0),
                           cond=ctx.Condition())
            executor = ProcessPoolExecutor(threads, mp_context=ctx, initializer=os.close,
                                           initargs=(read_fd,))
            executor.submit(int).result()  # forks all workers now
        sorter = subprocess.Popen(sort_cmd, stdin=read_fd, stderr=subprocess.PIPE)
        os.close(read_fd)
        read_fd = None
        drain = _StderrDrain(sorter.stderr, "samtools sort")
        drain.start()
        try:
            _write_all(write_fd, header.encode())
            _dispatch(executor, batches, threads, progress)
        except BrokenPipeError:
            raise RuntimeError(f"samtools sort stopped early: {drain.tail()}") from None
        if executor is not None:
            executor.shutdown(wait=True)
            executor = None
        os.close(write_fd)
        write_fd = None
        progress.done()
        with timed(logger, "sorting and indexing (rest)"):
            _finish(sorter, drain, "samtools sort")
    finally:
        _abort_workers(executor)
        for fd in (read_fd, write_fd):
            if fd is not None:
                os.close(fd)
        _kill(sorter)
        _WORKER.clear()
    return progress.pairs


def _dispatch(executor, batches, threads: int, progress) -> None:
    """Run `_map_batch` on every batch: in this process, or in the pool with at most
    2×threads+2 batches in flight so memory does not grow with the input."""
    if executor is None:
        for seq_no, (first, payload) in enumerate(batches):
            progress.add(_map_batch(seq_no, first, payload))
        return
    pending: deque = deque()
    for seq_no, (first, payload) in enumerate(batches):
        pending.append(executor.submit(_map_batch, seq_no, first, payload))
        if len(pending) >= 2 * threads + 2:
            progress.add(pending.popleft().result())
    while pending:
        progress.add(pending.popleft().result())


def _abort_workers(executor) -> None:
    """After a failure: release workers waiting for their turn, then stop the pool."""
    if executor is None:
        return
    _WORKER["abort"].value = 1
    with _WORKER["cond"]:
        _WORKER["cond"].notify_all()
    executor.shutdown(wait=True, cancel_futures=True)


class _Progress:
    """Log read pairs mapped and pairs/s every few seconds."""

    def __init__(self, every_s: float = 10.0):
        self.pairs, self.start, self.every_s = 0, time.perf_counter(), every_s
        self.last = self.start

    def add(self, n: int) -> None:
        self.pairs += n
        now = time.perf_counter()
        if now - self.last >= self.every_s:
            self.last = now
            logger.info("mapped %d read pairs (%.0f pairs/s)", self.pairs,
                        self.pairs / (now - self.start))

    def done(self) -> None:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        logger.info("mapped %d read pairs in %.2f s (%.0f pairs/s)", self.pairs, elapsed,
                    self.pairs / elapsed)


def _require_binary(name: str, engine: str, pkg: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise GenoganInputError(f"engine '{engine}' needs the '{name}' program, which is not on "
                                "PATH", fix=INSTALL_HINT.format(pkg=pkg))
    return path


def ensure_bwa_index(reference) -> None:
    """Build the bwa index beside the reference once (locked, temp prefix, renamed into place)."""
    reference = Path(reference)
    if all(Path(f"{reference}{s}").exists() for s in BWA_INDEX_SUFFIXES):
        return
    bwa = _require_binary("bwa", "bwa-mem", "bwa")
    lock_path = Path(f"{reference}.bwaindex.lock")
    try:
        lock = open(lock_path, "w")
    except OSError as err:
        raise GenoganInputError(f"cannot write the bwa index beside the reference ({err})",
                                path=reference, fix="make the reference's folder writable, or "
                                "run `bwa index` on it once yourself") from err
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent job may be building it: wait for it
        if all(Path(f"{reference}{s}").exists() for s in BWA_INDEX_SUFFIXES):
            return
        prefix = f"{reference}.bwaindex.tmp{os.getpid()}"
        with timed(logger, f"bwa index {reference}"):
            result = subprocess.run([bwa, "index", "-p", prefix, str(reference)],
                                    capture_output=True, text=True)
        try:
            if result.returncode != 0:
                raise RuntimeError(f"bwa index failed: {result.stderr[-2000:]}")
            for suffix in BWA_INDEX_SUFFIXES:
                os.replace(f"{prefix}{suffix}", f"{reference}{suffix}")
        finally:
            for suffix in BWA_INDEX_SUFFIXES:
                Path(f"{prefix}{suffix}").unlink(missing_ok=True)
    lock_path.unlink(missing_ok=True)


def _binary_command(engine, reference, fq1, fq2, threads, preset, rg_line) -> list[str]:
    reads = [str(fq1)] + ([str(fq2)] if fq2 is not None else [])
    if engine == "minimap2":
        exe = _require_binary("minimap2", engine, "minimap2")
        return [exe, "-a", "-x", preset, "-t", str(threads), "-R", rg_line, str(reference), *reads]
    exe = _require_binary("bwa", engine, "bwa")
    ensure_bwa_index(reference)
    return [exe, "mem", "-t", str(threads), "-R", rg_line, str(reference), *reads]


def _run_binary(command, tmp_bam, tmp_bai, threads, sort_mem) -> None:
    """`aligner ... | samtools sort` with both stderr streams going to the log."""
    logger.info("running: %s | samtools sort", shlex.join(command))
    aligner = sorter = None
    try:
        aligner = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        drain = _StderrDrain(aligner.stderr, Path(command[0]).name)
        drain.start()
        sorter, sort_drain = _start_sorter(tmp_bam, tmp_bai, threads, sort_mem,
                                           stdin=aligner.stdout)
        aligner.stdout.close()  # the sorter owns the read end now
        name = Path(command[0]).name
        aligner_rc, sorter_rc = aligner.wait(), sorter.wait()
        if sorter_rc != 0:  # checked first: a dead sorter also makes the aligner fail (SIGPIPE)
            raise RuntimeError(f"samtools sort failed (exit code {sorter_rc}): "
                               f"{sort_drain.tail()}")
        if aligner_rc != 0:
            raise RuntimeError(f"{name} failed (exit code {aligner_rc}): {drain.tail()}")
        drain.join(timeout=5)
        for line in drain.lines:
            logger.info("%s: %s", name, line)
    finally:
        _kill(aligner, sorter)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def align_sample(reference, fq1, fq2=None, out_bam=None, sample: str | None = None,
                 threads: int = 1, engine: str = "mappy", preset: str = "sr",
                 read_group: str | None = None, max_insert: int = DEFAULT_MAX_INSERT,
                 sort_mem: str = "768M") -> dict:
    """Align reads of one sample to a coordinate-sorted, indexed BAM (``out_bam`` + ``.bai``).

    `fq2` None means single-end. `read_group` is the @RG ID (default: the sample id); SM is
    the sample id, PL ILLUMINA. `sort_mem` is samtools sort's memory per thread.
    Returns {"read_pairs" (reads for single-end; mappy engine only, else None), "seconds",
    "engine"}.
    """
    if out_bam is None or sample is None:
        raise TypeError("align_sample needs out_bam and sample")
    if engine not in ENGINES:
        raise GenoganInputError(f"unknown alignment engine '{engine}'",
                                fix=f"set align.engine to one of {', '.join(ENGINES)}")
    threads = max(int(threads), 1)
    _check_inputs(reference, fq1, fq2, sample)
    rg_id = read_group or sample
    start = time.perf_counter()
    pairs = None
    with _atomic_bam(out_bam) as (tmp_bam, tmp_bai):
        if engine == "mappy":
            pairs = _align_mappy(reference, fq1, fq2, sample, rg_id, threads, preset, max_insert,
                                 sort_mem, tmp_bam, tmp_bai)
        else:
            rg_line = f"@RG\\tID:{rg_id}\\tSM:{sample}\\tPL:ILLUMINA"
            command = _binary_command(engine, reference, fq1, fq2, threads, preset, rg_line)
            _run_binary(command, tmp_bam, tmp_bai, threads, sort_mem)
    seconds = time.perf_counter() - start
    logger.info("aligned sample '%s' with %s to %s in %.2f s", sample, engine, out_bam, seconds)
    return {"read_pairs": pairs, "seconds": seconds, "engine": engine}


def _align_mappy(reference, fq1, fq2, sample, rg_id, threads, preset, max_insert, sort_mem,
                 tmp_bam, tmp_bai) -> int:
    command = shlex.join(["genogan", "align", "--reference", str(reference), "--fq1", str(fq1)]
                         + (["--fq2", str(fq2)] if fq2 else []) + ["--sample", sample])
    aligner = _load_aligner(reference, preset, threads)
    header = _sam_header(_aligner_contigs(reference, aligner), sample, rg_id, command)
    state = {"aligner": aligner, "tags": f"RG:Z:{rg_id}",
             "max_insert": max_insert, "paired": fq2 is not None, "fq1": str(fq1),
             "fq2": None if fq2 is None else str(fq2)}
    sort_cmd = _sort_command(tmp_bam, tmp_bai, threads, sort_mem)
    pairs = _run_mappy(state, _input_batches(fq1, fq2, BATCH_PAIRS), threads, sort_cmd, header)
    if pairs == 0:
        raise GenoganInputError("no reads found in the FASTQ input", sample=sample, path=fq1,
                                fix="the file is empty or not FASTQ; check the fq1/fq2 paths in "
                                    "the sample sheet")
    return pairs


def _check_inputs(reference, fq1, fq2, sample) -> None:
    for label, path in (("reference", reference), ("fq1", fq1), ("fq2", fq2)):
        if path is None:
            continue
        path = Path(path)
        if not path.is_file():
            raise GenoganInputError(f"{label} file not found", sample=sample, path=path,
                                    fix="check the path in config/samples.tsv or config.yaml")
        if path.stat().st_size == 0:
            raise GenoganInputError(f"{label} file is empty", sample=sample, path=path,
                                    fix="re-create or re-download it")


def check_alignment_reference(bam_or_cram, reference_fasta, create_index: bool = True) -> Path:
    """Check that an input BAM/CRAM fits the reference; return its index path.

    The header's contig names and lengths must equal the reference's, the file must be
    coordinate-sorted, and it needs an index (created beside it when missing and allowed).
    """
    import pysam

    path = Path(bam_or_cram)
    if not path.is_file():
        raise GenoganInputError("alignment file not found", path=path,
                                fix="check the bam/cram path in config/samples.tsv")
    try:
        with pysam.AlignmentFile(str(path), reference_filename=str(reference_fasta)) as handle:
            header = handle.header.to_dict()
            contigs = list(zip(handle.references, handle.lengths, strict=True))
    except (ValueError, OSError) as err:
        raise GenoganInputError(f"cannot read the alignment file ({err})", path=path,
                                fix="give a valid BAM or CRAM") from err
    _compare_contigs(path, contigs, reference_contigs(reference_fasta), reference_fasta)
    if header.get("HD", {}).get("SO") != "coordinate":
        raise GenoganInputError("alignment file is not coordinate-sorted (header SO is "
                                f"'{header.get('HD', {}).get('SO', 'missing')}')", path=path,
                                fix=f"run `samtools sort -o sorted{path.suffix} {path}` and "
                                    "index the result, then use it in the sample sheet")
    return _ensure_index(path, create_index)


def _compare_contigs(path, contigs, ref_contigs, reference) -> None:
    ref = dict(ref_contigs)
    fix = (f"realign the reads to '{reference}', or set `reference` to the genome "
           "this file was aligned to")
    for name, length in contigs:
        if name not in ref:
            raise GenoganInputError(f"contig '{name}' of the alignment header is not in the "
                                    f"reference '{reference}'", path=path, fix=fix)
        if ref[name] != length:
            raise GenoganInputError(f"contig '{name}' has length {length} in the alignment "
                                    f"header but {ref[name]} in the reference '{reference}'",
                                    path=path, fix=fix)
    names = {name for name, _ in contigs}
    for name, _ in ref_contigs:
        if name not in names:
            raise GenoganInputError(f"reference contig '{name}' is missing from the alignment "
                                    "header", path=path, fix=fix)


def _ensure_index(path: Path, create: bool) -> Path:
    import pysam

    candidates = [Path(f"{path}.crai"), path.with_suffix(".crai")] if path.suffix == ".cram" \
        else [Path(f"{path}.bai"), Path(f"{path}.csi"), path.with_suffix(".bai")]
    for index in candidates:
        if index.exists():
            return index
    if not create:
        raise GenoganInputError("alignment file has no index", path=path,
                                fix=f"run `samtools index {path}`")
    try:
        pysam.index(str(path))
    except (pysam.SamtoolsError, OSError) as err:
        raise GenoganInputError(f"alignment file has no index and indexing failed ({err})",
                                path=path, fix=f"run `samtools index {path}` where the folder "
                                "is writable, or copy the file somewhere writable") from err
    logger.info("created index %s", candidates[0])
    return candidates[0]


def alignment_stats(bam, reference_fai_or_fasta, threads: int = 1) -> dict:
    """Per-sample alignment summary from one pass over the BAM (primary records only).

    total_reads counts primary records (each sequenced read once); mapped_pct and
    properly_paired_pct are percentages of it (properly paired is NaN for single-end data);
    mean_depth = reference bases covered by primary mapped reads / genome length;
    mean_mapq is over primary mapped reads. `sample` comes from the @RG SM tag.
    """
    import pysam

    genome_length = sum(length for _, length in reference_contigs(reference_fai_or_fasta))
    total = mapped = proper = paired = mapq_sum = aligned = 0
    with pysam.AlignmentFile(str(bam), threads=max(threads, 1)) as handle:
        groups = handle.header.to_dict().get("RG", [])
        for read in handle.fetch(until_eof=True):
            flag = read.flag
            if flag & 0x900:
                continue
            total += 1
            paired += flag & 1
            if flag & 4:
                continue
            mapped += 1
            proper += (flag >> 1) & 1
            mapq_sum += read.mapping_quality
            aligned += read.reference_length
    samples = sorted({g.get("SM") for g in groups if g.get("SM")})
    return {
        "sample": samples[0] if len(samples) == 1 else ",".join(samples),
        "total_reads": total,
        "mapped_reads": mapped,
        "mapped_pct": 100.0 * mapped / total if total else 0.0,
        "properly_paired_reads": proper,
        "properly_paired_pct": 100.0 * proper / total if paired else math.nan,
        "mean_depth": aligned / genome_length,
        "mean_mapq": mapq_sum / mapped if mapped else math.nan,
        "genome_length": genome_length,
    }


def write_stats_tsv(stats: dict, path, sample: str | None = None) -> None:
    """Write one stats row (with a `sample` column) as TSV, atomically."""
    row = dict(stats)
    if sample is not None:
        row["sample"] = sample
    columns = [c for c in STATS_COLUMNS if c in row] + [c for c in row if c not in STATS_COLUMNS]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        writer.writerow([_fmt(row[c]) for c in columns])


def _fmt(value) -> str:
    if isinstance(value, float):
        return "NA" if math.isnan(value) else f"{value:.4f}"
    return str(value)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------
def register_cli(subparsers) -> None:
    parser = subparsers.add_parser(
        "align", help="align reads to a sorted, indexed BAM (+ alignment stats)",
        description="Align one sample's reads to the reference and write a coordinate-sorted, "
        "indexed BAM with a read group (ID and SM = sample, PL = ILLUMINA). The default engine "
        "'mappy' needs only pip; 'minimap2' and 'bwa-mem' call those programs "
        "(envs/align.yaml).",
        epilog="example: genogan align --reference ref.fa --fq1 s1_R1.fastq.gz --fq2 "
        "s1_R2.fastq.gz --sample s1 --out results/bam/s1.bam --threads 4 --stats s1.tsv")
    parser.add_argument("--reference", required=True, help="reference FASTA (plain or gzip)")
    parser.add_argument("--fq1", required=True, help="FASTQ of read 1 (or single-end reads)")
    parser.add_argument("--fq2", help="FASTQ of read 2 (omit for single-end)")
    parser.add_argument("--sample", required=True, help="sample id (read group ID and SM)")
    parser.add_argument("--out", required=True, help="output BAM; its index is OUT.bai")
    parser.add_argument("--threads", type=int, default=1, help="threads/processes (default 1)")
    parser.add_argument("--engine", choices=ENGINES, default="mappy",
                        help="aligner (default mappy)")
    parser.add_argument("--preset", default="sr", help="minimap2 preset (default sr)")
    parser.add_argument("--max-insert", type=int, default=DEFAULT_MAX_INSERT,
                        help="largest fragment called a proper pair (mappy engine; default 800)")
    parser.add_argument("--stats", help="also write alignment stats to this TSV")
    parser.add_argument("--log", help="log file (default: stderr only)")
    parser.set_defaults(func=_cli)


def _cli(args) -> int:
    from genogan.io import setup_logging

    setup_logging(args.log)
    align_sample(args.reference, args.fq1, args.fq2, out_bam=args.out, sample=args.sample,
                 threads=args.threads, engine=args.engine, preset=args.preset,
                 max_insert=args.max_insert)
    if args.stats:
        stats = alignment_stats(args.out, args.reference, threads=args.threads)
        write_stats_tsv(stats, args.stats, sample=args.sample)
        logger.info("stats: %s", stats)
    return 0


def main(argv=None) -> int:
    """`genogan align` on its own (used by benchmarks/bench_align.py)."""
    import argparse

    parser = argparse.ArgumentParser(prog="genogan")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["align", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except GenoganInputError as err:
        print(f"genogan align: error: {err}", file=sys.stderr)
        return 1
