"""Data-parallel training across processes launched by ``torchrun`` (one GPU, or one CPU share, each).

Design: gradients are averaged by an explicit all-reduce of each player's flattened gradients
after its backward pass (as NVlabs/stylegan2-ada-pytorch does), not by wrapping networks in
``DistributedDataParallel``. A GAN step runs the same network in several roles (D on reals, on
fakes, on interpolates inside a double-backward gradient penalty; D frozen inside G's update; a Q
head only in some phases). DDP's autograd hooks fire once per backward and expect every parameter
to be used the same way in every forward; they break with double backward, with
``requires_grad`` toggled between phases and with parameters a phase leaves unused. One
all-reduce per player per update, issued by the loop after ``backward()``, is correct in all of
these cases whatever the objective does, costs one flat buffer per player, and gives up only
DDP's overlap of communication with the backward pass.

Everything else a rank needs to agree on is here too: the shared data shard, rows of one shared
noise draw, averaged statistics, the stop decision, and gathering every rank's own state (RNG,
the objective's carried tensors) into rank 0's checkpoint.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
import torch.distributed as tdist

from gankit.registry import ConfigError

# Seed offset between ranks' own random streams (dropout, augmentation, pools); a prime, so
# rank r's seed never equals another rank's seed + small k.
RANK_SEED_STRIDE = 1_000_003


class PeerLostError(RuntimeError):
    """A collective failed or timed out: another rank died or hangs."""


class RankZeroFailed(RuntimeError):
    """Rank 0 stopped with an error it reports itself; the other ranks exit quietly."""


def environment() -> tuple[int, int, int]:
    """``(rank, local_rank, world_size)`` as ``torchrun`` sets them; ``(0, 0, 1)`` without it."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ConfigError("RANK, LOCAL_RANK and WORLD_SIZE must be integers (torchrun sets them); unset them to "
                          "train in one process") from None
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"RANK={rank} is not in 0..WORLD_SIZE-1 (WORLD_SIZE={world}); launch with torchrun")
    return rank, local, world


