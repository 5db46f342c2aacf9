"""Deterministic demo cohort: a small reference genome and case/control paired-end reads.

The demo exercises every stage on real file formats and carries a disease signal that is
*biologically shaped* and *hard*: a classifier on k-mer profiles should beat chance but not be
perfect, so that augmentation has room to help. The model:

* **Reference**: random contigs (GC content, CpG depletion). `n_disease_loci` copies of one 41-bp
  regulatory-like element are planted at unique places; one region of `cnv_length` bp on chr1
  holds `cnv_motif_copies` copies of a 30-bp repeat unit separated by random spacers, so a gain of
  the region shows up in the repeat's k-mers while reads stay uniquely mappable (MAPQ filters
  keep them).
* **Background variation**: population SNVs and small indels (allele frequency 2-50 %); every
  sample draws its own genotypes, phased onto two haplotypes.
* **Disease signal**: at every disease locus the risk haplotype carries the same three
  substitutions in the element, so all loci move the same 18 k-mers up and 18 down: one locus is
  invisible at demo depth, the sum over loci is not. A sample carries the risk haplotype at a
  locus with probability `case_carrier_rate` (cases) or `control_carrier_rate` (controls), with a
  Hardy-Weinberg allele frequency behind it (some carriers are homozygous): incomplete penetrance
  and phenocopies both. A one-copy gain of the repeat region (1.5x its coverage) is present in a
  fraction of cases and rarely in controls. `effect_size` scales the case-control gap of both
  (0 = no signal).
* **Reads**: fragments (normal length) sampled from the haplotypes (plus the duplicated region),
  2 x `read_length` bp, R1 from either strand, R2 the reverse complement of the other end.
  Substitution errors follow an Illumina-like profile rising towards the 3' end; the Phred+33
  quality of each base is the probability its error was drawn with (calibrated qualities).

Everything comes from `numpy.random.SeedSequence(seed)`: one child stream for the reference, one
for the population, one per sample index (spawned), so a sample's reads depend only on the seed,
its index and the parameters, and the same seed gives byte-identical files (gzip mtime 0, no
stored file name).
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import logging
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from genogan.errors import GenoganInputError
from genogan.io import atomic_path, atomic_write_text, setup_logging, timed

log = logging.getLogger("genogan.simulate")

BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
ELEMENT_LEN = 41  # disease element (a regulatory-like sequence planted at every locus)
RISK_OFFSETS = (8, 20, 32)  # the risk haplotype's substitutions: >= 6 bp apart, so 3 x 6 k-mers
MOTIF_LEN = 30  # CNV-region repeat unit
CHUNK_PAIRS = 100_000  # fragments simulated and written per chunk (bounds memory)
FAI_LINE = 60
PHRED_PROB = (10.0 ** (-np.arange(42) / 10.0)).astype(np.float32)  # Q -> P(error)
GZIP_LEVEL = 3  # FASTQ compression: level 6 triples the time for 4 % smaller files


def _knob(default, help_text: str):
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class CohortParams:
    """Knobs of the demo cohort (see the module docstring for the model).

    Difficulty goes *up* with smaller `n_samples`, lower `coverage` (more counting noise), larger
    `coverage_sd`, `variant_rate` and error rates (more nuisance variation), fewer
    `n_disease_loci` or `cnv_motif_copies`, closer carrier rates / CNV fractions, and smaller
    `effect_size` (0 = cases and controls drawn from the same distribution). Each field's
    `metadata["help"]` is its one-line description (also the CLI help).
    """

    seed: int = _knob(42, "master seed; same seed and knobs give byte-identical outputs")
    n_samples: int = _knob(40, "number of samples (>= 4)")
    case_fraction: float = _knob(
        1 / 3, "fraction of cases (0-1, exclusive); 1/3 gives the ~1:2 imbalance of the demo")
    contig_lengths: tuple[int, ...] = _knob(
        (100_000, 80_000, 70_000, 50_000), "lengths of contigs chr1..chrN in bp")
    gc_content: float = _knob(0.41, "GC fraction of the random reference (before CpG depletion)")
    coverage: float = _knob(
        4.0, "mean read depth per sample (higher = less counting noise, easier, slower)")
    coverage_sd: float = _knob(
        0.2, "per-sample depth noise: sd of the log depth multiplier (mean 1)")
    read_length: int = _knob(150, "read length of both mates in bp")
    fragment_mean: int = _knob(350, "mean fragment (insert) length in bp")
    fragment_sd: int = _knob(50, "sd of fragment length in bp (clipped at read_length)")
    error_start: float = _knob(
        5e-4, "median substitution error probability at the first cycle of R1")
    error_end: float = _knob(
        0.015, "median substitution error probability at the last cycle of R1")
    r2_error_factor: float = _knob(1.5, "R2 error probabilities are this multiple of R1's")
    variant_rate: float = _knob(
        1e-3, "background variants per bp per sample (population SNVs + indels)")
    indel_fraction: float = _knob(0.1, "fraction of background variants that are 1-3 bp indels")
    n_disease_loci: int = _knob(
        30, "disease loci (copies of one element); more loci = stronger k-mer signal")
    case_carrier_rate: float = _knob(
        0.5, "P(a case carries the risk allele at a locus) at effect_size 1 (penetrance-like)")
    control_carrier_rate: float = _knob(
        0.2, "P(a control carries the risk allele at a locus) (phenocopies / reduced penetrance)")
    cnv_length: int = _knob(10_000, "length of the copy-number-gain region on chr1 in bp")
    cnv_motif_copies: int = _knob(
        40, "copies of the 30-bp repeat unit in the CNV region; more = gain more visible in k-mers")
    cnv_case_fraction: float = _knob(0.4, "fraction of cases with the gain at effect_size 1")
    cnv_control_fraction: float = _knob(0.05, "fraction of controls with the gain")
    effect_size: float = _knob(
        1.0, "scales the case-control gap of carrier rate and CNV fraction: 0 = no signal, "
        "1 = the rates above, >1 = easier (rates capped at 1)")

    def __post_init__(self):
        object.__setattr__(self, "contig_lengths", tuple(int(x) for x in self.contig_lengths))
        _validate(self)

    @property
    def effective_rates(self) -> dict[str, float]:
        """Carrier rate and CNV fraction per class after scaling by `effect_size`."""
        def scaled(case, control):
            return float(np.clip(control + self.effect_size * (case - control), 0.0, 1.0))
        return {
            "case_carrier_rate": scaled(self.case_carrier_rate, self.control_carrier_rate),
            "control_carrier_rate": self.control_carrier_rate,
            "cnv_case_fraction": scaled(self.cnv_case_fraction, self.cnv_control_fraction),
            "cnv_control_fraction": self.cnv_control_fraction,
        }


def _bad(name: str, problem: str, fix: str):
    raise GenoganInputError(f"simulation parameter {name}: {problem}", fix=fix)


def _validate(p: CohortParams) -> None:
    """Reject parameter sets that cannot give a sensible cohort, naming the knob and the fix."""
    if p.n_samples < 4:
        _bad("n_samples", f"must be at least 4, got {p.n_samples}", "use --n-samples 4 or more")
    if not 0.0 < p.case_fraction < 1.0:
        _bad("case_fraction", f"must lie strictly between 0 and 1, got {p.case_fraction}",
             "use e.g. --case-fraction 0.33")
    n_cases = int(assign_conditions(p.n_samples, p.case_fraction).sum())
    if min(n_cases, p.n_samples - n_cases) < 2:
        _bad("case_fraction", f"gives {n_cases} cases among {p.n_samples} samples; each class "
             "needs at least 2", "raise --n-samples or move --case-fraction towards 0.5")
    if not p.contig_lengths or min(p.contig_lengths) < 10 * p.fragment_mean:
        _bad("contig_lengths", f"every contig must be >= 10 x fragment_mean "
             f"({10 * p.fragment_mean} bp), got {p.contig_lengths}", "use longer contigs")
    if p.read_length < 30:
        _bad("read_length", f"must be >= 30, got {p.read_length}", "use e.g. --read-length 150")
    if p.read_length > p.fragment_mean:
        _bad("read_length", f"{p.read_length} exceeds fragment_mean {p.fragment_mean}",
             "use a fragment mean of at least the read length")
    if p.fragment_sd < 0 or p.coverage <= 0 or p.coverage_sd < 0:
        _bad("coverage/fragment_sd", "coverage must be > 0 and the sds >= 0",
             "check --coverage, --coverage-sd, --fragment-sd")
    for name in ("case_fraction", "gc_content", "indel_fraction", "case_carrier_rate",
                 "control_carrier_rate", "cnv_case_fraction", "cnv_control_fraction"):
        if not 0.0 <= getattr(p, name) <= 1.0:
            _bad(name, f"must lie in [0, 1], got {getattr(p, name)}", "use a probability")
    if not (0 < p.error_start < 0.5 and 0 < p.error_end < 0.5 and p.r2_error_factor > 0):
        _bad("error_start/error_end", "error probabilities must lie in (0, 0.5)",
             "use e.g. --error-start 0.0005 --error-end 0.015")
    if not 0 <= p.variant_rate < 0.02:
        _bad("variant_rate", f"must lie in [0, 0.02), got {p.variant_rate}", "use e.g. 0.001")
    if p.effect_size < 0:
        _bad("effect_size", f"must be >= 0, got {p.effect_size}", "use 0 for no signal")
    if p.n_disease_loci < 0 or p.cnv_motif_copies < 0:
        _bad("n_disease_loci/cnv_motif_copies", "must be >= 0", "use non-negative counts")
    if not 2 * p.fragment_mean <= p.cnv_length <= p.contig_lengths[0] // 2:
        _bad("cnv_length", f"must lie between 2 x fragment_mean and half of chr1 "
             f"({p.contig_lengths[0] // 2} bp), got {p.cnv_length}", "adjust --cnv-length")
    if p.cnv_motif_copies and p.cnv_length // p.cnv_motif_copies < 2 * MOTIF_LEN:
        _bad("cnv_motif_copies", f"{p.cnv_motif_copies} copies do not fit {p.cnv_length} bp "
             f"with spacers (at most {p.cnv_length // (2 * MOTIF_LEN)})", "use fewer copies")
    free = sum(p.contig_lengths) - p.cnv_length - 2000 * len(p.contig_lengths)
    if p.n_disease_loci * 1000 > free:  # loci sit >= 500 bp apart: keep density <= 50 %
        _bad("n_disease_loci", f"{p.n_disease_loci} loci need {p.n_disease_loci * 1000} bp of "
             f"reference outside the CNV region and contig ends, only {free} free",
             "use fewer loci or longer contigs")


def assign_conditions(n_samples: int, case_fraction: float) -> np.ndarray:
    """Boolean case mask, spread evenly over the indices; sample i's class depends only on i.

    round(n * case_fraction) cases in total (rounding half up), so the class balance is exact and
    adding samples never relabels the existing ones.
    """
    i = np.arange(n_samples + 1)
    cum = np.floor(i * case_fraction + 0.5).astype(np.int64)
    return np.diff(cum) > 0


def sample_ids(n_samples: int) -> list[str]:
    width = max(3, len(str(n_samples)))
    return [f"S{i + 1:0{width}d}" for i in range(n_samples)]


# --------------------------------------------------------------------------- reference and design

@dataclass
class Design:
    """Everything shared by the cohort: reference, disease loci, CNV region, population sites."""

    contigs: list[str]
    ref: list[np.ndarray]  # uint8 codes 0..3 (A, C, G, T) per contig
    element: str
    risk_element: str  # the element as the risk haplotype carries it
    loci_contig: np.ndarray
    loci_pos: np.ndarray  # 0-based start of the element
    cnv_contig: int
    cnv_start: int
    cnv_end: int
    motif: str
    site_contig: np.ndarray  # background population sites
    site_pos: np.ndarray
    site_ref: list[str]
    site_alt: list[str]
    site_af: np.ndarray


def _random_seq(rng, n: int, gc: float) -> np.ndarray:
    """i.i.d. bases with a GC content, then CpG depletion (as in mammalian genomes)."""
    seq = rng.choice(4, size=n, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]).astype(np.uint8)
    cpg = np.flatnonzero((seq[:-1] == 1) & (seq[1:] == 2))
    hit = cpg[rng.random(cpg.size) < 0.75]
    strand = rng.random(hit.size) < 0.5  # deamination on either strand: CG -> TG or CA
    seq[hit[strand]] = 3
    seq[hit[~strand] + 1] = 0
    return seq


def _codes(s: str) -> np.ndarray:
    return np.searchsorted(BASES, np.frombuffer(s.encode(), dtype=np.uint8)).astype(np.uint8)


def _text(codes: np.ndarray) -> str:
    return BASES[codes].tobytes().decode()


def _place_loci(rng, p: CohortParams, cnv: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Disease loci at least 500 bp apart, 1 kb from contig ends, outside the CNV region."""
    lengths = np.array(p.contig_lengths)
    cstart = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    chosen: list[int] = []
    for _ in range(100):  # rejection sampling; validation keeps the density low enough
        if len(chosen) == p.n_disease_loci:
            break
        cand = rng.integers(0, lengths.sum(), size=4 * p.n_disease_loci + 10)
        for g in cand:
            c = int(np.searchsorted(cstart, g, side="right") - 1)
            pos = int(g - cstart[c])
            if not 1000 <= pos < lengths[c] - 1000:
                continue
            if c == cnv[0] and cnv[1] - 500 <= pos < cnv[2] + 500:
                continue
            if chosen and np.min(np.abs(np.array(chosen) - g)) < 500:
                continue
            chosen.append(int(g))
            if len(chosen) == p.n_disease_loci:
                break
    if len(chosen) < p.n_disease_loci:
        _bad("n_disease_loci", f"could not place {p.n_disease_loci} loci 500 bp apart",
             "use fewer loci or longer contigs")
    g = np.sort(np.array(chosen, dtype=np.int64))
    c = np.searchsorted(cstart, g, side="right") - 1
    return c.astype(np.int64), g - cstart[c]


