"""The benchmark's config block, expanded into the workflow's target and input files.

Kept in the package (not in a .smk file) so the Snakefile's `rule all`, the input functions of the
rules and the job-count estimate in the README all come from one tested function.

Job structure (`plan`): every (data set, arm, classifier) evaluation of one split (repeat, fold) --
its main fold, learning-curve, imbalance and null-control data sets -- runs in ONE `evaluate`
job, so jobs grow with splits, not with arms x classifiers. GAN trainings are batched:
`gan_trainings_per_job` trainings (grouped by network architecture, then in split order) share
one `train_gan` job, one TensorFlow start-up and one trace per architecture; 1 gives one (GPU)
job per training, for clusters. Each split's GAN gets its own training seed
(`gan_training_seed`, from the generator seed and the data set id), so the spread over splits
contains the generator's randomness even with a single generator seed.

Scenarios: the main benchmark runs every arm x every classifier x every fold of every repeat, each
stochastic arm once per generator seed. The dose-response sweep, the learning curve, the
class-imbalance sweep and the permuted-label null control run only the main classifier and their
own (short) arm lists; the learning curve, the imbalance sweep and the null control also only the
first `repeats` repeats and the first generator seed, to keep the number of GAN trainings down.
The imbalance scenario is off by default (a small cohort may have too few minority samples for
its fractions); the shipped config turns it on. The leaky control runs on the main folds with the
main classifier (or every classifier: `leaky_control.all_classifiers`).
"""

from __future__ import annotations

import itertools
import zlib

from genogan.benchmark.arms import Arm, derived_seed, format_ratio, parse_arm
from genogan.benchmark.names import CLASSIFIER_NAMES as CLASSIFIERS
from genogan.benchmark.names import (
    base_method,
    check_methods,
    is_balance,
    parse_amount,
    uses_reference,
)
from genogan.benchmark.splits import DatasetId, fraction_to_percent, parse_dataset_id
from genogan.errors import GenoganInputError
from genogan.settings import paths
from genogan.settings.sections import as_dict, section

OUT = paths.BENCHMARK_DIR


def _without_derived(cfg: dict | None) -> dict:
    """A benchmark block without the keys `benchmark_settings` derives (`percents`), so the
    settings it returned can be checked again (scripts receive them as `params`)."""
    cfg = dict(cfg or {})
    for key in ("learning_curve", "imbalance"):
        if isinstance(cfg.get(key), dict):
            cfg[key] = {k: v for k, v in cfg[key].items() if k != "percents"}
    return cfg


def benchmark_settings(cfg: dict | None) -> dict:
    """`config["benchmark"]` with defaults filled in and names checked.

    The defaults are the settings layer's (`genogan.settings.sections.BenchmarkSettings`, from
    the shipped schema): a partial block (a test, `genogan benchmark --config`) gets the same
    values the workflow's validated config carries."""
    s = as_dict(section("benchmark", _without_derived(cfg)))
    s["amount"] = parse_amount(s["amount"])
    for clf in s["classifiers"] + [s["main_classifier"]]:
        if clf not in CLASSIFIERS:
            raise GenoganInputError(f"unknown classifier {clf!r} in benchmark config",
                                    fix=f"use {', '.join(CLASSIFIERS)}")
    if s["main_classifier"] not in s["classifiers"]:
        raise GenoganInputError("benchmark.main_classifier must be one of benchmark.classifiers")
    arms = [parse_arm(a) for a in s["arms"]]
    if any(a.leaky or a.ratio is not None for a in arms) or "none" not in s["arms"]:
        raise GenoganInputError("benchmark.arms lists plain methods and must include 'none'",
                                fix="doses go in dose_response.ratios, leaky arms in "
                                "leaky_control.arms")
    check_methods([a.method for a in arms], "benchmark.arms")
    for key in ("dose_response", "learning_curve", "imbalance", "null_control", "leaky_control"):
        check_methods([parse_arm(a).method for a in s[key]["arms"]], f"benchmark.{key}.arms")
    check_methods(s["quality_baselines"], "benchmark.quality_baselines")
    if not s["generator_seeds"]:
        raise GenoganInputError("benchmark.generator_seeds is empty", fix="give at least one seed")
    s["learning_curve"]["percents"] = [fraction_to_percent(f) for f in
                                       s["learning_curve"]["fractions"] if float(f) < 1]
    s["imbalance"]["percents"] = [
        fraction_to_percent(f, "benchmark.imbalance.minority_fractions")
        for f in s["imbalance"]["minority_fractions"] if float(f) < 1]
    for key in ("learning_curve", "imbalance", "null_control"):
        s[key]["repeats"] = min(int(s[key].get("repeats") or s["repeats"]), s["repeats"])
    for ratio in s["dose_response"]["ratios"]:
        parse_amount(ratio)
    s["quality_repeats"] = min(int(s["quality_repeats"]), s["repeats"])
    if int(s["gan_trainings_per_job"]) < 1:
        raise GenoganInputError("benchmark.gan_trainings_per_job must be >= 1",
                                fix="1 = one job per GAN training (clusters); more = fewer "
                                "TensorFlow start-ups (workstations)")
    return s


