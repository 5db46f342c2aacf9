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
    from genogan.gan.amount import AMOUNT_MODES
    from genogan.gan.preprocess import MODES
    from genogan.gan.runtime import PRECISIONS
    from genogan.gan.train import MONITOR_COLUMNS

    gan = _gan_schema()
    assert gan["precision"]["enum"] == list(PRECISIONS)
    assert gan["early_stopping"]["properties"]["metric"]["enum"] == list(MONITOR_COLUMNS)
    assert gan["preprocess"]["properties"]["mode"]["enum"] == list(MODES)
    assert gan["amount"]["properties"]["mode"]["enum"] == list(AMOUNT_MODES)


def test_gan_preprocess_keys_are_the_preprocessor_arguments():
    import inspect

    from genogan.gan.preprocess import FeaturePreprocessor

    args = set(inspect.signature(FeaturePreprocessor.__init__).parameters) - {"self"}
    assert set(_gan_schema()["preprocess"]["properties"]) == args


def test_gan_model_sections_list_each_models_parameters():
    """`gan.<model>` accepts exactly the model's `default_params` (unknown ones stop at
    validation, before any preprocessing), for every registered model."""
    from genogan.gan.models import MODELS

    gan = _gan_schema()
    for name, cls in MODELS.items():
        assert set(gan[name]["properties"]) == set(cls.default_params), name
