"""Times torch.autograd.gradcheck on goldens' own problems, for `npm run bench` (scripts/bench.ts).

Usage: /usr/bin/python3 scripts/bench_gradcheck.py GOLDEN.json ...

For each golden: the loss (Σ lossGrad·loss when unreduced) as a function of x and every
parameter, in float64, one thread, checked by gradcheck in slow mode (every element, central
differences; one run) and in fast mode (one random direction; the median of 11 runs). Prints one JSON line per golden with the
seconds each took inside this process (start-up and loading excluded) and whether it passed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ["ATEN_CPU_CAPABILITY"] = "default"

import torch  # noqa: E402

from op_table import LOSS_OPS, MODULE_OPS  # noqa: E402


def tensor_of(t: dict, dtype=torch.float64) -> torch.Tensor:
    if t["dtype"] == "int64":
        return torch.tensor(t["data"], dtype=torch.int64).reshape(t["shape"])
    return torch.tensor(t["data"], dtype=dtype).reshape(t["shape"])


def problem(golden: dict):
    """The golden's loss as a function of (x, *parameters), and those inputs in float64."""
    model = golden["mlp"]["model"]
    names = list(golden["parameters"])
    target = golden["inputs"]["target"]
    target = tensor_of(target) if target["dtype"] != "int64" else tensor_of(target)
    loss_grad = tensor_of(golden["inputs"]["lossGrad"]) if "lossGrad" in golden["inputs"] else None

    def loss(x, *params):
        by_name = dict(zip(names, params))
        h = x
        for index, spec in enumerate(model["modules"]):
            prefix = f"{index}."
            h = MODULE_OPS[spec["op"]].functional(torch, spec, h, {n[len(prefix):]: p for n, p in by_name.items() if n.startswith(prefix)})
        value = LOSS_OPS[model["loss"]["op"]].functional(torch, model["loss"], h, target)
        return value if loss_grad is None else (loss_grad * value).sum()

    inputs = (tensor_of(golden["inputs"]["x"]), *(tensor_of(golden["parameters"][n]) for n in names))
    return loss, tuple(t.requires_grad_(True) for t in inputs)


def timed(f, inputs, fast: bool) -> tuple[float, bool]:
    started = time.perf_counter()
    passed = torch.autograd.gradcheck(f, inputs, fast_mode=fast, raise_exception=False)
    return time.perf_counter() - started, bool(passed)


def main() -> int:
    torch.set_num_threads(1)
    for path in sys.argv[1:]:
        golden = json.loads(Path(path).read_text())
        f, inputs = problem(golden)
        timed(f, inputs, fast=True)  # warm-up: the first call pays for loading kernels
        slow, slow_passed = timed(f, inputs, fast=False)
        # Fast mode takes milliseconds: the median of 11 runs, as the benchmark takes for ours.
        fast_runs = sorted(timed(f, inputs, fast=True) for _ in range(11))
        fast, fast_passed = fast_runs[len(fast_runs) // 2][0], all(passed for _, passed in fast_runs)
        values = sum(t.numel() for t in inputs)
        print(json.dumps({"golden": path, "values": values, "slow": slow, "slowPassed": slow_passed, "fast": fast, "fastPassed": fast_passed}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
