"""Small I/O helpers shared by every stage: input-file checks, atomic writes and logging setup."""

from __future__ import annotations

import contextlib
import csv
import errno
import logging
import os
import sys
import tempfile
import time
from pathlib import Path


def input_file_problem(path) -> str | None:
    """Why `path` cannot be read as an input file (None if it can): says what it is instead of
    a bare "does not exist" (a directory, a broken link, a link loop, no permission)."""
    path = Path(path)
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "is a symbolic link loop (the link points, directly or not, to itself)"
        if os.path.islink(path):
            return f"is a broken symbolic link (to '{os.readlink(path)}', which does not exist)"
        if err.errno == errno.EACCES:
            return "cannot be accessed (permission denied on a folder of its path)"
        return "does not exist"
    if path.is_dir():
        return "is a directory, not a file"
    if not path.is_file():
        return "is not a regular file"
    if not os.access(path, os.R_OK):
        return "is not readable (check its permissions)"
    return None


def check_input_file(path, what: str, *, sample: str | None = None, fix: str | None = None
                     ) -> Path:
    """The one check every input file goes through: a `GenoganInputError` naming the file, the
    sample and the fix when it cannot be read; returns the path."""
    from genogan.errors import GenoganInputError

    problem = input_file_problem(path)
    if problem:
        default = ("correct the path (relative paths are relative to the working directory)"
                   if "exist" in problem or "link" in problem or "directory" in problem
                   else "make the file readable")
        raise GenoganInputError(f"{what} {problem}", path=path, sample=sample,
                                fix=fix if fix and "readable" not in problem else default)
    return Path(path)


def check_delimited_header(path, header_line: str, sep: str, what: str, *,
                           duplicates: bool = True) -> list[str]:
    """Parse a table's header line; a table whose columns are separated by another character
    than `sep` (a comma-separated file named .tsv), or with a repeated column name, is an error
    naming the file (pandas would read one column, or rename `g0` to `g0.1`, silently)."""
    from genogan.errors import GenoganInputError

    header = next(csv.reader([header_line.rstrip("\r\n")], delimiter=sep), [])
    if len(header) <= 1:
        for other, name in ((",", "comma"), (";", "semicolon"), ("\t", "tab")):
            if other != sep and other in header_line:
                want = {"\t": "tab-separated (.tsv)", ",": "comma-separated (.csv)"}[sep]
                raise GenoganInputError(
                    f"{what} is {name}-separated, but its name says {want}", path=path,
                    fix="save it tab-separated, or name it .csv if it is comma-separated")
    seen, dups = set(), []
    for name in (h.strip() for h in header):
        if name in seen and name:
            dups.append(name)
        seen.add(name)
    if dups and duplicates:
        raise GenoganInputError(f"{what} has a repeated column name {dups[0]!r}", path=path,
                                fix="give every column a unique name (pandas would rename it "
                                f"'{dups[0]}.1')")
    return header


def first_line(path, skip_comments: bool = False) -> str:
    """The first (non-`#`) line of a text file, gzip or not."""
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", newline="") as fh:
        for line in fh:
            if not (skip_comments and line.startswith("#")):
                return line
    return ""


@contextlib.contextmanager
def atomic_path(final_path, suffix: str | None = None):
    """Yield a temporary path beside `final_path`; rename it into place only on success.

    A job killed half-way leaves a `.tmp` file, never a file that looks finished.
    The temporary name keeps the final suffix so libraries that infer formats (e.g. `.bam`,
    `.parquet`, `.png`) still work.
    """
    final_path = Path(final_path)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    suffix = final_path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{final_path.stem}.", suffix=f".tmp{suffix}",
                               dir=final_path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.exists():  # mkstemp makes 0600 files; give the output the usual umask permissions
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, final_path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def setup_logging(log_path=None, level=logging.INFO) -> logging.Logger:
    """Log to stderr and, when given (Snakemake's `log:`), to a file. Returns the package logger."""
    logger = logging.getLogger("genogan")
    logger.setLevel(level)
    logger.handlers.clear()
    logger.propagate = False  # TensorFlow configures the root logger: avoid every line twice
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    handlers = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    return logger


@contextlib.contextmanager
def timed(logger: logging.Logger, what: str):
    """Log how long a block took (progress and timing in every log)."""
    start = time.perf_counter()
    logger.info("%s ...", what)
    yield
    logger.info("%s done in %.2f s", what, time.perf_counter() - start)
