"""Tests for genogan.align: reads map back to where they were sampled, BAM structure, stats,
reference checks, engines and bad input.

Reads come from a small sampler in this module (independent of genogan.simulate), with names
following the workflow contract `{sample}.{pair}:{contig}:{r1_start}:{r2_start}` (0-based leftmost
aligned coordinates), so the truth is parsed back from the names.
"""

from __future__ import annotations

import csv
import gzip
import math
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pysam
import pytest

from genogan import align, reads
from genogan.align import (
    alignment_stats,
    align_sample,
    check_alignment_reference,
    reference_contigs,
    write_stats_tsv,
)
from genogan.errors import GenoganInputError

import sam_oracle

READ_LEN = 150
N_PAIRS = 2000
CONTIG_LEN = 50_000
_COMP = str.maketrans("ACGT", "TGCA")


def revcomp(seq: str) -> str:
    return seq.translate(_COMP)[::-1]


def write_fasta(path: Path, contigs: dict[str, str]) -> Path:
    with open(path, "w") as handle:
        for name, seq in contigs.items():
            handle.write(f">{name}\n")
            handle.writelines(seq[i:i + 60] + "\n" for i in range(0, len(seq), 60))
    return path


def random_genome(seed: int, n_contigs: int = 2, length: int = CONTIG_LEN) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    return {f"chr{i + 1}": "".join(rng.choice(list("ACGT"), length)) for i in range(n_contigs)}


def mutate(seq: str, rng, rate: float) -> str:
    chars = list(seq)
    for i in np.flatnonzero(rng.random(len(chars)) < rate):
        chars[i] = rng.choice([b for b in "ACGT" if b != chars[i]])
    return "".join(chars)


def sample_pairs(genome: dict[str, str], n_pairs: int, seed: int, sample: str = "t",
                 error_rate: float = 0.005):
    """Fragments ~N(300, 30); R1 forward / R2 reverse-complement, swapped for half the pairs.

    Returns [(name, seq1, qual1, seq2, qual2)] with the truth in the name.
    """
    rng = np.random.default_rng(seed)
    names = list(genome)
    pairs = []
    for i in range(n_pairs):
        contig = names[int(rng.integers(len(names)))]
        ref = genome[contig]
        frag = int(np.clip(rng.normal(300, 30), READ_LEN, 500))
        start = int(rng.integers(0, len(ref) - frag))
        fwd, fwd_pos = ref[start:start + READ_LEN], start
        rev, rev_pos = revcomp(ref[start + frag - READ_LEN:start + frag]), start + frag - READ_LEN
        if rng.random() < 0.5:
            r1, p1, r2, p2 = fwd, fwd_pos, rev, rev_pos
        else:
            r1, p1, r2, p2 = rev, rev_pos, fwd, fwd_pos
        quals = ["".join(chr(33 + q) for q in rng.integers(20, 41, READ_LEN)) for _ in range(2)]
        pairs.append((f"{sample}.{i}:{contig}:{p1}:{p2}", mutate(r1, rng, error_rate), quals[0],
                      mutate(r2, rng, error_rate), quals[1]))
    return pairs


def write_fastq(path: Path, records) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt") as handle:
        for name, seq, qual in records:
            handle.write(f"@{name}\n{seq}\n+\n{qual}\n")
    return path


def write_pair_fastqs(folder: Path, pairs, suffix: str = ".fastq.gz") -> tuple[Path, Path]:
    fq1 = write_fastq(folder / f"r1{suffix}", [(n, s1, q1) for n, s1, q1, _, _ in pairs])
    fq2 = write_fastq(folder / f"r2{suffix}", [(n, s2, q2) for n, _, _, s2, q2 in pairs])
    return fq1, fq2


def truth(name: str, is_read1: bool) -> tuple[str, int]:
    _, contig, p1, p2 = name.split(":")
    return contig, int(p1) if is_read1 else int(p2)


def primary_records(bam: Path) -> list[pysam.AlignedSegment]:
    with pysam.AlignmentFile(str(bam)) as handle:
        return [r for r in handle.fetch(until_eof=True)
                if not (r.is_secondary or r.is_supplementary)]


def fraction_at_truth(bam: Path, tolerance: int = 5) -> float:
    records = primary_records(bam)
    good = 0
    for rec in records:
        contig, pos = truth(rec.query_name, rec.is_read1 or not rec.is_paired)
        if (not rec.is_unmapped and rec.reference_name == contig
                and abs(rec.reference_start - pos) <= tolerance):
            good += 1
    return good / len(records)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("align")
    genome = random_genome(seed=1)
    reference = write_fasta(folder / "ref.fa", genome)
    pairs = sample_pairs(genome, N_PAIRS, seed=2)
    fq1, fq2 = write_pair_fastqs(folder, pairs)
    return {"folder": folder, "genome": genome, "reference": reference, "pairs": pairs,
            "fq1": fq1, "fq2": fq2}


@pytest.fixture(scope="module")
def mappy_bam(data):
    out = data["folder"] / "out" / "t.bam"
    result = align_sample(data["reference"], data["fq1"], data["fq2"], out_bam=out, sample="t",
                          threads=2)
    assert result["read_pairs"] == N_PAIRS
    return out