def _population_sites(rng, p: CohortParams, ref, loci_contig, loci_pos):
    """Background polymorphic sites (SNVs and small indels) with allele frequencies 2-50 %."""
    mean_nonref = 0.433  # E[1 - (1 - af)^2] for af ~ U(0.02, 0.5)
    contig_out, pos_out, ref_out, alt_out, af_out = [], [], [], [], []
    for c, seq in enumerate(ref):
        n = rng.binomial(len(seq) - 200, p.variant_rate / mean_nonref)
        pos = np.sort(rng.choice(np.arange(100, len(seq) - 100), size=n, replace=False))
        keep = np.diff(pos, prepend=-100) > 8  # room for a 3 bp indel before the next site
        near = loci_pos[loci_contig == c]
        if near.size:
            keep &= np.min(np.abs(pos[:, None] - near[None, :]), axis=1) > ELEMENT_LEN
        pos = pos[keep]
        kind = rng.random(pos.size)
        length = rng.integers(1, 4, size=pos.size)
        shift = rng.integers(1, 4, size=pos.size)
        insert = rng.integers(0, 4, size=(pos.size, 3)).astype(np.uint8)
        for j, x in enumerate(pos):
            r = _text(seq[x:x + 1])
            if kind[j] < p.indel_fraction / 2:  # deletion: anchor + deleted bases
                r, a = _text(seq[x:x + 1 + length[j]]), r
            elif kind[j] < p.indel_fraction:  # insertion after the anchor base
                a = r + _text(insert[j, :length[j]])
            else:
                a = _text(np.array([(seq[x] + shift[j]) % 4], dtype=np.uint8))
            ref_out.append(r)
            alt_out.append(a)
        contig_out.append(np.full(pos.size, c))
        pos_out.append(pos)
        af_out.append(rng.uniform(0.02, 0.5, size=pos.size))
    return (np.concatenate(contig_out), np.concatenate(pos_out), ref_out, alt_out,
            np.concatenate(af_out))


