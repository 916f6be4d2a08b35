"""gradparity's own example models, captured with `npm run capture -- examples/models/cases.py`.

Each is a case in the format python/capture.py documents; test/examples/ holds the hand-written
TypeScript implementation of each and checks it against these goldens.
"""

import torch


class ResidualLayerNormGelu(torch.nn.Module):
    """x + GELU(Linear(LayerNorm(x))): the residual block of a transformer's MLP."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = torch.nn.LayerNorm(width)
        self.fc = torch.nn.Linear(width, width)

    def forward(self, x):
        return x + torch.nn.functional.gelu(self.fc(self.norm(x)))


CASES = [
    {
        "name": "residual-layernorm-gelu",
        "description": "x + GELU(Linear(LayerNorm(x))) on a batch of 4 rows of width 8, loss mean(out²).",
        "build": lambda: ResidualLayerNormGelu(8),
        "inputs": lambda g: {"x": torch.randn(4, 8, generator=g, dtype=torch.float64)},
        "loss": lambda out, inputs: out.pow(2).mean(),
        "record": ["norm", "fc"],
        "seed": 1,
    },
]