@dataclass
class Distributed:
    """This process's place in the run. ``world == 1`` is a plain single-process run (every
    method is then a no-op or the identity, so the loop has one code path)."""

    rank: int = 0
    local_rank: int = 0
    world: int = 1
    owns_group: bool = False  # this object initialised the process group (and destroys it)
    control: Any = None  # a gloo group for small CPU messages when the data travels over nccl

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and shows progress."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def device(self, setting: str) -> str:
        """The device setting for this rank: ``cuda:LOCAL_RANK`` when training on CUDA with several ranks."""
        if not self.active or setting not in ("auto", "cuda"):
            return setting
        if setting == "auto" and not torch.cuda.is_available():
            return "cpu"
        return f"cuda:{self.local_rank}"

    # ------------------------------------------------------------------ collectives
    def _run(self, what: str, fn: Callable, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (RuntimeError, ValueError) as e:  # gloo: connection closed/reset; nccl: watchdog / timeout
            first = str(e).strip().splitlines()[0][:240] if str(e).strip() else type(e).__name__
            raise PeerLostError(f"rank {self.rank} of {self.world}: {what} failed ({first}); another process of "
                                "this run probably died or stopped answering (see its output)") from e

    def average_gradients(self, module: torch.nn.Module) -> None:
        """Replace each gradient of ``module`` by its mean over ranks (one flat all-reduce)."""
        if not self.active:
            return
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        self._run("averaging gradients", tdist.all_reduce, flat)
        flat /= self.world
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset: offset + n].view_as(g))
            offset += n

    def broadcast_module(self, module: torch.nn.Module, buffers_only: bool = False) -> None:
        """Copy rank 0's weights and buffers (or only its buffers) to every rank: at the start (user
        modules may initialise differently per process) and after each step for the buffers
        (BatchNorm running statistics, which follow each rank's shard); one flat broadcast, exact."""
        if not self.active:
            return
        tensors = [t.data for t in ([] if buffers_only else list(module.parameters())) + list(module.buffers())]
        if not tensors:
            return
        by_dtype: dict = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t)
        for group in by_dtype.values():
            flat = torch.cat([t.reshape(-1) for t in group])
            self._run("copying rank 0's networks", tdist.broadcast, flat, 0)
            offset = 0
            for t in group:
                t.copy_(flat[offset: offset + t.numel()].view_as(t))
                offset += t.numel()

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise mean over ranks of a 1-D float tensor (statistics before they are written)."""
        if not self.active:
            return values
        out = values.clone()
        self._run("averaging statistics", tdist.all_reduce, out)
        return out / self.world

    def minimum(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise minimum over ranks (the first step a statistic went non-finite on any rank)."""
        if not self.active:
            return values
        out = values.clone()
        self._run("comparing non-finite checks", tdist.all_reduce, out, op=tdist.ReduceOp.MIN)
        return out

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any rank (a one-integer all-reduce on the CPU)."""
        if not self.active:
            return flag
        t = torch.tensor([int(flag)], dtype=torch.int32)
        self._run("sharing stop requests", tdist.all_reduce, t, op=tdist.ReduceOp.MAX, group=self.control)
        return bool(t.item())

    def gather(self, obj: Any) -> list:
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.active:
            return [obj]
        out = [None] * self.world
        self._run("gathering the ranks' states", tdist.all_gather_object, out, obj, group=self.control)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.active:
            return obj
        box = [obj if self.is_main else None]
        self._run("receiving rank 0's decision", tdist.broadcast_object_list, box, 0, group=self.control)
        return box[0]

    def on_main(self, fn: Callable[[], Any], what: str) -> Any:
        """``fn()`` run on rank 0 alone (claiming the run folder, checking output paths), its
        result sent to every rank; when it raises, every rank raises: rank 0 the error itself, the
        others :class:`RankZeroFailed` (which the command line does not print again)."""
        if not self.active:
            return fn()
        if self.is_main:
            try:
                result = fn()
            except Exception as e:
                self.broadcast(("error", f"{type(e).__name__}: {e}"))
                raise
            return self.broadcast(("ok", result))[1]
        kind, value = self.broadcast(None)
        if kind == "error":
            raise RankZeroFailed(f"rank 0 failed while {what}: {value}")
        return value

    # ------------------------------------------------------------------ sharding
    def shard_rows(self, draw: Callable[[int], torch.Tensor], n: int) -> torch.Tensor:
        """This rank's ``n`` rows of one draw of ``n * world`` rows (``draw(m)`` makes ``m`` rows
        from a stream that is the same on every rank): the ranks get disjoint rows that together
        are exactly what one process drawing the global batch gets."""
        if not self.active:
            return draw(n)
        return draw(n * self.world)[self.rank * n: (self.rank + 1) * n]

    def close(self) -> None:
        if self.owns_group and tdist.is_initialized():
            tdist.destroy_process_group()
            self.owns_group = False


SINGLE = Distributed()


def init_from_environment(device_setting: str, timeout_s: float) -> Distributed:
    """Join the process group that ``torchrun`` describes in the environment (or return the
    single-process :data:`SINGLE`). Backend nccl when this rank trains on CUDA, gloo otherwise.

    Args:
        device_setting: ``train.device`` (auto | cpu | cuda | cuda:N).
        timeout_s: how long a collective may wait for the other ranks before this rank gives up
            (``train.dist_timeout``); a rank that dies closes its connections, which the others
            notice at once, so this bounds only silent hangs.
    """
    rank, local, world = environment()
    if world == 1:
        return SINGLE
    if tdist.is_initialized():  # a user script that set the group up itself
        return Distributed(tdist.get_rank(), local, tdist.get_world_size(), owns_group=False)
    on_cuda = device_setting.startswith("cuda") or (device_setting == "auto" and torch.cuda.is_available())
    if device_setting.startswith("cuda:"):
        raise ConfigError(f"train.device={device_setting} names one GPU, but torchrun started {world} processes; "
                          "use train.device=cuda (each rank takes cuda:LOCAL_RANK)")
    if on_cuda:
        if local >= torch.cuda.device_count():
            raise ConfigError(f"LOCAL_RANK={local} but this machine has {torch.cuda.device_count()} GPU(s); "
                              "start at most that many processes per machine (--nproc_per_node)")
        torch.cuda.set_device(local)
    backend = "nccl" if on_cuda else "gloo"
    missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise ConfigError(f"WORLD_SIZE={world} but {', '.join(missing)} is not set; launch with torchrun "
                          "(it sets them), e.g. torchrun --nproc_per_node=2 -m gankit train")
    kwargs = {"device_id": torch.device("cuda", local)} if on_cuda else {}
    timeout = datetime.timedelta(seconds=float(timeout_s))
    tdist.init_process_group(backend, rank=rank, world_size=world, timeout=timeout, **kwargs)
    control = tdist.new_group(backend="gloo", timeout=timeout) if backend == "nccl" else None
    return Distributed(rank, local, world, owns_group=True, control=control)


def check_world(cfg, dist: Distributed) -> None:
    """Refuse settings that cannot be split over ``dist.world`` ranks, before data is loaded."""
    t = cfg.train
    if not dist.active:
        return
    if t.batch_size % dist.world:
        raise ConfigError(f"train.batch_size={t.batch_size} is the global batch and must divide evenly over the "
                          f"{dist.world} processes; use a multiple of {dist.world}, e.g. "
                          f"train.batch_size={max(dist.world, t.batch_size // dist.world * dist.world)}")
    pack = int(dict(cfg.model.d.args).get("pack", 1) or 1)
    if (t.batch_size // dist.world) % pack:
        raise ConfigError(f"model.d.args.pack={pack} must divide each process's batch (train.batch_size "
                          f"{t.batch_size} / {dist.world} processes = {t.batch_size // dist.world})")


def rank_state_mismatch(saved_world: int, dist: Distributed) -> Optional[str]:
    """Why a checkpoint written by ``saved_world`` processes cannot resume here, or None."""
    if saved_world == dist.world:
        return None
    launch = ("torchrun --nproc_per_node=N (and --nnodes) so that WORLD_SIZE = "
              f"{saved_world}" if saved_world > 1 else "one process (python -m gankit train, no torchrun)")
    return (f"the checkpoint was written by a run of {saved_world} process(es) and this run has {dist.world}: each "
            "process's random streams and carried batches are saved, and they cannot be re-split exactly over "
            f"another number of processes; resume with {launch}")
