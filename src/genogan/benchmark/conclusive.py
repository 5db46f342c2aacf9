"""When a confidence interval lets the benchmark conclude, and the words for it (one home).

The rule (an equivalence reading, as in two one-sided tests): the smallest difference worth acting
on is `MARGIN_SHARE` (5 %) of the metric's range -- 0.05 for AUROC, AUPRC and balanced accuracy,
0.1 for MCC. A paired difference (arm - none) with 95 % CI [low, high] reads as

* ``gain`` when low > 0 and ``loss`` when high < 0 (a detectable difference);
* ``no_meaningful_difference`` when the CI contains 0 and lies inside +-margin;
* ``too_wide`` when the CI contains 0 and reaches beyond +-margin: the data cannot tell a
  gain (or loss) of that size from none, so the figure says "too wide to conclude" on it;
* ``unknown`` when a bound is missing (fewer than 2 splits).

The null control reads an absolute score the same way around chance (score - chance).
Every "worth n real samples" statement of the learning curve is worded from the reading of its
paired gap to `none` at the same fraction: only a ``gain`` is worth extra real samples.
"""

from __future__ import annotations

import math

from genogan.benchmark.metrics import METRIC_LABELS

MARGIN_SHARE = 0.05
METRIC_RANGE = {"mcc": (-1.0, 1.0)}  # every other metric lies in [0, 1]
GAIN, LOSS, SAME, TOO_WIDE, UNKNOWN = ("gain", "loss", "no_meaningful_difference", "too_wide",
                                       "unknown")


def metric_range(metric: str) -> tuple[float, float]:
    """Where a score lies: [0, 1], MCC [-1, 1]."""
    return METRIC_RANGE.get(metric, (0.0, 1.0))


def diff_range(metric: str) -> tuple[float, float]:
    """Where a difference of two scores lies: [-1, 1], MCC [-2, 2] (never the score's range)."""
    lo, hi = metric_range(metric)
    return lo - hi, hi - lo


def margin(metric: str) -> float:
    """The smallest difference in `metric` worth acting on (MARGIN_SHARE of its range)."""
    lo, hi = metric_range(metric)
    return MARGIN_SHARE * (hi - lo)


def reading(low, high, metric: str, centre: float = 0.0) -> str:
    """What a 95 % CI [low, high] of a difference (or of a score around `centre`) lets us say."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return UNKNOWN
    low, high = low - centre, high - centre
    if low > 0:
        return GAIN
    if high < 0:
        return LOSS
    m = margin(metric)
    return SAME if (low >= -m and high <= m) else TOO_WIDE


def too_wide_note(labels, metric: str, total: int, what: str = "difference to none") -> str:
    """The line a figure carries when some of its `total` CIs are too wide to conclude."""
    labels = list(labels)
    if not labels:
        return ""
    m = margin(metric)
    head = (f"Too wide to conclude ({len(labels)} of {total}): the 95 % CI of the {what} "
            f"contains 0 and reaches beyond \u00b1{m:g} {METRIC_LABELS.get(metric, metric)}")
    shown = ", ".join(labels[:6]) + (f" and {len(labels) - 6} more" if len(labels) > 6 else "")
    return f"{head}\n({shown})"


def _gap(row) -> str:
    return (f"{row['gap']:+.3f}, 95 % CI {row['gap_ci_low']:+.3f} to {row['gap_ci_high']:+.3f}")


def worth_statement(row) -> str:
    """One worth-table row (aggregate.worth) in words that follow the CI of its gap to none."""
    where = f"{row['arm']} at {row['percent']:.0f} % ({row['n_real']:.1f} real samples)"
    kind = row["reading"]
    if kind == GAIN and row["extra_real_samples"] > 0:
        n = ("more real samples than the whole 'none' curve" if row["status"] == "above_curve"
             else f"~{row['n_equivalent']:.1f} real samples")
        return f"{where}: worth {n} (gap to none {_gap(row)})"
    if kind == GAIN:
        return f"{where}: above none ({_gap(row)}) but worth no extra real samples on its curve"
    if kind == LOSS:
        return f"{where}: below none ({_gap(row)}): worth fewer real samples than it has"
    if kind == UNKNOWN:
        return f"{where}: no CI (fewer than 2 splits), no worth claimed"
    wide = "; CI too wide to conclude" if kind == TOO_WIDE else ""
    return f"{where}: no detectable gain over none ({_gap(row)}{wide})"
