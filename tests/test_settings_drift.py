"""One home per setting: every key of the config schema is documented in config/README.md (or,
for the sequence and expression inputs, config/examples/README.md), and every key documented
there exists in the schema. A key added in one place only fails here."""

import re
from pathlib import Path

import pytest
import yaml

from genogan.settings import load_schema

REPO = Path(__file__).resolve().parents[1]
README = REPO / "config" / "README.md"
EXAMPLES_README = REPO / "config" / "examples" / "README.md"
SECTION = re.compile(r"^## `(?P<name>[a-z_]+)`")
ROW_KEYS = re.compile(r"^\| ((?:`[a-z_0-9]+`(?:, )?)+) \|")


def documented_keys(text: str) -> dict[str, set[str]]:
    """Keys in the first column of each table, by section (`` for the top level)."""
    keys: dict[str, set[str]] = {"": set()}
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            m = SECTION.match(line)
            section = m["name"] if m else ""
            keys.setdefault(section, set())
            keys[""].add(section) if section else None
        m = ROW_KEYS.match(line)
        if m:
            keys[section] |= set(re.findall(r"`([a-z_0-9]+)`", m[1]))
    return keys


def schema_keys() -> dict[str, set[str]]:
    props = load_schema("config.schema.yaml")["properties"]
    keys = {"": set(props)}
    for name, sub in props.items():
        if sub.get("type") == "object" and "properties" in sub:
            keys[name] = set(sub["properties"])
    return keys


DOCUMENTED = documented_keys(README.read_text())
DOCUMENTED[""] |= {"sequences", "expression"}  # sections of config/examples/README.md
IN_SCHEMA = schema_keys()
ELSEWHERE = ("sequences", "expression")  # documented beside the runnable example configs


def test_the_readme_parser_sees_keys():
    parsed = documented_keys("| `a`, `b` | 1 |\n## `sec` — x\n| `c` | 2 |\n")
    assert parsed == {"": {"a", "b", "sec"}, "sec": {"c"}}


@pytest.mark.parametrize("section", sorted(set(IN_SCHEMA) - set(ELSEWHERE)))
def test_every_schema_key_is_documented_and_vice_versa(section):
    documented = DOCUMENTED.get(section, set())
    assert IN_SCHEMA[section] - documented == set(), (
        f"schema keys of `{section or 'top level'}` missing from config/README.md")
    assert documented - IN_SCHEMA[section] == set(), (
        f"config/README.md documents `{section or 'top level'}` keys the schema lacks")


@pytest.mark.parametrize("section", ELSEWHERE)
def test_input_type_keys_are_documented_with_the_examples(section):
    text = EXAMPLES_README.read_text()
    missing = {key for key in IN_SCHEMA[section] if not re.search(rf"`{key}[`.]", text)}
    assert not missing, f"{section}: {sorted(missing)} not in config/examples/README.md"


def test_shipped_config_uses_only_schema_keys_at_every_depth():
    shipped = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for section, value in shipped.items():
        assert section in IN_SCHEMA[""], section
        if isinstance(value, dict) and section in IN_SCHEMA:
            assert set(value) <= IN_SCHEMA[section], (section, set(value) - IN_SCHEMA[section])


def _gan_schema():
    return load_schema("config.schema.yaml")["properties"]["gan"]["properties"]


def test_gan_enums_are_the_codes_own_lists():
    """The schema's allowed values are the lists the GAN code checks against."""
    from genogan.generators.amount import AMOUNT_MODES
    from genogan.generators.preprocess import MODES
    from genogan.generators.runtime import PRECISIONS
    from genogan.generators.train import MONITOR_COLUMNS

    gan = _gan_schema()
    assert gan["precision"]["enum"] == list(PRECISIONS)
    assert gan["early_stopping"]["properties"]["metric"]["enum"] == list(MONITOR_COLUMNS)
    assert gan["preprocess"]["properties"]["mode"]["enum"] == list(MODES)
    assert gan["amount"]["properties"]["mode"]["enum"] == list(AMOUNT_MODES)


def test_gan_preprocess_keys_are_the_preprocessor_arguments():
    import inspect

    from genogan.generators.preprocess import FeaturePreprocessor

    args = set(inspect.signature(FeaturePreprocessor.__init__).parameters) - {"self"}
    assert set(_gan_schema()["preprocess"]["properties"]) == args


def test_gan_model_sections_list_each_models_parameters():
    """`gan.<model>` accepts exactly the model's `default_params` (unknown ones stop at
    validation, before any preprocessing), for every registered model."""
    from genogan.generators import registry

    gan = _gan_schema()
    for name in registry.names():
        cls = registry.model_class(name)
        assert set(gan[name]["properties"]) == set(cls.default_params), name


