"""Tests for genogan.reads: the one reads layer under the aligner and the k-mer counter."""

from __future__ import annotations

import gzip
import logging

import pytest

from genogan import reads
from genogan.align import align_sample
from genogan.errors import GenoganInputError
from genogan.kmers import count_kmers_fastq


def _fastq(path, n, start=0, suffix="", length=50, opener=open):
    with opener(path, "wt") as handle:
        for i in range(start, start + n):
            seq = "ACGT" * (length // 4)
            handle.write(f"@r{i}{suffix} c\n{seq}\n+\n{'I' * len(seq)}\n")
    return path


def _parse_all(path, chunk_bytes):
    out = []
    for first, data in reads.chunks(path, chunk_bytes):
        ids, seqs, quals = reads.columns(data, path, first)
        assert first == len(out)
        out += ids
    return out


def test_chunks_hold_whole_records_whatever_the_chunk_size(tmp_path):
    path = _fastq(tmp_path / "a.fq.gz", 500, opener=gzip.open)
    expected = [f"r{i}" for i in range(500)]
    for size in (64, 1000, 1 << 20):  # 64 bytes < one record: the chunk grows
        assert _parse_all(path, size) == expected


def test_paired_chunks_keep_mates_together_and_strip_suffixes(tmp_path):
    p1 = _fastq(tmp_path / "r1.fq", 300, suffix="/1")
    p2 = _fastq(tmp_path / "r2.fq.gz", 300, suffix="/2", opener=gzip.open)
    names = []
    for first, d1, d2 in reads.paired_chunks(p1, p2, 2000):
        assert first == len(names)
        names += reads.pair_columns(d1, d2, p1, p2, first)[0]
    assert names == [f"r{i}" for i in range(300)]


@pytest.mark.parametrize("n2", [299, 150, 0])
def test_mates_with_different_counts_name_the_shorter_file(tmp_path, n2):
    p1 = _fastq(tmp_path / "r1.fq", 300)
    p2 = _fastq(tmp_path / "r2.fq", n2)
    with pytest.raises(GenoganInputError, match=r"different read counts.*r2\.fq.*seqkit"):
        for first, d1, d2 in reads.paired_chunks(p1, p2, 4000):
            reads.pair_columns(d1, d2, p1, p2, first)


def test_mate_names_that_differ_are_an_error(tmp_path):
    p1 = _fastq(tmp_path / "r1.fq", 10)
    p2 = _fastq(tmp_path / "r2.fq", 10, start=1)
    first, d1, d2 = next(reads.paired_chunks(p1, p2))
    with pytest.raises(GenoganInputError, match=r"mate names differ at read pair 1: 'r0'.*'r1'"):
        reads.pair_columns(d1, d2, p1, p2, first)


def test_crlf_and_trailing_blank_lines_are_fine(tmp_path):
    path = tmp_path / "w.fq"
    path.write_bytes(b"@a\r\nACGT\r\n+\r\nIIII\r\n@b\r\nGGCC\r\n+\r\nIIII\r\n\r\n\n")
    first, data = next(reads.chunks(path))
    assert reads.columns(data, path, first)[:2] == (["a", "b"], ["ACGT", "GGCC"])


def test_truncated_gzip_names_the_file_in_every_consumer(tmp_path):
    good = _fastq(tmp_path / "good.fq.gz", 2000, opener=gzip.open)
    bad = tmp_path / "bad.fq.gz"
    data = _fastq(tmp_path / "tmp.fq.gz", 2000, opener=gzip.open).read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    message = r"compressed file is truncated or corrupt.*bad\.fq\.gz.*gzip -t"
    with pytest.raises(GenoganInputError, match=message):
        count_kmers_fastq(bad, 5)
    with pytest.raises(GenoganInputError, match=message):
        list(reads.paired_chunks(good, bad, 4000))
    ref = tmp_path / "ref.fa"
    ref.write_text(">c\n" + "ACGT" * 100 + "\n")
    with pytest.raises(GenoganInputError, match=message):
        align_sample(ref, bad, out_bam=tmp_path / "x.bam", sample="s")


def test_malformed_record_is_numbered_from_the_start_of_the_file(tmp_path):
    path = _fastq(tmp_path / "m.fq", 100)
    lines = path.read_text().splitlines(keepends=True)
    lines[4 * 70 + 2] = "x\n"  # record 71 loses its '+' line
    path.write_text("".join(lines))
    with pytest.raises(GenoganInputError, match=r"FASTQ record 71 \(.*'\+'.*m\.fq"):
        for first, data in reads.chunks(path, 1000):
            reads.columns(data, path, first)


def test_check_counts_reads_and_raises_the_chunked_readers_errors(tmp_path):
    """`check` (dnaio's reader, then the chunked path on any objection) counts what the chunked
    path counts and raises its errors: mate counts, mate names, truncated gzip, record number."""
    p1 = _fastq(tmp_path / "r1.fq", 300, suffix="/1")
    p2 = _fastq(tmp_path / "r2.fq.gz", 300, suffix="/2", opener=gzip.open)
    assert (reads.check(p1, p2), reads.check(p2)) == (300, 300)
    crlf = tmp_path / "w.fq"  # dnaio rejects the trailing blank lines; the chunked path not
    crlf.write_bytes(b"@a\r\nACGT\r\n+\r\nIIII\r\n@b\r\nGGCC\r\n+\r\nIIII\r\n\r\n\n")
    assert reads.check(crlf) == 2
    with pytest.raises(GenoganInputError, match=r"different read counts.*short\.fq"):
        reads.check(p1, _fastq(tmp_path / "short.fq", 299, suffix="/2"))
    with pytest.raises(GenoganInputError, match=r"mate names differ at read pair 1"):
        reads.check(p1, _fastq(tmp_path / "other.fq", 300, start=1))
    data = p2.read_bytes()
    (tmp_path / "cut.fq.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(GenoganInputError, match=r"truncated or corrupt.*cut\.fq\.gz"):
        reads.check(p1, tmp_path / "cut.fq.gz")
    lines = p1.read_text().splitlines(keepends=True)
    lines[4 * 70 + 2] = "x\n"
    (tmp_path / "m.fq").write_text("".join(lines))
    with pytest.raises(GenoganInputError, match=r"FASTQ record 71 .*m\.fq"):
        reads.check(tmp_path / "m.fq")


def test_progress_logs_reads_and_bases(caplog):
    progress = reads.Progress("test", every_s=0.0)
    with caplog.at_level(logging.INFO, logger="genogan"):
        progress.add(10, 1500)
        progress.log()
    assert "10 reads" in caplog.text and "M bases/s" in caplog.text


def test_sheet_rejects_fq2_equal_to_fq1_and_warns_about_shared_fastqs(tmp_path, caplog):
    from genogan.validate import load_sample_sheet

    for name in ("a1.fq", "a2.fq", "b1.fq"):
        _fastq(tmp_path / name, 2)
    sheet = tmp_path / "samples.tsv"
    header = "sample\tcondition\tfq1\tfq2\n"
    sheet.write_text(header + "A\tcase\ta1.fq\ta1.fq\nB\tcontrol\tb1.fq\t\n")
    with pytest.raises(GenoganInputError, match=r"fq2 is the same file as fq1.*sample 'A'"):
        load_sample_sheet(sheet, base_dir=tmp_path)
    sheet.write_text(header + "A\tcase\ta1.fq\ta2.fq\nB\tcontrol\ta1.fq\t\n")
    with caplog.at_level(logging.WARNING, logger="genogan"):
        load_sample_sheet(sheet, base_dir=tmp_path)
    assert "a1.fq' is listed for 2 samples (A, B)" in caplog.text
