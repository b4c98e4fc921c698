"""`gankit arithmetic`: latent vector arithmetic, mean(A) - mean(B) + mean(C), rendered with its neighbours."""

HELP = "latent arithmetic of noise-seed groups: A - B + C (Radford et al. 2016, figure 7)"


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="run folder, checkpoint .pt, or folder written by `gankit export`")
    p.add_argument("--a", type=int, nargs="+", required=True, help="noise seeds of group A (averaged)")
    p.add_argument("--b", type=int, nargs="+", required=True, help="noise seeds of group B (subtracted)")
    p.add_argument("--c", type=int, nargs="+", required=True, help="noise seeds of group C (added)")
    p.add_argument("--neighbours", type=int, default=7, help="images of the result plus small uniform noise")
    p.add_argument("--noise", type=float, default=0.25, help="scale of the neighbours' uniform noise")
    p.add_argument("--label", type=int, default=None, help="conditional models: class of the group rows (default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the neighbours' noise")
    p.add_argument("--out", default="arithmetic.png", help="output PNG")
    p.add_argument("--no-ema", action="store_true", help="use the raw generator instead of its EMA")
    p.add_argument("--device", default="cpu")


def run(args) -> int:
    from gankit.registry import ConfigError
    from gankit.tools.arithmetic import arithmetic_grid
    from gankit.training.checkpoint import load_run_generator
    from gankit.validate import check_output_file
    from gankit.viz.grid import save_grid

    if args.neighbours < 0 or args.noise < 0:
        raise ConfigError(f"--neighbours and --noise must be >= 0, got {args.neighbours} and {args.noise}")
    check_output_file(args.out, "--out", "arithmetic.png")
    G, _ = load_run_generator(args.checkpoint, ema=not args.no_ema, device=args.device)
    if len(tuple(G.out_shape)) != 3:
        raise ConfigError("arithmetic pictures need an image generator; this run generates vectors")
    if args.label is not None and not G.num_classes:
        raise ConfigError("--label needs a conditional model; this generator is unconditional")
    try:
        x, cols, captions = arithmetic_grid(G, args.a, args.b, args.c, k=args.neighbours, noise=args.noise,
                                            seed=args.seed, label=args.label)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    out = save_grid(x, args.out, nrow=cols)
    print(f"wrote {out}; rows: " + "; ".join(captions))
    return 0
