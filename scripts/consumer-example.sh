#!/usr/bin/env bash
# The package as users get it: packs gradparity, copies examples/consumer into a fresh directory
# (no .npmrc, nothing but the registry), installs the tarball there with no extra flags, and runs
# the example's tests (tsc, vitest with the matchers and reporter, ESM and CommonJS imports), then
# the CLI without onnxruntime-node and again after installing it with the command gradparity prints.
# Usage: bash scripts/consumer-example.sh   (from .ci/run and the workflow)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

npm pack --silent --pack-destination "$work" >/dev/null
tarball=$(ls "$work"/gradparity-*.tgz)
cp -r examples/consumer "$work/consumer"
cd "$work/consumer"
npm install "$tarball"
npm test

npx gradparity check node_modules/gradparity/goldens --no-reports 2> cli.err
cat cli.err >&2
grep -q 'onnxruntime: not run: the ONNX oracle needs onnxruntime-node' cli.err
install=$(node --input-type=module -e "import { ONNXRUNTIME_INSTALL } from 'gradparity/internal'; console.log(ONNXRUNTIME_INSTALL)")
echo "consumer-example: $install"
$install
npx gradparity check node_modules/gradparity/goldens --no-reports 2> cli.err
cat cli.err >&2
if grep -q 'onnxruntime: not run: the ONNX oracle needs onnxruntime-node' cli.err; then
  echo "consumer-example: onnxruntime still missing after: $install" >&2
  exit 1
fi
# Bring your own model from the package: capture one of gradparity's example cases into this
# project's own goldens folder (it needs PyTorch; CI installs it) and check the result's files.
if /usr/bin/python3 -c 'import torch, onnx' 2>/dev/null || [ -n "${PYTHON:-}" ]; then
  cp "$repo/examples/models/cases.py" my_cases.py
  npx gradparity capture my_cases.py --case tanh-rnn-unrolled --out my-goldens
  test -f my-goldens/tanh-rnn-unrolled.json && test -f my-goldens/onnx/tanh-rnn-unrolled.float32.onnx
  echo "consumer-example: captured a model of its own with the packaged gradparity capture"
else
  echo "consumer-example: PyTorch not found; the packaged capture was not tried" >&2
fi
echo "consumer-example: passed"
