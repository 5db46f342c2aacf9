"""Demo-cohort simulator: determinism, read truth, error model, disease signal, bad parameters."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pysam
import pytest

from genogan import cli
from genogan.errors import GenoganInputError
from genogan.simulate import (
    CohortParams,
    assign_conditions,
    build_design,
    draw_truth,
    simulate_cohort,
    simulate_reference,
)

SMALL = dict(n_samples=6, case_fraction=0.5, contig_lengths=(20_000, 15_000), cnv_length=3000,
             cnv_motif_copies=20, n_disease_loci=5, coverage=3.0, cnv_case_fraction=1.0,
             cnv_control_fraction=0.0)
NAME = re.compile(r"^(S\d{3})\.(\d+):(chr\d+):(\d+):(\d+)$")
COMP = str.maketrans("ACGT", "TGCA")


def revcomp(s: str) -> str:
    return s.translate(COMP)[::-1]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort")
    simulate_cohort(out, CohortParams(**SMALL), sheet_path_prefix="resources/demo")
    return out


def read_pairs(out, sample):
    """(name, R1 seq, R1 qual, R2 seq, R2 qual) parsed with pysam's FASTQ reader."""
    with pysam.FastxFile(str(out / "reads" / f"{sample}_R1.fastq.gz")) as f1, \
            pysam.FastxFile(str(out / "reads" / f"{sample}_R2.fastq.gz")) as f2:
        return [(a.name, a.sequence, a.quality, b.name, b.sequence, b.quality)
                for a, b in zip(f1, f2, strict=True)]


def oriented_reads(out, samples):
    """Every read with the reference it should equal, both in sequencing (5'->3') orientation.

    The leftmost mate of a pair is on the forward strand, the other is the reverse complement.
    """
    fa = pysam.FastaFile(str(out / "reference.fa"))
    reads, expected, quals = [], [], []
    for sample in samples:
        for n1, s1, q1, n2, s2, q2 in read_pairs(out, sample):
            assert n1 == n2
            m = NAME.match(n1)
            assert m and m.group(1) == sample, n1
            contig, a, b = m.group(3), int(m.group(4)), int(m.group(5))
            ref1, ref2 = fa.fetch(contig, a, a + len(s1)), fa.fetch(contig, b, b + len(s2))
            r1_forward = a <= b
            reads += [s1, s2]
            quals += [q1, q2]
            expected += [ref1 if r1_forward else revcomp(ref1),
                         revcomp(ref2) if r1_forward else ref2]
    as_array = lambda xs: np.frombuffer("".join(xs).encode(), np.uint8).reshape(len(xs), -1)  # noqa: E731
    return as_array(reads), as_array(expected), as_array(quals).astype(int) - 33


def test_reference_fasta_and_index(cohort):
    params = CohortParams(**SMALL)
    ref = simulate_reference(params)
    assert list(ref) == ["chr1", "chr2"]
    assert [len(s) for s in ref.values()] == list(SMALL["contig_lengths"])
    lines = (cohort / "reference.fa").read_text().splitlines()
    assert lines[0] == ">chr1" and all(len(x) <= 60 for x in lines if not x.startswith(">"))
    fa = pysam.FastaFile(str(cohort / "reference.fa"))  # uses reference.fa.fai
    assert (cohort / "reference.fa.fai").exists()
    assert {c: fa.fetch(c) for c in fa.references} == ref
    design = json.loads((cohort / "truth" / "design.json").read_text())
    element = design["disease_element"]
    for locus in design["disease_loci"]:
        start = locus["element_start"] - 1
        assert ref[locus["contig"]][start:start + len(element)] == element
    cnv = design["cnv_region"]
    assert ref[cnv["contig"]][cnv["start0"]:cnv["end0"]].count(cnv["motif"]) == 20


def test_same_seed_same_bytes_other_seed_differs(tmp_path, cohort):
    simulate_cohort(tmp_path / "again", CohortParams(**SMALL), sheet_path_prefix="resources/demo")
    simulate_cohort(tmp_path / "other", CohortParams(**{**SMALL, "seed": 7}))
    files = ["reference.fa", "reference.fa.fai", "samples.tsv", "reads/S001_R1.fastq.gz",
             "reads/S006_R2.fastq.gz", "truth/cohort.tsv", "truth/S003.variants.tsv"]
    for f in files:
        assert (cohort / f).read_bytes() == (tmp_path / "again" / f).read_bytes(), f
    for f in ["reference.fa", "reads/S001_R1.fastq.gz", "reads/S006_R2.fastq.gz"]:
        assert (cohort / f).read_bytes() != (tmp_path / "other" / f).read_bytes(), f


