"""Small I/O helpers shared by every stage: atomic writes and logging setup."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
from pathlib import Path


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
