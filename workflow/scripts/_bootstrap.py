"""Shared prelude of the workflow scripts (Snakemake puts this folder on sys.path).

Makes `src/genogan` importable without installing it (so `--sdm conda/apptainer` runs work) and
routes everything the job prints -- logging, warnings, uncaught errors and the C++ start-up
banners of TensorFlow -- into the rule's `log:` file, so the terminal shows only Snakemake's
progress (on failure Snakemake names the log and, with `show-failed-logs`, prints it).
"""

import logging
import os
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ INFO lines: not wanted

from genogan.io import setup_logging  # noqa: E402 (needs the path above)


def redirect_output(log_path) -> None:
    """Point file descriptors 1 and 2 (Python and C/C++ code alike) at the log file."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def start(snakemake) -> logging.Logger:
    """Send the job's output to the rule's log file; uncaught exceptions are logged there too."""
    log_path = snakemake.log[0] if snakemake.log else None
    if log_path:
        redirect_output(log_path)
    logger = setup_logging(None)  # stderr, which is now the log file
    rule = getattr(snakemake, "rule", "?")
    logger.info("rule %s, wildcards %s, threads %s", rule, dict(snakemake.wildcards),
                snakemake.threads)

    def log_uncaught(exc_type, exc, tb):
        logger.error("failed: %s", exc, exc_info=(exc_type, exc, tb))

    sys.excepthook = log_uncaught
    return logger