def test_sample_data_depends_only_on_its_index(tmp_path, cohort):
    simulate_cohort(tmp_path, CohortParams(**{**SMALL, "n_samples": 8}))
    for f in ["reads/S001_R1.fastq.gz", "reads/S006_R2.fastq.gz", "truth/S004.variants.tsv"]:
        assert (cohort / f).read_bytes() == (tmp_path / f).read_bytes(), f


def test_sample_sheet_and_truth_tables(cohort):
    sheet = pd.read_csv(cohort / "samples.tsv", sep="\t")
    assert list(sheet.columns) == ["sample", "condition", "fq1", "fq2"]
    assert list(sheet["sample"]) == [f"S{i:03d}" for i in range(1, 7)]
    assert sheet["fq1"][0] == "resources/demo/reads/S001_R1.fastq.gz"
    assert sheet["fq2"][5] == "resources/demo/reads/S006_R2.fastq.gz"
    truth = pd.read_csv(cohort / "truth" / "cohort.tsv", sep="\t")
    assert list(truth["condition"]) == list(sheet["condition"])
    for row in truth.itertuples():
        assert len(read_pairs(cohort, row.sample)) == row.read_pairs
        var = pd.read_csv(cohort / "truth" / f"{row.sample}.variants.tsv", sep="\t")
        assert set(var["kind"]) <= {"background", "disease"}
        assert (var["kind"] == "disease").sum() == 3 * row.disease_loci_carried
        assert set(var["genotype"]) <= {"0|1", "1|0", "1|1"}


def test_reads_match_reference_at_named_position(cohort):
    reads, expected, _ = oriented_reads(cohort, ["S001", "S002"])
    match = (reads == expected).mean(axis=1)
    assert match.mean() >= 0.97
    assert np.mean(match >= 0.95) >= 0.95


def test_homozygous_snvs_are_in_the_reads(cohort):
    """Truth variants really are in the reads: at 1|1 SNVs nearly every covering base is alt."""
    alt_seen = total = 0
    for sample in ["S001", "S002", "S003", "S004"]:
        var = pd.read_csv(cohort / "truth" / f"{sample}.variants.tsv", sep="\t")
        hom = var[(var.genotype == "1|1") & (var.ref.str.len() == 1) & (var.alt.str.len() == 1)]
        sites = {(r.contig, r.pos - 1): r.alt for r in hom.itertuples()}
        for n1, s1, _, _, s2, _ in read_pairs(cohort, sample):
            _, _, contig, a, b = NAME.match(n1).groups()
            for start, seq in ((int(a), s1 if int(a) <= int(b) else revcomp(s1)),
                               (int(b), revcomp(s2) if int(a) <= int(b) else s2)):
                for (c, pos), alt in sites.items():
                    if c == contig and start <= pos < start + len(seq):
                        total += 1
                        alt_seen += seq[pos - start] == alt
    assert total >= 30
    assert alt_seen / total >= 0.9


def test_error_rate_rises_towards_3_prime_and_qualities_are_calibrated(cohort):
    reads, expected, q = oriented_reads(cohort, ["S001", "S002", "S003"])
    mismatch = reads != expected
    assert mismatch[:, -20:].mean() > 3 * mismatch[:, :20].mean()
    assert len(np.unique(q)) > 10  # real, varying quality strings
    low, high = mismatch[q < 20].mean(), mismatch[q >= 30].mean()
    assert low > 5 * high
    # calibrated: the observed error rate of Q<20 bases is near what their qualities promise
    promised = (10.0 ** (-q[q < 20] / 10.0)).mean()
    assert 0.5 * promised < low < 2 * promised


def test_cnv_samples_have_higher_depth_in_the_region(cohort):
    cnv = json.loads((cohort / "truth" / "design.json").read_text())["cnv_region"]
    truth = pd.read_csv(cohort / "truth" / "cohort.tsv", sep="\t")
    assert set(truth["cnv"]) == {"yes", "no"}
    share = {}
    for sample in truth["sample"]:
        starts = [NAME.match(p[0]).groups() for p in read_pairs(cohort, sample)]
        inside = [c == cnv["contig"] and cnv["start0"] <= int(a) < cnv["end0"]
                  for _, _, c, a, _ in starts]
        share[sample] = np.mean(inside)
    with_cnv = np.mean([share[s] for s in truth["sample"][truth["cnv"] == "yes"]])
    without = np.mean([share[s] for s in truth["sample"][truth["cnv"] == "no"]])
    assert with_cnv > 1.25 * without


