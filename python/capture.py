"""Captures your own PyTorch models as goldens: real torch, both precisions, and the ONNX training graph.

Usage (normally through `npm run capture`, which validates what this writes and swaps it into
your goldens folder atomically):

    /usr/bin/python3 python/capture.py CASES.py --out DIR [--case NAME ...]

CASES.py is your file. It defines CASES, a list of plain dicts, one per case:

    CASES = [
        {
            "name": "layernorm-block",              # lowercase letters, digits, dashes: the file name
            "description": "LayerNorm, Linear, GELU and a residual",
            "build": lambda: Block(8),              # a torch.nn.Module, built afresh (seeded), or a
                                                    # plain function of the inputs (no parameters)
            "inputs": lambda g: {"x": torch.randn(4, 8, generator=g, dtype=torch.float64)},
            "loss": lambda out, inputs: out.pow(2).mean(),   # a scalar from the outputs
            "record": ["ln", "fc"],                 # optional: submodules whose outputs to keep
            "seed": 0,                              # optional, default 0
        },
    ]

Optional fields, for what a plain case does not cover:

    "grad_inputs": ["x"],        # the float inputs that get a gradient (default: every float input
                                 # but loss_grad); the others are data, like a probability target
    "loss_grad": "upstream",     # an input that starts the backward pass of a loss that is not a
                                 # scalar, as loss.backward(upstream) does; it gets no gradient
    "output": "logits",          # the output's key (default "output"; "<name>.<k>" for a tuple)
    "inputs_dtype": "float32",   # store the float inputs and parameters in float32 (rounded once,
                                 # from the float64 draw): both runs then see the same values

`inputs` receives a seeded torch.Generator and returns named tensors: float ones (drawn in
float64; the float32 run rounds them) and integer ones (indices, class targets). Those the
module's forward names are its keyword arguments; the others reach only the loss (a target).
Every float input gets a gradient unless grad_inputs says otherwise. Each case gives, in float32
and float64 from the same inputs: `loss`, the module's output (`output`, or `output.<k>` for a
tuple), `out.<name>` for every recorded submodule, and `grad.<input>` and `grad.<parameter>` under
the parameter's state_dict name; and the joint forward-and-backward graph, exported per precision
to onnx/<name>.<dtype>.onnx. gradparity's own MLP goldens are written by this same code
(capture_document, called by scripts/generate_goldens.py).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.util
import inspect
import json
import os
import platform
import re
import sys
import time
import warnings
from pathlib import Path

# The portable kernels, before torch is imported: reproducible bits on any x86-64 machine.
os.environ["ATEN_CPU_CAPABILITY"] = "default"

import torch  # noqa: E402
from torch.nn.utils.stateless import functional_call  # noqa: E402

from export_graph import ONNX_OPSET, ExportError, decomposition_table, export_joint  # noqa: E402
from golden_json import NonFiniteTensor, encode_tensor  # noqa: E402

SCHEMA_VERSION = 2
CAPTURE_FILE = Path(__file__).resolve()
SOURCES = [CAPTURE_FILE, CAPTURE_FILE.parent / "export_graph.py", CAPTURE_FILE.parent / "golden_json.py"]
DTYPES = {"float32": torch.float32, "float64": torch.float64}
CASE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
FIELDS = {"name", "description", "build", "inputs", "loss", "record", "seed", "grad_inputs", "loss_grad", "output", "inputs_dtype"}

# Backward ops torch.onnx 1.13 has no symbolic for, decomposed into plain aten ops when a graph
# uses them (a name torch has no decomposition for is skipped).
BACKWARD_DECOMPOSITIONS = [
    "native_layer_norm", "native_layer_norm_backward", "gelu_backward", "tanh_backward", "sigmoid_backward",
    "threshold_backward", "_softmax_backward_data", "_log_softmax_backward_data", "embedding_dense_backward",
    "select_backward", "slice_backward", "nll_loss_forward", "nll_loss_backward", "mse_loss_backward",
    "hardtanh_backward", "leaky_relu_backward", "elu_backward", "softplus_backward", "silu_backward",
    "_reshape_alias", "_unsafe_view", "_softmax", "_log_softmax",
]


class CaptureError(Exception):
    """A case that cannot be captured; the message names the file, the case and the field."""


def load_cases(path: Path, selected: list[str]) -> list[dict]:
    spec = importlib.util.spec_from_file_location("gradparity_user_cases", path)
    if spec is None or spec.loader is None:
        raise CaptureError(f"{path}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the user's own code: say where it failed
        raise CaptureError(f"{path}: importing it failed: {type(err).__name__}: {err}") from None
    cases = getattr(module, "CASES", None)
    if not isinstance(cases, list) or not cases:
        raise CaptureError(f"{path}: CASES must be a non-empty list of case dicts")
    names = []
    for k, case in enumerate(cases):
        where = f"{path}: CASES[{k}]"
        if not isinstance(case, dict):
            raise CaptureError(f"{where}: is a {type(case).__name__}, not a dict")
        for field in ("name", "description", "build", "inputs", "loss"):
            if field not in case:
                raise CaptureError(f"{where}: {field} is missing")
        unknown = sorted(set(case) - FIELDS)
        if unknown:
            raise CaptureError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(FIELDS))})")
        if not isinstance(case["name"], str) or not CASE_NAME.match(case["name"]):
            raise CaptureError(f"{where}.name: {case['name']!r} is not lowercase letters, digits and dashes")
        for field in ("build", "inputs", "loss"):
            if not callable(case[field]):
                raise CaptureError(f"{where} ({case['name']}).{field}: is not callable")
        if case.get("inputs_dtype", "float64") not in DTYPES:
            raise CaptureError(f"{where} ({case['name']}).inputs_dtype: {case['inputs_dtype']!r} is not float32 or float64")
        names.append(case["name"])
    if len(set(names)) != len(names):
        raise CaptureError(f"{path}: duplicate case names")
    unknown = [n for n in selected if n not in names]
    if unknown:
        raise CaptureError(f"{path}: no case named {', '.join(unknown)} (known: {', '.join(names)})")
    return [c for c in cases if not selected or c["name"] in selected]


def encode(t: torch.Tensor) -> dict:
    """python/golden_json.py's encoding, with a non-finite value as a CaptureError."""
    try:
        return encode_tensor(t)
    except NonFiniteTensor as err:
        raise CaptureError(str(err)) from None