def build_design(p: CohortParams) -> Design:
    """Reference with planted disease elements and CNV motifs, plus background population sites."""
    ref_ss, pop_ss, _ = np.random.SeedSequence(p.seed).spawn(3)
    rng = np.random.default_rng(ref_ss)
    ref = [_random_seq(rng, n, p.gc_content) for n in p.contig_lengths]
    element = _random_seq(rng, ELEMENT_LEN, 0.5)
    risk = element.copy()
    risk[list(RISK_OFFSETS)] = (risk[list(RISK_OFFSETS)]
                                + rng.integers(1, 4, size=len(RISK_OFFSETS))) % 4
    motif = _random_seq(rng, MOTIF_LEN, 0.5)

    cnv_start = int(rng.integers(1000, p.contig_lengths[0] - p.cnv_length - 1000))
    cnv = (0, cnv_start, cnv_start + p.cnv_length)
    if p.cnv_motif_copies:
        slot = p.cnv_length // p.cnv_motif_copies
        offs = rng.integers(0, slot - MOTIF_LEN, size=p.cnv_motif_copies)
        starts = cnv_start + np.arange(p.cnv_motif_copies) * slot + offs
        ref[0][starts[:, None] + np.arange(MOTIF_LEN)] = motif
    loci_contig, loci_pos = _place_loci(rng, p, cnv)
    for c, x in zip(loci_contig, loci_pos, strict=True):
        ref[c][x:x + ELEMENT_LEN] = element

    sites = _population_sites(np.random.default_rng(pop_ss), p, ref, loci_contig, loci_pos)
    return Design(
        contigs=[f"chr{i + 1}" for i in range(len(ref))], ref=ref, element=_text(element),
        risk_element=_text(risk), loci_contig=loci_contig, loci_pos=loci_pos,
        cnv_contig=0, cnv_start=cnv[1], cnv_end=cnv[2], motif=_text(motif),
        site_contig=sites[0], site_pos=sites[1], site_ref=sites[2], site_alt=sites[3],
        site_af=sites[4])