# --- the typed settings layer (genogan.settings.sections): one home per default --------------

from genogan.settings import sections  # noqa: E402

# blocks whose keys are overrides of a model's / the preprocessor's own arguments: their keys
# are tied to the code above, their defaults live there (the block's default is {})
OVERRIDE_MAPS = {"gan.preprocess", "gan.cwgan_gp", "gan.vanilla_gan", "gan.cvae", "gan.ddpm",
                 "benchmark.augmenter_params", "benchmark.classifier_params"}


def schema_paths(node: dict, prefix: str = "") -> dict[str, dict]:
    """Every dotted key of the config schema (nested blocks and their keys)."""
    out = {}
    for name, sub in node.get("properties", {}).items():
        key = f"{prefix}{name}"
        out[key] = sub
        if key not in OVERRIDE_MAPS and sub.get("type") == "object":
            out.update(schema_paths(sub, key + "."))
    return out


SCHEMA_PATHS = schema_paths(load_schema("config.schema.yaml"))
FIELD_PATHS = sections.field_paths(sections.Settings)


def test_every_settings_field_is_a_schema_key_and_vice_versa():
    assert set(FIELD_PATHS) - set(SCHEMA_PATHS) == set(), "settings fields the schema lacks"
    assert set(SCHEMA_PATHS) - set(FIELD_PATHS) == set(), "schema keys without a settings field"


def test_every_section_named_by_the_issue_has_its_typed_object():
    assert {"align", "kmers", "sequences", "expression", "gan", "quality",
            "benchmark"} <= set(sections.SECTIONS)
    for scenario in ("dose_response", "learning_curve", "imbalance", "null_control",
                     "leaky_control"):
        assert dataclasses_is_nested(sections.BenchmarkSettings, scenario), scenario


def dataclasses_is_nested(cls, name: str) -> bool:
    import dataclasses

    return next(f for f in dataclasses.fields(cls) if f.name == name).metadata.get("nested")


def test_every_field_takes_its_default_from_the_schema():
    """A leaf field declared with a literal default (a second home) has no `key` metadata."""
    import dataclasses

    def leaves(cls, prefix=""):
        import typing

        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.metadata.get("nested"):
                yield from leaves(hints[f.name], f"{prefix}{f.name}.")
            else:
                yield f"{prefix}{f.name}", f

    for path, f in leaves(sections.Settings):
        if path == "samples":  # required, no default
            assert f.default is dataclasses.MISSING
            continue
        assert f.metadata.get("key") == path, f"{path}: default not read from the schema"
        assert FIELD_PATHS[path] == sections.schema_default(path), path


def test_every_schema_key_has_exactly_one_default_except_the_sample_sheet():
    """Leaves carry a default (or their block does); nothing has a default at two depths."""
    for path, node in SCHEMA_PATHS.items():
        is_block = node.get("type") == "object" and path not in OVERRIDE_MAPS
        if path == "samples" or is_block:
            continue
        sections.schema_default(path)  # raises KeyError when there is none
        parent = path.rpartition(".")[0]
        if parent and "default" in node:
            assert path.rpartition(".")[2] not in SCHEMA_PATHS[parent].get("default", {}), (
                f"{path}: default both on the key and in its block's default")


def test_a_minimal_config_validates_to_the_settings_defaults():
    """The workflow's config (validate_config fills the schema's defaults) and the typed
    objects built from nothing agree key by key, at every depth."""
    from genogan.validate import validate_config

    filled = validate_config({"samples": "s.tsv"})
    assert sections.as_dict(sections.Settings(samples="s.tsv")) == filled
    assert sections.from_config(filled) == sections.Settings(samples="s.tsv")
    assert sections.from_config(filled).quality.privacy_gate.percentile == \
        filled["quality"]["privacy_gate"]["percentile"]


def test_benchmark_settings_defaults_are_the_settings_layers():
    from genogan.benchmark import targets

    assert not hasattr(targets, "DEFAULTS")
    s = targets.benchmark_settings({})
    typed = sections.as_dict(sections.BenchmarkSettings())
    for key, value in typed.items():
        if isinstance(value, dict) and key not in ("augmenter_params", "classifier_params"):
            assert {k: s[key][k] for k in value} == value, key
        elif key != "amount":
            assert s[key] == value, key


def test_an_unknown_settings_key_is_an_error_naming_it():
    from genogan.errors import GenoganInputError

    with pytest.raises(GenoganInputError, match=r"\['ratio'\] under 'benchmark.dose_response'"):
        sections.section("benchmark", {"dose_response": {"ratio": [1]}})


