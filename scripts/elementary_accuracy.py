"""Measures elementary functions against mpmath at 50 digits, in ulps of the true value.

Usage: node --import tsx scripts/elementary-accuracy.ts (it writes the TS samples and runs this).
Prints, per function: the TS reference's binary64 and binary32 results, and PyTorch's float64 and
float32 functions (torch.exp, …, and the erf inside torch's float32 GELU kernel) when torch is
installed. The bounds' ELEMENTARY_ACCURACY must cover every row; docs/tolerance-policy.md §1 holds
the table.
"""

import json
import math
import os
import sys

import mpmath

mpmath.mp.dps = 50
TRUE = {"exp": mpmath.exp, "log": mpmath.log, "log1p": mpmath.log1p, "tanh": mpmath.tanh, "erf": mpmath.erf}


def ulps(value: float, true, bits: int) -> float:
    """|value − true| in ulps of the true value in a binary format with `bits` of precision."""
    t = float(true)
    if t == 0:
        return 0.0 if value == 0 else math.inf
    exponent = max(math.frexp(t)[1], -1021 if bits == 53 else -125)
    return float(abs(mpmath.mpf(value) - true) / mpmath.mpf(2) ** (exponent - bits))


def row(label: str, errors: list) -> str:
    return f"  {label:34s} max {max(errors):6.2f} ulps   mean {sum(errors) / len(errors):5.2f}"


def main() -> None:
    samples = json.load(open(sys.argv[1]))
    try:
        os.environ["ATEN_CPU_CAPABILITY"] = "default"
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    for name, points in samples.items():
        true64 = [TRUE[name](mpmath.mpf(p["x"])) for p in points]
        true32 = [TRUE[name](mpmath.mpf(p["x32"])) for p in points]
        print(f"{name} ({len(points)} points)")
        print(row("TS float64 (V8 / gradparity erf)", [ulps(p["f64"], t, 53) for p, t in zip(points, true64)]))
        print(row("TS float32 (binary64, rounded)", [ulps(p["f32"], t, 24) for p, t in zip(points, true32)]))
        if torch is None:
            continue
        fn = {"exp": torch.exp, "log": torch.log, "log1p": torch.log1p, "tanh": torch.tanh, "erf": torch.erf}[name]
        x64 = torch.tensor([p["x"] for p in points], dtype=torch.float64)
        x32 = torch.tensor([p["x32"] for p in points], dtype=torch.float32)
        print(row("torch float64", [ulps(v, t, 53) for v, t in zip(fn(x64).tolist(), true64)]))
        print(row("torch float32", [ulps(v, t, 24) for v, t in zip(fn(x32).tolist(), true32)]))
        if name == "erf":
            # The erf inside torch's float32 GELU kernel, as an absolute error of 1 + erf in u = 2^-24:
            # 2·gelu(x)/x − 1 against the true erf(x/√2), where x/√2 is where erf was taken.
            xs = [p["x32"] * math.sqrt(2) for p in points if abs(p["x32"]) > 1e-2]
            g = torch.nn.functional.gelu(torch.tensor(xs, dtype=torch.float32)).tolist()
            implied = [float(abs(mpmath.mpf(2 * gv / float(mpmath.mpf(x))) - 1 - mpmath.erf(mpmath.mpf(x) / mpmath.sqrt(2))) / mpmath.mpf(2) ** -24) for gv, x in zip(g, xs)]
            print(f"  {'torch float32 GELU: |Δ(1 + erf)| / u':34s} max {max(implied):6.2f}       mean {sum(implied) / len(implied):5.2f}")


if __name__ == "__main__":
    main()
