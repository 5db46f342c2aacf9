"""Config and sample-sheet validation: bad input stops with a message naming file, sample, fix."""

import copy

import pytest
import yaml

from genogan.errors import GenoganInputError
from genogan.validate import load_sample_sheet, validate_config

BASE_CONFIG = {"samples": "samples.tsv"}


def write_sheet(tmp_path, rows, header="sample\tcondition\tfq1\tfq2"):
    for row in rows:
        for value in row.split("\t")[2:]:
            if value and not value.startswith("missing"):
                (tmp_path / value).write_text("@r\nACGT\n+\nIIII\n")
    path = tmp_path / "samples.tsv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def good_rows(n_per_class=3):
    return [f"{c}{i}\t{c}\t{c}{i}_1.fq\t{c}{i}_2.fq" for c in ("case", "ctrl")
            for i in range(n_per_class)]


def load(tmp_path, path, **kw):
    return load_sample_sheet(path, base_dir=tmp_path, **kw)


def test_good_sheet_loads_with_input_kind(tmp_path):
    sheet = load(tmp_path, write_sheet(tmp_path, good_rows()), n_folds=3)
    assert list(sheet.index) == ["case0", "case1", "case2", "ctrl0", "ctrl1", "ctrl2"]
    assert set(sheet["input_kind"]) == {"fastq"}


@pytest.mark.parametrize("bad_id", ["-x", "a b", "s/1", "é1", ".hidden"])
def test_bad_sample_id(tmp_path, bad_id):
    rows = good_rows()
    rows[0] = rows[0].replace("case0\t", f"{bad_id}\t", 1)
    with pytest.raises(GenoganInputError, match=r"invalid sample id.*Fix: use letters"):
        load(tmp_path, write_sheet(tmp_path, rows))


def test_duplicate_id_names_sample(tmp_path):
    rows = good_rows() + [good_rows()[0]]
    with pytest.raises(GenoganInputError, match=r"duplicate sample id \[sample 'case0'"):
        load(tmp_path, write_sheet(tmp_path, rows))


def test_missing_file_names_file_and_sample(tmp_path):
    rows = good_rows()
    rows[1] = "case1\tcase\tmissing_1.fq\t"
    with pytest.raises(GenoganInputError, match=r"fq1 file does not exist.*case1.*missing_1.fq"):
        load(tmp_path, write_sheet(tmp_path, rows))


def test_more_than_one_input_kind(tmp_path):
    header = "sample\tcondition\tfq1\tfq2\tbam"
    rows = [r + "\t" for r in good_rows()]
    rows[0] = "case0\tcase\tcase0_1.fq\t\tcase0.bam"
    with pytest.raises(GenoganInputError, match=r"more than one input kind \(fq1, bam\).*case0"):
        load(tmp_path, write_sheet(tmp_path, rows, header))


def test_fq2_without_fq1(tmp_path):
    rows = good_rows()
    rows[0] = "case0\tcase\t\tcase0_2.fq"
    with pytest.raises(GenoganInputError, match="fq2 given without fq1"):
        load(tmp_path, write_sheet(tmp_path, rows))


def test_no_input_unless_table(tmp_path):
    rows = [f"s{i}\t{'ab'[i % 2]}\t\t" for i in range(6)]
    path = write_sheet(tmp_path, rows)
    with pytest.raises(GenoganInputError, match="no input file.*features_table"):
        load(tmp_path, path)
    assert load(tmp_path, path, allow_no_input=True)["input_kind"].isna().all()


def test_single_class(tmp_path):
    rows = [r.replace("\tctrl\t", "\tcase\t") for r in good_rows()]
    with pytest.raises(GenoganInputError, match="only one class"):
        load(tmp_path, write_sheet(tmp_path, rows))


def test_class_smaller_than_folds(tmp_path):
    rows = good_rows(5)[:5] + good_rows(2)[2:]  # 5 cases, 2 controls
    with pytest.raises(GenoganInputError,
                       match=r"class 'ctrl' has 2 samples, fewer than the 3 cross-validation"):
        load(tmp_path, write_sheet(tmp_path, rows), n_folds=3)


def test_unknown_column(tmp_path):
    header = "sample\tcondition\tfq1\tfq2\tbatch"
    rows = [r + "\tb1" for r in good_rows()]
    with pytest.raises(GenoganInputError, match=r"unknown column\(s\) \['batch'\].*meta_"):
        load(tmp_path, write_sheet(tmp_path, rows, header))
    header = "sample\tcondition\tfq1\tfq2\tmeta_batch"
    assert "meta_batch" in load(tmp_path, write_sheet(tmp_path, rows, header)).columns


def test_missing_sheet(tmp_path):
    with pytest.raises(GenoganInputError, match="sample sheet not found"):
        load(tmp_path, tmp_path / "nope.tsv")


def test_config_defaults_filled():
    config = validate_config(copy.deepcopy(BASE_CONFIG))
    assert config["kmers"]["k"] == 6 and config["align"]["engine"] == "mappy"
    assert config["demo"]["enabled"] is False


@pytest.mark.parametrize("k", [0, 13])
def test_config_k_out_of_range(k):
    config = {**BASE_CONFIG, "kmers": {"k": k}}
    with pytest.raises(GenoganInputError, match=r"key 'kmers.k'.*config.yaml"):
        validate_config(config)


def test_config_unknown_key_lists_valid_ones():
    config = {**BASE_CONFIG, "kmers": {"kk": 5}}
    with pytest.raises(GenoganInputError, match=r"unknown key\(s\) \['kk'\] under 'kmers'; valid"):
        validate_config(config)
    with pytest.raises(GenoganInputError, match=r"unknown key\(s\) \['algn'\]"):
        validate_config({**BASE_CONFIG, "algn": {}})


def test_config_bad_enum():
    with pytest.raises(GenoganInputError, match="align.engine"):
        validate_config({**BASE_CONFIG, "align": {"engine": "bowtie"}})


def test_shipped_config_is_valid():
    config = yaml.safe_load(open("config/config.yaml"))
    validate_config(config)
    assert config["demo"]["enabled"] is True
