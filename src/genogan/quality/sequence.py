"""Sequence-aware fidelity for k-mer features.

A k-mer profile is not an arbitrary vector: frequencies sum to one, a strand-symmetric genome has
f(w) ~= f(revcomp(w)), the k-mer table determines the (k-1)-mer table twice (summing over the last
base or over the first base must agree) and the GC content follows from it. A generator that
treats features as unrelated numbers breaks these constraints even when per-feature marginals look
right, so they are measured here for real and synthetic samples side by side.

Applies only when every feature name is a DNA k-mer (A/C/G/T, one length); otherwise the caller
gets `None` and a note. Works for raw counts, frequencies and CLR-transformed profiles (the CLR
inverse is a softmax), detected from the real training data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from genogan.quality.fidelity import ks_wasserstein

_DNA = re.compile(r"^[ACGT]+$")
_COMPLEMENT = str.maketrans("ACGT", "TGCA")
_BASE = {"A": 0, "C": 1, "G": 2, "T": 3}
MAX_MARGINAL_K = 8  # the expanded 4^k table must stay small (4^8 = 65,536 columns)


def revcomp(kmer: str) -> str:
    return kmer.translate(_COMPLEMENT)[::-1]


def kmer_index(kmer: str) -> int:
    """Base-4 rank of a k-mer (A=0, C=1, G=2, T=3), so column blocks reshape into marginals."""
    value = 0
    for base in kmer:
        value = 4 * value + _BASE[base]
    return value


@dataclass
class KmerSpace:
    """What the feature names say about the k-mer encoding."""

    k: int
    kmers: list[str]
    canonical: bool  # no column has its reverse complement as another column
    complete: bool  # every k-mer (or every reverse-complement class, when canonical) is present


def parse_kmer_features(names) -> KmerSpace | None:
    """A KmerSpace when every name is a DNA k-mer of one length, else None."""
    names = [str(n) for n in names]
    if not names or not all(_DNA.match(n) for n in names):
        return None
    k = len(names[0])
    if any(len(n) != k for n in names):
        return None
    present = set(names)
    canonical = not any(revcomp(n) in present and revcomp(n) != n for n in names)
    classes = {min(n, revcomp(n)) for n in names}
    n_classes = (4**k + (4 ** (k // 2) if k % 2 == 0 else 0)) // 2
    complete = len(present) == 4**k or (canonical and len(classes) == n_classes)
    return KmerSpace(k, names, canonical, complete)


def detect_encoding(x: np.ndarray) -> str:
    """How the real profiles are encoded: 'frequency', 'counts', 'clr' or 'other'.

    frequency: non-negative rows summing to 1; counts: non-negative otherwise; clr: rows summing
    to 0 with negative entries (centred log-ratio); other: anything else (e.g. z-scores).
    """
    x = np.asarray(x, dtype=np.float64)
    sums = x.sum(axis=1)
    scale = max(1.0, float(np.abs(x).max(initial=0.0)))
    if (x >= 0).all():
        return "frequency" if np.allclose(sums, 1.0, atol=1e-6) else "counts"
    if np.allclose(sums, 0.0, atol=1e-6 * scale * x.shape[1]):
        return "clr"
    return "other"


def closure_error(x: np.ndarray, encoding: str) -> np.ndarray:
    """Per-sample |row sum - closure constant| (1 for frequencies, 0 for CLR); 0 = closed."""
    target = {"frequency": 1.0, "clr": 0.0}[encoding]
    return np.abs(np.asarray(x, dtype=np.float64).sum(axis=1) - target)


def to_frequencies(x: np.ndarray, encoding: str) -> np.ndarray:
    """Rows as proportions: softmax for CLR, else negatives clipped to 0 and rows renormalised."""
    x = np.asarray(x, dtype=np.float64)
    if encoding == "clr":
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    clipped = np.clip(x, 0.0, None)
    sums = clipped.sum(axis=1, keepdims=True)
    return np.divide(clipped, sums, out=np.zeros_like(clipped), where=sums > 0)


def revcomp_asymmetry(freq: np.ndarray, kmers: list[str]) -> np.ndarray:
    """Per-sample sum|f(w) - f(rc w)| / sum(f(w) + f(rc w)) over the non-palindromic pairs present.

    Range [0, 1]: 0 = perfectly strand-symmetric. Meaningful only for a non-canonical encoding
    (with canonical k-mers the symmetry holds by construction); NaN when no pair is present.
    """
    position = {w: i for i, w in enumerate(kmers)}
    pairs = [(i, position[revcomp(w)]) for i, w in enumerate(kmers)
             if revcomp(w) in position and w < revcomp(w)]
    if not pairs:
        return np.full(len(freq), np.nan)
    a, b = np.array(pairs).T
    diff = np.abs(freq[:, a] - freq[:, b]).sum(axis=1)
    mass = (freq[:, a] + freq[:, b]).sum(axis=1)
    return np.divide(diff, mass, out=np.full(len(freq), np.nan), where=mass > 0)


def expand_full(freq: np.ndarray, space: KmerSpace) -> np.ndarray:
    """The full 4^k table in base-4 order; a canonical column is split evenly over w and rc(w).

    Canonical counting adds the two strands, so under strand symmetry each orientation carries
    half of a non-palindromic class; a palindrome is its own complement and keeps its value.
    """
    full = np.zeros((len(freq), 4**space.k))
    own = np.array([kmer_index(w) for w in space.kmers])
    rcs = np.array([kmer_index(revcomp(w)) for w in space.kmers])
    if not space.canonical:
        full[:, own] = freq
        return full
    share = np.where(own == rcs, 1.0, 0.5)  # palindromes keep their whole value
    full[:, own] = freq * share
    full[:, rcs] = freq * share  # each index is hit once: rc(w) is never another column
    return full


def marginal_discrepancy(freq: np.ndarray, space: KmerSpace) -> np.ndarray:
    """Per-sample total-variation distance between the two (k-1)-mer marginals of a k-mer table.

    Summing k-mer frequencies over the last base and over the first base must both give the
    (k-1)-mer frequencies (exactly for a circular sequence, up to read-end effects for reads).
    Range [0, 1]: 0 = consistent, lower is better.
    """
    if space.k < 2:
        raise ValueError("(k-1)-mer marginals need k >= 2")
    full = expand_full(freq, space)
    prefix = full.reshape(len(full), 4 ** (space.k - 1), 4).sum(axis=2)  # sum over last base
    suffix = full.reshape(len(full), 4, 4 ** (space.k - 1)).sum(axis=1)  # sum over first base
    mass = np.abs(full).sum(axis=1)
    tv = 0.5 * np.abs(prefix - suffix).sum(axis=1)
    return np.divide(tv, mass, out=np.full(len(full), np.nan), where=mass > 0)


def gc_content(freq: np.ndarray, kmers: list[str]) -> np.ndarray:
    """Per-sample GC fraction: k-mer frequencies weighted by each k-mer's G+C share, in [0, 1].

    Reverse complements share their GC content, so canonical and full encodings agree.
    """
    gc = np.array([(w.count("G") + w.count("C")) / len(w) for w in kmers])
    mass = freq.sum(axis=1)
    return np.divide(freq @ gc, mass, out=np.full(len(freq), np.nan), where=mass > 0)


GC_COLUMNS = ["class", "source", "n", "gc_mean", "gc_sd", "gc_median", "ks_real_vs_synthetic",
              "w1_real_vs_synthetic"]


@dataclass
class SequenceFidelity:
    metrics: dict  # metric name -> value (real and synthetic side by side)
    gc: pd.DataFrame  # GC content per class and source, with KS / W1 real vs synthetic
    notes: list  # why a check was skipped


def _gc_table(gc_real, y_real, gc_synth, y_synth) -> pd.DataFrame:
    rows = []
    for label in sorted(set(y_real) | set(y_synth)):
        r, s = gc_real[y_real == label], gc_synth[y_synth == label]
        ks = w1 = np.nan
        if len(r) and len(s):
            ks, w1 = (float(v[0]) for v in ks_wasserstein(r[:, None], s[:, None]))
        for source, v in (("real", r), ("synthetic", s)):
            rows.append({"class": label, "source": source, "n": len(v),
                         "gc_mean": v.mean() if len(v) else np.nan,
                         "gc_sd": v.std(ddof=1) if len(v) > 1 else np.nan,
                         "gc_median": np.median(v) if len(v) else np.nan,
                         "ks_real_vs_synthetic": ks, "w1_real_vs_synthetic": w1})
    return pd.DataFrame(rows, columns=GC_COLUMNS)


def sequence_fidelity(real, y_real, synth, y_synth, feature_names) -> SequenceFidelity:
    """All k-mer-aware checks for real training vs synthetic samples (see the module docstring)."""
    space = parse_kmer_features(feature_names)
    if space is None:
        note = "features are not DNA k-mers: sequence-aware checks skipped"
        return SequenceFidelity({}, pd.DataFrame(columns=GC_COLUMNS), [note])
    encoding = detect_encoding(real)
    metrics, notes = {"sequence.k": space.k}, [f"k={space.k}, encoding '{encoding}', "
                                               f"{'canonical' if space.canonical else 'full'}"]
    if encoding == "other":
        notes.append("real profiles are neither counts, frequencies nor CLR: skipped")
        return SequenceFidelity(metrics, pd.DataFrame(columns=GC_COLUMNS), notes)
    synth = np.asarray(synth, dtype=np.float64)
    if encoding in ("frequency", "clr"):
        metrics["sequence.closure_error_real_max"] = float(closure_error(real, encoding).max())
        metrics["sequence.closure_error_synthetic_mean"] = float(
            closure_error(synth, encoding).mean())
    else:
        notes.append("raw counts: closure (sum to 1) does not apply")
    if encoding in ("frequency", "counts"):
        metrics["sequence.negative_fraction_synthetic"] = float((synth < 0).mean())
    f_real, f_synth = to_frequencies(real, encoding), to_frequencies(synth, encoding)
    if space.canonical:
        notes.append("canonical k-mers: reverse-complement symmetry holds by construction")
    else:
        metrics["sequence.revcomp_asymmetry_real_mean"] = float(
            np.nanmean(revcomp_asymmetry(f_real, space.kmers)))
        metrics["sequence.revcomp_asymmetry_synthetic_mean"] = float(
            np.nanmean(revcomp_asymmetry(f_synth, space.kmers)))
    if space.complete and 2 <= space.k <= MAX_MARGINAL_K:
        d_real = marginal_discrepancy(f_real, space)
        d_synth = marginal_discrepancy(f_synth, space)
        metrics["sequence.marginal_discrepancy_real_mean"] = float(np.mean(d_real))
        metrics["sequence.marginal_discrepancy_synthetic_mean"] = float(np.mean(d_synth))
        metrics["sequence.marginal_exceed_fraction"] = float(np.mean(d_synth > d_real.max()))
    else:
        notes.append("(k-1)-mer marginal consistency needs the complete k-mer set and "
                     f"2 <= k <= {MAX_MARGINAL_K}: skipped")
    gc = _gc_table(gc_content(f_real, space.kmers), np.asarray(y_real),
                   gc_content(f_synth, space.kmers), np.asarray(y_synth))
    metrics["sequence.gc_ks_max"] = float(np.nanmax(gc["ks_real_vs_synthetic"]))
    return SequenceFidelity(metrics, gc, notes)
