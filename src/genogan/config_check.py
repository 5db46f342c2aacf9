"""A workflow config and everything it names, checked as the workflow will use them.

Shared by the Snakefile (common.smk) and `genogan validate`. Kept apart from `genogan.validate`
so the light sheet/config checks do not pull in the sequence and expression readers (whose
dependencies the alignment env does not carry).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from genogan.validate import check_reference_needed, load_sample_sheet, validate_config


def register_cli(subparsers) -> None:
    p = subparsers.add_parser("validate", help="check a config and its sample sheet",
                              description="Validate config.yaml and the sample sheet it names; "
                              "prints a summary or the first problem with its fix.")
    p.add_argument("--config", default="config/config.yaml",
                   help="config YAML (default: %(default)s)")
    p.add_argument("--no-file-check", action="store_true",
                   help="skip checking that input files exist (e.g. before the demo is simulated)")
    p.set_defaults(func=_cli)


def load_workflow_inputs(config: dict, config_path="config/config.yaml", check_files=True):
    """Validate a config and everything it names; return (sample sheet, reference path).

    The one place the workflow (common.smk) and `genogan validate` share: the demo supplies its
    own reference and reads (made by rule simulate_demo, so never checked for existence), and
    sequence/expression inputs need no per-sample file column.
    """
    validate_config(config, config_path)
    demo, input_type = config["demo"]["enabled"], config["input_type"]
    reference = f"{config['demo']['outdir']}/reference.fa" if demo else config.get("reference", "")
    sheet = load_sample_sheet(
        config["samples"], check_files=check_files and not demo,
        n_folds=config["benchmark"].get("folds"),
        allow_no_input=bool(config["features_table"]) or input_type == "expression"
        or (input_type == "sequences" and bool(config["sequences"]["path"])))
    if input_type == "sequences":
        from genogan.sequences import check_sequence_config

        check_sequence_config(config["sequences"], sheet, config["samples"])
    if input_type == "expression":
        from genogan.expression import check_expression_config

        check_expression_config(config["expression"], config["samples"])
    check_reference_needed(sheet, {"reference": reference}, config["samples"])
    return sheet, reference


def _cli(args) -> int:
    config = yaml.safe_load(Path(args.config).read_text())
    sheet, _ = load_workflow_inputs(config, args.config, check_files=not args.no_file_check)
    counts = sheet["condition"].value_counts().to_dict()
    kinds = sheet["input_kind"].fillna(config["input_type"]).value_counts().to_dict()
    print(f"OK: {len(sheet)} samples, classes {counts}, inputs {kinds}")
    return 0
