"""Typed settings: one frozen dataclass per config section, built from the validated config.

Design (issue 15, "one home for every setting"):

- **The home of a default is the shipped schema** (`config.schema.yaml`, next to the key's type,
  range and description). `genogan.settings.validate_config` fills the defaults into the config
  dict Snakemake runs, and every dataclass field below takes its default from the same schema
  node (`_default`), so `KmerSettings()` and `config["kmers"]` after validation can never
  disagree. Why the schema and not the dataclasses: the workflow's rules read the validated
  config dict (that is what Snakemake hands to `params:`, provenance and scripts), the schema is
  the document users and `jsonschema` already read, and keeping the default beside type, range
  and description puts a key's whole contract in one place. A dataclass field with a literal
  default, a `.get(key, fallback)` in a rule or an argparse default that is not read from here
  is a second home; `tests/test_settings_drift.py` fails on each.
- **The dataclasses give typed, attribute access** (`settings.quality.privacy_gate.percentile`)
  for rules, scripts and CLIs, and their field names are tied to the schema's properties and to
  config/README.md by the drift test, at every depth.
- Free-form override maps (`gan.preprocess`, the model sections `gan.cwgan_gp`, `gan.cvae`, ...,
  `benchmark.augmenter_params`, `benchmark.classifier_params`) stay plain dicts: their keys'
  defaults are the model's / preprocessor's own arguments (`default_params`), which the drift
  test ties to the schema's key lists.

Imports only the standard library and PyYAML (through `genogan.settings`): `.smk` files use it
at parse time, where only Snakemake's own dependencies may be installed.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import typing
from dataclasses import dataclass, field

from genogan.errors import GenoganInputError

_MISSING = object()


@functools.cache
def _config_schema() -> dict:
    from genogan.settings import load_schema

    return load_schema("config.schema.yaml")


def schema_node(path: str) -> dict:
    """The schema of one dotted config key, e.g. `quality.privacy_gate.percentile`."""
    node = _config_schema()
    for part in path.split("."):
        node = node["properties"][part]
    return node


def schema_default(path: str):
    """The one default of a dotted config key: its own `default`, else its entry in the parent
    block's `default` (blocks such as `gan.amount` whose keys only make sense together)."""
    node = schema_node(path)
    if "default" in node:
        return copy.deepcopy(node["default"])
    parent, _, key = path.rpartition(".")
    block = schema_node(parent).get("default", {}) if parent else {}
    if key in block:
        return copy.deepcopy(block[key])
    raise KeyError(f"the config schema has no default for `{path}`")


def _default(path: str):
    """A dataclass field whose default is the schema's (mutable values copied per instance)."""
    value = schema_default(path)
    if isinstance(value, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(value), metadata={"key": path})
    return field(default=value, metadata={"key": path})


def _nested(cls):
    return field(default_factory=cls, metadata={"nested": True})


@dataclass(frozen=True)
class AlignSettings:
    engine: str = _default("align.engine")
    threads: int = _default("align.threads")
    mem_mb: int = _default("align.mem_mb")
    runtime: str = _default("align.runtime")


@dataclass(frozen=True)
class KmerSettings:
    k: int = _default("kmers.k")
    source: str = _default("kmers.source")
    min_mapq: int = _default("kmers.min_mapq")
    regions: str = _default("kmers.regions")
    normalise: str = _default("kmers.normalise")
    threads: int = _default("kmers.threads")
    mem_mb: int = _default("kmers.mem_mb")


@dataclass(frozen=True)
class SequenceSettings:
    path: str = _default("sequences.path")
    alphabet: str = _default("sequences.alphabet")
    k: int = _default("sequences.k")
    canonical: bool = _default("sequences.canonical")
    normalise: str = _default("sequences.normalise")
    extra_features: bool = _default("sequences.extra_features")
    mem_mb: int = _default("sequences.mem_mb")


@dataclass(frozen=True)
class ClipSettings:
    floor: float | None = _default("expression.clip.floor")
    ceiling: float | None = _default("expression.clip.ceiling")


@dataclass(frozen=True)
class GeneFilterSettings:
    method: str = _default("expression.filter.method")
    n: int = _default("expression.filter.n")


@dataclass(frozen=True)
class ExpressionSettings:
    path: str = _default("expression.path")
    orientation: str = _default("expression.orientation")
    values: str = _default("expression.values")
    transform: str = _default("expression.transform")
    log: bool = _default("expression.log")
    pseudocount: float = _default("expression.pseudocount")
    clip: ClipSettings = _nested(ClipSettings)
    normalise: str = _default("expression.normalise")
    gene_lengths: str = _default("expression.gene_lengths")
    filter: GeneFilterSettings = _nested(GeneFilterSettings)
    mem_mb: int = _default("expression.mem_mb")


@dataclass(frozen=True)
class DemoSettings:
    enabled: bool = _default("demo.enabled")
    outdir: str = _default("demo.outdir")
    seed: int = _default("demo.seed")
    n_samples: int = _default("demo.n_samples")
    case_fraction: float = _default("demo.case_fraction")
    coverage: float = _default("demo.coverage")
    effect_size: float = _default("demo.effect_size")


