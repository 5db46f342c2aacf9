"""Protein and multi-record nucleotide FASTA -> k-mer matrix: counts vs brute force, bad input."""

import gzip
import itertools
import logging

import numpy as np
import pandas as pd
import pytest

from genogan import kmers
from genogan.errors import GenoganInputError
from genogan.sequences import (
    DNA,
    PROTEIN,
    Record,
    build_sequence_matrix,
    check_sequence_config,
    count_kmers,
    kmer_names,
    read_fasta,
    resolve_alphabet,
    sequence_features,
)

PROTEIN_TEXT = "ACDEFGHIKLMNPQRSTVWY" * 2 + "BZXJUO*" + "acdefghiklmnpqrstvwy" + "bzxjuo" + "-."
DNA_TEXT = "ACGTACGTACGTacgtNRYSWKMBDHVXUnryu-."


def random_records(rng, letters, n, max_len=60, min_len=1):
    return [Record(f"r{i}", "".join(rng.choice(list(letters), size=int(rng.integers(min_len,
                                                                                      max_len)))),
                   "test.fa") for i in range(n)]


def brute_force(records, groups, n_groups, names, k, dna=False, canonical=False):
    """Count every window of k standard letters (uppercased; DNA: U read as T) record by record."""
    index = {name: i for i, name in enumerate(names)}
    out = np.zeros((n_groups, len(names)), dtype=np.int64)
    for rec, group in zip(records, groups, strict=True):
        seq = rec.seq.upper().replace("U", "T") if dna else rec.seq.upper()
        for i in range(len(seq) - k + 1):
            word = seq[i:i + k]
            if canonical:
                rc = word[::-1].translate(str.maketrans("ACGT", "TGCA"))
                word = min(word, rc)
            if word in index:
                out[group, index[word]] += 1
    return out


def write_fasta(path, records, width=7):
    text = "".join(f">{rid} some description\n" + "\n".join(seq[i:i + width]
                                                            for i in range(0, len(seq), width))
                   + "\n" for rid, seq in records)
    path.write_text(text)
    return path


def sheet_of(ids, labels=None, **columns):
    labels = labels or ["case" if i % 2 else "control" for i in range(len(ids))]
    return pd.DataFrame({"sample": ids, "condition": labels, **columns})


# ---- names and counts --------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3])
def test_protein_kmer_names_are_lexicographic_over_the_20_letters(k):
    names = kmer_names("protein", k)
    assert len(names) == 20**k == len(set(names))
    assert names == sorted(names)  # the 20 letters are in alphabetical order
    assert names == ["".join(p) for p in itertools.product(PROTEIN.letters, repeat=k)]
    assert set("".join(names)) == set("ACDEFGHIKLMNPQRSTVWY")


@pytest.mark.parametrize("k", [1, 2, 3])
def test_amino_acid_counts_equal_brute_force(k):
    rng = np.random.default_rng(k)
    records = random_records(rng, PROTEIN_TEXT, 40)
    groups = rng.integers(0, 6, size=len(records))
    profile = count_kmers(records, groups, 6, "protein", k)
    expected = brute_force(records, groups, 6, profile.feature_names, k)
    np.testing.assert_array_equal(profile.counts, expected)
    assert profile.counts.sum() > 0
    joined = "".join(r.seq for r in records)
    for letter in "BZXJUO*-.":
        assert profile.skipped.get(letter, 0) == joined.upper().count(letter)
    assert profile.lowercase == sum(c.islower() for c in joined)
    letters = np.array([[sum(r.seq.upper().count(a) for r, g in zip(records, groups, strict=True)
                             if g == grp) for a in PROTEIN.letters] for grp in range(6)])
    np.testing.assert_array_equal(profile.letters, letters)


def test_ambiguous_letters_break_kmers_and_lowercase_counts():
    records = [Record("a", "acXDE*F", "t.fa"), Record("b", "GH", "t.fa")]
    profile = count_kmers(records, [0, 1], 2, "protein", 2)
    got = {n: int(c) for n, c in zip(profile.feature_names, profile.counts[0], strict=True) if c}
    assert got == {"AC": 1, "DE": 1}  # CX, XD, E*, *F skipped
    assert profile.counts[1, profile.feature_names.index("GH")] == 1
    assert profile.skipped == {"X": 1, "*": 1}
    assert profile.lowercase == 2


def test_kmers_never_span_two_records():
    records = [Record("a", "ACD", "t.fa"), Record("b", "EFG", "t.fa")]
    profile = count_kmers(records, [0, 0], 1, "protein", 3)
    got = {n for n, c in zip(profile.feature_names, profile.counts[0], strict=True) if c}
    assert got == {"ACD", "EFG"}


