"""The training loop: n_critic D steps per G step, regularisers, EMA, AMP, checkpoints, samples.

The loop reports statistics by name and never formats log lines; it never syncs with the host
inside a step (statistics are read every ``train.log_every`` steps).
"""

from __future__ import annotations

import copy
import json
import math
import platform
import signal
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch
from omegaconf import DictConfig

from gankit.config import load_config, to_yaml
from gankit.data import DataRequest, build_dataset
from gankit.data.batches import Batches
from gankit.losses import build_loss
from gankit.models import build_discriminator, build_generator
from gankit.registry import ConfigError
from gankit.regularizers import StepContext, build_regularizers, logits_of
from gankit.training import checkpoint as ckpt
from gankit.training.optim import build_optimizer, build_scheduler
from gankit.training.stats import JsonlSink, ProgressSink, Reporter, TensorBoardSink


class NonFiniteLossError(RuntimeError):
    """A loss or penalty became NaN/inf; the message names the step, the term and the last good checkpoint."""


@dataclass
class TrainResult:
    run_dir: Path
    G: torch.nn.Module  # the EMA generator when train.ema > 0, else G; eval mode
    cfg: DictConfig
    step: int


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but no CUDA GPU is visible; use train.device=cpu (or auto)")
    return torch.device(name)


def library_versions() -> dict:
    import numpy
    import omegaconf

    import gankit

    return {"gankit": gankit.__version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "omegaconf": omegaconf.__version__, "python": platform.python_version(),
            "cuda": torch.version.cuda, "platform": platform.platform()}


def new_run_dir(cfg: DictConfig) -> Path:
    """out/name, or out/name-2, -3... so that an existing run is never overwritten."""
    base = Path(cfg.out) / (cfg.name or "run")
    run_dir, k = base, 1
    while run_dir.exists():
        k += 1
        run_dir = base.with_name(f"{base.name}-{k}")
    return run_dir