# ---------------------------------------------------------------- mapping accuracy and structure
def test_reads_map_back_to_their_true_positions(mappy_bam):
    assert fraction_at_truth(mappy_bam) >= 0.95


def test_bam_is_coordinate_sorted_indexed_and_has_read_group(mappy_bam):
    with pysam.AlignmentFile(str(mappy_bam)) as handle:
        header = handle.header.to_dict()
        assert header["HD"]["SO"] == "coordinate"
        assert header["RG"] == [{"ID": "t", "SM": "t", "PL": "ILLUMINA"}]
        assert any(pg.get("PN") == "genogan" for pg in header["PG"])
        keys = [(r.reference_id if r.reference_id >= 0 else 1 << 30, r.reference_start)
                for r in handle.fetch(until_eof=True)]
        assert keys == sorted(keys)
        assert handle.has_index()
        # the index answers a region query with exactly the records overlapping it
        region = [r.query_name for r in handle.fetch("chr2", 10_000, 10_500)]
    brute = [r.query_name for r in primary_records(mappy_bam)
             if r.reference_name == "chr2" and r.reference_start < 10_500
             and r.reference_end is not None and r.reference_end > 10_000]
    assert sorted(region) == sorted(brute) and region
    assert Path(f"{mappy_bam}.bai").stat().st_mtime >= mappy_bam.stat().st_mtime
    assert all(r.get_tag("RG") == "t" for r in primary_records(mappy_bam))


def test_flags_and_mate_fields_are_consistent(mappy_bam):
    by_name = defaultdict(list)
    for rec in primary_records(mappy_bam):
        by_name[rec.query_name].append(rec)
    assert len(by_name) == N_PAIRS
    for recs in by_name.values():
        assert sorted((r.is_read1, r.is_read2) for r in recs) == [(False, True), (True, False)]
        r1, r2 = sorted(recs, key=lambda r: r.is_read2)
        assert r1.is_paired and r2.is_paired
        for rec, mate in ((r1, r2), (r2, r1)):
            assert rec.next_reference_id == mate.reference_id
            assert rec.next_reference_start == mate.reference_start
            assert rec.mate_is_reverse == mate.is_reverse
            assert rec.mate_is_unmapped == mate.is_unmapped
        assert r1.is_proper_pair == r2.is_proper_pair
        assert r1.template_length == -r2.template_length
        if r1.is_proper_pair:
            left, right = sorted((r1, r2), key=lambda r: r.reference_start)
            assert r1.is_reverse != r2.is_reverse
            span = max(r1.reference_end, r2.reference_end) - left.reference_start
            assert abs(r1.template_length) == span <= align.DEFAULT_MAX_INSERT


def test_sequence_quality_and_nm_match_the_reads_and_reference(data, mappy_bam):
    original = {}
    for name, s1, q1, s2, q2 in data["pairs"]:
        original[(name, True)], original[(name, False)] = (s1, q1), (s2, q2)
    genome = data["genome"]
    checked_reverse = 0
    for rec in primary_records(mappy_bam):
        seq, qual = original[(rec.query_name, rec.is_read1)]
        if rec.is_reverse:
            seq, qual = revcomp(seq), qual[::-1]
            checked_reverse += 1
        assert rec.query_sequence == seq
        assert pysam.qualities_to_qualitystring(rec.query_qualities) == qual
        if rec.cigarstring == f"{READ_LEN}M":  # NM = mismatches against the reference
            ref = genome[rec.reference_name][rec.reference_start:rec.reference_end]
            assert rec.get_tag("NM") == sum(a != b for a, b in zip(seq, ref, strict=True))
    assert checked_reverse > N_PAIRS * 0.9


def test_threads_do_not_change_the_output(data, mappy_bam, tmp_path):
    out = tmp_path / "one.bam"
    align_sample(data["reference"], data["fq1"], data["fq2"], out, sample="t", threads=1)

    def records(path):
        with pysam.AlignmentFile(str(path)) as handle:
            return [r.to_string() for r in handle.fetch(until_eof=True)]

    assert records(out) == records(mappy_bam)


def test_plain_fastq_and_fasta_reads_and_single_end(data, tmp_path):
    pairs = data["pairs"][:400]
    fq1, fq2 = write_pair_fastqs(tmp_path, pairs, suffix=".fq")
    out = tmp_path / "plain.bam"
    align_sample(data["reference"], fq1, fq2, out_bam=out, sample="t")
    assert fraction_at_truth(out) >= 0.95
    # reads without qualities (FASTA) take the parsed-records path
    fa1 = write_fasta(tmp_path / "r1.fa", {n: s for n, s, _, _, _ in pairs})
    fa2 = write_fasta(tmp_path / "r2.fa", {n: s for n, _, _, s, _ in pairs})
    out = tmp_path / "fasta.bam"
    align_sample(data["reference"], fa1, fa2, out_bam=out, sample="t")
    assert fraction_at_truth(out) >= 0.95
    assert all(r.query_qualities is None for r in primary_records(out))
    out = tmp_path / "single.bam"
    align_sample(data["reference"], fq1, None, out_bam=out, sample="t")
    records = primary_records(out)
    assert len(records) == len(pairs) and not any(r.is_paired for r in records)
    assert fraction_at_truth(out) >= 0.95


