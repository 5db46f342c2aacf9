"""Reference cohorts: do generators pretrained on a reference beat the in-fold ones, and do the
`+ref` arms beat the control with the same reference information (`none+ref`)?

Part 1 runs the workflow on `config/examples/reference/config.yaml` (40 labelled study samples,
1,000 unlabelled reference samples; 5 folds x 2 repeats = 10 splits) in a scratch directory and
prints, per split averaged (before = the in-fold generator, after = its `+ref` twin, pretrained
on the reference and fine-tuned on the fold):

  mmd_heldout  MMD (RBF, median heuristic, per class, averaged) between the generator's pool and
               the fold's held-out real test samples, features standardised on the training part
  label        label fidelity: the quality stage's real-trained logistic regression gives the
               synthetic samples their requested class (`label.accuracy_mean[logistic]`)

then the benchmark's own paired ΔAUROC (corrected 95 % CI) of every `+ref` arm vs `none` and vs
`none+ref`, for logreg and mlp, and the landing page's verdict.

Part 2 times pretraining at the issue's scale: 5,000 reference rows x 2,000 features (a
4-factor simulation), the reference space (rank 32) and `pretrain_model` with the default
`reference_cohort.pretrain` settings, one model per subprocess, printing wall time and peak
resident memory (target: <= 5 minutes and <= 4 GB on 2 cores).

    .venv/bin/python benchmarks/bench_reference.py [--skip-workflow] [--skip-scale]
        [--models cwgan_gp cvae ddpm] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CONFIG = "config/examples/reference/config.yaml"


def run_workflow(workdir: Path) -> float:
    """The example in `workdir` (its config/ a link to the repository's); seconds taken."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "config").exists():
        (workdir / "config").symlink_to(REPO / "config")
    t0 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "snakemake"), "-s", str(REPO / "Snakefile"),
                    "--directory", str(workdir), "--configfile", CONFIG, "--profile",
                    str(REPO / "profiles" / "local"), "--cores", "2", "--quiet"],
                   check=True, cwd=workdir)
    return time.perf_counter() - t0


def heldout_mmd(workdir: Path) -> pd.DataFrame:
    """Per split and generator: per-class MMD of the pool to the held-out test samples, and the
    quality stage's label fidelity."""
    from genogan.features import read_matrix
    from genogan.generators.monitor import mmd_rbf

    import re

    rows = []
    for pool in sorted(workdir.glob("results/gan/*/r*_f*/*/seed1/synthetic.parquet")):
        split, model = pool.parts[-4], pool.parts[-3]
        if not re.fullmatch(r"r[0-9]+_f[0-9]+", split):  # main splits only (not the scenarios)
            continue
        train = read_matrix(workdir / f"results/datasets/{split}/train.parquet")
        test = read_matrix(workdir / f"results/datasets/{split}/test.parquet")
        syn = read_matrix(pool)
        mu, sd = train.X.mean(axis=0), train.X.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        mmd = np.mean([mmd_rbf((test.X[test.y == c] - mu) / sd, (syn.X[syn.y == c] - mu) / sd)
                       for c in np.unique(test.y)])
        summary = workdir / f"results/quality/{split}/{model}/seed1/summary.tsv"
        label = np.nan
        if summary.exists():
            s = pd.read_csv(summary, sep="\t").set_index("metric")["value"]
            label = float(s["label.accuracy_mean[logistic]"])
        rows.append({"split": split, "model": model, "mmd_heldout": mmd, "label": label})
    return pd.DataFrame(rows)


def print_generators(table: pd.DataFrame) -> None:
    print("\n== generators: in-fold (before) vs pretrained + fine-tuned (after), mean over "
          f"{table['split'].nunique()} splits ==")
    mean = table.groupby("model")[["mmd_heldout", "label"]].mean()
    for model in [m for m in mean.index if not m.endswith("+ref")]:
        ref = f"{model}+ref"
        if ref not in mean.index:
            continue
        paired = table[table["model"].isin([model, ref])].pivot(
            index="split", columns="model", values="mmd_heldout").dropna()
        wins = int((paired[ref] < paired[model]).sum())
        print(f"{model:10s} mmd_heldout {mean.loc[model, 'mmd_heldout']:.4f} -> "
              f"{mean.loc[ref, 'mmd_heldout']:.4f} (lower in {wins}/{len(paired)} splits)   "
              f"label {mean.loc[model, 'label']:.3f} -> {mean.loc[ref, 'label']:.3f}")