class Trainer:
    """Owns the networks, optimisers and run folder of one training run.

    Args:
        cfg: a validated config (see :func:`gankit.config.load_config`).
        run_dir: the run folder (created if needed).
        generator, discriminator: user modules to train instead of the registry's (Python API).
        quiet: hide the progress bar and messages.
    """

    def __init__(self, cfg: DictConfig, run_dir: Path, generator: Optional[torch.nn.Module] = None,
                 discriminator: Optional[torch.nn.Module] = None, quiet: bool = False):
        self.cfg, self.run_dir, self.quiet = cfg, Path(run_dir), quiet
        t = cfg.train
        if t.threads:
            torch.set_num_threads(t.threads)
        self.device = resolve_device(t.device)
        torch.manual_seed(t.seed)
        self.noise = torch.Generator(device=self.device).manual_seed(t.seed + 1)

        self.data = build_dataset(cfg.data.source, DataRequest(
            path=cfg.data.path, resolution=cfg.data.resolution, channels=cfg.data.channels, strict=cfg.data.strict,
            in_memory=cfg.data.in_memory, max_memory_mb=cfg.data.max_memory_mb, num_workers=cfg.data.num_workers,
            seed=t.seed), dict(cfg.data.args), limit=cfg.data.limit)
        self.is_image = self.data.is_image
        if cfg.model.conditional and self.data.num_classes == 0:
            raise ConfigError(f"model.conditional=true but data source '{cfg.data.source}' has no labels; "
                              "use labelled data (e.g. class sub-folders) or set model.conditional=false")
        self.num_classes = self.data.num_classes if cfg.model.conditional else 0
        self.batches = Batches(self.data, t.batch_size, self.device, seed=t.seed, num_workers=cfg.data.num_workers)

        self.G = generator if generator is not None else build_generator(
            cfg.model.g.name, dict(cfg.model.g.args), cfg.model.z_dim, self.data.shape, self.num_classes)
        self.D = discriminator if discriminator is not None else build_discriminator(
            cfg.model.d.name, dict(cfg.model.d.args), self.data.shape, self.num_classes)
        self.custom_models = generator is not None or discriminator is not None
        self.z_dim = getattr(self.G, "z_dim", cfg.model.z_dim)
        self.memory_format = (torch.channels_last if t.channels_last and self.is_image and self.device.type != "mps"
                              else torch.contiguous_format)
        self.G.to(self.device, memory_format=self.memory_format).train()
        self.D.to(self.device, memory_format=self.memory_format).train()
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False) if t.ema > 0 else None

        self.opt_g = build_optimizer(self.G.parameters(), cfg.optim.g, "optim.g", self.device)
        self.opt_d = build_optimizer(self.D.parameters(), cfg.optim.d, "optim.d", self.device)
        self.sched_g = build_scheduler(self.opt_g, cfg.optim.g, t.steps)
        self.sched_d = build_scheduler(self.opt_d, cfg.optim.d, t.steps)
        self.loss = build_loss(cfg.loss.name, dict(cfg.loss.args))
        self.regs = build_regularizers(dict(cfg.regularizers))
        self.augment = _build_augment(t.augment)
        self.amp_dtype = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[t.amp]
        if t.amp == "fp16" and self.device.type != "cuda":
            raise ConfigError(f"train.amp=fp16 needs a CUDA GPU; use train.amp=bf16 or none on {self.device.type}")
        # One loss scaler per network: D and G steps overflow independently.
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=t.amp == "fp16")
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=t.amp == "fp16")
        self.g_forward, self.d_net = self.G, self.D
        if t.compile:
            self.g_forward, self.d_net = torch.compile(self.G), torch.compile(self.D)

        self.step = 0
        self.d_steps = 0
        g = torch.Generator(device="cpu").manual_seed(t.seed + 2)
        self.fixed_z = torch.randn(t.n_samples, self.z_dim, generator=g).to(self.device)
        self.fixed_y, self.grid_nrow = self._fixed_labels(t.n_samples, g)
        self.last_good_checkpoint: Optional[Path] = None
        self.best: Optional[dict] = None  # {"step", "metric", "value"} of checkpoints/best.pt
        # The fake batch of the last G step: D's next step reuses it (train.reuse_fake), as the
        # reference DCGAN loops do, instead of spending another G forward pass.
        self.carried: Optional[tuple] = None
        self._stop_requested = False
        self._check_eval_config()

    # ------------------------------------------------------------------ set-up helpers
    def _check_eval_config(self) -> None:
        e = self.cfg.eval
        if e.every and not e.metrics:
            raise ConfigError(f"eval.every={e.every} but eval.metrics is empty; e.g. eval.metrics=[fid] "
                              "(see `gankit eval --help` for the metric names)")
        if e.best:
            from gankit.metrics import metric_direction

            try:
                direction = metric_direction(e.best)
            except KeyError:
                raise ConfigError(f"eval.best={e.best} is not a result of any metric; use a key such as fid, kid, "
                                  "classifier_fid, precision") from None
            if direction is None:
                raise ConfigError(f"eval.best={e.best} has no better direction (it is informational); choose another")

    def _fixed_labels(self, n: int, g: torch.Generator):
        if self.num_classes == 0:
            return None, max(1, int(math.sqrt(n)))
        if self.num_classes <= 20:  # one row per class
            per_class = max(1, round(n / self.num_classes))
            self.fixed_z = self.fixed_z[:per_class].repeat(self.num_classes, 1)
            y = torch.arange(self.num_classes).repeat_interleave(per_class)
            return y.to(self.device), per_class
        return torch.randint(self.num_classes, (n,), generator=g).to(self.device), max(1, int(math.sqrt(n)))

    def _autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _sample_labels(self, n: int) -> Optional[torch.Tensor]:
        if self.num_classes == 0:
            return None
        return torch.randint(self.num_classes, (n,), device=self.device, generator=self.noise)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.z_dim, device=self.device, generator=self.noise)

    def d_forward(self, x: torch.Tensor, y: Optional[torch.Tensor]):
        """D's raw output on ``x`` after the run's augmentation (what losses and penalties see)."""
        if self.augment is not None:
            x = self.augment(x)
        return self.d_net(x, y) if self.num_classes else self.d_net(x)

    def _generate(self, z, y):
        fake = self.g_forward(z, y) if self.num_classes else self.g_forward(z)
        return fake.contiguous(memory_format=self.memory_format) if self.is_image else fake

    # ------------------------------------------------------------------ one step
    def _d_step(self, reporter: Reporter, carried: Optional[tuple] = None) -> tuple:
        """One discriminator update; ``carried`` = (fake, labels) that G produced in its last step."""
        step = self.step + 1  # the number this step will have once it completes
        real, y_real = self.batches.next()
        if self.is_image:
            real = real.contiguous(memory_format=self.memory_format)
        if carried is not None and carried[0].shape[0] == real.shape[0]:
            fake, y_fake = carried
        else:
            z, y_fake = self._noise(real.shape[0]), self._sample_labels(real.shape[0])
            with torch.no_grad(), self._autocast():
                fake = self._generate(z, y_fake)
        active = {n: r for n, r in self.regs.items() if self.d_steps % r.every == 0}
        if any(r.needs_real_grad for r in active.values()):
            real.requires_grad_(True)
        with self._autocast():
            real_out = self.d_forward(real, y_real)
            fake_out = self.d_forward(fake, y_fake)
        real_logits, fake_logits = logits_of(real_out).float(), logits_of(fake_out).float()
        loss = self.loss.d_loss(real_logits, fake_logits)
        reporter.report("loss/D", loss, step)
        total = loss
        if active:
            ctx = StepContext(self.D, self.G, self.d_forward, real, y_real, fake, y_fake, real_out, fake_out, step)
            for name, reg in active.items():
                penalty = reg.d_penalty(ctx)
                if penalty is not None:
                    reporter.report(f"penalty/{name}", penalty, step)
                    total = total + penalty
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler_d.scale(total).backward()
        reporter.report("grad_norm/D", self._clip(self.scaler_d, self.opt_d, self.D, self.cfg.optim.d.grad_clip))
        self.scaler_d.step(self.opt_d)
        self.scaler_d.update()
        for reg in self.regs.values():
            reg.after_d_step(self.D)
        self.d_steps += 1
        reporter.report("D/real", real_logits)
        reporter.report("D/fake", fake_logits)
        if self.loss.probabilities:
            reporter.report("D/real_prob", torch.sigmoid(real_logits))
            reporter.report("D/fake_prob", torch.sigmoid(fake_logits))
        return real.detach(), y_real, real_logits.detach(), real_out

    def _g_step(self, reporter: Reporter, real, y_real, real_logits, real_out) -> tuple:
        """One generator update; returns its (detached fake batch, labels) for D's next step to reuse."""
        step = self.step + 1
        self.D.requires_grad_(False)  # no D weight gradients during the G step
        z, y_fake = self._noise(real.shape[0]), self._sample_labels(real.shape[0])
        with self._autocast():
            fake = self._generate(z, y_fake)
            fake_out = self.d_forward(fake, y_fake)
        loss = self.loss.g_loss(logits_of(fake_out).float(), real_logits)
        reporter.report("loss/G", loss, step)
        total = loss
        ctx = StepContext(self.D, self.G, self.d_forward, real, y_real, fake, y_fake, real_out, fake_out, step)
        for name, reg in self.regs.items():
            penalty = reg.g_penalty(ctx)
            if penalty is not None:
                reporter.report(f"penalty_G/{name}", penalty, step)
                total = total + penalty
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler_g.scale(total).backward()
        reporter.report("grad_norm/G", self._clip(self.scaler_g, self.opt_g, self.G, self.cfg.optim.g.grad_clip))
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        self.D.requires_grad_(True)
        if self.G_ema is not None:
            self._update_ema()
        return fake.detach(), y_fake

    @staticmethod
    def _clip(scaler, opt, net, max_norm: float) -> torch.Tensor:
        """Unscale, then clip (when max_norm > 0); returns the pre-clip global gradient norm, on device."""
        scaler.unscale_(opt)
        params = [p for p in net.parameters() if p.grad is not None]
        return torch.nn.utils.clip_grad_norm_(params, max_norm if max_norm > 0 else float("inf"), foreach=True)

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = self.cfg.train.ema if self.step >= self.cfg.train.ema_start else 0.0
        ema_p = [p for p in self.G_ema.parameters()]
        g_p = [p.detach() for p in self.G.parameters()]
        torch._foreach_lerp_(ema_p, g_p, 1.0 - decay)
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        rng = {"cpu": torch.get_rng_state(), "noise": self.noise.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "format": ckpt.FORMAT, "step": self.step, "d_steps": self.d_steps, "config": to_yaml(self.cfg),
            "num_classes": self.num_classes, "class_names": list(self.data.class_names) if self.num_classes else [],
            "data_shape": list(self.data.shape),
            "G": self.G.state_dict(), "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "sched_g": self.sched_g.state_dict(), "sched_d": self.sched_d.state_dict(),
            "scaler": {"d": self.scaler_d.state_dict(), "g": self.scaler_g.state_dict()}, "rng": rng, "data": self.batches.state_dict(),
            "fixed": {"z": self.fixed_z, "y": self.fixed_y}, "best": self.best,
            "carried": list(self.carried) if self.carried is not None else None,
        }

    def load_state_dict(self, state: dict) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state["G_ema"] if state["G_ema"] is not None else state["G"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])
        self.scaler_d.load_state_dict(state["scaler"]["d"])
        self.scaler_g.load_state_dict(state["scaler"]["g"])
        torch.set_rng_state(state["rng"]["cpu"])
        self.noise.set_state(state["rng"]["noise"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        self.batches.load_state_dict(state["data"])
        self.fixed_z = state["fixed"]["z"].to(self.device)
        self.fixed_y = state["fixed"]["y"].to(self.device) if state["fixed"]["y"] is not None else None
        self.step, self.d_steps = state["step"], state["d_steps"]
        self.best = state.get("best")
        carried = state.get("carried")
        self.carried = None if carried is None else tuple(
            t.to(self.device) if t is not None else None for t in carried)
        if self.carried is not None and self.is_image:
            self.carried = (self.carried[0].contiguous(memory_format=self.memory_format), self.carried[1])

    def save_checkpoint(self) -> Path:
        path = self.run_dir / "checkpoints" / f"step-{self.step:07d}.pt"
        ckpt.atomic_save(self.state_dict(), path)
        ckpt.prune_checkpoints(self.run_dir, self.cfg.train.keep_checkpoints)
        self.last_good_checkpoint = path
        return path

    def evaluate(self, reporter: Optional[Reporter] = None) -> dict:
        """Run ``eval.metrics`` on the (EMA) generator; keep ``checkpoints/best.pt`` by ``eval.best``."""
        from gankit.metrics import evaluate, metric_direction

        e = self.cfg.eval
        G = self.G_ema if self.G_ema is not None else self.G
        values = evaluate(G, list(e.metrics), data_cfg=self.cfg.data, n_samples=e.n_samples, seed=self.cfg.train.seed,
                          device=self.device, args=dict(e.args), out_dir=self.run_dir / "eval",
                          name=f"step-{self.step:07d}")
        if reporter is not None:
            for key, value in values.items():
                reporter.report(f"metric/{key}", value)
        if e.best:
            value = values[e.best]
            better = (self.best is None or (value < self.best["value"] if metric_direction(e.best) == "min"
                                            else value > self.best["value"]))
            if better and math.isfinite(value):
                self.best = {"step": self.step, "metric": e.best, "value": value}
                ckpt.atomic_save(self.state_dict(), self.run_dir / "checkpoints" / "best.pt")
                self.log(f"step {self.step}: new best {e.best}={value:.4g}, saved checkpoints/best.pt")
        return values

    # ------------------------------------------------------------------ outputs
    @torch.no_grad()
    def sample_fixed(self) -> torch.Tensor:
        G = self.G_ema if self.G_ema is not None else self.G
        was_training = G.training
        G.eval()
        out = torch.cat([
            (G(z, y) if self.num_classes else G(z)).float().cpu()
            for z, y in zip(self.fixed_z.split(256), (self.fixed_y.split(256) if self.fixed_y is not None
                                                       else [None] * math.ceil(len(self.fixed_z) / 256)))])
        G.train(was_training)
        return out

    def save_samples(self, path: Path, writer=None) -> Path:
        """Write the fixed-noise grid (a scatter for 2-D data); also to TensorBoard when ``writer`` is given."""
        samples = self.sample_fixed()
        if writer is not None:
            from gankit.viz.tb import log_images_and_histograms

            log_images_and_histograms(writer, self.step, self.G, self.D, samples, nrow=self.grid_nrow)
        if self.is_image:
            from gankit.viz.grid import save_grid

            return save_grid(samples, path, nrow=self.grid_nrow)
        from gankit.viz.toy2d import plot_samples_2d

        many = self._sample_many(2500)
        centres, sigma = _modes_of(self.cfg.data.source)
        return plot_samples_2d(many, path, centres=centres, sigma=sigma)

    @torch.no_grad()
    def _sample_many(self, n: int) -> torch.Tensor:
        G = self.G_ema if self.G_ema is not None else self.G
        was_training = G.training
        G.eval()
        g = torch.Generator(device=self.device).manual_seed(12345)
        z = torch.randn(n, self.z_dim, device=self.device, generator=g)
        if self.num_classes:  # balanced labels, so that every class shows in the scatter
            y = torch.arange(n, device=self.device) % self.num_classes
            out = G(z, y).float().cpu()
        else:
            out = G(z).float().cpu()
        G.train(was_training)
        return out

    # ------------------------------------------------------------------ the loop
    def write_run_files(self, argv: Optional[Sequence[str]] = None) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        ckpt.atomic_write_text(self.run_dir / "config.yaml", to_yaml(self.cfg))
        meta = {"seed": self.cfg.train.seed, "versions": library_versions(), "device": str(self.device),
                "command": list(argv if argv is not None else sys.argv), "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "data": {"source": self.cfg.data.source, "path": self.cfg.data.path, "samples": len(self.data),
                         "shape": list(self.data.shape), "num_classes": self.data.num_classes,
                         "class_names": list(self.data.class_names),
                         **{k: v for k, v in self.data.info.items() if k != "skipped"}},
                "parameters": {"G": sum(p.numel() for p in self.G.parameters()),
                               "D": sum(p.numel() for p in self.D.parameters())},
                "custom_models": self.custom_models}
        ckpt.atomic_write_text(self.run_dir / "meta.json", json.dumps(meta, indent=2, default=str))
        skipped = self.data.info.get("skipped", [])
        if skipped:
            lines = [f"skipped {len(skipped)} unreadable file(s) (set data.strict=true to abort instead):"]
            lines += [f"  {p}: {why}" for p, why in skipped]
            self.log("\n".join(lines))

    def log(self, message: str) -> None:
        with open(self.run_dir / "log.txt", "a", encoding="utf-8") as fh:
            fh.write(message + "\n")
        if not self.quiet:
            print(message, file=sys.stderr)

    def fit(self, stop_after: Optional[int] = None) -> int:
        """Train until ``train.steps`` (or ``stop_after`` more steps); returns the final step."""
        t = self.cfg.train
        end = t.steps if stop_after is None else min(t.steps, self.step + stop_after)
        jsonl = JsonlSink(self.run_dir / "stats.jsonl")
        jsonl.truncate_after(self.step)
        progress = ProgressSink(total=t.steps, initial=self.step, disable=self.quiet)
        tensorboard = TensorBoardSink(self.run_dir / "tb", purge_step=self.step or None)
        reporter = Reporter([jsonl, tensorboard, progress])
        self.samples_dir = self.run_dir / "samples"
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        previous_handler = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._on_interrupt)
        window_start, window_steps = time.perf_counter(), 0
        try:
            while self.step < end and not self._stop_requested:
                for i in range(t.n_critic):
                    carried = self.carried if i == 0 and t.reuse_fake else None
                    real, y_real, real_logits, real_out = self._d_step(reporter, carried)
                self.carried = self._g_step(reporter, real, y_real, real_logits, real_out)
                self.sched_g.step()
                self.sched_d.step()
                self.step += 1
                window_steps += 1
                progress.advance()
                if self.cfg.eval.every and self.step % self.cfg.eval.every == 0:
                    eval_start = time.perf_counter()
                    self.evaluate(reporter)
                    window_start += time.perf_counter() - eval_start  # keep images/s about training
                if self.step % t.log_every == 0 or self.step == end or self.step % t.checkpoint_every == 0:
                    elapsed = time.perf_counter() - window_start
                    reporter.report("perf/images_per_s", window_steps * t.n_critic * t.batch_size / max(elapsed, 1e-9))
                    reporter.report("lr/G", self.opt_g.param_groups[0]["lr"])
                    reporter.report("lr/D", self.opt_d.param_groups[0]["lr"])
                    reporter.flush(self.step)
                    self._check_finite(reporter)
                    window_start, window_steps = time.perf_counter(), 0
                if self.step % t.sample_every == 0:
                    self.save_samples(self.samples_dir / f"step-{self.step:07d}.png", writer=tensorboard.writer)
                if self.step % t.checkpoint_every == 0 or self.step == end:
                    self.save_checkpoint()
            if self._stop_requested:
                reporter.flush(self.step)
                self._check_finite(reporter)
                path = self.save_checkpoint()
                self.log(f"interrupted at step {self.step}; saved {path}. Resume with: gankit train --resume {self.run_dir}")
        finally:
            signal.signal(signal.SIGINT, previous_handler)
            reporter.close()
        return self.step

    def _on_interrupt(self, signum, frame) -> None:
        if self._stop_requested:  # second Ctrl-C: stop now
            raise KeyboardInterrupt
        self._stop_requested = True
        if not self.quiet:
            print("\ngankit: finishing this step and saving a checkpoint (Ctrl-C again to abort)", file=sys.stderr)

    def _check_finite(self, reporter: Reporter) -> None:
        bad = reporter.first_non_finite()
        if bad is not None:
            step, name = bad
            last = self.last_good_checkpoint or "none saved yet"
            raise NonFiniteLossError(
                f"{name} became non-finite at step {step}. The last good checkpoint is {last}. "
                "Try a lower learning rate (optim.d.lr / optim.g.lr), gradient clipping (optim.d.grad_clip), "
                "or a gradient penalty; resume with gankit train --resume after changing the config.")