def test_unmapped_mates_are_placed_next_to_their_mapped_mate(data, tmp_path):
    rng = np.random.default_rng(5)
    junk = lambda: "".join(rng.choice(list("ACGT"), READ_LEN))  # noqa: E731 - not in genome
    name, s1, q1, _, q2 = data["pairs"][0]
    pairs = [(name, s1, q1, junk(), q2), ("t.x:chr1:0:0", junk(), q1, junk(), q2)]
    pairs += data["pairs"][1:50]
    fq1, fq2 = write_pair_fastqs(tmp_path, pairs)
    out = tmp_path / "half.bam"
    align_sample(data["reference"], fq1, fq2, out_bam=out, sample="t")
    recs = {(r.query_name, r.is_read1): r for r in primary_records(out)}
    mapped, lost = recs[(name, True)], recs[(name, False)]
    assert not mapped.is_unmapped and lost.is_unmapped and mapped.mate_is_unmapped
    assert (lost.reference_id, lost.reference_start) == (mapped.reference_id,
                                                         mapped.reference_start)
    assert lost.next_reference_start == mapped.reference_start
    assert not mapped.is_proper_pair and not lost.is_proper_pair
    assert recs[("t.x:chr1:0:0", True)].flag == 77
    assert recs[("t.x:chr1:0:0", False)].flag == 141


# ---------------------------------------------------------------------------------- stats
def test_alignment_stats_against_brute_force_and_expected_depth(data, mappy_bam, tmp_path):
    stats = alignment_stats(mappy_bam, data["reference"])
    records = primary_records(mappy_bam)
    mapped = [r for r in records if not r.is_unmapped]
    assert stats["total_reads"] == len(records) == 2 * N_PAIRS
    assert stats["mapped_reads"] == len(mapped)
    assert stats["mapped_pct"] == pytest.approx(100 * len(mapped) / len(records))
    assert stats["properly_paired_pct"] == pytest.approx(
        100 * sum(r.is_proper_pair for r in records) / len(records))
    assert stats["mean_mapq"] == pytest.approx(np.mean([r.mapping_quality for r in mapped]))
    assert stats["mapped_pct"] > 99 and stats["properly_paired_pct"] > 97
    expected_depth = 2 * N_PAIRS * READ_LEN / (2 * CONTIG_LEN)
    assert stats["mean_depth"] == pytest.approx(expected_depth, rel=0.10)
    assert stats["sample"] == "t"
    # the .fai gives the same genome length as scanning the FASTA
    pysam.faidx(str(data["reference"]))
    assert alignment_stats(mappy_bam, f"{data['reference']}.fai") == stats
    path = tmp_path / "qc" / "t.align_stats.tsv"
    write_stats_tsv(stats, path, sample="t")
    with open(path) as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 1 and rows[0]["sample"] == "t"
    assert int(rows[0]["total_reads"]) == 2 * N_PAIRS
    assert float(rows[0]["mean_depth"]) == pytest.approx(stats["mean_depth"], abs=1e-3)


def test_single_end_stats_report_no_proper_pairs(data, tmp_path):
    fq = write_fastq(tmp_path / "se.fq", [(n, s, q) for n, s, q, _, _ in data["pairs"][:200]])
    out = tmp_path / "se.bam"
    align_sample(data["reference"], fq, out_bam=out, sample="se")
    stats = alignment_stats(out, data["reference"])
    assert stats["total_reads"] == 200 and math.isnan(stats["properly_paired_pct"])


# ------------------------------------------------------ records against independent oracles
@pytest.fixture(scope="module")
def tricky(tmp_path_factory):
    """Pairs rich in soft clips, indels, contig-end overhangs, unmapped mates and chimeras."""
    folder = tmp_path_factory.mktemp("tricky")
    genome = random_genome(seed=5, n_contigs=3, length=30_000)
    reference = write_fasta(folder / "ref.fa", genome)
    fq1, fq2 = write_pair_fastqs(folder, sam_oracle.tricky_pairs(genome, 1800, seed=7))
    bam = folder / "mappy.bam"
    align_sample(reference, fq1, fq2, out_bam=bam, sample="x", threads=2)
    return {"folder": folder, "reference": reference, "fq1": fq1, "fq2": fq2, "bam": bam}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Two samples of the demo cohort (genogan simulate at small scale)."""
    from genogan.simulate import CohortParams, simulate_cohort

    folder = tmp_path_factory.mktemp("demo")
    simulate_cohort(folder, CohortParams(n_samples=4, case_fraction=0.5, coverage=3.0,
                                         contig_lengths=(60_000, 40_000)))
    return folder


def test_read2_soft_clip_is_on_the_side_that_does_not_align(data, tmp_path):
    """mappy reports read 2's query interval on its reverse complement (regression: the clip
    used to land at the wrong end, 73 % mismatching bases on the demo's clipped read 2s)."""
    ref = data["genome"]["chr1"]
    # the junk next to the aligned part must not extend it by chance
    junk = revcomp("C" if ref[1299] != "C" else "G") + "CGTTGCAACGTTGCATTGA"
    read1, read2 = ref[1000:1150], revcomp(ref[1300:1430]) + junk
    fq1 = write_fastq(tmp_path / "r1.fq", [("p", read1, "I" * 150)])
    fq2 = write_fastq(tmp_path / "r2.fq", [("p", read2, "I" * 150)])
    out = tmp_path / "clip2.bam"
    align_sample(data["reference"], fq1, fq2, out_bam=out, sample="t")
    r1, r2 = sorted(primary_records(out), key=lambda r: r.is_read2)
    assert (r1.flag, r1.reference_start, r1.cigarstring) == (99, 1000, "150M")
    assert (r2.flag, r2.reference_start, r2.cigarstring) == (147, 1300, "20S130M")
    assert r2.get_tag("NM") == 0 and r2.query_sequence == revcomp(read2)
    assert r1.template_length == 430 == -r2.template_length


