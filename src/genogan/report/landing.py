"""Rule `verdict`: the answer (results/benchmark/verdict.txt), the report's landing page and the
report's HTML tables, from the aggregated benchmark and the cross-fold quality overview."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from genogan.io import atomic_write_text
from genogan.report.tables import REPORT_TABLES, write_table_html
from genogan.settings import paths

# The report's first page when the answer exists (workflow/Snakefile's `report:` picks it up).
LANDING = paths.LANDING
VERDICT = paths.VERDICT


def _read(path, reader) -> pd.DataFrame:
    """A table, or an empty one for a scenario that wrote none (e.g. worth without a curve)."""
    try:
        return reader(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def verdict_job(inputs: dict, s: dict, description_rst, outputs: dict) -> list[str]:
    """Write verdict.txt, the landing page and one HTML page per table; return the sentences."""
    from genogan.benchmark.jobs import read_tsv
    from genogan.benchmark.verdict import answer_table, landing_rst, verdict_lines

    tables = {key: _read(inputs[key], read_tsv) for key in ("aggregate", "inflation", "worth")}
    for key in ("splits", "close_pairs"):  # the sentence on grouped splits
        if inputs.get(key):
            tables[key] = _read(inputs[key], read_tsv)
    overview = _read(inputs["quality"], lambda p: pd.read_csv(p, sep="\t")) \
        if inputs.get("quality") else None
    lines = verdict_lines(tables, s["classifiers"], main_classifier=s["main_classifier"],
                          quality_flags=overview)
    atomic_write_text(outputs["verdict"], "\n".join(lines) + "\n")
    classifiers = [s["main_classifier"]] + [c for c in s["classifiers"]
                                            if c != s["main_classifier"]]
    table = answer_table(tables["aggregate"], classifiers) if len(tables["aggregate"]) else None
    atomic_write_text(outputs["landing"], landing_rst(lines, Path(description_rst).read_text(),
                                                      table))
    if overview is not None:
        tables["quality"] = overview
    for key, (title, note) in REPORT_TABLES.items():
        if f"{key}_html" in outputs:
            write_table_html(tables.get(key, pd.DataFrame()), outputs[f"{key}_html"], title, note)
    return lines
