"""Analysis: decodability and numerical-stability checks (closed forms come later)."""

from gcsim.analysis.stability import CheckResult, check_code, straggler_sets

__all__ = ["CheckResult", "check_code", "straggler_sets"]
