"""The engines charge a worker its share of the data (code.work), not its partition
count: they differ when a placement splits the data into k != n partitions."""

from __future__ import annotations

import numpy as np
import pytest

import gcsim
from gcsim.codes import make_code


@pytest.mark.parametrize("engine", ["des", "fast"])
def test_compute_time_scales_with_the_data_share(engine: str) -> None:
    # k = 6 partitions on n = 3 workers: worker 0 holds all the data (3 units of 1/n)
    code = make_code("hetero-comm", n=3, s=0, placement=[[0, 1, 2, 3, 4, 5], [0, 1], [2]])
    assert not np.array_equal(code.work, code.loads)
    res = gcsim.simulate(
        code,
        delays={"model": "constant", "value": 0.01},
        comm_delays={"model": "constant", "value": 0.0},
        iterations=4,
        seed=1,
        engine=engine,
        record_workers=engine == "des",
    )
    # every worker is needed (s = 0): a round lasts as long as the largest share
    np.testing.assert_allclose(res.records["duration"], 0.01 * code.work.max())
    if engine == "des":
        w = res.workers
        assert w is not None
        per = w[w["round"] == 0].sort_values("worker")["injected_compute"].to_numpy()
        np.testing.assert_allclose(per, 0.01 * code.work)
