"""GPU readiness: gankit's training throughput and model FLOP utilisation (MFU) on one CUDA GPU.

What: short timed runs ("rows"), all on gankit's 5,000 embedded MNIST digits at 32x32 (the
``mnist5k`` source, so the script needs no files):

- ``textbook``: PyTorch-GAN's DCGAN loop on its nets (:mod:`pytorch_gan_nets`), fp32: the baseline;
- ``gankit-fp32``: gankit's trainer on the same nets and recipe, ``train.channels_last=false``;
- ``gankit``: the same with gankit's defaults (channels-last);
- ``gankit-bf16``: ``train.amp=bf16``; ``gankit-bf16-compile``: ``train.amp=bf16 train.compile=true``;
- ``wide-fp32``, ``wide-bf16``, ``wide-bf16-compile``: the ``dcgan-mnist`` preset's own nets at width
  128 and batch 512 (``--wide-width``, ``--wide-batch-size``): about 0.76 TFLOP a step, where the
  batch-64 step of PyTorch-GAN's nets is 0.045 TFLOP, far too little to load a large GPU (at width 64
  and batch 256 a step is still only 0.1 TFLOP).

How: each row is built in this one process and warmed up (``--warmup`` steps, which include
torch.compile's compilation); then the rows run ``--rounds`` rounds of ``--steps`` timed steps,
alternating row by row so that drifts hit all alike, and each row reports its median images/s
(real images consumed per second). A round times from the end of its first step to the end of its
last, with CUDA events, so nothing waits for the GPU inside a round. gankit rows drive the
``Trainer`` that :func:`gankit.train` builds, without its default callbacks (they write files at the
end of every ``fit`` call; inside a step they only test the step number), so that a row's networks
and compiled graphs live across rounds.

The FLOPs of one step are counted once per row with ``torch.utils.flop_counter.FlopCounterMode``,
in eager mode (``torch.compiler.set_stance("force_eager")``: compiled kernels bypass the counter).
Achieved TFLOP/s = FLOPs per step x steps/s; MFU = achieved / the GPU's dense peak for the row's
arithmetic, from :data:`PEAKS` by ``torch.cuda.get_device_name()`` (``--peak-tflops`` overrides):
bf16 tensor cores for ``train.amp=bf16`` rows; for fp32 rows TF32 tensor cores when
``torch.backends.cudnn.allow_tf32`` or ``torch.backends.cuda.matmul.allow_tf32`` is on (cuDNN's is
on by default, and convolutions are nearly all of these nets' FLOPs), else fp32 CUDA cores. Peak
memory is ``torch.cuda.max_memory_allocated`` over a row's build, warm-up and counted step, less
what earlier rows hold (the peak is reset before each row).

CUDA graphs are left out: gankit does not implement them.

Writes the BENCHMARKS.md block between ``<!-- gpu:begin -->`` and ``<!-- gpu:end -->`` (``--no-write``:
prints only). On a GPU machine (about 3 minutes on one H200, most of it torch.compile)::

    python benchmarks/gpu.py

The same code path on the CPU, tiny (bf16 and compile rows only when named in ``--rows``)::

    python benchmarks/gpu.py --device cpu --steps 2 --rounds 1 --warmup 1 --rows textbook,gankit --no-write
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mode_collapse import write_block  # noqa: E402
from pytorch_gan_nets import GANKIT_RECIPE, TextbookLoop, networks  # noqa: E402

from gankit.config import load_config  # noqa: E402
from gankit.data import DataRequest, build_dataset  # noqa: E402
from gankit.training.callbacks import Callback  # noqa: E402
from gankit.training.loop import Trainer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BLOCK = ("<!-- gpu:begin -->", "<!-- gpu:end -->")
COMMAND = "python benchmarks/gpu.py"
CPU_COMMAND = f"{COMMAND} --device cpu --steps 2 --rounds 1 --warmup 1 --rows textbook,gankit --no-write"

#: Dense (no sparsity) peak TFLOP/s from NVIDIA's data sheets, matched against the device name in order.
PEAKS = [
    (r"H200(?! NVL)|H100 (SXM|80GB HBM3)", {"bf16": 989.0, "tf32": 494.0, "fp32": 67.0}),
    (r"H100 PCIe", {"bf16": 756.0, "tf32": 378.0, "fp32": 51.0}),
    (r"A100", {"bf16": 312.0, "tf32": 156.0, "fp32": 19.5}),
    (r"L40S", {"bf16": 362.0, "tf32": 183.0, "fp32": 91.6}),
    (r"\bL4\b", {"bf16": 121.0, "tf32": 60.0, "fp32": 30.3}),
]


@dataclass(frozen=True)
class Spec:
    """A row: PyTorch-GAN's nets (``ptg``) or the dcgan-mnist preset's (``wide``), and how they train."""

    nets: str
    overrides: tuple = ()
    textbook: bool = False

    @property
    def bf16(self) -> bool:
        return "train.amp=bf16" in self.overrides

    @property
    def compiled(self) -> bool:
        return "train.compile=true" in self.overrides


ROWS = {
    "textbook": Spec("ptg", textbook=True),
    "gankit-fp32": Spec("ptg", ("train.channels_last=false",)),
    "gankit": Spec("ptg"),
    "gankit-bf16": Spec("ptg", ("train.amp=bf16",)),
    # PyTorch-GAN's D flattens with .view: under channels-last it falls back to the default format
    # (also when torch.compile raises the error); G keeps channels-last, as in the gankit rows
    "gankit-bf16-compile": Spec("ptg", ("train.amp=bf16", "train.compile=true")),
    "wide-fp32": Spec("wide"),
    "wide-bf16": Spec("wide", ("train.amp=bf16",)),
    "wide-bf16-compile": Spec("wide", ("train.amp=bf16", "train.compile=true")),
}


class Clock:
    """Marks the ends of steps: CUDA events on the GPU (recording one never waits for the device)."""

    def __init__(self, device: torch.device):
        self.cuda, self.marks = device.type == "cuda", []

    def mark(self) -> None:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self.marks.append(event)
        else:
            self.marks.append(time.perf_counter())

    def seconds(self) -> float:
        """Seconds from the first mark to the last."""
        first, last = self.marks[0], self.marks[-1]
        if self.cuda:
            last.synchronize()
            return first.elapsed_time(last) / 1000
        return last - first


class TextbookRow:
    """PyTorch-GAN's loop on its nets (``ptg``), fp32."""

    def __init__(self, batch: int, device: torch.device, digits):
        G, D = networks(0)
        self.loop, self.batch, self.clock = TextbookLoop(G, D, digits, device, batch_size=batch), batch, Clock(device)

    def run(self, n: int) -> None:
        self.loop.run(n)

    def images(self) -> int:
        # the script's DataLoader keeps the short last batch of each epoch: count what it served
        return self.loop.images_seen

    def timed(self, steps: int) -> tuple:
        """(seconds, images) of ``steps`` steps after one lead-in step."""
        self.loop.run(1)
        self.clock.marks, start = [], self.images()
        self.clock.mark()
        self.loop.run(steps)  # ends with a CUDA synchronize
        self.clock.mark()
        return self.clock.seconds(), self.images() - start


