"""`gankit eval`: score a run's generator against the run's own data (FID, KID, IS, precision/recall...)."""

HELP = "evaluate a run folder, checkpoint or export: FID, KID, IS, precision/recall, classifier metrics"


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="run folder (newest checkpoint), checkpoint .pt, or folder from `gankit export`")
    p.add_argument("--metrics", default=None,
                   help="comma-separated metric names (default: the run's eval.metrics, else fid); "
                        "e.g. fid,kid,is,pr,classifier_fid,classifier_score,class_histogram")
    p.add_argument("--n", type=int, default=None, help="generated samples (default: the run's eval.n_samples)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise, labels and metric subsets")
    p.add_argument("--inception-weights", default=None, metavar="PATH",
                   help="local TF-compatible Inception weights (torch-fidelity's weights-inception-2015-12-05-"
                        "6726825d.pth) for offline machines; also $GANKIT_INCEPTION_WEIGHTS")
    p.add_argument("--extractor", default=None,
                   help="feature space of is/fid/kid/pr: inception (default), classifier, tiny, raw")
    p.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                   help="metric option in eval.args, e.g. kid.subsets=50 or n_real=10000 (repeatable)")
    p.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda or cuda:N")
    p.add_argument("--batch-size", type=int, default=250, help="samples per generator / extractor call")
    p.add_argument("--no-ema", action="store_true", help="use the raw generator instead of its EMA")
    p.add_argument("--out", default=None, help="output JSON (default RUN_DIR/eval/<checkpoint>-<time>.json)")


def _eval_args(base, pairs, extractor, inception_weights) -> dict:
    """eval.args from the run's config, overlaid with --arg KEY=VALUE pairs and the shortcut flags."""
    from omegaconf import OmegaConf

    from gankit.registry import ConfigError

    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--arg '{pair}' is not of the form KEY=VALUE (e.g. kid.subsets=50)")
    merged = OmegaConf.merge(OmegaConf.create(dict(base)), OmegaConf.from_dotlist(list(pairs)))
    args = OmegaConf.to_container(merged, resolve=True)
    if extractor:
        args["extractor"] = extractor
    if inception_weights:
        args.setdefault("extractors", {}).setdefault("inception", {})["weights"] = inception_weights
    return args


def _run_dir(target):
    """The run folder a target belongs to: the folder itself, or the run of checkpoints/step-N.pt."""
    from pathlib import Path

    target = Path(target)
    if target.is_file():
        return target.parent.parent if target.parent.name == "checkpoints" else target.parent
    return target


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def run(args) -> int:
    import time
    from pathlib import Path

    from omegaconf import OmegaConf

    from gankit.metrics import evaluate
    from gankit.registry import ConfigError
    from gankit.training.checkpoint import load_run_generator

    device = _device(args.device)
    G, cfg = load_run_generator(args.checkpoint, ema=not args.no_ema, device=device)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else list(cfg.eval.metrics)
    metrics = metrics or ["fid"]
    n = args.n if args.n is not None else int(cfg.eval.n_samples)
    if n <= 0:
        raise ConfigError(f"--n must be > 0, got {n}")
    eval_args = _eval_args(OmegaConf.to_container(cfg.eval.args, resolve=True), args.arg, args.extractor,
                           args.inception_weights)
    target = Path(args.checkpoint)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else _run_dir(target) / "eval" / (
        f"{target.stem}-{stamp}.json" if target.is_file() else f"{stamp}.json")
    if out.suffix != ".json":
        raise ConfigError(f"--out must name a .json file, got {out}")
    values = evaluate(G, metrics, data_cfg=cfg.data, n_samples=n, seed=args.seed, device=device, args=eval_args,
                      out_dir=out.parent, batch_size=args.batch_size, name=out.stem, progress=True)
    width = max(len(k) for k in values)
    print(f"{'metric':<{width}}  value")
    for key, value in values.items():
        print(f"{key:<{width}}  {value:.6g}")
    print(f"wrote {out}")
    return 0
