"""``gankit report``: one self-contained HTML page that shows what a run's GAN learned.

The page embeds every picture as a base64 ``data:`` URI and styles itself with inline CSS; it needs
no JavaScript, no network and no other file, so it can be mailed or archived as it is. Every
section has an ``id`` and a heading; a section whose input is missing says what is missing and how
to produce it instead of disappearing.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Union

import torch
from PIL import Image

from gankit.viz.io import atomic_write_bytes

#: Section ids in page order.
# People judge a GAN by looking first: samples lead, the config and run facts close the page.
SECTIONS = ("samples", "translations", "metrics", "curves", "timeline", "interpolation", "codes", "sensitivity",
            "saliency", "cas", "toy2d", "embedding", "memorization", "meta", "config")

_TITLES = {
    "config": "Configuration",
    "meta": "Run facts",
    "metrics": "Key metrics",
    "curves": "Training curves",
    "samples": "Final samples",
    "translations": "Translations: A -> B -> A",
    "timeline": "Training timeline",
    "interpolation": "Latent interpolation",
    "codes": "Latent codes (InfoGAN traversals)",
    "sensitivity": "Latent sensitivity",
    "saliency": "What D looks at (saliency)",
    "cas": "Classification accuracy score (CAS)",
    "embedding": "Feature space: real vs generated",
    "memorization": "Memorisation check",
    "toy2d": "2-D data: samples and density",
}

_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; margin: 0;
       background: #f4f5f7; color: #1d2330; line-height: 1.45; }
main { max-width: 1120px; margin: 0 auto; padding: 20px 28px 60px; }
header { background: #1d2330; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #c9d1e3; font-size: 14px; }
nav { margin: 14px 0 6px; font-size: 14px; }
nav a { display: inline-block; margin: 0 6px 6px 0; padding: 3px 9px; border-radius: 12px; background: #e2e6ee;
        color: #1d2330; text-decoration: none; }
section { background: #fff; border-radius: 8px; padding: 14px 22px 18px; margin: 18px 0;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }
h2 { font-size: 19px; margin: 4px 0 10px; border-bottom: 2px solid #e2e6ee; padding-bottom: 6px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
pre { background: #f7f8fa; border: 1px solid #e2e6ee; padding: 10px; overflow-x: auto; font-size: 12.5px;
      max-height: 480px; }
table { border-collapse: collapse; font-size: 14px; margin: 6px 0 10px; }
th, td { border-bottom: 1px solid #e8ebf0; padding: 4px 12px 4px 0; text-align: left; vertical-align: top; }
td.num { font-variant-numeric: tabular-nums; text-align: right; }
figure { margin: 10px 0 16px; }
figure img { max-width: 100%; height: auto; border: 1px solid #e2e6ee; background: #fff; }
img.pixels { image-rendering: pixelated; }
figcaption { font-size: 13px; color: #5a6478; margin-top: 4px; }
p.missing { background: #fff6e0; border-left: 4px solid #e0a800; padding: 8px 12px; margin: 6px 0; }
p.note { color: #5a6478; font-size: 13.5px; }
.row { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
details summary { cursor: pointer; color: #3b5bdb; font-size: 14px; }
"""


def _text(value) -> str:
    """HTML-escape text; ``://`` becomes ``&#58;//`` so no text can read as a link to another site."""
    return html.escape(str(value)).replace("://", "&#58;//")


def _missing(message: str) -> str:
    return f'<p class="missing">Missing: {_text(message)}</p>'


def _note(message: str) -> str:
    return f'<p class="note">{_text(message)}</p>'


