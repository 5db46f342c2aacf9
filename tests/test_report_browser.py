"""The HTML report of a real tiny run, rendered in headless Chromium: the first page gives the
answer, the main figure and the tables are there, and docutils printed no "System Message"."""

import re
import shutil
import subprocess

import pytest

from conftest import run_snakemake, write_config
from test_workflow import tiny_cohort

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (CI installs "
                                 "it: apt-get install chromium)")]


def rendered_dom(html_path, tmp_path) -> str:
    """The DOM after the report's JavaScript ran (the report is a single-page app)."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp_path / 'chromium-profile'}",
           "--virtual-time-budget=15000", "--dump-dom", html_path.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def first_sentence_text(verdict: str) -> str:
    return re.sub(r"\s+", " ", verdict.splitlines()[0][:60])


def test_report_first_page_gives_the_answer_in_a_real_browser(tmp_path):
    data = tiny_cohort(tmp_path, n_samples=20)
    cfg = write_config(tmp_path, {
        "samples": str(data / "samples.tsv"), "reference": str(data / "reference.fa"),
        "kmers": {"k": 3},
        "benchmark": {"folds": 2, "repeats": 1, "classifiers": ["logreg"],
                      "main_classifier": "logreg", "arms": ["none", "smote", "cwgan_gp"],
                      "generator_seeds": [1],
                      "dose_response": {"enabled": False}, "learning_curve": {"enabled": False},
                      "imbalance": {"enabled": False},
                      "null_control": {"enabled": True, "arms": ["none", "smote"]},
                      "leaky_control": {"enabled": True, "arms": ["smote"]},
                      "quality_baselines": ["smote"]},
        "gan": {"epochs": 4, "batch_size": 8, "checkpoint_every": 2, "monitor_every": 2},
        "quality": {"detection_folds": 2, "mmd_permutations": 20}})
    run_snakemake(tmp_path, "--configfile", str(cfg), "--cores", "2", timeout=1500)
    verdict = (tmp_path / "results/benchmark/verdict.txt").read_text()
    assert verdict.startswith("logreg:") and "over no augmentation" in verdict
    run_snakemake(tmp_path, "--configfile", str(cfg), "--report", "report.html")
    dom = rendered_dom(tmp_path / "report.html", tmp_path)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))
    assert "System Message" not in dom
    assert "The answer" in text
    # the compact table leads the first page: arm x classifier, difference, CI and reading
    assert "AUROC difference to no augmentation (95 % CI) and its reading" in text
    assert re.search(r"smote [+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\] (gain|LOSS|no "
                     r"detectable difference|too wide to conclude)", text.replace("−", "-"))
    assert text.index("difference to no augmentation") < text.index(first_sentence_text(verdict))
    first_sentence = verdict.splitlines()[0][:60]
    assert re.sub(r"\s+", " ", first_sentence) in text.replace("−", "-")
    assert "Null control" in text
    for name in ("forest.png", "aggregate.html", "inflation.html"):
        assert name in dom, f"{name} is not in the report"
