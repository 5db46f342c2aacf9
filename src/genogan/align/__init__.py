"""Reads → coordinate-sorted, indexed BAM (with read group), alignment stats, BAM/CRAM checks.

Engines
-------
``mappy`` (default, pip-only)
    minimap2 itself, from the C library inside mappy's extension module (mappy is minimap2's
    own Python binding and exports minimap2's C API; ``genogan.align.libminimap2`` drives it
    through ctypes as ``minimap2 -a`` does): a child process runs minimap2's multi-threaded
    pipeline (reading, mapping, pairing, SAM formatting, all in C) with ``threads`` mapping
    threads and writes SAM into ``samtools sort``. Meanwhile this process reads every record
    once more with the reads layer (``genogan.reads.check``: xopen + dnaio, C speed, ~2 % of
    the mapping's CPU), which turns what minimap2 would pass over silently (a truncated or
    corrupt file, a malformed record, mates with different names or counts) into a clear
    error, and checks that minimap2 mapped exactly as many reads as it read. Sorting, BGZF
    compression and indexing (``--write-index``) overlap the mapping, as in
    ``minimap2 | samtools sort``; memory is the index plus minimap2's and the sorter's
    buffers. The sorter is the ``samtools`` binary when one ≥ 1.10 is on PATH (usually built
    with libdeflate), otherwise the samtools bundled with pysam. The index comes from
    ``build_index`` (rule ``index_reference``: built once per reference) or is built in memory.
    (Earlier versions formatted SAM in Python from mappy's hit objects in forked workers:
    ~25 % more CPU than the binary, and minimap2's internal decisions -- which pair is
    primary, read 2's query coordinates -- had to be re-derived.)
``minimap2`` / ``bwa-mem``
    The binaries (``envs/align.yaml``) write SAM to the same sorter. ``bwa index`` is built
    beside the reference on first use (under a lock file, renamed into place).

Records written by the mappy engine
-----------------------------------
Exactly those of ``minimap2 -ax <preset> --secondary=no -R <read group>`` of the installed
mappy's minimap2 version (tests/test_align.py compares them with the binary built from the
same source, byte for byte, and field by field on the demo cohort and on pairs rich in soft
clips, indels, contig ends, unmapped mates and chimeras):

* primary and supplementary records (supplementary ones hard-clipped, as minimap2 does
  without ``-Y``); secondary alignments are not written;
* minimap2's pairing: proper pair (0x2), mate fields and TLEN as minimap2 sets them, with
  ``max_insert`` as its ``-F`` (default 800, as for ``-x sr``);
* tags ``NM``, ``ms``, ``AS``, ``nn``, ``tp``, ``cm``, ``s1``, ``s2``, ``de``, ``rl`` and ``RG``;
  a trailing ``/1``, ``/2`` on read names is dropped; mates must otherwise share their name.

The header is minimap2's (``@SQ`` from the index, ``@RG`` with ID, SM and PL:ILLUMINA,
``@PG ID:minimap2``) plus ``@PG ID:genogan-align`` with the command line.

Output is atomic: the BAM and its ``.bai`` are written under temporary names and renamed into
place (index first), so a failed or killed run never leaves a BAM that looks finished.
"""

from genogan.align.checks import (
    STATS_COLUMNS,
    alignment_stats,
    check_alignment_reference,
    check_contig_names,
    reference_contigs,
    write_stats_tsv,
)
from genogan.align.cli import main, register_cli
from genogan.align.engines import (
    BWA_INDEX_SUFFIXES,
    DEFAULT_MAX_INSERT,
    ENGINES,
    align_mem_mb,
    align_sample,
    build_index,
    ensure_bwa_index,
    index_files,
    index_from_files,
    index_path,
    index_prefix,
)

__all__ = [
    "BWA_INDEX_SUFFIXES", "DEFAULT_MAX_INSERT", "ENGINES", "STATS_COLUMNS",
    "align_mem_mb", "align_sample", "alignment_stats", "build_index", "check_alignment_reference",
    "check_contig_names", "ensure_bwa_index", "index_files", "index_from_files", "index_path",
    "index_prefix", "main", "reference_contigs", "register_cli", "write_stats_tsv",
]