class _Marks(Callback):
    """Marks the clock at the end of every gankit step."""

    def __init__(self, clock: Clock):
        self.clock = clock

    def on_step_end(self, trainer, step) -> None:
        self.clock.mark()


class GankitRow:
    """gankit's Trainer on ``overrides`` of the dcgan-mnist preset, with ``modules`` when given."""

    def __init__(self, overrides: list, modules, device: torch.device, folder: str):
        cfg = load_config("dcgan-mnist", overrides=overrides)
        self.batch, self.clock = cfg.train.batch_size, Clock(device)
        torch.manual_seed(cfg.train.seed)  # the registry's network initialisation, as gankit.train seeds it
        self.trainer = Trainer(cfg, folder, modules=modules, callbacks=[_Marks(self.clock)], quiet=True)
        self.trainer.write_run_files([])

    def run(self, n: int) -> None:
        self.trainer.fit(stop_after=n)

    def images(self) -> int:
        return self.trainer.step * self.batch  # gankit drops the short tail of an epoch: full batches only

    def timed(self, steps: int) -> tuple:
        """(seconds, images) of ``steps`` steps after one lead-in step; the checkpoint that ends each
        ``fit`` call comes after the last mark."""
        self.clock.marks = []
        self.trainer.fit(stop_after=steps + 1)
        return self.clock.seconds(), steps * self.batch


def build_row(spec: Spec, args, device: torch.device, digits, folder: str):
    if spec.textbook:
        return TextbookRow(args.batch_size, device, digits)
    common = ["data.source=mnist5k", "data.resolution=32", f"train.device={args.device}", "train.steps=100000000",
              "train.log_every=1000", "train.checkpoint_every=100000000"]
    if spec.nets == "ptg":
        G, D = networks(0)
        # the script keeps no EMA of G, whatever the preset does
        return GankitRow([*GANKIT_RECIPE, f"train.batch_size={args.batch_size}", "train.ema=0", *common,
                          *spec.overrides], {"G": G, "D": D}, device, folder)
    return GankitRow([f"model.g.args.width={args.wide_width}", f"model.d.args.width={args.wide_width}",
                      f"train.batch_size={args.wide_batch_size}", *common, *spec.overrides], None, device, folder)


