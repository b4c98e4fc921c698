"""`gankit sample`: draw a sample grid from a run, a checkpoint or an export (no data set needed)."""

HELP = "draw samples from a run folder, checkpoint or export into a PNG grid"


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="run folder, checkpoint .pt, or folder written by `gankit export`")
    p.add_argument("--n", type=int, default=64, help="number of samples (per class with --class-grid)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="samples.png", help="output PNG")
    p.add_argument("--nrow", type=int, default=None, help="images per row")
    p.add_argument("--class", dest="cls", type=int, default=None, help="conditional models: draw this class only")
    p.add_argument("--class-grid", action="store_true", help="conditional models: one row per class")
    p.add_argument("--no-ema", action="store_true", help="use the raw generator instead of its EMA")
    p.add_argument("--truncation", type=float, default=None, metavar="T",
                   help="truncation trick (BigGAN): redraw latent values beyond +-T; gaussian priors only. "
                        "Smaller T trades variety for fidelity (e.g. 0.5)")
    p.add_argument("--device", default="cpu")


def run(args) -> int:
    import math

    import torch

    from gankit.priors import prior_of
    from gankit.registry import ConfigError
    from gankit.training.checkpoint import load_run_generator
    from gankit.validate import check_output_file
    from gankit.viz.grid import save_grid

    if args.n <= 0:
        raise ConfigError(f"--n must be > 0 (the number of samples), got {args.n}; e.g. --n 64")
    if args.truncation is not None and not args.truncation > 0:
        raise ConfigError(f"--truncation must be > 0 (the largest |z| value kept), got {args.truncation}; e.g. 0.5")
    # Before loading anything: a bad --out would otherwise fail after the sampling work.
    check_output_file(args.out, "--out")
    G, _ = load_run_generator(args.checkpoint, ema=not args.no_ema, device=args.device)
    g = torch.Generator().manual_seed(args.seed)
    nrow = args.nrow
    y = None
    if args.cls is not None or args.class_grid:
        if G.num_classes == 0:
            raise ConfigError("--class/--class-grid need a conditional model; this generator is unconditional")
        if args.class_grid:
            y = torch.arange(G.num_classes).repeat_interleave(args.n)
            nrow = args.n
        else:
            if not 0 <= args.cls < G.num_classes:
                raise ConfigError(f"--class must be in 0..{G.num_classes - 1}, got {args.cls}")
            y = torch.full((args.n,), args.cls, dtype=torch.long)
    elif G.num_classes:
        y = torch.randint(G.num_classes, (args.n,), generator=g)
    n = len(y) if y is not None else args.n
    prior = prior_of(G)  # the run's latent prior (model.latent)
    if args.truncation is not None:
        try:
            prior = prior.truncated(args.truncation)
        except ValueError as e:
            raise ConfigError(f"--truncation {args.truncation}: {e}, and this generator was trained with "
                              f"{prior.describe()}; sample without --truncation") from None
    z = prior.sample(n, g)
    with torch.no_grad():
        x = torch.cat([G(zb.to(args.device), None if y is None else yb.to(args.device)).float().cpu()
                       for zb, yb in zip(z.split(256), (y.split(256) if y is not None else [None] * math.ceil(n / 256)))])
    if x.dim() != 4:
        from gankit.viz.toy2d import plot_samples_2d

        out = plot_samples_2d(x, args.out)
    else:
        out = save_grid(x, args.out, nrow=nrow or max(1, int(math.sqrt(n))))
    print(f"wrote {out} ({n} samples, seed {args.seed})")
    return 0
