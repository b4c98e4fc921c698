"""Stacked MNIST: labelling plumbing, mode statistics, the data source and the real classifier."""

import math

import pytest
import torch

from gankit.metrics.stacked import stacked_labels, stacked_mode_metrics

# Digit d is drawn as a constant image of brightness LEVELS[d]; the stand-in classifier reads it back.
LEVELS = torch.linspace(-1.0, 1.0, 10)


def brightness_classifier(x):
    """Stand-in MNIST classifier: [B, 1, H, W] constant images -> [B, 10] logits peaked at the digit."""
    assert x.shape[1] == 1
    mean = x.mean(dim=(1, 2, 3))
    return -(mean[:, None] - LEVELS[None, :]) ** 2


def constant_stacks(digits):
    """[N, 3] digits -> [N, 3, 8, 8] images whose channel c shows digit digits[:, c]."""
    return LEVELS[digits][:, :, None, None].expand(-1, -1, 8, 8).contiguous()


def test_labels_read_each_channel_in_order_across_batches():
    g = torch.Generator().manual_seed(0)
    digits = torch.randint(10, (53, 3), generator=g)
    modes = stacked_labels(constant_stacks(digits), brightness_classifier, batch_size=7)
    assert torch.equal(modes, 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2])


def test_every_mode_once_is_uniform_and_one_mode_is_log_1000():
    every = torch.arange(1000)
    assert stacked_mode_metrics(every) == {"modes": 1000.0, "kl": pytest.approx(0.0, abs=1e-12)}
    assert stacked_mode_metrics(torch.full((26000,), 417)) == {"modes": 1.0, "kl": pytest.approx(math.log(1000))}


def test_known_histogram():
    # 250 modes with 3 samples and 250 with 1: p = 3/1000 or 1/1000 on 500 modes.
    modes = torch.cat([torch.arange(250).repeat(3), torch.arange(250, 500)])
    expected = 250 * (3 / 1000) * math.log(3) + 250 * (1 / 1000) * math.log(1)
    assert stacked_mode_metrics(modes) == {"modes": 500.0, "kl": pytest.approx(expected, rel=1e-12)}


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        stacked_labels(torch.zeros(4, 1, 8, 8), brightness_classifier)
    with pytest.raises(ValueError, match="0..999"):
        stacked_mode_metrics(torch.tensor([3, 1000]))