@pytest.mark.parametrize("which", ["mappy", "minimap2", "bwa-mem"])
def test_every_mapped_record_has_nm_equal_to_its_edits(tricky, tmp_path, which):
    """Recomputed from the written BAM, CIGAR and reference (pysam): mismatches of aligned
    bases + indel bases == NM, for every mapped record of every engine."""
    bam = tricky["bam"]
    if which != "mappy":
        _require("bwa" if which == "bwa-mem" else which)
        reference = tmp_path / "ref.fa"
        shutil.copy(tricky["reference"], reference)
        bam = tmp_path / f"{which}.bam"
        align_sample(reference, tricky["fq1"], tricky["fq2"], out_bam=bam, sample="x",
                     threads=2, engine=which)
    checked, bad = sam_oracle.nm_violations(bam, tricky["reference"])
    assert checked > 2500 and bad == []


def _oracle() -> str:
    exe, why = sam_oracle.oracle_minimap2()
    if exe is None:
        pytest.skip(why)
    return exe


def _assert_same_records(ours: Path, reference, fq1, fq2, tmp_path) -> None:
    anchor = sam_oracle.run_minimap2(_oracle(), reference, fq1, fq2, tmp_path / "mm2.sam")
    agree, total, examples = sam_oracle.compare_primary(ours, anchor)
    assert total["FLAG"] > 0 and agree == total, examples
    n_supp, same_supp, diffs = sam_oracle.compare_supplementary(ours, anchor)
    assert same_supp == n_supp, diffs[:5]


@pytest.mark.parametrize("max_insert", [None, 300])
def test_records_are_minimap2s_byte_for_byte(tricky, tmp_path, max_insert):
    """The mappy engine runs minimap2's own pipeline from mappy's library: after the same sort,
    every record (secondary ones are not written) is the binary's, all fields and tags; a
    `max_insert` other than the default reaches minimap2 as its -F (proper pairs change)."""
    exe = _oracle()
    ours = tricky["bam"]
    if max_insert is not None:
        ours = tmp_path / "ours.bam"
        align_sample(tricky["reference"], tricky["fq1"], tricky["fq2"], out_bam=ours,
                     sample="x", threads=2, max_insert=max_insert)
    sam = tmp_path / "anchor.sam"
    with open(sam, "w") as handle:
        subprocess.run([exe, "-ax", "sr", "--secondary=no", "-F", str(max_insert or 800),
                        "-t", "2", "-R",
                        "@RG\\tID:x\\tSM:x\\tPL:ILLUMINA", str(tricky["reference"]),
                        str(tricky["fq1"]), str(tricky["fq2"])], stdout=handle,
                       stderr=subprocess.DEVNULL, check=True)
    anchor = tmp_path / "anchor.bam"
    pysam.sort("-o", str(anchor), str(sam))
    with pysam.AlignmentFile(str(anchor)) as theirs, \
            pysam.AlignmentFile(str(ours)) as mine:
        records = [r.to_string() for r in theirs]
        assert len(records) >= 3600 and [r.to_string() for r in mine] == records
        assert mine.header.to_dict()["PG"][0]["ID"] == "minimap2"
    if max_insert is not None:
        proper = [sum(r.is_proper_pair for r in primary_records(bam)) for bam in
                  (tricky["bam"], ours)]
        assert proper[1] < 0.95 * proper[0], proper  # fragments are 220-400 bp


def test_mappy_records_equal_minimap2_on_tricky_pairs(tricky, tmp_path):
    """Every primary record agrees with `minimap2 -ax sr -t 1` of mappy's version on FLAG,
    RNAME, POS, MAPQ, CIGAR, RNEXT, PNEXT, TLEN, SEQ, QUAL and NM."""
    _assert_same_records(tricky["bam"], tricky["reference"], tricky["fq1"], tricky["fq2"],
                         tmp_path)


@pytest.mark.parametrize("sample", ["S001", "S003"])
def test_mappy_records_equal_minimap2_on_the_demo(demo, tmp_path, sample):
    _oracle()
    fq1, fq2 = (demo / "reads" / f"{sample}_R{i}.fastq.gz" for i in (1, 2))
    out = tmp_path / f"{sample}.bam"
    align_sample(demo / "reference.fa", fq1, fq2, out_bam=out, sample=sample, threads=2)
    _assert_same_records(out, demo / "reference.fa", fq1, fq2, tmp_path)


