"""The training loop: runs an objective's phases over its players, emits events to callbacks.

The loop knows no game: per step it runs each phase of the objective (``repeat`` times, on steps
divisible by ``every``), back-propagates the phase's loss, steps the phase's players (clipping,
AMP, EMA), then steps every LR schedule. It reports statistics by name, never formats log lines,
and never syncs with the host inside a step (statistics are read every ``train.log_every``
steps). Process-wide settings (threads, global seed, signal handlers) belong to the entry point
(:mod:`gankit.runner`), not to this class.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

import torch
from omegaconf import DictConfig

from gankit.config import to_yaml
from gankit.data import DataRequest, build_dataset
from gankit.data.batches import Batches
from gankit.objectives import Setup, build_objective
from gankit.priors import prior_of_config
from gankit.registry import ConfigError
from gankit.training import checkpoint as ckpt
from gankit.training.callbacks import EVENTS, Callback
from gankit.training.distributed import RANK_SEED_STRIDE, SINGLE, Distributed, PeerLostError, rank_state_mismatch
from gankit.training.environment import library_versions, resolve_device
from gankit.training.stats import Reporter

# |loss| beyond this at a flush means the run is diverging (WGAN critics reach 1e2-1e3 when sane).
EXPLODING = 1e6


class RunError(RuntimeError):
    """The run cannot go on; the message says what was saved and how to continue (the CLI prints it
    without a traceback)."""


class NonFiniteLossError(RunError):
    """A loss or penalty became NaN/inf; the message names the step, the term and the last good checkpoint."""


@dataclass
class TrainResult:
    run_dir: Path
    G: Optional[torch.nn.Module]  # the objective's generator (its EMA when kept), eval mode; None for translators
    cfg: DictConfig
    step: int
    stopped: str = ""  # why the run stopped before train.steps ("" when it completed)
    trainer: object = None


class Trainer:
    """One training run: data, objective (players and phases), callbacks and the run folder.

    Args:
        cfg: a validated config (see :func:`gankit.config.load_config`).
        run_dir: the run folder (created by the entry point).
        modules: user networks by player name (``{"G": ..., "D": ...}``) instead of the registry's.
        callbacks: receivers of the loop's events (see :mod:`gankit.training.callbacks`).
        quiet: no messages on stderr (log.txt still gets them).
        dist: this process's rank among ``torchrun``'s (default: one process). Rank 0 alone writes
            files; the other ranks deliver events only to callbacks with ``all_ranks = True``.
    """

    def __init__(self, cfg: DictConfig, run_dir: Path, modules: Optional[dict] = None,
                 callbacks: Sequence[Callback] = (), quiet: bool = False, dist: Distributed = SINGLE):
        self.cfg, self.run_dir, self.dist = cfg, Path(run_dir), dist
        self.quiet = quiet or not dist.is_main
        t = cfg.train
        self.device = resolve_device(dist.device(t.device))
        if t.amp == "fp16" and self.device.type != "cuda":
            raise ConfigError(f"train.amp=fp16 needs a CUDA GPU; use train.amp=bf16 or none on {self.device.type}")
        if t.sync_bn and dist.active and self.device.type != "cuda":
            raise ConfigError("train.sync_bn=true needs CUDA (PyTorch's SyncBatchNorm has no CPU kernel); on the CPU "
                              "each process normalises with its own batch statistics: set train.sync_bn=false")
        self.amp_dtype = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[t.amp]
        self.accumulate = t.accumulate
        self.micro = 0  # index of the micro-batch being computed (0 .. accumulate - 1)
        # noise: this rank's own stream (rank 0's is a single-process run's); shared_noise: the same
        # on every rank, for per-sample draws that are sharded by rows (draw_rows).
        self.noise = torch.Generator(device=self.device).manual_seed(t.seed + 1 + RANK_SEED_STRIDE * dist.rank)
        self.shared_noise = (torch.Generator(device=self.device).manual_seed(t.seed + 1) if dist.active
                             else self.noise)
        self.data = build_dataset(cfg.data.source, DataRequest(
            path=cfg.data.path, resolution=cfg.data.resolution, channels=cfg.data.channels, strict=cfg.data.strict,
            in_memory=cfg.data.in_memory, max_memory_mb=cfg.data.max_memory_mb, num_workers=cfg.data.num_workers,
            seed=t.seed), dict(cfg.data.args), limit=cfg.data.limit)
        if cfg.model.conditional and self.data.num_classes == 0:
            raise ConfigError(f"model.conditional=true but data source '{cfg.data.source}' has no labels; "
                              "use labelled data (e.g. class sub-folders) or set model.conditional=false")
        self.num_classes = self.data.num_classes if cfg.model.conditional else 0
        self.batches = Batches(self.data, t.batch_size, self.device, seed=t.seed, num_workers=cfg.data.num_workers,
                               rank=dist.rank, world=dist.world)
        self.memory_format = (torch.channels_last if t.channels_last and self.data.is_image
                              and self.device.type != "mps" else torch.contiguous_format)
        self.prior = prior_of_config(cfg)
        self.custom_models = sorted(modules or {})
        self.objective = build_objective(Setup(cfg, self.data, self.prior, self.device, self.memory_format,
                                               self.num_classes, dict(modules or {})))
        self.players = self.objective.players
        for p in self.players.values():  # every rank starts from rank 0's networks
            dist.broadcast_module(p.module)
            if p.ema is not None:
                dist.broadcast_module(p.ema)
        self.callbacks = list(callbacks)
        self.reporter = Reporter()
        self.step = 0
        self.last_good_checkpoint: Optional[Path] = None
        self.stop_reason = ""
        self._preview_cache: Optional[tuple] = None
        self._warned_exploding = False
        self._pending: list = []
        self._emitting = False
        self._stopping = False  # the stop decision all ranks agreed on (set at synchronisation points)
        self._tried_format = False  # user networks took one step in channels-last (see _first_step_of_custom_networks)

    # ------------------------------------------------------------------ for objectives and callbacks
    @property
    def step_index(self) -> int:
        """The 1-based number of the step being computed (``step + 1`` inside a step)."""
        return self.step + 1

    def autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    @property
    def resume_command(self) -> str:
        """How to continue this run (under torchrun: the same launch with ``--resume``)."""
        launch = (f"torchrun (the same options: {self.dist.world} processes in all) -m gankit train"
                  if self.dist.active else "gankit train")
        return f"{launch} --resume {self.run_dir}"

    def draw_rows(self, draw, n: int) -> torch.Tensor:
        """``n`` per-sample random rows for this rank's part of the batch: ``draw(m, generator)``
        makes ``m`` rows; with several ranks, each gets its rows of one shared draw for the global
        batch, so a distributed run sees exactly the noise of a single-process run."""
        return self.dist.shard_rows(lambda m: draw(m, self.shared_noise), n)

    def request_stop(self, reason: str) -> None:
        """Stop after the current step: the loop saves a checkpoint and ``fit`` returns (with several
        ranks, all of them, as soon as they have shared the request after the step)."""
        self.stop_reason = self.stop_reason or reason
        if not self.dist.active:
            self._stopping = True

    def preview(self) -> dict:
        """The objective's fixed-input preview at this step (computed once per step)."""
        if self._preview_cache is None or self._preview_cache[0] != self.step:
            self._preview_cache = (self.step, self.objective.preview())
        return self._preview_cache[1]

    def emit(self, event: str, *args) -> None:
        """Call ``event`` on every callback. An event emitted by a callback while another is being
        delivered (evaluation during step end) is queued, so every callback sees events in order."""
        assert event in EVENTS, event
        self._pending.append((event, args))
        if self._emitting:
            return
        self._emitting = True
        try:
            while self._pending:
                name, payload = self._pending.pop(0)
                for cb in self.callbacks:
                    if self.dist.is_main or getattr(cb, "all_ranks", False):
                        getattr(cb, name)(self, *payload)
        finally:
            self._emitting = False
            self._pending.clear()

    def log(self, message: str) -> None:
        if not self.dist.is_main:
            return
        with open(self.run_dir / "log.txt", "a", encoding="utf-8") as fh:
            fh.write(message + "\n")
        if not self.quiet:
            print(message, file=sys.stderr)

    # ------------------------------------------------------------------ one step
    def _update(self, phase, repeat: int) -> None:
        players = [self.players[n] for n in phase.players]
        frozen = [p for n, p in self.players.items() if n not in phase.players]
        for p in frozen:  # no weight gradients for the players this phase does not update
            p.module.requires_grad_(False)
        scaler = players[0].scaler  # one backward pass: one loss scale for all the phase's optimisers
        for p in players:
            p.optimizer.zero_grad(set_to_none=True)
        k = self.accumulate
        for self.micro in range(k):  # train.accumulate: the mean over k micro-batches = one batch k times larger
            loss = self.objective.loss(phase, repeat, self)
            scaler.scale(loss / k if k > 1 else loss).backward()
        self.micro = 0
        for p in players:
            self.dist.average_gradients(p.module)
            self.reporter.report(f"grad_norm/{p.name}", p.clip_and_norm(scaler))
            scaler.step(p.optimizer)
        scaler.update()
        for p in frozen:
            p.module.requires_grad_(True)
        for p in players:
            p.update_ema(self.step)
        self.objective.after_update(phase, self)

    def _first_step_of_custom_networks(self) -> None:
        """The first step, when user networks train in channels-last: a network that flattens
        with ``.view`` (as many hand-written discriminators do) cannot take channels-last tensors.
        Then the step is undone and that network alone (the one whose forward raised) goes on in
        the default memory format, its inputs converted on the way in; the others keep
        channels-last. A note in the log says so."""
        before = copy.deepcopy(self.state_dict())
        try:
            self.train_step()
        except RuntimeError as e:
            if not any(text in str(e) for text in _VIEW_ERRORS):
                raise
            failing = _players_in_traceback(self.players, e.__traceback__) or list(self.players)
            self.load_state_dict(before)
            self.reporter = Reporter()
            for name, p in self.players.items():
                p.module.requires_grad_(True)  # the failed update may have left it frozen
                if name in failing:
                    for m in (p.module, p.ema):
                        if m is not None:
                            m.to(memory_format=torch.contiguous_format)
                            m.register_forward_pre_hook(_contiguous_inputs, with_kwargs=True)
            if len(failing) == len(self.players):
                self.memory_format = self.objective.memory_format = torch.contiguous_format
            self.log(f"gankit: note: your network ({', '.join(failing)}) calls .view() on a tensor that is not "
                     "contiguous in the channels-last memory format, so it trains in the default format (channels-last "
                     "is about 1.2x faster on the CPU); the others keep channels-last. To get it back, flatten with "
                     ".reshape() or .flatten() in your module; train.channels_last=false skips this check")
            self.train_step()

    def train_step(self) -> None:
        for phase in self.objective.phases:
            if self.step % phase.every:
                continue
            for i in range(phase.repeat):
                self._update(phase, i)
        for p in self.players.values():
            p.scheduler.step()
            # BatchNorm running statistics follow each rank's shard: every rank takes rank 0's, so
            # all hold the network the checkpoint holds.
            self.dist.broadcast_module(p.module, buffers_only=True)
            if p.ema is not None:
                self.dist.broadcast_module(p.ema, buffers_only=True)
        self.step += 1

    # ------------------------------------------------------------------ state
    def _rank_state(self) -> dict:
        """What differs between ranks: random streams and the objective's carried tensors."""
        rng = {"cpu": torch.get_rng_state(), "noise": self.noise.get_state()}
        if self.dist.active:
            rng["shared_noise"] = self.shared_noise.get_state()
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {"rng": rng, "objective": self.objective.state_dict()}

    def state_dict(self) -> dict:
        """The complete train state. With several ranks every rank must call it (it gathers each
        rank's random streams and carried tensors into ``ranks``); rank 0's is the one to write."""
        import gankit

        own = self._rank_state()
        ranks = self.dist.gather(own) if self.dist.active else None
        return {
            "format": ckpt.FORMAT, "gankit_version": gankit.__version__, "step": self.step,
            "config": to_yaml(self.cfg), "objective_name": self.cfg.objective.name,
            "num_classes": self.num_classes, "class_names": list(self.data.class_names) if self.num_classes else [],
            "data_shape": list(self.data.shape),
            "players": {name: p.state_dict() for name, p in self.players.items()},
            "objective": own["objective"], "rng": own["rng"], "data": self.batches.state_dict(),
            "callbacks": {cb.key: cb.state_dict() for cb in self.callbacks if cb.key},
            "world_size": self.dist.world, **({"ranks": ranks} if ranks is not None else {}),
        }

    def load_state_dict(self, state: dict) -> list[str]:
        """Restore a checkpoint's state (see :func:`gankit.training.checkpoint.load_checkpoint`).

        Returns:
            ``"optim.<player> ...: old -> new"`` lines for optimiser settings the config changed.
        """
        missing = sorted(set(self.players) - set(state["players"]))
        if missing:
            raise ConfigError(f"the checkpoint has players {sorted(state['players'])} but objective "
                              f"'{self.cfg.objective.name}' needs {sorted(self.players)}; resume with the run's "
                              "own objective")
        mismatch = rank_state_mismatch(state.get("world_size", 1), self.dist)
        if mismatch:
            raise ConfigError(f"cannot resume {self.run_dir}: {mismatch}")
        changes = []
        for name, p in self.players.items():
            changes += [f"{name}: {c}" for c in p.load_state_dict(state["players"][name])]
        own = state["ranks"][self.dist.rank] if self.dist.active else state
        self.objective.load_state_dict(own["objective"])
        rng = own["rng"]
        torch.set_rng_state(rng["cpu"])
        self.noise.set_state(rng["noise"])
        if self.dist.active:
            self.shared_noise.set_state(rng["shared_noise"])
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        self.batches.load_state_dict(state["data"])
        self.step = state["step"]
        saved = state.get("callbacks", {})
        for cb in self.callbacks:
            if cb.key and cb.key in saved:
                cb.load_state_dict(saved[cb.key])
        return changes

    def save_checkpoint(self, path: Optional[Path] = None) -> Path:
        """Write the complete train state (default ``checkpoints/step-N.pt``, pruned to
        ``train.keep_checkpoints``); other paths (``best.pt``) are not pruned."""
        step_file = path is None
        path = path or self.run_dir / "checkpoints" / f"step-{self.step:07d}.pt"
        state = self.state_dict()  # with several ranks: collective (every rank calls save_checkpoint)
        if self.dist.is_main:
            ckpt.atomic_save(state, path)
            if step_file:
                ckpt.prune_checkpoints(self.run_dir, self.cfg.train.keep_checkpoints, keep=path)
        if step_file:
            self.last_good_checkpoint = path
        self.emit("on_checkpoint", self.step, path)
        return path

    # ------------------------------------------------------------------ run files
    def write_run_files(self, argv: Optional[Sequence[str]] = None) -> None:
        if not self.dist.is_main:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        ckpt.atomic_write_text(self.run_dir / "config.yaml", to_yaml(self.cfg))
        meta = {"seed": self.cfg.train.seed, "versions": library_versions(), "device": str(self.device),
                "command": list(argv if argv is not None else sys.argv), "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "data": {"source": self.cfg.data.source, "path": self.cfg.data.path, "samples": len(self.data),
                         "shape": list(self.data.shape), "num_classes": self.data.num_classes,
                         "class_names": list(self.data.class_names),
                         **{k: v for k, v in self.data.info.items() if k != "skipped"}},
                "objective": self.cfg.objective.name, "latent": self.prior.describe(),
                "processes": self.dist.world,
                **self.objective.describe(), "custom_models": self.custom_models}
        ckpt.atomic_write_text(self.run_dir / "meta.json", json.dumps(meta, indent=2, default=str))
        skipped = self.data.info.get("skipped", [])
        if skipped:
            lines = [f"skipped {len(skipped)} unreadable file(s) (set data.strict=true to abort instead):"]
            lines += [f"  {p}: {why}" for p, why in skipped]
            self.log("\n".join(lines))

    # ------------------------------------------------------------------ the loop
    def fit(self, stop_after: Optional[int] = None) -> int:
        """Train until ``train.steps`` (or ``stop_after`` more steps, or a stop request); returns the step."""
        t = self.cfg.train
        end = t.steps if stop_after is None else min(t.steps, self.step + stop_after)
        self.emit("on_fit_start")
        window_start, window_served = time.perf_counter(), self.batches.served
        try:
            while self.step < end and not self._stopping:
                if self.custom_models and self.memory_format == torch.channels_last and not self._tried_format:
                    self._tried_format = True
                    self._first_step_of_custom_networks()
                else:
                    self.train_step()
                callbacks_start = time.perf_counter()
                self.emit("on_step_end", self.step)
                self._agree_on_stop()
                window_start += time.perf_counter() - callbacks_start  # keep images/s about training
                if self.step % t.log_every == 0 or self.step == end or self.step % t.checkpoint_every == 0:
                    elapsed = time.perf_counter() - window_start
                    served = (self.batches.served - window_served) * self.dist.world
                    self.reporter.report("perf/images_per_s", served / max(elapsed, 1e-9))
                    for name, p in self.players.items():
                        self.reporter.report(f"lr/{name}", p.lr)
                    self._flush()
                    window_start, window_served = time.perf_counter(), self.batches.served
                if self.step % t.checkpoint_every == 0 or self.step == end:
                    self.save_checkpoint()
            if self._stopping and self.step % t.checkpoint_every and self.step != end:
                if self.step % t.log_every:
                    self._flush()
                self.save_checkpoint()
            self.emit("on_fit_end", self.step)
        except PeerLostError as e:
            last = self.last_good_checkpoint or "none saved yet"
            raise RunError(f"{e}. The last complete checkpoint is {last}; resume with: {self.resume_command}") from e
        finally:
            self.emit("close")
        return self.step

    def _agree_on_stop(self) -> None:
        """Ranks stop together: after each step they share whether any was asked to stop (a signal,
        a callback on rank 0), over the CPU control channel (no GPU synchronisation)."""
        if not self.dist.active or not self.dist.any(bool(self.stop_reason)):
            return
        reasons = self.dist.gather(self.stop_reason)
        first = next((r for r in reasons if r), "")
        if first:
            self._stopping = True
            self.stop_reason = self.stop_reason or first

    def _flush(self) -> None:
        values = self.reporter.flush(self.step, reduce=self.dist.mean)
        self.emit("on_flush", self.step, values)
        bad = self.reporter.first_non_finite(reduce=self.dist.minimum)
        if bad is not None:
            step, name = bad
            last = self.last_good_checkpoint or "none saved yet"
            raise NonFiniteLossError(
                f"{name} became non-finite at step {step}. The last good checkpoint is {last}. "
                "Try a lower learning rate (optim.d.lr / optim.g.lr), gradient clipping (optim.d.grad_clip), "
                f"or a gradient penalty; then resume with: {self.resume_command} optim.d.lr=...")
        huge = {k: v for k, v in values.items() if k.startswith(("loss/", "penalty")) and isinstance(v, float)
                and abs(v) > EXPLODING}
        if huge and not self._warned_exploding:
            self._warned_exploding = True
            terms = ", ".join(f"{k}={v:.3g}" for k, v in huge.items())
            self.log(f"gankit: warning: step {self.step}: {terms}: the losses are exploding (|loss| > {EXPLODING:g}); "
                     "training is diverging. Lower optim.g.lr / optim.d.lr, or add optim.d.grad_clip or a penalty")


