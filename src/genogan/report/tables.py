"""Result tables as small self-contained HTML pages for the Snakemake report.

Each page holds one table (numbers rounded for reading, the TSV keeps full precision) and a few
lines of JavaScript that sort a column when its header is clicked. No external assets: the report
must work offline.
"""

from __future__ import annotations

import html

import pandas as pd

from genogan.benchmark.names import COMPARATOR
from genogan.io import atomic_write_text

_SORT_SCRIPT = """<script>
document.querySelectorAll("th").forEach((th, col) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0];
  const asc = th.dataset.asc !== "1"; th.dataset.asc = asc ? "1" : "0";
  const key = r => { const t = r.cells[col].textContent.trim(); const n = parseFloat(t);
                     return isNaN(n) ? t : n; };
  [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
    return (x > y ? 1 : x < y ? -1 : 0) * (asc ? 1 : -1); }).forEach(r => body.appendChild(r));
}));
</script>"""
_STYLE = ("<style>body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
          "th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}th{cursor:pointer;"
          "background:#f0f0f0}td:first-child,th:first-child{text-align:left}</style>")


def table_html(table: pd.DataFrame, title: str, note: str = "", digits: int = 3) -> str:
    """One table as an HTML page: title, optional note, click-to-sort columns."""
    shown = table.copy()
    for col in shown.select_dtypes("number").columns:
        shown[col] = shown[col].round(digits)
    body = shown.to_html(index=False, na_rep="", border=0, classes="genogan-table")
    note_html = f"<p>{html.escape(note)}</p>" if note else ""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title>{_STYLE}</head><body><h3>{html.escape(title)}</h3>{note_html}{body}"
            f"{_SORT_SCRIPT}</body></html>\n")


def write_table_html(table: pd.DataFrame, path, title: str, note: str = "") -> None:
    atomic_write_text(path, table_html(table, title, note))


# The tables of the report: key -> (title, note); the TSV of the same key is the full table.
REPORT_TABLES = {
    "aggregate": ("Benchmark: every scenario x arm x classifier x metric",
                  "mean and Nadeau-Bengio corrected 95 % CI over splits; diff_vs_none and its CI "
                  "are paired with none on the same splits; GAN arms' diff_vs_comparator (CI "
                  f"cmp_ci_low/high, p_cmp) is paired the same way with {COMPARATOR}, the "
                  "non-adversarial comparator; p values unadjusted (the answer on "
                  "the first page gives Holm-adjusted p for its claims)."),
    "inflation": ("Leaky control (INVALID by design): inflation = leaky - correct",
                  "the augmenter fitted on the whole cohort before splitting"),
    "worth": ("Learning curve: how many real samples an arm's score is worth",
              "read off the none arm's learning curve; 'status' says when it is beyond the curve; "
              "'statement' words each row by the CI of its paired gap to none (worth extra real "
              "samples only when that CI lies above 0)"),
    "quality": ("Synthetic-data quality across splits and seeds (means), with flags", ""),
}
