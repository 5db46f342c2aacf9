"""Synthetic-data quality of the generators on the shipped configs: the five targets of issue 13.

Runs in-process (no Snakemake for the training and scoring): for each data set (the demo config,
the protein and expression examples), every main split (repeats x folds of its `benchmark:`
section) and every generator seed, it trains each model on the fold's training part exactly as
rule train_gan does (`gan:` section of that config), samples a pool sized like the workflow's
(`gan.amount`), and scores it with the quality stage's own `evaluate_quality` against the fold's
training and holdout parts. `gaussian_pca` is the class-conditional Gaussian comparator, with a pool
of the same size. Prints, per data set and model, the means over splits and seeds of:

  label    label fidelity (mean of the quality stage's two real-trained classifiers) >= 0.80
  recall   k-NN recall (fidelity.recall)                                              >= 0.30
  det_et   detection AUC of extra trees (fidelity.detection_auc_by[extra_trees])      <= 0.80
  dcr05    fraction of synthetic closer to train than the holdout's 5th percentile    <= 0.20
  gate     privacy-gate drop fraction (gate.dropped_fraction)                         <= 0.30

plus training time (train + sample) per fold and seed. The fold data sets are built once by the
workflow itself (feature matrix, splits, fold_dataset) in a scratch clone and cached under
benchmarks/out/ (git-ignored). Models that the installed genogan lacks are skipped, so the same
script measures an older checkout ("before") with PYTHONPATH pointing at its src/ and
--config-root at its root.

    .venv/bin/python benchmarks/bench_gan_quality.py [--datasets demo protein expression]
        [--models cwgan_gp vanilla_gan gaussian_pca] [--max-splits N] [--tsv out.tsv]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "benchmarks" / "out" / "gan_quality"
CONFIGS = {"demo": "config/config.yaml", "protein": "config/examples/protein/config.yaml",
           "expression": "config/examples/expression/config.yaml"}
SUMMARIES: list = []  # summary table of every scored pool
FLAG_INPUT: list = []  # (dataset, model, seed, summary table) for quality_overview
TARGETS = {"label": (">=", 0.80), "recall": (">=", 0.30), "det_et": ("<=", 0.80),
           "dcr05": ("<=", 0.20), "gate": ("<=", 0.30)}
CLASSICAL = ("gaussian_pca", "smote", "gaussian_noise", "mixup")


CONFIG_ROOT = [REPO]  # where config/ is read from (--config-root: another checkout's configs)


def load_config(name: str) -> dict:
    return yaml.safe_load((CONFIG_ROOT[0] / CONFIGS[name]).read_text())


def main_splits(cfg: dict) -> list[str]:
    b = cfg.get("benchmark") or {}
    return [f"r{r}_f{f}" for r in range(int(b.get("repeats", 2))) for f in range(int(b.get(
        "folds", 3)))]


def override(cfg: dict, folds=None, repeats=None, seeds=None) -> dict:
    """The config with its benchmark folds/repeats/generator seeds replaced where given (to
    compare two checkouts on the same splits while the shipped config changes)."""
    b = dict(cfg.get("benchmark") or {})
    for key, value in (("folds", folds), ("repeats", repeats), ("generator_seeds", seeds)):
        if value is not None:
            b[key] = value
    return {**cfg, "benchmark": b}


def build_datasets(name: str, splits: list[str], cfg: dict) -> Path:
    """Fold data sets of one config, made by the workflow in a scratch clone, cached."""
    b = cfg["benchmark"]
    out = CACHE / f"{name}-f{b.get('folds', 3)}-seed{b.get('seed', 7)}"
    if all((out / s / part).exists() for s in splits for part in ("train.parquet",
                                                                    "test.parquet")):
        return out
    work = Path(tempfile.mkdtemp(prefix=f"genogan-{name}-"))
    subprocess.run(["git", "clone", "-q", str(REPO), str(work)], check=True)
    config = work / "bench-config.yaml"
    config.write_text(yaml.safe_dump(cfg))
    targets = [f"results/datasets/{s}/{part}.parquet" for s in splits for part in ("train",
                                                                                   "test")]
    snakemake = Path(sys.executable).parent / "snakemake"
    subprocess.run([str(snakemake), "-s", "Snakefile", "--directory", str(work), "--cores", "2",
                    "--nolock", *targets, "--configfile", str(config)], cwd=work, check=True)
    # (targets first: --configfile takes every path after it)
    for s in splits:
        (out / s).mkdir(parents=True, exist_ok=True)
        for part in ("train", "test"):
            shutil.copy(work / "results" / "datasets" / s / f"{part}.parquet", out / s)
    shutil.rmtree(work, ignore_errors=True)
    return out


def pool_counts(y, amount: dict) -> dict:
    from genogan.generators.amount import synthetic_counts

    amount = {"mode": "multiple", "value": 5, **(amount or {})}
    return synthetic_counts(y, amount["mode"], amount["value"])


def gan_pool(train, model: str, seed: int, gan_cfg: dict):
    """Train like rule train_gan, then sample the pool like rule generate."""
    from genogan.features import FeatureMatrix
    from genogan.generators.pipeline import model_params_from, training_options
    from genogan.generators.synthesis import generate_arrays
    from genogan.generators.train import train_model

    trained = train_model(train.X, train.y, model=model,
                          params=model_params_from(gan_cfg, model), seed=seed,
                          config=training_options(gan_cfg), logger=logging.getLogger("bench"))
    counts = pool_counts(train.y, gan_cfg.get("amount"))
    X, y = generate_arrays(trained.model, trained.preprocessor, trained.classes, counts, seed)
    samples = np.asarray([f"syn_{model}_{seed}_{i}" for i in range(len(y))], dtype=object)
    return FeatureMatrix(X=X, y=y, samples=samples, feature_names=list(train.feature_names))


def classical_pool(train, method: str, seed: int, gan_cfg: dict):
    from genogan.benchmark.augment import classical_synthetic

    amount = {"mode": "multiple", "value": 5, **(gan_cfg.get("amount") or {})}
    pool = amount["value"] if amount["mode"] == "multiple" else "balance"
    return classical_synthetic(train, method, pool, seed)


def available(model: str) -> bool:
    if model in CLASSICAL:
        from genogan.benchmark import augment

        return model in augment.AUGMENTERS
    from genogan.generators import registry

    return model in registry.names()


def score(train, test, synthetic, seed: int, qcfg: dict) -> dict:
    from genogan.quality.evaluate import evaluate_quality

    tables = evaluate_quality(train, test, synthetic, seed,
                              detection_folds=int(qcfg.get("detection_folds", 5)),
                              mmd_permutations=0,  # p-values are not among the targets
                              gate_percentile=float((qcfg.get("privacy_gate") or {}).get(
                                  "percentile", 5)))
    SUMMARIES.append(tables["summary"])
    s = tables["summary"].set_index("metric")["value"]
    labels = [v for k, v in s.items() if k.startswith("label.accuracy_mean[")]
    return {"label": float(np.mean(labels)), "label_logistic": s.get(
                "label.accuracy_mean[logistic]", np.nan),
            "label_et": s.get("label.accuracy_mean[extra_trees]", np.nan),
            "recall": s["fidelity.recall"], "density": s["fidelity.density"],
            "det_et": s["fidelity.detection_auc_by[extra_trees]"],
            "dcr05": s["privacy.dcr_below_holdout_p05"], "gate": s["gate.dropped_fraction"],
            "tstr_auroc": s.get("utility.tstr_auroc[logistic]", np.nan),
            "trtr_auroc": s.get("utility.trtr_auroc[logistic]", np.nan)}


def run_dataset(name: str, models, max_splits: int | None, **over) -> pd.DataFrame:
    from genogan.features import read_matrix

    cfg = override(load_config(name), **over)
    splits = main_splits(cfg)[:max_splits]
    data = build_datasets(name, main_splits(cfg), cfg)
    seeds = [int(s) for s in (cfg.get("benchmark") or {}).get("generator_seeds", [1, 2])]
    defaults = load_config("demo")
    gan_cfg = {**defaults["gan"], **(cfg.get("gan") or {})}
    qcfg = {**defaults["quality"], **(cfg.get("quality") or {})}
    rows = []
    for split in splits:
        train, test = (read_matrix(data / split / f"{p}.parquet") for p in ("train", "test"))
        for seed in seeds:
            for model in models:
                t0 = time.perf_counter()
                pool = (classical_pool(train, model, seed, gan_cfg) if model in CLASSICAL
                        else gan_pool(train, model, seed, gan_cfg))
                seconds = time.perf_counter() - t0
                row = {"dataset": name, "model": model, "split": split, "seed": seed,
                       "n_train": len(train.y), "n_features": train.X.shape[1],
                       "train_seconds": seconds, **score(train, test, pool, seed, qcfg)}
                rows.append(row)
                FLAG_INPUT.append((name, model, seed, SUMMARIES[-1]))
                print(" ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in row.items()), flush=True)
    return pd.DataFrame(rows)


def verdict(col: str, value: float) -> str:
    op, target = TARGETS[col]
    ok = value >= target if op == ">=" else value <= target
    return "ok" if ok else "MISS"


def print_table(df: pd.DataFrame) -> None:
    cols = list(TARGETS) + ["density", "tstr_auroc", "trtr_auroc", "train_seconds"]
    mean = df.groupby(["dataset", "model"], sort=False)[cols].mean()
    print("\nmeans over main splits x generator seeds "
          "(targets: " + ", ".join(f"{k} {op} {t}" for k, (op, t) in TARGETS.items()) + ")")
    header = f"{'dataset':<11}{'model':<14}" + "".join(f"{c:>13}" for c in cols)
    print(header)
    for (ds, model), row in mean.iterrows():
        cells = "".join(f"{row[c]:>9.3f} {verdict(c, row[c]) if c in TARGETS else '':>3}"
                        for c in cols)
        print(f"{ds:<11}{model:<14}{cells}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--models", nargs="+",
                    default=["cwgan_gp", "vanilla_gan", "cvae", "ddpm", "gaussian_pca"])
    ap.add_argument("--max-splits", type=int, default=None, help="first N main splits only")
    ap.add_argument("--tsv", help="write the per-fold rows here")
    ap.add_argument("--config-root", type=Path, default=REPO,
                    help="checkout whose config/ files are used (e.g. the 'before' one)")
    ap.add_argument("--folds", type=int, help="override benchmark.folds")
    ap.add_argument("--repeats", type=int, help="override benchmark.repeats")
    ap.add_argument("--seeds", type=int, nargs="+", help="override benchmark.generator_seeds")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    CONFIG_ROOT[0] = args.config_root
    models = [m for m in args.models if available(m)]
    skipped = sorted(set(args.models) - set(models))
    if skipped:
        print(f"not in this genogan (skipped): {', '.join(skipped)}")
    over = {"folds": args.folds, "repeats": args.repeats, "seeds": args.seeds}
    df = pd.concat([run_dataset(d, models, args.max_splits, **over) for d in args.datasets],
                   ignore_index=True)
    if args.tsv:
        df.to_csv(args.tsv, sep="\t", index=False, float_format="%.6g")
    print_table(df)
    print_flags()


def print_flags() -> None:
    """The quality stage's flags in words, per data set and model (where this genogan has them)."""
    try:
        from genogan.quality.report import quality_overview
    except ImportError:
        return
    print("\nquality flags (means over folds and seeds):")
    for dataset in dict.fromkeys(d for d, *_ in FLAG_INPUT):
        table = quality_overview([(d, m, s, t) for d, m, s, t in FLAG_INPUT if d == dataset])
        for words in table["flags"]:
            print(f"  {dataset}: {words}")


if __name__ == "__main__":
    main()
