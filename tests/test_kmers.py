"""Canonical k-mer counting: every count is checked against a brute-force Python count."""

from __future__ import annotations

import gzip
import logging
import random
from collections import Counter

import numpy as np
import pysam
import pytest

from genogan import kmers
from genogan.errors import GenoganInputError

COMPLEMENT = str.maketrans("ACGT", "TGCA")


def brute_counts(seqs, k) -> Counter:
    """Every window of every sequence, upper-cased, skipped if not pure ACGT, canonicalised."""
    out = Counter()
    for seq in seqs:
        seq = seq.upper()
        for i in range(len(seq) - k + 1):
            kmer = seq[i:i + k]
            if set(kmer) <= set("ACGT"):
                out[min(kmer, kmer.translate(COMPLEMENT)[::-1])] += 1
    return out


def as_dict(counts, k) -> dict:
    nz = np.flatnonzero(counts)
    return dict(zip(kmers.decode(kmers.canonical_codes(k)[nz], k), counts[nz].tolist(),
                    strict=True))


def random_seqs(rng, n, lo=0, hi=80, alphabet="ACGTACGTACGTacgtNnRY."):
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi))) for _ in range(n)]


def write_fastq(path, seqs, rng, gz=False):
    # quality strings made of A/C/G/T letters: counting a quality line would show up at once
    text = "".join(f"@r{i} extra\n{s}\n+\n{''.join(rng.choice('ACGTI#') for _ in s)}\n"
                   for i, s in enumerate(seqs))
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


# --------------------------------------------------------------------------- index


@pytest.mark.parametrize("k", range(1, 9))
def test_canonical_kmers_sorted_complete_and_canonical(k):
    names = kmers.canonical_kmers(k)
    expected = (4**k + 4 ** (k // 2)) // 2 if k % 2 == 0 else 4**k // 2
    assert len(names) == kmers.n_canonical(k) == expected
    assert names == sorted(names) and len(set(names)) == len(names)
    assert all(n <= n.translate(COMPLEMENT)[::-1] for n in names)


def test_canonical_index_maps_kmer_and_reverse_complement_to_the_same_feature():
    k = 5
    names, index = kmers.canonical_kmers(k), kmers.canonical_index(k)
    assert kmers.canonical_kmers(1) == ["A", "C"]
    for code in [0, 1, 77, 512, 1023]:
        kmer = kmers.decode(np.array([code]), k)[0]
        rc = kmer.translate(COMPLEMENT)[::-1]
        assert names[index[code]] == min(kmer, rc)
    assert kmers.canonical_codes(12).size == (4**12 + 4**6) // 2


@pytest.mark.parametrize("k", [0, 13, -1, 2.5, True])
def test_k_out_of_range_is_rejected(k):
    with pytest.raises(GenoganInputError, match="out of range 1..12"):
        kmers.count_sequences(["ACGT"], k)


# --------------------------------------------------------------------------- core vs brute force


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 7, 8, 9, 12])
def test_counts_equal_brute_force(k):
    rng = random.Random(k)
    seqs = random_seqs(rng, 200) + ["A" * 30, "acgtACGTnACGT", "", "N" * 40]
    assert as_dict(kmers.count_sequences(seqs, k), k) == dict(brute_counts(seqs, k))


def test_dense_invalid_bases_use_the_cumulative_path():
    # more N than valid bases: the cumsum route of invalidation, checked against brute force
    rng = random.Random(3)
    seqs = random_seqs(rng, 50, 30, 120, alphabet="ACGTNNNNNNNNNNN")
    assert as_dict(kmers.count_sequences(seqs, 4), 4) == dict(brute_counts(seqs, 4))


def test_palindromes_are_counted_once_per_occurrence():
    counts = as_dict(kmers.count_sequences(["ACGT", "AATT", "TTAA"], 4), 4)
    assert counts == {"ACGT": 1, "AATT": 1, "TTAA": 1}
    both_strands = as_dict(kmers.count_sequences(["AACCG", "CGGTT"], 5), 5)
    assert both_strands == {"AACCG": 2}