class FunctionModule(torch.nn.Module):
    """A plain function of tensors as a module without parameters: its inputs get the gradients."""

    def __init__(self, function):
        super().__init__()
        self.function = function

    def forward(self, **inputs):
        return self.function(**inputs)


def forward_parameters(module: torch.nn.Module):
    """The names the module's forward (or the wrapped function) takes."""
    return inspect.signature(module.function if isinstance(module, FunctionModule) else module.forward).parameters


def seeded(case: dict):
    """The module and the inputs, from the case's seed, in float64 (integer inputs as int64), rounded once to inputs_dtype."""
    seed = case.get("seed", 0)
    torch.manual_seed(seed)
    module = case["build"]()
    if not isinstance(module, torch.nn.Module):
        if not callable(module):
            raise CaptureError(f"case {case['name']}.build: returned a {type(module).__name__}, not a torch.nn.Module or a function")
        module = FunctionModule(module)
    module = module.double()
    inputs = case["inputs"](torch.Generator().manual_seed(seed))
    if not isinstance(inputs, dict) or not inputs:
        raise CaptureError(f"case {case['name']}.inputs: must return a dict of named tensors")
    stored = DTYPES[case.get("inputs_dtype", "float64")]
    out = {}
    for name, t in inputs.items():
        if not isinstance(t, torch.Tensor):
            raise CaptureError(f"case {case['name']}.inputs: {name} is not a tensor")
        out[name] = t.to(stored).to(torch.float64) if t.is_floating_point() else t.to(torch.int64)
    for name in [case.get("loss_grad"), *case.get("grad_inputs", [])]:
        if name is not None and (name not in out or not out[name].is_floating_point()):
            raise CaptureError(f"case {case['name']}: {name!r} is not one of its float inputs ({', '.join(n for n, t in out.items() if t.is_floating_point())})")
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.to(stored).to(torch.float64))
    return module, out


