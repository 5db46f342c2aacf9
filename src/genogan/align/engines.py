"""Engines: mappy (minimap2's pipeline from mappy's C library in a child process, while this
process checks the reads), the minimap2 and bwa-mem binaries, all streaming SAM into samtools
sort; the index built once; `align_sample`."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from genogan import __version__, reads
from genogan.errors import GenoganInputError
from genogan.io import atomic_path, timed

from genogan.align.checks import check_contig_names, reference_contigs
from genogan.align import libminimap2

logger = logging.getLogger("genogan")

ENGINES = ("mappy", "minimap2", "bwa-mem")
DEFAULT_MAX_INSERT = 800
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
# Sorter: samtools sort (from pysam) in a child process reading SAM on stdin
# --------------------------------------------------------------------------------------------
class _StderrDrain(threading.Thread):
    """Collect a child's stderr (logged, and quoted in errors) without blocking the pipe."""

    def __init__(self, stream, label: str, on_line=None):
        super().__init__(daemon=True)
        self.stream, self.label, self.lines = stream, label, deque(maxlen=50)
        self.on_line = on_line

    def run(self):
        for raw in self.stream:
            line = raw.decode(errors="replace").rstrip()
            if line:
                self.lines.append(line)
                logger.debug("%s: %s", self.label, line)
                if self.on_line is not None:
                    self.on_line(line)

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


def _pipe_to_sorter(command: list[str], label: str, sort_cmd: list[str], on_line=None,
                    meanwhile=None, failure=None):
    """`command | samtools sort` (the one pipeline of every engine), both stderr streams to the
    log; returns what `meanwhile()` returns, run while the two work. A failing `command` is
    first given to `failure(rc, drain)` (which may raise a more specific error), then a dead
    sorter is blamed (it makes the aligner fail with SIGPIPE), then the aligner."""
    logger.info("running: %s | samtools sort", shlex.join(command))
    aligner = sorter = None
    try:
        aligner = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        drain = _StderrDrain(aligner.stderr, label, on_line)
        drain.start()
        sorter = subprocess.Popen(sort_cmd, stdin=aligner.stdout, stderr=subprocess.PIPE)
        aligner.stdout.close()  # the sorter owns the read end now
        sort_drain = _StderrDrain(sorter.stderr, "samtools sort")
        sort_drain.start()
        result = meanwhile() if meanwhile is not None else None
        aligner_rc = aligner.wait()
        if aligner_rc != 0 and failure is not None:
            failure(aligner_rc, drain)
        with timed(logger, "sorting and indexing (rest)"):
            sorter_rc = sorter.wait()
        if sorter_rc != 0:
            raise RuntimeError(f"samtools sort failed (exit code {sorter_rc}): "
                               f"{sort_drain.tail()}")
        if aligner_rc != 0:
            raise RuntimeError(f"{label} failed (exit code {aligner_rc}): {drain.tail()}")
        drain.join(timeout=5)
        for line in drain.lines:
            logger.info("%s: %s", label, line)
        return result
    finally:
        _kill(aligner, sorter)


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
# Engines: mappy (minimap2's pipeline from mappy's C library, in a child process, while this
# process checks the reads), the minimap2 and bwa-mem binaries
# --------------------------------------------------------------------------------------------
_MAPPED = re.compile(r"\] mapped (\d+) sequences")  # minimap2's progress line (verbosity 3)