def simulate_reference(params: CohortParams) -> dict[str, str]:
    """The demo reference genome: contig name -> sequence (upper case)."""
    d = build_design(params)
    return {name: _text(seq) for name, seq in zip(d.contigs, d.ref, strict=True)}


# --------------------------------------------------------------------------- samples

@dataclass
class SampleTruth:
    """What one sample truly carries (written to truth/, used to build its haplotypes)."""

    case: bool
    coverage: float
    cnv: bool
    disease_gt: np.ndarray  # (n_loci, 2) risk allele on haplotype 0 / 1
    site_gt: np.ndarray  # (n_sites, 2) alt allele on haplotype 0 / 1


def _sample_streams(p: CohortParams) -> list[np.random.SeedSequence]:
    """One independent stream per sample index (child i does not depend on n_samples)."""
    _, _, samples_ss = np.random.SeedSequence(p.seed).spawn(3)
    return samples_ss.spawn(p.n_samples)


def draw_truth(p: CohortParams, d: Design, case: bool, rng) -> SampleTruth:
    """Class-dependent genotypes: risk alleles per haplotype, CNV, background genotypes, depth."""
    rates = p.effective_rates
    carrier = rates["case_carrier_rate" if case else "control_carrier_rate"]
    allele_p = 1.0 - np.sqrt(1.0 - carrier)  # per-haplotype, so P(carrier) = carrier
    cnv_p = rates["cnv_case_fraction" if case else "cnv_control_fraction"]
    depth = p.coverage * float(np.exp(rng.normal(-p.coverage_sd ** 2 / 2, p.coverage_sd)))
    cnv = bool(rng.random() < cnv_p)
    disease = rng.random((d.loci_pos.size, 2)) < allele_p
    sites = rng.random((d.site_pos.size, 2)) < d.site_af[:, None]
    return SampleTruth(case, depth, cnv, disease, sites)


