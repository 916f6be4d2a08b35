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
import sys
import warnings
from pathlib import Path

# PyTorch picks its CPU kernels (DEFAULT, AVX2, AVX512) by what the machine supports, and the
# float32 results differ in the last bits between them. Pinning the portable DEFAULT kernels,
# before torch is imported, makes the goldens reproducible bit for bit on any x86-64 machine.
CPU_CAPABILITY = "default"
os.environ["ATEN_CPU_CAPABILITY"] = CPU_CAPABILITY

import numpy as np
import torch
import torch.nn.functional as F

from case_specs import CASES_FILE, ROOT, SpecError, load_cases
from op_table import LOSS_OPS, MODULE_OPS, loss_shape, parameter_shapes, result_keys, widths

sys.path.insert(0, str(ROOT / "python"))
from capture import CaptureError, capture_document, write_goldens  # noqa: E402
from export_graph import ExportError  # noqa: E402

GENERATOR_FILE = Path(__file__).resolve()
# Everything that decides what a golden holds; their SHA-256, together, is the provenance's.
GENERATOR_SOURCES = [GENERATOR_FILE, ROOT / "scripts" / "op_table.py", ROOT / "scripts" / "case_specs.py", ROOT / "python" / "capture.py", ROOT / "python" / "export_graph.py", ROOT / "python" / "golden_json.py"]
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


# --- the Sequential, from the op table (scripts/op_table.py) ---


def build_sequential(model: dict, dtype: torch.dtype) -> torch.nn.Sequential:
    w = widths(model)
    return torch.nn.Sequential(*[MODULE_OPS[spec["op"]].build(torch, spec, w[i], dtype, "cpu") for i, spec in enumerate(model["modules"])])


# --- inputs: explicit values from the spec, or seeded random ones ---


def case_inputs(case: dict) -> dict[str, torch.Tensor]:
    """x, target, lossGrad (unreduced losses) and every parameter, in the case's dtype (class indices are int64)."""
    dtype = TORCH_DTYPES[case["dtype"]]
    model, batch = case["model"], case["batch"]
    shapes = parameter_shapes(model)
    classes = widths(model)[-1]
    unreduced = loss_shape(model, batch)
    tensors = {} if "seed" not in case else drawn_inputs(case, shapes, classes, unreduced)
    # Explicit values: all inputs without a seed; with one, they replace the drawn ones, last.
    for name, value in case.get("values", {}).items():
        integer = name == "target" and target_kind(model) == "class_indices"
        tensors[name] = torch.tensor(value, dtype=torch.int64) if integer else torch.tensor(value, dtype=torch.float64).to(dtype)
    tensors = {k: (v if v.dtype == torch.int64 else v.to(dtype)) for k, v in tensors.items()}
    for name, shape in {"x": [batch, model["inputSize"]], **({"lossGrad": unreduced} if unreduced else {}), **shapes}.items():
        if list(tensors[name].shape) != shape:
            raise SpecError(f"case {case['name']}: values.{name} has shape {list(tensors[name].shape)}, expected {shape}")
    return tensors


