"""The benchmark's config block, expanded into the workflow's target and input files.

Kept in the package (not in a .smk file) so the Snakefile's `rule all`, the input functions of rule
`classify` and the job-count estimate in the README all come from one tested function.

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

import copy

from genogan.benchmark.arms import Arm, format_ratio, parse_arm
from genogan.benchmark.augment import parse_amount
from genogan.benchmark.classify import CLASSIFIERS
from genogan.benchmark.splits import DatasetId, fraction_to_percent, parse_dataset_id
from genogan.errors import GenoganInputError

DEFAULTS = {
    "folds": 3,
    "repeats": 2,
    "seed": 7,
    "positive_class": "",
    "classifiers": ["logreg", "random_forest", "svm"],
    "main_classifier": "logreg",
    "arms": ["none", "class_weight", "smote", "random_oversample", "gaussian_noise", "mixup",
             "cwgan_gp", "vanilla_gan"],
    "amount": "balance",
    "generator_seeds": [1, 2],
    "augmenter_params": {},
    "classifier_params": {},
    "dose_response": {"enabled": True, "ratios": [0, 0.5, 1, 2, 5], "arms": ["smote", "cwgan_gp"]},
    "learning_curve": {"enabled": True, "fractions": [0.25, 0.5], "repeats": 1,
                       "arms": ["none", "smote", "cwgan_gp"]},
    "imbalance": {"enabled": False, "minority_fractions": [0.25, 0.5], "repeats": 1,
                  "arms": ["none", "smote", "cwgan_gp"]},
    "null_control": {"enabled": True, "repeats": 1, "arms": ["none", "smote", "cwgan_gp"]},
    "leaky_control": {"enabled": True, "arms": ["smote", "cwgan_gp"], "all_classifiers": False},
    "use_gated_synthetic": False,
    "quality_baselines": ["smote", "gaussian_noise"],
    "mem_mb": 2000,
    "runtime": "30m",
}
OUT = "results/benchmark"


def _merge(defaults: dict, given: dict) -> dict:
    out = copy.deepcopy(defaults)
    for key, value in (given or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key.endswith(
                ("response", "curve", "control", "imbalance")):
            out[key] = {**out[key], **value}
        else:
            out[key] = copy.deepcopy(value)
    return out


def benchmark_settings(cfg: dict | None) -> dict:
    """`config["benchmark"]` with defaults filled in and names checked."""
    s = _merge(DEFAULTS, cfg or {})
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


def classify_output(dataset, arm, classifier) -> str:
    return f"results/classify/{dataset}/{arm}/{classifier}.tsv"


def oof_output(dataset, arm, classifier) -> str:
    return f"results/classify/{dataset}/{arm}/{classifier}.oof.tsv"


def generator_seeds_for(dataset: str, s: dict) -> list[int]:
    """All generator seeds on the main folds (and `full`); the first one in the scenarios."""
    seeds = [int(x) for x in s["generator_seeds"]]
    return seeds if dataset == "full" or parse_dataset_id(dataset).scenario == "main" else seeds[:1]


def classify_inputs(dataset: str, arm: str, s: dict) -> dict:
    """Input files of rule `classify` for one data set and arm (the rule's input function)."""
    a = parse_arm(arm)
    inputs = {"train": f"results/datasets/{dataset}/train.parquet",
              "test": f"results/datasets/{dataset}/test.parquet",
              "splits": "results/splits/splits.tsv"}
    if a.is_gan:
        source = "full" if a.leaky else dataset
        inputs["synthetic"] = [synthetic_file(source, a.method, g, s["use_gated_synthetic"])
                               for g in generator_seeds_for(dataset, s)]
    elif a.leaky:
        inputs["full"] = "results/datasets/full/train.parquet"
    return inputs


def synthetic_file(dataset: str, model: str, seed: int, gated: bool = False) -> str:
    """A GAN's synthetic pool, or the privacy-gated pool (gate fitted on the training part only)."""
    if gated:
        return f"results/quality/{dataset}/{model}/seed{seed}/gated.parquet"
    return f"results/synthetic/{dataset}/{model}/seed{seed}.parquet"


def quality_targets(config: dict) -> list[str]:
    """Quality reports of every GAN arm and classical baseline on the main folds (first seed)."""
    s = benchmark_settings(config.get("benchmark", {}))
    gans = [a for a in s["arms"] if parse_arm(a).is_gan]
    seed = int(s["generator_seeds"][0])
    return [f"results/quality/{ds}/{m}/seed{seed}/summary.tsv" for ds in _main_datasets(s)
            for m in gans + list(s["quality_baselines"])]


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
    if s["amount"] != "balance":
        ratios.append(float(s["amount"]))
    return {"mode": "multiple", "value": max(ratios + [1.0])}


def classify_params(s: dict, arm: str, classifier: str) -> dict:
    """The part of the settings one classify job uses (so unrelated edits do not rerun it)."""
    method = parse_arm(arm).method
    keep = ("folds", "repeats", "seed", "positive_class", "amount", "generator_seeds")
    return {**{k: s[k] for k in keep},
            "augmenter_params": {method: s["augmenter_params"].get(method, {})},
            "classifier_params": {classifier: s["classifier_params"].get(classifier, {})}}


def aggregate_outputs() -> dict:
    return {"per_fold": f"{OUT}/per_fold.tsv", "aggregate": f"{OUT}/aggregate.tsv",
            "inflation": f"{OUT}/inflation.tsv", "worth": f"{OUT}/worth.tsv",
            "pooled_oof": f"{OUT}/pooled_oof.tsv"}


def plot_outputs(s: dict) -> dict:
    """Figures the config asks for (scenarios that are off produce no figure)."""
    plots = {"arms": f"{OUT}/plots/arms.png", "roc_pr": f"{OUT}/plots/roc_pr.png"}
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


def all_classify_outputs(config: dict) -> dict:
    """Inputs of rule `aggregate`: every per-fold metrics TSV and its out-of-fold predictions."""
    s = benchmark_settings(config.get("benchmark", {}))
    jobs = classify_jobs(s)
    return {"metrics": [classify_output(*j) for j in jobs],
            "oof": [oof_output(*j) for j in jobs]}


__all__ = ["DEFAULTS", "benchmark_settings", "classify_jobs", "classify_inputs", "gan_trainings",
           "benchmark_targets", "all_classify_outputs", "classify_params", "required_gan_amount",
           "dose_arms",
           "format_ratio", "plot_outputs", "aggregate_outputs"]
