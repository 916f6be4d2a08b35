"""gradparity's own example models, captured with `npm run capture -- examples/models/cases.py`.

Each is a case in the format python/capture.py documents; test/examples/ holds the hand-written
TypeScript implementation of each and checks it against these goldens.
"""

import math

import torch


class ResidualLayerNormGelu(torch.nn.Module):
    """x + GELU(Linear(LayerNorm(x))): the residual block of a transformer's MLP."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = torch.nn.LayerNorm(width)
        self.fc = torch.nn.Linear(width, width)

    def forward(self, x):
        return x + torch.nn.functional.gelu(self.fc(self.norm(x)))


class BagOfEmbeddings(torch.nn.Module):
    """Mean of token embeddings, then a Linear to class logits."""

    def __init__(self, vocabulary: int, width: int, classes: int):
        super().__init__()
        self.embed = torch.nn.Embedding(vocabulary, width)
        self.fc = torch.nn.Linear(width, classes)

    def forward(self, tokens):
        return self.fc(self.embed(tokens).mean(dim=1))


class TanhRnn(torch.nn.Module):
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), unrolled over the steps; the last h."""

    def __init__(self, inputs: int, hidden: int):
        super().__init__()
        self.cell = torch.nn.RNNCell(inputs, hidden, nonlinearity="tanh")

    def forward(self, x):
        h = torch.zeros(x.shape[0], self.cell.hidden_size, dtype=x.dtype)
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
        return h


class CausalSelfAttention(torch.nn.Module):
    """Single-head causal self-attention: softmax(q·kᵀ/√d, future masked)·v, then a projection."""

    def __init__(self, width: int):
        super().__init__()
        self.query = torch.nn.Linear(width, width)
        self.key = torch.nn.Linear(width, width)
        self.value = torch.nn.Linear(width, width)
        self.proj = torch.nn.Linear(width, width)

    def forward(self, x):
        steps = x.shape[1]
        q, k, v = self.query(x), self.key(x), self.value(x)
        scores = torch.matmul(q, k.transpose(1, 2)) / math.sqrt(x.shape[2])
        future = torch.triu(torch.ones(steps, steps, dtype=torch.bool), diagonal=1)
        weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        return self.proj(torch.matmul(weights, v))


class SmallCnn(torch.nn.Module):
    """Conv2d(1, 2, 3) → ReLU → AvgPool2d(2) or MaxPool2d(2) → Linear to 3 classes."""

    def __init__(self, pool: type = torch.nn.AvgPool2d):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.pool = pool(2)
        self.fc = torch.nn.Linear(2 * 2 * 2, 3)

    def forward(self, images):
        return self.fc(self.pool(torch.relu(self.conv(images))).flatten(1))