# ------------------------------------------------------------------- binary engines
def _require(binary: str):
    if shutil.which(binary) is None:
        pytest.skip(f"'{binary}' is not installed (conda env envs/align.yaml or apt provides it)")


def _positions(bam: Path) -> dict:
    return {(r.query_name, r.is_read1): (r.reference_name, r.reference_start)
            for r in primary_records(bam) if not r.is_unmapped}


def test_mappy_and_minimap2_binary_agree(data, mappy_bam, tmp_path):
    _require("minimap2")
    out = tmp_path / "mm2.bam"
    align_sample(data["reference"], data["fq1"], data["fq2"], out_bam=out, sample="t",
                 threads=2, engine="minimap2")
    ours, theirs = _positions(mappy_bam), _positions(out)
    same = sum(ours.get(key) == pos for key, pos in theirs.items())
    assert same >= 0.95 * 2 * N_PAIRS
    with pysam.AlignmentFile(str(out)) as handle:
        assert handle.header.to_dict()["RG"][0]["SM"] == "t" and handle.has_index()
    assert alignment_stats(out, data["reference"])["properly_paired_pct"] > 97


def test_bwa_mem_engine_runs(data, tmp_path):
    _require("bwa")
    reference = tmp_path / "ref.fa"  # bwa index files are written beside the reference
    shutil.copy(data["reference"], reference)
    out = tmp_path / "bwa.bam"
    align_sample(reference, data["fq1"], data["fq2"], out_bam=out, sample="t", threads=2,
                 engine="bwa-mem")
    assert all(Path(f"{reference}{s}").exists() for s in align.BWA_INDEX_SUFFIXES)
    assert fraction_at_truth(out) >= 0.95
    with pysam.AlignmentFile(str(out)) as handle:
        assert handle.header.to_dict()["HD"]["SO"] == "coordinate" and handle.has_index()


def test_missing_binary_says_how_to_install(data, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GenoganInputError, match=r"'minimap2'.*envs/align.yaml"):
        align_sample(data["reference"], data["fq1"], data["fq2"], out_bam=tmp_path / "x.bam",
                     sample="t", engine="minimap2")
    assert not (tmp_path / "x.bam").exists()


# ------------------------------------------------------------------- BAM/CRAM input checks
def test_check_alignment_reference_accepts_matching_and_rejects_other_reference(
        data, mappy_bam, tmp_path):
    assert check_alignment_reference(mappy_bam, data["reference"]) == Path(f"{mappy_bam}.bai")
    other = dict(data["genome"])
    other["chr2"] = other["chr2"][:40_000]
    other_ref = write_fasta(tmp_path / "other.fa", other)
    with pytest.raises(GenoganInputError, match=r"contig 'chr2'.*40000.*realign"):
        check_alignment_reference(mappy_bam, other_ref)
    renamed = write_fasta(tmp_path / "renamed.fa", {"1": other["chr1"], "chr2": other["chr2"]})
    with pytest.raises(GenoganInputError, match=r"contig 'chr1'.*not in the reference"):
        check_alignment_reference(mappy_bam, renamed)


def test_check_alignment_reference_indexes_or_rejects_unsorted(data, mappy_bam, tmp_path):
    copy = tmp_path / "copy.bam"
    shutil.copy(mappy_bam, copy)
    index = check_alignment_reference(copy, data["reference"])
    assert index.exists()
    with pytest.raises(GenoganInputError, match="no index"):
        shutil.copy(mappy_bam, tmp_path / "noindex.bam")
        check_alignment_reference(tmp_path / "noindex.bam", data["reference"], create_index=False)
    unsorted = tmp_path / "unsorted.bam"
    with pysam.AlignmentFile(str(mappy_bam)) as src:
        header = src.header.to_dict()
        header["HD"]["SO"] = "unsorted"
        with pysam.AlignmentFile(str(unsorted), "wb", header=header) as dst:
            for rec in list(src.fetch(until_eof=True))[::-1]:
                dst.write(rec)
    with pytest.raises(GenoganInputError, match="not coordinate-sorted.*samtools sort"):
        check_alignment_reference(unsorted, data["reference"])


def test_check_alignment_reference_reads_cram(data, mappy_bam, tmp_path):
    cram = tmp_path / "t.cram"
    pysam.view("-C", "-T", str(data["reference"]), "-o", str(cram), str(mappy_bam),
               catch_stdout=False)
    assert check_alignment_reference(cram, data["reference"]).suffix == ".crai"


def test_reference_contigs_from_fasta_and_fai(data, tmp_path):
    reference = tmp_path / "ref.fa"
    shutil.copy(data["reference"], reference)
    scanned = reference_contigs(reference)
    pysam.faidx(str(reference))
    assert scanned == reference_contigs(reference) == [("chr1", CONTIG_LEN), ("chr2", CONTIG_LEN)]


# ------------------------------------------------------------------------------ bad input
def _no_outputs(folder: Path, name: str = "x.bam") -> bool:
    return not (folder / name).exists() and not list(folder.glob(f"{name}*")) and not list(
        folder.glob("*.tmp*"))