@pytest.mark.parametrize("canonical", [False, True])
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_multi_record_dna_counts_per_record_equal_brute_force(k, canonical):
    rng = np.random.default_rng(10 + k)
    records = random_records(rng, DNA_TEXT, 50, max_len=70)
    profile = count_kmers(records, np.arange(50), 50, "dna", k, canonical=canonical)
    if canonical:
        assert profile.feature_names == kmers.canonical_kmers(k)
    else:
        assert profile.feature_names == ["".join(p) for p in itertools.product("ACGT", repeat=k)]
    expected = brute_force(records, range(50), 50, profile.feature_names, k, dna=True,
                           canonical=canonical)
    np.testing.assert_array_equal(profile.counts, expected)
    assert profile.skipped["N"] == "".join(r.seq for r in records).upper().count("N")
    assert "U" not in profile.skipped  # RNA U is read as T


def test_canonical_dna_profile_matches_the_read_counter():
    rng = np.random.default_rng(3)
    records = random_records(rng, "ACGTN", 30, max_len=80)
    profile = count_kmers(records, np.zeros(30, int), 1, "dna", 4, canonical=True)
    np.testing.assert_array_equal(profile.counts[0],
                                  kmers.count_sequences([r.seq for r in records], 4))


def test_chunked_encoding_gives_the_same_counts(monkeypatch):
    from genogan import sequences

    rng = np.random.default_rng(4)
    records = random_records(rng, PROTEIN_TEXT, 30, max_len=50, min_len=10)
    groups = rng.integers(0, 4, size=30)
    whole = count_kmers(records, groups, 4, "protein", 2)
    monkeypatch.setattr(sequences, "CHUNK_BYTES", 64)  # many small chunks
    chunked = count_kmers(records, groups, 4, "protein", 2)
    np.testing.assert_array_equal(whole.counts, chunked.counts)
    np.testing.assert_array_equal(whole.ambiguous, chunked.ambiguous)
    assert whole.skipped == chunked.skipped


# ---- sequence-level features -------------------------------------------------------------------
def test_protein_sequence_features_by_hand():
    records = [Record("a", "AAKX", "t.fa"), Record("b", "IIII", "t.fa")]
    profile = count_kmers(records, [0, 1], 2, "protein", 1)
    X, names = sequence_features(profile, "protein")
    row = dict(zip(names, X[0], strict=True))
    assert row["seq_length"] == 4
    assert row["seq_ambiguous_fraction"] == pytest.approx(0.25)
    assert row["seq_gravy"] == pytest.approx((1.8 * 2 - 3.9) / 3)
    assert row["seq_comp_A"] == pytest.approx(2 / 3) and row["seq_comp_K"] == pytest.approx(1 / 3)
    assert dict(zip(names, X[1], strict=True))["seq_gravy"] == pytest.approx(4.5)
    assert len(names) == 3 + 20


def test_dna_sequence_features_by_hand():
    profile = count_kmers([Record("a", "GGCANN", "t.fa")], [0], 1, "dna", 2)
    X, names = sequence_features(profile, "dna")
    row = dict(zip(names, X[0], strict=True))
    assert row["seq_length"] == 6 and row["seq_gc"] == pytest.approx(0.75)
    assert row["seq_ambiguous_fraction"] == pytest.approx(2 / 6)


# ---- the matrix from files ---------------------------------------------------------------------
def test_multi_fasta_matrix_rows_follow_the_sheet(tmp_path):
    seqs = {"s1": "MKVLAAGIW", "s2": "MKKKPLDEW", "s3": "MAXWWCPHY", "s4": "MSTNQRRE*"}
    fasta = write_fasta(tmp_path / "all.fa", [(sid, seqs[sid]) for sid in ["s3", "s1", "s4",
                                                                             "s2"]])
    sheet = sheet_of(["s1", "s2", "s3", "s4"], ["a", "b", "a", "b"])
    fm = build_sequence_matrix(sheet, sequences=fasta, alphabet="protein", k=2,
                               normalise="counts")
    assert list(fm.samples) == ["s1", "s2", "s3", "s4"] and list(fm.y) == ["a", "b", "a", "b"]
    records = [Record(s, seqs[s], "") for s in ["s1", "s2", "s3", "s4"]]
    expected = brute_force(records, range(4), 4, kmer_names("protein", 2), 2)
    np.testing.assert_array_equal(fm.X, expected)
    clr = build_sequence_matrix(sheet, sequences=fasta, alphabet="protein", k=2,
                                normalise="clr")
    np.testing.assert_allclose(clr.X, kmers.normalise(expected, "clr"))
    freq = build_sequence_matrix(sheet, sequences=fasta, k=2, extra_features=True)
    np.testing.assert_allclose(freq.X[:, :400].sum(axis=1), 1.0)
    assert freq.feature_names[400:403] == ["seq_length", "seq_ambiguous_fraction", "seq_gravy"]
    assert freq.X[2, 400] == 9


