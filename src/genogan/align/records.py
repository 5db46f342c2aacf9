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


# Plain ints of the flags for the per-record hot path (IntFlag arithmetic costs ~1 µs a bit).
PAIRED, PROPER_PAIR, UNMAPPED, MATE_UNMAPPED = (int(Flag.PAIRED), int(Flag.PROPER_PAIR),
                                                int(Flag.UNMAPPED), int(Flag.MATE_UNMAPPED))
REVERSE, MATE_REVERSE, READ1, READ2 = (int(Flag.REVERSE), int(Flag.MATE_REVERSE),
                                       int(Flag.READ1), int(Flag.READ2))
SUPPLEMENTARY = int(Flag.SUPPLEMENTARY)


def _clipped_cigar(hit, read_len: int, query_reversed: bool = False,
                   reverse: bool | None = None) -> str:
    """CIGAR with soft clips for the unaligned read ends, in reference orientation.

    mappy's q_st/q_en are on the read as given, except for read 2 of a pair
    (`query_reversed`): mappy maps the reverse complement of read 2 and flips the strand back,
    but not the query coordinates, so they are on the reverse complement of read 2.
    `reverse` is ``hit.strand < 0`` when the caller has it already.
    """
    q_st, q_en = hit.q_st, hit.q_en
    if q_st == 0 and q_en == read_len:
        cigar = hit.cigar
        if len(cigar) == 1:  # the whole read in one operation (the usual case)
            return f"{cigar[0][0]}{_CIGAR_OPS[cigar[0][1]]}"
        return hit.cigar_str
    if reverse is None:
        reverse = hit.strand < 0
    if reverse == query_reversed:
        lead, trail = q_st, read_len - q_en
    else:
        lead, trail = read_len - q_en, q_st
    cigar = hit.cigar_str
    if lead:
        cigar = f"{lead}S{cigar}"
    if trail:
        cigar = f"{cigar}{trail}S"
    return cigar


_CIGAR_OPS = "MIDNSHP=XB"


def _split_hits(hits, max_insert: int | None = None):
    """(read-1 hit, read-2 hit, others → supplementary) from the primary hits; secondaries go.

    Each mate's first primary hit is its SAM-primary record, except when those two do not form
    a proper pair but other primary hits do: minimap2 then makes that pair the primary records
    (pe.c, ``sam_pri``); mappy does not expose the flag, so the pair is found here again.
    """
    if len(hits) == 2 and hits[0].read_num != hits[1].read_num and hits[0].is_primary \
            and hits[1].is_primary:  # the usual pair: one primary hit per mate
        h1, h2 = hits if hits[0].read_num == 1 else hits[::-1]
        return h1, h2, ()
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


def _mapped_line(name, flag, hit, rnext, pnext, tlen, seq, qual, read2, revcomp, tags,
                 reverse: bool | None = None) -> str:
    """The SAM line of a mapped record (primary or supplementary, paired or not); `reverse`
    is ``hit.strand < 0`` when the caller has it already."""
    if reverse is None:
        reverse = hit.strand < 0
    if reverse:
        flag |= REVERSE
        sam_seq, sam_qual = revcomp(seq), (qual[::-1] if qual else "*")
    else:
        sam_seq, sam_qual = seq or "*", qual or "*"
    return (f"{name}\t{flag}\t{hit.ctg}\t{hit.r_st + 1}\t{hit.mapq}\t"
            f"{_clipped_cigar(hit, len(seq), read2, reverse)}\t{rnext}\t{pnext}\t{tlen}\t"
            f"{sam_seq}\t{sam_qual}\tNM:i:{hit.NM}\t{tags}")