def outputs_by_key(out, key: str) -> dict[str, torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return {key: out}
    if isinstance(out, (tuple, list)) and all(isinstance(t, torch.Tensor) for t in out):
        return {f"{key}.{k}": t for k, t in enumerate(out)}
    raise CaptureError(f"the module returned a {type(out).__name__}; a tensor or a tuple of tensors is needed")


def run(case: dict, module: torch.nn.Module, inputs: dict, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One forward and backward pass with `params` standing in for the module's parameters (its
    own, eagerly; the traced ones under make_fx): every result by key."""
    recorded = {}
    submodules = dict(module.named_modules())
    handles = []
    for name in case.get("record", []):
        if name not in submodules or not name:
            raise CaptureError(f"case {case['name']}.record: the module has no submodule {name!r} (it has {', '.join(n for n in submodules if n)})")
        handles.append(submodules[name].register_forward_hook(lambda _m, _i, out, key=f"out.{name}": recorded.__setitem__(key, out)))
    try:
        # Inputs the module's forward takes go to it; the others (a target) reach only the loss.
        accepted = forward_parameters(module)
        key = case.get("output", "output")
        outputs = outputs_by_key(functional_call(module, params, (), {k: v for k, v in inputs.items() if k in accepted}), key)
    finally:
        for h in handles:
            h.remove()
    loss = case["loss"](outputs[key] if key in outputs else tuple(outputs.values()), inputs)
    upstream = inputs[case["loss_grad"]] if "loss_grad" in case else None
    if not isinstance(loss, torch.Tensor) or (upstream is None and loss.dim() != 0):
        raise CaptureError(f"case {case['name']}.loss: must return a scalar tensor (or name the input that starts its backward pass in loss_grad)")
    if upstream is not None and upstream.shape != loss.shape:
        raise CaptureError(f"case {case['name']}.loss_grad: {case['loss_grad']} has shape {list(upstream.shape)}, the loss {list(loss.shape)}")
    wrt_inputs = differentiated_inputs(case, inputs)
    wrt = [inputs[n] for n in wrt_inputs] + list(params.values())
    # An input or parameter the loss does not reach has a zero gradient, as torch's .grad would after zero_grad.
    grads = [torch.zeros_like(t) if g is None else g for g, t in zip(torch.autograd.grad(loss, wrt, grad_outputs=upstream, allow_unused=True), wrt)]
    return {"loss": loss, **outputs, **recorded, **{f"grad.{n}": g for n, g in zip(wrt_inputs + list(params), grads)}}


def differentiated_inputs(case: dict, inputs: dict) -> list[str]:
    """The inputs that get a gradient: grad_inputs, or every float input but loss_grad."""
    if "grad_inputs" in case:
        return [n for n in inputs if n in case["grad_inputs"]]
    return [n for n, t in inputs.items() if t.is_floating_point() and n != case.get("loss_grad")]


def capture_document(case: dict, out_dir: Path, provenance: dict, decompositions: list[str] = BACKWARD_DECOMPOSITIONS, where: str = "") -> tuple[dict, dict]:
    """The golden of one case, and torch's results by precision and key: the one producer of the
    golden format, for your cases (capture_case) and for gradparity's MLP cases
    (scripts/generate_goldens.py) alike. `where` prefixes export errors (the cases file)."""
    module64, inputs64 = seeded(case)
    names = [n for n, _ in module64.named_parameters()]
    input_names = list(inputs64)
    wrt = set(differentiated_inputs(case, inputs64))
    stored = case.get("inputs_dtype", "float64")
    expected, graphs, runs = {}, {}, {}
    for dtype_name, dtype in DTYPES.items():
        module = copy.deepcopy(module64).to(dtype)
        inputs = {n: (t.to(dtype).requires_grad_(n in wrt) if t.is_floating_point() else t) for n, t in inputs64.items()}
        results = run(case, module, inputs, dict(module.named_parameters()))
        keys = list(results)
        runs[dtype_name] = {k: v.detach() for k, v in results.items()}
        # Rounded: the run's precision is narrower than the one the inputs are stored in.
        expected[dtype_name] = {"inputsRounded": stored == "float64" and dtype_name != "float64", "tensors": {k: encode(v) for k, v in results.items()}}

        def joint(*args, module=module, keys=keys):
            given = {n: (t.detach().requires_grad_(n in wrt) if t.is_floating_point() else t) for n, t in zip(input_names, args)}
            params = {n: p.detach().requires_grad_(True) for n, p in zip(names, args[len(input_names):])}
            traced = run(case, module, given, params)
            return tuple(traced[k] for k in keys)

        graph_file = out_dir / "onnx" / f"{case['name']}.{dtype_name}.onnx"
        args = tuple(inputs[n].detach() for n in input_names) + tuple(p.detach() for p in module.parameters())
        try:
            export_joint(joint, args, input_names + names, keys, graph_file, dtype, decomposition_table(decompositions))
        except ExportError as err:
            raise CaptureError(f"{where}case {case['name']} ({dtype_name}): {err}") from None
        graphs[dtype_name] = {"file": f"onnx/{graph_file.name}", "sha256": hashlib.sha256(graph_file.read_bytes()).hexdigest(), "opset": ONNX_OPSET, "inputs": input_names + names, "outputs": keys}
    as_stored = lambda t: encode(t.to(DTYPES[stored]) if t.is_floating_point() else t)  # noqa: E731
    document = {
        "schemaVersion": SCHEMA_VERSION,
        "kind": "module",
        "case": case["name"],
        "description": case["description"],
        "inputs": {n: as_stored(t) for n, t in inputs64.items()},
        "parameters": {n: as_stored(p) for n, p in module64.state_dict().items() if n in names},
        "expected": expected,
        "onnx": graphs,
        "provenance": provenance,
    }
    return document, runs


def capture_case(case: dict, path: Path, out_dir: Path) -> dict:
    provenance = {
        "capture": "python/capture.py",
        "captureSha256": hashlib.sha256(b"".join(p.read_bytes() for p in SOURCES)).hexdigest(),
        "casesFile": path.name,
        "casesSha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "seed": case.get("seed", 0),
        "cpuCapability": "default",
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    return capture_document(case, out_dir, provenance, where=f"{path}: ")[0]


def write_goldens(out_dir: Path, cases: list[dict], document_of) -> None:
    """Writes <case>.json for every case, and one JSON progress line per case on stdout, which the
    TS drivers (`npm run capture`, `npm run goldens`) show and time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, case in enumerate(cases):
        started = time.perf_counter()
        text = json.dumps(document_of(case), indent=1, allow_nan=False) + "\n"
        (out_dir / f"{case['name']}.json").write_text(text)
        print(json.dumps({"case": case["name"], "index": index + 1, "total": len(cases), "seconds": round(time.perf_counter() - started, 3)}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", type=Path, help="your Python file defining CASES")
    parser.add_argument("--out", required=True, type=Path, help="directory to write <case>.json and onnx/ into")
    parser.add_argument("--case", action="append", default=[], help="only this case (repeatable)")
    parser.add_argument("--instances", type=int, default=0, help="instead, N instances of each case: seeds seed, seed + 1, …, named <case>-i<k>")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant type is missing")
    # torch.onnx notes that it cannot fold a Slice with a step other than 1 (the reversed kernel of
    # a convolution's backward); nothing is wrong with the graph, which is checked before it lands.
    warnings.filterwarnings("ignore", message="Constant folding - Only steps=1 can be constant folded")
    try:
        cases = load_cases(args.cases, args.case)
        if args.instances > 0:
            # Random instances of every case (seeded inputs and weights), for soundness runs.
            cases = [{**case, "name": f"{case['name']}-i{k}", "seed": case.get("seed", 0) + k} for case in cases for k in range(args.instances)]
        write_goldens(args.out, cases, lambda case: capture_case(case, args.cases, args.out))
    except CaptureError as err:
        print(f"capture: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