def _img(data: bytes | Path, alt: str, caption: str = "", mime: str = "image/png", upscale_to: int = 0) -> str:
    """A figure with the picture inlined as a data URI.

    Args:
        data: the file's bytes, or its path.
        alt: alternative text.
        caption: shown under the picture.
        mime: the picture's MIME type.
        upscale_to: display small pictures at least this wide (pixel-exact scaling); 0 keeps the size.
    """
    if isinstance(data, Path):
        data = data.read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        width, height = im.size
    attrs = f'width="{width}" height="{height}"'
    css = ""
    if upscale_to and width < upscale_to:
        scale = -(-upscale_to // width)  # ceil: a 274 px grid shows at 548 px
        attrs = f'width="{width * scale}" height="{height * scale}"'
        css = ' class="pixels"'
    src = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    cap = f"<figcaption>{_text(caption)}</figcaption>" if caption else ""
    return f'<figure><img{css} src="{src}" alt="{_text(alt)}" {attrs}>{cap}</figure>'


def _table(rows: Sequence[Sequence], header: Optional[Sequence[str]] = None, align_numbers: bool = True) -> str:
    head = "<tr>" + "".join(f"<th>{_text(h)}</th>" for h in header) + "</tr>" if header else ""
    body = []
    for row in rows:
        cells = []
        for v in row:
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            cls = ' class="num"' if number and align_numbers else ""
            cells.append(f"<td{cls}>{_text(_fmt(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _fmt(v) -> str:
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.4e}"
    return str(v)


@dataclass
class _Run:
    """What the sections share: inputs loaded once, and notes on those that could not be loaded."""

    run_dir: Path
    tmp: Path
    progress: Callable[[str], None]
    cfg: object = None
    G: Optional[torch.nn.Module] = None
    G_missing: str = ""
    translators: object = None  # gankit.translate.Translators of an image-to-image run (which has no G)
    data: object = None
    data_missing: str = ""
    data_notes: List[str] = field(default_factory=list)
    eval_error: str = ""

    def is_image(self) -> Optional[bool]:
        """True/False for image/vector runs; None when neither the generator nor the config tells."""
        if self.G is not None:
            return len(tuple(self.G.out_shape)) == 3
        return None


def build_report(run_dir: str | Path, out: Optional[str | Path] = None, *, n_embed: int = 500, n_memo: int = 500,
                 n_real: int = 500, max_reference: int = 20000, interp_seeds: Sequence[int] = (0, 1, 2, 3, 4),
                 interp_steps: int = 8, interp_mode: str = "slerp", embed_methods: Sequence[str] = ("tsne", "pca"),
                 max_gif_frames: int = 40, device: str = "cpu", ema: bool = True, seed: int = 0,
                 metrics: Union[str, Sequence[str]] = "auto", n_eval: int = 5000,
                 progress: Optional[Callable[[str], None]] = None) -> Path:
    """Write a run's report as one self-contained HTML file.

    Args:
        run_dir: the run folder (``config.yaml``, ``meta.json``, ``stats.jsonl``, ``samples/``, ``checkpoints/``).
        out: destination; default ``run_dir/report.html``.
        n_embed: real and generated samples (each) in the t-SNE / PCA view.
        n_memo: generated samples checked for memorisation.
        n_real: real samples whose nearest-neighbour distances are the comparison.
        max_reference: at most this many training samples are searched for neighbours (a random subset beyond).
        interp_seeds: noise seeds of the interpolation rows (row i: seed i -> seed i+1).
        interp_steps: images per interpolation row.
        interp_mode: "slerp" or "lerp".
        embed_methods: any of "tsne", "pca".
        max_gif_frames: frames kept in the timeline GIF (evenly spaced).
        device: where the generator runs.
        ema: use the EMA generator when the run kept one.
        seed: seed of every random choice (samples, subsets, embeddings).
        metrics: metrics to evaluate first (``eval/report-<time>.json``, shown under Key metrics):
            a list of registered names, ``[]`` for none, or ``"auto"``: when the run has recorded no
            metric yet, the offline ones that suit its data (:func:`offline_metrics`).
        n_eval: generated samples for those metrics (``modes`` and ``stacked_mnist`` use their
            papers' counts, 2,500 and 26,000).
        progress: receives one line per stage; default prints to stderr.

    Returns:
        The written path.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    for name, value in (("n_embed", n_embed), ("n_memo", n_memo), ("n_real", n_real), ("max_reference", max_reference),
                        ("max_gif_frames", max_gif_frames)):
        if value <= 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    from gankit.viz.embedding import METHODS
    from gankit.viz.interpolate import MODES

    if len(interp_seeds) < 2 or interp_steps < 2 or interp_mode not in MODES:
        raise ValueError(f"interpolation needs >= 2 seeds, >= 2 steps and a mode in {MODES}; got seeds "
                         f"{list(interp_seeds)}, steps {interp_steps}, mode '{interp_mode}'")
    if not set(embed_methods) <= set(METHODS):
        raise ValueError(f"embed_methods must be drawn from {METHODS}, got {list(embed_methods)}")
    if metrics != "auto":
        from gankit.metrics import load_builtin_metrics, metric_spec

        load_builtin_metrics()
        for name in metrics:  # an unknown name fails here, naming the closest, not after the slow sections
            metric_spec(name)
    out = Path(out) if out is not None else run_dir / "report.html"
    progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gankit-report-") as tmp:
        run = _Run(run_dir, Path(tmp), progress)
        progress(f"report: loading the generator and config of {run_dir}")
        _load_generator(run, device, ema)
        chosen = offline_metrics(run, max_reference, seed) if metrics == "auto" else list(metrics)
        if chosen:
            _evaluate(run, chosen, n_eval, seed, device)
        stages = [
            ("config", lambda: _section_config(run)),
            ("meta", lambda: _section_meta(run)),
            ("metrics", lambda: _section_metrics(run)),
            ("curves", lambda: _section_curves(run)),
            ("samples", lambda: _section_samples(run, seed)),
            ("translations", lambda: _section_translations(run)),
            ("timeline", lambda: _section_timeline(run, max_gif_frames)),
            ("interpolation", lambda: _section_interpolation(run, interp_seeds, interp_steps, interp_mode)),
            ("codes", lambda: _section_codes(run, seed)),
            ("sensitivity", lambda: _section_sensitivity(run, seed)),
            ("saliency", lambda: _section_saliency(run, seed, max_reference, device)),
            ("cas", lambda: _section_cas(run)),
            ("embedding", lambda: _section_embedding(run, n_embed, embed_methods, seed, max_reference, device)),
            ("memorization", lambda: _section_memorization(run, n_memo, n_real, seed, max_reference)),
            ("toy2d", lambda: _section_toy2d(run, seed)),
        ]
        bodies = {}
        for i, (sid, fn) in enumerate(stages, 1):
            progress(f"report: [{i}/{len(stages)}] {_TITLES[sid].lower()}")
            bodies[sid] = fn()
    page = _page(run, bodies, time.perf_counter() - started)
    atomic_write_bytes(page.encode("utf-8"), out)
    progress(f"report: wrote {out} ({len(page) / 1e6:.1f} MB) in {time.perf_counter() - started:.0f} s")
    return out


# ----------------------------------------------------------------------------------- inputs
#: Sample counts fixed by the papers' protocols; every other metric uses ``n_eval``.
PROTOCOL_SAMPLES = {"modes": 2500, "stacked_mnist": 26000}


def _has_recorded_metrics(run: _Run) -> bool:
    from gankit.viz.curves import read_stats, series

    stats = run.run_dir / "stats.jsonl"
    if stats.is_file() and any(k.startswith("metric/") for k in series(read_stats(stats))):
        return True
    return (run.run_dir / "eval").is_dir() and any((run.run_dir / "eval").glob("*.json"))


def offline_metrics(run: _Run, max_reference: int, seed: int) -> List[str]:
    """The metrics ``metrics="auto"`` evaluates: none when the run already recorded some or has no
    generator; ``modes`` for ring/grid, ``stacked_mnist`` for Stacked MNIST, the classifier metrics
    (no download, the classifier trains once and is cached) for labelled images; else none."""
    if run.G is None or run.cfg is None or _has_recorded_metrics(run):
        return []
    from gankit.viz.toy2d import modes_of

    source = run.cfg.data.source
    if not run.is_image():
        return ["modes"] if modes_of(source)[0] is not None and tuple(run.G.out_shape) == (2,) else []
    if source == "stacked-mnist":
        return ["stacked_mnist"]
    data = _training_data(run, max_reference, seed)
    if data is None or data[1] is None:
        return []
    return ["classifier_fid", "classifier_score"] + (["class_accuracy"] if run.G.num_classes else [])


def _evaluate(run: _Run, metrics: Sequence[str], n_eval: int, seed: int, device: str) -> None:
    """Evaluate the generator into ``eval/report-<time>.json``; a failure is shown, not hidden."""
    from gankit.metrics import evaluate

    counts = {PROTOCOL_SAMPLES.get(m, n_eval) for m in metrics}
    run.progress(f"report: evaluating {', '.join(metrics)} ({', '.join(f'{n:,}' for n in sorted(counts))} samples)")
    try:
        for n in sorted(counts):
            group = [m for m in metrics if PROTOCOL_SAMPLES.get(m, n_eval) == n]
            evaluate(run.G, group, data_cfg=run.cfg.data, n_samples=n, seed=seed, device=device,
                     out_dir=run.run_dir / "eval", name=f"report-{time.strftime('%Y%m%d-%H%M%S')}-{n}",
                     progress=True)
    except (ValueError, FileNotFoundError) as e:  # e.g. data elsewhere, too few samples: the section says so
        run.eval_error = f"evaluating {', '.join(metrics)} failed: {e}"
        run.progress(f"report: {run.eval_error}")


def _load_generator(run: _Run, device: str, ema: bool) -> None:
    from gankit.config import from_yaml_text
    from gankit.training.checkpoint import NoNoiseGenerator, load_run_generator

    config_file = run.run_dir / "config.yaml"
    if config_file.is_file():
        run.cfg = from_yaml_text(config_file.read_text(encoding="utf-8"))
    try:
        run.G, cfg = load_run_generator(run.run_dir, ema=ema, device=device)
        run.cfg = run.cfg if run.cfg is not None else cfg
    except NoNoiseGenerator:  # an image-to-image run: its translators stand in for G
        from gankit.translate import load_translators

        run.translators = load_translators(run.run_dir, device=device, ema=ema)
        run.G_missing = (f"Not applicable: this '{run.translators.objective}' run translates images "
                         f"({', '.join(run.translators.networks)}; see Translations) and has no noise generator "
                         "to sample from.")
    except (FileNotFoundError, ValueError) as e:  # no checkpoint yet, or none readable: shown in the sections
        run.G_missing = f"no generator could be loaded from {run.run_dir}: {e}"
        run.progress(f"report: {run.G_missing}")


def _training_data(run: _Run, max_samples: int, seed: int):
    """Up to ``max_samples`` training samples, loaded once and shared by the sections.

    Returns:
        ``(x, y, class_names, total)``: samples (images ``[M, C, H, W]`` in [-1, 1], or vectors
        ``[M, D]``), labels ``[M]`` or None, the class names and the size of the whole training
        set; or None, with ``run.data_missing`` saying why.
    """
    if run.data is not None or run.data_missing:
        return run.data
    from omegaconf import OmegaConf

    from gankit.data import DataRequest, build_dataset

    if run.cfg is None:
        run.data_missing = "the run has no config.yaml and no checkpoint, so its data set is unknown"
        return None
    d = run.cfg.data
    run.progress(f"report: loading the training data ({d.source})")
    try:
        ds = build_dataset(d.source, DataRequest(
            path=d.path, resolution=d.resolution, channels=d.channels, strict=d.strict, in_memory=d.in_memory,
            max_memory_mb=d.max_memory_mb, num_workers=d.num_workers, seed=run.cfg.train.seed),
            dict(d.args), limit=OmegaConf.select(run.cfg, "data.limit", default=None))
    except (FileNotFoundError, ValueError) as e:  # e.g. the data lives on another machine: shown in the sections
        run.data_missing = f"the training data ({d.source}, data.path={d.path}) could not be loaded: {e}"
        run.progress(f"report: {run.data_missing}")
        return None
    n = len(ds)
    idx = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:max_samples].sort().values
    if n > max_samples:
        run.data_notes.append(f"a random subset of {max_samples:,} of the {n:,} training samples is used")
    if ds.stream is not None:
        items = [ds.stream[i] for i in idx.tolist()]
        x = torch.stack([torch.as_tensor(item[0]) for item in items])
        y = torch.tensor([int(item[1]) for item in items]) if ds.num_classes else None
    else:
        x = ds.x[idx]
        y = ds.y[idx] if ds.y is not None else None
    if ds.is_image:
        x = x.float() / 127.5 - 1.0
    run.data = (x, y, list(ds.class_names), n)
    return run.data


def _needs_image_generator(run: _Run) -> Optional[str]:
    """An explanation when the image sections cannot run, else None."""
    if run.G is None:
        return _no_generator(run)
    if not run.is_image():
        return _note("Not applicable: this run generates vectors, not images; see the 2-D section.")
    return None


# ----------------------------------------------------------------------------------- sections
def _no_generator(run: _Run) -> str:
    """Why a section that samples the noise generator is empty: not applicable (translators) or missing."""
    return _note(run.G_missing) if run.translators is not None else _missing(run.G_missing)


def _section_config(run: _Run) -> str:
    path = run.run_dir / "config.yaml"
    if path.is_file():
        return f"<pre>{_text(path.read_text(encoding='utf-8'))}</pre>"
    if run.cfg is not None:
        from gankit.config import to_yaml

        return _note("config.yaml is missing; this is the config saved in the checkpoint.") + \
            f"<pre>{_text(to_yaml(run.cfg))}</pre>"
    return _missing(f"{path} (written when training starts) and no checkpoint holds a config either.")


def _flatten(obj, prefix: str = "") -> List[tuple]:
    if isinstance(obj, dict):
        rows = []
        for k, v in obj.items():
            rows += _flatten(v, f"{prefix}{k}.")
        return rows
    value = ", ".join(map(str, obj)) if isinstance(obj, list) and all(not isinstance(v, (dict, list)) for v in obj) \
        else obj
    text = value if isinstance(value, (int, float)) else str(value)
    if isinstance(text, str) and len(text) > 160:
        text = text[:157] + "..."
    return [(prefix[:-1], text)]


def _section_meta(run: _Run) -> str:
    path = run.run_dir / "meta.json"
    if not path.is_file():
        return _missing(f"{path} (written by `gankit train` when the run starts).")
    meta = json.loads(path.read_text(encoding="utf-8"))
    return _table(_flatten(meta), ["fact", "value"], align_numbers=False) + \
        f"<details><summary>meta.json</summary><pre>{_text(json.dumps(meta, indent=2))}</pre></details>"


def _direction(key: str) -> Optional[str]:
    from gankit.metrics.base import metric_direction

    try:
        return metric_direction(key)
    except KeyError:  # a metric this installation does not know: show it without a "best"
        return None


def _section_metrics(run: _Run) -> str:
    from gankit.viz.curves import read_stats, series

    parts = []
    stats = run.run_dir / "stats.jsonl"
    data = series(read_stats(stats)) if stats.is_file() else {}
    metric_keys = sorted(k for k in data if k.startswith("metric/"))
    if metric_keys:
        rows = []
        for key in metric_keys:
            steps, values = data[key]
            name = key[len("metric/"):]
            direction = _direction(name)
            finite = [(v, s) for s, v in zip(steps, values) if math.isfinite(v)]
            best = "" if direction is None or not finite else \
                "{:.4g} (step {})".format(*(min(finite) if direction == "min" else max(finite)))
            rows.append((name, values[-1], steps[-1], best, {"min": "lower", "max": "higher"}.get(direction, "?")))
        parts.append("<h3>During training (stats.jsonl)</h3>" +
                     _table(rows, ["metric", "last value", "at step", "best", "better"]))
    eval_files = sorted((run.run_dir / "eval").glob("*.json")) if (run.run_dir / "eval").is_dir() else []
    for path in eval_files:
        record = json.loads(path.read_text(encoding="utf-8"))
        values = record.get("values", {}) if isinstance(record, dict) else {}
        rows = [(k, v if v is not None else "n/a") for k, v in values.items()]
        parts.append(f"<h3>Evaluation {_text(path.name)}</h3>" + (_table(rows, ["metric", "value"]) if rows else
                     _note("no values in this file")) +
                     f"<details><summary>protocol</summary><pre>{_text(json.dumps(record.get('protocol', record), indent=2))}"
                     "</pre></details>")
    if run.eval_error:
        parts.insert(0, _missing(run.eval_error))
    if not parts:
        return _missing("no metric/* values in stats.jsonl and no eval/*.json: set eval.every and eval.metrics "
                        "when training, run `gankit eval RUN_DIR`, or `gankit report RUN_DIR --metrics NAMES`.")
    return "".join(parts)


def _section_curves(run: _Run) -> str:
    from gankit.viz.curves import plot_curves

    if not (run.run_dir / "stats.jsonl").is_file():
        return _missing(f"{run.run_dir / 'stats.jsonl'}: the trainer writes it every train.log_every steps.")
    paths = plot_curves(run.run_dir, out_dir=run.tmp / "curves")
    if not paths:
        return _missing("stats.jsonl has no statistics yet.")
    return _note("Bold lines: exponential moving average (TensorBoard smoothing 0.6); faint: raw values.") + \
        '<div class="row">' + "".join(_img(p, f"training curves: {p.stem}") for p in paths) + "</div>"


def _section_samples(run: _Run, seed: int) -> str:
    final = run.run_dir / "samples.png"
    if final.is_file() and run.translators is not None:
        return _img(final, "final preview", "The run's preview at the end of training: fixed training images and "
                    "their translations (rows as in Translations below).", upscale_to=512)
    if final.is_file():
        caption = "Fixed-noise samples at the end of training (EMA generator when enabled)."
        if run.G is not None and run.G.num_classes:
            names = getattr(run.G, "class_names", []) or [str(c) for c in range(run.G.num_classes)]
            caption += f" One row per class (up to 20 classes), top to bottom: {', '.join(map(str, names[:20]))}."
        return _img(final, "final samples", caption, upscale_to=512)
    if run.G is None and run.translators is not None:
        return _note(f"{final} is missing (written at the end of training); see Translations.")
    if run.G is None:
        return _missing(f"{final} (written at the end of training) and no generator to draw new samples: {run.G_missing}")
    from gankit.viz.grid import class_grid, sample, save_grid
    from gankit.viz.toy2d import plot_samples_2d

    if not run.is_image():
        x, _ = sample(run.G, 2500, seed)
        return _note("samples.png is missing; these are new samples from the checkpoint.") + \
            _img(plot_samples_2d(x, run.tmp / "samples.png"), "samples")
    if run.G.num_classes:
        nrow = max(1, min(10, 64 // run.G.num_classes))
        x = class_grid(run.G, nrow, seed)
    else:
        nrow = 8
        x, _ = sample(run.G, 64, seed)
    return _note(f"samples.png is missing; these are new samples from the checkpoint (seed {seed}).") + \
        _img(save_grid(x, run.tmp / "samples.png", nrow=nrow), "samples", upscale_to=512)


def _section_timeline(run: _Run, max_frames: int) -> str:
    from gankit.viz.timeline import find_frames, make_timeline_gif, make_timeline_strip

    frames = find_frames(run.run_dir)
    if not frames:
        return _missing(f"no {run.run_dir / 'samples'}/step-*.png grids: the trainer saves one every "
                        "train.sample_every steps.")
    gif = make_timeline_gif(frames, run.tmp / "timeline.gif", max_frames=max_frames)
    strip = make_timeline_strip(frames, run.tmp / "timeline.png", n=6)
    kept = min(len(frames), max_frames)
    return _img(gif, "training timeline (animated)", f"The same fixed noise from step {frames[0][0]:,} to "
                f"{frames[-1][0]:,} ({kept} of {len(frames)} saved grids, looping).", mime="image/gif") + \
        _img(strip, "timeline strip", "Six evenly spaced moments of training.")


def _section_interpolation(run: _Run, seeds: Sequence[int], steps: int, mode: str) -> str:
    problem = _needs_image_generator(run)
    if problem:
        return problem
    from gankit.viz.grid import save_grid
    from gankit.viz.interpolate import class_interpolation, seed_interpolation

    x = seed_interpolation(run.G, seeds, steps, mode)
    rows = ", ".join(f"seed {a} -> {b}" for a, b in zip(seeds[:-1], seeds[1:]))
    classes_note = " Conditional model: row i uses class i mod the number of classes." if run.G.num_classes else ""
    parts = [_img(save_grid(x, run.tmp / "interp.png", nrow=steps), "latent interpolation",
                  f"{mode} in {steps} steps; rows: {rows} (the ends are exactly those seeds' samples).{classes_note}",
                  upscale_to=640)]
    k = run.G.num_classes
    if k:
        classes = list(range(min(k, 5)))
        names = getattr(run.G, "class_names", []) or []
        shown = [names[c] if c < len(names) else str(c) for c in classes]
        rows = ", ".join(f"{a} -> {b}" for a, b in zip(shown[:-1], shown[1:]))
        try:
            xc = class_interpolation(run.G, seeds[:1], classes, steps)
            parts.append(_img(save_grid(xc, run.tmp / "interp_classes.png", nrow=steps), "class interpolation",
                              f"Fixed noise (seed {seeds[0]}), soft labels walking between classes; rows: {rows}.",
                              upscale_to=640))
        except ValueError as e:  # a custom generator whose labels enter in an unsupported way: explain it
            parts.append(_note(f"Class interpolation not possible: {e}"))
    return "".join(parts)


def _section_codes(run: _Run, seed: int) -> str:
    """One traversal per InfoGAN code (rows: fixed noise; columns: the code's values)."""
    problem = _needs_image_generator(run)
    if problem:
        return problem
    from gankit.viz.grid import save_grid
    from gankit.viz.traverse import SPAN, traversal_codes, traverse

    try:
        codes = traversal_codes(run.G)
    except ValueError:
        return _note("Not applicable: this run's latent prior has no codes (InfoGAN runs: model.latent.name=infogan).")
    parts = []
    for c in codes:
        x, values = traverse(run.G, c.name, rows=8, seed=seed)
        what = (f"all {c.size} values" if c.kind == "categorical" else f"{len(values)} values from "
                f"{float(values[0]):g} to {float(values[-1]):g} ({SPAN:g}x the training range)")
        parts.append(_img(save_grid(x, run.tmp / f"traverse-{c.name}.png", nrow=len(values)), f"{c.name} traversal",
                          f"{c.describe()}: columns {what}; rows: fixed noise seeds {seed}..{seed + 7} "
                          f"(`gankit traverse RUN --code {c.name}`).", upscale_to=512))
    return "".join(parts)


def _section_sensitivity(run: _Run, seed: int) -> str:
    """Ranked latent sensitivity, a walk of the most and least sensitive directions, per-pixel maps."""
    problem = _needs_image_generator(run)
    if problem:
        return problem
    from gankit.tools.sensitivity import latent_sensitivity, walk_grid
    from gankit.viz.grid import save_grid
    from gankit.viz.sensitivity import plot_sensitivity, sensitivity_maps

    result = latent_sensitivity(run.G, n=32, seed=seed)
    x, names = walk_grid(run.G, result, k=3, steps=7, seed=seed)
    order = result.ranking()
    return (_note(f"Mean output change per unit step of each latent direction over {result.n} samples (central "
                  "differences); a direction near 0 is one G ignores (`gankit sensitivity RUN`).") +
            _img(plot_sensitivity(result, run.tmp / "sensitivity.png"), "latent sensitivity") +
            _img(save_grid(x, run.tmp / "sensitivity-walk.png", nrow=7), "sensitivity walk",
                 f"Rows: {', '.join(names)} (the 3 most, then the 3 least sensitive) from -2.5 to 2.5 at fixed noise.",
                 upscale_to=420) +
            _img(save_grid(sensitivity_maps(result, 8), run.tmp / "sensitivity-maps.png", nrow=8), "sensitivity maps",
                 f"Where each direction acts (per-pixel |dG/dz|, each map scaled to its own peak): "
                 f"{', '.join(result.names[i] for i in order[:8])}.", upscale_to=480))


def _section_saliency(run: _Run, seed: int, max_reference: int, device: str) -> str:
    """Input saliency of D on real and generated images (and per class for a conditional D)."""
    data, problem = _analysis_inputs(run, max_reference, seed)
    if problem:
        return problem
    from gankit.registry import ConfigError
    from gankit.tools.saliency import METHODS, class_saliency, discriminator_saliency
    from gankit.training.checkpoint import load_run_discriminator
    from gankit.viz.grid import sample
    from gankit.viz.saliency import plot_class_saliency, plot_saliency

    try:
        D, _ = load_run_discriminator(run.run_dir, device=device)
    except (ConfigError, FileNotFoundError, ValueError) as e:
        return _missing(f"the run's discriminator could not be loaded: {e}")
    x, y, class_names, _ = data
    n, k = 6, int(run.G.num_classes or 0)
    x_fake, y_fake = sample(run.G, n, seed)
    if k and y is None:
        return _missing("the discriminator is conditional but the training data has no labels")
    options = {"n_smooth": 8, "seed": seed}
    groups = [(title, xs, discriminator_saliency(D, xs, ys if k else None, **options))
              for title, xs, ys in (("real", x[:n], None if y is None else y[:n]), ("generated", x_fake, y_fake))]
    parts = [_note("Gradient of D's logit with respect to the input pixels, gradient x input and SmoothGrad "
                   f"(8 noisy copies); D's logit above each image (`gankit saliency RUN`)."),
             _img(plot_saliency(groups, run.tmp / "saliency.png", METHODS), "D saliency")]
    if k:
        xs = torch.cat([x[:3], x_fake[:3]])
        names = class_names or [str(i) for i in range(k)]
        parts.append(_img(plot_class_saliency(xs, class_saliency(D, xs, k), run.tmp / "saliency-classes.png", names),
                          "per-class saliency", "Rows: 3 real, then 3 generated images; columns: the gradient of "
                          "D's evidence for each class."))
    return "".join(parts)


def _section_cas(run: _Run) -> str:
    """The classification accuracy scores on record (eval/*.json) of a conditional run."""
    if run.G is None:
        return _no_generator(run)
    if not run.G.num_classes:
        return _note("Not applicable: CAS trains a classifier on the classes a conditional generator was asked "
                     "for; this generator is unconditional.")
    rows = []
    for path in sorted((run.run_dir / "eval").glob("*.json")) if (run.run_dir / "eval").is_dir() else []:
        record = json.loads(path.read_text(encoding="utf-8"))
        values = record.get("values", {}) if isinstance(record, dict) else {}
        if "cas" in values:
            facts = (record.get("protocol", {}).get("metrics", {}) or {}).get("cas", {})
            rows.append((path.name, values["cas"], values.get("cas_real"), facts.get("n_fake", "?"),
                         facts.get("n_real_train", "?"), facts.get("n_test", "?")))
    if not rows:
        return _note("No CAS on record: `gankit eval RUN --metrics cas` (or `gankit report RUN --metrics cas`) trains "
                     "gankit's classifier on generated samples and tests it on held-out real images.")
    return _note("CAS: accuracy on real test images of a classifier trained on generated samples only, next to the "
                 "same classifier trained on real images (Ravuri & Vinyals 2019).") + \
        _table(rows, ["evaluation", "CAS", "real-data accuracy", "generated", "real train", "real test"])


def _section_translations(run: _Run) -> str:
    """Per direction: the run's fixed inputs, their translation and, when the run has the reverse
    translator, the way back (A -> B -> A triplets, one column per image)."""
    t = run.translators
    if t is None:
        return _note("Not applicable: this run has no image translators (cyclegan and pix2pix runs do).") \
            if run.G is not None else _missing(run.G_missing)
    from gankit.translate import translate
    from gankit.viz.grid import save_grid

    parts = [_note(f"Inputs: the run's fixed preview images of each domain (training images, step {t.step:,}); "
                   "translate other images with `gankit translate RUN --direction D --input IMAGES --out DIR`.")]
    for direction, net in t.networks.items():
        source, target = direction.split("2", 1)
        x = t.fixed.get(source)
        if x is None:
            parts.append(_missing(f"{direction}: the checkpoint holds no fixed {source.upper()} inputs."))
            continue
        x = x[:8]
        rows, names = [x, translate(net, x)], [source.upper(), f"{t.records[direction]['player']}({source.upper()})"]
        back = f"{target}2{source}"
        if back in t.networks:
            rows.append(translate(t.networks[back], rows[1]))
            names.append(f"{t.records[back]['player']}({names[1]})")
        if len({r.shape[1] for r in rows}) > 1:  # grey and colour domains: show grey as RGB
            rows = [r.expand(-1, 3, -1, -1) if r.shape[1] == 1 else r for r in rows]
        path = save_grid(torch.cat(rows), run.tmp / f"translations-{direction}.png", nrow=len(x))
        parts.append(_img(path, f"{direction} translations", f"{source.upper()} -> {target.upper()}"
                          f"{' -> ' + source.upper() if back in t.networks else ''}; rows: {', '.join(names)}.",
                          upscale_to=512))
    return "".join(parts)


def _generated_for_analysis(G: torch.nn.Module, n: int, seed: int):
    from gankit.viz.grid import sample

    # A different seed stream from the grids: these samples are a fresh draw.
    return sample(G, n, seed + 1000)


def _analysis_inputs(run: _Run, max_reference: int, seed: int):
    """``(training data, None)`` for the sections that compare samples with the data, or ``(None, html)``
    saying why the section cannot be drawn (no image generator, data set not found)."""
    problem = _needs_image_generator(run)
    if problem:
        return None, problem
    data = _training_data(run, max_reference, seed)
    if data is None:
        return None, _missing(run.data_missing)
    return data, None


def _section_embedding(run: _Run, n: int, methods: Sequence[str], seed: int, max_reference: int, device: str) -> str:
    data, problem = _analysis_inputs(run, max_reference, seed)
    if problem:
        return problem
    from gankit.viz.embedding import plot_embedding

    from gankit.viz.features import run_feature_space

    x, y, class_names, _ = data
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed + 1))[:n]
    fake, fake_y = _generated_for_analysis(run.G, min(n, len(pick)), seed)
    space = run_feature_space(run.cfg.data, device)
    run.progress(f"report:   features: {space.description}")
    real_f, fake_f = space(x[pick]), space(fake)
    parts = [_note(f"{len(pick)} real training samples and {len(fake)} generated samples. Features: "
                   f"{space.description}. t-SNE runs after PCA to 50 dimensions. Regions with only one kind of "
                   "point are what only one side has: generated-only islands are unrealistic samples, real-only "
                   "clusters are modes the generator misses.")]
    for method in methods:
        run.progress(f"report:   {method} of {len(pick) + len(fake)} samples")
        path = plot_embedding(real_f, fake_f, run.tmp / f"embed_{method}.png", method=method,
                              real_labels=None if y is None else y[pick], fake_labels=fake_y,
                              class_names=class_names, feature_name=space.name, seed=seed)
        parts.append(_img(path, f"{method} embedding"))
    return "".join(parts)