@dataclass(frozen=True)
class EarlyStoppingSettings:
    patience: int = _default("gan.early_stopping.patience")
    metric: str = _default("gan.early_stopping.metric")
    min_delta: float = _default("gan.early_stopping.min_delta")


@dataclass(frozen=True)
class SelectionSettings:
    validation_fraction: float = _default("gan.selection.validation_fraction")
    refit: bool = _default("gan.selection.refit")


@dataclass(frozen=True)
class AmountSettings:
    mode: str = _default("gan.amount.mode")
    value: float = _default("gan.amount.value")


@dataclass(frozen=True)
class GanResources:
    threads: int = _default("gan.resources.threads")
    mem_mb: int = _default("gan.resources.mem_mb")
    runtime: str = _default("gan.resources.runtime")
    gpu: int = _default("gan.resources.gpu")
    gpu_model: str = _default("gan.resources.gpu_model")
    gres: str = _default("gan.resources.gres")


@dataclass(frozen=True)
class GanSettings:
    models: list = _default("gan.models")
    seeds: list = _default("gan.seeds")
    epochs: int = _default("gan.epochs")
    batch_size: int = _default("gan.batch_size")
    checkpoint_every: int = _default("gan.checkpoint_every")
    monitor_every: int = _default("gan.monitor_every")
    early_stopping: EarlyStoppingSettings = _nested(EarlyStoppingSettings)
    jit_compile: object = _default("gan.jit_compile")
    precision: str = _default("gan.precision")
    preprocess: dict = _default("gan.preprocess")
    selection: SelectionSettings = _nested(SelectionSettings)
    fine_tune_lr_scale: float = _default("gan.fine_tune_lr_scale")
    keep_checkpoints: bool = _default("gan.keep_checkpoints")
    amount: AmountSettings = _nested(AmountSettings)
    cwgan_gp: dict = _default("gan.cwgan_gp")
    vanilla_gan: dict = _default("gan.vanilla_gan")
    cvae: dict = _default("gan.cvae")
    ddpm: dict = _default("gan.ddpm")
    resources: GanResources = _nested(GanResources)


# `gan:` keys that do not change what a training computes: which model and seed the CLI picks,
# the pool's size (sampled after training) and the job's resources. Every other key is a training
# option (`GanSettings`) or a model's parameter section (each training reads only its own).
NOT_TRAINING_KEYS = ("models", "seeds", "amount", "resources")


def training_options(gan_cfg: dict | None) -> dict:
    """The training options of a `gan:` block: without the model sections and the keys above."""
    from genogan.generators.registry import names  # TensorFlow-free

    skip = {*NOT_TRAINING_KEYS, *names()}
    return {k: v for k, v in (gan_cfg or {}).items() if k not in skip}


@dataclass(frozen=True)
class PretrainSettings:
    epochs: int = _default("reference_cohort.pretrain.epochs")
    batch_size: int = _default("reference_cohort.pretrain.batch_size")


@dataclass(frozen=True)
class ReferenceCohortSettings:
    samples: str = _default("reference_cohort.samples")
    path: str = _default("reference_cohort.path")
    rank: int = _default("reference_cohort.rank")
    near_duplicate_percentile: float = _default("reference_cohort.near_duplicate_percentile")
    near_duplicate_fraction: float = _default("reference_cohort.near_duplicate_fraction")
    pretrain: PretrainSettings = _nested(PretrainSettings)

    @property
    def enabled(self) -> bool:
        return bool(self.samples)


@dataclass(frozen=True)
class PrivacyGateSettings:
    enabled: bool = _default("quality.privacy_gate.enabled")
    percentile: float = _default("quality.privacy_gate.percentile")


@dataclass(frozen=True)
class QualitySettings:
    privacy_gate: PrivacyGateSettings = _nested(PrivacyGateSettings)
    detection_folds: int = _default("quality.detection_folds")
    mmd_permutations: int = _default("quality.mmd_permutations")
    threads: int = _default("quality.threads")
    mem_mb: int = _default("quality.mem_mb")
    runtime: str = _default("quality.runtime")


@dataclass(frozen=True)
class DoseResponseSettings:
    enabled: bool = _default("benchmark.dose_response.enabled")
    ratios: list = _default("benchmark.dose_response.ratios")
    arms: list = _default("benchmark.dose_response.arms")


@dataclass(frozen=True)
class LearningCurveSettings:
    enabled: bool = _default("benchmark.learning_curve.enabled")
    fractions: list = _default("benchmark.learning_curve.fractions")
    repeats: int = _default("benchmark.learning_curve.repeats")
    arms: list = _default("benchmark.learning_curve.arms")


@dataclass(frozen=True)
class ImbalanceSettings:
    enabled: bool = _default("benchmark.imbalance.enabled")
    minority_fractions: list = _default("benchmark.imbalance.minority_fractions")
    repeats: int = _default("benchmark.imbalance.repeats")
    arms: list = _default("benchmark.imbalance.arms")