@pytest.mark.parametrize("shorter", ["r1", "r2"])
def test_mates_with_different_read_counts_are_an_error(data, tmp_path, shorter):
    pairs = data["pairs"][:300]
    fq1, fq2 = write_pair_fastqs(tmp_path, pairs)
    if shorter == "r2":
        write_fastq(fq2, [(n, s, q) for n, _, _, s, q in pairs[:-1]])
    else:
        write_fastq(fq1, [(n, s, q) for n, s, q, _, _ in pairs[:-1]])
    out_dir = tmp_path / "out"
    with pytest.raises(GenoganInputError,
                       match=rf"different read counts: '[^']*{shorter}\.fastq\.gz' ends after "
                             r"299 reads.*seqkit pair"):
        align_sample(data["reference"], fq1, fq2, out_bam=out_dir / "x.bam", sample="t")
    assert _no_outputs(out_dir)


def test_mates_with_different_names_are_an_error(data, tmp_path):
    pairs = data["pairs"][:100]
    fq1, fq2 = write_pair_fastqs(tmp_path, pairs)
    write_fastq(fq2, [(n, s, q) for n, _, _, s, q in pairs[1:] + pairs[:1]])
    with pytest.raises(GenoganInputError, match=r"mate names differ at read pair 1.*seqkit"):
        align_sample(data["reference"], fq1, fq2, out_bam=tmp_path / "x.bam", sample="t")


@pytest.mark.parametrize("threads", [1, 2])
def test_mate_suffixes_comments_crlf_and_blank_lines(data, tmp_path, threads):
    """/1 /2 suffixes and comments are dropped; CRLF and trailing blank lines are fine."""
    pairs = data["pairs"][:100]
    fq1 = write_fastq(tmp_path / "r1.fq", [(f"{n}/1", s, q) for n, s, q, _, _ in pairs])
    fq2 = write_fastq(tmp_path / "r2.fq", [(f"{n}/2 extra{'x' * (i % 5)}", s, q)
                                           for i, (n, _, _, s, q) in enumerate(pairs)])
    fq2.write_text(fq2.read_text().replace("\n", "\r\n") + "\r\n\n")
    out = tmp_path / "sfx.bam"
    align_sample(data["reference"], fq1, fq2, out_bam=out, sample="t", threads=threads)
    records = primary_records(out)
    assert sorted(r.query_name for r in records) == sorted(p[0] for p in pairs for _ in "12")
    assert fraction_at_truth(out) >= 0.95


def test_pip_only_sorter_gives_the_same_bam(data, mappy_bam, tmp_path, monkeypatch):
    """Without a samtools binary the samtools bundled with pysam sorts and indexes."""
    monkeypatch.setattr(align.engines, "_samtools_prefix", lambda: (sys.executable, "-c",
                                                                    align.engines._SORT_CODE))
    out = tmp_path / "pysam.bam"
    align_sample(data["reference"], data["fq1"], data["fq2"], out_bam=out, sample="t",
                 threads=2)
    with pysam.AlignmentFile(str(out)) as new, pysam.AlignmentFile(str(mappy_bam)) as old:
        assert new.has_index() and new.header.to_dict()["HD"]["SO"] == "coordinate"
        assert [r.to_string() for r in new] == [r.to_string() for r in old]


def test_empty_fastq_is_an_error(data, tmp_path):
    empty = tmp_path / "empty.fq"
    empty.write_text("")
    with pytest.raises(GenoganInputError, match=r"fq1 file is empty.*empty\.fq"):
        align_sample(data["reference"], empty, out_bam=tmp_path / "x.bam", sample="t")
    no_reads = tmp_path / "none.fq.gz"
    with gzip.open(no_reads, "wt"):
        pass
    with pytest.raises(GenoganInputError, match=r"no reads found.*none\.fq\.gz"):
        align_sample(data["reference"], no_reads, no_reads, out_bam=tmp_path / "x.bam",
                     sample="t")
    assert _no_outputs(tmp_path)


def test_failure_mid_way_leaves_no_bam(data, tmp_path):
    """A record broken in the middle of the file (minimap2 maps and the sorter writes while
    the reads are checked): the run fails, and neither the BAM, its index, nor temporary
    files remain."""
    pairs = data["pairs"][:1000]
    fq1, fq2 = write_pair_fastqs(tmp_path, pairs)
    lines = gzip.open(fq2, "rt").read().split("\n")
    lines[4 * 750 + 3] = lines[4 * 750 + 3][:-10]  # quality shorter than sequence
    with gzip.open(fq2, "wt") as handle:
        handle.write("\n".join(lines))
    out_dir = tmp_path / "out"
    for threads in (1, 2):
        with pytest.raises(GenoganInputError, match=r"malformed or truncated FASTQ record 751"):
            align_sample(data["reference"], fq1, fq2, out_bam=out_dir / "x.bam", sample="t",
                         threads=threads)
        assert _no_outputs(out_dir)


def test_truncated_fastq_is_an_error(data, tmp_path):
    fq1, fq2 = write_pair_fastqs(tmp_path, data["pairs"][:50], suffix=".fq")
    fq2.write_text(fq2.read_text()[:-40])
    with pytest.raises(GenoganInputError, match=r"truncated.*r2\.fq"):
        align_sample(data["reference"], fq1, fq2, out_bam=tmp_path / "x.bam", sample="t")