def test_per_sample_fasta_sums_its_records(tmp_path):
    write_fasta(tmp_path / "a.fa", [("p1", "MKVL"), ("p2", "MKVW")])
    with gzip.open(tmp_path / "b.fa.gz", "wt") as fh:  # gzip is detected by its magic bytes
        fh.write(">q1\nMEEE\n")
    sheet = sheet_of(["A", "B"], fasta=["a.fa", "b.fa.gz"])
    fm = build_sequence_matrix(sheet, alphabet="protein", k=2, normalise="counts",
                               base_dir=tmp_path)
    col = {n: i for i, n in enumerate(fm.feature_names)}
    assert fm.X[0, col["MK"]] == 2 and fm.X[0, col["KV"]] == 2 and fm.X[0, col["VL"]] == 1
    assert fm.X[0].sum() == 6 and fm.X[1, col["EE"]] == 2 and fm.X[1].sum() == 3


def test_nucleotide_records_default_to_strand_specific_kmers(tmp_path):
    fasta = write_fasta(tmp_path / "sites.fa", [("d1", "CAGGTAAGT"), ("d2", "ACTTACCTG")])
    sheet = sheet_of(["d1", "d2"])
    fm = build_sequence_matrix(sheet, sequences=fasta, k=3, normalise="counts")
    col = {n: i for i, n in enumerate(fm.feature_names)}
    assert len(fm.feature_names) == 64  # auto -> dna, non-canonical
    assert fm.X[0, col["GTA"]] == 1 and fm.X[1, col["GTA"]] == 0  # d2 is d1's reverse complement
    canon = build_sequence_matrix(sheet, sequences=fasta, k=3, canonical=True,
                                  normalise="counts")
    np.testing.assert_array_equal(canon.X[0], canon.X[1])


def test_ambiguous_letters_are_logged(tmp_path, caplog):
    fasta = write_fasta(tmp_path / "p.fa", [("s1", "MKXXLB*"), ("s2", "MKVLWW")])
    with caplog.at_level(logging.INFO, logger="genogan"):
        build_sequence_matrix(sheet_of(["s1", "s2"]), sequences=fasta, alphabet="protein", k=1)
    assert "*: 1, B: 1, X: 2" in caplog.text and "in 1 samples" in caplog.text


# ---- alphabet ----------------------------------------------------------------------------------
def test_auto_detects_dna_and_protein():
    dna = [Record("a", "ACGTTGCAAGNNACGT" * 3, "d.fa")]
    protein = [Record("a", "MKVLAAGIWDEFHKLPQRST", "p.fa")]
    assert resolve_alphabet(dna, "auto") == "dna"
    assert resolve_alphabet(protein, "auto") == "protein"
    assert resolve_alphabet([Record("a", "ACGU" * 10, "r.fa")], "auto") == "dna"


def test_dna_file_given_as_protein_is_an_error(tmp_path):
    fasta = write_fasta(tmp_path / "genes.fa", [("s1", "MKVLAAGIWDEFHK"),
                                                ("s2", "ACGTACGGTACCATGCA")])
    with pytest.raises(GenoganInputError) as err:
        build_sequence_matrix(sheet_of(["s1", "s2"]), sequences=fasta, alphabet="protein", k=1)
    msg = str(err.value)
    assert "record 's2' looks like DNA (100% of its letters are A/C/G/T/U/N)" in msg
    assert "genes.fa" in msg and "sequences.alphabet: dna" in msg


def test_protein_file_given_as_dna_is_an_error(tmp_path):
    fasta = write_fasta(tmp_path / "prot.fa", [("s1", "ACGTACGTACGTAC"),
                                               ("s2", "MKVLAAGIWDEFHKLPQ")])
    with pytest.raises(GenoganInputError) as err:
        build_sequence_matrix(sheet_of(["s1", "s2"]), sequences=fasta, alphabet="dna", k=2)
    msg = str(err.value)
    assert "record 's2' looks like protein" in msg and "but `sequences.alphabet` is DNA" in msg
    assert "prot.fa" in msg and "sequences.alphabet: protein" in msg


def test_auto_with_a_mixed_file_names_the_odd_record(tmp_path):
    fasta = write_fasta(tmp_path / "mixed.fa", [(f"p{i}", "MKVLAAGIWDEFHKLPQRST")
                                                for i in range(3)] + [("d", "ACGT" * 5)])
    with pytest.raises(GenoganInputError, match="record 'd' looks like DNA .* but the other "
                       "sequences are protein.*mixed.fa.*split the file by alphabet"):
        build_sequence_matrix(sheet_of(["p0", "p1", "p2", "d"]), sequences=fasta, k=1)


