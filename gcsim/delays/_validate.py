"""Parameter validation shared by the delay models (messages name model, parameter,
constraint and value)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from gcsim._validate import check_real as check_real  # the delay models' own check
from gcsim.errors import InvalidInputError, excerpt

if TYPE_CHECKING:
    from gcsim.delays.base import DelayModel


def require(model: str, name: str, value: Any) -> Any:
    """``value``, or an error naming the missing required parameter when it is None."""
    if value is None:
        raise InvalidInputError(f"{model}: missing required parameter {name!r}")
    return value


def check_prob(model: str, name: str, value: Any) -> float:
    """A probability in [0, 1]."""
    v = check_real(model, name, value)
    if not 0.0 <= v <= 1.0:
        raise InvalidInputError(f"{model}: {name} must be in [0, 1]; got {name}={v!r}")
    return v


def as_model(model: str, name: str, value: Any) -> DelayModel:
    """A nested model given as an instance, a registry name or a spec dict."""
    from gcsim.delays.base import DelayModel
    from gcsim.delays.registry import make_delay

    if isinstance(value, DelayModel):
        return value
    if isinstance(value, (str, Mapping)):
        try:
            return make_delay(value)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{model}: in {name}: {exc}") from exc
    raise InvalidInputError(
        f"{model}: {name} must be a DelayModel, a model name or a spec dict "
        f"like {{'model': 'exponential', 'rate': 1.0}}; got {name}={excerpt(value)}"
    )


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only copy of ``a``."""
    out = np.array(a, dtype=float, copy=True)
    out.setflags(write=False)
    return out


def spawn(rng: np.random.Generator, k: int) -> list[np.random.Generator]:
    """``k`` independent child generators of ``rng`` (advances ``rng`` deterministically)."""
    if hasattr(rng, "spawn"):  # numpy >= 1.25
        return list(rng.spawn(k))
    entropy = rng.integers(0, 2**63, size=4, dtype=np.int64)  # pragma: no cover
    seqs = np.random.SeedSequence([int(e) for e in entropy]).spawn(k)  # pragma: no cover
    return [np.random.default_rng(s) for s in seqs]  # pragma: no cover
