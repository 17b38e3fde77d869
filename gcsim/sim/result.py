"""Result of a simulation run: per-round records as a pandas DataFrame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ROUND_COLUMNS", "WORKER_COLUMNS", "SimResult"]

#: Columns of :attr:`SimResult.records`, one row per round.
ROUND_COLUMNS: dict[str, str] = {
    "round": "round index (0-based)",
    "start": "simulated time the round started (s)",
    "end": "simulated time the round ended, after decode and update (s)",
    "duration": "end - start (s)",
    "decoded": "False when the round failed (never decodable or timed out)",
    "decode_at": "time the responder set became decodable, relative to start (s)",
    "n_responders": "responders of this round received when decoding started",
    "responders": "their worker ids (int32 array)",
    "early": "decoded with fewer than n - s responders",
    "rows_used": "messages the decoder actually read",
    "cond": "condition number of the matrix the decoder inverted",
    "l1_amplification": "max_u sum_r |A_R[u, r]| of the decoder",
    "residual": "max |A_R B_R - [I..I]| of the decoder",
    "rel_error": "||g_hat - g|| / ||g|| against the exactly computed sum",
    "bytes_received": "bytes of this round's messages that reached the server before decoding",
    "bytes_used": "bytes of the messages the decoder read",
    "stale_discarded": "messages of earlier rounds that arrived during this round",
    "decode_time": "time charged for the decode (cost model or measured)",
    "decode_wall": "measured wall time of the real decode kernel (s; NaN without kernels)",
    "loss": "training loss after the update (NaN without a model)",
}

#: Columns of :attr:`SimResult.workers` (only with ``record_workers=True``).
WORKER_COLUMNS: dict[str, str] = {
    "round": "round index",
    "worker": "worker id",
    "dispatch": "time the server broadcast the model",
    "compute_start": "time the worker started computing (after broadcast and backlog)",
    "compute_end": "time it finished computing and encoding",
    "injected_compute": "compute delay drawn from the compute model (s)",
    "injected_comm": "communication delay drawn from the communication model (s)",
    "arrival": "time its message reached the server (inf if never)",
    "status": "responder / late (arrived after decode) / cancelled / unfinished (still "
    "working at round end, non-preemptive) / never (infinite delay)",
}


@dataclass
class SimResult:
    """Outcome of :func:`gcsim.simulate`.

    Attributes
    ----------
    records : DataFrame
        One row per round, columns :data:`ROUND_COLUMNS`.
    workers : DataFrame or None
        One row per (round, worker) with ``record_workers=True``.
    engine : str
        ``"des"`` (SimPy) or ``"fast"`` (vectorised order statistics).
    config : dict
        The resolved configuration of the run (code, delays, network, costs, policy...).
    final_model : ndarray or None
        The workload's model after the last round.
    """

    records: pd.DataFrame
    engine: str
    config: dict[str, Any]
    workers: pd.DataFrame | None = None
    final_model: np.ndarray | None = field(default=None, repr=False)

    @property
    def durations(self) -> np.ndarray:
        return self.records["duration"].to_numpy()

    def summary(self) -> dict[str, float]:
        """Mean, median, p95 and p99 round time and the other per-point figures."""
        rec = self.records
        ok = rec[rec["decoded"]]
        d = ok["duration"].to_numpy()

        def q(p: float) -> float:
            return float(np.percentile(d, p)) if len(d) else float("nan")

        with np.errstate(over="ignore", invalid="ignore"):  # huge draws: inf, no warning
            return {
                "rounds": len(rec),
                "failed_rounds": int((~rec["decoded"]).sum()),
                "mean_round_time": float(d.mean()) if len(d) else float("nan"),
                "median_round_time": q(50),
                "p95_round_time": q(95),
                "p99_round_time": q(99),
                "total_time": float(rec["end"].iloc[-1]) if len(rec) else 0.0,
                "mean_bytes_received": float(rec["bytes_received"].mean()),
                "mean_decode_time": float(ok["decode_time"].mean()) if len(ok) else float("nan"),
                "worst_cond": float(ok["cond"].max()) if len(ok) else float("nan"),
                "worst_rel_error": float(ok["rel_error"].max()) if len(ok) else float("nan"),
                "mean_rel_error": float(ok["rel_error"].mean()) if len(ok) else float("nan"),
                "early_fraction": float(ok["early"].mean()) if len(ok) else float("nan"),
                "final_loss": float(rec["loss"].iloc[-1]) if len(rec) else float("nan"),
            }