def _pair_lines(name, s1, q1, s2, q2, hits, tags, max_insert, revcomp, out) -> None:
    """Append the SAM lines of one read pair (mappy hits of `map(s1, s2)`) to `out`."""
    h1, h2, extra = _split_hits(hits, max_insert)
    if h1 is not None and h2 is not None:
        rev1, rev2 = h1.strand < 0, h2.strand < 0
        st1, st2 = h1.r_st, h2.r_st
        flag1 = PAIRED | READ1 | (MATE_REVERSE if rev2 else 0)
        flag2 = PAIRED | READ2 | (MATE_REVERSE if rev1 else 0)
        if h1.ctg == h2.ctg:
            en1, en2 = h1.r_en, h2.r_en
            span = max(en1, en2) - min(st1, st2)
            tlen1 = span if st1 <= st2 else -span
            next1 = next2 = "="
            # proper pair: opposite strands, facing each other (FR), fragment <= max_insert
            if rev1 != rev2 and span <= max_insert and (st2 < en1 if rev1 else st1 < en2):
                flag1, flag2 = flag1 | PROPER_PAIR, flag2 | PROPER_PAIR
        else:
            tlen1, next1, next2 = 0, h2.ctg, h1.ctg
        out.append(_mapped_line(name, flag1, h1, next1, st2 + 1, tlen1, s1, q1, False,
                                revcomp, tags, rev1))
        out.append(_mapped_line(name, flag2, h2, next2, st1 + 1, -tlen1, s2, q2, True,
                                revcomp, tags, rev2))
    elif h1 is None and h2 is None:
        for seq, qual, mate_bit in ((s1, q1, READ1), (s2, q2, READ2)):
            flag = PAIRED | UNMAPPED | MATE_UNMAPPED | mate_bit
            out.append(f"{name}\t{flag}\t*\t0\t0\t*\t*\t0\t0\t{seq or '*'}\t{qual or '*'}\t"
                       f"{tags}")
    else:
        _half_mapped(name, h1, h2, s1, q1, s2, q2, tags, revcomp, out)
    for hit in extra:
        _supplementary_line(name, hit, h1, h2, (s1, q1), (s2, q2), tags, revcomp, out)


def _half_mapped(name, h1, h2, s1, q1, s2, q2, tags, revcomp, out) -> None:
    """One mate mapped: the unmapped one is placed at its mate's position (SAM convention);
    the mapped one points at its own position as RNEXT/PNEXT."""
    first = h1 is not None
    hit = h1 if first else h2
    seq, qual, useq, uqual = (s1, q1, s2, q2) if first else (s2, q2, s1, q1)
    pos = hit.r_st + 1
    mapped = _mapped_line(name, PAIRED | MATE_UNMAPPED | (READ1 if first else READ2), hit, "=",
                          pos, 0, seq, qual, not first, revcomp, tags)
    uflag = PAIRED | UNMAPPED | (READ2 if first else READ1) | (
        MATE_REVERSE if hit.strand < 0 else 0)
    unmapped = (f"{name}\t{uflag}\t{hit.ctg}\t{pos}\t0\t*\t=\t{pos}\t0\t{useq or '*'}\t"
                f"{uqual or '*'}\t{tags}")
    out.extend((mapped, unmapped) if first else (unmapped, mapped))


def _supplementary_line(name, hit, h1, h2, raw1, raw2, tags, revcomp, out) -> None:
    first = hit.read_num == 1
    seq, qual = raw1 if first else raw2
    mate = h2 if first else h1
    flag = PAIRED | SUPPLEMENTARY | (READ1 if first else READ2)
    if mate is None:
        flag |= MATE_UNMAPPED
        mate = hit
    elif mate.strand < 0:
        flag |= MATE_REVERSE
    rnext = "=" if mate.ctg == hit.ctg else mate.ctg
    out.append(_mapped_line(name, flag, hit, rnext, mate.r_st + 1, 0, seq, qual, not first,
                            revcomp, tags))


def _single_lines(name, seq, qual, hits, tags, revcomp, out) -> None:
    """SAM lines of one single-end read: primary, extra primary chains as supplementary."""
    first = True
    for hit in hits:
        if not hit.is_primary:
            continue
        out.append(_mapped_line(name, 0 if first else SUPPLEMENTARY, hit, "*", 0, 0, seq, qual,
                                False, revcomp, tags))
        first = False
    if first:
        out.append(f"{name}\t{UNMAPPED}\t*\t0\t0\t*\t*\t0\t0\t{seq or '*'}\t{qual or '*'}\t"
                   f"{tags}")
