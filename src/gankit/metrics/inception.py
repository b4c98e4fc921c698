"""The ``inception`` feature extractor: torch-fidelity's TF-compatible InceptionV3 (2015-12-05).

Features are the 2048-d pool3 activations (FID, KID, precision/recall), logits the 1008 unbiased
logits (Inception Score), exactly as torch-fidelity computes them, so the numbers are comparable
with the TF reference implementation and with published figures on the same protocol.

Weights are looked up in this order:

1. the ``weights`` option (CLI ``--inception-weights PATH``), then ``$GANKIT_INCEPTION_WEIGHTS``:
   a file the user vouches for; its sha256 is recorded, and a file that differs from the published
   one triggers a warning;
2. ``<cache>/inception/weights-inception-2015-12-05-6726825d.pth``;
3. a download from torch-fidelity's release into that cache, accepted only when its sha256 starts
   with the published prefix ``6726825d`` (the torch.hub file-name convention).

Offline, with none of these, the error names both ways to supply the file.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import Optional, Tuple

import torch

from gankit.metrics.base import FEATURE_EXTRACTORS, FeatureExtractor, ReferenceSpec, reference_free
from gankit.metrics.cache import cache_root
from gankit.metrics.extractors import to_rgb
from gankit.registry import ConfigError

WEIGHTS_ENV = "GANKIT_INCEPTION_WEIGHTS"
WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{WEIGHTS_FILE}"
PUBLISHED_SHA256_PREFIX = "6726825d"


def download(url: str, dst: Path) -> None:
    """Fetch ``url`` into ``dst`` (a module-level function so that tests can replace it)."""
    torch.hub.download_url_to_file(url, str(dst), progress=True)


def cached_weights_path() -> Path:
    """Where downloaded Inception weights are kept."""
    return cache_root() / "inception" / WEIGHTS_FILE


def _missing_message(reason: str) -> str:
    return (f"the Inception weights are not available ({reason}). Download {WEIGHTS_URL} on a machine with "
            f"network access, then either pass it with --inception-weights PATH (eval.args.extractors.inception."
            f"weights in a config) or set {WEIGHTS_ENV}=PATH; or copy it to {cached_weights_path()}.")


def resolve_weights(weights: Optional[str] = None) -> Tuple[Path, str]:
    """Find (or download) the Inception weights file.

    Args:
        weights: an explicit file; None falls back to ``$GANKIT_INCEPTION_WEIGHTS``, the cache, a download.

    Returns:
        ``(path, origin)`` with origin ``"user"`` (explicit or environment) or ``"cache"``.
    """
    explicit = weights or os.environ.get(WEIGHTS_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"Inception weights file {path} (from --inception-weights or {WEIGHTS_ENV}) "
                              f"does not exist")
        return path, "user"
    path = cached_weights_path()
    if path.is_file():
        return path, "cache"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        try:
            download(WEIGHTS_URL, tmp)
        except (OSError, RuntimeError, ValueError) as e:  # URLError/HTTPError/timeouts are OSErrors
            raise ConfigError(_missing_message(f"download failed: {type(e).__name__}: {e}")) from e
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        if not digest.startswith(PUBLISHED_SHA256_PREFIX):
            raise ConfigError(_missing_message(f"the downloaded file has sha256 {digest}, expected one starting with "
                                               f"{PUBLISHED_SHA256_PREFIX}; it was discarded"))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path, "cache"


class InceptionExtractor(FeatureExtractor):
    """torch-fidelity's InceptionV3 on uint8 images; grey images are replicated to RGB."""

    name = "inception"

    def __init__(self, device, weights: Optional[str]):
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        path, origin = resolve_weights(weights)
        blob = path.read_bytes()
        self.sha256 = hashlib.sha256(blob).hexdigest()
        self.matches_published = self.sha256.startswith(PUBLISHED_SHA256_PREFIX)
        if origin == "cache" and not self.matches_published:
            raise ConfigError(f"cached Inception weights {path} are damaged (sha256 {self.sha256}); delete the file "
                              f"so that it is downloaded again, or pass --inception-weights PATH")
        if not self.matches_published:
            warnings.warn(f"Inception weights {path} differ from the published file (sha256 {self.sha256} does not "
                          f"start with {PUBLISHED_SHA256_PREFIX}); scores will not be comparable with published ones")
        try:
            # Proves that the file holds only tensors before torch-fidelity (which loads it with
            # weights_only=False) reads the same in-memory bytes.
            torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        except Exception as e:
            raise ConfigError(f"Inception weights {path} cannot be loaded as plain tensors ({type(e).__name__}: {e}); "
                              f"pass the torch-fidelity file {WEIGHTS_FILE} with --inception-weights") from e
        self.path = path
        self.net = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=io.BytesIO(blob)
        ).to(device)

    def extract(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        if x.dtype != torch.uint8:
            raise ConfigError("the inception extractor takes images; for vector data use eval.args.extractor=raw")
        with torch.no_grad():
            features, logits = self.net(to_rgb(x, self.name).contiguous())
        return features, logits

    def record(self) -> dict:
        import torch_fidelity

        return {"name": self.name, "implementation": f"torch-fidelity {torch_fidelity.__version__} "
                "FeatureExtractorInceptionV3 (TF inception-2015-12-05)",
                "weights": str(self.path), "weights_sha256": self.sha256,
                "weights_match_published": self.matches_published,
                "input": "uint8 images; grey replicated to RGB; TF1-compatible bilinear resize to 299x299 "
                         "(torch-fidelity), then (x - 128) / 128",
                "features": "pool3, 2048-d", "logits": "1008 unbiased logits"}


@FEATURE_EXTRACTORS.register("inception")
@reference_free
def build_inception(device, reference: ReferenceSpec, weights: Optional[str] = None) -> InceptionExtractor:
    """TF-compatible InceptionV3 through torch-fidelity (2048-d pool3 features, 1008 logits)."""
    return InceptionExtractor(device, weights)
