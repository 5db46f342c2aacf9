"""Rules `quality` (all metrics of one synthetic set) and `privacy_gate` (its gated subset)."""
from pathlib import Path

import _bootstrap

from genogan.io import timed
from genogan.quality.report import run_gate, run_quality

log = _bootstrap.start(snakemake)
inp, out, params = snakemake.input, snakemake.output, snakemake.params

if snakemake.rule == "privacy_gate":
    with timed(log, "privacy gate"):
        gate = run_gate(inp.train, inp.synthetic, out.gated, out.table,
                        percentile=params.percentile)
    log.info("kept %d of %d synthetic samples (threshold %.4g, leave-one-out reference)",
             int(gate.keep.sum()), len(gate.keep), gate.threshold)
else:
    with timed(log, "quality metrics"):
        tables = run_quality(inp.train, inp.holdout, inp.synthetic, Path(out.summary).parent,
                             seed=params.seed, detection_folds=params.detection_folds,
                             mmd_permutations=params.mmd_permutations,
                             gate_percentile=params.gate_percentile, n_jobs=snakemake.threads)
    summary = tables["summary"].set_index("metric")["value"]
    for metric in ("fidelity.detection_auc", "fidelity.mmd_pvalue", "privacy.membership_auc",
                   "privacy.dcr_below_holdout_p05", "gate.dropped"):
        log.info("%s = %.4g", metric, summary[metric])
