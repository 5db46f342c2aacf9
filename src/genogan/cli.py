"""`genogan` command line: one subcommand per pipeline stage.

Each stage module exposes `register_cli(subparsers)`, which adds its subcommand(s) and sets
`func` (called with the parsed args). `COMMANDS` names each subcommand's module and one-line
help, so `genogan --help` imports no stage at all (no pandas, scikit-learn or TensorFlow) and
`genogan <command>` imports only the module of that command (tests check the table against
what the modules register).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from genogan import __version__

# command -> (module whose register_cli adds it, help line)
COMMANDS = {
    "simulate": ("genogan.simulate", "write the deterministic demo cohort (reference, reads, "
                 "truth)"),
    "validate": ("genogan.config_check", "check a config and its sample sheet"),
    "align": ("genogan.align", "align reads to a sorted, indexed BAM (+ alignment stats)"),
    "kmers": ("genogan.kmers", "count canonical k-mers per sample; merge counts into a feature "
              "matrix"),
    "sequences": ("genogan.sequences", "protein/nucleotide FASTA -> k-mer feature matrix"),
    "expression": ("genogan.expression", "expression matrix -> transformed feature matrix"),
    "examples": ("genogan.examples", "write the simulated data of an example config"),
    "train": ("genogan.generators.cli", "train a conditional GAN on a feature matrix"),
    "generate": ("genogan.generators.cli", "generate synthetic samples from a trained GAN"),
    "quality": ("genogan.quality.cli", "fidelity, utility and privacy of synthetic samples"),
    "split": ("genogan.benchmark.cli", "write the repeated stratified k-fold split file"),
    "fold-dataset": ("genogan.benchmark.cli", "write one fold's train and test parquet"),
    "classify": ("genogan.benchmark.cli", "evaluate one arm x classifier on one fold"),
    "aggregate": ("genogan.benchmark.cli", "aggregate per-fold results into tables"),
    "benchmark": ("genogan.benchmark.cli", "run the whole benchmark in memory on a matrix"),
    "verdict": ("genogan.benchmark.cli", "print the benchmark's headline: best arm vs none"),
}
STAGE_MODULES = list(dict.fromkeys(module for module, _ in COMMANDS.values()))
DESCRIPTION = ("GAN-based augmentation of genomic data for disease classification. "
               "Each subcommand runs one stage of the Snakemake workflow on its own.")


def build_parser(modules=STAGE_MODULES) -> argparse.ArgumentParser:
    """The full parser: every module's subcommands with all their options (imports them all)."""
    parser, sub = _top_parser()
    for name in modules:
        importlib.import_module(name).register_cli(sub)
    return parser


def _top_parser():
    parser = argparse.ArgumentParser(prog="genogan", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"genogan {__version__}")
    return parser, parser.add_subparsers(dest="command", metavar="COMMAND")


def _light_parser() -> argparse.ArgumentParser:
    """Command names and help lines only (for `genogan --help`): imports nothing."""
    parser, sub = _top_parser()
    for command, (_module, help_line) in COMMANDS.items():
        sub.add_parser(command, help=help_line)
    return parser


def _parser_for(argv) -> argparse.ArgumentParser:
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in COMMANDS:
        return _light_parser()
    return build_parser([COMMANDS[command][0]])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser_for(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from genogan.errors import GenoganInputError

    try:
        return args.func(args) or 0
    except GenoganInputError as err:
        print(f"genogan {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
