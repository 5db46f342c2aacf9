"""Shared prelude of the workflow scripts (Snakemake puts this folder on sys.path).

Makes `src/genogan` importable without installing it (so `--sdm conda/apptainer` runs work) and
routes logging and any uncaught error into the rule's `log:` file.
"""

import logging
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from genogan.io import setup_logging  # noqa: E402 (needs the path above)


def start(snakemake) -> logging.Logger:
    """Set up logging to the rule's log file; uncaught exceptions are logged there too."""
    logger = setup_logging(snakemake.log[0] if snakemake.log else None)
    rule = getattr(snakemake, "rule", "?")
    logger.info("rule %s, wildcards %s, threads %s", rule, dict(snakemake.wildcards),
                snakemake.threads)

    def log_uncaught(exc_type, exc, tb):
        logger.error("failed: %s", exc, exc_info=(exc_type, exc, tb))

    sys.excepthook = log_uncaught
    return logger
