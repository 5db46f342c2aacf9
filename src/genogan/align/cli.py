"""`genogan align`: command line of one sample's alignment."""

from __future__ import annotations

import logging
import sys

from genogan.errors import GenoganInputError

from genogan.align.checks import alignment_stats, write_stats_tsv
from genogan.align.engines import DEFAULT_MAX_INSERT, ENGINES, align_sample

logger = logging.getLogger("genogan")


def register_cli(subparsers) -> None:
    parser = subparsers.add_parser(
        "align", help="align reads to a sorted, indexed BAM (+ alignment stats)",
        description="Align one sample's reads to the reference and write a coordinate-sorted, "
        "indexed BAM with a read group (ID and SM = sample, PL = ILLUMINA). The default engine "
        "'mappy' needs only pip; 'minimap2' and 'bwa-mem' call those programs "
        "(envs/align.yaml).",
        epilog="example: genogan align --reference ref.fa --fq1 s1_R1.fastq.gz --fq2 "
        "s1_R2.fastq.gz --sample s1 --out results/bam/s1.bam --threads 4 --stats s1.tsv")
    parser.add_argument("--reference", required=True, help="reference FASTA (plain or gzip)")
    parser.add_argument("--fq1", required=True, help="FASTQ of read 1 (or single-end reads)")
    parser.add_argument("--fq2", help="FASTQ of read 2 (omit for single-end)")
    parser.add_argument("--sample", required=True, help="sample id (read group ID and SM)")
    parser.add_argument("--out", required=True, help="output BAM; its index is OUT.bai")
    # Left out, these take the config's `align:` defaults (settings layer, `_fill_defaults`).
    parser.add_argument("--threads", type=int, help="threads/processes (default: the config's "
                        "align.threads default)")
    parser.add_argument("--engine", choices=ENGINES, help="aligner (default: the config's "
                        "align.engine default)")
    parser.add_argument("--preset", default="sr", help="minimap2 preset (default sr)")
    parser.add_argument("--max-insert", type=int, default=DEFAULT_MAX_INSERT,
                        help="largest fragment called a proper pair (mappy engine; default 800)")
    parser.add_argument("--index", help="prebuilt index of the reference (minimap2 .mmi; for "
                        "bwa-mem the bwa prefix), as the workflow's rule index_reference writes")
    parser.add_argument("--stats", help="also write alignment stats to this TSV")
    parser.add_argument("--log", help="log file (default: stderr only)")
    parser.set_defaults(func=_cli)


def _fill_defaults(args) -> None:
    """Options left out take the config's `align:` defaults. The settings layer is imported
    only then: reading its schema costs ~0.2 s of start-up, which runs that give both options
    (the benchmark, scripted runs) need not pay."""
    if args.threads is None or args.engine is None:
        from genogan.settings.sections import AlignSettings

        defaults = AlignSettings()
        args.threads = defaults.threads if args.threads is None else args.threads
        args.engine = defaults.engine if args.engine is None else args.engine


def _cli(args) -> int:
    from genogan.io import setup_logging

    _fill_defaults(args)
    setup_logging(args.log)
    align_sample(args.reference, args.fq1, args.fq2, out_bam=args.out, sample=args.sample,
                 threads=args.threads, engine=args.engine, preset=args.preset,
                 max_insert=args.max_insert, index=args.index)
    if args.stats:
        stats = alignment_stats(args.out, args.reference, threads=args.threads)
        write_stats_tsv(stats, args.stats, sample=args.sample)
        logger.info("stats: %s", stats)
    return 0


def main(argv=None) -> int:
    """`genogan align` on its own (used by benchmarks/bench_align.py)."""
    import argparse

    parser = argparse.ArgumentParser(prog="genogan")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["align", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except GenoganInputError as err:
        print(f"genogan align: error: {err}", file=sys.stderr)
        return 1