@dataclass(frozen=True)
class NullControlSettings:
    enabled: bool = _default("benchmark.null_control.enabled")
    repeats: int = _default("benchmark.null_control.repeats")
    arms: list = _default("benchmark.null_control.arms")


@dataclass(frozen=True)
class LeakyControlSettings:
    enabled: bool = _default("benchmark.leaky_control.enabled")
    arms: list = _default("benchmark.leaky_control.arms")
    all_classifiers: bool = _default("benchmark.leaky_control.all_classifiers")


@dataclass(frozen=True)
class BenchmarkSettings:
    folds: int = _default("benchmark.folds")
    repeats: int = _default("benchmark.repeats")
    seed: int = _default("benchmark.seed")
    positive_class: str = _default("benchmark.positive_class")
    classifiers: list = _default("benchmark.classifiers")
    main_classifier: str = _default("benchmark.main_classifier")
    arms: list = _default("benchmark.arms")
    amount: object = _default("benchmark.amount")
    generator_seeds: list = _default("benchmark.generator_seeds")
    augmenter_params: dict = _default("benchmark.augmenter_params")
    classifier_params: dict = _default("benchmark.classifier_params")
    dose_response: DoseResponseSettings = _nested(DoseResponseSettings)
    learning_curve: LearningCurveSettings = _nested(LearningCurveSettings)
    imbalance: ImbalanceSettings = _nested(ImbalanceSettings)
    null_control: NullControlSettings = _nested(NullControlSettings)
    leaky_control: LeakyControlSettings = _nested(LeakyControlSettings)
    use_gated_synthetic: bool = _default("benchmark.use_gated_synthetic")
    quality_baselines: list = _default("benchmark.quality_baselines")
    quality_repeats: int = _default("benchmark.quality_repeats")
    gan_trainings_per_job: int = _default("benchmark.gan_trainings_per_job")
    mem_mb: int = _default("benchmark.mem_mb")
    runtime: str = _default("benchmark.runtime")


@dataclass(frozen=True)
class Settings:
    """The whole config. `samples` has no default (required)."""

    samples: str
    reference: str = _default("reference")
    features_table: str = _default("features_table")
    input_type: str = _default("input_type")
    sequences: SequenceSettings = _nested(SequenceSettings)
    expression: ExpressionSettings = _nested(ExpressionSettings)
    reference_cohort: ReferenceCohortSettings = _nested(ReferenceCohortSettings)
    container: str = _default("container")
    demo: DemoSettings = _nested(DemoSettings)
    align: AlignSettings = _nested(AlignSettings)
    kmers: KmerSettings = _nested(KmerSettings)
    gan: GanSettings = _nested(GanSettings)
    quality: QualitySettings = _nested(QualitySettings)
    benchmark: BenchmarkSettings = _nested(BenchmarkSettings)


SECTIONS = {"sequences": SequenceSettings, "expression": ExpressionSettings,
            "reference_cohort": ReferenceCohortSettings,
            "demo": DemoSettings, "align": AlignSettings, "kmers": KmerSettings,
            "gan": GanSettings, "quality": QualitySettings, "benchmark": BenchmarkSettings}


def build(cls, data: dict | None, where: str = ""):
    """`cls` from a (validated or partial) config block: missing keys get the schema default,
    nested blocks become their dataclasses, an unknown key is an error naming it."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise GenoganInputError(f"unknown key(s) {unknown} under '{where or '(top level)'}'",
                                fix=f"valid keys: {', '.join(known)} (see config/README.md)")
    kwargs = {}
    for name, value in data.items():
        if known[name].metadata.get("nested"):
            value = build(hints[name], value, f"{where}.{name}".lstrip("."))
        kwargs[name] = copy.deepcopy(value)
    return cls(**kwargs)


def section(name: str, data: dict | None):
    """The typed settings of one config section, e.g. `section("quality", config["quality"])`."""
    return build(SECTIONS[name], data, name)


def validated(name: str, data: dict | None):
    """`section` of a partial config block after the schema's checks (types, ranges, unknown
    keys) and defaults: an API caller's dict meets the same validation as the workflow's."""
    from genogan.settings import validate_config

    schema = {"type": "object", "properties": {name: schema_node(name)}}  # errors name `gan.x`
    config = validate_config({name: copy.deepcopy(dict(data or {}))}, schema=schema,
                             path=f"the `{name}` settings given")
    return section(name, config[name])


def from_config(config: dict) -> Settings:
    """Typed settings of a whole (validated) config."""
    return build(Settings, config)


def as_dict(settings) -> dict:
    """A settings object back as the plain config block (for `params:` and provenance)."""
    return dataclasses.asdict(settings)


def field_paths(cls, prefix: str = "") -> dict[str, object]:
    """Every dotted key of a settings class and its default (`_MISSING` for required keys),
    recursing into nested blocks; the drift test compares these with the schema."""
    out = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        if f.metadata.get("nested"):
            out[key] = as_dict(f.default_factory())
            out.update(field_paths(hints[f.name], key + "."))
        elif f.default is not dataclasses.MISSING:
            out[key] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[key] = f.default_factory()
        else:
            out[key] = _MISSING
    return out
