"""Golden generator: runs real PyTorch on every case spec and writes one JSON golden per case.

Usage (normally through `npm run goldens`, which validates the output before it reaches
goldens/):

    /usr/bin/python3 scripts/generate_goldens.py --out DIR [--case NAME ...]

Goldens come only from here. Everything in them is what torch computed, with the inputs the
case spec describes; nothing is typed in by hand or produced by the TypeScript code.

Output must be byte-identical from run to run on the same torch build: no timestamps, no
absolute paths, one thread, deterministic algorithms, keys in a fixed order.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import re
import sys
import time
from pathlib import Path

# PyTorch picks its CPU kernels (DEFAULT, AVX2, AVX512) by what the machine supports, and the
# float32 results differ in the last bits between them. Pinning the portable DEFAULT kernels,
# before torch is imported, makes the goldens reproducible bit for bit on any x86-64 machine.
CPU_CAPABILITY = "default"
os.environ["ATEN_CPU_CAPABILITY"] = CPU_CAPABILITY

import numpy as np
import torch
import torch.nn.functional as F
from torch._decomp import get_decompositions
from torch.fx.experimental.proxy_tensor import make_fx

SCHEMA_VERSION = 1
ONNX_OPSET = 17
ROOT = Path(__file__).resolve().parent.parent
CASES_FILE = ROOT / "scripts" / "cases.json"
GENERATOR_FILE = Path(__file__).resolve()
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class SpecError(Exception):
    """A case spec that cannot be generated; the message names the case and the field."""


# --- names: the same mapping as src/nn/names.ts, checked against a real Sequential below ---


def layer_names(model: dict) -> list[tuple[int, str, str | None]]:
    names, module = [], 0
    for layer in model["layers"]:
        names.append((module, f"{module}.weight", f"{module}.bias" if layer["bias"] else None))
        module += 2 if layer["activation"] == "relu" else 1
    return names


def build_sequential(model: dict, dtype: torch.dtype) -> torch.nn.Sequential:
    modules, width = [], model["inputSize"]
    for layer in model["layers"]:
        modules.append(torch.nn.Linear(width, layer["out"], bias=layer["bias"], dtype=dtype))
        if layer["activation"] == "relu":
            modules.append(torch.nn.ReLU())
        width = layer["out"]
    return torch.nn.Sequential(*modules)


def parameter_shapes(model: dict) -> dict[str, list[int]]:
    shapes, width = {}, model["inputSize"]
    for (_, weight, bias), layer in zip(layer_names(model), model["layers"]):
        shapes[weight] = [layer["out"], width]
        if bias:
            shapes[bias] = [layer["out"]]
        width = layer["out"]
    return shapes


# --- inputs: explicit values from the spec, or seeded random ones ---


def case_inputs(case: dict) -> dict[str, torch.Tensor]:
    """x, target and every parameter, in the case's dtype (float64 tensors for class indices are int64)."""
    dtype = TORCH_DTYPES[case["dtype"]]
    model, batch = case["model"], case["batch"]
    shapes = parameter_shapes(model)
    classes = model["layers"][-1]["out"]
    if "values" in case:
        values = case["values"]
        tensors = {name: torch.tensor(values[name], dtype=torch.float64).to(dtype) for name in ["x", *shapes]}
        if model["loss"]["target"] == "class_indices":
            tensors["target"] = torch.tensor(values["target"], dtype=torch.int64)
        else:
            tensors["target"] = torch.tensor(values["target"], dtype=torch.float64).to(dtype)
    else:
        # Draw everything in float64 from one seeded generator, then round to the case dtype:
        # the float64 stream does not depend on the dtype, so the cases stay comparable.
        gen = torch.Generator().manual_seed(case["seed"])
        tensors = {"x": torch.randn(batch, model["inputSize"], generator=gen, dtype=torch.float64)}
        for name, shape in shapes.items():
            fan_in = shape[1] if len(shape) == 2 else shapes[name.replace("bias", "weight")][1]
            # torch.nn.Linear's default range, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
            bound = 1.0 / math.sqrt(fan_in)
            tensors[name] = (torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound
        if "logitMagnitude" in case:
            scale_last_layer(case, tensors)
        tensors["target"] = random_target(case, gen, batch, classes)
        tensors = {k: (v if v.dtype == torch.int64 else v.to(dtype)) for k, v in tensors.items()}
    for name, shape in {"x": [batch, model["inputSize"]], **shapes}.items():
        if list(tensors[name].shape) != shape:
            raise SpecError(f"case {case['name']}: values.{name} has shape {list(tensors[name].shape)}, expected {shape}")
    return tensors


def random_target(case: dict, gen: torch.Generator, batch: int, classes: int) -> torch.Tensor:
    kind = case["model"]["loss"]["target"]
    style = case.get("target", "class_indices" if kind == "class_indices" else "soft")
    if kind == "class_indices":
        return torch.randint(0, classes, (batch,), generator=gen, dtype=torch.int64)
    if style == "one_hot":
        return F.one_hot(torch.randint(0, classes, (batch,), generator=gen), classes).to(torch.float64)
    if style == "soft":
        # targetMass < 1 gives rows that do not sum to 1, which PyTorch accepts (label smoothing
        # leaves mass out the same way); the gradient is then softmax·Σp − p, not softmax − p.
        mass = case.get("targetMass", 1.0)
        return mass * torch.softmax(2 * torch.randn(batch, classes, generator=gen, dtype=torch.float64), dim=1)
    raise SpecError(f"case {case['name']}: target must be 'soft' or 'one_hot', got {style!r}")


def scale_last_layer(case: dict, tensors: dict[str, torch.Tensor]) -> None:
    """Scales the last Linear so that the largest |logit| (in float64) equals logitMagnitude."""
    model = case["model"]
    module, weight, bias = layer_names(model)[-1]
    logits = forward_logits(model, {k: v for k, v in tensors.items() if k != "target"})
    factor = case["logitMagnitude"] / logits.abs().max().item()
    tensors[weight] = tensors[weight] * factor
    if bias:
        tensors[bias] = tensors[bias] * factor


def forward_logits(model: dict, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
    net = build_sequential(model, tensors["x"].dtype)
    net.load_state_dict({k: v for k, v in tensors.items() if k != "x"})
    with torch.no_grad():
        return net(tensors["x"])


# --- the PyTorch run whose results the golden holds ---


def torch_results(case: dict, inputs: dict[str, torch.Tensor], dtype: torch.dtype) -> dict:
    """Loss, logits, every Linear's output and every gradient, computed by torch in `dtype`."""
    model = case["model"]
    net = build_sequential(model, dtype)
    expected_keys = list(parameter_shapes(model))
    if list(net.state_dict()) != expected_keys:
        raise SpecError(f"case {case['name']}: Sequential names {list(net.state_dict())} differ from {expected_keys}")
    net.load_state_dict({k: inputs[k].to(dtype) for k in expected_keys})
    x = inputs["x"].to(dtype).clone().requires_grad_(True)
    target = inputs["target"] if inputs["target"].dtype == torch.int64 else inputs["target"].to(dtype)

    linear_outputs: dict[str, torch.Tensor] = {}
    for module, _, _ in layer_names(model):
        net[module].register_forward_hook(
            lambda _m, _i, out, key=str(module): linear_outputs.__setitem__(key, out.detach().clone())
        )
    logits = net(x)
    loss = F.cross_entropy(logits, target, reduction=model["loss"]["reduction"])
    loss.backward()
    grads = {"x": x.grad}
    grads.update({name: p.grad for name, p in net.named_parameters()})
    return {
        "loss": loss.detach(),
        "logits": logits.detach(),
        "preActivations": linear_outputs,
        "grads": {name: grads[name] for name in ["x", *expected_keys]},
    }


# --- the ONNX training graph: PyTorch autograd's own backward, exported ---

# Note [Exporting autograd to ONNX]
# torch.onnx.export cannot trace torch.autograd.grad directly ("Cannot insert a Tensor that
# requires grad as a constant"). make_fx can: it records the aten ops autograd runs for the
# backward, and the decompositions below rewrite the backward ops that have no ONNX symbolic in
# torch 1.13 into plain aten ops. The result is the joint forward + backward graph autograd
# computes, exported as standard ONNX ops (Gemm, Where, ReduceSum, ScatterElements, ...).
AUTOGRAD_DECOMPOSITIONS = get_decompositions([
    torch.ops.aten.threshold_backward,
    torch.ops.aten._log_softmax_backward_data,
    torch.ops.aten._softmax_backward_data,
    torch.ops.aten.nll_loss_forward,
    torch.ops.aten.nll_loss_backward,
])


def graph_input_names(model: dict) -> list[str]:
    return ["x", "target", *parameter_shapes(model)]


def graph_output_names(model: dict) -> list[str]:
    modules = [m for m, _, _ in layer_names(model)]
    return ["loss", "logits", *[f"output.{m}" for m in modules], *[f"grad.{n}" for n in ["x", *parameter_shapes(model)]]]


def joint_function(model: dict):
    """loss, logits, every Linear output and every gradient, as a function of the graph inputs."""
    names = layer_names(model)
    param_names = list(parameter_shapes(model))

    def f(x, target, *params):
        # make_fx hands over plain tensors; the gradients must be taken with respect to these.
        x = x.detach().requires_grad_(True)
        params = [p.detach().requires_grad_(True) for p in params]
        by_name = dict(zip(param_names, params))
        h, outputs = x, []
        for (_, weight, bias), layer in zip(names, model["layers"]):
            h = F.linear(h, by_name[weight], by_name[bias] if bias else None)
            outputs.append(h)
            if layer["activation"] == "relu":
                h = F.relu(h)
        loss = F.cross_entropy(h, target, reduction=model["loss"]["reduction"])
        return (loss, h, *outputs, *torch.autograd.grad(loss, [x, *params]))

    return f


def drop_lift_fresh_copy(gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Probability targets with `mean` divide by a lifted constant (the batch size); torch.onnx 1.13
    has no symbolic for aten::lift_fresh_copy and make_fx ignores decompositions for it, but the
    copy is a no-op on a constant, so the node is replaced by its input."""
    for node in list(gm.graph.nodes):
        if node.op == "call_function" and node.target == torch.ops.aten.lift_fresh_copy.default:
            node.replace_all_uses_with(node.args[0])
            gm.graph.erase_node(node)
    gm.graph.lint()
    gm.recompile()
    return gm


class JointGraph(torch.nn.Module):
    def __init__(self, gm: torch.fx.GraphModule):
        super().__init__()
        self.gm = gm

    def forward(self, *args):
        return self.gm(*args)


def export_onnx(case: dict, inputs: dict[str, torch.Tensor], path: Path) -> dict:
    """Writes the case's joint graph in the case's dtype and returns its description for the golden."""
    model = case["model"]
    dtype = TORCH_DTYPES[case["dtype"]]
    args = tuple(inputs[name] for name in graph_input_names(model))
    previous_default = torch.get_default_dtype()
    # torch.onnx 1.13 types scalar constants (the 1/B of `mean`) with the default dtype; without
    # this a float64 graph silently computes part of the loss in float32.
    torch.set_default_dtype(dtype)
    try:
        gm = drop_lift_fresh_copy(make_fx(joint_function(model), decomposition_table=AUTOGRAD_DECOMPOSITIONS)(*args))
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.onnx.export(
            JointGraph(gm), args, str(path),
            input_names=graph_input_names(model), output_names=graph_output_names(model),
            opset_version=ONNX_OPSET, do_constant_folding=False, export_params=True, verbose=False,
        )
    finally:
        torch.set_default_dtype(previous_default)
    return {
        "file": f"onnx/{path.name}",
        "sha256": sha256_file(path),
        "dtype": case["dtype"],
        "opset": ONNX_OPSET,
        "inputs": graph_input_names(model),
        "outputs": graph_output_names(model),
    }


# --- JSON encoding: exact floats, a digest per tensor ---


def encode_tensor(t: torch.Tensor) -> dict:
    """A tensor as {dtype, shape, sha256, data}. Python's float repr is the shortest decimal that
    parses back to the same binary64, and every float32 is exactly a binary64, so `data` survives
    JSON bit-exactly; sha256 over the little-endian bytes lets the loader prove it did."""
    t = t.detach().contiguous()
    array = t.numpy()
    if t.dtype == torch.int64:
        dtype, data = "int64", [int(v) for v in array.reshape(-1)]
        raw = array.astype("<i8").tobytes()
    else:
        dtype = {torch.float32: "float32", torch.float64: "float64"}[t.dtype]
        data = [float(v) for v in array.reshape(-1)]
        raw = array.astype("<f4" if dtype == "float32" else "<f8").tobytes()
    if dtype != "int64" and not all(math.isfinite(v) for v in data):
        raise SpecError(f"non-finite value in a {dtype} tensor of shape {list(t.shape)}")
    return {"dtype": dtype, "shape": list(t.shape), "sha256": hashlib.sha256(raw).hexdigest(), "data": data}


def encode_results(results: dict, inputs_rounded: bool) -> dict:
    return {
        "inputsRounded": inputs_rounded,
        "loss": encode_tensor(results["loss"]),
        "logits": encode_tensor(results["logits"]),
        "preActivations": {k: encode_tensor(v) for k, v in results["preActivations"].items()},
        "grads": {k: encode_tensor(v) for k, v in results["grads"].items()},
    }


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def canonical_spec_hash(case: dict) -> str:
    return hashlib.sha256(json.dumps(case, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def count_exact_zeros(results: dict, model: dict) -> int:
    relu_modules = [str(m) for (m, _, _), layer in zip(layer_names(model), model["layers"]) if layer["activation"] == "relu"]
    return sum(int((results["preActivations"][m] == 0).sum()) for m in relu_modules)


def golden_for(case: dict, out_dir: Path) -> dict:
    inputs = case_inputs(case)
    onnx_graph = export_onnx(case, inputs, out_dir / "onnx" / f"{case['name']}.onnx")
    runs = {name: torch_results(case, inputs, dtype) for name, dtype in TORCH_DTYPES.items()}
    expected_zeros = case.get("expectExactZeroPreActivations")
    if expected_zeros is not None:
        for name, run in runs.items():
            found = count_exact_zeros(run, case["model"])
            if found != expected_zeros:
                raise SpecError(f"case {case['name']}: {found} ReLU pre-activations are exactly 0 in {name}, the spec expects {expected_zeros}")
    params = parameter_shapes(case["model"])
    return {
        "schemaVersion": SCHEMA_VERSION,
        "case": case["name"],
        "description": case["description"],
        "model": case["model"],
        "dtype": case["dtype"],
        "inputs": {"x": encode_tensor(inputs["x"]), "target": encode_tensor(inputs["target"])},
        "parameters": {name: encode_tensor(inputs[name]) for name in params},
        "expected": {
            "float32": encode_results(runs["float32"], inputs_rounded=case["dtype"] != "float32"),
            "float64": encode_results(runs["float64"], inputs_rounded=False),
        },
        "onnx": onnx_graph,
        "provenance": {
            "generator": GENERATOR_FILE.relative_to(ROOT).as_posix(),
            "generatorSha256": sha256_file(GENERATOR_FILE),
            "specSha256": canonical_spec_hash(case),
            "spec": case,
            "seed": case.get("seed"),
            "cpuCapability": CPU_CAPABILITY,
            "command": f"npm run goldens -- --case {case['name']}",
            "torch": torch.__version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
    }


CASE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
CASE_KEYS = {"name", "description", "dtype", "model", "batch", "values", "seed", "target", "targetMass", "logitMagnitude", "expectExactZeroPreActivations"}


def validate_case(case: object, index: int) -> None:
    """Checks one entry of cases.json before anything is generated from it; errors name the field."""
    where = f"cases[{index}]"

    def fail(field: str, why: str) -> None:
        raise SpecError(f"{CASES_FILE.name}: {where}.{field}: {why}")

    if not isinstance(case, dict):
        raise SpecError(f"{CASES_FILE.name}: {where}: a case spec is an object")
    if isinstance(case.get("name"), str):
        where = f"cases[{index}] ({case['name']})"
    for key in sorted(set(case) - CASE_KEYS):
        fail(key, f"unknown field (known: {', '.join(sorted(CASE_KEYS))})")
    for key, kind in (("name", str), ("description", str), ("model", dict)):
        if not isinstance(case.get(key), kind):
            fail(key, f"is required and must be a {kind.__name__}")
    if not CASE_NAME.match(case["name"]):
        fail("name", "lowercase letters, digits and dashes (it becomes a file name)")
    if case.get("dtype") not in TORCH_DTYPES:
        fail("dtype", f"must be float32 or float64, not {case.get('dtype')!r}")
    if not (isinstance(case.get("batch"), int) and case["batch"] >= 1):
        fail("batch", "must be an integer ≥ 1")
    model = case["model"]
    if not (isinstance(model.get("inputSize"), int) and model["inputSize"] >= 1):
        fail("model.inputSize", "must be an integer ≥ 1")
    layers = model.get("layers")
    if not (isinstance(layers, list) and layers):
        fail("model.layers", "must be a non-empty list")
    for i, layer in enumerate(layers):
        if not (isinstance(layer, dict) and isinstance(layer.get("out"), int) and layer["out"] >= 1):
            fail(f"model.layers[{i}].out", "must be an integer ≥ 1")
        if not isinstance(layer.get("bias"), bool):
            fail(f"model.layers[{i}].bias", "must be true or false")
        if layer.get("activation") not in ("relu", "identity"):
            fail(f"model.layers[{i}].activation", f"must be relu or identity, not {layer.get('activation')!r}")
    loss = model.get("loss") or {}
    if loss.get("kind") != "softmax_cross_entropy":
        fail("model.loss.kind", "must be softmax_cross_entropy")
    if loss.get("target") not in ("class_indices", "probabilities"):
        fail("model.loss.target", "must be class_indices or probabilities")
    if loss.get("reduction") not in ("mean", "sum"):
        fail("model.loss.reduction", "must be mean or sum")
    if ("values" in case) == ("seed" in case):
        fail("values", "give either explicit values or a seed, not both and not neither")
    if "values" in case:
        missing = [n for n in ["x", "target", *parameter_shapes(model)] if n not in case["values"]]
        if missing:
            fail("values", f"missing {', '.join(missing)}")
    if "target" in case and (loss["target"] != "probabilities" or case["target"] not in ("soft", "one_hot")):
        fail("target", "is soft or one_hot, and only for probability targets")
    if "targetMass" in case and case.get("target") != "soft":
        fail("targetMass", "only applies to soft targets")


def load_cases(selected: list[str]) -> list[dict]:
    try:
        cases = json.loads(CASES_FILE.read_text())["cases"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SpecError(f"{CASES_FILE.name}: cannot read the case specs ({err})")
    if not isinstance(cases, list):
        raise SpecError(f"{CASES_FILE.name}: cases: must be a list")
    for index, case in enumerate(cases):
        validate_case(case, index)
    names = [c["name"] for c in cases]
    # A name becomes a file name: nothing that could leave the output directory.
    bad = [n for n in names + selected if not CASE_NAME.match(n)]
    if bad:
        raise SpecError(f"{CASES_FILE.name}: case names must be lowercase letters, digits and dashes: {bad}")
    if len(set(names)) != len(names):
        raise SpecError(f"{CASES_FILE.name}: duplicate case names")
    unknown = [n for n in selected if n not in names]
    if unknown:
        raise SpecError(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(names)}")
    return [c for c in cases if not selected or c["name"] in selected]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="directory to write <case>.json into")
    parser.add_argument("--case", action="append", default=[], help="only this case (repeatable)")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        cases = load_cases(args.case)
        args.out.mkdir(parents=True, exist_ok=True)
        for index, case in enumerate(cases):
            started = time.perf_counter()
            text = json.dumps(golden_for(case, args.out), indent=1, allow_nan=False) + "\n"
            (args.out / f"{case['name']}.json").write_text(text)
            # One JSON line per case on stdout: the driver shows progress and timing from these.
            progress = {"case": case["name"], "index": index + 1, "total": len(cases), "seconds": round(time.perf_counter() - started, 3)}
            print(json.dumps(progress), flush=True)
    except SpecError as err:
        print(f"generate_goldens: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
