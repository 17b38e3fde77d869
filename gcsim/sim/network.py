"""Network and cost models of the cluster."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gcsim.errors import InvalidInputError

__all__ = ["SHARING", "CostModel", "Network"]

#: how concurrent uploads share the server's ingress (see :class:`Network`)
SHARING = ("fair", "fifo")


def _nonneg(owner: str, name: str, value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"{owner}.{name} must be a number; got {value!r}")
    v = float(value)
    if math.isnan(v) or v < 0 or (positive and v == 0):
        bound = "> 0" if positive else ">= 0"
        raise InvalidInputError(f"{owner}.{name} must be {bound}; got {value!r}")
    return v


@dataclass(frozen=True)
class Network:
    """Links between the server and the workers.

    A round's broadcast reaches every worker after ``latency + model_bytes / broadcast``.
    A worker's upload starts after the communication delay drawn from the scenario's
    communication model (the worker's time to start sending); how it then reaches the
    server depends on ``sharing``:

    * ``"fair"`` (flow level, the default): the message's first byte reaches the server
      after ``latency``; from then on it is a flow that shares the server's ingress with
      every other upload in progress, max–min fairly (progressive filling), and goes at
      ``min(bandwidth, its max–min share of ingress)``. A lone upload takes
      ``latency + bytes / min(bandwidth, ingress)``; k equal uploads started together
      all end after ``latency + k · bytes / ingress`` (when that share is below
      ``bandwidth``). Rates are recomputed whenever an upload starts, ends or is
      cancelled.
    * ``"fifo"`` (store and forward, the model before flow sharing): the whole message
      crosses the worker's link (``latency + bytes / bandwidth``), then waits its turn
      at the server's ingress, which serves one message at a time (``bytes / ingress``
      each): every message is serialized twice.

    With ``ingress = inf`` the two models are the same (no sharing). ``inf`` bandwidths
    and zero latency are "ideal".

    Attributes
    ----------
    latency : float
        One-way latency, seconds (counted once per message).
    bandwidth : float
        Each worker's uplink, bytes per second.
    ingress : float
        The server's shared ingress, bytes per second.
    broadcast : float
        Server-to-worker bandwidth for the model broadcast, bytes per second.
    bytes_per_value : int
        Bytes per transmitted real (8 for float64, 4 for float32).
    sharing : str
        How uploads share the ingress: ``"fair"`` (max–min fair flows) or ``"fifo"``
        (store and forward, one message at a time).
    """

    latency: float = 0.0
    bandwidth: float = math.inf
    ingress: float = math.inf
    broadcast: float = math.inf
    bytes_per_value: int = 8
    sharing: str = "fair"

    def __post_init__(self) -> None:
        _nonneg("network", "latency", self.latency)
        if math.isinf(self.latency):
            raise InvalidInputError("network.latency must be finite; got inf")
        for name in ("bandwidth", "ingress", "broadcast"):
            _nonneg("network", name, getattr(self, name), positive=True)
        if self.bytes_per_value not in (2, 4, 8, 16):
            raise InvalidInputError(
                f"network.bytes_per_value must be 2, 4, 8 or 16; got {self.bytes_per_value!r}"
            )
        if self.sharing not in SHARING:
            raise InvalidInputError(
                f"network.sharing must be one of {', '.join(map(repr, SHARING))} (max–min "
                f"fair flows, or store-and-forward one message at a time); "
                f"got {self.sharing!r}"
            )

    @property
    def ideal(self) -> bool:
        return (
            self.latency == 0
            and math.isinf(self.bandwidth)
            and math.isinf(self.ingress)
            and math.isinf(self.broadcast)
        )

    def broadcast_time(self, values: int) -> float:
        return self.latency + values * self.bytes_per_value / self.broadcast

    def upload_time(self, values: int) -> float:
        return self.latency + values * self.bytes_per_value / self.bandwidth

    def ingress_time(self, values: int) -> float:
        return values * self.bytes_per_value / self.ingress

    def message_bytes(self, values: int) -> float:
        return float(values * self.bytes_per_value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CostModel:
    """Deterministic time of the kernels: operation counts divided by rates.

    * encode on worker i: ``nnz_i * q`` multiply-adds (``nnz_i`` = non-zero coefficients
      of its row of B, q = message length) at ``encode_rate`` per second;
    * decode on the server: ``m * r * q`` multiply-adds (r = messages the decoder reads)
      at ``decode_rate``;
    * update: ``2 * l`` operations at ``update_rate``.

    ``inf`` rates (the default) make these costs zero ("ideal"). ``measured=True`` uses
    the wall time of the real kernel calls instead (not reproducible across machines).
    Rates can be calibrated on this machine with :meth:`calibrate`.
    """

    encode_rate: float = math.inf
    decode_rate: float = math.inf
    update_rate: float = math.inf
    measured: bool = False

    def __post_init__(self) -> None:
        for name in ("encode_rate", "decode_rate", "update_rate"):
            _nonneg("costs", name, getattr(self, name), positive=True)
        if not isinstance(self.measured, bool):
            raise InvalidInputError(f"costs.measured must be true or false; got {self.measured!r}")

    @property
    def zero(self) -> bool:
        return (
            not self.measured
            and math.isinf(self.encode_rate)
            and math.isinf(self.decode_rate)
            and math.isinf(self.update_rate)
        )

    def encode_time(self, nnz: np.ndarray, q: int) -> np.ndarray:
        return np.asarray(nnz, dtype=float) * q / self.encode_rate

    def decode_time(self, m: int, rows: int, q: int) -> float:
        return m * rows * q / self.decode_rate

    def update_time(self, l: int) -> float:
        return 2.0 * l / self.update_rate

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def calibrate(cls, *, l: int = 1_000_000, repeats: int = 5) -> CostModel:
        """Rates measured on this machine with numpy kernels of the same shape as the
        codes' (a weighted sum of rows, memory-bound): operations per second."""
        rng = np.random.default_rng(0)
        rows = rng.standard_normal((8, l // 8))
        coef = rng.standard_normal((1, 8))
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            coef @ rows
            best = min(best, time.perf_counter() - t0)
        rate = 8 * (l // 8) / best
        return cls(encode_rate=rate, decode_rate=rate, update_rate=rate)