def print_arms(workdir: Path) -> None:
    agg = pd.read_csv(workdir / "results/benchmark/aggregate.tsv", sep="\t")
    agg = agg[(agg["metric"] == "auroc") & (agg["scenario"] == "main")]
    print("\n== ΔAUROC of the +ref arms (paired, Nadeau-Bengio corrected 95 % CI) ==")
    for clf in ("logreg", "mlp"):
        rows = agg[(agg["classifier"] == clf)]
        none = rows[rows["arm"] == "none"]["mean"]
        print(f"{clf}: none AUROC {float(none.iloc[0]):.3f}")
        for _, r in rows[rows["arm"].str.endswith("+ref")].iterrows():
            line = (f"  {r['arm']:18s} AUROC {r['mean']:.3f}  vs none {r['diff_vs_none']:+.3f} "
                    f"[{r['diff_ci_low']:+.3f}, {r['diff_ci_high']:+.3f}]")
            if pd.notna(r.get("diff_vs_ref_control")):
                line += (f"  vs none+ref {r['diff_vs_ref_control']:+.3f} "
                         f"[{r['rc_ci_low']:+.3f}, {r['rc_ci_high']:+.3f}]")
            print(line)
    print("\n== the landing page's answer ==")
    print((workdir / "results/benchmark/verdict.txt").read_text())


SCALE_CHILD = """
import json, resource, sys, time
import numpy as np
from genogan.features import FeatureMatrix
from genogan.generators.train import pretrain_model
from genogan.reference import fit_reference_space, UNLABELLED
n, p, model = 5000, 2000, sys.argv[1]
rng = np.random.default_rng(5)
W = rng.normal(size=(4, p))
X = rng.normal(size=(n, 4)) @ W + rng.normal(size=(n, p))
ref = FeatureMatrix(X=X, y=np.full(n, UNLABELLED), samples=np.arange(n).astype(str),
                    feature_names=[f"g{i}" for i in range(p)])
t0 = time.perf_counter()
space = fit_reference_space(ref, 32, {"mode": "none"})
t_space = time.perf_counter() - t0
pretrain_model(X, ref.y, ["case", "control"], space=space, model=model,
               config={"preprocess": {"mode": "none"}})
total = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # KiB -> GiB
print(json.dumps({"model": model, "space_s": t_space, "total_s": total, "peak_gib": peak}))
"""


def scale(models) -> None:
    print("\n== pretraining 5,000 reference rows x 2,000 features (rank 32, default "
          "reference_cohort.pretrain), one process per model ==")
    for model in models:
        out = subprocess.run([sys.executable, "-c", SCALE_CHILD, model], capture_output=True,
                             text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        ok = "ok" if r["total_s"] <= 300 and r["peak_gib"] <= 4 else "MISS"
        print(f"{model:10s} space {r['space_s']:.1f} s, space + pretraining {r['total_s']:.1f} s,"
              f" peak RSS {r['peak_gib']:.2f} GiB  [{ok}: <= 300 s, <= 4 GiB]")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skip-workflow", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--models", nargs="+", default=["cwgan_gp", "cvae", "ddpm"])
    ap.add_argument("--workdir", type=Path, default=None,
                    help="reuse / keep the example's run here (default: a temporary folder)")
    args = ap.parse_args(argv)
    if not args.skip_workflow:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = args.workdir or Path(tmp) / "run"
            if not (workdir / "results/benchmark/verdict.txt").exists():
                print(f"example workflow: {run_workflow(workdir):.0f} s (2 cores)")
            print_generators(heldout_mmd(workdir))
            print_arms(workdir)
    if not args.skip_scale:
        scale(args.models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
