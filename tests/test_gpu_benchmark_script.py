"""benchmarks/gpu.py: the same code path on the CPU, tiny, and its refusal without a CUDA device.

The script runs from a copy of the benchmarks it imports in a temporary folder, so that the check
that ``--no-write`` leaves BENCHMARKS.md alone looks at a file nobody else is editing.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
BATCH = 4
PEAK = 0.01  # TFLOP/s, given by --peak-tflops so that the CPU rows get an MFU


def _per_image_flops(d1_passes: int, d_passes: int) -> int:
    """FLOPs per image of one step on PyTorch-GAN's nets, counted by hand the way
    ``torch.utils.flop_counter`` counts (2 per multiply-add; a convolution's or linear layer's
    backward costs its forward once for the input gradient and once for the weight gradient, each
    only when autograd needs it; BatchNorm, activations and the optimiser are not counted).

    G, forward once: linear 100 -> 128x8x8, conv 128->128 at 16x16, 128->64 and 64->1 at 32x32.
    Backward: the linear's weight gradient only (z needs no gradient), each conv twice.
    D: conv 1->16 to 16x16, 16->32 to 8x8, 32->64 to 4x4, 64->128 to 2x2, linear 512 -> 1;
    ``d1_passes`` / ``d_passes``: how many forward-equivalents its first conv / each other layer costs.
    """
    l1, c1, c2, c3 = 2 * 100 * 8192, 2 * 256 * 128 * 128 * 9, 2 * 1024 * 64 * 128 * 9, 2 * 1024 * 1 * 64 * 9
    g = 2 * l1 + 3 * (c1 + c2 + c3)
    d1, rest = 2 * 256 * 16 * 1 * 9, [2 * 64 * 32 * 16 * 9, 2 * 16 * 64 * 32 * 9, 2 * 4 * 128 * 64 * 9, 2 * 512]
    return g + d1_passes * d1 + d_passes * sum(rest)


# textbook: D forward 3 times (fake for G's loss, real, detached fake); G's backward goes through all
# of D with D's weight gradients (2 each); D's backward runs twice, the first conv without an input
# gradient (1 each, 2 for the others).  d1: 3 + 2 + 2 = 7, others: 3 + 2 + 4 = 9.
TEXTBOOK_FLOPS = BATCH * _per_image_flops(7, 9)
# gankit: the same, less D's weight gradients in G's step (D is frozen there): d1 6, others 8.
GANKIT_FLOPS = BATCH * _per_image_flops(6, 8)


def _script_copy(tmp_path: Path) -> Path:
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    for name in ("gpu.py", "pytorch_gan_nets.py", "mode_collapse.py"):
        shutil.copy(BENCHMARKS / name, bench / name)
    return bench / "gpu.py"


def _table(stdout: str) -> dict:
    """The printed markdown table as {row: {column: cell}}."""
    lines = [line for line in stdout.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    header = cells[0]
    assert set(cells[1][0]) <= set("-:")
    return {row[0]: dict(zip(header, row, strict=True)) for row in cells[2:]}


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gpu-bench")
    script = _script_copy(tmp)
    out = subprocess.run([sys.executable, str(script), "--device", "cpu", "--steps", "2", "--rounds", "1",
                          "--warmup", "1", "--rows", "textbook,gankit", "--batch-size", str(BATCH), "--threads", "1",
                          "--peak-tflops", f"fp32={PEAK}", "--no-write"],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    return tmp, out.stdout


def test_cpu_run_prints_both_rows_with_images_per_s_and_ratio(cpu_run):
    _, stdout = cpu_run
    table = _table(stdout)
    assert list(table) == ["textbook", "gankit"]
    tb, gk = float(table["textbook"]["images/s"]), float(table["gankit"]["images/s"])
    assert tb > 0 and gk > 0
    assert table["textbook"]["vs textbook"] == "1.00x"
    ratio = float(table["gankit"]["vs textbook"].rstrip("x"))
    # images/s are printed to 0.1 and the ratio to 0.01: the ratio of the true values lies within these
    low, high = (gk - 0.05) / (tb + 0.05) - 0.005, (gk + 0.05) / (tb - 0.05) + 0.005
    assert low <= ratio <= high, (ratio, gk / tb)
    assert table["gankit"]["nets, batch"] == f"ptg, {BATCH}"
    assert "round 1/1 textbook:" in stdout and "round 1/1 gankit:" in stdout  # progress lines


def test_flops_per_step_equal_a_hand_count(cpu_run):
    table = _table(cpu_run[1])
    assert float(table["textbook"]["GFLOP/step"]) == pytest.approx(TEXTBOOK_FLOPS / 1e9, abs=5e-4)
    assert float(table["gankit"]["GFLOP/step"]) == pytest.approx(GANKIT_FLOPS / 1e9, abs=5e-4)


def test_achieved_tflops_and_mfu_follow_from_the_printed_numbers(cpu_run):
    for name, row in _table(cpu_run[1]).items():
        rate, gflop, tflops = float(row["images/s"]), float(row["GFLOP/step"]), float(row["TFLOP/s"])
        # printed to 0.1 images/s, 0.001 GFLOP and 4 significant digits of TFLOP/s
        low, high = (gflop - 5e-4) * (rate - 0.05) / BATCH / 1e3, (gflop + 5e-4) * (rate + 0.05) / BATCH / 1e3
        assert low * (1 - 5e-4) <= tflops <= high * (1 + 5e-4), name
        assert row["peak TFLOP/s"] == f"{PEAK:g} (fp32)"
        mfu = float(row["MFU"].rstrip("%"))
        assert mfu == pytest.approx(100 * tflops / PEAK, rel=1e-3, abs=0.006), name
        assert row["peak MiB"] == "n/a"  # no CUDA memory on the CPU


def test_no_write_leaves_benchmarks_md_alone(cpu_run):
    tmp, stdout = cpu_run
    assert "<!-- gpu:begin -->" in stdout and "<!-- gpu:end -->" in stdout
    assert not (tmp / "BENCHMARKS.md").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is visible: the script would run")
def test_without_cuda_it_exits_with_the_command_to_run(tmp_path):
    out = subprocess.run([sys.executable, str(_script_copy(tmp_path)), "--no-write"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "no CUDA device is visible" in lines[0]
    assert "python benchmarks/gpu.py" in lines[0]
    assert out.stdout == ""
    assert not (tmp_path / "BENCHMARKS.md").exists()
