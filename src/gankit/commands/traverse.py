"""`gankit traverse`: vary one InfoGAN latent code at fixed noise (rows: noise, columns: code values)."""

HELP = "vary one InfoGAN latent code of a trained generator at fixed noise into a PNG grid"


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="run folder, checkpoint .pt, or folder written by `gankit export`")
    p.add_argument("--code", required=True, help="the code to vary: cat0, cat1, ... or cont0, cont1, ...")
    p.add_argument("--rows", type=int, default=8, help="rows of fixed noise (seeds SEED .. SEED + ROWS - 1)")
    p.add_argument("--steps", type=int, default=None,
                   help="continuous codes: columns, evenly spaced (default 10); categorical codes show all values")
    p.add_argument("--span", type=float, default=2.0,
                   help="continuous codes: cover SPAN times the training range (2: the paper's -2..2 for U(-1, 1))")
    p.add_argument("--seed", type=int, default=0, help="noise seed of the first row")
    p.add_argument("--out", default="traverse.png", help="output PNG")
    p.add_argument("--no-ema", action="store_true", help="use the raw generator instead of its EMA")
    p.add_argument("--device", default="cpu")


def run(args) -> int:
    from gankit.registry import ConfigError
    from gankit.training.checkpoint import load_run_generator
    from gankit.validate import check_output_file
    from gankit.viz.grid import save_grid
    from gankit.viz.traverse import traverse

    if args.rows < 1:
        raise ConfigError(f"--rows must be >= 1 (rows of fixed noise), got {args.rows}")
    check_output_file(args.out, "--out", "traverse.png")
    G, _ = load_run_generator(args.checkpoint, ema=not args.no_ema, device=args.device)
    try:
        x, values = traverse(G, args.code, rows=args.rows, steps=args.steps, seed=args.seed, span=args.span)
    except ValueError as e:  # no codes, unknown code, steps for a categorical code: a usage error
        raise ConfigError(f"--code {args.code}: {e}") from None
    shown = ", ".join(f"{v:g}" for v in values.tolist())
    out = save_grid(x, args.out, nrow=len(values))
    print(f"wrote {out}: {args.rows} rows of fixed noise (seeds {args.seed}..{args.seed + args.rows - 1}) x "
          f"{len(values)} values of {args.code} ({shown})")
    return 0
