"""Rules `quality` (all metrics of every synthetic source of one split) and `privacy_gate`."""
import _bootstrap

from genogan.io import timed

log = _bootstrap.start(snakemake)
inp, out, params = snakemake.input, snakemake.output, snakemake.params

if snakemake.rule == "privacy_gate":
    from genogan.quality.report import run_gate

    with timed(log, "privacy gate"):
        gate = run_gate(inp.train, params.synthetic, out.gated, out.table,
                        percentile=params.percentile)
    log.info("kept %d of %d synthetic samples (threshold %.4g, leave-one-out reference)",
             int(gate.keep.sum()), len(gate.keep), gate.threshold)
else:
    from genogan.benchmark.jobs import quality_job

    with timed(log, "quality metrics"):
        quality_job(inp.train, inp.holdout, params.pools, params.baselines, params.out_dirs,
                    seed=params.seed, quality=params.quality, n_jobs=snakemake.threads, log=log)