SETTINGS_LEAVES = {path.rpartition(".")[2] for path in FIELD_PATHS
                   if not isinstance(FIELD_PATHS[path], dict) or path in OVERRIDE_MAPS}
# command-line options named like a config key that are not that key (documented in --help)
CLI_ONLY = {("quality/cli.py", "seed"), ("quality/cli.py", "threads"),
            ("generators/cli.py", "seed"), ("benchmark/cli.py", "metric")}
FALLBACK = re.compile(r"""\.get\(\s*["'](?P<key>[a-z_0-9]+)["']\s*,\s*(?P<value>[^)]+)\)""")
NEUTRAL = re.compile(r"""^(\{\}|\[\]|None|""|''|schema_default\(.*)$""")
ARG_DEFAULT = re.compile(r"""add_argument\(\s*["']--(?P<opt>[a-z0-9-]+)["'][^)]*?"""
                         r"""\bdefault=(?P<value>[^,)]+)""", re.S)
LITERAL = re.compile(r"""^(-?\d[\d_.e]*|["'].*["']|True|False)$""")


def _sources():
    for path in sorted((REPO / "src" / "genogan").rglob("*.py")):
        if "settings" not in path.parts:
            yield path
    yield from sorted((REPO / "workflow").rglob("*.smk"))
    yield REPO / "workflow" / "Snakefile"
    yield from sorted((REPO / "workflow" / "scripts").glob("*.py"))


def test_no_module_repeats_a_settings_default_as_a_fallback():
    """`.get("<config key>", <value>)` outside the settings layer is a second home of that
    key's default (read the validated config, the typed settings or `schema_default`)."""
    found = []
    for path in _sources():
        for m in FALLBACK.finditer(path.read_text()):
            if m["key"] in SETTINGS_LEAVES and not NEUTRAL.match(m["value"].strip()):
                found.append(f"{path.relative_to(REPO)}: {m[0]}")
    assert not found, "\n".join(found)


def test_no_cli_option_carries_its_own_default_for_a_config_key():
    found = []
    for path in sorted((REPO / "src" / "genogan").rglob("cli.py")):
        rel = str(path.relative_to(REPO / "src" / "genogan"))
        for m in ARG_DEFAULT.finditer(path.read_text()):
            key = m["opt"].replace("-", "_")
            if key in SETTINGS_LEAVES and (rel, key) not in CLI_ONLY and \
                    LITERAL.match(m["value"].strip()):
                found.append(f"{rel}: --{m['opt']} default={m['value']}")
    assert not found, "\n".join(found)


def test_the_guards_catch_what_they_look_for():
    assert FALLBACK.search('x.get("percentile", 5)')["value"] == "5"
    assert NEUTRAL.match('schema_default("input_type")') and not NEUTRAL.match('"reads"')
    m = ARG_DEFAULT.search('p.add_argument("--detection-folds", type=int, default=5,')
    assert m["opt"] == "detection-folds" and LITERAL.match(m["value"])
    assert not LITERAL.match("defaults.detection_folds")


def test_cli_defaults_are_the_settings_defaults():
    import argparse

    from genogan.benchmark.cli import register_cli as bench_cli
    from genogan.quality.cli import register_cli as quality_cli

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    quality_cli(sub)
    bench_cli(sub)
    q = parser.parse_args(["quality", "--train", "a", "--holdout", "b", "--synthetic", "c",
                           "--out-dir", "d"])
    quality = sections.QualitySettings()
    assert (q.detection_folds, q.mmd_permutations, q.gate_percentile) == (
        quality.detection_folds, quality.mmd_permutations, quality.privacy_gate.percentile)
    split = parser.parse_args(["split", "--matrix", "m", "--out", "o"])
    bench = sections.BenchmarkSettings()
    assert (split.folds, split.repeats, split.seed) == (bench.folds, bench.repeats, bench.seed)


ROW = re.compile(r"^\| (?P<keys>(?:`[a-z_0-9]+`(?:, )?)+) \| (?P<default>[^|]*) \|")


def documented_defaults(text: str) -> dict[str, str]:
    """`section.key` -> the README's default cell (shipped-config notes in parentheses
    dropped), one entry per key of a `| `a`, `b` | `1`, `2` |` row."""
    out, section = {}, ""
    for line in text.splitlines():
        if line.startswith("## "):
            m = SECTION.match(line)
            section = m["name"] if m else ""
        m = ROW.match(line)
        if not m:
            continue
        keys = re.findall(r"`([a-z_0-9]+)`", m["keys"])
        cell = re.sub(r"\s*\((?:shipped|`?true`? in the shipped)[^)]*\)", "", m["default"])
        values = re.findall(r"`([^`]*)`", cell)
        if len(values) == len(keys) and re.fullmatch(r"(`[^`]*`(, )?)+", cell.strip()):
            for key, value in zip(keys, values, strict=True):
                out[f"{section}.{key}".lstrip(".")] = value
    return out


