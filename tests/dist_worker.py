"""Run by tests/test_distributed.py under ``torchrun --nproc_per_node=2``: one small run of every
objective (and one with periodic evaluation and best.pt) in a process group that this script set
up itself, as a user's script would. Rank 0 writes what it saw to ``OUT/results.json``."""

import hashlib
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

import gankit
from gankit.registry import ConfigError

SMALL = ["train.steps=4", "train.log_every=2", "train.sample_every=2", "train.checkpoint_every=2", "train.threads=1",
         "train.n_samples=4"]
RUNS = {
    "infogan": ("dcgan-mnist", ["data.source=mnist5k", "data.resolution=16", "model.z_dim=8", "model.g.args.width=4",
                                "model.d.args.width=4", "train.batch_size=8", "objective.name=infogan",
                                "model.latent.name=infogan", "objective.args.q_hidden=8"]),
    "cyclegan": ("cyclegan-mnist", ["objective.args.identity_weight=0.5", "data.resolution=16", "model.g.args.width=2",
                                    "model.g.args.n_blocks=1", "model.d.args.width=2", "model.d.args.n_layers=1",
                                    "train.batch_size=4"]),
    "pix2pix": ("pix2pix-mnist-edges", ["data.resolution=16", "data.limit=64", "model.g.args.width=4",
                                        "model.d.args.width=4", "train.batch_size=4"]),
    "wgan-gp": ("ring-gan", ["loss.name=wasserstein", "regularizers.gp.weight=10", "train.n_critic=3",
                             "model.g.args.hidden=16", "model.d.args.hidden=16", "train.batch_size=16",
                             "eval.every=2", "eval.metrics=[modes]", "eval.best=modes", "eval.n_samples=200"]),
}


def digest(trainer) -> str:
    """One hash of every player's weights, EMA and buffers: equal on all ranks iff the networks are."""
    h = hashlib.sha256()
    for name, p in trainer.players.items():
        for module in (p.module, p.ema):
            if module is not None:
                for k, v in module.state_dict().items():
                    h.update(f"{name}.{k}".encode() + v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main(out: Path) -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    results = {"world": world}
    for name, (preset, overrides) in RUNS.items():
        result = gankit.train(preset, [*overrides, *SMALL], run_dir=out / name, quiet=True)
        digests = [None] * world
        dist.all_gather_object(digests, digest(result.trainer))
        stats = [json.loads(ln) for ln in (out / name / "stats.jsonl").read_text().splitlines()] if rank == 0 else []
        results[name] = {"step": result.step, "same_on_all_ranks": len(set(digests)) == 1,
                         "finite": all(v is not None for row in stats for k, v in row.items()
                                       if k.startswith(("loss/", "penalty", "grad_norm/"))) and bool(stats or rank),
                         "players": sorted(result.trainer.players)}
    try:
        gankit.train("ring-gan", ["train.sync_bn=true", *SMALL], run_dir=out / "sync-bn", quiet=True)
        results["sync_bn"] = "accepted"
    except ConfigError as e:
        results["sync_bn"] = str(e)
    if rank == 0:
        (out / "results.json").write_text(json.dumps(results, indent=1))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