def _build_augment(policy: str):
    if not policy:
        return None
    from gankit.augment import diff_augment, parse_policy

    parse_policy(policy)
    return lambda x: diff_augment(x, policy)


def _modes_of(source: str):
    """Mode centres and sigma of a 2-D toy source (for plots), or (None, None)."""
    try:
        from gankit.data.sources import toy2d
    except ImportError:
        return None, None
    fn = getattr(toy2d, "modes_of", None)
    return fn(source) if fn else (None, None)


def train(preset: Optional[str] = None, overrides: Sequence[str] = (), config_file=None, *,
          cfg: Optional[DictConfig] = None, generator: Optional[torch.nn.Module] = None,
          discriminator: Optional[torch.nn.Module] = None, quiet: bool = False, resume=None,
          run_dir=None, stop_after: Optional[int] = None, argv: Optional[Sequence[str]] = None) -> TrainResult:
    """Train a GAN and write its run folder.

    Args:
        preset: shipped preset name (``gankit presets``); default ``dcgan-mnist``.
        overrides: ``key=value`` strings, e.g. ``["train.steps=2000"]``.
        config_file: YAML file merged over the preset.
        cfg: a ready config (skips preset/config_file/overrides).
        generator, discriminator: your own ``nn.Module`` pair (see the contracts in gankit.models).
        quiet: no progress bar or messages.
        resume: a run folder to continue from its newest readable checkpoint (its saved config,
            plus ``overrides``, e.g. ``train.steps=4000`` to train longer).
        run_dir: explicit run folder for a new run (default ``cfg.out/cfg.name``, never overwritten).
        stop_after: stop after this many steps even if ``train.steps`` is larger (resumable).
        argv: the command line recorded in meta.json.

    Returns:
        :class:`TrainResult` with the run folder and the (EMA) generator.
    """
    if resume is not None:
        return _resume(Path(resume), overrides, generator, discriminator, quiet, stop_after, argv)
    if cfg is None:
        cfg = load_config(preset, config_file, overrides)
    run_dir = Path(run_dir) if run_dir is not None else new_run_dir(cfg)
    trainer = Trainer(cfg, run_dir, generator, discriminator, quiet)
    trainer.write_run_files(argv)
    return _finish(trainer, stop_after)