def _haplotype(ref: np.ndarray, variants: list[tuple[int, str, str]]):
    """Apply sorted, non-overlapping variants; return sequence and hap->ref coordinate map.

    Inserted bases map to the reference base after the anchor (where an aligner would place them).
    """
    seqs, coords, prev = [], [], 0
    for pos, r, a in variants:
        seqs += [ref[prev:pos], _codes(a)]
        common = min(len(r), len(a))
        coords += [np.arange(prev, pos), pos + np.arange(common),
                   np.full(len(a) - common, pos + len(r))]
        prev = pos + len(r)
    seqs.append(ref[prev:])
    coords.append(np.arange(prev, len(ref)))
    return np.concatenate(seqs), np.concatenate(coords).astype(np.int64)


def _risk_variants(d: Design, start: int) -> list[tuple[int, str, str]]:
    """The risk haplotype's substitutions at a locus whose element starts at `start`."""
    return [(start + o, d.element[o], d.risk_element[o]) for o in RISK_OFFSETS]


def _sample_variants(d: Design, t: SampleTruth, c: int, hap: int):
    """Variants on one haplotype of one contig, sorted by position."""
    out = [v for x in d.loci_pos[(d.loci_contig == c) & t.disease_gt[:, hap]]
           for v in _risk_variants(d, int(x))]
    idx = np.flatnonzero((d.site_contig == c) & t.site_gt[:, hap])
    out += [(int(d.site_pos[j]), d.site_ref[j], d.site_alt[j]) for j in idx]
    return sorted(out)