def test_no_kmer_spans_two_reads():
    assert kmers.count_sequences(["AAA", "CCC"], 4).sum() == 0
    joined = as_dict(kmers.count_sequences(["AAACCC"], 4), 4)
    split = as_dict(kmers.count_sequences(["AAA", "CCC"], 3), 3)
    assert joined == {"AAAC": 1, "AACC": 1, "ACCC": 1} and split == {"AAA": 1, "CCC": 1}


def test_threads_and_batches_give_identical_counts():
    seqs = random_seqs(random.Random(5), 300)
    one = kmers.count_sequences(seqs, 6, threads=1)
    many = kmers.count_sequences([s.encode() for s in seqs], 6, threads=2, batch_bytes=200)
    assert np.array_equal(one, many) and as_dict(one, 6) == dict(brute_counts(seqs, 6))


# --------------------------------------------------------------------------- FASTQ


@pytest.fixture
def fastq_reads():
    rng = random.Random(11)
    return rng, random_seqs(rng, 300, 150, 150)  # fixed length, with N and lowercase


def test_fastq_plain_and_gz_match_brute_force(tmp_path, fastq_reads):
    rng, seqs = fastq_reads
    plain = write_fastq(tmp_path / "r.fastq", seqs, rng)
    gz = write_fastq(tmp_path / "r.fq.gz", seqs, rng, gz=True)
    expected = dict(brute_counts(seqs, 6))
    assert as_dict(kmers.count_kmers_fastq(plain, 6), 6) == expected
    assert as_dict(kmers.count_kmers_fastq([gz], 6), 6) == expected


def test_fastq_batch_size_and_threads_do_not_change_counts(tmp_path, fastq_reads):
    rng, seqs = fastq_reads
    path = write_fastq(tmp_path / "r.fastq", seqs, rng)
    big = kmers.count_kmers_fastq(path, 5, threads=1, batch_bytes=1 << 24)
    tiny = kmers.count_kmers_fastq(path, 5, threads=2, batch_bytes=97)  # < one record
    medium = kmers.count_kmers_fastq(path, 5, threads=2, batch_bytes=4096)
    assert np.array_equal(big, tiny) and np.array_equal(big, medium)


@pytest.mark.parametrize("lengths", [(100, 150), (1, 2000)], ids=["trimmed", "long-uneven"])
def test_fastq_variable_read_lengths(tmp_path, lengths):
    rng = random.Random(sum(lengths))
    seqs = random_seqs(rng, 120, *lengths)
    path = write_fastq(tmp_path / "r.fastq", seqs, rng)
    for batch in (300, 1 << 20):
        counts = kmers.count_kmers_fastq(path, 7, batch_bytes=batch)
        assert as_dict(counts, 7) == dict(brute_counts(seqs, 7))


def test_paired_mates_are_both_counted(tmp_path):
    rng = random.Random(2)
    r1, r2 = random_seqs(rng, 100, 150, 150), random_seqs(rng, 100, 150, 150)
    p1 = write_fastq(tmp_path / "s_R1.fastq.gz", r1, rng, gz=True)
    p2 = write_fastq(tmp_path / "s_R2.fastq", r2, rng)
    both = kmers.count_kmers_fastq([p1, p2], 6, threads=2)
    assert as_dict(both, 6) == dict(brute_counts(r1 + r2, 6))
    assert np.array_equal(both, kmers.count_kmers_fastq(p1, 6) + kmers.count_kmers_fastq(p2, 6))


def test_fastq_without_final_newline_and_with_trailing_blank_lines(tmp_path):
    seqs = ["ACGTACGTAA", "GGGCCCTTTA"]
    body = "@a\nACGTACGTAA\n+\nIIIIIIIIII\n@b\nGGGCCCTTTA\n+\nIIIIIIIIII"
    for text in (body, body + "\n\n\n"):
        path = tmp_path / "r.fq"
        path.write_text(text)
        assert as_dict(kmers.count_kmers_fastq(path, 4), 4) == dict(brute_counts(seqs, 4))


def test_progress_is_logged(tmp_path, fastq_reads, caplog):
    rng, seqs = fastq_reads
    path = write_fastq(tmp_path / "r.fastq", seqs, rng)
    with caplog.at_level(logging.INFO, logger="genogan"):
        kmers.count_kmers_fastq(path, 4)
    assert "300 reads" in caplog.text and "M bases/s" in caplog.text


