"""The config Snakemake runs, as `genogan validate` sees it: merge, demo rules, YAML errors."""

import subprocess

import pytest
import yaml

from conftest import REPO, run_snakemake
from genogan.cli import main
from genogan.config_check import merged_config
from genogan.errors import GenoganInputError


def _workdir_with_shipped_config(tmp_path, user: dict | None = None):
    """A working directory holding the shipped config/config.yaml (the demo) and a user config."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config/config.yaml").write_text((REPO / "config/config.yaml").read_text())
    (tmp_path / "config/samples.tsv").write_text((REPO / "config/samples.tsv").read_text())
    if user is None:
        return None
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(user))
    return path


def test_yaml_syntax_error_is_one_line_with_line_and_column(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("samples: s.tsv\nkmers:\n  k: 6\n normalise: clr\n")
    assert main(["validate", "--configfile", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "YAML syntax error at line 4, column 2" in err and str(bad) in err and "Fix:" in err


def test_config_that_is_not_a_mapping(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "list.yaml").write_text("- samples\n- s.tsv\n")
    with pytest.raises(GenoganInputError, match="must be a mapping"):
        merged_config(["list.yaml"])


def test_user_config_is_merged_over_the_shipped_one_like_snakemake(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    user = _workdir_with_shipped_config(tmp_path, {"samples": "mine.tsv", "kmers": {"k": 5}})
    shipped = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config = merged_config([str(user)])
    assert config["kmers"]["k"] == 5
    assert config["kmers"]["normalise"] == shipped["kmers"]["normalise"]  # sibling kept
    assert config["benchmark"] == shipped["benchmark"]


def test_user_config_without_demo_key_is_not_the_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    user = _workdir_with_shipped_config(tmp_path, {"samples": "mine.tsv", "reference": "r.fa"})
    assert yaml.safe_load((REPO / "config/config.yaml").read_text())["demo"]["enabled"] is True
    assert merged_config([str(user)])["demo"]["enabled"] is False
    user.write_text(yaml.safe_dump({"samples": "mine.tsv", "demo": {"n_samples": 8}}))
    assert merged_config([str(user)])["demo"]["enabled"] is True  # says `demo:`: inherits


def test_user_config_must_name_its_sample_sheet(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    user = _workdir_with_shipped_config(tmp_path, {"reference": "r.fa"})
    with pytest.raises(GenoganInputError, match="does not set `samples`") as err:
        merged_config([str(user)])
    assert "mine.yaml" in str(err.value) and "cp " not in str(err.value)


def test_shipped_config_alone_is_the_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _workdir_with_shipped_config(tmp_path)
    assert merged_config([])["demo"]["enabled"] is True
    assert merged_config(["config/config.yaml"])["demo"]["enabled"] is True


def test_scenario_blocks_are_strict():
    from genogan.validate import validate_config

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config["benchmark"]["dose_response"] = {"ratio": [1, 2]}
    with pytest.raises(GenoganInputError, match=r"unknown key\(s\) \['ratio'\] under "
                       r"'benchmark.dose_response'"):
        validate_config(config)


def test_workflow_does_not_simulate_the_demo_for_a_user_config(tmp_path):
    """Snakemake itself applies the same rule: the user's cohort is planned, not the demo's."""
    (tmp_path / "ref.fa").write_text(">chr1\nACGTACGTAC\n")
    for i in range(20):  # the smallest balanced cohort the shipped benchmark accepts
        (tmp_path / f"u{i}.fq").write_text("@r\nACGT\n+\nIIII\n")
    rows = ["sample\tcondition\tfq1"] + [f"u{i}\t{'case' if i % 2 else 'control'}\tu{i}.fq"
                                         for i in range(20)]
    (tmp_path / "mine.tsv").write_text("\n".join(rows) + "\n")
    user = _workdir_with_shipped_config(tmp_path, {"samples": "mine.tsv", "reference": "ref.fa"})
    proc = run_snakemake(tmp_path, "--configfile", str(user), "-n",
                         "results/features/matrix.parquet", "--quiet", "rules")
    assert "simulate_demo" not in proc.stdout
    assert "kmer_profile" in proc.stdout


def test_schemas_ship_inside_the_package():
    """`pip install .` (not editable) carries the schemas: they are package data."""
    from genogan.settings import SCHEMAS, load_schema

    for name in SCHEMAS:
        assert load_schema(name)["type"] == "object"
    out = subprocess.run(["git", "ls-files", "src/genogan/settings"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout.split()
    assert {f"src/genogan/settings/{name}" for name in SCHEMAS} <= set(out)
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"genogan.settings" = ["*.yaml"]' in pyproject