def _main_datasets(s, repeats=None):
    return [DatasetId(r, f) for r in range(repeats or s["repeats"]) for f in range(s["folds"])]


def classify_jobs(s: dict) -> list[tuple[str, str, str]]:
    """Every (dataset, arm, classifier) the config asks for, without duplicates, in order."""
    jobs = []
    main_clf = s["main_classifier"]
    for ds in _main_datasets(s):
        jobs += [(str(ds), a, c) for a in s["arms"] for c in s["classifiers"]]
        jobs += [(str(ds), str(arm), main_clf) for arm in dose_arms(s)]
        leaky = s["leaky_control"]
        if leaky["enabled"]:
            clfs = s["classifiers"] if leaky.get("all_classifiers") else [main_clf]
            jobs += [(str(ds), f"leaky-{m}", c) for m in leaky["arms"] for c in clfs]
    lc = s["learning_curve"]
    if lc["enabled"]:
        for ds in _main_datasets(s, lc["repeats"]):
            jobs += [(str(ds), a, main_clf) for a in lc["arms"]]  # the 100 % point
            for pct in lc["percents"]:
                jobs += [(str(DatasetId(ds.repeat, ds.fold, pct)), a, main_clf)
                         for a in lc["arms"]]
    jobs += _imbalance_jobs(s)
    if s["null_control"]["enabled"]:
        for ds in _main_datasets(s, s["null_control"]["repeats"]):
            jobs += [(str(DatasetId(ds.repeat, ds.fold, null=True)), a, main_clf)
                     for a in s["null_control"]["arms"]]
    return list(dict.fromkeys(jobs))


def _imbalance_jobs(s: dict) -> list[tuple[str, str, str]]:
    """Imbalance sweep: main classifier on `r{r}_f{f}_m{pct}`; its 100 % point is the main fold."""
    im, clf = s["imbalance"], s["main_classifier"]
    if not im["enabled"]:
        return []
    jobs = []
    for ds in _main_datasets(s, im["repeats"]):
        jobs += [(str(ds), a, clf) for a in im["arms"]]  # the 100 % point
        for pct in im["percents"]:
            jobs += [(str(DatasetId(ds.repeat, ds.fold, minority=pct)), a, clf)
                     for a in im["arms"]]
    return jobs


def dose_arms(s: dict) -> list[Arm]:
    """Dose-response arms; ratio 0 is the `none` arm and the default amount is the plain arm."""
    if not s["dose_response"]["enabled"]:
        return []
    out = []
    for method in s["dose_response"]["arms"]:
        for ratio in s["dose_response"]["ratios"]:
            ratio = float(ratio)
            if ratio > 0 and not (s["amount"] == ratio and method in s["arms"]):
                out.append(Arm(method, ratio))
    return out