@pytest.mark.parametrize("n,frac", [(40, 1 / 3), (41, 1 / 3), (10, 0.5), (7, 0.3), (100, 0.1)])
def test_class_balance_matches_case_fraction(n, frac):
    cases = assign_conditions(n, frac)
    assert cases.sum() == int(np.floor(n * frac + 0.5))
    assert np.array_equal(assign_conditions(n + 13, frac)[:n], cases)  # prefix-stable


def test_demo_cohort_default_balance():
    cases = assign_conditions(CohortParams().n_samples, CohortParams().case_fraction)
    assert (cases.sum(), (~cases).sum()) == (13, 27)


def carrier_rates(effect_size, n_per_class=300):
    params = CohortParams(**{**SMALL, "effect_size": effect_size})
    design = build_design(params)
    rates = {}
    for case in (True, False):
        truths = [draw_truth(params, design, case, np.random.default_rng([i, case]))
                  for i in range(n_per_class)]
        carriers = np.concatenate([t.disease_gt.any(axis=1) for t in truths])
        rates[case] = (carriers.mean(), np.mean([t.cnv for t in truths]))
    return rates


def test_effect_size_zero_means_same_carrier_rates():
    rates = carrier_rates(0.0)
    assert abs(rates[True][0] - rates[False][0]) < 0.05  # 1500 loci-draws per class
    assert rates[True][1] == rates[False][1] == 0.0  # SMALL: no CNV in controls -> none in cases
    assert abs(rates[False][0] - SMALL.get("control_carrier_rate", 0.2)) < 0.05
    signal = carrier_rates(1.0)
    assert signal[True][0] - signal[False][0] > 0.2
    assert signal[True][1] == 1.0 and signal[False][1] == 0.0


def test_effective_rates_scale_and_cap():
    p = CohortParams(effect_size=0.5)
    assert p.effective_rates["case_carrier_rate"] == pytest.approx(0.35)
    assert p.effective_rates["cnv_case_fraction"] == pytest.approx(0.225)
    assert CohortParams(effect_size=10).effective_rates["case_carrier_rate"] == 1.0


@pytest.mark.parametrize("change,message", [
    ({"n_samples": 3}, "n_samples: must be at least 4"),
    ({"case_fraction": 0.0}, "case_fraction: must lie strictly between 0 and 1"),
    ({"case_fraction": 1.2}, "case_fraction: must lie strictly between 0 and 1"),
    ({"n_samples": 4, "case_fraction": 0.2}, "each class needs at least 2"),
    ({"read_length": 400}, "read_length: 400 exceeds fragment_mean 350"),
    ({"coverage": 0}, "coverage must be > 0"),
    ({"effect_size": -1}, "effect_size: must be >= 0"),
    ({"contig_lengths": (1000,)}, "contig_lengths: every contig must be >= 10 x fragment_mean"),
    ({"cnv_motif_copies": 10_000}, "cnv_motif_copies: 10000 copies do not fit"),
    ({"case_carrier_rate": 1.5}, "case_carrier_rate: must lie in [0, 1]"),
    ({"n_disease_loci": 1000}, "n_disease_loci: 1000 loci need"),
])
def test_bad_parameters_raise_clear_errors(change, message):
    with pytest.raises(GenoganInputError, match="Fix: ") as err:
        CohortParams(**change)
    assert message in str(err.value)


def test_cli_writes_cohort_and_reports_bad_input(tmp_path, capsys):
    args = ["simulate", "--outdir", str(tmp_path), "--n-samples", "4", "--case-fraction", "0.5",
            "--contig-lengths", "12000,8000", "--cnv-length", "2000", "--cnv-motif-copies", "10",
            "--n-disease-loci", "3", "--coverage", "1", "--sheet-prefix", "resources/demo"]
    assert cli.main(args) == 0
    sheet = pd.read_csv(tmp_path / "samples.tsv", sep="\t")
    assert len(sheet) == 4 and sorted(sheet["condition"]) == ["case", "case", "control", "control"]
    assert all((tmp_path / "reads" / f"{s}_R2.fastq.gz").exists() for s in sheet["sample"])
    assert cli.main(args + ["--n-samples", "2"]) == 1
    assert "n_samples: must be at least 4" in capsys.readouterr().err
