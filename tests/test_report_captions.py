"""Every report caption is valid reStructuredText: a docutils warning would show up in the HTML
report as a red "System Message" box above the figure."""

import io
from pathlib import Path

import docutils.core
import pytest

REPORT_DIR = Path(__file__).resolve().parents[1] / "workflow" / "report"
CAPTIONS = sorted(REPORT_DIR.glob("*.rst"))


def rst_warnings(text: str) -> str:
    stream = io.StringIO()
    docutils.core.publish_doctree(text, settings_overrides={"warning_stream": stream,
                                                            "report_level": 2,
                                                            "halt_level": 5})
    return stream.getvalue()


def test_the_check_catches_a_broken_title():
    assert "Title underline too short" in rst_warnings("A long title\n====\n\nText.\n")


@pytest.mark.parametrize("caption", CAPTIONS, ids=lambda p: p.name)
def test_caption_renders_without_warnings(caption):
    assert rst_warnings(caption.read_text()) == "", caption.name
