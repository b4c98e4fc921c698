"""`gankit translate`: run a CycleGAN / pix2pix run's translator over image files."""

HELP = "translate images with an image-to-image run (cyclegan, pix2pix): one PNG per input image"


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="run folder (its newest readable checkpoint) or checkpoint .pt")
    p.add_argument("--direction", required=True, help="which translator: a2b or b2a (CycleGAN), as the run names them")
    p.add_argument("--input", required=True, help="an image file, or a folder of images (searched recursively)")
    p.add_argument("--out", required=True, help="output folder (created); outputs keep the input names as .png")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=64, help="images per forward pass")
    p.add_argument("--no-ema", action="store_true", help="use the raw weights instead of the EMA (when kept)")


def run(args) -> int:
    import torch

    from gankit.registry import ConfigError
    from gankit.training.environment import resolve_device
    from gankit.translate import translate_files
    from gankit.validate import check_output_folder

    if args.batch_size <= 0:
        raise ConfigError(f"--batch-size must be > 0, got {args.batch_size}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {args.device} but no CUDA GPU is visible; use --device cpu")
    check_output_folder(args.out, "--out")  # before loading anything: a bad --out would fail after the work
    written, nets = translate_files(args.checkpoint, args.direction, args.input, args.out,
                                    device=resolve_device(args.device), ema=not args.no_ema,
                                    batch_size=args.batch_size)
    r = nets.records[args.direction]
    print(f"wrote {len(written)} image(s) to {args.out} ({args.direction}: {nets.objective} step {nets.step}, "
          f"{'x'.join(map(str, r['in_shape']))} -> {'x'.join(map(str, r['out_shape']))})")
    return 0