def _section_memorization(run: _Run, n: int, n_real: int, seed: int, max_reference: int) -> str:
    data, problem = _analysis_inputs(run, max_reference, seed)
    if problem:
        return problem
    from gankit.viz.memorization import memorization_check

    x, _, _, total = data
    fake, _ = _generated_for_analysis(run.G, n, seed)
    run.progress(f"report:   nearest neighbours of {len(fake)} samples among {len(x):,} training samples")
    result = memorization_check(fake, x, run.tmp, k=3, n_show=8, n_real=n_real, seed=seed)
    s = result.summary
    rows = [("generated samples", f"{len(fake):,}"), ("training samples searched", f"{len(x):,} of {total:,}"),
            ("median distance, generated -> training", f"{s['generated_median']:.4g}"),
            (f"median distance, real ({result.real_label}) -> training", f"{s['real_median']:.4g}"),
            ("ratio generated / real (well below 1 suggests copying)", f"{s['ratio']:.3g}"),
            ("generated samples closer than the closest 1% of real", f"{100 * s['close_fraction']:.1f}%")]
    notes = list(run.data_notes)
    if result.real_label != "held-out real":
        notes.append("no separate real split: the real distances are leave-one-out (each of "
                     f"{len(result.real_d)} training samples against the others)")
    return _table(rows) + "".join(_note(n_) for n_ in notes) + \
        _img(result.grid_path, "nearest training neighbours",
             "The generated samples closest to the training set (likeliest copies) and their 3 nearest "
             "training images (L2 in pixel space).", upscale_to=360) + \
        _img(result.hist_path, "distance histogram")


