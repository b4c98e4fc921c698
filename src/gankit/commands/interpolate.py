"""`gankit interpolate`: latent walks between noise seeds (lerp/slerp), or between classes at fixed noise."""

HELP = "interpolate between noise seeds (or classes) of a trained generator into a PNG grid"


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="run folder, checkpoint .pt, or folder written by `gankit export`")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3],
                   help="noise seeds; row i walks from seed i to seed i+1 (with --classes: one row set per seed)")
    p.add_argument("--steps", type=int, default=8, help="images per row, end points included")
    p.add_argument("--mode", choices=("slerp", "lerp"), default="slerp", help="path between seeds")
    p.add_argument("--classes", type=int, nargs="+", default=None,
                   help="conditional models: walk through these classes at fixed noise instead of between seeds")
    p.add_argument("--label", type=int, nargs="+", default=None,
                   help="conditional models, seed walks: class of every row (one value or one per row); "
                        "default row i uses class i mod num_classes")
    p.add_argument("--out", default="interp.png", help="output PNG")
    p.add_argument("--no-ema", action="store_true", help="use the raw generator instead of its EMA")
    p.add_argument("--device", default="cpu")


def run(args) -> int:
    from gankit.registry import ConfigError
    from gankit.training.checkpoint import load_run_generator
    from gankit.viz.grid import save_grid
    from gankit.viz.interpolate import class_interpolation, seed_interpolation

    if args.steps < 2:
        raise ConfigError(f"--steps must be >= 2 (the two end points), got {args.steps}")
    if args.classes is not None and args.label is not None:
        raise ConfigError("--label picks the class of seed walks; with --classes the walk is between classes. "
                          "Give one of them")
    G, _ = load_run_generator(args.checkpoint, ema=not args.no_ema, device=args.device)
    try:
        if args.classes is not None:
            x = class_interpolation(G, args.seeds, args.classes, args.steps)
            what = f"classes {' -> '.join(map(str, args.classes))} at seeds {', '.join(map(str, args.seeds))}"
        else:
            x = seed_interpolation(G, args.seeds, args.steps, args.mode, labels=args.label)
            what = f"{args.mode} through seeds {' -> '.join(map(str, args.seeds))}"
    except ValueError as e:  # bad seeds/classes for this generator: a usage error, not a crash
        raise ConfigError(str(e)) from None
    out = save_grid(x, args.out, nrow=args.steps)
    print(f"wrote {out}: {len(x) // args.steps} rows of {args.steps} ({what})")
    return 0