# What PyTorch says when .view meets a channels-last tensor: eagerly, and while torch.compile traces.
_VIEW_ERRORS = ("view size is not compatible with input tensor's size and stride", "Cannot view a tensor with shape")


def _players_in_traceback(players: dict, tb) -> List[str]:
    """Names of the players whose module (or a sub-module of it) was running a method in ``tb``."""
    running = set()
    while tb is not None:
        obj = tb.tb_frame.f_locals.get("self")
        if isinstance(obj, torch.nn.Module):
            running.add(id(obj))
        tb = tb.tb_next
    return [name for name, p in players.items()
            if id(p.forward) in running or any(id(m) in running for m in p.module.modules())]


def _contiguous_inputs(module, args, kwargs):
    """Forward pre-hook of a network that trains in the default memory format among channels-last ones."""
    def plain(v):
        if not isinstance(v, torch.Tensor) or v.dim() != 4:
            return v
        # .contiguous() keeps the channels-last strides of a 1-channel image (both layouts count as
        # contiguous there), and torch.compile's shape inference then picks channels-last again.
        return v if v.stride() == _default_strides(v.shape) else v.clone(memory_format=torch.contiguous_format)

    return tuple(plain(a) for a in args), {k: plain(v) for k, v in kwargs.items()}


def _default_strides(shape) -> tuple:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))
