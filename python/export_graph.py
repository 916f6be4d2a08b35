"""Exports a joint forward-and-backward graph, as PyTorch autograd computes it, to ONNX.

Shared by the case generator (scripts/generate_goldens.py) and the capture of your own models
(python/capture.py). It does not decide what a graph computes; it only makes torch 1.13's
make_fx + torch.onnx.export able to write what autograd did: decompositions of the backward ops
torch.onnx has no symbolic for, and a rewrite of the traced graph where an aten op has an
exportable equivalent.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch
from torch._decomp import get_decompositions
from torch.fx.experimental.proxy_tensor import make_fx

ONNX_OPSET = 17


class ExportError(Exception):
    """An export that failed; the message names the op and says what to do."""


# Note [Exporting autograd to ONNX]
# torch.onnx.export cannot trace torch.autograd.grad directly ("Cannot insert a Tensor that
# requires grad as a constant"). make_fx can: it records the aten ops autograd runs for the
# backward, and the decompositions below rewrite the backward ops that have no ONNX symbolic in
# torch 1.13 into plain aten ops. The result is the joint forward + backward graph autograd
# computes, exported as standard ONNX ops (Gemm, Where, ReduceSum, ScatterElements, ...).
# Note [NLL with any ignore_index]
# torch 1.13's decompositions of nll_loss_forward and nll_loss_backward gather and scatter at the
# target itself and only mask afterwards, and only for ignore_index ≥ 0: with PyTorch's default
# −100 as the target of an ignored row they index out of bounds. These two compute the same
# values as torch's kernels (−w_y·x_{b,y}; the gradient −w_y·g, ÷ the total weight for `mean`)
# for [B, C] inputs, reading an ignored row at class 0 and masking it out.


def nll_loss_forward(self, target, weight, reduction, ignore_index):
    keep = target != ignore_index
    safe = torch.where(keep, target, torch.zeros_like(target)).unsqueeze(1)
    picked = torch.gather(self, 1, safe).squeeze(1)
    zero = torch.zeros_like(picked)
    if weight is None:
        w = torch.where(keep, torch.ones_like(picked), zero)
        rows = torch.where(keep, -picked, zero)
    else:
        w = torch.where(keep, torch.gather(weight.unsqueeze(0).expand(self.shape), 1, safe).squeeze(1), zero)
        rows = -(picked * w)
    total_weight = w.sum()
    if reduction == 0:  # none
        return rows, total_weight
    return (rows.sum() if reduction == 2 else rows.sum() / total_weight), total_weight


def nll_loss_backward(grad_output, self, target, weight, reduction, ignore_index, total_weight):
    keep = target != ignore_index
    safe = torch.where(keep, target, torch.zeros_like(target)).unsqueeze(1)
    g = grad_output / total_weight if reduction == 1 else grad_output  # 1: mean
    g = g.expand(target.shape)
    if weight is not None:
        g = g * torch.gather(weight.unsqueeze(0).expand(self.shape), 1, safe).squeeze(1)
    coefficient = torch.where(keep, -g, torch.zeros_like(g))
    return torch.zeros_like(self).scatter(1, safe, coefficient.unsqueeze(1))






# Note [Decompositions of our own]
# torch 1.13 decomposes var_mean through prims ops, native_layer_norm_backward's decomposition
# leaves a prims::convert_element_type behind, and select_backward's becomes select_scatter;
# torch.onnx has a symbolic for none of them. These write them as aten ops it can export:
# var_mean as a mean, the squared deviations and their sum over n − correction;
# convert_element_type as aten::_to_copy, which rewrite_for_export turns into a Cast;
# select_backward and slice_backward as scatters into zeros; embedding_dense_backward as a
# scatter_add (see its comment); convolution_backward and avg_pool2d_backward as convolutions (for
# the cases their comments state, an ExportError otherwise).


def var_mean_correction(x, dim=None, correction=None, keepdim=False):
    dims = list(range(x.dim())) if dim is None else [d % x.dim() for d in dim]
    n = math.prod(x.shape[d] for d in dims)
    mean = x.mean(dims, keepdim=True)
    deviation = x - mean
    var = (deviation * deviation).sum(dims, keepdim=keepdim) / (n - (1 if correction is None else correction))
    return var, (mean if keepdim else mean.reshape([s for k, s in enumerate(x.shape) if k not in dims]))


def convert_element_type(x, dtype):
    return torch.ops.aten._to_copy.default(x, dtype=dtype)


def select_backward(grad_output, input_sizes, dim, index):
    # torch 1.13 writes it as select_scatter, which torch.onnx cannot export: the gradient of
    # x.select(dim, index) is zeros with grad_output scattered into that slice.
    g = grad_output.unsqueeze(dim)
    where = torch.full(g.shape, index % input_sizes[dim], dtype=torch.long)
    return torch.zeros(input_sizes, dtype=grad_output.dtype).scatter(dim, where, g)


def slice_backward(grad_output, input_sizes, dim, start, end, step):
    # Likewise slice_scatter: the gradient of x[start:end:step] along dim, scattered into zeros
    # (or the gradient itself when the slice is the whole axis).
    size = input_sizes[dim]
    positions = list(range(size))[start:end:step]
    if positions == list(range(size)):
        return grad_output.clone()
    shape = [1] * grad_output.dim()
    shape[dim] = len(positions)
    where = torch.tensor(positions, dtype=torch.long).view(shape).expand(grad_output.shape)
    return torch.zeros(input_sizes, dtype=grad_output.dtype).scatter(dim, where, grad_output)


def embedding_dense_backward(grad_output, indices, num_weights, padding_idx, scale_grad_by_freq):
    # torch 1.13's decomposition ends in index_put(accumulate=True), which torch.onnx exports as a
    # ScatterND that overwrites repeated indices instead of summing them (caught by the capture's
    # check: a repeated token's gradient came out wrong). scatter_add exports as ScatterElements
    # with reduction add, which sums.
    if scale_grad_by_freq:
        raise ExportError("embedding_dense_backward with scale_grad_by_freq has no decomposition here")
    g = grad_output.reshape(-1, grad_output.shape[-1])
    where = indices.reshape(-1, 1).expand(g.shape)
    if padding_idx >= 0:
        g = torch.where(where == padding_idx, torch.zeros_like(g), g)
    return torch.zeros(num_weights, g.shape[1], dtype=g.dtype).scatter_add(0, where, g)


def conv_input_grad(grad_output, weight, input_shape, stride, padding, dilation, groups):
    # The input's gradient is the transposed convolution of the output's gradient, written as a
    # plain convolution: stride − 1 zeros inserted between the gradient's elements (a reshape and
    # a Pad), padded by d·(k − 1) − p on each side, plus the rows and columns at the end that no
    # window reached, then convolved with the kernel flipped and its channels swapped, at the
    # forward's dilation; group by group, concatenated over the input's channels.
    n, m, ho, wo = grad_output.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = weight.shape[2:], stride, padding, dilation
    g = grad_output
    if sh > 1 or sw > 1:
        g = torch.nn.functional.pad(g.reshape(n, m, ho, 1, wo, 1), (0, sw - 1, 0, 0, 0, sh - 1))
        g = g.reshape(n, m, ho * sh, wo * sw)[:, :, : (ho - 1) * sh + 1, : (wo - 1) * sw + 1]
    before = (dh * (kh - 1) - ph, dw * (kw - 1) - pw)
    if min(before) < 0:
        raise ExportError(f"convolution_backward: padding {list(padding)} is more than dilation·(kernel − 1) = {[dh * (kh - 1), dw * (kw - 1)]}, which has no decomposition here")
    after = (input_shape[2] - ((ho - 1) * sh + 1 + dh * (kh - 1) - 2 * ph), input_shape[3] - ((wo - 1) * sw + 1 + dw * (kw - 1) - 2 * pw))
    g = torch.nn.functional.pad(g, (before[1], before[1] + after[1], before[0], before[0] + after[0]))
    flipped = weight.index_select(2, torch.tensor(list(reversed(range(kh))))).index_select(3, torch.tensor(list(reversed(range(kw)))))
    mg = m // groups
    parts = [torch.nn.functional.conv2d(g[:, k * mg:(k + 1) * mg], flipped[k * mg:(k + 1) * mg].transpose(0, 1), dilation=(dh, dw)) for k in range(groups)]
    return parts[0] if groups == 1 else torch.cat(parts, 1)


def conv_weight_grad(grad_output, input, weight_shape, stride, padding, dilation, groups):
    # grad_W[m, c, u, v] = Σ_{n,i,j} g[n, m, i, j]·x[n, c, i·s + u·d − p, j·s + v·d − p]: a
    # convolution of the input (batch and channels swapped) with the gradient as its kernel, the
    # forward's dilation as its stride and the forward's stride as its dilation, cropped to the
    # kernel's size; group by group, concatenated over the output channels.
    kh, kw = weight_shape[2], weight_shape[3]
    cg, mg = input.shape[1] // groups, grad_output.shape[1] // groups
    parts = []
    for k in range(groups):
        x = input[:, k * cg:(k + 1) * cg].transpose(0, 1)
        # The kernel's shape, stated: torch.onnx exports a convolution only with a kernel of known shape.
        g = grad_output[:, k * mg:(k + 1) * mg].transpose(0, 1).reshape(mg, *grad_output.shape[:1], *grad_output.shape[2:])
        w = torch.nn.functional.conv2d(x, g, stride=tuple(dilation), padding=tuple(padding), dilation=tuple(stride))
        parts.append(w[:, :, :kh, :kw].transpose(0, 1))
    return parts[0] if groups == 1 else torch.cat(parts, 0)


def convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation, transposed, output_padding, groups, output_mask):
    # torch 1.13 has no decomposition of convolution_backward, and torch.onnx no symbolic for it.
    # For a 2-D convolution (any stride, padding, dilation and groups), both gradients are
    # convolutions themselves (conv_input_grad, conv_weight_grad); the flip is an index_select
    # with reversed indices (a Gather).
    if input.dim() != 4 or transposed:
        raise ExportError(f"convolution_backward: only 2-D convolutions that are not transposed have a decomposition here (got a {input.dim() - 2}-D one{', transposed' if transposed else ''})")
    grad_input = conv_input_grad(grad_output, weight, input.shape, stride, padding, dilation, groups) if output_mask[0] else None
    grad_weight = conv_weight_grad(grad_output, input, weight.shape, stride, padding, dilation, groups) if output_mask[1] else None
    grad_bias = grad_output.sum((0, 2, 3)) if output_mask[2] else None
    return grad_input, grad_weight, grad_bias


def avg_pool2d_backward(grad_output, self, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    # Every input element gets the gradient of each window it is in, divided by the window's size
    # (padding included): the input gradient of a depthwise convolution whose kernel is all ones,
    # after the division.
    kh, kw = kernel_size
    if ceil_mode or divisor_override is not None or (not count_include_pad and any(padding)):
        raise ExportError("avg_pool2d_backward: ceil_mode, divisor_override and count_include_pad=False with padding have no decomposition here")
    channels = self.shape[1]
    ones = torch.ones(channels, 1, kh, kw, dtype=grad_output.dtype)
    return conv_input_grad(grad_output / (kh * kw), ones, self.shape, list(stride or kernel_size), list(padding), [1, 1], channels)


def max_pool2d_with_indices_backward(grad_output, self, kernel_size, stride, padding, dilation, ceil_mode, indices):
    # Each window's gradient goes to the input element its forward picked (indices, flat per
    # plane): a scatter_add, which exports as ScatterElements with reduction add.
    n, c = self.shape[0], self.shape[1]
    flat = torch.zeros(n, c, self.shape[2] * self.shape[3], dtype=grad_output.dtype)
    return flat.scatter_add(2, indices.reshape(n, c, -1), grad_output.reshape(n, c, -1)).reshape(self.shape)


OWN_DECOMPOSITIONS = {
    torch.ops.aten.nll_loss_forward.default: nll_loss_forward,
    torch.ops.aten.nll_loss_backward.default: nll_loss_backward,
    torch.ops.aten.var_mean.correction: var_mean_correction,
    torch.ops.prims.convert_element_type.default: convert_element_type,
    torch.ops.aten.select_backward.default: select_backward,
    torch.ops.aten.slice_backward.default: slice_backward,
    torch.ops.aten.embedding_dense_backward.default: embedding_dense_backward,
    torch.ops.aten.convolution_backward.default: convolution_backward,
    torch.ops.aten.avg_pool2d_backward.default: avg_pool2d_backward,
    torch.ops.aten.max_pool2d_with_indices_backward.default: max_pool2d_with_indices_backward,
}
# Ours stand in for torch's where 1.13's are wrong for our cases (NLL); the rest are added.
ADDED_DECOMPOSITIONS = (
    torch.ops.aten.var_mean.correction, torch.ops.prims.convert_element_type.default,
    torch.ops.aten.convolution_backward.default, torch.ops.aten.avg_pool2d_backward.default,
    torch.ops.aten.max_pool2d_with_indices_backward.default,
)


def decomposition_table(names) -> dict:
    """torch's decompositions of the named aten ops, with ours where 1.13's are wrong or missing."""
    table = get_decompositions([getattr(torch.ops.aten, name) for name in dict.fromkeys(names)])
    table.update({op: fn for op, fn in OWN_DECOMPOSITIONS.items() if op in table or op in ADDED_DECOMPOSITIONS})
    return table


def is_masked_fill(node: torch.fx.Node) -> bool:
    """index_put(self, [boolean mask], one value) on a tensor nothing else reads: a masked fill."""
    self_, indices, value = node.args[:3]
    if len(indices) != 1 or not isinstance(indices[0], torch.fx.Node) or len(self_.users) != 1:
        return False
    mask, filler = indices[0].meta.get("tensor_meta"), value.meta.get("tensor_meta") if isinstance(value, torch.fx.Node) else None
    return mask is not None and mask.dtype == torch.bool and (filler is None or filler.shape == torch.Size([]))


def rewrite_for_export(gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Rewrites the traced graph where torch.onnx 1.13 has no symbolic for an aten op but an
    equivalent op exports:
    - aten::lift_fresh_copy (probability targets with `mean` divide by a lifted constant, the
      batch size; make_fx ignores decompositions for it): a no-op on a constant, replaced by its input;
    - aten::bitwise_or on the boolean masks of hardtanh_backward's decomposition: logical_or,
      which is the same on booleans and exports as Or;
    - aten::sigmoid as 1/(1 + exp(−x)), torch's own CPU formula: onnxruntime's float32 Sigmoid
      kernel approximates, and returns exactly 0 for inputs below about −17 where the value is
      3e-8, an error no relative model covers;
    - aten::_to_copy with only a dtype (a cast autograd inserts in label smoothing's backward,
      to the dtype the tensor already has): aten::to, which exports as Cast;
    - aten::index_put(_) that fills a boolean mask with one value (label smoothing's masked_fill_
      and its backward) on a tensor nothing else reads: aten::where(mask, value, self), the same
      values without a mutation for torch.onnx to remove;
    - aten::zeros_like without a dtype gets the one it has, which torch.onnx 1.13 otherwise
      loses in a float64 graph;
    - aten::sgn (L1Loss's backward), which torch.onnx 1.13 cannot export: aten::sign, the same
      on real tensors (0 at 0), which exports as Sign;
    - aten::softplus, whose torch.onnx symbolic drops `threshold` (it exports Softplus(x·β)/β
      everywhere): the switch to the identity is put back as Where(x·β > threshold, x, …), as
      torch's kernel computes it."""
    for node in list(gm.graph.nodes):
        if node.op != "call_function":
            continue
        if node.target == torch.ops.aten.lift_fresh_copy.default:
            node.replace_all_uses_with(node.args[0])
            gm.graph.erase_node(node)
        elif node.target == torch.ops.aten.bitwise_or.Tensor:
            # Only booleans: on integers bitwise and logical or differ.
            dtypes = {arg.meta["tensor_meta"].dtype for arg in node.args if isinstance(arg, torch.fx.Node) and "tensor_meta" in arg.meta}
            if dtypes != {torch.bool}:
                raise ExportError(f"rewrite_for_export: aten::bitwise_or on {sorted(map(str, dtypes)) or 'operands of unknown dtype'}, not booleans; it cannot become logical_or")
            node.target = torch.ops.aten.logical_or.default
        elif node.target == torch.ops.aten.sigmoid.default:
            with gm.graph.inserting_before(node):
                neg = gm.graph.call_function(torch.ops.aten.neg.default, (node.args[0],))
                exp = gm.graph.call_function(torch.ops.aten.exp.default, (neg,))
                denominator = gm.graph.call_function(torch.ops.aten.add.Tensor, (exp, 1))
                formula = gm.graph.call_function(torch.ops.aten.reciprocal.default, (denominator,))
            node.replace_all_uses_with(formula)
            gm.graph.erase_node(node)
        elif node.target == torch.ops.aten._to_copy.default and set(node.kwargs) == {"dtype"}:
            with gm.graph.inserting_before(node):
                cast = gm.graph.call_function(torch.ops.aten.to.dtype, (node.args[0], node.kwargs["dtype"]))
            node.replace_all_uses_with(cast)
            gm.graph.erase_node(node)
        elif node.target in (torch.ops.aten.index_put_.default, torch.ops.aten.index_put.default) and is_masked_fill(node):
            # Label smoothing's masked_fill_ and its backward's: self[mask] = scalar. As
            # where(mask, scalar, self) it computes the same without a mutation for torch.onnx to
            # remove (it warns that doing so changes the graph's semantics).
            self_, (mask,), value = node.args
            with gm.graph.inserting_before(node):
                filled = gm.graph.call_function(torch.ops.aten.where.self, (mask, value, self_))
            node.replace_all_uses_with(filled)
            gm.graph.erase_node(node)
        elif node.target == torch.ops.aten.zeros_like.default and "dtype" not in node.kwargs and "tensor_meta" in node.meta:
            # Without an explicit dtype, torch.onnx 1.13 writes the zeros_like in the backward of
            # label smoothing's masked_select as a float32 constant even in a float64 graph, and
            # onnxruntime then refuses the graph (a ScatterND mixing float and double): say it.
            node.kwargs = {**node.kwargs, "dtype": node.meta["tensor_meta"].dtype}
        elif node.target == torch.ops.aten.sgn.default:
            node.target = torch.ops.aten.sign.default
        elif node.target == torch.ops.aten.softplus.default:
            x, beta, threshold = (*node.args, *[1, 20][len(node.args) - 1:])[:3]
            with gm.graph.inserting_before(node):
                scaled = gm.graph.call_function(torch.ops.aten.mul.Tensor, (x, beta))
                # β = 1 here: exports as a bare Softplus, onnxruntime's own kernel.
                smooth = gm.graph.call_function(torch.ops.aten.softplus.default, (scaled, 1, threshold))
                scaled_back = gm.graph.call_function(torch.ops.aten.div.Tensor, (smooth, beta))
                above = gm.graph.call_function(torch.ops.aten.gt.Scalar, (scaled, threshold))
                formula = gm.graph.call_function(torch.ops.aten.where.self, (above, x, scaled_back))
            node.replace_all_uses_with(formula)
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




