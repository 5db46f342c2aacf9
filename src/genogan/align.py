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
import functools
import logging
import math
import multiprocessing
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
from pathlib import Path

from genogan import __version__
from genogan import reads
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


def check_contig_names(contigs, reference) -> None:
    """Each contig name once (a SAM header cannot hold two): say which one is repeated."""
    seen: set[str] = set()
    for name, _ in contigs:
        if name in seen:
            raise GenoganInputError(
                f"reference contig name '{name}' occurs more than once", path=reference,
                fix="give every '>' record of the reference FASTA its own name (e.g. `seqkit "
                    "rename`), or remove the duplicate record")
        seen.add(name)


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
        names, s1, q1, s2, q2 = reads.pair_columns(*payload, state["fq1"], state["fq2"],
                                                   first_index)
        _map_pairs(state, names, s1, q1, s2, q2, out)
    else:
        names, seqs, quals = reads.columns(payload[0], state["fq1"], first_index)
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


def _input_batches(fq1, fq2, batch_pairs: int):
    """Yield (index of the first read, payload): chunks of whole records, not parsed (the
    workers parse them); both mates' chunks hold the same number of reads."""
    size = batch_pairs * RAW_BYTES_PER_READ
    if fq2 is None:
        for first, data in reads.chunks(fq1, size):
            yield first, (data, None)
    else:
        for first, data1, data2 in reads.paired_chunks(fq1, fq2, size):
            yield first, (data1, data2)


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

    what = "loading the index" if str(reference).endswith(".mmi") else "indexing"
    with timed(logger, f"mappy: {what} {reference}"):
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
    progress = reads.Progress("mapped", unit="read pairs" if state["paired"] else "reads")
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
        progress.log()
        with timed(logger, "sorting and indexing (rest)"):
            _finish(sorter, drain, "samtools sort")
    finally:
        _abort_workers(executor)
        for fd in (read_fd, write_fd):
            if fd is not None:
                os.close(fd)
        _kill(sorter)
        _WORKER.clear()
    return progress.reads


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
        _bwa_index(bwa, reference, reference)
    lock_path.unlink(missing_ok=True)


def _bwa_index(bwa: str, reference, prefix) -> None:
    """`bwa index` under a temporary prefix, renamed into place (`prefix` + the suffixes)."""
    tmp = f"{prefix}.bwaindex.tmp{os.getpid()}"
    with timed(logger, f"bwa index {reference}"):
        result = subprocess.run([bwa, "index", "-p", tmp, str(reference)], capture_output=True,
                                text=True)
    try:
        if result.returncode != 0:
            raise RuntimeError(f"bwa index failed: {result.stderr[-2000:]}")
        for suffix in BWA_INDEX_SUFFIXES:
            os.replace(f"{tmp}{suffix}", f"{prefix}{suffix}")
    finally:
        for suffix in BWA_INDEX_SUFFIXES:
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Index once per reference (workflow rule `index_reference`), loaded by every align job
# --------------------------------------------------------------------------------------------
def index_files(engine: str, prefix) -> list[str]:
    """Files of the index of `engine` at `prefix`: minimap2's .mmi, or bwa's five files."""
    if engine == "bwa-mem":
        return [f"{prefix}{suffix}" for suffix in BWA_INDEX_SUFFIXES]
    return [f"{prefix}.mmi"]


def index_path(engine: str, prefix) -> str:
    """What `align_sample(index=...)` takes: the .mmi, or the bwa prefix."""
    return str(prefix) if engine == "bwa-mem" else f"{prefix}.mmi"


def build_index(reference, engine: str, prefix, preset: str = "sr", threads: int = 1) -> str:
    """Build the index of `engine` for `reference` at `prefix` once (atomically); return
    `index_path(engine, prefix)`. mappy and the minimap2 binary share the .mmi format (mappy
    writes it: same minimap2 code as the mapping)."""
    if engine not in ENGINES:
        raise GenoganInputError(f"unknown alignment engine '{engine}'",
                                fix=f"set align.engine to one of {', '.join(ENGINES)}")
    reads.check_file(reference, "reference")
    check_contig_names(reference_contigs(reference), reference)
    Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    if engine == "bwa-mem":
        _bwa_index(_require_binary("bwa", engine, "bwa"), reference, prefix)
        return index_path(engine, prefix)
    import mappy

    out = index_path(engine, prefix)
    with atomic_path(out) as tmp, timed(logger, f"minimap2 index ({preset}) of {reference}"):
        aligner = mappy.Aligner(str(reference), preset=preset, n_threads=max(threads, 1),
                                fn_idx_out=str(tmp))
        if not aligner:
            raise GenoganInputError("mappy could not index the reference", path=reference,
                                    fix="give a readable FASTA (plain or gzip)")
    return out


