"""`gankit sensitivity`: how much each latent dimension (or InfoGAN code) moves the output, and where."""

HELP = "rank the latent dimensions of a trained generator by how much they change its output"


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="run folder, checkpoint .pt, or folder written by `gankit export`")
    p.add_argument("--n", type=int, default=64, help="latent samples to average over")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples (and of the walk's fixed noise)")
    p.add_argument("--step", type=float, default=0.01, help="finite-difference step h")
    p.add_argument("--walk", type=int, default=3, help="grid rows: the WALK most and WALK least sensitive directions")
    p.add_argument("--steps", type=int, default=7, help="walk grid: values per direction")
    p.add_argument("--span", type=float, default=2.5, help="walk grid: values from -SPAN to SPAN")
    p.add_argument("--maps", type=int, default=8, help="per-pixel maps of the MAPS most sensitive directions")
    p.add_argument("--out", default="sensitivity", help="output folder: bars.png, walk.png, maps.png, sensitivity.json")
    p.add_argument("--no-ema", action="store_true", help="use the raw generator instead of its EMA")
    p.add_argument("--device", default="cpu")


def run(args) -> int:
    from pathlib import Path

    from gankit.io import atomic_write_json
    from gankit.registry import ConfigError
    from gankit.tools.sensitivity import latent_sensitivity, walk_grid
    from gankit.training.checkpoint import load_run_generator
    from gankit.validate import check_output_folder
    from gankit.viz.grid import save_grid
    from gankit.viz.sensitivity import plot_sensitivity, sensitivity_maps

    for name, value in (("--n", args.n), ("--walk", args.walk), ("--maps", args.maps)):
        if value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")
    if args.steps < 2 or not args.step > 0 or not args.span > 0:
        raise ConfigError(f"--steps must be >= 2 and --step, --span > 0; got {args.steps}, {args.step}, {args.span}")
    out = Path(check_output_folder(args.out, "--out"))
    G, _ = load_run_generator(args.checkpoint, ema=not args.no_ema, device=args.device)
    result = latent_sensitivity(G, n=args.n, seed=args.seed, step=args.step)
    order = result.ranking()
    written = [plot_sensitivity(result, out / "bars.png")]
    if len(tuple(G.out_shape)) == 3:
        x, names = walk_grid(G, result, k=args.walk, steps=args.steps, span=args.span, seed=args.seed)
        written.append(save_grid(x, out / "walk.png", nrow=args.steps))
        written.append(save_grid(sensitivity_maps(result, args.maps), out / "maps.png", nrow=min(args.maps, 8)))
        print(f"walk.png rows: {', '.join(names)}; maps.png: {', '.join(result.names[i] for i in order[:args.maps])}")
    atomic_write_json(out / "sensitivity.json", {
        "n": result.n, "step": result.step, "seed": args.seed,
        "scores": {result.names[i]: float(result.scores[i]) for i in order}})
    written.append(out / "sensitivity.json")
    top = ", ".join(f"{result.names[i]} {float(result.scores[i]):.3g}" for i in order[:5])
    low = ", ".join(f"{result.names[i]} {float(result.scores[i]):.3g}" for i in order[-3:])
    print(f"most sensitive: {top}; least: {low}")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
