"""`gankit export`: write the generator alone as safetensors + a JSON config."""

HELP = "export a run's generator as generator.safetensors + generator.json (load with gankit.load_generator)"


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="run folder or checkpoint .pt")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-ema", action="store_true", help="export the raw generator instead of its EMA")


def run(args) -> int:
    from gankit.training.checkpoint import export_generator

    out = export_generator(args.checkpoint, args.out, ema=not args.no_ema)
    print(f"wrote {out / 'generator.safetensors'} and {out / 'generator.json'}")
    print(f"load it with: import gankit; G = gankit.load_generator('{out}')")
    return 0
