"""`gankit generate`: a synthetic data set from a trained generator (image folder or npz, with a manifest)."""

HELP = "write N generated samples as a data set (class sub-folders or npz) with a manifest"


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="run folder, checkpoint .pt, or folder written by `gankit export`")
    p.add_argument("--n", type=int, required=True, help="number of samples")
    p.add_argument("--out", required=True, help="data set folder (refused when it exists and is not empty)")
    p.add_argument("--format", choices=("folder", "npz"), default="folder",
                   help="folder: PNGs (class sub-folders for conditional models); npz: data.npz with x and y")
    p.add_argument("--truncation", type=float, default=None, help="draw z from the prior truncated at T (gaussian)")
    p.add_argument("--classes", type=int, nargs="+", default=None,
                   help="conditional models: generate these classes only (balanced); default all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--force", action="store_true", help="replace an existing data set at --out")
    p.add_argument("--no-ema", action="store_true", help="use the raw generator instead of its EMA")
    p.add_argument("--device", default="cpu")


def run(args) -> int:
    from pathlib import Path

    from gankit.registry import ConfigError
    from gankit.tools.generate import checkpoint_provenance, generate_dataset, refuse_existing
    from gankit.training.checkpoint import load_run_generator
    from gankit.validate import check_output_folder

    if args.n < 1 or args.batch_size < 1:
        raise ConfigError(f"--n and --batch-size must be >= 1, got {args.n} and {args.batch_size}")
    if args.truncation is not None and not args.truncation > 0:
        raise ConfigError(f"--truncation must be > 0, got {args.truncation}")
    out = check_output_folder(args.out, "--out")
    refuse_existing(Path(out), args.force)  # before loading anything
    G, _ = load_run_generator(args.checkpoint, ema=not args.no_ema, device=args.device)
    provenance = {**checkpoint_provenance(args.checkpoint), "ema": not args.no_ema}
    manifest = generate_dataset(G, args.n, out, fmt=args.format, seed=args.seed, truncation=args.truncation,
                                classes=args.classes, batch_size=args.batch_size, force=args.force,
                                provenance=provenance, progress=True)
    counts = manifest["class_counts"]
    per_class = f"; per class: {', '.join(f'{k}: {v}' for k, v in counts.items())}" if counts else ""
    print(f"wrote {manifest['count']} samples to {out} ({args.format}){per_class}")
    print(f"read it with: {manifest['read_with']}")
    return 0