def _pieces(d: Design, t: SampleTruth):
    """Haplotype sequences (2 per contig, plus the extra CNV copy) with coordinates."""
    pieces = []
    for c, ref in enumerate(d.ref):
        for hap in (0, 1):
            seq, h2r = _haplotype(ref, _sample_variants(d, t, c, hap))
            pieces.append((c, seq, h2r))
            if t.cnv and hap == 0 and c == d.cnv_contig:
                lo, hi = np.searchsorted(h2r, [d.cnv_start, d.cnv_end])
                extra = (c, seq[lo:hi], h2r[lo:hi])
    if t.cnv:
        pieces.append(extra)
    return pieces


def _error_profile(p: CohortParams) -> np.ndarray:
    """Median error probability per cycle: log-quadratic rise from error_start to error_end."""
    x = np.linspace(0.0, 1.0, p.read_length) ** 2
    return np.exp(np.log(p.error_start) + (np.log(p.error_end) - np.log(p.error_start)) * x)


def _add_errors(rng, reads: np.ndarray, profile: np.ndarray):
    """Substitution errors and calibrated Phred+33 qualities (per-read and per-base variation).

    The error probability of a base is the cycle's median times a per-read and a per-base
    log-normal factor (sd 0.4 and 0.5 of the natural log); worked in Phred space to stay cheap.
    """
    phred_per_ln = 10.0 / np.log(10.0)
    q = (-phred_per_ln * np.log(profile))[None, :] - phred_per_ln * (
        0.4 * rng.standard_normal((reads.shape[0], 1), dtype=np.float32)
        + 0.5 * rng.standard_normal(reads.shape, dtype=np.float32))
    q = np.clip(np.rint(q), 2, 41).astype(np.uint8)
    err = rng.random(reads.shape, dtype=np.float32) < PHRED_PROB[q]
    out = reads.copy()
    out[err] = (out[err] + rng.integers(1, 4, size=int(err.sum()), dtype=np.uint8)) % 4
    return out, q + np.uint8(33)


def _simulate_pairs(rng, p: CohortParams, pieces, n_pairs: int):
    """Yield chunks of (contig index, r1_start, r2_start, R1 codes, R1 qual, R2 codes, R2 qual)."""
    L = p.read_length
    lens = np.array([len(s) for _, s, _ in pieces], dtype=np.int64)
    offs = np.concatenate([[0], np.cumsum(lens)[:-1]])
    seq_all = np.concatenate([s for _, s, _ in pieces])
    h2r_all = np.concatenate([h for _, _, h in pieces])
    contig_of = np.array([c for c, _, _ in pieces])
    ar = np.arange(L)
    prof1 = _error_profile(p)
    prof2 = np.minimum(prof1 * p.r2_error_factor, 0.5)
    for lo in range(0, n_pairs, CHUNK_PAIRS):
        n = min(CHUNK_PAIRS, n_pairs - lo)
        piece = rng.choice(len(pieces), size=n, p=lens / lens.sum())
        frag = np.rint(rng.normal(p.fragment_mean, p.fragment_sd, size=n)).astype(np.int64)
        frag = np.minimum(np.maximum(frag, L), lens[piece])
        start = offs[piece] + (rng.random(n) * (lens[piece] - frag + 1)).astype(np.int64)
        right = start + frag - L
        fwd = seq_all[start[:, None] + ar]
        rev = 3 - seq_all[right[:, None] + ar][:, ::-1]
        flip = rng.random(n) < 0.5  # R1 from the reverse strand
        r1 = np.where(flip[:, None], rev, fwd)
        r2 = np.where(flip[:, None], fwd, rev)
        r1_start = np.where(flip, h2r_all[right], h2r_all[start])
        r2_start = np.where(flip, h2r_all[start], h2r_all[right])
        r1, q1 = _add_errors(rng, r1, prof1)
        r2, q2 = _add_errors(rng, r2, prof2)
        yield contig_of[piece], r1_start, r2_start, r1, q1, r2, q2


