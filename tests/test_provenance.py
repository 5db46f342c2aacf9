"""Provenance: checksums equal hashlib's, versions come from the installed packages."""

import hashlib

import numpy as np

from genogan.provenance import file_checksums, software_versions


def test_checksums_match_hashlib_and_dedupe(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.bin"
    a.write_text("ACGT\n")
    b.write_bytes(bytes(range(256)) * 5000)  # > 1 chunk
    table = file_checksums([a, b, a])
    assert list(table["file"]) == [str(a), str(b)]
    assert table["sha256"].tolist() == [hashlib.sha256(p.read_bytes()).hexdigest() for p in (a, b)]
    assert table["bytes"].tolist() == [5, 256 * 5000]


def test_versions_are_the_installed_ones():
    table = software_versions().set_index("software")["version"]
    assert table["numpy"] == np.__version__
    assert "python" in table and "genogan" in table
