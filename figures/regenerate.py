"""Regenerate every committed figure in figures/ from the shipped scenarios.

    python figures/regenerate.py [--jobs N] [SCENARIO ...]      (or: make figures)

Each scenario is swept into results/<name>/ (resumable: finished points are reused, a
changed scenario starts afresh after moving the old results aside) and its PNG figures
are copied to figures/<name>/.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gcsim.cli import main as gcsim  # noqa: E402

SCENARIOS = [
    "quickstart",
    "paper-comparison",
    "stability",
    "tradeoff",
    "heavy-tail",
    "persistent",
    "trace-replay",
    "time-to-accuracy",
    "heterogeneous",
    "adversarial",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", default=SCENARIOS)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    os.chdir(ROOT)  # scenario files name their traces relative to the repository root
    status = 0
    for name in args.scenarios:
        path = ROOT / "scenarios" / f"{name}.toml"
        out = ROOT / "results" / name
        print(f"== {name}", flush=True)
        rc = gcsim(
            [
                "sweep",
                str(path),
                "--out",
                str(out),
                "--jobs",
                str(args.jobs),
                "--quiet",
                "--restart",
            ]
        )
        status = max(status, rc)
        dest = ROOT / "figures" / name
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for png in sorted((out / "figures").glob("*.png")):
            shutil.copy2(png, dest / png.name)
        readme = out / "figures" / "README.md"
        if readme.exists():  # only the PNGs are committed: no links to the other formats
            text = readme.read_text(encoding="utf-8")
            text = re.sub(r", \[[^\]]+\]\([^)]+\.(?:pdf|svg|eps)\)", "", text)
            (dest / "README.md").write_text(text, encoding="utf-8")
        print(f"   figures -> {dest.relative_to(ROOT)}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
