"""A workflow config and everything it names, checked as the workflow will use them.

Shared by the Snakefile (common.smk) and `genogan validate`. Kept apart from `genogan.validate`
so the light sheet/config checks do not pull in the sequence and expression readers (whose
dependencies the alignment env does not carry).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import yaml

from genogan.amount_check import check_augmentation_adds, check_gan_pools_cover
from genogan.cohort_check import check_cohort
from genogan.errors import GenoganInputError
from genogan.validate import check_reference_needed, load_sample_sheet, validate_config

SHIPPED_CONFIG = "config/config.yaml"  # the Snakefile's `configfile:` (relative to the workdir)
USER_REQUIRED_KEYS = ("samples",)  # a user config names its own cohort, never inherits the demo's


def register_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "validate", help="check a config and its sample sheet",
        description="Validate the config Snakemake will run (config/config.yaml, overridden by "
        "each --configfile in order, exactly as `snakemake --configfile ...` merges them) and "
        "the sample sheet it names; prints a summary or the first problem with its fix.")
    p.add_argument("--configfile", "--config", dest="configfiles", action="append", default=[],
                   metavar="FILE", help="your config YAML, as given to snakemake --configfile "
                   "(repeatable; default: config/config.yaml alone)")
    p.add_argument("--no-file-check", action="store_true",
                   help="skip checking that input files exist (e.g. before the demo is simulated)")
    p.set_defaults(func=_cli)


def read_config_file(path) -> dict:
    """One YAML config file as a dict; a syntax error is one line with its line and column."""
    path = Path(path)
    if not path.is_file():
        raise GenoganInputError("config file not found", path=path,
                                fix="give an existing YAML file (see config/README.md)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise GenoganInputError(f"YAML syntax error at {where}{err.problem or err}", path=path,
                                fix="correct the YAML at that place (indentation, a ':' after "
                                "each key, quotes around values with ':' or '#')") from None
    except yaml.YAMLError as err:
        raise GenoganInputError(f"not valid YAML: {err}", path=path,
                                fix="correct the YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GenoganInputError("a config file must be a mapping of keys to values", path=path,
                                fix="write `key: value` lines (see config/config.yaml)")
    return data


def apply_user_config_rules(config: dict, user_files, user_configs) -> dict:
    """What a user's --configfile does not say is not inherited from the demo.

    The shipped config/config.yaml is the demo; its keys merge under every user config (as
    Snakemake merges them), which gives users its defaults — but a user config that does not say
    `demo:` is never the demo, and it must name its own sample sheet.
    """
    if not user_files:
        return config
    if not any("demo" in user for user in user_configs):
        config.setdefault("demo", {})["enabled"] = False
    for key in USER_REQUIRED_KEYS:
        if not any(key in user for user in user_configs):
            raise GenoganInputError(
                f"your config does not set `{key}`", path=", ".join(map(str, user_files)),
                fix=f"add `{key}:` (your sample sheet) to your config; without it the shipped "
                "demo sheet would be used")
    return config


def apply_user_configfiles(config: dict, user_files) -> dict:
    """`apply_user_config_rules` for a config Snakemake has already merged from `user_files`."""
    return apply_user_config_rules(config, user_files, [read_config_file(f) for f in user_files])


def merged_config(user_files=(), shipped=SHIPPED_CONFIG) -> dict:
    """The config Snakemake runs: the shipped config file, then each user file on top."""
    user_files = [f for f in user_files if Path(f).resolve() != Path(shipped).resolve()]
    config = read_config_file(shipped) if Path(shipped).is_file() or not user_files else {}
    users = [read_config_file(f) for f in user_files]
    from snakemake.utils import update_config  # Snakemake's own merge, for exact parity

    for user in users:
        update_config(config, copy.deepcopy(user))
    return apply_user_config_rules(config, user_files, users)


def load_workflow_inputs(config: dict, config_path="config/config.yaml", check_files=True):
    """Validate a config and everything it names; return (sample sheet, reference genome path,
    reference cohort sheet or None).

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
    check_cohort(sheet, config, config_path, check_files)
    check_augmentation_adds(sheet, config, config_path)
    check_gan_pools_cover(sheet, config, config_path)
    if reference and check_files and not demo:
        check_reference_file(reference, config_path)
    check_gpu_request(config.get("gan", {}).get("resources", {}), config_path)
    from genogan.reference import load_reference_cohort

    reference_sheet = load_reference_cohort(config, sheet, config_path, check_files and not demo)
    return sheet, reference, reference_sheet


def check_reference_file(reference, config_path) -> None:
    """The reference must exist and be readable now, not when the first align job starts."""
    path = Path(reference)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise GenoganInputError(f"reference FASTA {what}: {reference}", path=config_path,
                                fix="set `reference:` to your genome FASTA (plain or bgzip)")
    if not os.access(path, os.R_OK):
        raise GenoganInputError(f"reference FASTA is not readable: {reference}", path=config_path,
                                fix="check its permissions")


def check_gpu_request(resources: dict, config_path) -> None:
    """`gres` and `gpu` together make the SLURM plugin ask for both --gres and --gpus."""
    if resources.get("gres") and int(resources.get("gpu") or 0) > 0:
        raise GenoganInputError(
            f"gan.resources sets both gres ({resources['gres']!r}) and gpu "
            f"({resources['gpu']}): SLURM jobs would ask for --gres and --gpus", path=config_path,
            fix="with `gres`, set `gan.resources.gpu: 0` (see profiles/slurm/README.md)")


def _cli(args) -> int:
    config = merged_config(args.configfiles)
    where = ", ".join(args.configfiles) or SHIPPED_CONFIG
    sheet, _, _ = load_workflow_inputs(config, where, check_files=not args.no_file_check)
    counts = sheet["condition"].value_counts().to_dict()
    kinds = sheet["input_kind"].fillna(config["input_type"]).value_counts().to_dict()
    print(f"OK: {len(sheet)} samples, classes {counts}, inputs {kinds}")
    return 0
