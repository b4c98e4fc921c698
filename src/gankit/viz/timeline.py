"""Training timeline: the fixed-noise grids saved during training as an animated GIF and a strip.

The trainer writes ``samples/step-0000250.png`` every ``train.sample_every`` steps; because the
noise is fixed, consecutive frames show the same latents as the generator learns.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Sequence, Tuple

from PIL import Image, ImageDraw

from gankit.viz.io import font, save_image

_FRAME = re.compile(r"^step-(\d+)\.png$")

Frame = Tuple[int, Path]


def find_frames(run_dir: str | Path) -> List[Frame]:
    """The run's sample grids, ``[(step, path), ...]`` sorted by step (empty if there are none)."""
    folder = Path(run_dir) / "samples"
    if not folder.is_dir():
        return []
    return sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _FRAME.match(p.name)))


def select_evenly(frames: Sequence[Frame], n: int) -> List[Frame]:
    """``n`` frames evenly spaced in the list, always keeping the first and the last.

    Args:
        frames: candidates in order.
        n: how many to keep (all when ``n >= len(frames)``).
    """
    if n <= 0:
        raise ValueError(f"the number of frames to select must be > 0, got {n}")
    if n >= len(frames):
        return list(frames)
    if n == 1:
        return [frames[-1]]
    picks = sorted({round(i * (len(frames) - 1) / (n - 1)) for i in range(n)})
    return [frames[i] for i in picks]


def labelled(image: Image.Image, text: str) -> Image.Image:
    """The image (as RGB) under a white header band that carries ``text``.

    A band rather than text over the samples, so no sample is hidden.
    """
    image = image.convert("RGB")
    size = max(10, min(22, image.width // 12))
    band = size + 8
    out = Image.new("RGB", (image.width, image.height + band), "white")
    out.paste(image, (0, band))
    ImageDraw.Draw(out).text((4, 3), text, fill="black", font=font(size))
    return out


def _load(frames: Sequence[Frame], min_width: int) -> List[Image.Image]:
    """Open and label the frames.

    All frames take the first one's size (a resumed run may have changed the grid), enlarged by a
    whole factor to at least ``min_width`` pixels before the label is drawn, so that small grids
    stay pixel-exact and the text stays sharp.
    """
    if not frames:
        raise ValueError("no frames: the run has no samples/step-*.png (set train.sample_every below train.steps)")
    images: List[Image.Image] = []
    size = None
    for step, path in frames:
        with Image.open(path) as im:
            image = im.convert("RGB")
        if size is None:
            scale = max(1, -(-min_width // image.width))
            size = (image.width * scale, image.height * scale)
        if image.size != size:
            image = image.resize(size, Image.Resampling.NEAREST)
        images.append(labelled(image, f"step {step:,}"))
    return images


def make_timeline_gif(frames: Sequence[Frame], out: str | Path, duration_ms: int = 400,
                      hold_last_ms: int = 2000, max_frames: int | None = None, min_width: int = 256) -> Path:
    """Assemble sample grids into an animated, looping GIF with the step written on each frame.

    Args:
        frames: ``[(step, png path), ...]`` in order, e.g. from :func:`find_frames`.
        out: destination ``.gif`` (written atomically).
        duration_ms: display time of each frame.
        hold_last_ms: display time of the last frame, so the final state is easy to see.
        max_frames: keep at most this many (evenly spaced, first and last kept); None keeps all.
        min_width: smaller grids are enlarged by a whole factor to at least this width.

    Returns:
        The written path. The GIF has ``min(len(frames), max_frames)`` frames.
    """
    if max_frames is not None:
        frames = select_evenly(frames, max_frames)
    images = _load(frames, min_width)
    durations = [duration_ms] * (len(images) - 1) + [hold_last_ms]
    return save_image(images[0], out, fmt="GIF", save_all=True, append_images=images[1:], duration=durations,
                      loop=0, optimize=False)


def make_timeline_strip(frames: Sequence[Frame], out: str | Path, n: int = 6, gap: int = 8,
                        min_width: int = 160) -> Path:
    """A single PNG with ``n`` evenly spaced, labelled frames side by side.

    Args:
        frames: ``[(step, png path), ...]`` in order.
        out: destination PNG (written atomically).
        n: frames to show (first and last always among them).
        gap: white pixels between frames.
        min_width: smaller grids are enlarged by a whole factor to at least this width.

    Returns:
        The written path; its width is ``k * frame_width + (k - 1) * gap`` for the ``k`` frames kept.
    """
    if gap < 0:
        raise ValueError(f"gap must be >= 0, got {gap}")
    images = _load(select_evenly(frames, n), min_width)
    w, h = images[0].size
    strip = Image.new("RGB", (len(images) * w + (len(images) - 1) * gap, h), "white")
    for i, image in enumerate(images):
        strip.paste(image, (i * (w + gap), 0))
    return save_image(strip, out)
