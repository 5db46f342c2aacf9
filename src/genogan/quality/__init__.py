"""Quality of synthetic samples: fidelity, sequence-aware fidelity, utility, privacy, privacy gate.

Every metric is a pure function of arrays (see `fidelity`, `sequence`, `utility`, `privacy`) with a
documented range and direction; `evaluate_quality` runs them all on one fold, for any augmenter.
Names below are imported lazily so `genogan --help` does not load scikit-learn and matplotlib.
"""

import importlib

# k of the k-NN metrics and checks, read by validation too (this module imports nothing heavy)
QUALITY_K_NEAREST = 3

_EXPORTS = {
    "METRICS": "evaluate", "evaluate_quality": "evaluate", "summary_table": "evaluate",
    "GateResult": "privacy", "privacy_gate": "privacy",
    "plot_dcr": "report", "plot_pca": "report", "run_gate": "report", "run_quality": "report",
    "write_quality": "report",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"genogan.quality.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'genogan.quality' has no attribute {name!r}")
