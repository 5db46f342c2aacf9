"""Reference cohorts: no study sample ever in the reference (ids, files, near-duplicates), the
study's features, the reference space fitted on reference rows only, the +ref arms and their
controls, pretraining on unlabelled rows."""

import copy

import numpy as np
import pandas as pd
import pytest

from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix
from genogan.reference import (
    build_reference,
    check_disjoint_from_study,
    check_near_duplicates,
    match_features,
    nearest_study_neighbours,
    study_labels,
)
from genogan.reference_space import UNLABELLED, ReferenceRepresentation, fit_reference_space

P = 12
NAMES = [f"g{i}" for i in range(P)]


def cohort(n, seed, prefix, labelled=True):
    """Rows of one process: 3 latent factors, the first shifted by class, plus noise."""
    rng = np.random.default_rng(seed)
    W = np.random.default_rng(99).normal(size=(3, P))
    y = np.array(["case", "control"] * (n // 2))
    z = rng.normal(size=(n, 3))
    z[:, 0] += np.where(y == "case", 1.0, -1.0)
    X = z @ W + rng.normal(size=(n, P))
    return FeatureMatrix(X=X, y=y if labelled else np.full(n, UNLABELLED),
                         samples=np.array([f"{prefix}{i:03d}" for i in range(n)]),
                         feature_names=list(NAMES))


def write_table(fm, path):
    df = pd.DataFrame(fm.X, columns=fm.feature_names)
    df.insert(0, "sample", fm.samples)
    df.to_csv(path, sep="\t", index=False)
    return path


# ---- ids and files -------------------------------------------------------------------------------
def sheet(samples, **files):
    return pd.DataFrame({"sample": samples, **files})


def test_a_shared_sample_id_stops_naming_it():
    with pytest.raises(GenoganInputError, match="'S002' is in both") as err:
        check_disjoint_from_study(sheet(["S001", "S002"]), sheet(["R1", "S002"]),
                                  study_path="s.tsv", reference_path="r.tsv", check_files=False)
    assert "never contain a study sample" in str(err.value)


def test_the_same_file_under_another_name_stops(tmp_path):
    (tmp_path / "a.fa").write_text(">x\nACGTACGT\n")
    (tmp_path / "copy.fa").write_text(">x\nACGTACGT\n")
    (tmp_path / "other.fa").write_text(">x\nACGTACGA\n")
    study = sheet(["S1"], fasta=["a.fa"])
    check_disjoint_from_study(study, sheet(["R1"], fasta=["other.fa"]), study_path="s",
                              reference_path="r", base_dir=tmp_path)
    with pytest.raises(GenoganInputError, match="'R2' reads the same file as study sample 'S1'"):
        check_disjoint_from_study(study, sheet(["R1", "R2"], fasta=["other.fa", "copy.fa"]),
                                  study_path="s", reference_path="r", base_dir=tmp_path)


# ---- near-duplicates -----------------------------------------------------------------------------
def test_a_remeasured_study_sample_is_a_near_duplicate_and_named():
    study, ref = cohort(40, 1, "S"), cohort(400, 2, "R", labelled=False)
    check_near_duplicates(study, ref, 1.0)  # the same process, no study sample: passes
    noisy = study.X[7] + np.random.default_rng(3).normal(size=P) * 0.1 * study.X.std(axis=0)
    ref.X[123] = noisy
    with pytest.raises(GenoganInputError, match="'R123' is a near-duplicate of study sample "
                                                "'S007'"):
        check_near_duplicates(study, ref, 1.0)


def test_near_duplicate_threshold_is_fraction_of_the_study_percentile():
    study = cohort(30, 4, "S")
    own = np.sort(np.linalg.norm((study.X[:, None] - study.X[None]) / study.X.std(axis=0),
                                 axis=2) + np.eye(30) * 1e9, axis=1)[:, 0]  # brute force
    ref = np.vstack([study.X[0] * 1.0, study.X[1] + 5.0])
    close = nearest_study_neighbours(study.X, ref, 10, fraction=0.5)
    assert close["threshold"].iloc[0] == pytest.approx(0.5 * np.percentile(own, 10))
    assert close["reference"].tolist() == [0] and close["study"].tolist() == [0]


# ---- features and the space ----------------------------------------------------------------------
def test_features_are_matched_by_name_extra_dropped_missing_named():
    ref = cohort(20, 5, "R")
    shuffled = FeatureMatrix(X=ref.X[:, ::-1], y=ref.y, samples=ref.samples,
                             feature_names=NAMES[::-1] + [])
    out = match_features(shuffled, NAMES)
    np.testing.assert_array_equal(out.X, ref.X)
    wider = FeatureMatrix(X=np.hstack([ref.X, ref.X[:, :1]]), y=ref.y, samples=ref.samples,
                          feature_names=NAMES + ["extra"])
    assert match_features(wider, NAMES).feature_names == NAMES
    with pytest.raises(GenoganInputError, match="no feature 'g3'"):
        match_features(FeatureMatrix(X=ref.X[:, :3], y=ref.y, samples=ref.samples,
                                     feature_names=NAMES[:3]), NAMES)


def test_the_reference_space_never_sees_a_study_row(tmp_path):
    """Two studies with different rows give the same space: it is the reference's alone."""
    ref = cohort(200, 6, "R", labelled=False)
    path = write_table(ref, tmp_path / "ref.tsv")
    refsheet = pd.DataFrame({"sample": ref.samples, "condition": ref.y})
    spaces = []
    for seed in (7, 8):
        _, space = build_reference(refsheet, cohort(40, seed, "S"), input_type="table",
                                   options={}, rank=4, percentile=1, path=str(path))
        spaces.append(space.to_json())
    assert spaces[0] == spaces[1]
    from genogan.features import table_to_matrix

    assert spaces[0] == fit_reference_space(table_to_matrix(path, refsheet), 4).to_json()


def test_study_labels_keep_study_classes_only():
    got = study_labels(["case", "", "tumour", "control"], ["case", "control"])
    assert got.tolist() == ["case", UNLABELLED, UNLABELLED, "control"]


# ---- the +ref arms -------------------------------------------------------------------------------
def representation(ref_labelled=10):
    ref = cohort(200, 9, "R")
    ref.y = np.array([c if i < ref_labelled else UNLABELLED for i, c in enumerate(ref.y)])
    keep = ref.y != UNLABELLED
    labelled = FeatureMatrix(X=ref.X[keep], y=ref.y[keep], samples=ref.samples[keep],
                             feature_names=ref.feature_names)
    return ReferenceRepresentation(fit_reference_space(ref, 3), NAMES, labelled)


def evaluate(arm, rep, seed=0):
    from genogan.benchmark.jobs import evaluate_arm
    from genogan.benchmark.targets import benchmark_settings

    train, test = cohort(24, 10 + seed, "S"), cohort(12, 20 + seed, "T")
    s = benchmark_settings({"arms": ["none", arm] if arm != "none" else ["none"],
                            "generator_seeds": [1]})
    return evaluate_arm(train, test, "r0_f0", arm, "logreg", s, positive="case",
                        reference=rep)[0].iloc[0]


def test_none_ref_is_logreg_on_the_projected_parts():
    """Oracle: the same classifier fitted by hand on the reference-space scores."""
    from genogan.benchmark.classify import build_classifier
    from sklearn.metrics import roc_auc_score

    rep = representation()
    row = evaluate("none+ref", rep)
    train, test = rep.project(cohort(24, 10, "S")), rep.project(cohort(12, 20, "T"))
    clf = build_classifier("logreg", seed=7).fit(train.X, train.y)
    scores = clf.predict_proba(test.X)[:, list(clf.classes_).index("case")]
    assert row["auroc"] == pytest.approx(roc_auc_score(test.y == "case", scores))
    assert row["n_train_synthetic"] == 0


def test_real_ref_adds_exactly_the_labelled_reference_rows():
    row = evaluate("real+ref", representation(ref_labelled=10))
    assert row["n_train_real"] == 24 and row["n_train_synthetic"] == 10


def test_a_ref_arm_without_the_reference_stops():
    with pytest.raises(GenoganInputError, match="reference cohort's space"):
        evaluate("none+ref", None)


@pytest.mark.parametrize("text, method, stochastic", [
    ("cwgan_gp+ref", "cwgan_gp+ref", True), ("none+ref", "none+ref", False),
    ("real+ref", "real+ref", False), ("gaussian_pca+ref-x2", "gaussian_pca+ref", True)])
def test_ref_arm_ids(text, method, stochastic):
    from genogan.benchmark.arms import parse_arm

    arm = parse_arm(text)
    assert (arm.method, arm.stochastic, arm.uses_reference, str(arm)) == (
        method, stochastic, True, text)


def test_leaky_ref_arms_and_real_without_ref_are_refused():
    from genogan.benchmark.arms import parse_arm
    from genogan.benchmark.names import check_methods

    with pytest.raises(GenoganInputError, match="no \\+ref variant"):
        parse_arm("leaky-smote+ref")
    with pytest.raises(GenoganInputError, match="exists only as real\\+ref"):
        check_methods(["real"], "benchmark.arms")


def test_the_plan_fine_tunes_ref_arms_from_the_pretrained_model():
    from genogan.benchmark.targets import Plan, benchmark_settings

    s = benchmark_settings({"folds": 2, "repeats": 1, "generator_seeds": [1],
                            "arms": ["none", "none+ref", "cwgan_gp", "cwgan_gp+ref"],
                            "dose_response": {"enabled": False},
                            "learning_curve": {"enabled": False},
                            "null_control": {"enabled": False},
                            "leaky_control": {"enabled": False}})
    plan = Plan(s)
    assert plan.pretrained_models() == ["cwgan_gp"]
    params = [t for b in plan.batches for t in plan.batch_params(b)]
    ref = [t for t in params if t["model"] == "cwgan_gp+ref"]
    assert len(ref) == 2 and all(t["init_from"] == "results/reference/pretrained/cwgan_gp"
                                 and t["base_model"] == "cwgan_gp" for t in ref)
    assert all("init_from" not in t for t in params if t["model"] == "cwgan_gp")
    inputs = plan.evaluate_inputs("r0_f0")
    assert inputs["reference_space"].endswith("space.json")


# ---- validation ----------------------------------------------------------------------------------
@pytest.fixture
def config(tmp_path):
    study, ref = cohort(40, 11, "S"), cohort(100, 12, "R")
    write_table(study, tmp_path / "study.tsv")
    write_table(ref, tmp_path / "ref.tsv")
    pd.DataFrame({"sample": study.samples, "condition": study.y}).to_csv(
        tmp_path / "samples.tsv", sep="\t", index=False)
    pd.DataFrame({"sample": ref.samples}).to_csv(tmp_path / "ref_samples.tsv", sep="\t",
                                                 index=False)
    return {"samples": str(tmp_path / "samples.tsv"),
            "features_table": str(tmp_path / "study.tsv"),
            "reference_cohort": {"samples": str(tmp_path / "ref_samples.tsv"),
                                 "path": str(tmp_path / "ref.tsv")},
            "benchmark": {"folds": 2, "repeats": 1, "amount": 1,
                          "arms": ["none", "none+ref", "cwgan_gp+ref"]}}


def load(config):
    from genogan.config_check import load_workflow_inputs

    return load_workflow_inputs(copy.deepcopy(config), "config.yaml")


def test_a_valid_reference_config_loads_unlabelled(config):
    _, _, ref = load(config)
    assert len(ref) == 100 and set(ref["condition"]) == {UNLABELLED}


def test_ref_arms_need_a_reference_and_their_control(config):
    no_ref = {k: v for k, v in config.items() if k != "reference_cohort"}
    with pytest.raises(GenoganInputError, match="needs a reference cohort"):
        load(no_ref)
    config["benchmark"]["arms"] = ["none", "cwgan_gp+ref"]
    with pytest.raises(GenoganInputError, match="not their control none\\+ref"):
        load(config)


def test_real_ref_needs_labelled_reference_samples(config):
    config["benchmark"]["arms"] = ["none", "none+ref", "real+ref"]
    with pytest.raises(GenoganInputError, match="none of them carries one"):
        load(config)


def test_a_study_id_in_the_reference_sheet_stops_validation(config, tmp_path):
    pd.DataFrame({"sample": ["R000", "S005"]}).to_csv(tmp_path / "ref_samples.tsv", sep="\t",
                                                      index=False)
    with pytest.raises(GenoganInputError, match="'S005' is in both"):
        load(config)


def test_expression_fold_steps_are_refused_with_a_reference(config):
    config.pop("features_table")
    config.update(input_type="expression", expression={"path": config["reference_cohort"]["path"],
                                                       "filter": {"method": "anova"}})
    with pytest.raises(GenoganInputError, match="fold-fitted expression steps"):
        load(config)


# ---- pretraining ---------------------------------------------------------------------------------
def test_unlabelled_rows_get_the_all_zero_label():
    from genogan.generators.train import label_index, one_hot

    y = ["case", UNLABELLED, "control", "tumour"]
    assert label_index(y, ["case", "control"]).tolist() == [0, -1, 1, -1]
    np.testing.assert_array_equal(one_hot(y, ["case", "control"]),
                                  [[1, 0], [0, 0], [0, 1], [0, 0]])


@pytest.mark.slow
@pytest.mark.parametrize("model", ["ddpm", "cvae"])
def test_a_pretrained_generator_is_closer_to_held_out_samples_than_an_in_fold_one(model):
    """The designed case: 1,000 unlabelled reference rows reveal the 4-factor structure that 26
    labelled rows cannot; pretrained + fine-tuned samples are nearer (MMD) held-out real rows."""
    from genogan.generators.monitor import mmd_rbf
    from genogan.generators.synthesis import generate_arrays
    from genogan.generators.train import pretrain_model, train_model

    p, mmd = 40, {"pretrained": [], "in_fold": []}
    for rep in range(2):
        W = np.random.default_rng(100 + rep).normal(size=(4, p))

        def draw(n, seed, W=W):
            rng = np.random.default_rng(seed)
            y = np.array(["case", "control"] * (n // 2))
            z = rng.normal(size=(n, 4))
            z[:, 0] += np.where(y == "case", 1.0, -1.0)
            return z @ W + rng.normal(size=(n, p)) * 0.7, y

        X_ref, _ = draw(1000, 1 + 10 * rep)
        X, y = draw(26, 2 + 10 * rep)
        X_held, _ = draw(400, 3 + 10 * rep)
        ref = FeatureMatrix(X=X_ref, y=np.full(1000, UNLABELLED), samples=np.arange(1000),
                            feature_names=[str(i) for i in range(p)])
        cfg = {"epochs": 150, "preprocess": {"mode": "none"}}
        pre = pretrain_model(X_ref, ref.y, ["case", "control"], model=model, config=cfg,
                             space=fit_reference_space(ref, 8, {"mode": "none"}))
        runs = {"pretrained": train_model(X, y, model=model, init_from=pre, config=cfg),
                "in_fold": train_model(X, y, model=model, config=cfg)}
        mu, sd = X.mean(axis=0), X.std(axis=0)
        for name, trained in runs.items():
            fake = generate_arrays(trained.model, trained.preprocessor, trained.classes,
                                   {"case": 200, "control": 200}, seed=5)[0]
            mmd[name].append(mmd_rbf((X_held - mu) / sd, (fake - mu) / sd))
    assert np.mean(mmd["pretrained"]) < np.mean(mmd["in_fold"]), mmd


# ---- through the real rules ----------------------------------------------------------------------
def protein_run(tmp_path, extra_records=()):
    """The protein example's study (40 proteins) and a 30-protein reference of the same
    families (another seed, ids R001...), plus `extra_records`, as a workflow config."""
    from conftest import write_config

    from genogan.examples import simulate_protein_families, write_protein_example

    write_protein_example(tmp_path)
    records, _ = simulate_protein_families(n_samples=30, seed=8)
    records = [(f"R{i + 1:03d}", seq) for i, (_, seq) in enumerate(records)] + list(extra_records)
    (tmp_path / "ref.fa").write_text("".join(f">{sid}\n{seq}\n" for sid, seq in records))
    (tmp_path / "ref.tsv").write_text("sample\n" + "".join(f"{sid}\n" for sid, _ in records))
    return write_config(tmp_path, {
        "samples": str(tmp_path / "samples.tsv"), "input_type": "sequences",
        "demo": {"enabled": False},
        "sequences": {"path": str(tmp_path / "proteins.fa"), "alphabet": "protein", "k": 1,
                      "extra_features": True},
        "reference_cohort": {"samples": str(tmp_path / "ref.tsv"),
                             "path": str(tmp_path / "ref.fa"), "rank": 5},
        "benchmark": {"folds": 3, "repeats": 1, "amount": 1, "generator_seeds": [1],
                      "arms": ["none", "none+ref", "cvae+ref"]}})


def test_reference_sequences_go_through_the_study_feature_path(tmp_path):
    from conftest import run_snakemake

    from genogan.features import read_matrix
    from genogan.reference_space import read_space

    cfg = protein_run(tmp_path)
    dry = run_snakemake(tmp_path, "--configfile", str(cfg), "-n").stdout
    for rule in ("reference_matrix", "pretrain", "train_gan"):
        assert rule in dry
    run_snakemake(tmp_path, "--configfile", str(cfg), "-c1", "results/reference/space.json")
    study = read_matrix(tmp_path / "results/features/matrix.parquet")
    ref = read_matrix(tmp_path / "results/reference/matrix.parquet")
    assert ref.feature_names == study.feature_names and len(ref.y) == 30
    assert set(ref.y) == {UNLABELLED}
    names, space = read_space(tmp_path / "results/reference/space.json")
    assert names == study.feature_names and space.n_output_ == 5
    # oracle: residue frequencies of R001, counted by hand from its FASTA record
    seq = (tmp_path / "ref.fa").read_text().split("\n")[1].upper()
    letters = [c for c in seq if c in "ACDEFGHIKLMNPQRSTVWY"]
    assert ref.X[0, ref.feature_names.index("W")] == pytest.approx(
        letters.count("W") / len(letters))


def test_a_study_protein_in_the_reference_stops_the_feature_stage(tmp_path):
    from conftest import run_snakemake

    from genogan.examples import simulate_protein_families

    study_records, _ = simulate_protein_families()  # the example's own 40 proteins
    cfg = protein_run(tmp_path, extra_records=[("Rcopy", study_records[4][1])])
    proc = run_snakemake(tmp_path, "--configfile", str(cfg), "-c1",
                         "results/reference/space.json", check=False)
    assert proc.returncode != 0
    log = (tmp_path / "logs/reference_matrix.log").read_text()
    assert "reference sample 'Rcopy' is a near-duplicate of study sample 'P005'" in log


def test_a_killed_pretraining_resumes_bit_for_bit(tmp_path):
    from conftest import assert_same_weights

    from genogan.generators.train import pretrain_model

    ref = cohort(64, 13, "R", labelled=False)
    kwargs = {"space": fit_reference_space(ref, 4), "model": "cvae",
              "pretrain": {"epochs": 6, "batch_size": 16}, "config": {"checkpoint_every": 2}}
    whole = pretrain_model(ref.X, ref.y, ["case", "control"], **kwargs)

    class Killed(Exception):
        pass

    def kill(epoch, row):
        if epoch == 3:
            raise Killed

    with pytest.raises(Killed):
        pretrain_model(ref.X, ref.y, ["case", "control"], checkpoint_dir=tmp_path / "ck",
                       on_epoch_end=kill, **kwargs)
    assert list((tmp_path / "ck").glob("ckpt-2*"))  # the epoch-2 checkpoint survived
    resumed = pretrain_model(ref.X, ref.y, ["case", "control"], checkpoint_dir=tmp_path / "ck",
                             **kwargs)
    assert_same_weights(whole.model, resumed.model)
    assert resumed.info["epochs_trained"] == 6


def test_real_ref_and_projection_with_no_labelled_reference_row():
    rep = representation(ref_labelled=0)
    X, y = rep.labelled_rows()
    assert X.shape == (0, 3) and len(y) == 0
    assert evaluate("none+ref", rep)["n_train_synthetic"] == 0


def test_reference_reads_go_through_the_study_align_and_kmer_rules(tmp_path):
    """A dry run: each reference sample's reads get the study's own kmer_profile job (same k,
    same path), and rule reference_matrix reads exactly those count files."""
    from conftest import run_snakemake, write_config

    (tmp_path / "genome.fa").write_text(">chr1\n" + "ACGTTGCA" * 50 + "\n")
    rows = {"study": [], "reference": []}
    for cohort, prefix, n in (("study", "S", 8), ("reference", "R", 3)):
        for i in range(n):
            fq = tmp_path / f"{prefix}{i}.fq"
            fq.write_text(f"@{prefix}{i}_r\n{'ACGTTGCAAC'[i % 5:] + 'ACGT' * 5}\n+\n"
                          f"{'I' * (len('ACGTTGCAAC'[i % 5:]) + 20)}\n")
            rows[cohort].append((f"{prefix}{i}", ["case", "control"][i % 2], str(fq)))
    pd.DataFrame(rows["study"], columns=["sample", "condition", "fq1"]).to_csv(
        tmp_path / "samples.tsv", sep="\t", index=False)
    pd.DataFrame([(s, fq) for s, _, fq in rows["reference"]], columns=["sample", "fq1"]).to_csv(
        tmp_path / "ref.tsv", sep="\t", index=False)
    cfg = write_config(tmp_path, {
        "samples": str(tmp_path / "samples.tsv"), "reference": str(tmp_path / "genome.fa"),
        "demo": {"enabled": False}, "kmers": {"k": 3, "source": "reads"},
        "reference_cohort": {"samples": str(tmp_path / "ref.tsv"), "rank": 2},
        "benchmark": {"folds": 2, "repeats": 1, "arms": ["none", "none+ref"],
                      "classifiers": ["logreg"], "quality_baselines": [],
                      "dose_response": {"enabled": False}, "learning_curve": {"enabled": False},
                      "null_control": {"enabled": False}, "leaky_control": {"enabled": False}}})
    out = run_snakemake(tmp_path, "--configfile", str(cfg), "-n", "-p",
                        "results/reference/space.json").stdout
    for sample in ("R0", "R1", "R2"):
        assert f"results/kmers/{sample}.npz" in out
    job = out[out.index("rule reference_matrix:"):]
    job = job[:job.index("\n\n")]
    assert all(f"results/kmers/R{i}.npz" in job for i in range(3))
    assert "results/kmers/S0.npz" not in job