def _section_toy2d(run: _Run, seed: int) -> str:
    if run.G is None:
        return _no_generator(run)
    if run.is_image():
        return _note("Not applicable: this run generates images (the 2-D plots are for ring/grid-like vector data).")
    if tuple(run.G.out_shape) != (2,):
        return _note(f"Not applicable: the generator's vectors have shape {tuple(run.G.out_shape)}, not (2,).")
    from gankit.viz.grid import sample
    from gankit.viz.toy2d import modes_of, plot_density_2d, plot_samples_2d

    centres, sigma = modes_of(run.cfg.data.source) if run.cfg is not None else (None, None)
    if sigma is not None and run.cfg.data.args.get("std") is not None:
        sigma = float(run.cfg.data.args.std)
    points, _ = sample(run.G, 2500, seed)
    dense, _ = sample(run.G, 20000, seed + 1)
    parts = [_img(plot_samples_2d(points, run.tmp / "toy_samples.png", centres, sigma), "2-D samples",
                  "2,500 generated points over the true mode centres (3-sigma circles)."),
             _img(plot_density_2d(dense, run.tmp / "toy_density.png", centres, sigma), "2-D density",
                  "Generator density: 2-D histogram of 20,000 samples (log colour scale).")]
    if centres is None:
        parts.insert(0, _note(f"The data source '{run.cfg.data.source if run.cfg else '?'}' has no known mode "
                              "centres; only the samples are shown."))
    return "<div class='row'>" + "".join(parts) + "</div>"


# ----------------------------------------------------------------------------------- page
def _page(run: _Run, bodies: dict, seconds: float) -> str:
    from gankit import __version__

    name = run.cfg.name if run.cfg is not None and run.cfg.name else run.run_dir.name
    subtitle = f"{run.run_dir.resolve()} · gankit {__version__} · written {time.strftime('%Y-%m-%d %H:%M')} " \
        f"in {seconds:.0f} s"
    return html_page(name, subtitle, [(sid, _TITLES[sid], bodies[sid]) for sid in SECTIONS])


def html_page(title: str, subtitle: str, sections: Sequence[tuple]) -> str:
    """A self-contained page in the report's style.

    Args:
        title, subtitle: the header's lines (plain text).
        sections: ``(id, heading, body HTML)`` in page order; a navigation bar links them.
    """
    nav = "".join(f'<a href="#{sid}">{_text(heading)}</a>' for sid, heading, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{_text(heading)}</h2>{html_}</section>' for sid, heading, html_ in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_text(title)} · gankit report"
            f"</title><style>{_CSS}</style></head><body><header><h1>{_text(title)}</h1><p>{_text(subtitle)}</p></header>"
            f"<main><nav>{nav}</nav>{body}</main></body></html>\n")