def generator_seeds_for(dataset: str, s: dict) -> list[int]:
    """All generator seeds on the main folds (and `full`); the first one in the scenarios."""
    seeds = [int(x) for x in s["generator_seeds"]]
    return seeds if dataset == "full" or parse_dataset_id(dataset).scenario == "main" else seeds[:1]


def split_of(dataset: str) -> str:
    """The split (`r{repeat}_f{fold}`) a data set derives from; its `evaluate` job's wildcard."""
    ds = parse_dataset_id(dataset)
    return f"r{ds.repeat}_f{ds.fold}"


def gan_training_seed(dataset: str, generator_seed: int) -> int:
    """The TensorFlow seed of one GAN training: distinct per data set and generator seed, so
    every split's generator is an independent draw (its randomness enters the spread over
    splits) and two seeds of one split differ."""
    return derived_seed(generator_seed, zlib.crc32(str(dataset).encode()))


def pool_dir(batch: str, dataset: str, model: str, seed: int) -> str:
    """Files of one GAN training (model, history, `synthetic.parquet`) inside its batch's
    directory (the output of one `train_gan` job)."""
    return paths.fill(paths.GAN_POOL_DIR, batch=batch, dataset=dataset, model=model, seed=seed)


def pretrained_dir(model: str) -> str:
    """The model directory of `model` (or its `+ref` arm) pretrained on the reference cohort."""
    return paths.fill(paths.PRETRAINED, model=base_method(model))


def dataset_part(dataset: str, part: str = "train") -> str:
    """A data set's `train` part (the only file a GAN or augmenter is fitted on) or its `test`
    part (read by evaluate and quality jobs only)."""
    return paths.fill({"train": paths.DATASET_TRAIN, "test": paths.DATASET_TEST}[part],
                      dataset=dataset)


def gated_file(dataset: str, model: str, seed: int) -> str:
    """A GAN pool after the privacy gate (fitted on the training part only)."""
    return paths.fill(paths.GATED_POOL, dataset=dataset, model=model, seed=seed)


def quality_models(s: dict) -> list[str]:
    """Synthetic sources the quality stage scores: every GAN arm, then the classical baselines."""
    gans = [a for a in s["arms"] if parse_arm(a).is_gan]
    return list(dict.fromkeys(gans + list(s["quality_baselines"])))


def quality_splits(s: dict) -> list[str]:
    """Main folds of the first `quality_repeats` repeats (fidelity/privacy per split)."""
    return [str(ds) for ds in _main_datasets(s, s["quality_repeats"])]


QUALITY_TABLES = {"summary": "summary.tsv", "per_feature": "per-feature.tsv",
                  "fidelity_by_class": "fidelity-by-class.tsv", "detection": "detection.tsv",
                  "label_fidelity": "label-fidelity.tsv", "utility": "utility.tsv",
                  "privacy": "privacy.tsv", "near_copies": "near-copies.tsv",
                  "sequence": "sequence.tsv"}
QUALITY_FIGURES = {"pca": "pca.png", "dcr": "dcr.png"}


def quality_dir(model: str, seed: int, dataset: str = "{dataset}") -> str:
    """Folder of one synthetic source's quality tables and figures (a wildcard by default)."""
    return paths.fill(paths.QUALITY_DIR, dataset=dataset, model=model, seed=seed)


def quality_targets(config: dict) -> list[str]:
    """Quality reports of every GAN arm and classical baseline on the quality splits (first
    seed)."""
    s = benchmark_settings(config.get("benchmark", {}))
    seed = int(s["generator_seeds"][0])
    return [f"{quality_dir(m, seed, ds)}/summary.tsv" for ds in quality_splits(s)
            for m in quality_models(s)]