def _good_fastq(tmp_path, n=20):
    rng = random.Random(1)
    return write_fastq(tmp_path / "in.fastq", random_seqs(rng, n, 50, 50, "ACGT"), rng)


def test_truncated_fastq_names_the_file(tmp_path):
    path = _good_fastq(tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-2]))  # the last record loses '+' and quality
    with pytest.raises(GenoganInputError, match=r"truncated.*record 20.*in\.fastq"):
        kmers.count_kmers_fastq(path, 5, batch_bytes=64)


def test_fastq_cut_inside_the_quality_line(tmp_path):
    path = _good_fastq(tmp_path)
    path.write_text(path.read_text()[:-10])
    with pytest.raises(GenoganInputError,
                       match=r"FASTQ record 20 \(Length of sequence and qualities differ"):
        kmers.count_kmers_fastq(path, 5)


@pytest.mark.parametrize("line, problem", [(0, "expected to start with '@'"),
                                           (2, "expected to start with '\\+'")])
def test_malformed_fastq_record_is_reported(tmp_path, line, problem):
    path = _good_fastq(tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    lines[4 * 6 + line] = "x" + lines[4 * 6 + line][1:]  # record 7
    path.write_text("".join(lines))
    with pytest.raises(GenoganInputError,
                       match=r"FASTQ record 7 \(Line " + problem + r".*in\.fastq"):
        kmers.count_kmers_fastq(path, 3, threads=2, batch_bytes=200)


def test_empty_and_missing_fastq(tmp_path):
    empty = tmp_path / "empty.fq.gz"
    with gzip.open(empty, "wb"):
        pass
    with pytest.raises(GenoganInputError, match=r"empty.*empty\.fq\.gz"):
        kmers.count_kmers_fastq(empty, 5)
    with pytest.raises(GenoganInputError, match=r"cannot open reads file.*nope\.fq"):
        kmers.count_kmers_fastq(tmp_path / "nope.fq", 5)


def test_truncated_gzip_is_reported(tmp_path):
    rng = random.Random(4)
    path = write_fastq(tmp_path / "r.fq.gz", random_seqs(rng, 400, 150, 150), rng, gz=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GenoganInputError, match=r"truncated or corrupt.*r\.fq\.gz"):
        kmers.count_kmers_fastq(path, 5)


def test_mates_with_different_record_counts(tmp_path):
    rng = random.Random(6)
    p1 = write_fastq(tmp_path / "a_R1.fq", random_seqs(rng, 10, 20, 20), rng)
    p2 = write_fastq(tmp_path / "a_R2.fq", random_seqs(rng, 9, 20, 20), rng)
    with pytest.raises(GenoganInputError, match=r"mates differ.*10.*9.*a_R2\.fq"):
        kmers.count_kmers_fastq([p1, p2], 5)
    assert kmers.count_kmers_fastq([p1, p2], 5, paired=False).sum() > 0


# --------------------------------------------------------------------------- FASTA


def test_fasta_records_multiline_and_gz(tmp_path):
    rng = random.Random(8)
    records = random_seqs(rng, 5, 200, 700) + ["", "ACGTTGCA"]
    text = "".join(f">c{i} description\n" + "".join(s[j:j + 60] + "\n"
                                                   for j in range(0, len(s), 60))
                   for i, s in enumerate(records))
    plain, gz = tmp_path / "g.fa", tmp_path / "g.fa.gz"
    plain.write_text(text)
    with gzip.open(gz, "wt") as fh:
        fh.write(text)
    expected = dict(brute_counts(records, 9))
    assert as_dict(kmers.count_kmers_fasta(plain, 9), 9) == expected
    # pieces of 50 bases (records are cut with k - 1 overlap) and 2 threads: same counts
    assert as_dict(kmers.count_kmers_fasta(gz, 9, threads=2, batch_bytes=50), 9) == expected


def test_fasta_without_records(tmp_path):
    path = tmp_path / "notes.fa"
    path.write_text("just some text\nACGT\n")
    with pytest.raises(GenoganInputError,
                       match=r"malformed .*FASTA record \(Expected '>'.*notes\.fa"):
        kmers.count_kmers_fasta(path, 4)
    path.write_text("")
    with pytest.raises(GenoganInputError, match=r"no records.*notes\.fa"):
        kmers.count_kmers_fasta(path, 4)
    with pytest.raises(GenoganInputError, match=r"not found.*missing\.fa"):
        kmers.count_kmers_fasta(tmp_path / "missing.fa", 4)


# --------------------------------------------------------------------------- BAM


@pytest.fixture
def bam(tmp_path):
    """A sorted, indexed BAM with one read per filter case; returns (path, sequences by name)."""
    rng = random.Random(9)
    cases = [  # name, flag, mapq, position
        ("good1", 0, 60, 100), ("mapq0", 0, 0, 200), ("secondary", 0x100, 60, 300),
        ("duplicate", 0x400, 60, 400), ("good2", 16, 30, 500), ("qcfail", 0x200, 60, 600),
        ("supplementary", 0x800, 60, 700), ("good3", 0, 20, 900), ("unmapped", 4, 0, -1),
    ]
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 2000}]}
    path = tmp_path / "s.bam"
    seqs = {}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for name, flag, mapq, pos in cases:
            seq = "".join(rng.choice("ACGT") for _ in range(30))
            seqs[name] = seq
            read = pysam.AlignedSegment()
            read.query_name, read.query_sequence, read.flag = name, seq, flag
            read.reference_id, read.reference_start = (-1, -1) if pos < 0 else (0, pos)
            read.mapping_quality = mapq
            if pos >= 0:
                read.cigarstring = "30M"
            read.query_qualities = pysam.qualitystring_to_array("I" * 30)
            out.write(read)
    pysam.index(str(path))
    return path, seqs


