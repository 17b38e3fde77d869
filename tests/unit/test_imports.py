"""Fast start: light imports stay light, and the lazy public API still resolves."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "simpy", "scipy", "scipy.stats", "matplotlib")


def _loaded_after(statement: str) -> list[str]:
    code = (
        f"import json, sys\n{statement}\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "statement",
    [
        "import gcsim.codes",
        "import gcsim",
        "import gcsim.cli",
        "from gcsim import make_code; make_code('grouped', n=12, s=2, m=2)",
        "import gcsim.testing",
    ],
)
def test_light_imports_load_no_heavy_dependency(statement):
    assert _loaded_after(statement) == []


def test_cli_help_and_codes_load_no_heavy_dependency():
    stmt = (
        "import contextlib, io\nfrom gcsim.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['codes'])\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass"
    )
    assert _loaded_after(stmt) == []


def test_every_public_name_resolves():
    import gcsim

    for name in gcsim.__all__:
        assert getattr(gcsim, name) is not None, name
    assert set(gcsim.__all__) <= set(dir(gcsim))
    assert gcsim.sim.simulate is gcsim.simulate  # subpackages as attributes, as before
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = gcsim.nope
