"""Independent checks of alignment records (used by tests/test_align.py; no genogan code here).

* `oracle_minimap2()` finds a `minimap2` binary of the *same version* as the installed mappy
  (built by tests/tools/build_minimap2.sh into .cache/, or on PATH), the anchor the mappy engine
  must agree with record by record.
* `compare_primary()` compares the primary records of two SAM/BAM files field by field.
* `nm_violations()` recomputes every mapped record's edit distance from its CIGAR, its SEQ and
  the reference FASTA, and lists the records whose NM tag disagrees.
* `tricky_pairs()` simulates read pairs rich in the cases that break record formatting: soft
  clips at either end of either mate, indels, reads hanging off contig ends, unmapped mates,
  unmapped pairs and chimeric reads (supplementary alignments).
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pysam

REPO = Path(__file__).resolve().parents[1]
FIELDS = ("FLAG", "RNAME", "POS", "MAPQ", "CIGAR", "RNEXT", "PNEXT", "TLEN", "SEQ", "QUAL",
          "NM")
_COMP = str.maketrans("ACGTN", "TGCAN")


def revcomp(seq: str) -> str:
    return seq.translate(_COMP)[::-1]


def _version(exe) -> str | None:
    try:
        out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().split("-")[0] or None


def oracle_minimap2() -> tuple[str | None, str]:
    """(path of a minimap2 of mappy's version, or None; the reason when None)."""
    want = importlib.metadata.version("mappy")
    candidates = [REPO / ".cache" / f"minimap2-{want}" / "minimap2", shutil.which("minimap2")]
    seen = []
    for exe in candidates:
        if exe and Path(exe).is_file():
            got = _version(exe)
            if got == want:
                return str(exe), ""
            seen.append(f"{exe} is {got}")
    return None, (f"no minimap2 {want} (mappy's version) found ({'; '.join(seen) or 'none'}); "
                  "build it with tests/tools/build_minimap2.sh")


def run_minimap2(exe: str, reference, fq1, fq2, out_sam: Path, threads: int = 1) -> Path:
    reads = [str(fq1)] + ([str(fq2)] if fq2 is not None else [])
    with open(out_sam, "w") as handle:
        subprocess.run([exe, "-ax", "sr", "-t", str(threads), str(reference), *reads],
                       stdout=handle, stderr=subprocess.DEVNULL, check=True)
    return out_sam


def _key(rec) -> tuple[str, int]:
    return rec.query_name, 1 if rec.is_read1 or not rec.is_paired else 2


def primary(path) -> dict:
    """{(name, mate): record fields} of the primary records of a SAM/BAM."""
    out = {}
    with pysam.AlignmentFile(str(path)) as handle:
        for rec in handle.fetch(until_eof=True):
            if rec.is_secondary or rec.is_supplementary:
                continue
            out[_key(rec)] = {
                "FLAG": rec.flag, "RNAME": rec.reference_name, "POS": rec.reference_start,
                "MAPQ": rec.mapping_quality, "CIGAR": rec.cigarstring,
                "RNEXT": rec.next_reference_name, "PNEXT": rec.next_reference_start,
                "TLEN": rec.template_length, "SEQ": rec.query_sequence,
                "QUAL": pysam.qualities_to_qualitystring(rec.query_qualities)
                if rec.query_qualities is not None else None,
                "NM": rec.get_tag("NM") if rec.has_tag("NM") else None}
    return out


def compare_primary(ours, anchor) -> tuple[Counter, Counter, list]:
    """(agreeing records per field, records compared per field, up to 20 disagreements)."""
    mine, theirs = primary(ours), primary(anchor)
    assert mine.keys() == theirs.keys(), "the two files hold different primary records"
    agree, total, examples = Counter(), Counter(), []
    for key, rec in theirs.items():
        for field in FIELDS:
            total[field] += 1
            if mine[key][field] == rec[field]:
                agree[field] += 1
            elif len(examples) < 20:
                examples.append((key, field, mine[key][field], rec[field]))
    return agree, total, examples


def reference_sequences(fasta) -> dict[str, str]:
    with pysam.FastxFile(str(fasta)) as handle:
        return {rec.name: rec.sequence.upper() for rec in handle}


def edit_distance(rec, ref: str) -> int:
    """Mismatches of aligned bases + inserted + deleted bases (the SAM NM), from CIGAR and SEQ."""
    seq = rec.query_sequence.upper()
    nm = 0
    for qpos, rpos in rec.get_aligned_pairs():
        if qpos is None or rpos is None:
            continue
        nm += seq[qpos] != ref[rpos] or seq[qpos] == "N"
    for op, length in rec.cigartuples:
        if op in (1, 2):  # I, D
            nm += length
    return nm


def nm_violations(bam, reference) -> tuple[int, list]:
    """(mapped records checked, [(name, flag, cigar, NM tag, recomputed)] where they differ)."""
    refs = reference_sequences(reference)
    checked, bad = 0, []
    with pysam.AlignmentFile(str(bam)) as handle:
        for rec in handle.fetch(until_eof=True):
            if rec.is_unmapped or rec.query_sequence is None:
                continue
            checked += 1
            nm = edit_distance(rec, refs[rec.reference_name])
            if nm != rec.get_tag("NM"):
                bad.append((rec.query_name, rec.flag, rec.cigarstring, rec.get_tag("NM"), nm))
    return checked, bad


def _indel(seq: str, rng) -> str:
    pos, size = int(rng.integers(30, len(seq) - 30)), int(rng.integers(1, 6))
    if rng.random() < 0.5:
        return seq[:pos] + "".join(rng.choice(list("ACGT"), size)) + seq[pos:]
    return seq[:pos] + seq[pos + size:]


def _junk(rng, n: int) -> str:
    return "".join(rng.choice(list("ACGT"), n))


def tricky_pairs(genome: dict[str, str], n_pairs: int, seed: int, read_len: int = 150):
    """[(name, seq1, qual1, seq2, qual2)]: 1/8 each of plain, 3' clip, 5' clip, indel,
    off a contig end, unmapped mate, unmapped pair, chimeric read 1 or read 2."""
    rng = np.random.default_rng(seed)
    names = list(genome)
    pairs = []
    for i in range(n_pairs):
        kind = i % 9
        contig = names[int(rng.integers(len(names)))]
        ref = genome[contig]
        frag = int(rng.integers(220, 400))
        if kind == 4:  # a fragment hanging off the start or the end of the contig
            start = -int(rng.integers(10, 60)) if rng.random() < 0.5 else \
                len(ref) - frag + int(rng.integers(10, 60))
        else:
            start = int(rng.integers(0, len(ref) - frag))
        padded = _junk(rng, 100) + ref + _junk(rng, 100)
        fragment = padded[start + 100:start + 100 + frag]
        r1, r2 = fragment[:read_len], revcomp(fragment[-read_len:])
        if rng.random() < 0.5:
            r1, r2 = r2, r1
        clip = int(rng.integers(15, 40))
        if kind == 1:  # 3' junk (adapter) on one mate
            if rng.random() < 0.5:
                r1 = r1[:read_len - clip] + _junk(rng, clip)
            else:
                r2 = r2[:read_len - clip] + _junk(rng, clip)
        elif kind == 2:  # 5' junk on one mate
            if rng.random() < 0.5:
                r1 = _junk(rng, clip) + r1[clip:]
            else:
                r2 = _junk(rng, clip) + r2[clip:]
        elif kind == 3:
            r1, r2 = _indel(r1, rng), _indel(r2, rng)
        elif kind == 5:  # one mate is junk
            if rng.random() < 0.5:
                r1 = _junk(rng, read_len)
            else:
                r2 = _junk(rng, read_len)
        elif kind == 6:
            r1, r2 = _junk(rng, read_len), _junk(rng, read_len)
        elif kind in (7, 8):  # chimera: half of the read from another contig
            other = genome[names[(names.index(contig) + 1) % len(names)]]
            at = int(rng.integers(0, len(other) - read_len))
            piece = other[at:at + read_len // 2]
            if kind == 7:
                r1 = r1[:read_len // 2] + piece
            else:
                r2 = r2[:read_len // 2] + piece
        r1, r2 = _errors(r1, rng), _errors(r2, rng)
        quals = ["".join(chr(33 + q) for q in rng.integers(2, 41, len(r))) for r in (r1, r2)]
        pairs.append((f"x{i}.k{kind}", r1, quals[0], r2, quals[1]))
    return pairs


def _errors(seq: str, rng, rate: float = 0.01) -> str:
    chars = list(seq)
    for j in np.flatnonzero(rng.random(len(chars)) < rate):
        chars[j] = rng.choice([b for b in "ACGT" if b != chars[j]])
    return "".join(chars)


def mismatch_rate_by_class(bam, reference) -> dict:
    """{(mate, clipped): mismatch fraction of aligned bases} over primary mapped records."""
    refs = reference_sequences(reference)
    counts: dict = {}
    with pysam.AlignmentFile(str(bam)) as handle:
        for rec in handle.fetch(until_eof=True):
            if rec.is_unmapped or rec.is_secondary or rec.is_supplementary:
                continue
            key = (1 if rec.is_read1 else 2, bool(re.search("S", rec.cigarstring)))
            seq, ref = rec.query_sequence, refs[rec.reference_name]
            pairs = [(q, r) for q, r in rec.get_aligned_pairs(matches_only=True)]
            bad = sum(seq[q] != ref[r] for q, r in pairs)
            tot = counts.setdefault(key, [0, 0])
            tot[0] += bad
            tot[1] += len(pairs)
    return {key: bad / max(n, 1) for key, (bad, n) in counts.items()}


def supplementary(path) -> dict:
    """{(name, mate, RNAME, POS): fields} of supplementary records; hard clips read as soft
    (minimap2 hard-clips supplementary records unless -Y; genogan writes the full SEQ)."""
    out = {}
    with pysam.AlignmentFile(str(path)) as handle:
        for rec in handle.fetch(until_eof=True):
            if rec.is_supplementary:
                out[(*_key(rec), rec.reference_name, rec.reference_start)] = {
                    "FLAG": rec.flag, "MAPQ": rec.mapping_quality,
                    "CIGAR": rec.cigarstring.replace("H", "S"),
                    "RNEXT": rec.next_reference_name, "PNEXT": rec.next_reference_start,
                    "TLEN": rec.template_length, "NM": rec.get_tag("NM")}
    return out


def compare_supplementary(ours, anchor) -> tuple[int, int, list]:
    """(supplementary records of `anchor`, of them equal in `ours` on every field, differences)."""
    mine, theirs = supplementary(ours), supplementary(anchor)
    diffs = [(key, rec, mine.get(key)) for key, rec in theirs.items() if mine.get(key) != rec]
    diffs += [(key, None, rec) for key, rec in mine.items() if key not in theirs]
    return len(theirs), len(theirs) - sum(1 for _, rec, _ in diffs if rec is not None), diffs