def test_bam_filters(bam):
    path, seqs = bam
    counts = kmers.count_kmers_bam(path, 5, min_mapq=20, threads=2)
    assert as_dict(counts, 5) == dict(brute_counts([seqs[n] for n in ("good1", "good2", "good3")],
                                                   5))
    with_mapq0 = kmers.count_kmers_bam(path, 5, min_mapq=0)
    assert as_dict(with_mapq0, 5) == dict(
        brute_counts([seqs[n] for n in ("good1", "mapq0", "good2", "good3")], 5))


def test_bam_regions(bam, tmp_path):
    path, seqs = bam
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t490\t510\n")
    counts = kmers.count_kmers_bam(path, 5, regions_bed=bed)
    assert as_dict(counts, 5) == dict(brute_counts([seqs["good2"]], 5))
    # good1 (100-130) overlaps both regions: counted once; overlapping BED lines are merged
    bed.write_text("# comment\nchr1\t95\t105\nchr1\t120\t300\nchr1 250 510\n")
    counts = kmers.count_kmers_bam(path, 5, regions_bed=bed)
    assert as_dict(counts, 5) == dict(brute_counts([seqs["good1"], seqs["good2"]], 5))


def test_bam_region_errors(bam, tmp_path):
    path, _ = bam
    bed = tmp_path / "bad.bed"
    bed.write_text("chrX\t1\t100\n")
    with pytest.raises(GenoganInputError, match=r"chrX.*not in the alignment header.*bad\.bed"):
        kmers.count_kmers_bam(path, 5, regions_bed=bed)
    bed.write_text("chr1\t100\n")
    with pytest.raises(GenoganInputError, match=r"BED line 1.*bad\.bed"):
        kmers.count_kmers_bam(path, 5, regions_bed=bed)
    bed.write_text("chr1\t1\t100\n")
    path.with_name("s.bam.bai").unlink()
    with pytest.raises(GenoganInputError, match=r"samtools index"):
        kmers.count_kmers_bam(path, 5, regions_bed=bed)


# --------------------------------------------------------------------------- files, matrix


def test_save_and_load_roundtrip(tmp_path):
    counts = kmers.count_sequences(["ACGTTTGA"], 3)
    out = tmp_path / "kmers" / "s1.npz"
    kmers.save_counts(out, counts, 3, "s1", "reads")
    loaded = kmers.load_counts(out)
    assert np.array_equal(loaded.counts, counts) and loaded.counts.dtype == np.int64
    assert (loaded.k, loaded.sample, loaded.source, loaded.canonical) == (3, "s1", "reads", True)
    assert [p.name for p in out.parent.iterdir()] == ["s1.npz"]  # no temporary left behind


