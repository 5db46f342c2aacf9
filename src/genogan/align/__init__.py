"""Reads → coordinate-sorted, indexed BAM (with read group), alignment stats, BAM/CRAM checks.

Engines
-------
``mappy`` (default, pip-only)
    minimap2's own Python binding, in-process. mappy 2.31 holds the GIL inside ``Aligner.map``
    (measured: two threads map no faster than one), so ``threads`` > 1 means that many *forked
    worker processes*, sharing the index copy-on-write. The parent only cuts the reads into
    chunks of whole records (``genogan.reads``: xopen + dnaio, plain or compressed FASTQ or
    FASTA). Each worker parses its chunk (dnaio, with the mate-name check), maps the pairs and
    formats SAM text, then writes it straight into the pipe of ``samtools sort`` — in input
    order (workers take turns), so the BAM does not depend on scheduling. Sorting, BGZF
    compression and indexing (``--write-index``) overlap the mapping, as in
    ``minimap2 | samtools sort``, and memory stays bounded whatever the number of reads. The
    sorter is the ``samtools`` binary when one ≥ 1.10 is on PATH (usually built with
    libdeflate), otherwise the samtools bundled with pysam. The index comes from
    ``build_index`` (rule ``index_reference``: built once per reference) or is built in memory.
``minimap2`` / ``bwa-mem``
    The binaries (``envs/align.yaml``) write SAM to the same sorter. ``bwa index`` is built
    beside the reference on first use (under a lock file, renamed into place).

Records written by the mappy engine
-----------------------------------
Primary records equal those of ``minimap2 -ax sr`` of the same minimap2 version field by field
(tests/test_align.py checks FLAG … NM against the binary). Two details make that so: mappy
reports read 2's query interval on the reverse complement of read 2 (its soft clips are placed
accordingly), and the read name is passed to mappy, which seeds minimap2's tie-breaking.

* Primary alignments; further non-overlapping primary chains of a read are written as
  supplementary (0x800, soft-clipped, full SEQ); secondary alignments are not written.
* An unmapped read whose mate is mapped takes the mate's RNAME/POS (SAM convention), so it sorts
  next to its mate; the mapped mate points at its own position as RNEXT/PNEXT.
* Proper pair (0x2): both mates primary-mapped to the same contig on opposite strands, facing
  each other (FR: the forward read starts before the reverse read ends) and the fragment (TLEN)
  is at most ``max_insert`` (default 800, minimap2's ``-F`` for ``-x sr``).
* TLEN is the SAM-spec span from the leftmost to the rightmost mapped base, positive for the
  leftmost mate (read 1 on ties). Tags: ``NM`` and ``RG``. A trailing ``/1``, ``/2`` on read
  names is dropped; mates must otherwise share their name.

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
from genogan.align.records import Flag

__all__ = [
    "BWA_INDEX_SUFFIXES", "DEFAULT_MAX_INSERT", "ENGINES", "STATS_COLUMNS", "Flag",
    "align_mem_mb", "align_sample", "alignment_stats", "build_index", "check_alignment_reference",
    "check_contig_names", "ensure_bwa_index", "index_files", "index_from_files", "index_path",
    "index_prefix", "main", "reference_contigs", "register_cli", "write_stats_tsv",
]
