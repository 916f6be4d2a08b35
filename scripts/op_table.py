"""The Python twin of src/ops/registry.ts: one entry per op, under the same name.

Each entry says what the op is in PyTorch and what it owns: its output width and its parameters
(by state_dict suffix and shape), its torch.nn module for the Sequential whose state_dict names the
goldens use, its functional form on the joint graph's own tensors (exported to ONNX), and the
backward ops torch 1.13 cannot export, to be decomposed into plain aten ops. A new op is one entry
here, one record in src/ops/ and its cases.

This module does not import torch: the builders receive it, so that the case specs can be
validated (scripts/case_specs.py) on a machine without PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class ModuleOp:
    # (torch, spec, in_features, dtype, device) -> torch.nn.Module
    build: Callable
    # (torch, spec, h, params by suffix) -> tensor
    functional: Callable
    # (spec, in_features) -> {suffix: shape}, in state_dict order
    parameters: Callable = lambda spec, width: {}
    # (spec, in_features) -> out_features
    out_features: Callable = lambda spec, width: width
    # names of torch.ops.aten backward ops to decompose for the ONNX export
    decompositions: tuple = ()
    # (spec) -> the inputs where the op has a kink (a case may assert it has inputs exactly there)
    kinks: Callable = lambda spec: []


@dataclass(frozen=True)
class LossOp:
    # (torch, spec, logits, target) -> scalar loss
    functional: Callable
    decompositions: tuple = field(default_factory=tuple)


MODULE_OPS = {
    "linear": ModuleOp(
        build=lambda torch, spec, width, dtype, device: torch.nn.Linear(width, spec["out"], bias=spec["bias"], dtype=dtype, device=device),
        functional=lambda torch, spec, h, p: torch.nn.functional.linear(h, p["weight"], p.get("bias")),
        parameters=lambda spec, width: {"weight": [spec["out"], width], **({"bias": [spec["out"]]} if spec["bias"] else {})},
        out_features=lambda spec, width: spec["out"],
    ),
    "relu": ModuleOp(
        build=lambda torch, spec, width, dtype, device: torch.nn.ReLU(),
        functional=lambda torch, spec, h, p: torch.nn.functional.relu(h),
        decompositions=("threshold_backward",),
        kinks=lambda spec: [0.0],
    ),
    "tanh": ModuleOp(
        build=lambda torch, spec, width, dtype, device: torch.nn.Tanh(),
        functional=lambda torch, spec, h, p: torch.tanh(h),
        decompositions=("tanh_backward",),
    ),
    "sigmoid": ModuleOp(
        build=lambda torch, spec, width, dtype, device: torch.nn.Sigmoid(),
        functional=lambda torch, spec, h, p: torch.sigmoid(h),
        decompositions=("sigmoid_backward",),
    ),
    "gelu": ModuleOp(
        build=lambda torch, spec, width, dtype, device: torch.nn.GELU(approximate=spec["approximate"]),
        functional=lambda torch, spec, h, p: torch.nn.functional.gelu(h, approximate=spec["approximate"]),
        decompositions=("gelu_backward",),
    ),
    "leaky_relu": ModuleOp(
        build=lambda torch, spec, width, dtype, device: torch.nn.LeakyReLU(spec["negativeSlope"]),
        functional=lambda torch, spec, h, p: torch.nn.functional.leaky_relu(h, spec["negativeSlope"]),
        # ONNX's LeakyRelu holds its slope as a float32 attribute, off by 1.5e-8 relative from a
        # float64 slope such as 0.2: the forward is decomposed too, so the slope is a graph constant.
        decompositions=("leaky_relu_backward", "leaky_relu"),
        kinks=lambda spec: [0.0],
    ),
    "silu": ModuleOp(
        build=lambda torch, spec, width, dtype, device: torch.nn.SiLU(),
        functional=lambda torch, spec, h, p: torch.nn.functional.silu(h),
        # torch.onnx exports SiLU as x·Sigmoid(x), and onnxruntime's Sigmoid approximates in the
        # tails; decomposed, the sigmoid is rewritten to torch's formula (rewrite_for_export).
        decompositions=("silu_backward", "silu"),
    ),
    "softplus": ModuleOp(
        build=lambda torch, spec, width, dtype, device: torch.nn.Softplus(spec["beta"], spec["threshold"]),
        functional=lambda torch, spec, h, p: torch.nn.functional.softplus(h, spec["beta"], spec["threshold"]),
        decompositions=("softplus_backward",),
        kinks=lambda spec: [spec["threshold"] / spec["beta"]],
    ),
    "elu": ModuleOp(
        build=lambda torch, spec, width, dtype, device: torch.nn.ELU(spec["alpha"]),
        functional=lambda torch, spec, h, p: torch.nn.functional.elu(h, spec["alpha"]),
        # onnxruntime has no float64 Elu kernel: the forward is decomposed too (into exp, sub, mul, where).
        decompositions=("elu_backward", "elu"),
        kinks=lambda spec: [0.0],
    ),
    "hardtanh": ModuleOp(
        build=lambda torch, spec, width, dtype, device: torch.nn.Hardtanh(spec["min"], spec["max"]),
        functional=lambda torch, spec, h, p: torch.nn.functional.hardtanh(h, spec["min"], spec["max"]),
        decompositions=("hardtanh_backward",),
        kinks=lambda spec: [spec["min"], spec["max"]],
    ),
    "relu6": ModuleOp(
        build=lambda torch, spec, width, dtype, device: torch.nn.ReLU6(),
        functional=lambda torch, spec, h, p: torch.nn.functional.relu6(h),
        decompositions=("hardtanh_backward",),
        kinks=lambda spec: [0.0, 6.0],
    ),
}

LOSS_OPS = {
    "cross_entropy": LossOp(
        functional=lambda torch, spec, logits, target: torch.nn.functional.cross_entropy(logits, target, reduction=spec["reduction"]),
        decompositions=("_log_softmax_backward_data", "_softmax_backward_data", "nll_loss_forward", "nll_loss_backward"),
    ),
}


def widths(model: dict) -> list[int]:
    """Each module's input width, and the model's output width last."""
    out = [model["inputSize"]]
    for spec in model["modules"]:
        out.append(MODULE_OPS[spec["op"]].out_features(spec, out[-1]))
    return out


def parameter_shapes(model: dict) -> dict[str, list[int]]:
    """Every parameter's state_dict name and shape, in state_dict order: `0.weight`, `0.bias`, …"""
    w = widths(model)
    return {f"{i}.{suffix}": shape for i, spec in enumerate(model["modules"]) for suffix, shape in MODULE_OPS[spec["op"]].parameters(spec, w[i]).items()}


def result_keys(model: dict) -> list[str]:
    """The tensor keys of src/results/keys.ts: loss, logits, out.<module>, grad.x, grad.<parameter>."""
    return ["loss", "logits", *[f"out.{i}" for i in range(len(model["modules"]))], "grad.x", *[f"grad.{n}" for n in parameter_shapes(model)]]
