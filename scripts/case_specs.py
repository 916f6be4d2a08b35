"""Reads and validates scripts/cases.json, without PyTorch.

The case-spec format has one definition, the zod schema in src/golden/caseSpec.ts; its JSON
Schema (scripts/cases.schema.json, written by `npm run goldens`) is what this module validates
with. What a JSON Schema cannot say is checked after it, with errors that name the field.

    /usr/bin/python3 scripts/case_specs.py [--cases FILE]    # validate, exit 2 on the first problem
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import jsonschema

from op_table import LOSS_OPS, parameter_shapes

ROOT = Path(__file__).resolve().parent.parent
CASES_FILE = ROOT / "scripts" / "cases.json"
CASES_SCHEMA_FILE = ROOT / "scripts" / "cases.schema.json"
CASE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class SpecError(Exception):
    """A case spec that cannot be generated; the message names the file, the case and the field."""


def json_path(path) -> str:
    """`cases[3].model.modules[1].op`, like the TS side's error paths."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def schema_error(error) -> str:
    """One line for a validation error; for a module or loss (a oneOf by `op`), the error of the op the spec names."""
    while error.validator == "oneOf" and isinstance(error.instance, dict):
        branches = error.schema["oneOf"]
        ops = [b.get("properties", {}).get("op", {}).get("const") for b in branches]
        if error.instance.get("op") not in ops:
            return f"{json_path(error.absolute_path)}.op: {error.instance.get('op')!r} is not one of {ops}"
        named = [e for e in error.context if e.relative_schema_path[0] == ops.index(error.instance["op"])]
        error = jsonschema.exceptions.best_match(named)
    return f"{json_path(error.absolute_path)}: {error.message}"


def validate_cases(document: object, name: str = CASES_FILE.name) -> None:
    """Checks a cases document against the JSON Schema, then what a JSON Schema cannot say."""
    schema = json.loads(CASES_SCHEMA_FILE.read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        raise SpecError(f"{name}: {schema_error(errors[0])}")
    for index, case in enumerate(document["cases"]):
        def fail(field: str, why: str) -> None:
            raise SpecError(f"{name}: cases[{index}] ({case['name']}).{field}: {why}")

        if "values" not in case and "seed" not in case:
            fail("values", "give explicit values, a seed, or a seed and the values that replace drawn ones")
        if "values" in case:
            needed = ["x", "target", *(["lossGrad"] if case["model"]["loss"]["reduction"] == "none" else []), *parameter_shapes(case["model"])]
            missing = [n for n in needed if n not in case["values"]]
            if missing and "seed" not in case:
                fail("values", f"missing {', '.join(missing)} (without a seed, every input is given)")
            unknown = [n for n in case["values"] if n not in needed]
            if unknown:
                fail("values", f"names no input of the model: {', '.join(unknown)}")
        loss = case["model"]["loss"]
        target_kind = LOSS_OPS[loss["op"]].target_kind(loss)
        if "target" in case and target_kind != "probabilities":
            fail("target", "is soft, one_hot or uniform, and only for probability targets")
        if "ignoredRows" in case:
            if loss.get("ignoreIndex") is None:
                fail("ignoredRows", "needs a loss with an ignoreIndex")
            if "seed" not in case or "target" in case.get("values", {}):
                fail("ignoredRows", "applies to seeded targets only (explicit values give the ignore_index themselves)")
            if any(row >= case["batch"] for row in case["ignoredRows"]):
                fail("ignoredRows", f"names a row outside the batch of {case['batch']}")
        if "targetMass" in case and case.get("target") != "soft":
            fail("targetMass", "only applies to soft targets")
        unknown = [n for n in case.get("scale", {}) if n not in ["x", *parameter_shapes(case["model"])]]
        if unknown:
            fail("scale", f"names no input or parameter of the model: {', '.join(unknown)}")
        if "scale" in case and "seed" not in case:
            fail("scale", "applies to seeded inputs only")
        if "expect" in case:
            check_expectations_fit(case, fail)


def check_expectations_fit(case: dict, fail) -> None:
    """An expectation about targets or logits only makes sense for a loss that has them."""
    expect, kind = case["expect"], LOSS_OPS[case["model"]["loss"]["op"]].target_kind(case["model"]["loss"])
    for name, needs in [("zeroTargetRows", "probabilities"), ("targetRowsAboveOne", "probabilities"), ("oneHotTargetRows", "probabilities"),
                        ("classesNeverTargeted", "class_indices"), ("classesAlwaysTargeted", "class_indices")]:
        if name in expect and kind != needs:
            fail(f"expect.{name}", f"needs {needs.replace('_', '-')} targets, the loss takes {kind.replace('_', '-')}")


def load_cases(selected: list[str], cases_file: Path = CASES_FILE) -> list[dict]:
    """The validated case specs (only `selected` ones, when given)."""
    try:
        document = json.loads(cases_file.read_text())
    except (OSError, ValueError) as err:
        raise SpecError(f"{cases_file.name}: cannot read the case specs ({err})")
    validate_cases(document, cases_file.name)
    cases = document["cases"]
    names = [c["name"] for c in cases]
    # A name becomes a file name: nothing that could leave the output directory.
    bad = [n for n in selected if not CASE_NAME.match(n)]
    if bad:
        raise SpecError(f"{cases_file.name}: case names must be lowercase letters, digits and dashes: {bad}")
    if len(set(names)) != len(names):
        raise SpecError(f"{cases_file.name}: duplicate case names")
    unknown = [n for n in selected if n not in names]
    if unknown:
        raise SpecError(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(names)}")
    return [c for c in cases if not selected or c["name"] in selected]


def main() -> int:
    parser = argparse.ArgumentParser(description="validate the case specs")
    parser.add_argument("--cases", type=Path, default=CASES_FILE)
    args = parser.parse_args()
    try:
        cases = load_cases([], args.cases)
    except SpecError as err:
        print(f"case_specs: {err}", file=sys.stderr)
        return 2
    print(f"{args.cases.name}: {len(cases)} case spec(s) valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
