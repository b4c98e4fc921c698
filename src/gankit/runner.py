"""The training entry point behind ``gankit train`` and :func:`gankit.train`.

It owns what is process-wide or about the run folder, so that the loop does not: torch threads, the
allocator's policy for freed memory (:mod:`gankit.process`),
the global seed, SIGINT/SIGTERM handling (finish the step, save, say how to resume), claiming a
fresh run folder atomically, removing temporaries of killed writers, and resuming (which config
wins, what changed, what was restored).
"""

from __future__ import annotations

import errno
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Optional, Sequence

import torch
from omegaconf import DictConfig, OmegaConf

from gankit.config import from_yaml_text, load_config, to_yaml
from gankit.io import remove_stale_temporaries
from gankit.process import keep_freed_memory
from gankit.registry import ConfigError
from gankit.training import checkpoint as ckpt
from gankit.training import distributed
from gankit.training.loop import RunError, Trainer, TrainResult

SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}  # the shell's 128 + signal number


def claim_run_dir(cfg: DictConfig, run_dir=None) -> Path:
    """Create the run folder atomically before anything slow happens.

    Without ``run_dir``: ``out/name``, else ``out/name-2``, ``-3``... (``mkdir`` without
    ``exist_ok``, so two runs started at once never share a folder). With ``run_dir`` (``--out``):
    that folder, which must not hold files yet (a run is continued with ``--resume``, never
    overwritten).
    """
    if run_dir is not None:
        run_dir = Path(run_dir).expanduser()
        if run_dir.exists() and not run_dir.is_dir():
            raise ConfigError(f"--out {run_dir} is a file; pass a folder for the new run")
        if run_dir.is_dir() and any(run_dir.iterdir()):
            hint = (f"continue it with: gankit train --resume {run_dir}" if (run_dir / "checkpoints").is_dir()
                    else "choose an empty or new folder")
            raise ConfigError(f"--out {run_dir} already holds files (a previous run?); a new run never writes into "
                              f"another run's folder: {hint}, or pass another --out")
        _mkdir(run_dir, exist_ok=True)
        return run_dir
    base = Path(cfg.out).expanduser() / (cfg.name or "run")
    _mkdir(base.parent, exist_ok=True)
    k = 1
    while True:
        candidate = base if k == 1 else base.with_name(f"{base.name}-{k}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            k += 1


def _mkdir(path: Path, exist_ok: bool) -> None:
    try:
        path.mkdir(parents=True, exist_ok=exist_ok)
    except NotADirectoryError:
        raise ConfigError(f"cannot create the run folder {path}: a parent is a file; set out= to a folder") from None
    except PermissionError:
        raise ConfigError(f"cannot create the run folder {path}: permission denied; set out= (or --out) to a "
                          "writable folder") from None


class _Signals:
    """While training: the first SIGINT/SIGTERM asks the loop to stop after the step (it saves a
    checkpoint); a second one aborts at once (the last complete checkpoint survives). Under
    torchrun a Ctrl-C reaches each process twice (from the terminal and forwarded by torchrun), so
    there a repeat within ``DUPLICATE_S`` counts as the same request."""

    DUPLICATE_S = 3.0

    def __init__(self, trainer: Trainer):
        self.trainer, self.received, self.first_at = trainer, None, 0.0
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # handlers only install there
            for sig in SIGNAL_EXIT:
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.received is not None:
            if self.trainer.dist.active and time.monotonic() - self.first_at < self.DUPLICATE_S:
                return
            raise KeyboardInterrupt
        self.received, self.first_at = signum, time.monotonic()
        self.trainer.request_stop(f"interrupted by {signal.Signals(signum).name}")
        if self.trainer.dist.is_main:
            print(f"\ngankit: {signal.Signals(signum).name}: finishing this step and saving a checkpoint "
                  "(send it again to abort)", file=sys.stderr)

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        return False


def train(preset: Optional[str] = None, overrides: Sequence[str] = (), config_file=None, *,
          cfg: Optional[DictConfig] = None, generator: Optional[torch.nn.Module] = None,
          discriminator: Optional[torch.nn.Module] = None, callbacks: Sequence = (), quiet: bool = False,
          resume=None, run_dir=None, stop_after: Optional[int] = None,
          argv: Optional[Sequence[str]] = None) -> TrainResult:
    """Train a GAN and write its run folder.

    Args:
        preset: shipped preset name (``gankit presets``); default ``dcgan-mnist``.
        overrides: ``key=value`` strings, e.g. ``["train.steps=2000"]``.
        config_file: YAML file merged over the preset.
        cfg: a ready config (skips preset/config_file/overrides).
        generator, discriminator: your own ``nn.Module`` pair (see the contracts in gankit.models).
        callbacks: extra :class:`gankit.training.callbacks.Callback` objects, after the defaults.
        quiet: no progress bar or messages.
        resume: a run folder to continue from its newest readable checkpoint (its config, plus
            ``overrides``, e.g. ``train.steps=4000`` to train longer).
        run_dir: explicit folder for a new run (must be new or empty); default ``out/name``.
        stop_after: stop after this many steps even if ``train.steps`` is larger (resumable).
        argv: the command line recorded in meta.json.

    Returns:
        :class:`~gankit.training.loop.TrainResult`; ``stopped`` names the signal when one stopped
        the run early (a checkpoint was saved).

    Launched by ``torchrun`` (``WORLD_SIZE`` > 1), every process calls this: they form one run whose
    ``train.batch_size`` is the global batch; rank 0 alone writes the run folder (see
    :mod:`gankit.training.distributed`). A resumed multi-machine run needs the run folder on a
    file system every machine sees.
    """
    modules = {k: m for k, m in (("G", generator), ("D", discriminator)) if m is not None}
    if resume is not None:
        run_dir = Path(resume).expanduser()
        path, state, cfg, changes = _resume_config(run_dir, overrides)
    elif cfg is None:
        cfg = load_config(preset, config_file, overrides)
    dist = distributed.init_from_environment(cfg.train.device, cfg.train.dist_timeout)
    try:
        distributed.check_world(cfg, dist)
        if resume is None:
            run_dir = dist.on_main(lambda: _new_run_dir(cfg, run_dir), "checking the configuration")
        _process_settings(cfg)
        trainer = _build_trainer(cfg, run_dir, modules, callbacks, quiet, dist)
        if dist.rank:  # the ranks' own streams (dropout, augmentation) differ once the networks are built
            torch.manual_seed(cfg.train.seed + distributed.RANK_SEED_STRIDE * dist.rank)
        if dist.is_main:
            remove_stale_temporaries(run_dir)
            remove_stale_temporaries(run_dir / "checkpoints")
        if resume is not None:
            _restore(trainer, path, state, changes)
        else:
            trainer.write_run_files(argv)
        return _fit(trainer, stop_after)
    finally:
        dist.close()


def _new_run_dir(cfg: DictConfig, run_dir) -> Path:
    _check_before_data(cfg, run_dir)
    return claim_run_dir(cfg, run_dir)


def _check_before_data(cfg: DictConfig, run_dir) -> None:
    """Everything that can be refused without data: component options, pack/batch, eval settings,
    the output folder (so a typo never costs a slow image-folder decode)."""
    from gankit.callbacks.evaluation import check_eval_config
    from gankit.validate import check_components

    check_components(cfg, run_dir)
    check_eval_config(cfg.eval)


def _process_settings(cfg: DictConfig) -> None:
    if cfg.train.keep_memory:
        keep_freed_memory()
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    torch.manual_seed(cfg.train.seed)  # network initialisation (the loop has its own noise stream)


def _build_trainer(cfg, run_dir, modules, callbacks, quiet, dist) -> Trainer:
    from gankit.callbacks import default_callbacks

    return Trainer(cfg, run_dir, modules, [*default_callbacks(cfg, run_dir, quiet), *callbacks], quiet, dist=dist)


def _resume_config(run_dir: Path, overrides):
    """(checkpoint path, state, config to resume with, lines saying what differs from the checkpoint)."""
    if not run_dir.is_dir():
        raise FileNotFoundError(f"--resume {run_dir}: no such run folder")
    found = ckpt.find_resume_point(run_dir)
    if found is None:
        raise FileNotFoundError(f"no checkpoint to resume in {run_dir / 'checkpoints'}; start a new run instead")
    path, state = found
    saved = from_yaml_text(state["config"])
    cfg, changes = saved, []
    edited = run_dir / "config.yaml"
    if edited.is_file() and edited.read_text(encoding="utf-8") != state["config"]:
        try:
            cfg = load_config(base=_load_edited(edited))
        except ConfigError as e:
            raise ConfigError(f"{edited} was edited since the checkpoint and is not valid: {e}. Fix it, or restore "
                              "the checkpoint's config by deleting config.yaml") from None
        diff = config_diff(saved, cfg)
        if diff:
            changes.append(f"config.yaml was edited since {path.name}; resuming with it: " + "; ".join(diff))
    if overrides:
        before = cfg
        cfg = load_config(base=cfg, overrides=overrides)
        diff = config_diff(before, cfg)
        if diff:
            changes.append("overrides: " + "; ".join(diff))
    return path, state, cfg, changes


def _load_edited(path: Path) -> DictConfig:
    from gankit.config import Config, _merge, load_yaml

    return _merge(OmegaConf.structured(Config), load_yaml(path, "the run's config.yaml"), str(path))


def config_diff(a: DictConfig, b: DictConfig) -> list[str]:
    """``key: old -> new`` for every leaf that differs between two configs."""
    fa, fb = _flatten(OmegaConf.to_container(a, resolve=True)), _flatten(OmegaConf.to_container(b, resolve=True))
    return [f"{k}: {fa.get(k, '(unset)')} -> {fb.get(k, '(unset)')}" for k in sorted(set(fa) | set(fb))
            if fa.get(k) != fb.get(k)]


def _flatten(obj, prefix: str = "") -> dict:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out if out or not prefix else {prefix[:-1]: {}}
    return {prefix[:-1]: obj}


ARCHITECTURE_KEYS = ("model.", "data.resolution", "data.channels", "data.source", "objective.name")


def _restore(trainer: Trainer, path: Path, state: dict, changes: list[str]) -> None:
    try:
        changes = changes + [f"optimiser {c}" for c in trainer.load_state_dict(state)]
    except (RuntimeError, KeyError, ValueError) as e:
        arch = [c for c in config_diff(from_yaml_text(state["config"]), trainer.cfg)
                if c.startswith(ARCHITECTURE_KEYS)]
        reason = f"these settings changed: {'; '.join(arch)}" if arch else f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
        raise ConfigError(f"cannot resume {trainer.run_dir} from {path.name}: the checkpoint does not fit this "
                          f"configuration ({reason}). Networks, data and objective cannot change on resume; drop "
                          "those overrides, or start a new run (optionally from the exported generator)") from None
    if trainer.dist.is_main:
        ckpt.atomic_write_text(trainer.run_dir / "config.yaml", to_yaml(trainer.cfg))
    players = ", ".join(f"{n}" + (" (+EMA)" if p.ema is not None else "") for n, p in trainer.players.items())
    trainer.log(f"resumed {trainer.run_dir} from {path.name} at step {trainer.step}/{trainer.cfg.train.steps}: "
                f"restored players {players} with optimisers, LR schedules and AMP scalers; objective state, "
                "RNG states, data order")
    for line in changes:
        trainer.log(f"  {line}")
    if trainer.step >= trainer.cfg.train.steps:
        trainer.log(f"already at train.steps={trainer.cfg.train.steps}; pass train.steps=N (N > {trainer.step}) "
                    "to train longer")


def _fit(trainer: Trainer, stop_after: Optional[int]) -> TrainResult:
    signals = _Signals(trainer)
    try:
        with signals:
            step = trainer.fit(stop_after)
    except KeyboardInterrupt:
        last = trainer.last_good_checkpoint
        saved = f"the last complete checkpoint is {last}" if last else "no checkpoint was saved"
        raise RunError(f"aborted at step {trainer.step}: {saved}; steps after it are lost. "
                       + (f"Resume with: {trainer.resume_command}" if last else "")) from None
    except OSError as e:
        if e.errno == errno.ENOSPC:
            last = trainer.last_good_checkpoint
            raise RunError(f"the disk is full (writing in {trainer.run_dir}); "
                           + (f"the last complete checkpoint {last} survives. Free space, then resume with: "
                              f"{trainer.resume_command}" if last else "no checkpoint was saved. "
                              "Free space and start again")) from None
        raise
    run_dir = trainer.run_dir
    stopped = trainer.stop_reason
    if stopped:
        trainer.log(f"{stopped} at step {step}; saved {trainer.last_good_checkpoint}. "
                    f"Resume with: {trainer.resume_command}")
    else:
        trainer.log(f"done: step {step}. Samples: {run_dir / 'samples.png'}  Curves: {run_dir / 'curves'}  "
                    f"Checkpoint: {trainer.last_good_checkpoint}")
    G = trainer.objective.generator()
    return TrainResult(run_dir=run_dir, G=G.eval() if G is not None else None, cfg=trainer.cfg, step=step,
                       stopped=stopped, trainer=trainer)


def exit_code_of(result: TrainResult) -> int:
    """0 for a completed run; 130/143 when SIGINT/SIGTERM stopped it (a checkpoint was saved)."""
    for sig, code in SIGNAL_EXIT.items():
        if result.stopped == f"interrupted by {sig.name}":
            return code
    return 0 if not result.stopped else 1