def _run_mappy(command: list[str], fq1, fq2, sort_cmd: list[str], progress) -> int:
    """`command` (libminimap2: reads the files itself, SAM on stdout) | samtools sort, while
    this process reads every record once more with the reads layer (``reads.check``: dnaio,
    C speed, ~2 % of the mapping's CPU) for what minimap2 would pass over silently: truncated
    or corrupt files, malformed records, mates with different names or counts. minimap2's own
    count of the reads it mapped must then equal the count checked. Returns the read pairs
    (reads, single-end)."""
    inputs = [str(fq1)] + ([str(fq2)] if fq2 is not None else [])

    def count_mapped(line: str) -> None:
        if match := _MAPPED.search(line):
            progress.add(int(match[1]) // len(inputs))

    checked = _pipe_to_sorter([*command, *inputs], "minimap2 (mappy)", sort_cmd, count_mapped,
                              lambda: reads.check(fq1, fq2), _mapper_failure)
    if progress.reads != checked:
        raise RuntimeError(f"minimap2 mapped {progress.reads:,} reads (pairs) of the "
                           f"{checked:,} in {', '.join(inputs)}")
    return checked


def _mapper_failure(rc: int, drain) -> None:
    """libminimap2's own exit codes as errors (the sorter then fails too, on empty input)."""
    # minimap2's messages without its "[M::...]" progress lines
    said = "; ".join(line for line in drain.tail().splitlines() if not line.startswith("[M::"))
    if rc == libminimap2.EXIT_NO_LIBRARY:
        raise GenoganInputError(
            f"engine 'mappy' cannot use minimap2's C library in mappy: {said}",
            fix="install a mappy genogan knows from PyPI (`pip install --force-reinstall "
                "'mappy>=2.28,<=2.31'`), or set align.engine to minimap2")
    if rc == libminimap2.EXIT_BAD_REFERENCE:
        raise GenoganInputError(f"minimap2 (mappy) cannot use the reference: {said}",
                                fix="give a readable FASTA (plain or gzip) or a minimap2 .mmi")


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
    """Memory (MB) of an align job: the index (loaded once, by minimap2's process) plus
    minimap2's per-thread buffers, samtools sort's memory per thread and the
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
    if index is None:  # a prebuilt index was checked when it was built
        check_contig_names(reference_contigs(reference), reference)
    rg_line = f"@RG\\tID:{read_group or sample}\\tSM:{sample}\\tPL:ILLUMINA"
    start = time.perf_counter()
    pairs = None
    with _atomic_bam(out_bam) as (tmp_bam, tmp_bai):
        if engine == "mappy":
            pairs = _align_mappy(reference, fq1, fq2, sample, rg_line, threads, preset, max_insert,
                                 sort_mem, tmp_bam, tmp_bai, index)
        else:
            command = _binary_command(engine, reference, fq1, fq2, threads, preset, rg_line,
                                      index)
            _pipe_to_sorter(command, Path(command[0]).name,
                            _sort_command(tmp_bam, tmp_bai, threads, sort_mem))
    seconds = time.perf_counter() - start
    logger.info("aligned sample '%s' with %s to %s in %.2f s", sample, engine, out_bam, seconds)
    return {"read_pairs": pairs, "seconds": seconds, "engine": engine}


def _align_mappy(reference, fq1, fq2, sample, rg_line, threads, preset, max_insert, sort_mem,
                 tmp_bam, tmp_bai, index=None) -> int:
    cl = shlex.join(["genogan", "align", "--reference", str(reference), "--fq1", str(fq1)]
                    + (["--fq2", str(fq2)] if fq2 else []) + ["--sample", sample])
    genogan_pg = f"@PG\tID:genogan-align\tPN:genogan\tPP:minimap2\tVN:{__version__}\tCL:{cl}\n"
    # Run as a file, not `-m`: the workflow's scripts import genogan from src/ via sys.path,
    # which a child interpreter would not see (the module needs only the standard library
    # and mappy).
    command = [sys.executable, libminimap2.__file__,
               "--target", str(index or reference), "--threads", str(threads),
               "--preset", preset, "--rg", rg_line, "--extra-header", genogan_pg,
               "--max-frag-len", str(max_insert)]
    progress = reads.Progress("mapped", unit="read pairs" if fq2 is not None else "reads")
    pairs = _run_mappy(command, fq1, fq2, _sort_command(tmp_bam, tmp_bai, threads, sort_mem),
                       progress)
    progress.log()
    if pairs == 0:
        raise GenoganInputError("no reads found in the FASTQ input", sample=sample, path=fq1,
                                fix="the file is empty or not FASTQ; check the fq1/fq2 paths in "
                                    "the sample sheet")
    return pairs


def _check_inputs(reference, fq1, fq2, sample) -> None:
    for label, path in (("reference", reference), ("fq1", fq1), ("fq2", fq2)):
        if path is not None:
            reads.check_file(path, label, sample)
