"""`genogan split | fold-dataset | classify | aggregate | benchmark`: the benchmark stages by hand.

Each subcommand calls the same job function as the workflow rule of the same name; `benchmark`
runs the whole benchmark in memory on one feature matrix (classical arms, or GAN arms trained
in-process) and writes the tables and figures.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def _bench_config(path) -> dict:
    """The `benchmark:` block of a genogan config, or a file holding only that block."""
    if not path:
        return {}
    data = yaml.safe_load(Path(path).read_text()) or {}
    return data.get("benchmark", data) if isinstance(data, dict) else {}


def register_cli(subparsers) -> None:
    from genogan.settings.paths import BENCHMARK_DIR
    from genogan.settings.sections import BenchmarkSettings

    defaults = BenchmarkSettings()  # the config's `benchmark:` defaults (the shipped schema)
    p = subparsers.add_parser("split", help="write the repeated stratified k-fold split file")
    p.add_argument("--matrix", required=True, help="feature matrix parquet")
    p.add_argument("--out", required=True, help="split TSV to write")
    p.add_argument("--folds", type=int, default=defaults.folds)
    p.add_argument("--repeats", type=int, default=defaults.repeats)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.set_defaults(func=_split)

    p = subparsers.add_parser("fold-dataset", help="write one fold's train and test parquet")
    p.add_argument("--matrix", required=True)
    p.add_argument("--splits", required=True)
    p.add_argument("--dataset", required=True, help="r<R>_f<F>, r<R>_f<F>_p<PCT> or null_r<R>_f<F>")
    p.add_argument("--seed", type=int, default=defaults.seed,
                   help="benchmark seed (null permutation)")
    p.add_argument("--train-out", required=True)
    p.add_argument("--test-out", required=True)
    p.set_defaults(func=_fold_dataset)

    p = subparsers.add_parser("classify", help="evaluate one arm x classifier on one fold")
    for name in ("train", "test", "splits", "dataset", "arm", "classifier", "out", "oof"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--synthetic", nargs="*", default=[], help="GAN pools, one per generator seed")
    p.add_argument("--full", default=None, help="whole-cohort parquet (leaky classical arms)")
    p.add_argument("--config", default=None, help="config YAML with a `benchmark:` block")
    p.set_defaults(func=_classify)

    p = subparsers.add_parser("aggregate", help="aggregate per-fold results into tables")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--oof", nargs="+", required=True)
    p.add_argument("--config", default=None)
    p.add_argument("--outdir", default=BENCHMARK_DIR)
    p.set_defaults(func=_aggregate)

    p = subparsers.add_parser("benchmark", help="run the whole benchmark in memory on a matrix",
                              description="Splits, augments, classifies, aggregates and plots in "
                              "one process (no Snakemake).")
    p.add_argument("--matrix", required=True)
    p.add_argument("--config", default=None)
    p.add_argument("--outdir", default=BENCHMARK_DIR)
    p.set_defaults(func=_benchmark)

    p = subparsers.add_parser("verdict", help="print the benchmark's headline: best arm vs none")
    p.add_argument("--aggregate", default=f"{BENCHMARK_DIR}/aggregate.tsv")
    p.add_argument("--config", default=None, help="config YAML (its main classifier)")
    p.add_argument("--metric", default="auroc")
    p.set_defaults(func=_verdict)


def _split(args) -> int:
    from genogan.benchmark.jobs import split_job

    splits = split_job(args.matrix, args.out, args.folds, args.repeats, args.seed)
    print(f"wrote {args.out}: {splits['sample'].nunique()} samples, {args.folds} folds x "
          f"{args.repeats} repeats")
    return 0


def _fold_dataset(args) -> int:
    from genogan.benchmark.jobs import fold_dataset_job

    train, test = fold_dataset_job(args.matrix, args.splits, args.dataset, args.seed,
                                   args.train_out, args.test_out)
    print(f"{args.dataset}: {len(train.samples)} training, {len(test.samples)} test samples")
    return 0


def _classify(args) -> int:
    from genogan.benchmark.jobs import classify_job

    rows, _ = classify_job(args.train, args.test, args.splits, args.dataset, args.arm,
                           args.classifier, _bench_config(args.config), args.out, args.oof,
                           synthetic_paths=args.synthetic, full_path=args.full)
    print(rows[["arm", "classifier", "generator_seed", "auroc", "balanced_accuracy"]]
          .to_string(index=False))
    return 0


def _outputs(outdir) -> dict:
    from genogan.benchmark.targets import aggregate_outputs

    return {k: str(Path(outdir) / Path(v).name) for k, v in aggregate_outputs().items()}


def _aggregate(args) -> int:
    from genogan.benchmark.jobs import aggregate_job

    aggregate_job(args.metrics, args.oof, _bench_config(args.config), _outputs(args.outdir))
    print(f"wrote tables to {args.outdir}")
    return 0


def _benchmark(args) -> int:
    from genogan.benchmark.jobs import write_tsv
    from genogan.benchmark.plots import all_plots
    from genogan.benchmark.run import run_benchmark
    from genogan.benchmark.targets import plot_outputs
    from genogan.features import read_matrix
    from genogan.io import setup_logging

    result = run_benchmark(read_matrix(args.matrix), _bench_config(args.config),
                           log=setup_logging())
    tables = {**result.tables, "per_fold": result.per_fold}
    for key, path in _outputs(args.outdir).items():
        write_tsv(tables[key], path)
    plots = {k: str(Path(args.outdir) / "plots" / Path(v).name)
             for k, v in plot_outputs(result.settings).items()}
    all_plots(result.tables, plots, result.settings)
    head = result.tables["aggregate"]
    head = head[(head["metric"] == "auroc") & (head["scenario"] == "main")]
    print(head[["arm", "classifier", "mean", "ci_low", "ci_high", "p_nb"]].to_string(index=False))
    return 0


def _verdict(args) -> int:
    from genogan.benchmark.jobs import read_tsv
    from genogan.benchmark.targets import benchmark_settings
    from genogan.benchmark.verdict import classifier_sentence

    s = benchmark_settings(_bench_config(args.config))
    print("Verdict:", classifier_sentence(read_tsv(args.aggregate), s["main_classifier"],
                                          args.metric))
    return 0