def gan_trainings(s: dict) -> list[tuple[str, str, int]]:
    """(dataset, model, seed) of every GAN the config implies (= synthetic files it reads)."""
    out = []
    for dataset, arm, _ in classify_jobs(s):
        a = parse_arm(arm)
        if a.is_gan:
            source = "full" if a.leaky else dataset
            out += [(source, a.method, g) for g in generator_seeds_for(dataset, s)]
    return list(dict.fromkeys(out))


def required_gan_amount(s: dict) -> dict:
    """The smallest `gan.amount` ({mode: multiple, value}) whose pools cover every dose asked for.

    Balancing needs at most (n_majority / n_minority - 1) x the minority class, which a multiple
    of max(ratios) may not cover on very imbalanced cohorts: the classify job then says so.
    """
    ratios = [float(r) for r in s["dose_response"]["ratios"]] if s["dose_response"][
        "enabled"] else []
    if not is_balance(s["amount"]):  # balance(:R) depends on the class counts: checked at
        ratios.append(float(s["amount"]))  # validation (amount_check.check_gan_pools_cover)
    return {"mode": "multiple", "value": max(ratios + [1.0])}


EVALUATE_KEYS = ("folds", "repeats", "seed", "positive_class", "amount", "generator_seeds",
                 "augmenter_params", "classifier_params")


def evaluate_params(s: dict) -> dict:
    """The part of the settings an evaluate job uses (so unrelated edits do not rerun it)."""
    return {k: s[k] for k in EVALUATE_KEYS}


def aggregate_outputs() -> dict:
    return {"per_fold": f"{OUT}/per_fold.tsv", "aggregate": f"{OUT}/aggregate.tsv",
            "inflation": f"{OUT}/inflation.tsv", "worth": f"{OUT}/worth.tsv",
            "pooled_oof": f"{OUT}/pooled_oof.tsv"}


def plot_outputs(s: dict) -> dict:
    """Figures the config asks for (scenarios that are off produce no figure)."""
    plots = {"forest": f"{OUT}/plots/forest.png", "arms": f"{OUT}/plots/arms.png",
             "roc_pr": f"{OUT}/plots/roc_pr.png"}
    if s["dose_response"]["enabled"]:
        plots["dose_response"] = f"{OUT}/plots/dose_response.png"
    if s["learning_curve"]["enabled"] and s["learning_curve"]["percents"]:
        plots["learning_curve"] = f"{OUT}/plots/learning_curve.png"
    if s["imbalance"]["enabled"] and s["imbalance"]["percents"]:
        plots["imbalance"] = f"{OUT}/plots/imbalance.png"
    if s["null_control"]["enabled"]:
        plots["null_control"] = f"{OUT}/plots/null_control.png"
    if s["leaky_control"]["enabled"]:
        plots["leaky_inflation"] = f"{OUT}/plots/leaky_inflation.png"
    return plots


def benchmark_targets(config: dict) -> list[str]:
    """Files `rule all` needs for the benchmark: aggregated tables and every figure."""
    s = benchmark_settings(config.get("benchmark", {}))
    return list(aggregate_outputs().values()) + list(plot_outputs(s).values())


def evaluate_outputs(split: str) -> dict:
    folder = paths.fill(paths.EVALUATE_DIR, split=split)
    return {"metrics": f"{folder}/metrics.tsv", "oof": f"{folder}/oof.tsv"}


def _training_order(training: tuple[str, str, int], split_order: dict) -> tuple:
    """Sort key of GAN trainings: those of one network architecture (model x training-part
    size: main folds and their null controls alike, each learning-curve fraction, each
    imbalance fraction) side by side, then in split order. A train_gan process traces each
    architecture's step once (`gan.train.compiled_model`, seconds each) and then trains in ~2 s,
    so a batch that mixes few architectures pays few traces."""
    dataset, model, seed = training
    if dataset == "full":
        return (model, -1, -1, -1, seed)
    ds = parse_dataset_id(dataset)
    return (model, -ds.percent, -ds.minority, split_order[split_of(dataset)], seed)


