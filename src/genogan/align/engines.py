"""Engines: the mappy worker pool streaming SAM into samtools sort, the minimap2 and bwa-mem
binaries, the index built once, and `align_sample`."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import gc
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

from genogan import reads
from genogan.errors import GenoganInputError
from genogan.io import atomic_path, timed

from genogan.align.checks import check_contig_names, reference_contigs
from genogan.align.records import _pair_lines, _sam_header, _single_lines

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

# The sorter runs samtools (bundled with pysam) in a child process: it reads SAM/BAM on stdin.
_SORT_CODE = ("import sys, pysam; assert sys.argv[1] == 'sort'; "
              "pysam.samtools.sort(*sys.argv[2:], catch_stdout=False)")


# --------------------------------------------------------------------------------------------
# mappy engine: worker processes map batches and write SAM to the sorter in input order
# --------------------------------------------------------------------------------------------
_WORKER: dict = {}


def _worker_state() -> dict:
    """Per-process mapping state (the aligner is inherited from the parent through fork).

    One ThreadBuffer per process for the whole run, as minimap2 keeps one per thread: minimap2
    itself resets the buffer's memory pool when it grows too large (map.c, ``cap_kalloc``),
    and a fresh buffer per batch would fault its memory in again every batch."""
    state = _WORKER
    if "buf" not in state:
        import mappy

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
            # The workers' garbage collections skip the objects inherited from this process
            # (and so do not touch, i.e. copy, their memory pages): gc.freeze before fork.
            gc.freeze()
            try:
                executor.submit(int).result()  # forks all workers now
            finally:
                gc.unfreeze()
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


def index_prefix(files) -> str:
    """The prefix of an index from its file(s) (one path or a list, as the workflow has them)."""
    first = str(files if isinstance(files, str | os.PathLike) else list(files)[0])
    for suffix in (".mmi", *BWA_INDEX_SUFFIXES):
        if first.endswith(suffix):
            return first[: -len(suffix)]
    raise ValueError(f"not an index file: {first}")


def index_from_files(engine: str, files) -> str:
    """`index_path` (what `align_sample(index=...)` takes) from the index's file(s)."""
    return index_path(engine, index_prefix(files))


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