def test_invalid_characters_are_an_error(tmp_path):
    fasta = write_fasta(tmp_path / "bad.fa", [("s1", "MKVLA1AGIW"), ("s2", "MKVLAAGIWE")])
    with pytest.raises(GenoganInputError, match=r"record 's1' contains 1 character\(s\) that "
                       r"are not protein letters \(first: '1'\).*bad.fa"):
        build_sequence_matrix(sheet_of(["s1", "s2"]), sequences=fasta, alphabet="protein", k=1)


# ---- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("records, sheet_ids, message", [
    ([("s1", "MKVL"), ("s1", "MKVW"), ("s2", "MEEE")], ["s1", "s2"],
     "duplicate record id 's1' in the multi-FASTA"),
    ([("s1", "MKVL"), ("s2", "MKVW"), ("s9", "MEEE")], ["s1", "s2"],
     "1 record(s) are not in the sample sheet (first: 's9')"),
    ([("s1", "MKVL")], ["s1", "s2"],
     "1 sample(s) of the sheet have no record in the multi-FASTA (first: 's2')"),
    ([("s1", "MKVL"), ("s2", "")], ["s1", "s2"], "FASTA record 's2' has no sequence"),
    ([("s1", "MKVL"), ("s2", "MX")], ["s1", "s2"], "no valid 2-mer in this sample's sequence"),
])
def test_multi_fasta_mismatches_with_the_sheet(tmp_path, records, sheet_ids, message):
    fasta = write_fasta(tmp_path / "all.fa", records)
    with pytest.raises(GenoganInputError) as err:
        build_sequence_matrix(sheet_of(sheet_ids), sequences=fasta, alphabet="protein", k=2)
    assert message in str(err.value)
    assert "Fix:" in str(err.value)


@pytest.mark.parametrize("text, message", [
    ("", "FASTA file is empty"),
    ("MKVL\nAAGG\n", "not a FASTA file: it does not start with a '>' header"),
    (">\nMKVL\n", "FASTA record with an empty header"),
])
def test_malformed_fasta(tmp_path, text, message):
    (tmp_path / "x.fa").write_text(text)
    with pytest.raises(GenoganInputError, match=message) as err:
        read_fasta(tmp_path / "x.fa")
    assert "x.fa" in str(err.value)


def test_missing_fasta_file_and_column(tmp_path):
    with pytest.raises(GenoganInputError, match="FASTA file does not exist"):
        build_sequence_matrix(sheet_of(["a", "b"], fasta=["a.fa", "b.fa"]), base_dir=tmp_path)
    with pytest.raises(GenoganInputError, match="sequence input needs FASTA files"):
        build_sequence_matrix(sheet_of(["a", "b"]))
    with pytest.raises(GenoganInputError, match="no `fasta` file for this sample"):
        build_sequence_matrix(sheet_of(["a", "b"], fasta=["", "b.fa"]), base_dir=tmp_path)


def test_k_and_canonical_checks(tmp_path):
    fasta = write_fasta(tmp_path / "p.fa", [("s1", "MKVLAAGIWD"), ("s2", "MKVLAAGIWE")])
    sheet = sheet_of(["s1", "s2"])
    with pytest.raises(GenoganInputError, match="k = 4 is out of range for protein.*between 1 "
                       "and 3"):
        build_sequence_matrix(sheet, sequences=fasta, k=4)
    with pytest.raises(GenoganInputError, match="canonical k-mers exist only for DNA"):
        build_sequence_matrix(sheet, sequences=fasta, k=2, canonical=True)
    assert DNA.max_k == 8


@pytest.mark.parametrize("opts, fasta_column, message", [
    ({"path": "all.fa"}, ["a.fa", ""], "both `sequences.path` and per-sample `fasta` files"),
    ({"path": "missing.fa"}, None, "`sequences.path` does not exist"),
    ({"path": ""}, None, "input_type 'sequences' needs FASTA input"),
    ({"path": ""}, ["a.fa", ""], "no `fasta` file for this sample [sample 'b'"),
    ({"path": "all.fa", "alphabet": "protein", "k": 4}, None, "sequences.k = 4 is too large"),
    ({"path": "all.fa", "alphabet": "protein", "canonical": True}, None,
     "canonical k-mers exist only for DNA"),
])
def test_sequence_config_checks(tmp_path, monkeypatch, opts, fasta_column, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "all.fa").write_text(">a\nMKV\n>b\nMKW\n")
    columns = {} if fasta_column is None else {"fasta": fasta_column}
    with pytest.raises(GenoganInputError) as err:
        check_sequence_config(opts, sheet_of(["a", "b"], **columns), "cfg.yaml")
    assert message in str(err.value) and "Fix:" in str(err.value)
    check_sequence_config({"path": "all.fa", "alphabet": "protein", "k": 3},
                          sheet_of(["a", "b"]), "cfg.yaml")
