"""The example cohorts in config/examples/: shipped data equal the simulator's output, carry the
planted signal, and run through the workflow (protein and expression input paths)."""

import gzip
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, run_snakemake

from genogan.examples import CASE_MOTIF, CONTROL_MOTIF, WRITERS
from genogan.expression import GeneFilter, build_expression_matrix, read_expression_table
from genogan.features import read_matrix
from genogan.sequences import build_sequence_matrix
from genogan.validate import load_sample_sheet

EXAMPLES = REPO / "config" / "examples"
NAMES = ["protein", "expression"]


def example_config(name):
    return yaml.safe_load((EXAMPLES / name / "config.yaml").read_text())


def example_sheet(name):
    sheet = load_sample_sheet(EXAMPLES / name / "samples.tsv", check_files=False,
                              allow_no_input=True, n_folds=example_config(name)["benchmark"]
                              ["folds"])
    return sheet.reset_index(drop=True)


def expected_matrix(name, root=REPO):
    """The matrix the example's config asks for, built with the package directly."""
    config = example_config(name)
    sheet = example_sheet(name)
    if name == "protein":
        opts = config["sequences"]
        return build_sequence_matrix(
            sheet, sequences=root / opts["path"], alphabet=opts["alphabet"], k=opts["k"],
            canonical=opts["canonical"], normalise=opts["normalise"],
            extra_features=opts["extra_features"])
    opts = config["expression"]
    return build_expression_matrix(root / opts["path"], sheet, orientation=opts["orientation"],
                                   values=opts["values"], transform=opts["transform"],
                                   log=opts["log"], gene_lengths=str(root / opts["gene_lengths"]))


@pytest.mark.parametrize("name", NAMES)
def test_shipped_data_are_the_simulators_output(tmp_path, name):
    """Nothing in config/examples is copied from elsewhere: the seeded simulator rewrites it."""
    written = WRITERS[name](tmp_path)
    for path in written:
        shipped = EXAMPLES / name / path.name
        assert shipped.read_bytes() == path.read_bytes(), f"{shipped} differs from the simulator"
        assert shipped.stat().st_size < 100_000


def test_shipped_reference_data_are_the_simulators_output(tmp_path):
    """The reference example too; its gzip is compared by content (the deflate bytes belong to the
    zlib build), and its header carries no time or file name, so a rerun gives the same bytes."""
    written = WRITERS["reference"](tmp_path / "a")
    assert sorted(p.name for p in written) == sorted(
        ["counts.tsv", "samples.tsv", "reference_counts.tsv.gz", "reference_samples.tsv",
         "truth.json"])
    for path in written:
        shipped = EXAMPLES / "reference" / path.name
        if path.suffix == ".gz":
            assert gzip.decompress(shipped.read_bytes()) == gzip.decompress(path.read_bytes())
            header = path.read_bytes()[:10]
            assert header[3] == 0 and header[4:8] == bytes(4), "gzip header: no name, no mtime"
        else:
            assert shipped.read_bytes() == path.read_bytes(), f"{shipped} differs"
    again = WRITERS["reference"](tmp_path / "b")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in written]
    assert sum((EXAMPLES / "reference" / p.name).stat().st_size for p in written) < 1_000_000


def test_reference_example_is_unlabelled_and_disjoint_from_the_study():
    folder = EXAMPLES / "reference"
    sheet = pd.read_csv(folder / "samples.tsv", sep="\t", dtype=str)
    reference_sheet = pd.read_csv(folder / "reference_samples.tsv", sep="\t", dtype=str)
    assert list(reference_sheet.columns) == ["sample"]
    assert sheet["condition"].value_counts().to_dict() == {"case": 20, "control": 20}
    study = read_expression_table(folder / "counts.tsv")
    reference = read_expression_table(folder / "reference_counts.tsv.gz")
    assert study.shape == (100, 40) and reference.shape == (100, 1000)
    assert list(study.columns) == list(sheet["sample"])
    assert list(reference.columns) == list(reference_sheet["sample"])
    assert list(reference.index) == list(study.index)
    assert not set(study.columns) & set(reference.columns)
    assert not set(sheet["sample"]) & set(reference_sheet["sample"])

@pytest.mark.parametrize("name", NAMES)
def test_example_config_names_existing_files(name):
    config = example_config(name)
    assert config["demo"]["enabled"] is False and config["input_type"] in ("sequences",
                                                                           "expression")
    assert (REPO / config["samples"]).is_file()
    section = config["sequences" if name == "protein" else "expression"]
    assert (REPO / section["path"]).is_file()
    assert len(example_sheet(name)) == 40


def test_protein_example_carries_its_motifs():
    fm = expected_matrix("protein")
    assert fm.X.shape == (40, 400 + 23)
    col = {n: i for i, n in enumerate(fm.feature_names)}
    case = fm.y == "case"
    for motif, richer in ((CASE_MOTIF, case), (CONTROL_MOTIF, ~case)):
        pairs = [col[motif[i:i + 2]] for i in range(len(motif) - 1)]
        signal = fm.X[:, pairs].sum(axis=1)
        assert signal[richer].mean() > 2 * signal[~richer].mean(), motif


def test_expression_example_filter_finds_the_planted_genes():
    fm = expected_matrix("expression")
    truth = (EXAMPLES / "expression" / "truth_de_genes.txt").read_text().split()
    keep = GeneFilter("anova", n=len(truth)).fit(fm.X, fm.y).get_support()
    found = set(np.asarray(fm.feature_names)[keep])
    assert len(found & set(truth)) >= len(truth) - 2


@pytest.mark.parametrize("name", NAMES)
def test_example_config_runs_end_to_end(tmp_path, name):
    shutil.copytree(EXAMPLES / name, tmp_path / "config" / "examples" / name)
    cfg = tmp_path / "config" / "examples" / name / "config.yaml"
    run_snakemake(tmp_path, "--configfile", str(cfg), "--cores", "2",
                  "results/features/matrix.parquet")
    fm = read_matrix(tmp_path / "results" / "features" / "matrix.parquet")
    expected = expected_matrix(name)
    assert fm.feature_names == expected.feature_names
    assert list(fm.samples) == list(expected.samples) and list(fm.y) == list(expected.y)
    np.testing.assert_allclose(fm.X, expected.X)
    names = (tmp_path / "results" / "features" / "feature_names.txt").read_text().split()
    assert names == expected.feature_names


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_example_runs_through_gan_and_benchmark(tmp_path, name):
    """Protein and expression inputs go through the same GAN, benchmark and quality stages."""
    import pandas as pd
    import yaml

    shutil.copytree(EXAMPLES / name, tmp_path / "config" / "examples" / name)
    cfg = tmp_path / "config" / "examples" / name / "config.yaml"
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(yaml.safe_dump({"gan": {"epochs": 3}, "quality": {"mmd_permutations": 10}}))
    run_snakemake(tmp_path, "--configfile", str(cfg), str(tiny), "--cores", "2", timeout=1500)
    agg = pd.read_csv(tmp_path / "results/benchmark/aggregate.tsv", sep="\t")
    assert {"none", "smote", "cwgan_gp"} <= set(agg["arm"])
    assert (tmp_path / "results/quality/r0_f0/cwgan_gp/seed1/summary.tsv").exists()
    train = read_matrix(tmp_path / "results/datasets/r0_f0/train.parquet")
    if name == "expression":  # the gene filter is fitted per fold: 50 genes kept
        assert len(train.feature_names) == 50
