"""Evaluate one arm x classifier on one data set (one row per generator seed)."""
import _bootstrap
from genogan.benchmark.jobs import classify_job

log = _bootstrap.start(snakemake)
inp, wc = snakemake.input, snakemake.wildcards
rows, oof = classify_job(inp.train, inp.test, inp.splits, wc.dataset, wc.arm, wc.classifier,
                         snakemake.params.benchmark, snakemake.output.metrics,
                         snakemake.output.oof, synthetic_paths=list(inp.get("synthetic", [])),
                         full_path=inp.get("full"), threads=snakemake.threads)
for _, row in rows.iterrows():
    log.info("seed %s: AUROC %.3f, balanced accuracy %.3f (%d real + %d synthetic)",
             row["generator_seed"], row["auroc"], row["balanced_accuracy"],
             row["n_train_real"], row["n_train_synthetic"])
