"""Privacy: do synthetic samples reveal the real patients they were trained on?

The yardstick everywhere is the holdout (the fold's test part): real samples from the same
population that the generator never saw. A synthetic sample that is much closer to a training
sample than holdout samples are is a (near-)copy; an attacker who can tell training members from
holdout samples by their distance to the synthetic set has a membership-inference attack.

Inputs are arrays in the standardised space of `genogan.quality.distances` (scaler fitted on the
real training part only), except `privacy_gate`, which standardises for itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from genogan.features import FeatureMatrix
from genogan.quality.distances import (copy_tolerance, distance_blocks, fit_scaler,
                                       knn_distances, nearest, standardise, subsample)
from genogan.settings.sections import schema_default


def dcr(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Distance to closest record: each query row's distance to its nearest reference row (>= 0).

    For synthetic -> train, 0 is an exact copy; compare with holdout -> train, what an unseen
    real sample scores.
    """
    return knn_distances(query, reference, 1)[:, 0]


def nndr(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Nearest-neighbour distance ratio d1 / d2 to the reference set, in [0, 1].

    Near 0: the query sits on one particular record (a copy or near-copy, or an outlier's
    neighbourhood); near 1: it is as close to several records, i.e. in a populated region.
    """
    return ratio_of_nearest(knn_distances(query, reference, 2))


def ratio_of_nearest(d: np.ndarray) -> np.ndarray:
    """d1 / d2 from (n, 2) sorted neighbour distances (0 where both are 0: exact duplicates)."""
    return np.divide(d[:, 0], d[:, 1], out=np.zeros(len(d)), where=d[:, 1] > 0)


def adversarial_accuracy(real: np.ndarray, synth: np.ndarray) -> float:
    """Nearest-neighbour adversarial accuracy AA_TS (Yale et al. 2020), in [0, 1].

    AA_TS = 1/2 [mean_i 1(d_TS(i) > d_TT(i)) + mean_j 1(d_ST(j) > d_SS(j))], where d_TS(i) is real
    sample i's distance to the nearest synthetic sample and d_TT(i) to the nearest other real one
    (likewise for synthetic j). 0.5 = ideal (a 1-NN classifier cannot tell the sets apart);
    near 0 = synthetic samples sit on top of real ones (copies, overfitting); near 1 = synthetic
    samples are far from the real ones (poor fidelity). Use equal set sizes.
    """
    d_ts, d_tt = dcr(real, synth), knn_distances(None, real, 1)[:, 0]
    d_st, d_ss = dcr(synth, real), knn_distances(None, synth, 1)[:, 0]
    return 0.5 * (float(np.mean(d_ts > d_tt)) + float(np.mean(d_st > d_ss)))


def nn_adversarial_privacy(train: np.ndarray, holdout: np.ndarray, synth: np.ndarray,
                           seed: int = 0) -> dict[str, float]:
    """AA_train, AA_test and privacy loss = AA_test - AA_train (Yale et al. 2020).

    Each pair of sets is subsampled to equal size (seeded). Privacy loss near 0 = the generator is
    no closer to its training data than to unseen data; a clearly positive loss = memorisation.
    NaN where a set has fewer than two samples (no leave-one-out neighbour).
    """
    rng = np.random.default_rng(seed)
    result = {}
    for name, real in (("aa_train", train), ("aa_test", holdout)):
        n = min(len(real), len(synth))
        result[name] = (adversarial_accuracy(subsample(real, n, rng), subsample(synth, n, rng))
                        if n >= 2 else np.nan)
    result["privacy_loss"] = result["aa_test"] - result["aa_train"]
    return result


def membership_inference_auc(train: np.ndarray, holdout: np.ndarray, synth: np.ndarray) -> float:
    """ROC AUC of a distance attack: members (train) vs non-members (holdout), scored by closeness
    to the nearest synthetic sample. Range [0, 1]: 0.5 = no membership leak (best); near 1 = the
    synthetic set reveals who was in the training data.
    """
    return membership_auc_from_distances(dcr(train, synth), dcr(holdout, synth))


def membership_auc_from_distances(member_dist: np.ndarray, nonmember_dist: np.ndarray) -> float:
    """The attack's AUC from members' and non-members' distances to the synthetic set."""
    members = np.r_[np.ones(len(member_dist)), np.zeros(len(nonmember_dist))]
    return float(roc_auc_score(members, -np.r_[member_dist, nonmember_dist]))


@dataclass
class NearCopies:
    """Synthetic samples closer to a holdout sample than its nearest training neighbour is."""

    holdout_dcr: np.ndarray  # (n_holdout,) distance of each holdout sample to its nearest train
    n_closer: np.ndarray  # (n_holdout,) synthetic samples inside that radius
    nearest_synth: np.ndarray  # (n_holdout,) distance to the nearest synthetic sample
    pairs: np.ndarray  # (n_pairs, 2) [holdout index, synthetic index] of flagged pairs
    pair_distance: np.ndarray  # (n_pairs,)
    expected_fraction: float  # fraction of holdout samples with >= 1 such synthetic, if the
    #                          generator drew fresh samples from the population: m / (n + m)

    @property
    def fraction(self) -> float:
        return float(np.mean(self.n_closer > 0))


def near_copies(holdout: np.ndarray, train: np.ndarray, synth: np.ndarray,
                holdout_dcr: np.ndarray | None = None) -> NearCopies:
    """Flag synthetic samples closer to a holdout sample h than h's nearest training neighbour.

    Calibration: if the m synthetic samples were fresh draws from the population, the n training
    and m synthetic samples would be exchangeable around h, so the nearest of them is synthetic
    with probability m / (n + m). A flagged fraction well above that means the synthetic data
    hugs the test samples — test data leaked into generation, or the population is memorised.
    `holdout_dcr`: the holdout -> train distances when the caller already has them.
    """
    radius = dcr(holdout, train) if holdout_dcr is None else holdout_dcr
    n_closer = np.zeros(len(holdout), dtype=int)
    nearest_synth = np.empty(len(holdout))
    pairs, dists = [], []
    for start, d in distance_blocks(holdout, synth):
        rows = slice(start, start + len(d))
        inside = d < radius[rows, None]
        n_closer[rows] = inside.sum(axis=1)
        nearest_synth[rows] = d.min(axis=1)
        h, s = np.nonzero(inside)
        pairs.append(np.c_[h + start, s])
        dists.append(d[h, s])
    expected = len(synth) / (len(train) + len(synth))
    return NearCopies(radius, n_closer, nearest_synth, np.concatenate(pairs).astype(int),
                      np.concatenate(dists), expected)


@dataclass
class GateResult:
    kept: FeatureMatrix | np.ndarray  # the synthetic samples that pass
    keep: np.ndarray  # boolean mask over the input synthetic samples
    n_dropped: int
    threshold: float  # distance below or at which a synthetic sample is dropped
    dcr: np.ndarray  # each synthetic sample's distance to its nearest training sample
    reference: str  # 'loo' (within-training leave-one-out) or 'holdout'


def gate_threshold(train_z: np.ndarray, percentile: float, holdout_z: np.ndarray | None = None):
    """The gate's distance threshold: a low percentile of "how close is a genuine other sample".

    Default (holdout_z None): leave-one-out nearest-neighbour distances within the training set.
    They use training data only, so a gated set fed to the benchmark carries no information from
    the test fold. With `holdout_z`, holdout -> train distances are used instead — the textbook
    reference, but it lets test samples decide which synthetic samples enter training, so it is
    for reporting only. LOO distances come from n-1 points, so they are slightly larger than
    holdout -> train ones: the default gate is marginally stricter.
    """
    reference = knn_distances(None, train_z, 1)[:, 0] if holdout_z is None else dcr(
        holdout_z, train_z)
    return float(np.percentile(reference, percentile))


def privacy_gate(synthetic, train, reference="loo",
                 percentile: float = schema_default("quality.privacy_gate.percentile")
                 ) -> GateResult:
    """Drop synthetic samples closer to a training sample than a percentile of genuine distances.

    `synthetic`, `train`: FeatureMatrix objects (then `kept` is a FeatureMatrix) or arrays of raw
    features; distances are Euclidean after standardising with a scaler fitted on `train`.
    `reference`: 'loo' (default, leakage-free; see `gate_threshold`) or a holdout FeatureMatrix /
    array (reporting only). A synthetic sample is dropped when its DCR <= threshold, and the
    threshold is at least `copy_tolerance`, so exact copies go even when duplicated training
    samples make the percentile 0.
    """
    x_syn = synthetic.X if isinstance(synthetic, FeatureMatrix) else np.asarray(synthetic, float)
    x_train = train.X if isinstance(train, FeatureMatrix) else np.asarray(train, float)
    if isinstance(reference, str) and reference != "loo":
        raise ValueError("reference must be 'loo' or the holdout samples")
    scaler = fit_scaler(x_train)
    syn_z, train_z = standardise(scaler, x_syn, x_train)
    holdout_z = None
    if not isinstance(reference, str):
        ref = reference.X if isinstance(reference, FeatureMatrix) else reference
        (holdout_z,) = standardise(scaler, ref)
    threshold = max(gate_threshold(train_z, percentile, holdout_z),
                    copy_tolerance(train_z.shape[1]))
    distance = nearest(syn_z, train_z)[0] if len(syn_z) else np.zeros(0)
    keep = distance > threshold
    return GateResult(_subset(synthetic, keep), keep, int((~keep).sum()), threshold, distance,
                      "loo" if holdout_z is None else "holdout")


def _subset(data, keep: np.ndarray):
    if not isinstance(data, FeatureMatrix):
        return np.asarray(data)[keep]
    extra = data.extra
    if extra is not None:
        extra = extra.iloc[np.flatnonzero(keep)].reset_index(drop=True)
    return FeatureMatrix(data.X[keep], data.y[keep], data.samples[keep],
                         list(data.feature_names), extra)
