"""Simulate the demo cohort and check it matches the sample sheet the workflow was planned from."""
import _bootstrap
from pathlib import Path

from genogan.errors import GenoganInputError
from genogan.simulate import CohortParams, simulate_cohort

log = _bootstrap.start(snakemake)
demo = snakemake.params.demo
params = CohortParams(seed=demo["seed"], n_samples=demo["n_samples"],
                      case_fraction=demo["case_fraction"], coverage=demo["coverage"],
                      effect_size=demo["effect_size"])
sheet = simulate_cohort(demo["outdir"], params, sheet_path_prefix=demo["outdir"])
expected = Path(snakemake.params.expected_sheet).read_text()
if sheet.read_text() != expected:
    raise GenoganInputError(
        "the simulated demo cohort differs from the sample sheet (the demo knobs changed)",
        path=snakemake.params.expected_sheet,
        fix=f"the demo's sample sheet for these settings was written to {sheet}: save it under a "
        "new name (e.g. config/demo_samples.tsv) and point `samples:` at it; or restore the "
        "shipped `demo:` settings")
