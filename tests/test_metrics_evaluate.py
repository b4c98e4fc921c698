"""gankit.metrics.evaluate end to end on the CPU, with the deterministic "tiny" extractor."""

import json
import urllib.error

import numpy as np
import pytest
import scipy.linalg
import torch

from gankit.data import DATA_SOURCES, Dataset
from gankit.metrics import clear_memory_cache, evaluate, metric_direction
from gankit.metrics.evaluate import _quantise, sample_inputs
from gankit.metrics.extractors import TinyExtractor
from gankit.metrics.stats import kernel_inception_distance, precision_recall
from gankit.registry import ConfigError

SOURCE = "test-metrics-evaluate-blobs"
N_REAL = 120


def _blob_images(n, seed):
    g = torch.Generator().manual_seed(seed)
    base = torch.linspace(0, 255, 64).view(1, 1, 8, 8)
    noise = torch.rand(n, 1, 8, 8, generator=g) * 120
    return (base * 0.5 + noise).clamp(0, 255).to(torch.uint8), torch.randint(3, (n,), generator=g)


def _blobs(req, n: int = N_REAL):
    x, y = _blob_images(n, seed=1)
    return Dataset(x=x, y=y, num_classes=3, class_names=["a", "b", "c"], shape=(1, 8, 8))


@pytest.fixture(autouse=True, scope="module")
def _blobs_registered():
    # registered for this module's tests only: the global registry is left as it was found
    with DATA_SOURCES.temporary(SOURCE, _blobs):
        yield


class TinyG(torch.nn.Module):
    """A generator following the contract: z [N, 4] (+ y) -> [N, 1, 8, 8] in [-1, 1]."""

    def __init__(self, num_classes=0):
        super().__init__()
        self.z_dim, self.num_classes, self.out_shape = 4, num_classes, (1, 8, 8)
        g = torch.Generator().manual_seed(0)
        self.lin = torch.nn.Linear(4, 64)
        with torch.no_grad():
            self.lin.weight.copy_(torch.randn(64, 4, generator=g))
            self.lin.bias.copy_(torch.randn(64, generator=g) * 0.1)
        self.embed = torch.nn.Embedding(max(num_classes, 1), 64)

    def forward(self, z, y=None):
        h = self.lin(z)
        if y is not None:
            h = h + self.embed(y)
        return torch.tanh(h).view(-1, 1, 8, 8)


DATA = {"source": SOURCE, "resolution": 8}
TINY = {"extractor": "tiny"}


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANKIT_INCEPTION_WEIGHTS", raising=False)
    clear_memory_cache()
    yield
    clear_memory_cache()


def _tiny_features(x_uint8):
    return TinyExtractor("cpu", dim=16, num_logits=10, seed=0).extract(x_uint8)


def _fake_uint8(G, n, seed):
    z, y = sample_inputs(n, G.z_dim, G.num_classes, seed)
    with torch.no_grad():
        return _quantise(G(z, y))


def _scipy_fid(a, b):
    a, b = a.numpy(), b.numpy()
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    assert np.abs(np.imag(covmean)).max() < 1e-6
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))


def test_fid_and_kid_match_an_independent_computation_with_unequal_counts():
    G = TinyG()
    values = evaluate(G, ["fid", "kid"], data_cfg=DATA, n_samples=50, seed=3, args={**TINY, "kid": {"subsets": 5}},
                      batch_size=16)
    fake, _ = _tiny_features(_fake_uint8(G, 50, seed=3))
    real, _ = _tiny_features(_blob_images(N_REAL, seed=1)[0])
    assert values["fid"] == pytest.approx(_scipy_fid(fake, real), rel=1e-7)
    kid_mean, kid_std, _ = kernel_inception_distance(fake, real, subsets=5, subset_size=1000, seed=3)
    assert values["kid"] == pytest.approx(kid_mean, rel=1e-9)
    assert values["kid_std"] == pytest.approx(kid_std, rel=1e-9)


