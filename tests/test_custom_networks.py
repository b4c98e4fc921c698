"""User networks through gankit.train(generator=..., discriminator=...): the README invites any
nn.Module pair, so the defaults (channels-last among them) must not break one."""

import pytest
import torch
from torch import nn

import gankit


class ViewFlattenD(nn.Module):
    """Shaped like PyTorch-GAN's dcgan.py discriminator: convs, then ``out.view(N, -1)`` (which
    fails on a channels-last tensor), then a linear head with raw logits."""

    def __init__(self, channels=1, res=16):
        super().__init__()
        self.model = nn.Sequential(nn.Conv2d(channels, 8, 3, 2, 1), nn.LeakyReLU(0.2),
                                   nn.Conv2d(8, 16, 3, 2, 1), nn.LeakyReLU(0.2))
        self.adv = nn.Linear(16 * (res // 4) ** 2, 1)

    def forward(self, img):
        out = self.model(img)
        return self.adv(out.view(out.shape[0], -1)).squeeze(1)


def _train(tmp_path, name, *extra):
    torch.manual_seed(0)
    D = ViewFlattenD()
    return gankit.train(overrides=["data.source=mnist5k", "data.resolution=16", "model.z_dim=8",
                                   "model.g.args.width=4", "train.batch_size=8", "train.steps=3",
                                   "train.log_every=1", "train.checkpoint_every=3", "train.threads=1", *extra],
                        discriminator=D, run_dir=tmp_path / name, quiet=True)


def test_a_discriminator_that_flattens_with_view_trains_with_the_default_channels_last(tmp_path):
    with pytest.raises(RuntimeError, match="view size is not compatible"):  # what users met before
        ViewFlattenD().to(memory_format=torch.channels_last)(
            torch.zeros(2, 1, 16, 16).contiguous(memory_format=torch.channels_last))
    fallback = _train(tmp_path, "default")  # train.channels_last=true is the default
    log = (fallback.run_dir / "log.txt").read_text()
    assert "your network (D) calls .view() on a tensor that is not contiguous in the channels-last" in log
    assert fallback.step == 3
    # Only D left channels-last: G's convolutions keep the faster format.
    players = fallback.trainer.players
    g_convs = [m.weight for m in players["G"].module.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    d_convs = [m.weight for m in players["D"].module.modules() if isinstance(m, nn.Conv2d)]
    cl = torch.channels_last
    assert all(w.is_contiguous(memory_format=cl) for w in g_convs) and not all(w.is_contiguous() for w in g_convs)
    assert all(w.is_contiguous() for w in d_convs) and not all(w.is_contiguous(memory_format=cl) for w in d_convs)
    # The undone first step leaves no trace: three optimiser steps, and the same weights as a run in
    # the default format from the start, up to the float rounding of the other memory layout.
    plain = _train(tmp_path, "plain", "train.channels_last=false")
    assert "channels-last" not in (plain.run_dir / "log.txt").read_text()
    a, b = fallback.trainer.state_dict()["players"], plain.trainer.state_dict()["players"]
    for player in a:
        assert {int(v["step"]) for v in a[player]["optimizer"]["state"].values()} == {3}
        for k, v in a[player]["module"].items():
            assert torch.allclose(v, b[player]["module"][k], rtol=0, atol=1e-5), (player, k)
        moved = max((v - b[player]["module"][k]).abs().max().item() for k, v in a[player]["module"].items()
                    if v.is_floating_point() and k.endswith("weight"))
        assert moved < 1e-5  # a step more or less would move the weights by about lr = 2e-4


@pytest.mark.slow
def test_the_view_fallback_also_catches_torch_compile_s_error(tmp_path):
    # Traced by torch.compile, the same .view fails with another text ("Cannot view a tensor with
    # shape ..."); the run must fall back as the eager one does, not stop with dynamo's traceback.
    fallback = _train(tmp_path, "compiled", "train.compile=true")
    log = (fallback.run_dir / "log.txt").read_text()
    assert "calls .view() on a tensor that is not contiguous in the channels-last" in log
    assert fallback.step == 3
    d = fallback.trainer.players["D"]
    assert isinstance(d.forward, torch._dynamo.eval_frame.OptimizedModule)
    assert all(m.weight.is_contiguous() for m in d.module.modules() if isinstance(m, nn.Conv2d))
