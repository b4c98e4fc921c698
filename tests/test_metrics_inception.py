"""The inception extractor offline: weights lookup, checksum record and torch-fidelity integration.

No test touches the network: a random-initialised InceptionV3 state dict stands in for the real
weights file (the real file is only needed for real scores, not to test the plumbing).
"""

import hashlib

import pytest
import torch

import gankit.metrics.inception as inception
from gankit.metrics import FEATURE_EXTRACTORS, clear_memory_cache, evaluate
from gankit.registry import ConfigError


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANKIT_INCEPTION_WEIGHTS", raising=False)

    def offline(url, dst):
        raise AssertionError("a test tried to download")

    monkeypatch.setattr(inception, "download", offline)
    clear_memory_cache()
    yield
    clear_memory_cache()


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """A state dict of torch-fidelity's InceptionV3 with random (untrained) weights, saved as a file."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    empty = tmp_path_factory.mktemp("w") / "empty.pth"
    torch.save({}, empty)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        torch.manual_seed(0)
        net = FeatureExtractorInceptionV3("random", ["2048"], feature_extractor_weights_path=str(empty))
    path = tmp_path_factory.mktemp("w") / "random-inception.pth"
    torch.save(net.state_dict(), path)
    return path


def test_inception_features_logits_and_record(random_weights):
    with pytest.warns(UserWarning, match="differ from the published file"):
        ex = FEATURE_EXTRACTORS.build("inception", {"weights": str(random_weights)}, device="cpu", reference=None)
    grey = (torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(1)) * 255).to(torch.uint8)
    features, logits = ex.extract(grey)
    assert features.shape == (2, 2048) and logits.shape == (2, 1008)
    rgb_features, rgb_logits = ex.extract(grey.repeat(1, 3, 1, 1))
    torch.testing.assert_close(features, rgb_features, rtol=0, atol=0)
    torch.testing.assert_close(logits, rgb_logits, rtol=0, atol=0)
    record = ex.record()
    assert record["weights_sha256"] == hashlib.sha256(random_weights.read_bytes()).hexdigest()
    assert record["weights_match_published"] is False


def test_environment_variable_points_at_the_weights(random_weights, monkeypatch):
    monkeypatch.setenv("GANKIT_INCEPTION_WEIGHTS", str(random_weights))
    assert inception.resolve_weights(None) == (random_weights, "user")


def test_inception_score_runs_without_the_reference(random_weights):
    class G(torch.nn.Module):
        z_dim, num_classes = 2, 0

        def forward(self, z, y=None):
            return torch.tanh(z.sum(1)).view(-1, 1, 1, 1).expand(-1, 1, 8, 8)

    # The data source does not exist: IS must not try to load the reference.
    with pytest.warns(UserWarning):
        values = evaluate(G(), ["is"], data_cfg={"source": "no-such-source"}, n_samples=4,
                          args={"extractors": {"inception": {"weights": str(random_weights)}}, "is": {"splits": 2}})
    assert set(values) == {"is", "is_std"}


def test_weights_file_that_is_not_plain_tensors_is_refused(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"layer": torch.nn.Linear(2, 2)}, bad)  # a pickled module, not a state dict
    with pytest.warns(UserWarning), pytest.raises(ConfigError, match="cannot be loaded as plain tensors"):
        FEATURE_EXTRACTORS.build("inception", {"weights": str(bad)}, device="cpu", reference=None)


def test_downloaded_file_with_the_wrong_checksum_is_discarded(monkeypatch):
    monkeypatch.setattr(inception, "download", lambda url, dst: dst.write_bytes(b"not the weights"))
    with pytest.raises(ConfigError, match="expected one starting with 6726825d") as err:
        inception.resolve_weights(None)
    assert "--inception-weights" in str(err.value)
    assert not inception.cached_weights_path().exists()


def test_offline_without_weights_names_both_fixes(monkeypatch):
    import urllib.error

    def offline(url, dst):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(inception, "download", offline)
    with pytest.raises(ConfigError) as err:
        inception.resolve_weights(None)
    message = str(err.value)
    assert "--inception-weights PATH" in message and "GANKIT_INCEPTION_WEIGHTS=PATH" in message
    assert str(inception.cached_weights_path()) in message
