"""k-mer-aware fidelity checks on hand-made examples (genogan.quality.sequence)."""

import itertools

import numpy as np
import pytest

from genogan.quality import sequence as seq


def all_kmers(k):
    return ["".join(p) for p in itertools.product("ACGT", repeat=k)]


def canonical_kmers(k):
    return sorted({min(w, seq.revcomp(w)) for w in all_kmers(k)})


def count(sequence, k, names, circular=False, canonical=False):
    """Brute-force k-mer counts of one sequence, in the order of `names`."""
    s = sequence + sequence[:k - 1] if circular else sequence
    counts = dict.fromkeys(names, 0.0)
    for i in range(len(s) - k + 1):
        w = s[i:i + k]
        counts[min(w, seq.revcomp(w)) if canonical else w] += 1
    return np.array([counts[n] for n in names])


def test_parse_kmer_features():
    full = seq.parse_kmer_features(all_kmers(2))
    assert (full.k, full.canonical, full.complete) == (2, False, True)
    canon = seq.parse_kmer_features(canonical_kmers(3))
    assert (canon.k, canon.canonical, canon.complete) == (3, True, True)
    assert len(canonical_kmers(4)) == 136 and seq.parse_kmer_features(canonical_kmers(4)).complete
    assert not seq.parse_kmer_features(["AA", "AC"]).complete
    assert seq.parse_kmer_features(["A", "C", "D"]) is None  # amino acids
    assert seq.parse_kmer_features(["AC", "ACG"]) is None
    assert seq.parse_kmer_features(["gene1", "gene2"]) is None


def test_marginal_discrepancy_hand_examples():
    names = all_kmers(2)
    space = seq.parse_kmer_features(names)
    only_ac = np.array([[1.0 if w == "AC" else 0.0 for w in names]])
    assert seq.marginal_discrepancy(only_ac, space) == pytest.approx([1.0])  # A... vs ...C
    # linear "AACG": AA, AC, CG -> prefixes A,A,C vs suffixes A,C,G -> TV = 0.5 * (1+0+1) / 3
    linear = count("AACG", 2, names)
    assert seq.marginal_discrepancy(linear[None], space) == pytest.approx([1 / 3])
    circular = count("ACGTTGCAAT", 2, names, circular=True)
    assert seq.marginal_discrepancy(circular[None], space) == pytest.approx([0.0])


@pytest.mark.parametrize("k", [3, 4])  # odd and even k (palindromes)
def test_canonical_counts_of_a_circular_sequence_are_consistent(k):
    r = np.random.default_rng(k)
    s = "".join(r.choice(list("ACGT"), 300))
    names = canonical_kmers(k)
    space = seq.parse_kmer_features(names)
    freq = count(s, k, names, circular=True, canonical=True)[None]
    assert seq.marginal_discrepancy(freq / freq.sum(), space) == pytest.approx([0.0], abs=1e-12)
    broken = freq.copy()
    broken[0, names.index("AAC" + "A" * (k - 3))] += 50  # AAA.. would not break it
    assert seq.marginal_discrepancy(broken, space)[0] > 0.01


def test_gc_content_and_revcomp_asymmetry_hand_examples():
    names = ["AA", "GC", "AT", "AC"]
    freq = np.array([[0.5, 0.25, 0.25, 0.0], [0.0, 0.0, 0.0, 2.0]])
    assert seq.gc_content(freq, names) == pytest.approx([0.25, 0.5])
    names = ["AA", "TT", "AC", "GT", "CG"]  # CG is its own reverse complement
    freq = np.array([[0.4, 0.2, 0.3, 0.1, 0.0], [0.25, 0.25, 0.2, 0.2, 0.1]])
    assert seq.revcomp_asymmetry(freq, names) == pytest.approx([0.4, 0.0])


def test_detect_encoding_and_clr_inverse():
    r = np.random.default_rng(0)
    freq = r.dirichlet(np.ones(10), size=5)
    clr = np.log(freq) - np.log(freq).mean(axis=1, keepdims=True)
    assert seq.detect_encoding(freq) == "frequency"
    assert seq.detect_encoding(freq * 1000) == "counts"
    assert seq.detect_encoding(clr) == "clr"
    assert seq.detect_encoding(r.normal(size=(5, 10))) == "other"
    assert seq.to_frequencies(clr, "clr") == pytest.approx(freq)
    assert seq.closure_error(clr, "clr") == pytest.approx(np.zeros(5), abs=1e-12)
    assert seq.closure_error(freq * 2, "frequency") == pytest.approx(np.ones(5))


def _profiles(n, gc, k, seed):
    r = np.random.default_rng(seed)
    names = canonical_kmers(k)
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    rows = [count("".join(r.choice(list("ACGT"), 400, p=p)), k, names, canonical=True)
            for _ in range(n)]
    x = np.array(rows)
    return x / x.sum(axis=1, keepdims=True), names


def test_sequence_fidelity_separates_faithful_from_broken_profiles():
    a, names = _profiles(20, 0.35, 3, 1)
    b, _ = _profiles(20, 0.6, 3, 2)
    real, y = np.r_[a, b], np.array(["low"] * 20 + ["high"] * 20)
    fresh = np.r_[_profiles(20, 0.35, 3, 3)[0], _profiles(20, 0.6, 3, 4)[0]]
    good = seq.sequence_fidelity(real, y, fresh, y, names)
    noisy = fresh + np.random.default_rng(5).normal(0, 0.01, fresh.shape)
    bad = seq.sequence_fidelity(real, y, noisy, y[::-1], names)  # labels swapped: GC moves
    assert good.metrics["sequence.closure_error_synthetic_mean"] < 1e-12
    assert bad.metrics["sequence.closure_error_synthetic_mean"] > 0.01
    assert good.metrics["sequence.negative_fraction_synthetic"] == 0
    assert bad.metrics["sequence.negative_fraction_synthetic"] > 0.01
    assert good.metrics["sequence.marginal_exceed_fraction"] < 0.3
    assert bad.metrics["sequence.marginal_exceed_fraction"] > 0.9
    assert good.metrics["sequence.gc_ks_max"] < 0.5 < bad.metrics["sequence.gc_ks_max"]
    assert set(good.gc["class"]) == {"low", "high"} and len(good.gc) == 4
    assert any("canonical" in note for note in good.notes)


def test_sequence_fidelity_skips_non_kmer_features_with_a_note():
    x = np.random.default_rng(0).random((6, 3))
    result = seq.sequence_fidelity(x, np.array(["a", "b"] * 3), x, np.array(["a", "b"] * 3),
                                   ["g1", "g2", "g3"])
    assert result.metrics == {} and result.gc.empty and "not DNA k-mers" in result.notes[0]
