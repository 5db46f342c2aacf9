"""`genogan train` and `genogan generate`: the generator stages outside Snakemake.

TensorFlow is imported only when a command runs, so `genogan --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

from genogan.errors import GenoganInputError


def _gan_config(path) -> dict:
    """The `gan:` section of a genogan config YAML (or the whole file if it holds only `gan`
    keys; a config without a `gan:` section gives {}, i.e. the defaults)."""
    if not path:
        return {}
    import yaml

    path = Path(path)
    if not path.exists():
        raise GenoganInputError("config file not found", path=path)
    data = yaml.safe_load(path.read_text()) or {}
    if "gan" in data:
        return data["gan"]
    from genogan.settings.sections import GanSettings

    return data if set(data) <= set(GanSettings.__dataclass_fields__) else {}


def _json_arg(text, what):
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError as err:
        raise GenoganInputError(f"{what} is not valid JSON: {err}",
                                fix='quote it, e.g. \'{"epochs": 10}\'') from None


def run_train(args) -> int:
    from genogan.generators.pipeline import train_file
    from genogan.generators.runtime import configure_threads
    from genogan.io import setup_logging
    from genogan.settings.sections import section

    logger = setup_logging(args.log)
    configure_threads(args.threads)
    gan_cfg = dict(_gan_config(args.config))
    for key in ("epochs", "batch_size"):
        if getattr(args, key) is not None:
            gan_cfg[key] = getattr(args, key)
    settings = section("gan", gan_cfg)  # gan.models / gan.seeds: their defaults live there
    model = args.model or settings.models[0]
    params = _json_arg(args.params, "--params")
    if params:
        gan_cfg[model] = {**(gan_cfg.get(model) or {}), **params}
    seed = args.seed if args.seed is not None else settings.seeds[0]
    out = Path(args.out_dir)
    ckpt = Path(args.checkpoint_dir) if args.checkpoint_dir else out.with_name(out.name + ".ckpt")
    train_file(args.input, out, gan_cfg=gan_cfg, model=model, seed=int(seed),
               checkpoint_dir=ckpt, logger=logger)
    return 0


def run_generate(args) -> int:
    from genogan.generators.pipeline import generate_file
    from genogan.io import setup_logging
    from genogan.settings.sections import as_dict, section

    logger = setup_logging(args.log)
    if (args.mode is None) != (args.value is None):
        raise GenoganInputError("--mode and --value go together (like gan.amount's mode and "
                                "value)", fix="give both, e.g. --mode balance --value 1, or "
                                "neither to use gan.amount of --config (or its default)")
    amount = as_dict(section("gan", _gan_config(args.config)).amount)
    if args.mode:
        amount = {"mode": args.mode, "value": args.value}
    generate_file(args.model_dir, args.output, amount=amount, seed=args.seed, logger=logger)
    return 0


def register_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a class-conditional generative model on a feature matrix",
        description="Train a class-conditional generative model (GANs cwgan_gp and vanilla_gan, "
        "the VAE cvae, the diffusion model ddpm) on a feature-matrix parquet and write its "
        "model directory (weights per network, preprocess.json, model.json, history.tsv, "
        "loss.png). A rerun resumes from the last checkpoint.")
    p.add_argument("--input", required=True, help="training feature matrix (parquet)")
    p.add_argument("--out-dir", required=True, help="model directory to write")
    p.add_argument("--config", help="genogan config YAML (its `gan:` section is used)")
    p.add_argument("--model", help="model name (default: the first of gan.models)")
    p.add_argument("--params", help="model hyper-parameters as JSON, e.g. "
                   "'{\"generator_units\": [128, 128]}'")
    p.add_argument("--seed", type=int, help="random seed (default: the first of gan.seeds)")
    p.add_argument("--epochs", type=int, help="override gan.epochs")
    p.add_argument("--batch-size", type=int, help="override gan.batch_size")
    p.add_argument("--checkpoint-dir", help="checkpoint directory (default: OUT_DIR.ckpt beside "
                   "the model directory)")
    p.add_argument("--threads", type=int, help="CPU threads for TensorFlow")
    p.add_argument("--log", help="also write the log to this file")
    p.set_defaults(func=run_train)

    g = subparsers.add_parser(
        "generate", help="generate synthetic samples from a trained model",
        description="Generate synthetic samples per class from a model directory written by "
        "`genogan train`, as a feature-matrix parquet with synthetic/model/seed columns.")
    g.add_argument("--model-dir", required=True, help="model directory from `genogan train`")
    g.add_argument("--output", required=True, help="output parquet")
    g.add_argument("--config", help="genogan config YAML (its gan.amount is used)")
    g.add_argument("--mode", choices=("absolute", "multiple", "balance"),
                   help="how to size the output, with --value (default: gan.amount)")
    g.add_argument("--value", type=float, help="amount value (count, multiple or balance "
                   "factor), with --mode")
    g.add_argument("--seed", type=int, default=1, help="generation seed (default 1)")
    g.add_argument("--log", help="also write the log to this file")
    g.set_defaults(func=run_generate)