def _fastq_bytes(names: list[bytes], codes: np.ndarray, quals: np.ndarray) -> bytes:
    seqs, qs = BASES[codes], quals
    return b"".join(b"@%s\n%s\n+\n%s\n" % (nm, seqs[i].tobytes(), qs[i].tobytes())
                    for i, nm in enumerate(names))


def write_fastq_pair(r1_path, r2_path, sample: str, contigs: list[str], chunks) -> int:
    """Write gzipped mates atomically and deterministically (gzip mtime 0, no stored name).

    Read names follow the workflow contract `{sample}.{pair_index}:{contig}:{r1_start}:{r2_start}`
    (0-based pair index; 0-based leftmost reference coordinates of each mate as it aligns).
    Returns the number of pairs written.
    """
    n_done = 0
    def gz(fh):  # no file name and mtime 0 in the header: same bytes for the same reads
        return gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=GZIP_LEVEL, mtime=0)

    with atomic_path(r1_path) as t1, atomic_path(r2_path) as t2, \
            open(t1, "wb") as f1, open(t2, "wb") as f2, gz(f1) as g1, gz(f2) as g2:
        for contig, s1, s2, r1, q1, r2, q2 in chunks:
            names = [b"%s.%d:%s:%d:%d" % (sample.encode(), n_done + i, contigs[c].encode(), a, b)
                     for i, (c, a, b) in enumerate(zip(contig.tolist(), s1.tolist(),
                                                       s2.tolist(), strict=True))]
            g1.write(_fastq_bytes(names, r1, q1))
            g2.write(_fastq_bytes(names, r2, q2))
            n_done += len(names)
    return n_done


# --------------------------------------------------------------------------- cohort output

def _write_reference(path: Path, d: Design) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        for name, seq in zip(d.contigs, d.ref, strict=True):
            s = _text(seq)
            fh.write(f">{name}\n")
            fh.write("\n".join(s[i:i + FAI_LINE] for i in range(0, len(s), FAI_LINE)))
            fh.write("\n")
    fai = path.with_name(path.name + ".fai")
    with atomic_path(fai) as tmp:
        pysam.faidx(str(path), "--fai-idx", str(tmp))


def _variant_rows(d: Design, t: SampleTruth) -> list[str]:
    """Truth rows (1-based VCF-style pos/ref/alt, phased genotype) sorted by contig and position."""
    rows = []
    gt = {(True, False): "1|0", (False, True): "0|1", (True, True): "1|1"}
    for j in np.flatnonzero(t.disease_gt.any(axis=1)):
        rows += [(int(d.loci_contig[j]), x, r, a, gt[tuple(t.disease_gt[j].tolist())],
                  "disease") for x, r, a in _risk_variants(d, int(d.loci_pos[j]))]
    for j in np.flatnonzero(t.site_gt.any(axis=1)):
        rows.append((int(d.site_contig[j]), int(d.site_pos[j]), d.site_ref[j], d.site_alt[j],
                     gt[tuple(t.site_gt[j].tolist())], "background"))
    return [f"{d.contigs[c]}\t{x + 1}\t{r}\t{a}\t{g}\t{k}" for c, x, r, a, g, k in sorted(rows)]


def _design_json(p: CohortParams, d: Design) -> str:
    info = {
        "params": dataclasses.asdict(p),
        "effective_rates": p.effective_rates,
        "disease_element": d.element,
        "disease_risk_element": d.risk_element,
        "disease_loci": [{"contig": d.contigs[c], "element_start": int(x) + 1}
                         for c, x in zip(d.loci_contig, d.loci_pos, strict=True)],
        "cnv_region": {"contig": d.contigs[d.cnv_contig], "start0": d.cnv_start,
                       "end0": d.cnv_end,
                       "region": f"{d.contigs[d.cnv_contig]}:{d.cnv_start + 1}-{d.cnv_end}",
                       "extra_copies": 1, "motif": d.motif},
        "n_background_sites": int(d.site_pos.size),
    }
    return json.dumps(info, indent=2) + "\n"


