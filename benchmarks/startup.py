"""Start-up: how long until the first training step, and how fast the commands that do not train answer.

Whole fresh processes, alternating round by round (medians):

- ``script``: PyTorch-GAN's ``dcgan.py`` shape, the time from process start to the end of its
  first training step (import torch and torchvision, the per-sample PIL data set, the networks,
  Adam, one G + D step); :mod:`pytorch_gan_nets` holds the networks and loop.
- ``gankit train``: the CLI's default run (``python -m gankit.cli train``), to the end of its first
  step. The child wraps the CLI only to note that moment (``Trainer.train_step`` is wrapped to
  print the time once); everything else is the command as a user runs it.
- ``python -c "import torch"`` and the commands that do not train: ``gankit presets``,
  ``gankit --help``, ``gankit train --print-config``, each a whole process.

    python benchmarks/startup.py [--rounds 5]

Writes the BENCHMARKS.md block.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mode_collapse import write_block  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BLOCK = ("<!-- startup:begin -->", "<!-- startup:end -->")
HERE = str(Path(__file__).resolve())


def script_child(started: float) -> None:
    """The script's work up to the end of its first step; prints the seconds since ``started``."""
    import numpy as np
    import torch

    from pytorch_gan_nets import TextbookLoop, networks

    digits = np.load(_digits_file())  # the script reads its MNIST files; gankit is not imported here
    G, D = networks(0)
    TextbookLoop(G, D, digits, torch.device("cpu")).run(1)
    print(json.dumps({"first_step_s": time.time() - started}))


def _digits_file() -> str:
    """The embedded digits as a .npy of uint8 ``[N, 28, 28]`` (made once, outside any timing)."""
    path = Path(tempfile.gettempdir()) / "gankit-startup-digits.npy"
    if not path.is_file():
        import numpy as np

        from gankit.data import DataRequest, build_dataset

        x = build_dataset("mnist5k", DataRequest(resolution=None)).x[:, 0]
        np.save(path, ((x.numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8))
    return str(path)


def cli_child(started: float, out: str) -> None:
    """``gankit train`` as a user runs it, noting the end of the first step."""
    from gankit import cli
    from gankit.training.loop import Trainer

    first = Trainer.train_step

    def noted(self):
        first(self)
        if self.step == 1:
            print(json.dumps({"first_step_s": time.time() - started}), flush=True)
            sys.stdout.flush()
            os._exit(0)  # the rest of the run (plots, summary) is not start-up

    Trainer.train_step = noted
    sys.argv = ["gankit", "train", "--out", out, "--quiet"]
    cli.main()


def timed_process(cmd: list) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def first_step(kind: str) -> float:
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        args = [sys.executable, HERE, f"_{kind}", repr(started)] + ([str(Path(tmp) / "run")] if kind == "cli" else [])
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["first_step_s"]


COMMANDS = {
    'python -c "import torch"': [sys.executable, "-c", "import torch"],
    "gankit presets": [sys.executable, "-m", "gankit.cli", "presets"],
    "gankit --help": [sys.executable, "-m", "gankit.cli", "--help"],
    "gankit train --print-config": [sys.executable, "-m", "gankit.cli", "train", "--print-config"],
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_script":
        script_child(float(sys.argv[2]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_cli":
        cli_child(float(sys.argv[2]), sys.argv[3])
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args()
    _digits_file()
    load_before, t0 = ", ".join(f"{x:.2f}" for x in os.getloadavg()), time.time()
    seconds = defaultdict(list)
    for r in range(args.rounds):
        seconds["script: first step"].append(first_step("script"))
        seconds["gankit train: first step"].append(first_step("cli"))
        for name, cmd in COMMANDS.items():
            seconds[name].append(timed_process(cmd))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in seconds.items()), flush=True)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    torch_s = med['python -c "import torch"']
    lines = [BLOCK[0], "## Start-up: to the first step, and commands that do not train", "",
             f"`python benchmarks/startup.py --rounds {args.rounds}` on {platform.machine()} ({os.cpu_count()}-core AMD "
             f"EPYC, no GPU), load average {load_before} at the start, {(time.time() - t0) / 60:.0f} min. Whole fresh "
             f"processes, alternating; medians of {args.rounds} rounds (all values per round below). The first step is "
             "timed from process start to the end of the first G + D update; both import torch, and both pay for "
             "`torch._dynamo`, which torch 2.14 imports when the first optimiser is built (about 1 s here).", "",
             "| process | seconds | vs `import torch` |", "|---|---|---|"]
    for k, v in med.items():
        lines.append(f"| {k} | {v:.2f} | {v / torch_s:.2f}x |")
    lines += ["", "Per round: " + "; ".join(f"{k}: {[round(x, 2) for x in v]}" for k, v in seconds.items()) + ".",
              BLOCK[1]]
    block = "\n".join(lines)
    print(block)
    if not args.no_write:
        write_block(ROOT / "BENCHMARKS.md", block, *BLOCK)


if __name__ == "__main__":
    main()