def _resume(run_dir: Path, overrides, generator, discriminator, quiet, stop_after, argv) -> TrainResult:
    found = ckpt.find_resume_point(run_dir)
    if found is None:
        raise FileNotFoundError(f"no checkpoint to resume in {run_dir / 'checkpoints'}")
    path, state = found
    from gankit.config import from_yaml_text

    cfg = from_yaml_text(state["config"])
    if overrides:
        cfg = load_config(base=cfg, overrides=overrides)
    trainer = Trainer(cfg, run_dir, generator, discriminator, quiet)
    trainer.load_state_dict(state)
    trainer.last_good_checkpoint = path
    ckpt.atomic_write_text(run_dir / "config.yaml", to_yaml(cfg))
    what = "G, D" + (", G_ema" if trainer.G_ema is not None else "") + \
        ", optimisers, LR schedulers, AMP scaler, RNG states, data order, fixed noise"
    trainer.log(f"resumed {run_dir} from {path.name} at step {trainer.step}/{cfg.train.steps}: restored {what}")
    if trainer.step >= cfg.train.steps:
        trainer.log(f"already at train.steps={cfg.train.steps}; pass train.steps=N (N > {trainer.step}) to train longer")
    return _finish(trainer, stop_after)


def _finish(trainer: Trainer, stop_after: Optional[int]) -> TrainResult:
    step = trainer.fit(stop_after)
    run_dir = trainer.run_dir
    final = trainer.save_samples(run_dir / "samples.png")
    curves = []
    try:
        from gankit.viz.curves import plot_curves

        curves = plot_curves(run_dir)
    except Exception as e:  # plots are a convenience: report, never lose the trained run over them
        trainer.log(f"could not plot curves: {type(e).__name__}: {e}")
    G = trainer.G_ema if trainer.G_ema is not None else trainer.G
    trainer.log(f"done: step {step}. Samples: {final}  Curves: {run_dir / 'curves'} ({len(curves)} plots)  "
                f"Checkpoint: {trainer.last_good_checkpoint}")
    return TrainResult(run_dir=run_dir, G=G.eval(), cfg=trainer.cfg, step=step)
