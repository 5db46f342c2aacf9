"""`genogan` command line: one subcommand per pipeline stage.

Each stage module exposes `register_cli(subparsers)`, which adds its subcommand and sets
`func` (called with the parsed args). Modules are imported lazily so `genogan --help` stays fast
and a stage that needs TensorFlow does not load it for the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from genogan import __version__
from genogan.errors import GenoganInputError

STAGE_MODULES = [
    "genogan.simulate",
    "genogan.config_check",
    "genogan.align",
    "genogan.kmers",
    "genogan.sequences",
    "genogan.expression",
    "genogan.examples",
    "genogan.gan.cli",
    "genogan.quality.cli",
    "genogan.benchmark.cli",
]


def build_parser(modules=STAGE_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genogan",
        description="GAN-based augmentation of genomic data for disease classification. "
        "Each subcommand runs one stage of the Snakemake workflow on its own.",
    )
    parser.add_argument("--version", action="version", version=f"genogan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules:
        importlib.import_module(name).register_cli(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except GenoganInputError as err:
        print(f"genogan {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
