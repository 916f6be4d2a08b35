"""Holds python/export_graph.py's own decompositions of convolution_backward and
avg_pool2d_backward to torch's autograd, in float64, over kernels 1–3, strides 1–3, padding 0–2,
dilations 1–2 and 1–2 groups (and pooling windows 2–3, strides 1–3, padding 0–1). Run by
.ci/run; prints the largest difference and exits 1 if any exceeds 1e-10.

Usage: /usr/bin/python3 scripts/check_decompositions.py
"""

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))

import torch  # noqa: E402

from export_graph import avg_pool2d_backward, conv_input_grad, conv_weight_grad  # noqa: E402

TOLERANCE = 1e-10


def main() -> int:
    torch.manual_seed(0)
    worst, checked, bad = 0.0, 0, []
    for k, s, p, d, g, h in itertools.product([1, 2, 3], [1, 2, 3], [0, 1, 2], [1, 2], [1, 2], [7, 8]):
        if p > d * (k - 1):
            continue  # more padding than the dilated kernel reaches: the decomposition refuses it
        x = torch.randn(2, 4, h, h + 1, dtype=torch.float64, requires_grad=True)
        w = torch.randn(6, 4 // g, k, k, dtype=torch.float64, requires_grad=True)
        y = torch.nn.functional.conv2d(x, w, stride=s, padding=p, dilation=d, groups=g)
        upstream = torch.randn_like(y)
        gx, gw = torch.autograd.grad(y, [x, w], upstream)
        ours_x = conv_input_grad(upstream, w.detach(), x.shape, [s, s], [p, p], [d, d], g)
        ours_w = conv_weight_grad(upstream, x.detach(), w.shape, [s, s], [p, p], [d, d], g)
        e = max((ours_x - gx).abs().max().item(), (ours_w - gw).abs().max().item())
        worst, checked = max(worst, e), checked + 1
        if e > TOLERANCE:
            bad.append(f"conv kernel {k} stride {s} padding {p} dilation {d} groups {g} size {h}: {e:.3g}")
    for k, s, p in itertools.product([2, 3], [1, 2, 3], [0, 1]):
        if p > k // 2:
            continue  # torch allows at most half the window as padding
        x = torch.randn(2, 3, 7, 8, dtype=torch.float64, requires_grad=True)
        y = torch.nn.functional.avg_pool2d(x, k, s, p)
        upstream = torch.randn_like(y)
        (gx,) = torch.autograd.grad(y, [x], upstream)
        e = (avg_pool2d_backward(upstream, x.detach(), [k, k], [s, s], [p, p], False, True, None) - gx).abs().max().item()
        worst, checked = max(worst, e), checked + 1
        if e > TOLERANCE:
            bad.append(f"avg_pool2d kernel {k} stride {s} padding {p}: {e:.3g}")
    print(f"check_decompositions: {checked} configurations, largest difference from autograd {worst:.3g}")
    for line in bad:
        print(f"  off: {line}", file=sys.stderr)
    return 1 if bad or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