def flops_per_step(row) -> float:
    """FLOPs of one eager step, scaled to a full batch (the textbook loader's epoch tail is short)."""
    counter, start = FlopCounterMode(display=False), row.images()
    with warnings.catch_warnings(), torch.compiler.set_stance("force_eager"), counter:
        # the counter's global module hooks (per-module names only) make torch.compile'd modules warn
        warnings.filterwarnings("ignore", message="Using `torch.compile\\(module\\)` when there are global hooks")
        row.run(1)
    return counter.get_total_flops() * row.batch / (row.images() - start)


def tf32_settings() -> dict:
    return {"cuDNN convolutions": torch.backends.cudnn.allow_tf32, "matmuls": torch.backends.cuda.matmul.allow_tf32}


def peaks_for(device: torch.device, override: dict) -> tuple:
    """({kind: peak TFLOP/s}, where they come from)."""
    table, sources = {}, []
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for pattern, peaks in PEAKS:
            if re.search(pattern, name):
                table = dict(peaks)
                sources.append(f"NVIDIA's dense figures for {name}")
                break
    if override:
        table.update(override)
        sources.append("--peak-tflops " + ",".join(f"{k}={v:g}" for k, v in override.items()))
    return table, " over ".join(reversed(sources))


def peak_kind(spec: Spec, device: torch.device) -> str:
    if spec.bf16:
        return "bf16"
    return "tf32" if device.type == "cuda" and any(tf32_settings().values()) else "fp32"


def parse_peaks(text: str) -> dict:
    out = {}
    for part in filter(None, text.split(",")):
        kind, _, value = part.partition("=")
        if kind not in ("bf16", "tf32", "fp32") or not value:
            raise argparse.ArgumentTypeError(f"want KIND=TFLOPS with KIND bf16, tf32 or fp32, got {part!r}")
        out[kind] = float(value)
    return out


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} torch thread(s)"


def benchmark(args, names: list, device: torch.device) -> str:
    t0, load = time.time(), ", ".join(f"{x:.2f}" for x in os.getloadavg())

    def say(msg: str) -> None:
        print(f"[{time.time() - t0:6.1f} s] {msg}", flush=True)

    say(f"{machine(device)}, torch {torch.__version__}; rows: {', '.join(names)}")
    digits = build_dataset("mnist5k", DataRequest(resolution=None)).x[:, 0].numpy()
    rows, flops, memory, failed = {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            started = time.time()
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
                before = torch.cuda.memory_allocated(device)
            try:
                row = build_row(ROWS[name], args, device, digits, os.path.join(tmp, name))
                row.run(args.warmup)
                flops[name] = flops_per_step(row)
            except Exception as e:  # a row that fails (a torch.compile error, say) must not cost the others
                if ROWS[name].textbook:
                    raise
                failed[name] = f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:300]}"
                say(f"{name}: FAILED in warm-up: {failed[name]}")
                continue
            rows[name] = row
            if device.type == "cuda":
                memory[name] = (torch.cuda.max_memory_allocated(device) - before) / 2 ** 20
            say(f"{name}: built, {args.warmup} warm-up step(s) and the counted step in {time.time() - started:.1f} s; "
                f"{flops[name] / 1e9:.3f} GFLOP/step")
        rates = {name: [] for name in rows}
        for r in range(args.rounds):
            for name, row in rows.items():
                seconds, images = row.timed(args.steps)
                rates[name].append(images / seconds)
                say(f"round {r + 1}/{args.rounds} {name}: {rates[name][-1]:.1f} images/s")
    return report(args, device, rows, flops, memory, rates, failed, load, time.time() - t0)