def simulate_cohort(outdir, params: CohortParams | None = None,
                    sheet_path_prefix: str = "") -> Path:
    """Write reference, reads, sample sheet and truth under `outdir`; return the sheet's path.

    Layout: `reference.fa` (+ `.fai`), `reads/{sample}_R{1,2}.fastq.gz`, `samples.tsv`
    (`sample condition fq1 fq2`, read paths prefixed by `sheet_path_prefix`, e.g.
    `resources/demo` for the committed `config/samples.tsv`), `truth/cohort.tsv`,
    `truth/{sample}.variants.tsv`, `truth/design.json`.
    """
    p = params or CohortParams()
    out = Path(outdir)
    with timed(log, "reference and population design"):
        d = build_design(p)
        _write_reference(out / "reference.fa", d)
        atomic_write_text(out / "truth" / "design.json", _design_json(p, d))
    cases = assign_conditions(p.n_samples, p.case_fraction)
    ids = sample_ids(p.n_samples)
    header = "contig\tpos\tref\talt\tgenotype\tkind"
    sheet = ["sample\tcondition\tfq1\tfq2"]
    cohort = [("sample\tcondition\tdisease_loci_carried\tdisease_alleles\tcnv\tcoverage"
              "\tread_pairs\tbackground_variants")]
    with timed(log, f"{p.n_samples} samples"):
        for i, ss in enumerate(_sample_streams(p)):
            sid, rng = ids[i], np.random.default_rng(ss)
            t = draw_truth(p, d, bool(cases[i]), rng)
            pieces = _pieces(d, t)
            hap_bases = sum(len(s) for _, s, _ in pieces)
            n_pairs = round(t.coverage * hap_bases / 2 / (2 * p.read_length))
            fq = [f"reads/{sid}_R{m}.fastq.gz" for m in (1, 2)]
            write_fastq_pair(out / fq[0], out / fq[1], sid, d.contigs,
                             _simulate_pairs(rng, p, pieces, n_pairs))
            rows = _variant_rows(d, t)
            atomic_write_text(out / "truth" / f"{sid}.variants.tsv", "\n".join([header, *rows])
                              + "\n")
            cond = "case" if t.case else "control"
            sheet.append("\t".join([sid, cond, *(posixpath.join(sheet_path_prefix, f)
                                                  for f in fq)]))
            cohort.append(f"{sid}\t{cond}\t{int(t.disease_gt.any(axis=1).sum())}\t"
                          f"{int(t.disease_gt.sum())}\t{'yes' if t.cnv else 'no'}\t"
                          f"{t.coverage:.3f}\t{n_pairs}\t{int(t.site_gt.any(axis=1).sum())}")
            log.info("%s %s: %d pairs, depth %.2f, cnv %s", sid, cond, n_pairs, t.coverage,
                     t.cnv)
    atomic_write_text(out / "truth" / "cohort.tsv", "\n".join(cohort) + "\n")
    sheet_path = out / "samples.tsv"
    atomic_write_text(sheet_path, "\n".join(sheet) + "\n")
    return sheet_path


# --------------------------------------------------------------------------- CLI

def _run(args) -> int:
    setup_logging(args.log)
    knobs = {f.name: getattr(args, f.name) for f in dataclasses.fields(CohortParams)}
    params = CohortParams(**knobs)
    sheet = simulate_cohort(args.outdir, params, args.sheet_prefix)
    log.info("sample sheet: %s", sheet)
    return 0


def _contig_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") \
            from err


def register_cli(subparsers) -> None:
    """`genogan simulate`: every CohortParams field becomes an option with its default shown."""
    sp = subparsers.add_parser(
        "simulate", help="write the deterministic demo cohort (reference, reads, truth)",
        description=__doc__.split("\n\n")[0] + " See config/README.md for the knobs.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sp.add_argument("--outdir", required=True, help="output folder (e.g. resources/demo)")
    sp.add_argument("--sheet-prefix", default="",
                    help="prefix for read paths in samples.tsv (e.g. resources/demo)")
    sp.add_argument("--log", default=None, help="also log to this file")
    for f in dataclasses.fields(CohortParams):
        flag = "--" + f.name.replace("_", "-")
        if f.name == "contig_lengths":
            sp.add_argument(flag, type=_contig_list, default=",".join(map(str, f.default)),
                            metavar="BP,BP,...", help=f.metadata["help"])
        else:
            sp.add_argument(flag, type=type(f.default), default=f.default,
                            help=f.metadata["help"])
    sp.set_defaults(func=_run)
