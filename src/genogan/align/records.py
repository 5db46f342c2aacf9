"""SAM records of the mappy engine: named FLAG bits, the header, one formatter per read pair
(or single read) from mappy hits. Pure functions: no I/O."""

from __future__ import annotations

import enum
import logging

from genogan import __version__

logger = logging.getLogger("genogan")


def _sam_header(contigs, sample: str, rg_id: str, command: str) -> str:
    lines = ["@HD\tVN:1.6\tSO:unsorted"]
    lines += [f"@SQ\tSN:{name}\tLN:{length}" for name, length in contigs]
    lines.append(f"@RG\tID:{rg_id}\tSM:{sample}\tPL:ILLUMINA")
    lines.append(f"@PG\tID:genogan-align\tPN:genogan\tVN:{__version__}\tCL:{command}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# mappy engine: per-pair SAM formatting (runs in worker processes)
# --------------------------------------------------------------------------------------------
class Flag(enum.IntFlag):
    """SAM FLAG bits (SAM spec §1.4)."""

    PAIRED = 0x1
    PROPER_PAIR = 0x2
    UNMAPPED = 0x4
    MATE_UNMAPPED = 0x8
    REVERSE = 0x10
    MATE_REVERSE = 0x20
    READ1 = 0x40
    READ2 = 0x80
    SECONDARY = 0x100
    QC_FAIL = 0x200
    DUPLICATE = 0x400
    SUPPLEMENTARY = 0x800


def _clipped_cigar(hit, read_len: int, query_reversed: bool = False) -> str:
    """CIGAR with soft clips for the unaligned read ends, in reference orientation.

    mappy's q_st/q_en are on the read as given, except for read 2 of a pair
    (`query_reversed`): mappy maps the reverse complement of read 2 and flips the strand back,
    but not the query coordinates, so they are on the reverse complement of read 2.
    """
    if (hit.strand > 0) != query_reversed:
        lead, trail = hit.q_st, read_len - hit.q_en
    else:
        lead, trail = read_len - hit.q_en, hit.q_st
    cigar = hit.cigar_str
    if lead:
        cigar = f"{lead}S{cigar}"
    if trail:
        cigar = f"{cigar}{trail}S"
    return cigar


def _split_hits(hits, max_insert: int | None = None):
    """(read-1 hit, read-2 hit, others → supplementary) from the primary hits; secondaries go.

    Each mate's first primary hit is its SAM-primary record, except when those two do not form
    a proper pair but other primary hits do: minimap2 then makes that pair the primary records
    (pe.c, ``sam_pri``); mappy does not expose the flag, so the pair is found here again.
    """
    primary: tuple[list, list] = ([], [])
    for hit in hits:
        if hit.is_primary:
            primary[hit.read_num - 1].append(hit)
    h1 = primary[0][0] if primary[0] else None
    h2 = primary[1][0] if primary[1] else None
    if (max_insert is not None and h1 is not None and h2 is not None
            and len(primary[0]) + len(primary[1]) > 2 and not _is_proper(h1, h2, max_insert)):
        h1, h2 = next(((a, b) for a in primary[0] for b in primary[1]
                       if _is_proper(a, b, max_insert)), (h1, h2))
    extra = [hit for hit in primary[0] + primary[1] if hit is not h1 and hit is not h2]
    return h1, h2, extra


def _is_proper(h1, h2, max_insert: int) -> bool:
    """Same contig, opposite strands, facing each other (FR), fragment within `max_insert`."""
    if h1.ctg != h2.ctg or h1.strand == h2.strand:
        return False
    fwd, rev = (h1, h2) if h1.strand > 0 else (h2, h1)
    if fwd.r_st > rev.r_en - 1:
        return False
    return max(h1.r_en, h2.r_en) - min(h1.r_st, h2.r_st) <= max_insert


def _read_fields(seq, qual, hit, revcomp):
    """SEQ and QUAL as SAM wants them: reverse-complemented on the reverse strand, '*' if empty."""
    if hit is not None and hit.strand < 0:
        return revcomp(seq), (qual[::-1] if qual else "*")
    return (seq or "*"), (qual or "*")


def _mate_bits(hit, mate, first: bool) -> int:
    """FLAG bits of a record of a pair that are set by its own and its mate's hit."""
    flag = Flag.PAIRED | (Flag.READ1 if first else Flag.READ2)
    if hit is None:
        flag |= Flag.UNMAPPED
    elif hit.strand < 0:
        flag |= Flag.REVERSE
    if mate is None:
        flag |= Flag.MATE_UNMAPPED
    elif mate.strand < 0:
        flag |= Flag.MATE_REVERSE
    return flag


def _pair_lines(name, s1, q1, s2, q2, hits, tags, max_insert, revcomp, out) -> None:
    """Append the SAM lines of one read pair (mappy hits of `map(s1, s2)`) to `out`."""
    h1, h2, extra = _split_hits(hits, max_insert)
    mates = ((h1, h2, s1, q1, True), (h2, h1, s2, q2, False))
    if h1 is None and h2 is None:
        for _, _, seq, qual, first in mates:
            flag = _mate_bits(None, None, first)
            out.append(f"{name}\t{flag:d}\t*\t0\t0\t*\t*\t0\t0\t{seq or '*'}\t{qual or '*'}\t"
                       f"{tags}")
        return
    proper = h1 is not None and h2 is not None and _is_proper(h1, h2, max_insert)
    tlen1 = 0
    if h1 is not None and h2 is not None and h1.ctg == h2.ctg:
        span = max(h1.r_en, h2.r_en) - min(h1.r_st, h2.r_st)
        tlen1 = span if h1.r_st <= h2.r_st else -span
    for hit, mate, seq, qual, first in mates:
        flag = _mate_bits(hit, mate, first) | (Flag.PROPER_PAIR if proper else 0)
        tlen = tlen1 if first else -tlen1
        if hit is None:  # unmapped, placed at its mapped mate (SAM convention)
            pos = mate.r_st + 1
            out.append(f"{name}\t{flag:d}\t{mate.ctg}\t{pos}\t0\t*\t=\t{pos}\t0\t"
                       f"{seq or '*'}\t{qual or '*'}\t{tags}")
            continue
        sam_seq, sam_qual = _read_fields(seq, qual, hit, revcomp)
        mate = mate or hit  # an unmapped mate sits at this read's position
        rnext = "=" if mate.ctg == hit.ctg else mate.ctg
        out.append(f"{name}\t{flag:d}\t{hit.ctg}\t{hit.r_st + 1}\t{hit.mapq}\t"
                   f"{_clipped_cigar(hit, len(seq), not first)}\t{rnext}\t{mate.r_st + 1}\t"
                   f"{tlen}\t{sam_seq}\t{sam_qual}\tNM:i:{hit.NM}\t{tags}")
    for hit in extra:
        _supplementary_line(name, hit, h1, h2, (s1, q1), (s2, q2), tags, revcomp, out)


def _supplementary_line(name, hit, h1, h2, raw1, raw2, tags, revcomp, out) -> None:
    first = hit.read_num == 1
    seq, qual = raw1 if first else raw2
    mate = h2 if first else h1
    sam_seq, sam_qual = _read_fields(seq, qual, hit, revcomp)
    flag = _mate_bits(hit, mate, first) | Flag.SUPPLEMENTARY
    mate = mate or hit
    rnext = "=" if mate.ctg == hit.ctg else mate.ctg
    out.append(f"{name}\t{flag:d}\t{hit.ctg}\t{hit.r_st + 1}\t{hit.mapq}\t"
               f"{_clipped_cigar(hit, len(seq), not first)}\t{rnext}\t{mate.r_st + 1}\t0\t"
               f"{sam_seq}\t{sam_qual}\tNM:i:{hit.NM}\t{tags}")


def _single_lines(name, seq, qual, hits, tags, revcomp, out) -> None:
    """SAM lines of one single-end read: primary, extra primary chains as supplementary."""
    first = True
    for hit in hits:
        if not hit.is_primary:
            continue
        s, q = _read_fields(seq, qual, hit, revcomp)
        flag = (Flag.REVERSE if hit.strand < 0 else 0) | (0 if first else Flag.SUPPLEMENTARY)
        out.append(f"{name}\t{flag:d}\t{hit.ctg}\t{hit.r_st + 1}\t{hit.mapq}\t"
                   f"{_clipped_cigar(hit, len(seq))}\t*\t0\t0\t{s}\t{q}\tNM:i:{hit.NM}\t{tags}")
        first = False
    if first:
        out.append(f"{name}\t{Flag.UNMAPPED:d}\t*\t0\t0\t*\t*\t0\t0\t{seq or '*'}\t{qual or '*'}\t"
                   f"{tags}")
