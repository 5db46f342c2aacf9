"""What a reader of the report needs to reproduce a run: config, software versions, checksums."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import sys

import pandas as pd

PACKAGES = ("genogan", "snakemake", "numpy", "pandas", "pyarrow", "scipy", "scikit-learn",
            "imbalanced-learn", "tensorflow", "tensorflow-cpu", "keras", "pysam", "mappy",
            "biopython", "matplotlib")


def software_versions(packages=PACKAGES) -> pd.DataFrame:
    """Installed versions (from package metadata, so TensorFlow is not imported)."""
    rows = [("python", platform.python_version()), ("platform", platform.platform())]
    for name in packages:
        try:
            rows.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            continue
    return pd.DataFrame(rows, columns=["software", "version"])


def sha256(path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(paths) -> pd.DataFrame:
    """SHA-256 and size of every input file, streamed (reads files of any size)."""
    import os

    rows = [(str(p), os.path.getsize(p), sha256(p)) for p in dict.fromkeys(map(str, paths))]
    return pd.DataFrame(rows, columns=["file", "bytes", "sha256"])


def command_line() -> str:
    return " ".join(sys.argv)
