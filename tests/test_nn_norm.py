"""Normalisation layers, conditional norms and option validation helpers."""

import pytest
import torch
from torch import nn

from gankit.nn.norm import LabelSequential, Norm
from gankit.nn.options import widths
from gankit.nn.resolution import num_doublings
from gankit.registry import ConfigError


def test_conditional_batch_norm_formula():
    torch.manual_seed(0)
    norm = Norm("batch", 2, num_classes=3).train()
    with torch.no_grad():
        norm.gain.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
        norm.bias.copy_(torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))
    x, y = torch.randn(4, 2, 3, 3), torch.tensor([2, 0, 1, 2])
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    expected = (x - mean) / torch.sqrt(var + 1e-5) * norm.gain[y][:, :, None, None] + norm.bias[y][:, :, None, None]
    torch.testing.assert_close(norm(x, y), expected)


def test_layer_norm_is_group_norm_over_all_channels():
    norm = Norm("layer", 4)
    assert isinstance(norm.norm, nn.GroupNorm) and norm.norm.num_groups == 1
    x = torch.randn(2, 4, 3, 3)
    expected = (x - x.mean(dim=(1, 2, 3), keepdim=True)) / torch.sqrt(x.var(dim=(1, 2, 3), unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(norm(x), expected)


def test_conditional_norm_for_vectors_and_label_sequential():
    seq = LabelSequential(nn.Linear(3, 2), Norm("batch", 2, num_classes=2, image=False))
    with torch.no_grad():
        seq[1].bias.copy_(torch.tensor([[0.0, 0.0], [10.0, 10.0]]))
    x = torch.randn(4, 3)
    diff = seq(x, torch.tensor([1, 1, 1, 1])) - seq(x, torch.tensor([0, 0, 0, 0]))
    torch.testing.assert_close(diff, torch.full((4, 2), 10.0))
    with pytest.raises(ValueError, match="without labels"):
        seq(x)


def test_widths_and_doublings():
    assert widths(8, None, "model.g.args") == [8, 8, 8]
    assert widths([4, 6], None, "model.g.args") == [4, 6]
    assert widths(5, 2, "model.g.args") == [5, 5]
    with pytest.raises(ConfigError, match=r"model\.g\.args\.hidden is an empty list"):
        widths([], None, "model.g.args")
    assert [num_doublings(r) for r in (16, 32, 64, 128)] == [2, 3, 4, 5]