def export_joint(function, args: tuple, input_names: list[str], output_names: list[str], path: Path, dtype: torch.dtype, decompositions: dict) -> None:
    """Traces `function` (returning every result, gradients included) with make_fx and writes it as ONNX."""
    previous_default = torch.get_default_dtype()
    # torch.onnx 1.13 types scalar constants (the 1/B of `mean`) with the default dtype; without
    # this a float64 graph silently computes part of the loss in float32.
    torch.set_default_dtype(dtype)
    try:
        gm = rewrite_for_export(make_fx(function, decomposition_table=decompositions)(*args))
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.onnx.export(
            JointGraph(gm), args, str(path),
            input_names=input_names, output_names=output_names,
            opset_version=ONNX_OPSET, do_constant_folding=False, export_params=True, verbose=False,
        )
    except torch.onnx.errors.UnsupportedOperatorError as err:
        # Say which op stopped the export, and where the fix goes.
        op = re.search(r"operator '([^']+)'", str(err)) or re.search(r"namespace '([^']+)'", str(err))
        raise ExportError(
            f"torch.onnx {torch.__version__} cannot export {op.group(1) if op else 'an operator'} at opset {ONNX_OPSET}. "
            "Decompose it (OWN_DECOMPOSITIONS in python/export_graph.py, or name the backward op to decompose), "
            "or rewrite it as an exportable equivalent in rewrite_for_export."
        ) from None
    finally:
        torch.set_default_dtype(previous_default)