def test_unknown_engine_and_missing_files(data, tmp_path):
    with pytest.raises(GenoganInputError, match="unknown alignment engine 'bowtie'"):
        align_sample(data["reference"], data["fq1"], out_bam=tmp_path / "x.bam", sample="t",
                     engine="bowtie")
    with pytest.raises(GenoganInputError, match=r"fq2 file not found.*sample 't'"):
        align_sample(data["reference"], data["fq1"], tmp_path / "missing.fq",
                     out_bam=tmp_path / "x.bam", sample="t")


# ---------------------------------------------------------------------------------- CLI
def test_cli_writes_bam_and_stats(data, tmp_path, capsys):
    out, stats = tmp_path / "cli.bam", tmp_path / "cli.tsv"
    pairs = data["pairs"][:200]
    fq1, fq2 = write_pair_fastqs(tmp_path, pairs)
    rc = align.main(["--reference", str(data["reference"]), "--fq1", str(fq1), "--fq2", str(fq2),
                     "--sample", "cli", "--out", str(out), "--threads", "2", "--stats",
                     str(stats)])
    assert rc == 0 and out.exists() and Path(f"{out}.bai").exists()
    row = next(csv.DictReader(open(stats), delimiter="\t"))
    assert row["sample"] == "cli" and int(row["total_reads"]) == 400
    rc = align.main(["--reference", str(data["reference"]), "--fq1", str(tmp_path / "no.fq"),
                     "--sample", "cli", "--out", str(out)])
    assert rc == 1 and "fq1 file not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        align.main(["--help"])
    assert "mappy" in capsys.readouterr().out


def test_cli_options_left_out_take_the_settings_defaults():
    import argparse

    from genogan.align.cli import _fill_defaults
    from genogan.settings.sections import AlignSettings

    left_out = argparse.Namespace(threads=None, engine=None)
    _fill_defaults(left_out)
    defaults = AlignSettings()
    assert (left_out.threads, left_out.engine) == (defaults.threads, defaults.engine)
    given = argparse.Namespace(threads=3, engine="bwa-mem")
    _fill_defaults(given)
    assert (given.threads, given.engine) == (3, "bwa-mem")


# ------------------------------------------------------------ supplementary (chimeric) reads
def test_chimeric_read_gets_a_supplementary_record(data, tmp_path):
    genome = data["genome"]
    chimera = genome["chr1"][1000:1075] + genome["chr2"][5000:5075]
    fq = write_fastq(tmp_path / "chim.fq", [("chim", chimera, "I" * READ_LEN)])
    out = tmp_path / "chim.bam"
    align_sample(data["reference"], fq, out_bam=out, sample="t")
    with pysam.AlignmentFile(str(out)) as handle:
        recs = {r.reference_name: r for r in handle.fetch(until_eof=True)}
    assert (recs["chr1"].reference_start, recs["chr1"].cigarstring) == (1000, "75M75S")
    assert (recs["chr2"].reference_start, recs["chr2"].cigarstring) == (5000, "75H75M")
    assert sorted(r.is_supplementary for r in recs.values()) == [False, True]
    # minimap2 hard-clips supplementary records (no -Y): SEQ is the aligned part only
    assert (recs["chr1"].query_sequence, recs["chr2"].query_sequence) == (chimera,
                                                                          chimera[75:])


def test_read_ends_that_do_not_align_are_soft_clipped(data, tmp_path):
    """Adapter-like junk at the 3' end of read 1 becomes a soft clip on the correct side, and
    the aligned part still lands where the read came from."""
    rng = np.random.default_rng(9)
    pairs = [(n, s1[:120] + "".join(rng.choice(list("ACGT"), 30)), q1, s2, q2)
             for n, s1, q1, s2, q2 in data["pairs"][:200]]
    fq1, fq2 = write_pair_fastqs(tmp_path, pairs)
    out = tmp_path / "clip.bam"
    align_sample(data["reference"], fq1, fq2, out_bam=out, sample="t", threads=2)
    read1 = [r for r in primary_records(out) if r.is_read1 and not r.is_unmapped]
    assert len(read1) >= 190
    good = 0
    for rec in read1:
        # the 3' end of read 1 is the right end on the forward strand, the left on the reverse
        op, length = rec.cigartuples[0] if rec.is_reverse else rec.cigartuples[-1]
        _, true_start = truth(rec.query_name, True)
        if rec.is_reverse:  # the unclipped 5' end is the alignment's right end
            placed = abs(rec.reference_end - (true_start + READ_LEN)) <= 5
        else:
            placed = abs(rec.reference_start - true_start) <= 5
        good += op == 4 and 15 <= length <= 30 and placed
        assert rec.infer_query_length() == READ_LEN
    assert good >= 0.9 * len(read1)


# ------------------------------------------------------------------ index once, references
def _records(bam: Path) -> list[str]:
    with pysam.AlignmentFile(str(bam)) as handle:
        return [r.to_string() for r in handle.fetch(until_eof=True)]