def align_mem_mb(index_bytes: int, threads: int, attempt: int = 1,
                 floor_mb: int = 1000, sort_mem_mb: int = 768) -> int:
    """Memory (MB) of an align job: the index (loaded once, shared copy-on-write by the mapping
    workers) plus minimap2's per-thread buffers, samtools sort's memory per thread and the
    Python processes; at least `floor_mb`; doubled per retry (`attempt` 1, 2, ...)."""
    index_mb = index_bytes / 2**20
    need = 1.2 * index_mb + max(int(threads), 1) * (sort_mem_mb + 256) + 512
    return math.ceil(max(need, floor_mb) * 2 ** (max(int(attempt), 1) - 1))


def _binary_command(engine, reference, fq1, fq2, threads, preset, rg_line,
                    index=None) -> list[str]:
    reads = [str(fq1)] + ([str(fq2)] if fq2 is not None else [])
    if engine == "minimap2":
        exe = _require_binary("minimap2", engine, "minimap2")
        target = str(index or reference)
        return [exe, "-a", "-x", preset, "-t", str(threads), "-R", rg_line, target, *reads]
    exe = _require_binary("bwa", engine, "bwa")
    if index is None:
        ensure_bwa_index(reference)
    return [exe, "mem", "-t", str(threads), "-R", rg_line, str(index or reference), *reads]


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
                 sort_mem: str = "768M", index=None) -> dict:
    """Align reads of one sample to a coordinate-sorted, indexed BAM (``out_bam`` + ``.bai``).

    `fq2` None means single-end. `read_group` is the @RG ID (default: the sample id); SM is
    the sample id, PL ILLUMINA. `sort_mem` is samtools sort's memory per thread. `index` is
    the prebuilt index of `build_index` (a .mmi; for bwa-mem the prefix); without it the
    index is built here (mappy: in memory; bwa: beside the reference).
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
                                 sort_mem, tmp_bam, tmp_bai, index)
        else:
            if index is None:
                check_contig_names(reference_contigs(reference), reference)
            rg_line = f"@RG\\tID:{rg_id}\\tSM:{sample}\\tPL:ILLUMINA"
            command = _binary_command(engine, reference, fq1, fq2, threads, preset, rg_line,
                                      index)
            _run_binary(command, tmp_bam, tmp_bai, threads, sort_mem)
    seconds = time.perf_counter() - start
    logger.info("aligned sample '%s' with %s to %s in %.2f s", sample, engine, out_bam, seconds)
    return {"read_pairs": pairs, "seconds": seconds, "engine": engine}


def _align_mappy(reference, fq1, fq2, sample, rg_id, threads, preset, max_insert, sort_mem,
                 tmp_bam, tmp_bai, index=None) -> int:
    command = shlex.join(["genogan", "align", "--reference", str(reference), "--fq1", str(fq1)]
                         + (["--fq2", str(fq2)] if fq2 else []) + ["--sample", sample])
    aligner = _load_aligner(index or reference, preset, threads)
    contigs = _aligner_contigs(reference, aligner)
    check_contig_names(contigs, reference)
    header = _sam_header(contigs, sample, rg_id, command)
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
        if path is not None:
            reads.check_file(path, label, sample)


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
    parser.add_argument("--index", help="prebuilt index of the reference (minimap2 .mmi; for "
                        "bwa-mem the bwa prefix), as the workflow's rule index_reference writes")
    parser.add_argument("--stats", help="also write alignment stats to this TSV")
    parser.add_argument("--log", help="log file (default: stderr only)")
    parser.set_defaults(func=_cli)


def _cli(args) -> int:
    from genogan.io import setup_logging

    setup_logging(args.log)
    align_sample(args.reference, args.fq1, args.fq2, out_bam=args.out, sample=args.sample,
                 threads=args.threads, engine=args.engine, preset=args.preset,
                 max_insert=args.max_insert, index=args.index)
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