class Plan:
    """The workflow's jobs, computed once from the settings (input functions only look up).

    - `evaluations[split]`: the (data set, arm, classifier) triples of one evaluate job;
    - `trainings`: every (data set, model, seed) GAN training, grouped by architecture
      (`_training_order`), in split order within a group;
    - `batches[batch]`: the trainings of one train_gan job (`gan_trainings_per_job` each);
    - `batch_of[(data set, model, seed)]`: the batch that trains it.
    """

    def __init__(self, s: dict):
        self.s = s
        self.evaluations: dict[str, list] = {}
        for job in classify_jobs(s):
            self.evaluations.setdefault(split_of(job[0]), []).append(job)
        order = {split: i for i, split in enumerate(self.evaluations)}
        self.trainings = sorted(gan_trainings(s), key=lambda t: _training_order(t, order))
        # at most gan_trainings_per_job per batch, the batches as even as that allows (81 at 24:
        # 21 + 20 + 20 + 20, not 24 + 24 + 24 + 9, which leaves a core idle at the end)
        n = len(self.trainings)
        n_batches = max(1, -(-n // int(s["gan_trainings_per_job"])))
        ends = [round(i * n / n_batches) for i in range(n_batches + 1)]
        chunks = [self.trainings[a:b] for a, b in itertools.pairwise(ends) if b > a]
        width = len(str(max(len(chunks) - 1, 0)))
        self.batches = {f"b{i:0{width}d}": chunk for i, chunk in enumerate(chunks)}
        self.batch_of = {t: b for b, chunk in self.batches.items() for t in chunk}

    def datasets(self) -> list[str]:
        """Every data set any job reads (`full` only for the leaky control)."""
        out = [ds for jobs in self.evaluations.values() for ds, _, _ in jobs]
        if any(t[0] == "full" for t in self.trainings) or self._leaky_classical():
            out.append("full")
        return list(dict.fromkeys(out))

    def _leaky_classical(self) -> bool:
        return any(parse_arm(a).leaky and not parse_arm(a).is_gan
                   for jobs in self.evaluations.values() for _, a, _ in jobs)

    def pool(self, dataset: str, model: str, seed: int) -> str:
        """The synthetic pool an evaluation reads: the GAN's own, or its privacy-gated subset."""
        if self.s["use_gated_synthetic"]:
            return gated_file(dataset, model, seed)
        return self.pool_file(dataset, model, seed)

    def pool_file(self, dataset: str, model: str, seed: int) -> str:
        """The synthetic pool one GAN training samples (inside its batch's directory)."""
        return paths.fill(paths.GAN_POOL, batch=self.batch_of[(dataset, model, seed)],
                          dataset=dataset, model=model, seed=seed)

    def pools_of(self, jobs) -> dict[str, str]:
        """`dataset/model/seed` -> pool file, for every GAN arm of `jobs`."""
        out = {}
        for dataset, arm, _ in jobs:
            a = parse_arm(arm)
            if a.is_gan:
                source = "full" if a.leaky else dataset
                for g in generator_seeds_for(dataset, self.s):
                    out[f"{source}/{a.method}/{g}"] = self.pool(source, a.method, g)
        return out

    def batch_dirs(self, keys) -> list[str]:
        """train_gan output directories holding the pools `keys` (`dataset/model/seed`)."""
        trainings = [(d, m, int(g)) for d, m, g in (k.split("/") for k in keys)]
        return list(dict.fromkeys(paths.fill(paths.GAN_BATCH, batch=self.batch_of[t])
                                  for t in trainings))

    def evaluate_inputs(self, split: str) -> dict:
        """Input files of one evaluate job: its data sets' parts, the split file, the pools."""
        jobs = self.evaluations[split]
        datasets = list(dict.fromkeys(ds for ds, _, _ in jobs))
        inputs = {"train": [dataset_part(ds) for ds in datasets],
                  "test": [dataset_part(ds, "test") for ds in datasets], "splits": paths.SPLITS}
        pools = self.pools_of(jobs)
        inputs["pools"] = (list(pools.values()) if self.s["use_gated_synthetic"]
                           else self.batch_dirs(pools))
        if any(parse_arm(a).leaky and not parse_arm(a).is_gan for _, a, _ in jobs):
            inputs["full"] = dataset_part("full")
        if any(uses_reference(parse_arm(a).method) for _, a, _ in jobs):
            inputs.update(reference_space=paths.REFERENCE_SPACE,
                          reference_matrix=paths.REFERENCE_MATRIX)
        return inputs

    def batch_params(self, batch: str) -> list[dict]:
        """What one train_gan job trains: per training its input, output folder and seed (and
        for a `+ref` arm the model it is and the pretrained model it starts from)."""
        out = []
        for d, m, g in self.batches[batch]:
            out.append({"dataset": d, "model": m, "seed": g, "train": dataset_part(d),
                        "out": pool_dir(batch, d, m, g), "train_seed": gan_training_seed(d, g)})
            if uses_reference(m):
                out[-1].update(base_model=base_method(m), init_from=pretrained_dir(m))
        return out

    def batch_inputs(self, batch: str) -> dict:
        """Input files of one train_gan job: training parts, and pretrained models to tune."""
        params = self.batch_params(batch)
        return {"train": sorted({t["train"] for t in params}),
                "pretrained": sorted({t["init_from"] for t in params if "init_from" in t})}

    def pretrained_models(self) -> list[str]:
        """The generative models pretrained on the reference cohort (those of `+ref` arms)."""
        return list(dict.fromkeys(base_method(m) for _, m, _ in self.trainings
                                  if uses_reference(m)))

    def quality_pools(self, split: str) -> dict[str, str]:
        """model -> GAN pool of one quality split (first generator seed)."""
        seed = int(self.s["generator_seeds"][0])
        gans = [m for m in quality_models(self.s) if parse_arm(m).is_gan]
        return {m: self.pool_file(split, m, seed) for m in gans}

    def quality_inputs(self, split: str) -> dict:
        """Input files of one quality job: the split's two parts and the batches of its pools."""
        seed = int(self.s["generator_seeds"][0])
        keys = [f"{split}/{m}/{seed}" for m in self.quality_pools(split)]
        return {"train": dataset_part(split), "holdout": dataset_part(split, "test"),
                "pools": self.batch_dirs(keys)}

    def quality_out_dirs(self, split: str) -> dict[str, str]:
        seed = int(self.s["generator_seeds"][0])
        return {m: quality_dir(m, seed, split) for m in quality_models(self.s)}

    def quality_baselines(self, amount) -> dict:
        """Classical sources of the quality job: their pool size and augmenter parameters."""
        return {m: {"amount": amount, "params": self.s["augmenter_params"].get(m, {})}
                for m in quality_models(self.s) if not parse_arm(m).is_gan}

    def n_jobs(self) -> dict:
        """Jobs per benchmark rule (the benchmark script prints it)."""
        return {"train_gan": len(self.batches), "evaluate": len(self.evaluations),
                "quality": len(quality_splits(self.s))}


def all_evaluate_outputs(config: dict) -> dict:
    """Inputs of rule `aggregate`: every evaluate job's metrics and out-of-fold predictions."""
    s = benchmark_settings(config.get("benchmark", {}))
    splits = list(Plan(s).evaluations)
    return {key: [evaluate_outputs(sp)[key] for sp in splits] for key in ("metrics", "oof")}


__all__ = ["Plan", "benchmark_settings", "classify_jobs", "gan_trainings",
           "benchmark_targets", "all_evaluate_outputs", "evaluate_params", "required_gan_amount",
           "dose_arms", "split_of", "gan_training_seed", "quality_targets", "quality_models",
           "format_ratio", "plot_outputs", "aggregate_outputs"]
