"""genogan as a Snakemake module of another workflow, parsed with only what Snakemake needs.

`module genogan: snakefile: ".../workflow/Snakefile"` from another directory must plan the whole
DAG; and parsing the workflow must not import the heavy libraries of the jobs (scikit-learn,
TensorFlow, pysam, ...): a plain Snakemake install (or a login node) has none of them, and each
costs seconds at every parse, i.e. at every cluster job's start.
"""

import os
import textwrap

from conftest import REPO, run_snakemake

# Imported by jobs only (their conda envs / the venv have them); never at parse time.
JOB_ONLY_MODULES = ("sklearn", "imblearn", "scipy", "tensorflow", "keras", "pysam", "mappy",
                    "dnaio", "xopen", "matplotlib", "Bio")

BLOCKER = textwrap.dedent(f'''
    import sys

    class _JobOnly:
        """Pretend the job-only libraries are not installed (a plain Snakemake install)."""
        blocked = {JOB_ONLY_MODULES!r}

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.blocked:
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)")
            return None

    sys.meta_path.insert(0, _JobOnly())
''')

HOST_SNAKEFILE = textwrap.dedent(f'''
    configfile: "config.yaml"


    module genogan:
        snakefile:
            "{REPO}/workflow/Snakefile"
        config:
            config


    use rule * from genogan as genogan_*


    rule all:
        input:
            rules.genogan_all.input,
        default_target: True
''')


def _user_cohort(workdir, n=20):
    (workdir / "ref.fa").write_text(">chr1\nACGTACGTACGTAAACCCGGGTTT\n")
    rows = ["sample\tcondition\tfq1"]
    for i in range(n):
        (workdir / f"u{i}.fq").write_text("@r\nACGT\n+\nIIII\n")
        rows.append(f"u{i}\t{'case' if i % 2 else 'control'}\tu{i}.fq")
    (workdir / "mine.tsv").write_text("\n".join(rows) + "\n")
    (workdir / "config.yaml").write_text("samples: mine.tsv\nreference: ref.fa\n")


def test_workflow_runs_as_a_module_from_another_directory_with_a_plain_snakemake(tmp_path,
                                                                             monkeypatch):
    _user_cohort(tmp_path)
    (tmp_path / "Snakefile").write_text(HOST_SNAKEFILE)
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(blocker)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = run_snakemake(tmp_path, "-n", "--quiet", "rules", snakefile=tmp_path / "Snakefile")
    for rule in ("genogan_align", "genogan_kmer_profile", "genogan_feature_matrix",
                 "genogan_train_gan", "genogan_aggregate"):
        assert rule in proc.stdout, proc.stdout
    assert "simulate_demo" not in proc.stdout
