"""The worked example of docs/codes.md ("Adding a scheme") runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gcsim.codes import list_codes, unregister_scheme
from gcsim.testing import CHECKS

DOC = Path(__file__).resolve().parents[2] / "docs" / "codes.md"


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def test_adding_a_scheme_example_runs_and_passes_the_contract():
    section = _section(DOC.read_text(encoding="utf-8"), "Adding a scheme")
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 3, "the worked example lost its code blocks"
    ns: dict = {"__name__": "docs_codes_example"}
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), ns)
        assert "hub" in list_codes()
        test = ns["test_hub_contract"]
        marks = getattr(test, "pytestmark", [])
        assert [m.name for m in marks] == ["parametrize"]
        for check in CHECKS:  # what pytest would run, one call per check
            test(check)
    finally:
        if "hub" in list_codes():
            unregister_scheme("hub")


def test_the_example_scheme_is_caught_when_broken():
    section = _section(DOC.read_text(encoding="utf-8"), "Adding a scheme")
    first = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    ns: dict = {"__name__": "docs_codes_example"}
    try:
        exec(compile(first, str(DOC), "exec"), ns)
        hub = ns["HubCode"]

        class LateHub(hub):  # forgets that the hub alone decodes
            def _is_decodable(self, R):
                return len(R) >= self.n - 1

        import gcsim.testing

        with pytest.raises(AssertionError, match="LateHub"):
            gcsim.testing.check_code(LateHub(6))
    finally:
        if "hub" in list_codes():
            unregister_scheme("hub")