@pytest.mark.parametrize("engine", ["mappy", "minimap2", "bwa-mem"])
def test_prebuilt_index_gives_the_same_records(data, tmp_path, engine):
    """build_index once, then align jobs load it: the records equal those of a run that
    indexes the reference itself."""
    if engine != "mappy":
        _require("bwa" if engine == "bwa-mem" else engine)
    reference = tmp_path / "ref.fa"
    shutil.copy(data["reference"], reference)
    pairs = data["pairs"][:500]
    fq1, fq2 = write_pair_fastqs(tmp_path, pairs)
    index = align.build_index(reference, engine, tmp_path / "index" / "ref")
    files = align.index_files(engine, tmp_path / "index" / "ref")
    assert all(Path(f).is_file() for f in files)
    assert align.index_from_files(engine, files) == index == align.index_from_files(engine,
                                                                                    files[0])
    with_index, without = tmp_path / "a.bam", tmp_path / "b.bam"
    align_sample(reference, fq1, fq2, out_bam=with_index, sample="t", engine=engine,
                 index=index)
    align_sample(reference, fq1, fq2, out_bam=without, sample="t", engine=engine)
    records = _records(with_index)
    assert records == _records(without) and len(records) >= 1000


def test_align_memory_follows_index_size_threads_and_attempt():
    gib = 2**30
    assert align.align_mem_mb(50 * 2**20, threads=2, floor_mb=4000) == 4000  # the floor
    human = align.align_mem_mb(7 * gib, threads=4, attempt=1, floor_mb=1000)
    assert 1.2 * 7 * 1024 < human < 1.2 * 7 * 1024 + 4 * 1100 + 600
    assert align.align_mem_mb(7 * gib, threads=4, attempt=2, floor_mb=1000) == 2 * human
    assert align.align_mem_mb(7 * gib, threads=8) > human


def test_duplicate_contig_names_stop_before_alignment(data, tmp_path):
    genome = data["genome"]
    reference = tmp_path / "dup.fa"
    reference.write_text(f">chr1\n{genome['chr1']}\n>chr2 x\n{genome['chr2']}\n"
                         f">chr1 again\n{genome['chr2'][:5000]}\n")
    for call in (lambda: align.build_index(reference, "mappy", tmp_path / "i"),
                 lambda: align_sample(reference, data["fq1"], data["fq2"],
                                      out_bam=tmp_path / "x.bam", sample="t")):
        with pytest.raises(GenoganInputError, match=r"contig name 'chr1' occurs more than once"
                                                    r".*dup\.fa.*seqkit rename"):
            call()
    assert _no_outputs(tmp_path)


@pytest.mark.parametrize("compression", ["gzip", "bgzip"])
def test_multiline_and_compressed_references_give_the_same_records(data, mappy_bam, tmp_path,
                                                                  compression):
    """The reference is multi-line FASTA (60 columns); plain gzip and bgzip both work."""
    text = Path(data["reference"]).read_bytes()
    reference = tmp_path / "ref.fa.gz"
    if compression == "gzip":
        reference.write_bytes(gzip.compress(text))
    else:
        with pysam.BGZFile(str(reference), "wb") as handle:
            handle.write(text)
    assert reference_contigs(reference) == reference_contigs(data["reference"])
    out = tmp_path / "gz.bam"
    align_sample(reference, data["fq1"], data["fq2"], out_bam=out, sample="t", threads=2)
    strip = [line.split("\t", 1)[1] for line in _records(out)]
    assert strip == [line.split("\t", 1)[1] for line in _records(mappy_bam)]


def test_reads_minimap2_did_not_map_are_an_error(data, tmp_path):
    """minimap2 reads the files itself: when its count of mapped reads differs from the reads
    checked (here a stand-in mapper that reports one pair of five), the run fails."""
    fq1, fq2 = write_pair_fastqs(tmp_path, data["pairs"][:5])
    mapper = [sys.executable, "-c", "import sys; print('@HD\\tVN:1.6'); "
              "print('[M::worker_pipeline::0.1*1.00] mapped 2 sequences', file=sys.stderr)"]
    sort_cmd = align.engines._sort_command(tmp_path / "x.bam", tmp_path / "x.bam.bai", 1, "100M")
    with pytest.raises(RuntimeError, match=r"minimap2 mapped 1 reads \(pairs\) of the 5"):
        align.engines._run_mappy(mapper, fq1, fq2, sort_cmd, reads.Progress("mapped"))


def test_a_mappy_without_minimap2s_library_says_what_to_do(data, tmp_path, monkeypatch):
    """A mappy whose extension does not expose minimap2's C API (here a stand-in module found
    first on the child's path) stops with the fix, and leaves no BAM."""
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "mappy.py").write_text("__version__ = '0.0'\n")
    monkeypatch.setenv("PYTHONPATH", str(fake))
    out_dir = tmp_path / "out"
    with pytest.raises(GenoganInputError, match=r"cannot use minimap2's C library.*align\.engine"):
        align_sample(data["reference"], data["fq1"], data["fq2"], out_bam=out_dir / "x.bam",
                     sample="t")
    assert _no_outputs(out_dir)


def test_an_unreadable_index_is_an_input_error(data, tmp_path):
    bad = tmp_path / "bad.mmi"
    bad.write_text("not an index\n")
    with pytest.raises(GenoganInputError, match=r"cannot use the reference.*bad\.mmi"):
        align_sample(data["reference"], data["fq1"], data["fq2"], out_bam=tmp_path / "x.bam",
                     sample="t", index=bad)