class StridedGroupedCnn(torch.nn.Module):
    """Conv2d with stride 2 and padding, a grouped and dilated Conv2d, padded average and max
    pooling, then a Linear: every convolution and pooling option the graph rules cover. No ReLU
    after the second convolution: overlapping average windows over a sparse map hold exact ties,
    which the max pooling's bound cannot tell from near ties."""

    def __init__(self):
        super().__init__()
        self.down = torch.nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.grouped = torch.nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2)
        self.average = torch.nn.AvgPool2d(3, stride=2, padding=1)
        self.maximum = torch.nn.MaxPool2d(2, stride=1, padding=1)
        self.fc = torch.nn.Linear(4 * 4 * 4, 3)

    def forward(self, images):
        h = self.grouped(torch.relu(self.down(images)))
        return self.fc(self.maximum(self.average(h)).flatten(1))


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
    {
        "name": "embedding-bag-mean",
        "description": "Embedding(10, 6) of 3×5 tokens (token 7 never occurs, token 2 repeats), mean over the tokens, Linear(6, 4), cross-entropy.",
        "build": lambda: BagOfEmbeddings(10, 6, 4),
        "inputs": lambda g: {"tokens": torch.tensor([[1, 2, 2, 5, 0], [3, 2, 9, 9, 4], [6, 8, 2, 1, 1]]), "target": torch.tensor([0, 3, 1])},
        "loss": lambda out, inputs: torch.nn.functional.cross_entropy(out, inputs["target"]),
        "record": ["embed"],
        "seed": 2,
    },
    {
        "name": "tanh-rnn-unrolled",
        "description": "torch.nn.RNNCell(3, 5), tanh, unrolled over 4 steps on a batch of 2; loss sum(h²) of the last state.",
        "build": lambda: TanhRnn(3, 5),
        "inputs": lambda g: {"x": torch.randn(2, 4, 3, generator=g, dtype=torch.float64)},
        "loss": lambda out, inputs: out.pow(2).sum(),
        "seed": 3,
    },
    {
        "name": "causal-self-attention",
        "description": "Single-head causal self-attention, width 4, 2 sequences of 5 steps; loss mean(out²).",
        "build": lambda: CausalSelfAttention(4),
        "inputs": lambda g: {"x": torch.randn(2, 5, 4, generator=g, dtype=torch.float64)},
        "loss": lambda out, inputs: out.pow(2).mean(),
        "seed": 4,
    },
    {
        "name": "small-cnn",
        "description": "Conv2d(1, 2, 3), ReLU, AvgPool2d(2) and Linear(8, 3) on 3 images of 6×6; cross-entropy.",
        "build": lambda: SmallCnn(),
        "inputs": lambda g: {"images": torch.randn(3, 1, 6, 6, generator=g, dtype=torch.float64), "target": torch.tensor([0, 2, 1])},
        "loss": lambda out, inputs: torch.nn.functional.cross_entropy(out, inputs["target"]),
        "record": ["conv"],
        "seed": 5,
    },
    {
        "name": "function-tanh-bilinear",
        "description": "A plain function of tensors, no module: Σ_j tanh(x·W)·y per row, with x, W and y all inputs (and all with gradients); loss mean(out²).",
        "build": lambda: (lambda x, w, y: (torch.tanh(x @ w) * y).sum(dim=1)),
        "inputs": lambda g: {"x": torch.randn(3, 4, generator=g, dtype=torch.float64), "w": torch.randn(4, 2, generator=g, dtype=torch.float64), "y": torch.randn(3, 2, generator=g, dtype=torch.float64)},
        "loss": lambda out, inputs: out.pow(2).mean(),
        "seed": 6,
    },
    {
        "name": "maxpool-cnn",
        "description": "Conv2d(1, 2, 3), ReLU, MaxPool2d(2) and Linear(8, 3) on 3 images of 6×6; cross-entropy.",
        "build": lambda: SmallCnn(torch.nn.MaxPool2d),
        "inputs": lambda g: {"images": torch.randn(3, 1, 6, 6, generator=g, dtype=torch.float64), "target": torch.tensor([2, 0, 1])},
        "loss": lambda out, inputs: torch.nn.functional.cross_entropy(out, inputs["target"]),
        "record": ["conv"],
        "seed": 7,
    },
    {
        "name": "strided-grouped-cnn",
        "description": "Conv2d(2, 4, 3, stride 2, padding 1), ReLU, Conv2d(4, 4, 3, padding 2, dilation 2, groups 2), AvgPool2d(3, stride 2, padding 1), MaxPool2d(2, stride 1, padding 1), Linear(64, 3) on 2 images of 2×9×9; cross-entropy.",
        "build": lambda: StridedGroupedCnn(),
        "inputs": lambda g: {"images": torch.randn(2, 2, 9, 9, generator=g, dtype=torch.float64), "target": torch.tensor([1, 2])},
        "loss": lambda out, inputs: torch.nn.functional.cross_entropy(out, inputs["target"]),
        "record": ["down", "grouped"],
        "seed": 8,
    },
]