def drawn_inputs(case: dict, shapes: dict, classes: int, unreduced: list[int]) -> dict[str, torch.Tensor]:
    """Every input drawn from the case's seed, in float64, with `scale` and `logitMagnitude` applied."""
    model, batch = case["model"], case["batch"]
    # Draw everything in float64 from one seeded generator, then round to the case dtype:
    # the float64 stream does not depend on the dtype, so the cases stay comparable.
    gen = torch.Generator().manual_seed(case["seed"])
    tensors = {"x": torch.randn(batch, model["inputSize"], generator=gen, dtype=torch.float64)}
    for name, shape in shapes.items():
        fan_in = shape[1] if len(shape) == 2 else shapes[name.rsplit(".", 1)[0] + ".weight"][1]
        # torch.nn.Linear's default range, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        bound = 1.0 / math.sqrt(fan_in)
        tensors[name] = (torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound
    # Scaling pushes pre-activations into an op's tails or across its kinks, where its corners are.
    for name, factor in case.get("scale", {}).items():
        tensors[name] = tensors[name] * factor
    if "logitMagnitude" in case:
        scale_last_layer(case, tensors)
    tensors["target"] = random_target(case, gen, batch, classes)
    # The upstream gradient of an unreduced loss, N(0, 1), drawn last so that every other
    # input is the same stream as the reduced variant of the case.
    if unreduced:
        tensors["lossGrad"] = torch.randn(*unreduced, generator=gen, dtype=torch.float64)
    return tensors


def target_kind(model: dict) -> str:
    """class_indices, probabilities or values: what the model's loss takes (its op table entry says)."""
    return LOSS_OPS[model["loss"]["op"]].target_kind(model["loss"])


def random_target(case: dict, gen: torch.Generator, batch: int, classes: int) -> torch.Tensor:
    kind = target_kind(case["model"])
    style = case.get("target", "soft")
    if kind == "class_indices":
        indices = torch.randint(0, classes, (batch,), generator=gen, dtype=torch.int64)
        # Rows left out by ignore_index: their target becomes the loss's ignoreIndex.
        for row in case.get("ignoredRows", []):
            indices[row] = case["model"]["loss"]["ignoreIndex"]
        return indices
    if kind == "values":
        return torch.randn(batch, classes, generator=gen, dtype=torch.float64)
    if style == "uniform":
        # Independent probabilities in [0, 1), one per logit: BCE's targets.
        return torch.rand(batch, classes, generator=gen, dtype=torch.float64)
    if style == "one_hot":
        return F.one_hot(torch.randint(0, classes, (batch,), generator=gen), classes).to(torch.float64)
    if style == "soft":
        # targetMass < 1 gives rows that do not sum to 1, which PyTorch accepts (label smoothing
        # leaves mass out the same way); the gradient is then softmax·Σp − p, not softmax − p.
        mass = case.get("targetMass", 1.0)
        return mass * torch.softmax(2 * torch.randn(batch, classes, generator=gen, dtype=torch.float64), dim=1)
    raise SpecError(f"case {case['name']}: target must be 'soft', 'one_hot' or 'uniform', got {style!r}")


def scale_last_layer(case: dict, tensors: dict[str, torch.Tensor]) -> None:
    """Scales the last Linear so that the largest |logit| (in float64) equals logitMagnitude."""
    model = case["model"]
    last = max(i for i, spec in enumerate(model["modules"]) if spec["op"] == "linear")
    logits = forward_logits(model, {k: v for k, v in tensors.items() if k not in ("target", "lossGrad")})
    factor = case["logitMagnitude"] / logits.abs().max().item()
    for name in (f"{last}.weight", f"{last}.bias"):
        if name in tensors:
            tensors[name] = tensors[name] * factor


def forward_logits(model: dict, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
    net = build_sequential(model, tensors["x"].dtype)
    net.load_state_dict({k: v for k, v in tensors.items() if k != "x"})
    with torch.no_grad():
        return net(tensors["x"])


# --- the PyTorch run and the graph: python/capture.py, the one producer of the golden format ---


class MlpSequential(torch.nn.Sequential):
    """A torch.nn.Sequential whose forward names its input x, as the golden's inputs do."""

    def forward(self, x):  # noqa: D102 (torch.nn.Sequential's forward, its argument renamed)
        return super().forward(x)


def capture_spec(case: dict, inputs: dict[str, torch.Tensor]) -> dict:
    """The MLP case as a python/capture.py case: the Sequential with the case's parameters, x,
    the target and (unreduced losses) lossGrad as inputs, every module's output recorded, and the
    gradient of x and of every parameter; inputs stored in the case's precision."""
    model = case["model"]
    w = widths(model)
    params = {name: inputs[name] for name in parameter_shapes(model)}
    data = {name: inputs[name] for name in ("x", "target", "lossGrad") if name in inputs}

    def build() -> torch.nn.Module:
        net = MlpSequential(*[MODULE_OPS[spec["op"]].build(torch, spec, w[i], torch.float64, "cpu") for i, spec in enumerate(model["modules"])])
        # The op table's parameters (which the TS side's records mirror) must be the Sequential's own.
        actual = {name: list(t.shape) for name, t in net.state_dict().items()}
        if actual != parameter_shapes(model):
            raise SpecError(f"case {case['name']}: the Sequential's state_dict is {actual}, the op table says {parameter_shapes(model)}")
        net.load_state_dict({k: v.to(torch.float64) for k, v in params.items()})
        return net

    loss_op = LOSS_OPS[model["loss"]["op"]]
    return {
        "name": case["name"],
        "description": case["description"],
        "build": build,
        "inputs": lambda _generator: data,
        "loss": lambda logits, given: loss_op.functional(torch, model["loss"], logits, given["target"]),
        "record": [str(i) for i in range(len(model["modules"]))],
        "grad_inputs": ["x"],
        **({"loss_grad": "lossGrad"} if "lossGrad" in data else {}),
        "output": "logits",
        "inputs_dtype": case["dtype"],
        "seed": case.get("seed") or 0,
    }


def decomposition_names(model: dict) -> list[str]:
    """The aten backward ops the model's ops need decomposed (their entries in the op table say which)."""
    return [*LOSS_OPS[model["loss"]["op"]].decompositions, *[d for spec in model["modules"] for d in MODULE_OPS[spec["op"]].decompositions]]


def generator_sha256() -> str:
    """SHA-256 of the generator's sources, concatenated in GENERATOR_SOURCES order (src/golden/freshness.ts computes the same)."""
    return hashlib.sha256(b"".join(path.read_bytes() for path in GENERATOR_SOURCES)).hexdigest()


def canonical_spec_hash(case: dict) -> str:
    return hashlib.sha256(json.dumps(case, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def kinked_inputs(run: dict, inputs: dict, model: dict) -> list[tuple[torch.Tensor, list[float]]]:
    """The input of every module with kinks, with its kinks (module 0's input is x)."""
    found = []
    for i, spec in enumerate(model["modules"]):
        kinks = MODULE_OPS[spec["op"]].kinks(spec)
        if kinks:
            found.append((inputs["x"] if i == 0 else run[f"out.{i - 1}"], kinks))
    return found


def count_exact_kinks(run: dict, inputs: dict, model: dict) -> int:
    """How many inputs of modules with kinks sit exactly on a kink."""
    return sum(int((t == k).sum()) for t, kinks in kinked_inputs(run, inputs, model) for k in kinks)


def near_kinks(run: dict, inputs: dict, model: dict) -> list[int]:
    """How many inputs of kinked modules lie within 1e-6 below a kink, and within 1e-6 above one, not on it."""
    below = sum(int(((t < k) & (t > k - 1e-6)).sum()) for t, kinks in kinked_inputs(run, inputs, model) for k in kinks)
    above = sum(int(((t > k) & (t < k + 1e-6)).sum()) for t, kinks in kinked_inputs(run, inputs, model) for k in kinks)
    return [below, above]


# Note [Corner cases assert their corners]
# A case made for a corner (logits beyond exp's range, tied maxima, subnormal weights, …) names
# it in `expect`, and the generator measures it on torch's own run in the case's precision:
# exp and softmax are evaluated in that precision, so "overflows" means what it means there.
# A regenerated case that lost its corner (new seed, torch changing a default) fails here
# instead of turning into one more ordinary case that every bug passes.
def corner_counts(case: dict, inputs: dict, run: dict) -> dict[str, object]:
    """Each expectation the case names, measured: a count, or [below, above] for inputsNearKinks."""
    model, dtype = case["model"], TORCH_DTYPES[case["dtype"]]
    logits = run["logits"]
    row_max = logits.max(dim=1).values
    target = inputs["target"]
    classes = logits.shape[1]
    measures = {
        "inputsNearKinks": lambda: near_kinks(run, inputs, model),
        "logitsOverflowingExp": lambda: int(torch.isinf(torch.exp(logits)).sum()),
        "rowsFirstLogitFarBelowMax": lambda: int(torch.isinf(torch.exp(row_max - logits[:, 0])).sum()),
        "rowsFarBelowBatchMax": lambda: int((torch.exp(row_max - logits.max()) == 0).sum()),
        "rowsWithTiedMax": lambda: int(((logits == row_max[:, None]).sum(dim=1) >= 2).sum()),
        "zeroLogits": lambda: int((logits == 0).sum()),
        "softmaxUnderflows": lambda: int((torch.softmax(logits, dim=1) == 0).sum()),
        "zeroTargetRows": lambda: int((target == 0).all(dim=1).sum()),
        "targetRowsAboveOne": lambda: int((target.double().sum(dim=1) > 1).sum()),
        "oneHotTargetRows": lambda: int((((target == 0) | (target == 1)).all(dim=1) & ((target == 1).sum(dim=1) == 1)).sum()),
        "classesNeverTargeted": lambda: sum(int(not (target == c).any()) for c in range(classes)),
        "classesAlwaysTargeted": lambda: sum(int(bool((target == c).all())) for c in range(classes)),
        "subnormalInputs": lambda: sum(int(((t != 0) & (t.abs() < torch.finfo(dtype).tiny)).sum()) for name, t in inputs.items() if name == "x" or name in parameter_shapes(model)),
        "zerosInX": lambda: int((inputs["x"] == 0).sum()),
    }
    return {name: measures[name]() for name in case.get("expect", {}) if name != "inputsAtKinks"}


def check_corners(case: dict, inputs: dict, runs: dict) -> None:
    """Fails unless torch's runs show every corner the case's `expect` names (Note [Corner cases assert their corners])."""
    expect = case.get("expect", {})
    if "inputsAtKinks" in expect:
        for name, run in runs.items():
            found = count_exact_kinks(run, inputs, case["model"])
            if found != expect["inputsAtKinks"]:
                raise SpecError(f"case {case['name']}: expect.inputsAtKinks: {found} inputs of kinked modules sit exactly on a kink in {name}, the spec expects {expect['inputsAtKinks']}")
    for name, found in corner_counts(case, inputs, runs[case["dtype"]]).items():
        wanted = expect[name]
        short = [f < w for f, w in zip(found, wanted)] if isinstance(wanted, list) else [found < wanted]
        if any(short):
            raise SpecError(f"case {case['name']}: expect.{name}: torch's {case['dtype']} run has {found}, the spec expects at least {wanted}")


def golden_for(case: dict, out_dir: Path) -> dict:
    """The case's golden: python/capture.py's document of the MLP, with its spec in `mlp`."""
    inputs = case_inputs(case)
    provenance = {
        "generator": GENERATOR_FILE.relative_to(ROOT).as_posix(),
        "generatorSha256": generator_sha256(),
        "specSha256": canonical_spec_hash(case),
        "spec": case,
        "seed": case.get("seed"),
        "cpuCapability": CPU_CAPABILITY,
        "command": f"npm run goldens -- --case {case['name']}",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    try:
        document, runs = capture_document(capture_spec(case, inputs), out_dir, provenance, decomposition_names(case["model"]))
    except (CaptureError, ExportError) as err:
        raise SpecError(f"{err} If it is a backward op, name it in the `decompositions` of its op's entry in scripts/op_table.py.") from None
    for name, run in runs.items():
        if list(run) != result_keys(case["model"]):
            raise SpecError(f"case {case['name']}: torch's {name} run produced {list(run)}, expected {result_keys(case['model'])}")
    check_corners(case, inputs, runs)
    return {**document, "mlp": {"model": case["model"], "dtype": case["dtype"]}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="directory to write <case>.json into")
    parser.add_argument("--case", action="append", default=[], help="only this case (repeatable)")
    parser.add_argument("--cases", type=Path, default=CASES_FILE, help="the case specs (default: scripts/cases.json; `npm run bench` passes its own)")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    # torch.onnx 1.13 warns that it cannot infer the shape of a tensor constant (pos_weight, a
    # class-weight vector) held in the graph. The constant's shape is known and fixed, and every
    # graph is run in onnxruntime and held to torch's results before it lands, so the warning
    # says nothing about these graphs; it would only bury the generator's own output.
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant type is missing")
    try:
        cases = load_cases(args.case, args.cases)
        write_goldens(args.out, cases, lambda case: golden_for(case, args.out))
    except SpecError as err:
        print(f"generate_goldens: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
