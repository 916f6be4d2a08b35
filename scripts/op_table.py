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
    # (torch, spec, logits, target) -> the loss: a scalar, or unreduced for reduction "none"
    functional: Callable
    # (spec) -> "class_indices" | "probabilities" | "values": the target the loss takes
    target_kind: Callable
    # (spec) -> whether the loss is one value per row ("rows") or per logit ("elements") when unreduced
    unreduced: str = "rows"
    decompositions: tuple = field(default_factory=tuple)


def class_weights(torch, spec: dict, key: str, like):
    """A per-class constant of the spec (`weight`, `posWeight`) as a tensor in the logits' dtype, or None."""
    return None if spec.get(key) is None else torch.tensor(spec[key], dtype=like.dtype)


def cross_entropy(torch, spec, logits, target):
    options = {"weight": class_weights(torch, spec, "weight", logits), "reduction": spec["reduction"], "label_smoothing": spec.get("labelSmoothing", 0.0)}
    if spec.get("ignoreIndex") is not None:
        options["ignore_index"] = spec["ignoreIndex"]
    return torch.nn.functional.cross_entropy(logits, target, **options)


def nll_loss(torch, spec, logits, target):
    options = {"weight": class_weights(torch, spec, "weight", logits), "reduction": spec["reduction"]}
    if spec.get("ignoreIndex") is not None:
        options["ignore_index"] = spec["ignoreIndex"]
    return torch.nn.functional.nll_loss(logits, target, **options)


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
    "log_softmax": ModuleOp(
        build=lambda torch, spec, width, dtype, device: torch.nn.LogSoftmax(dim=1),
        functional=lambda torch, spec, h, p: torch.log_softmax(h, 1),
        decompositions=("_log_softmax_backward_data",),
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
        functional=cross_entropy,
        target_kind=lambda spec: spec["target"],
        decompositions=("_log_softmax_backward_data", "_softmax_backward_data", "nll_loss_forward", "nll_loss_backward"),
    ),
    "nll_loss": LossOp(
        functional=nll_loss,
        target_kind=lambda spec: "class_indices",
        decompositions=("nll_loss_forward", "nll_loss_backward"),
    ),
    "mse_loss": LossOp(
        functional=lambda torch, spec, logits, target: torch.nn.functional.mse_loss(logits, target, reduction=spec["reduction"]),
        target_kind=lambda spec: "values",
        unreduced="elements",
        decompositions=("mse_loss", "mse_loss_backward"),
    ),
    "l1_loss": LossOp(
        functional=lambda torch, spec, logits, target: torch.nn.functional.l1_loss(logits, target, reduction=spec["reduction"]),
        target_kind=lambda spec: "values",
        unreduced="elements",
    ),
    "bce_with_logits": LossOp(
        functional=lambda torch, spec, logits, target: torch.nn.functional.binary_cross_entropy_with_logits(
            logits, target, reduction=spec["reduction"], pos_weight=class_weights(torch, spec, "posWeight", logits)
        ),
        target_kind=lambda spec: "probabilities",
        unreduced="elements",
        # torch.onnx exports the forward through its own formula (log_sigmoid); decomposed, it is
        # torch's kernel's formula as plain ops.
        decompositions=("binary_cross_entropy_with_logits",),
    ),
}


def loss_shape(model: dict, batch: int) -> list[int]:
    """The loss's shape: [] when reduced, [B] or [B, C] for reduction "none" (src/model/spec.ts, lossShape)."""
    loss = model["loss"]
    if loss["reduction"] != "none":
        return []
    return [batch] if LOSS_OPS[loss["op"]].unreduced == "rows" else [batch, widths(model)[-1]]


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
