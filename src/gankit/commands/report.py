"""`gankit report`: one self-contained HTML page with everything a run shows (no network needed)."""

HELP = "write a self-contained HTML report of a run (config, metrics, curves, samples, interpolation, ...)"


def add_arguments(p) -> None:
    p.add_argument("run_dir", help="run folder (runs/<name>)")
    p.add_argument("--out", default=None, help="output HTML (default RUN_DIR/report.html)")
    p.add_argument("--n-embed", type=int, default=500, help="real and generated samples (each) in the t-SNE/PCA view")
    p.add_argument("--n-memo", type=int, default=500, help="generated samples in the memorisation check")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="interpolation seeds")
    p.add_argument("--steps", type=int, default=8, help="images per interpolation row")
    p.add_argument("--mode", choices=("slerp", "lerp"), default="slerp", help="interpolation path")
    p.add_argument("--no-tsne", action="store_true", help="PCA only (t-SNE takes the longest)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and subsets")
    p.add_argument("--no-ema", action="store_true", help="use the raw generator instead of its EMA")
    p.add_argument("--metrics", default="auto",
                   help="metrics to evaluate first, comma-separated; 'none'; or 'auto' (default): when the run "
                        "recorded none, the offline ones that fit its data (classifier_fid,classifier_score for "
                        "labelled images, modes for ring/grid, stacked_mnist)")
    p.add_argument("--n-eval", type=int, default=5000, help="generated samples for --metrics")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 keeps torch's default")


def _metrics(text: str):
    """``auto`` stays a keyword, ``none`` is no metric, anything else a comma-separated list of names
    (checked by ``build_report`` before any work)."""
    if text in ("auto", "none"):
        return "auto" if text == "auto" else []
    return [m.strip() for m in text.split(",") if m.strip()]


def run(args) -> int:
    import torch

    from gankit.registry import ConfigError
    from gankit.viz.report import build_report

    for name in ("n_embed", "n_memo", "n_eval"):
        if getattr(args, name) <= 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name)}")
    if args.steps < 2 or len(args.seeds) < 2:
        raise ConfigError("--steps must be >= 2 and --seeds needs at least two seeds")
    if args.threads < 0:
        raise ConfigError(f"--threads must be >= 0, got {args.threads}")
    if args.threads:
        torch.set_num_threads(args.threads)
    out = build_report(args.run_dir, args.out, n_embed=args.n_embed, n_memo=args.n_memo, interp_seeds=args.seeds,
                       interp_steps=args.steps, interp_mode=args.mode,
                       embed_methods=("pca",) if args.no_tsne else ("tsne", "pca"), device=args.device,
                       ema=not args.no_ema, seed=args.seed, metrics=_metrics(args.metrics), n_eval=args.n_eval)
    print(f"wrote {out}")
    return 0
