"""Every result that enters the report carries a caption, a numbered category and human labels
(`report(..., labels=...)`), so no entry shows up under a bare file name."""

import re
from pathlib import Path

import pytest

RULES = sorted((Path(__file__).resolve().parents[1] / "workflow" / "rules").glob("*.smk"))


def report_calls(text: str) -> list[str]:
    """The argument text of each `report(` call (parentheses matched)."""
    calls = []
    for match in re.finditer(r"\breport\(", text):
        depth, i = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        calls.append(text[match.end():i - 1])
    return calls


def test_the_parser_finds_nested_calls():
    assert report_calls('x = report(f("a"), labels={"a": g(1)})\n') == \
        ['f("a"), labels={"a": g(1)}']


ENTRIES = [(rule.name, call) for rule in RULES for call in report_calls(rule.read_text())]


def test_the_workflow_reports_results():
    assert len(ENTRIES) >= 10


@pytest.mark.parametrize(("rule", "call"), ENTRIES, ids=[f"{r}:{i}" for i, (r, _) in
                                                        enumerate(ENTRIES)])
def test_report_entry_has_caption_category_and_labels(rule, call):
    for key in ("caption=", "category=", "labels="):
        assert key in call, f"{rule}: report({call.strip()[:60]}...) lacks {key}"
    assert re.search(r'category=(f?"\d\.|BENCH_PLOT_REPORT)', call), f"{rule}: unnumbered category"