class VectorG(torch.nn.Module):
    """z [N, 1] -> the vector z itself ([N, 1] data), for the raw extractor."""

    def __init__(self):
        super().__init__()
        self.z_dim, self.num_classes, self.out_shape = 1, 0, (1,)

    def forward(self, z, y=None):
        return z


def _fid_1d(a, b):
    """Frechet distance of two 1-D samples (unbiased variances): (mu_a - mu_b)^2 + (s_a - s_b)^2."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float((a.mean() - b.mean()) ** 2 + (a.std(ddof=1) - b.std(ddof=1)) ** 2)


def test_fid_real_floor_compares_two_disjoint_halves_that_cover_the_reference(tmp_path):
    """The floor must be the distance between two disjoint halves of the reference, not between
    overlapping or resampled subsets. A 1-D reference of 0s and 1s makes this checkable without
    knowing which samples went where: for halves of h samples holding a and b ones, the distance is
    a function of (a, b), and disjoint halves that cover the data have a + b = the number of ones."""
    zeros, ones = 23, 17  # N = 40, halves of 20
    x = np.concatenate([np.zeros(zeros), np.ones(ones)]).astype(np.float32)[:, None]
    np.savez(tmp_path / "bits.npz", x=x)
    data = {"source": "npz", "path": str(tmp_path / "bits.npz"), "resolution": None}
    floor = evaluate(VectorG(), ["fid"], data_cfg=data, n_samples=10, args={"extractor": "raw"})["fid_real_floor"]
    h = (zeros + ones) // 2

    def halves_fid(a, b):
        return _fid_1d([1] * a + [0] * (h - a), [1] * b + [0] * (h - b))

    covering = [a for a in range(max(0, ones - h), min(h, ones) + 1) if halves_fid(a, ones - a) == pytest.approx(floor)]
    assert covering, f"floor {floor} is not the distance of any two disjoint halves covering the reference"
    # The floor belongs to the reference alone: other generators, seeds and sample counts agree.
    again = evaluate(VectorG(), ["fid"], data_cfg=data, n_samples=25, seed=9, batch_size=7, args={"extractor": "raw"})
    assert again["fid_real_floor"] == floor


def test_fid_real_floor_is_left_out_when_a_half_is_too_small_for_a_covariance():
    # 120 reference samples in the tiny extractor's 16 dimensions: halves of 60 >= 17 samples are enough.
    assert "fid_real_floor" in evaluate(TinyG(), ["fid"], data_cfg=DATA, n_samples=40, args=TINY)
    with pytest.warns(UserWarning, match="real_floor left out"):
        values = evaluate(TinyG(), ["fid"], data_cfg=DATA, n_samples=40, args={**TINY, "n_real": 30})
    assert "fid_real_floor" not in values and values["fid"] > 0


def test_results_do_not_depend_on_the_batch_size():
    G = TinyG()
    runs = [evaluate(G, ["fid", "kid", "pr", "is"], data_cfg=DATA, n_samples=60, args={**TINY, "kid": {"subsets": 4}},
                     batch_size=bs) for bs in (7, 50)]
    assert runs[0].keys() == runs[1].keys()
    for key in runs[0]:
        assert runs[0][key] == pytest.approx(runs[1][key], rel=1e-12, abs=1e-15), key


def test_replayed_reference_images_have_full_precision():
    # Every generated image is a reference image, so it lies inside its own k-NN ball.
    class Replay(TinyG):
        def forward(self, z, y=None):
            idx = (z[:, 0] * 1e6).long().abs() % N_REAL  # any deterministic choice of reference images
            return _blob_images(N_REAL, seed=1)[0][idx].float() / 127.5 - 1

    values = evaluate(Replay(), ["pr"], data_cfg=DATA, n_samples=N_REAL, args=TINY)
    assert values["precision"] == 1.0


def test_too_few_generated_samples_says_how_many_are_needed():
    with pytest.raises(ConfigError, match=r"needs at least 17 generated samples \(got 10\)"):
        evaluate(TinyG(), ["fid"], data_cfg=DATA, n_samples=10, args=TINY)


def test_writes_the_values_and_protocol_record(tmp_path):
    values = evaluate(TinyG(), ["fid", "is"], data_cfg=DATA, n_samples=30, seed=5, args=TINY, out_dir=tmp_path / "ev",
                      name="step-0000100", batch_size=8)
    record = json.loads((tmp_path / "ev" / "step-0000100.json").read_text())
    assert record["values"] == pytest.approx(values)
    p = record["protocol"]
    assert p["samples"]["n_fake"] == 30 and p["samples"]["seed"] == 5 and p["samples"]["batch_size"] == 8
    assert p["reference"]["source"] == SOURCE and p["reference"]["n_real"] == N_REAL
    assert p["extractors"]["tiny"]["name"] == "tiny"
    assert len(p["extractors"]["tiny"]["weights_sha256"]) == 64
    assert p["metrics"]["is"]["splits"] == 10
    assert set(p["versions"]) == {"gankit", "torch", "torch_fidelity", "python"}


def test_reference_statistics_are_cached_on_disk_and_reused(tmp_path, monkeypatch):
    first = evaluate(TinyG(), ["fid", "kid"], data_cfg=DATA, n_samples=30, args={**TINY, "kid": {"subsets": 3}})
    cached = sorted(p.name for p in (tmp_path / "cache" / "reference").iterdir())
    assert len(cached) == 2 and any(name.endswith(".features.safetensors") for name in cached)
    clear_memory_cache()

    def no_data(*args, **kwargs):
        raise AssertionError("the reference data set was loaded although its statistics are cached")

    # Only the disk cache can supply the reference now.
    monkeypatch.setattr("gankit.data.build_dataset", no_data)
    again = evaluate(TinyG(), ["fid", "kid"], data_cfg=DATA, n_samples=30, args={**TINY, "kid": {"subsets": 3}})
    assert again == first


def test_n_real_caps_the_reference_and_changes_the_cache_key():
    values = evaluate(TinyG(), ["fid"], data_cfg=DATA, n_samples=40, args={**TINY, "n_real": 50})
    full = evaluate(TinyG(), ["fid"], data_cfg=DATA, n_samples=40, args=TINY)
    real, _ = _tiny_features(_blob_images(N_REAL, seed=1)[0])
    fake, _ = _tiny_features(_fake_uint8(TinyG(), 40, seed=0))
    subset = torch.randperm(N_REAL, generator=torch.Generator().manual_seed(0))[:50].sort().values
    assert values["fid"] == pytest.approx(_scipy_fid(fake, real[subset]), rel=1e-7)
    assert full["fid"] == pytest.approx(_scipy_fid(fake, real), rel=1e-7)


def test_conditional_generator_gets_balanced_seeded_labels():
    z, y = sample_inputs(10, 4, 3, seed=0)
    assert torch.bincount(y, minlength=3).tolist() == [4, 3, 3]
    z2, y2 = sample_inputs(10, 4, 3, seed=0)
    assert torch.equal(z, z2) and torch.equal(y, y2)
    G = TinyG(num_classes=3)
    values = evaluate(G, ["fid"], data_cfg=DATA, n_samples=30, args=TINY)
    fake, _ = _tiny_features(_fake_uint8(G, 30, seed=0))
    real, _ = _tiny_features(_blob_images(N_REAL, seed=1)[0])
    assert values["fid"] == pytest.approx(_scipy_fid(fake, real), rel=1e-7)


def test_generator_mode_is_restored():
    G = TinyG().train()
    evaluate(G, ["fid"], data_cfg=DATA, n_samples=20, args=TINY)
    assert G.training is True


def test_shape_mismatch_between_generator_and_data_is_an_error():
    class G16(TinyG):
        def forward(self, z, y=None):
            return super().forward(z, y).repeat_interleave(2, -1).repeat_interleave(2, -2)

    with pytest.raises(ConfigError, match=r"shape \(1, 16, 16\).*\(1, 8, 8\)"):
        evaluate(G16(), ["fid"], data_cfg=DATA, n_samples=20, args=TINY)


def test_unknown_metric_and_option_names_suggest_the_closest():
    with pytest.raises(ConfigError, match="Did you mean 'fid'"):
        evaluate(TinyG(), ["fdi"], data_cfg=DATA, n_samples=20, args=TINY)
    with pytest.raises(ConfigError, match="Did you mean 'subsets'"):
        evaluate(TinyG(), ["kid"], data_cfg=DATA, n_samples=20, args={**TINY, "kid": {"subset": 3}})


def test_metric_directions():
    assert [metric_direction(k) for k in ("fid", "kid", "is", "precision", "recall", "fid_real_floor")] == \
        ["min", "min", "max", "max", "max", None]
    assert metric_direction("classifier_fid") == "min"
    assert metric_direction("class_hist/7") is None


def test_missing_inception_weights_offline_names_both_fixes(monkeypatch):
    import gankit.metrics.inception as inception

    def offline(url, dst):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(inception, "download", offline)
    with pytest.raises(ConfigError) as err:
        evaluate(TinyG(), ["fid"], data_cfg=DATA, n_samples=20)
    assert "--inception-weights" in str(err.value) and "GANKIT_INCEPTION_WEIGHTS" in str(err.value)
    assert "download failed" in str(err.value)


def test_explicit_inception_weights_that_do_not_exist(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        evaluate(TinyG(), ["fid"], data_cfg=DATA, n_samples=20,
                 args={"extractors": {"inception": {"weights": str(tmp_path / "nope.pth")}}})


POINTS = "test-metrics-evaluate-points"


def _points(n=80):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(4))


def _points_source(req):
    return Dataset(x=_points(), y=None, num_classes=0, class_names=[], shape=(2,))


@pytest.fixture(autouse=True, scope="module")
def _points_registered():
    # registered for this module's tests only: the global registry is left as it was found
    with DATA_SOURCES.temporary(POINTS, _points_source):
        yield


def test_raw_extractor_scores_vector_data_with_config_objects():
    from omegaconf import OmegaConf

    class PointG(torch.nn.Module):
        z_dim, num_classes = 2, 0

        def forward(self, z, y=None):
            return z * 0.5 + 1.0

    values = evaluate(PointG(), ["fid", "pr"], data_cfg=OmegaConf.create({"source": POINTS, "resolution": None}),
                      n_samples=50, args=OmegaConf.create({"extractor": "raw", "pr": {"k": 2}}))
    fake = sample_inputs(50, 2, 0, seed=0)[0] * 0.5 + 1.0
    assert values["fid"] == pytest.approx(_scipy_fid(fake.double(), _points().double()), rel=1e-9)
    g = torch.Generator().manual_seed(0)
    real = _points()[torch.randperm(80, generator=g)[:50]]
    assert (values["precision"], values["recall"]) == precision_recall(fake.double(), real.double(), k=2)


def test_args_as_the_trainer_passes_them():
    from omegaconf import OmegaConf

    e = OmegaConf.create({"args": {"extractor": "tiny", "kid": {"subsets": 2}, "extractors": {"tiny": {"dim": 8}}}})
    from_config = evaluate(TinyG(), ["kid"], data_cfg=DATA, n_samples=30, args=dict(e.args))
    plain = evaluate(TinyG(), ["kid"], data_cfg=DATA, n_samples=30,
                     args={"extractor": "tiny", "kid": {"subsets": 2}, "extractors": {"tiny": {"dim": 8}}})
    assert from_config == plain
