"""Rules' `params:` carry what changes outputs, never resources: editing `threads` or `mem_mb`
must not rerun finished jobs."""

import yaml

from conftest import run_snakemake, write_config
from genogan.settings import RESOURCE_KEYS, output_settings
from genogan.simulate import CohortParams, simulate_cohort


def test_output_settings_drop_resources_and_narrow():
    section = {"k": 6, "normalise": "clr", "threads": 2, "mem_mb": 2000, "runtime": "1h"}
    assert output_settings(section) == {"k": 6, "normalise": "clr"}
    assert output_settings(section, ("k",)) == {"k": 6}
    assert set(RESOURCE_KEYS) == {"threads", "mem_mb", "runtime"}


def test_resource_edit_does_not_change_any_job_params(tmp_path):
    """A real run to the k-mer profiles, then only resources edited: Snakemake lists no output
    whose params changed; editing k does list them (the check can fail)."""
    data = tmp_path / "data"
    simulate_cohort(data, CohortParams(seed=3, n_samples=20, contig_lengths=(8_000,),
                                       coverage=1.0, cnv_length=1000, n_disease_loci=2,
                                       cnv_motif_copies=4), sheet_path_prefix=str(data))
    config = {"samples": str(data / "samples.tsv"), "reference": str(data / "reference.fa"),
              "kmers": {"k": 3}, "benchmark": {"folds": 2}}
    cfg = write_config(tmp_path, config)
    targets = [f"results/kmers/S00{i}.npz" for i in range(1, 4)]
    run_snakemake(tmp_path, "--configfile", str(cfg), "--cores", "2", *targets)

    def rerun_for_params(update: dict) -> bool:
        """Whether a dry-run would rerun jobs because their params changed (`--list-changes
        params` lists every output in Snakemake 9.27, changed or not, so it cannot tell)."""
        edited = yaml.safe_load(cfg.read_text())
        for section, values in update.items():
            edited[section] = {**edited.get(section, {}), **values}
        cfg.write_text(yaml.safe_dump(edited))
        proc = run_snakemake(tmp_path, "--configfile", str(cfg), "-n", *targets,
                             "--rerun-triggers", "params")
        return "Params have changed" in proc.stdout

    assert not rerun_for_params({"kmers": {"threads": 1, "mem_mb": 999},
                                 "align": {"threads": 1, "mem_mb": 999}})
    assert rerun_for_params({"kmers": {"k": 4}})
