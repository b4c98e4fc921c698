"""Stacked MNIST: labelling plumbing, mode statistics, the ``stacked-mnist`` source and the metric."""

import math
from pathlib import Path

import pytest
import torch

from gankit.data import DataRequest, build_dataset
from gankit.metrics import evaluate
from gankit.metrics.classifier import get_classifier
from gankit.metrics.stacked import stacked_labels, stacked_mode_metrics
from gankit.registry import ConfigError

SHARED_MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"
RES = 16  # small digits keep the real-classifier tests fast

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


def base_index(stack_x, base_x):
    """For every channel of every stacked image, the index of the identical base digit: [N, 3]."""
    lookup = {}
    for i, img in enumerate(base_x[:, 0]):
        lookup.setdefault(img.numpy().tobytes(), i)
    return torch.tensor([[lookup[ch.numpy().tobytes()] for ch in sample] for sample in stack_x])


class BankGenerator(torch.nn.Module):
    """Stand-in generator that returns the images of a fixed bank in order, ignoring z (one pass)."""

    def __init__(self, bank):
        super().__init__()
        self.bank, self.pos = bank, 0
        self.z_dim, self.num_classes, self.out_shape = 4, 0, tuple(bank.shape[1:])

    def forward(self, z, y=None):
        out = self.bank[self.pos:self.pos + len(z)]
        self.pos += len(z)
        return out


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("gankit-cache")


@pytest.fixture
def quick_classifier(cache, monkeypatch):
    """The classifier the stacked_digits extractor builds with epochs=1 at 16 x 16 (trained once per module)."""
    monkeypatch.setenv("GANKIT_CACHE", str(cache))
    return get_classifier("mnist5k", None, RES, 1, {}, True, epochs=1)


def test_labels_read_each_channel_in_order_across_batches():
    g = torch.Generator().manual_seed(0)
    digits = torch.randint(10, (53, 3), generator=g)
    modes = stacked_labels(constant_stacks(digits), brightness_classifier, batch_size=7)
    assert torch.equal(modes, 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2])


def test_every_mode_once_is_uniform_and_one_mode_is_log_1000():
    assert stacked_mode_metrics(torch.arange(1000)) == {"modes": 1000.0, "kl": pytest.approx(0.0, abs=1e-12)}
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


def test_source_stacks_three_seeded_digits_with_their_mode_as_label():
    stack = build_dataset("stacked-mnist", DataRequest(resolution=RES, seed=3), {"n": 200})
    base = build_dataset("mnist5k", DataRequest(resolution=RES, channels=1))
    assert stack.x.shape == (200, 3, RES, RES) and stack.x.dtype == torch.uint8
    assert stack.num_classes == 1000 and stack.class_names[417] == "417"
    j = base_index(stack.x, base.x)
    assert torch.equal(stack.y, 100 * base.y[j[:, 0]] + 10 * base.y[j[:, 1]] + base.y[j[:, 2]])
    again = build_dataset("stacked-mnist", DataRequest(resolution=RES, seed=3), {"n": 200})
    other = build_dataset("stacked-mnist", DataRequest(resolution=RES, seed=4), {"n": 200})
    assert torch.equal(again.x, stack.x)
    assert not torch.equal(other.x, stack.x)


@pytest.mark.parametrize("req, args, match", [
    (DataRequest(channels=1), {"n": 10}, "data.channels"),
    (DataRequest(), {"n": 0}, "data.args.n"),
    (DataRequest(resolution=None), {"n": 10, "base": "ring"}, "data.args.base"),
    (DataRequest(max_memory_mb=1), {"n": 1000}, "data.max_memory_mb"),
    (DataRequest(), {"n": 10, "bse": "mnist5k"}, "Did you mean 'base'"),
])
def test_source_rejects_bad_settings(req, args, match):
    with pytest.raises(ConfigError, match=match):
        build_dataset("stacked-mnist", req, args)


def test_real_stacked_digits_get_the_modes_of_their_classified_digits(quick_classifier):
    stack = build_dataset("stacked-mnist", DataRequest(resolution=RES, seed=5), {"n": 300})
    base = build_dataset("mnist5k", DataRequest(resolution=RES, channels=1))
    j = base_index(stack.x, base.x)
    digit = quick_classifier(base.x).argmax(dim=1)  # each base digit classified alone
    expected = 100 * digit[j[:, 0]] + 10 * digit[j[:, 1]] + digit[j[:, 2]]
    assert torch.equal(stacked_labels(stack.x, quick_classifier, batch_size=64), expected)


def test_stacked_mnist_metric_through_evaluate(quick_classifier):
    data_cfg = {"source": "stacked-mnist", "resolution": RES, "args": {"n": 300}}
    bank = build_dataset("stacked-mnist", DataRequest(resolution=RES, seed=9), {"n": 300}).x
    G = BankGenerator(bank.float() / 127.5 - 1)
    values = evaluate(G, ["stacked_mnist"], data_cfg=data_cfg, n_samples=300, batch_size=128,
                      args={"extractors": {"stacked_digits": {"epochs": 1}}})
    expected = stacked_mode_metrics(stacked_labels(bank, quick_classifier))
    assert values == {"stacked_modes": expected["modes"], "stacked_kl": pytest.approx(expected["kl"], rel=1e-12)}


def test_stacked_mnist_metric_needs_a_stacked_mnist_run(cache, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(cache))
    G = BankGenerator(torch.zeros(10, 2))
    with pytest.raises(ConfigError, match="stacked-mnist"):
        evaluate(G, ["stacked_mnist"], data_cfg={"source": "ring", "resolution": None, "args": {"n": 50}},
                 n_samples=10)


@pytest.mark.skipif(not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file(), reason="shared MNIST absent")
def test_source_on_the_shared_mnist_test_split():
    req = DataRequest(path=str(SHARED_MNIST), resolution=32, seed=0)
    stack = build_dataset("stacked-mnist", req, {"n": 100, "base": "mnist-idx", "base_args": {"split": "test"}})
    base = build_dataset("mnist-idx", DataRequest(path=str(SHARED_MNIST), resolution=32, channels=1),
                         {"split": "test"})
    assert stack.x.shape == (100, 3, 32, 32)
    j = base_index(stack.x, base.x)
    assert torch.equal(stack.y, 100 * base.y[j[:, 0]] + 10 * base.y[j[:, 1]] + base.y[j[:, 2]])
    assert stack.info["base_samples"] == 10000