def report(args, device, rows, flops, memory, rates, failed, load, seconds) -> str:
    peaks, source = peaks_for(device, args.peak_tflops)
    base = statistics.median(rates["textbook"])
    command = " ".join([COMMAND, *sys.argv[1:]])
    tf32 = ", ".join(f"{k} {'on' if v else 'off'}" for k, v in tf32_settings().items())
    if peaks:
        peak_text = f"Peak TFLOP/s ({source}): " + ", ".join(f"{k} {v:g}" for k, v in peaks.items())
    else:
        peak_text = "No peak known for this device (`--peak-tflops` gives one), so no MFU"
    if device.type == "cuda":
        peak_text += (f"; bf16 rows use the bf16 peak, fp32 rows the TF32 one when TF32 is on (here: {tf32}), "
                      "else the fp32 one")
    lines = [BLOCK[0], "## GPU readiness: throughput and model FLOP utilisation", "",
             f"`{command}` on {machine(device)}, torch {torch.__version__}, load average {load} at the start, "
             f"{seconds / 60:.1f} min in all. Data: gankit's embedded `mnist5k` digits at 32x32. Per row: "
             f"{args.warmup} warm-up step(s) (torch.compile compiles there), then per round one lead-in step and "
             f"{args.steps} timed steps, the rows alternating round by round; medians over {args.rounds} round(s). "
             f"`ptg` = PyTorch-GAN's DCGAN nets and recipe; `wide` = the dcgan-mnist preset's nets at width "
             f"{args.wide_width}. FLOPs: `torch.utils.flop_counter` over one eager step. {peak_text}. CUDA graphs: "
             "not implemented in gankit, so no row.", "",
             "| row | nets, batch | settings | images/s | vs textbook | GFLOP/step | TFLOP/s | peak TFLOP/s | MFU | "
             "peak MiB |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name in rows:
        spec, rate = ROWS[name], statistics.median(rates[name])
        achieved = flops[name] * rate / rows[name].batch / 1e12
        kind = peak_kind(spec, device)
        peak = peaks.get(kind)
        settings = "textbook loop" if spec.textbook else " ".join(f"`{o}`" for o in spec.overrides) or "defaults"
        mib = f"{memory[name]:.0f}" if name in memory else "n/a"
        lines.append(f"| {name} | {spec.nets}, {rows[name].batch} | {settings} | {rate:.1f} | {rate / base:.2f}x | "
                     f"{flops[name] / 1e9:.3f} | {achieved:.4g} | {f'{peak:g} ({kind})' if peak else 'n/a'} | "
                     f"{f'{achieved / peak:.2%}' if peak else 'n/a'} | {mib} |")
    per_round = "; ".join(f"`{n}` {[round(x, 1) for x in rates[n]]}" for n in rows)
    lines += ["", f"images/s per round: {per_round}."]
    lines += [f"**{name} failed** in its warm-up: `{error}`" for name, error in failed.items()]
    lines.append(BLOCK[1])
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu (a small check of the same code path)")
    p.add_argument("--rows", default="", help=f"comma-separated, from: {', '.join(ROWS)} (must include textbook); "
                   "default: all on CUDA, those without bf16 or compile on the CPU")
    p.add_argument("--steps", type=int, default=100, help="timed steps per row per round")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds; images/s is their median")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps per row first (torch.compile compiles here)")
    p.add_argument("--batch-size", type=int, default=64, help="batch of the ptg rows (PyTorch-GAN's is 64)")
    p.add_argument("--wide-width", type=int, default=128, help="model.{g,d}.args.width of the wide rows")
    p.add_argument("--wide-batch-size", type=int, default=512, help="batch of the wide rows")
    p.add_argument("--peak-tflops", type=parse_peaks, default={}, metavar="KIND=TFLOPS[,...]",
                   help="peaks to divide by, e.g. bf16=989,tf32=494,fp32=67 (over the built-in table)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--no-write", action="store_true", help="print the block, leave BENCHMARKS.md alone")
    args = p.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"gpu.py: no CUDA device is visible to torch {torch.__version__}; on a GPU machine run: "
                         f"{COMMAND}  (a tiny CPU check of the same code: {CPU_COMMAND})")
    names = args.rows.split(",") if args.rows else [n for n, s in ROWS.items()
                                                    if device.type == "cuda" or not (s.bf16 or s.compiled)]
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        raise SystemExit(f"--rows: unknown {', '.join(unknown)}; the rows are {', '.join(ROWS)}")
    if "textbook" not in names:
        raise SystemExit("--rows must include textbook (the ratios are against it)")
    if min(args.steps, args.rounds, args.warmup) < 1:
        # warm-up >= 1: gankit may retry its first step of user networks (the channels-last check): no step to count
        raise SystemExit("--steps, --rounds and --warmup must be at least 1")
    if device.type == "cuda" and device.index is not None:
        torch.cuda.set_device(device)  # CUDA events record on the current device
    if args.threads:
        torch.set_num_threads(args.threads)
    block = benchmark(args, names, device)
    print(block, flush=True)
    if not args.no_write:
        write_block(ROOT / "BENCHMARKS.md", block, *BLOCK)


if __name__ == "__main__":
    main()