def test_normalisations():
    X = np.array([[1, 0, 3], [2, 2, 4]])
    assert np.array_equal(kmers.normalise(X, "counts"), X)
    freq = kmers.normalise(X, "frequency")
    np.testing.assert_allclose(freq.sum(axis=1), 1)
    np.testing.assert_allclose(freq[0], [0.25, 0, 0.75])
    clr = kmers.normalise(X, "clr", pseudocount=0.5)
    np.testing.assert_allclose(clr.sum(axis=1), 0, atol=1e-12)
    logs = np.log([1.5, 0.5, 3.5])
    np.testing.assert_allclose(clr[0], logs - logs.mean())
    with pytest.raises(GenoganInputError, match="unknown normalisation 'tfidf'"):
        kmers.normalise(X, "tfidf")


def _counts_files(tmp_path, ks=(4, 4, 4)):
    rng = random.Random(0)
    paths = []
    for i, k in enumerate(ks):
        path = tmp_path / f"s{i}.npz"
        kmers.save_counts(path, kmers.count_sequences(random_seqs(rng, 20, 50, 50), k), k,
                          f"s{i}", "reads")
        paths.append(path)
    return paths


def test_build_kmer_matrix(tmp_path):
    paths = _counts_files(tmp_path)
    fm = kmers.build_kmer_matrix(paths, ["s0", "s1", "s2"], ["case", "control", "case"],
                                 "frequency")
    assert fm.X.shape == (3, 136) and fm.feature_names == kmers.canonical_kmers(4)
    np.testing.assert_allclose(fm.X.sum(axis=1), 1)
    assert list(fm.samples) == ["s0", "s1", "s2"] and list(fm.y) == ["case", "control", "case"]
    np.testing.assert_allclose(fm.X[1], kmers.normalise(
        kmers.load_counts(paths[1]).counts[None, :], "frequency")[0])


def test_build_kmer_matrix_rejects_mismatched_k_and_samples(tmp_path):
    paths = _counts_files(tmp_path, ks=(4, 5, 4))
    with pytest.raises(GenoganInputError, match=r"k=5 but .*s0\.npz has k=4.*s1\.npz"):
        kmers.build_kmer_matrix(paths, ["s0", "s1", "s2"], ["a", "b", "a"], "clr")
    paths = _counts_files(tmp_path)
    with pytest.raises(GenoganInputError, match=r"holds sample 's1'.*sample 'x'"):
        kmers.build_kmer_matrix(paths, ["s0", "x", "s2"], ["a", "b", "a"], "clr")


def test_cli_count_and_matrix(tmp_path, capsys):
    from genogan.features import read_matrix

    rng = random.Random(12)
    sheet = ["sample\tcondition"]
    outs = []
    for i, cond in enumerate(["case", "control", "control"]):
        fq = write_fastq(tmp_path / f"s{i}.fq.gz", random_seqs(rng, 30, 60, 60), rng, gz=True)
        out = tmp_path / f"s{i}.npz"
        assert kmers.main(["count", "--sample", f"s{i}", "--k", "3", "--threads", "2",
                           "--out", str(out), str(fq)]) == 0
        sheet.append(f"s{i}\t{cond}")
        outs.append(str(out))
    (tmp_path / "samples.tsv").write_text("\n".join(sheet) + "\n")
    matrix = tmp_path / "matrix.parquet"
    assert kmers.main(["matrix", "--samples", str(tmp_path / "samples.tsv"), "--normalise",
                       "clr", "--out", str(matrix), *reversed(outs)]) == 0
    fm = read_matrix(matrix)
    assert list(fm.samples) == ["s0", "s1", "s2"] and fm.feature_names[:2] == ["AAA", "AAC"]
    np.testing.assert_allclose(fm.X.sum(axis=1), 0, atol=1e-9)
    assert kmers.main(["count", "--sample", "x", "--k", "13", "--out", str(tmp_path / "x.npz"),
                       outs[0]]) == 1
    assert "out of range" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        kmers.main(["count", "--help"])
    assert "--min-mapq" in capsys.readouterr().out
