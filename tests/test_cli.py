"""The `genogan` command line: every stage is a subcommand; errors are one clear line."""

import pytest

from genogan.cli import build_parser, main


def test_every_stage_has_a_subcommand():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"simulate", "validate", "align", "kmers", "sequences", "expression", "train",
            "generate", "quality", "split", "classify", "aggregate"} <= set(sub.choices)


def test_validate_shipped_demo_config(capsys):
    assert main(["validate", "--config", "config/config.yaml"]) == 0
    assert "OK: 40 samples" in capsys.readouterr().out


def test_input_error_is_one_line_with_fix(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("samples: config/samples.tsv\nkmers: {k: 0}\n")
    assert main(["validate", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("genogan validate: error: invalid config: key 'kmers.k'")
    assert "Fix:" in err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: genogan" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--version"]])
def test_version(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert "genogan 0.1.0" in capsys.readouterr().out


@pytest.mark.parametrize("example", ["protein", "expression"])
def test_validate_example_configs(example, capsys):
    """Sequence/expression inputs need no per-sample file column: validate accepts them."""
    assert main(["validate", "--config", f"config/examples/{example}/config.yaml"]) == 0
    assert f"inputs {{'{'sequences' if example == 'protein' else 'expression'}': 40}}" in \
        capsys.readouterr().out