README_DEFAULTS = documented_defaults(README.read_text())


def test_the_default_parser_reads_cells():
    parsed = documented_defaults("## `sec` — x\n| `a`, `b` | `2`, `30m` (shipped: `5`) | m |\n"
                                 "| `c` | all eight | m |\n")
    assert parsed == {"sec.a": "2", "sec.b": "30m"}


@pytest.mark.parametrize("path", sorted(README_DEFAULTS))
def test_config_readme_states_the_schema_default(path):
    """The README's default column is the schema's (one home; the README only repeats it, and
    this fails when they differ). Blocks: every key of the block, with its default."""
    documented = yaml.safe_load(README_DEFAULTS[path]) if README_DEFAULTS[path] else ""
    if path in SCHEMA_PATHS and SCHEMA_PATHS[path].get("type") == "object" \
            and path not in OVERRIDE_MAPS:
        block = {key.rpartition(".")[2]: value for key, value in FIELD_PATHS.items()
                 if key.rpartition(".")[0] == path}
        assert set(documented) == set(block), f"{path}: README lists other keys"
        stated = {k: v for k, v in documented.items() if v != ["..."]}  # `arms: [...]`
        assert stated == {k: block[k] for k in stated}, path
    elif FIELD_PATHS.get(path, sections._MISSING) is not sections._MISSING:
        assert documented == FIELD_PATHS[path] or str(documented) == str(FIELD_PATHS[path]), path


def test_path_templates_are_typed_once():
    """Every template of genogan.settings.paths is written out nowhere else in the rules or
    the package (they import it), so a rule and `benchmark.targets` cannot drift apart."""
    from genogan.settings import paths

    templates = {name: value for name, value in vars(paths).items()
                 if name.isupper() and isinstance(value, str)}
    found = []
    for path in _sources():
        text = path.read_text()
        for name, template in templates.items():
            if f'"{template}"' in text or f"'{template}'" in text:
                found.append(f"{path.relative_to(REPO)} types {name} ({template})")
    assert not found, "\n".join(found)
    assert paths.fill(paths.GAN_POOL, batch="b0", seed=1) == \
        "results/gan/b0/{dataset}/{model}/seed1/synthetic.parquet"


def test_generate_takes_mode_and_value_together(tmp_path, capsys):
    """`--mode balance` alone would silently take gan.amount's value (5: five times the
    majority class); like gan.amount, mode and value go together."""
    from genogan.cli import main

    rc = main(["generate", "--model-dir", str(tmp_path), "--output", str(tmp_path / "s.parquet"),
               "--mode", "balance"])
    assert rc == 1 and "--mode and --value go together" in capsys.readouterr().err


# keyword arguments named like these config keys are that key (no other meaning in the code)
CONFIG_ARGUMENTS = ("detection_folds", "mmd_permutations", "gate_percentile", "percentile",
                    "epochs", "batch_size", "checkpoint_every", "monitor_every",
                    "gan_trainings_per_job", "min_mapq", "validation_fraction", "pseudocount",
                    "early_stopping_patience", "early_stopping_metric",
                    "early_stopping_min_delta", "keep_checkpoints")
SIGNATURE_DEFAULT = re.compile(
    rf"""\b(?P<name>{'|'.join(CONFIG_ARGUMENTS)})\s*:\s*[^=,()\n]+=\s*"""
    r"""(?P<value>-?[0-9][0-9_.e]*|"[^"]*"|True|False)\s*[,)\n]""")


def test_no_function_or_dataclass_repeats_a_config_default():
    """`epochs: int = 300` (a dataclass field) or `detection_folds: int = 5` (an annotated
    argument) beside the schema is a second home; they read `schema_default(...)` instead."""
    found = [f"{path.relative_to(REPO)}: {m[0].strip()}" for path in _sources()
             for m in SIGNATURE_DEFAULT.finditer(path.read_text())]
    assert not found, "\n".join(found)
    assert SIGNATURE_DEFAULT.search("def f(x, epochs: int = 300,\n")
    assert not SIGNATURE_DEFAULT.search('epochs: int = schema_default("gan.epochs")\n')
    assert not SIGNATURE_DEFAULT.search("replace(cfg, epochs=best, early_stopping_patience=0)")
