"""`gankit inpaint`: complete the missing region of images (Yeh et al. 2017 semantic inpainting)."""

HELP = "fill a missing region of images with a trained GAN (context loss + D prior, blended at the edge)"


def add_arguments(p) -> None:
    from gankit.commands.project import add_projection_arguments
    from gankit.tools.settings import FEATHER, PRIOR_WEIGHT, WINDOW

    add_projection_arguments(p)
    p.add_argument("--mask", required=True,
                   help="box:TOP,LEFT,HEIGHT,WIDTH (missing pixels, at the run's resolution) or a mask image "
                        "(white = known, black = missing; resized to the run's resolution)")
    p.add_argument("--prior-weight", type=float, default=PRIOR_WEIGHT,
                   help="lambda of D's prior loss, relative to the mean context loss (0 = context loss alone)")
    p.add_argument("--uniform", action="store_true", help="unweighted context loss (default: weighted near the hole)")
    p.add_argument("--window", type=int, default=WINDOW, help="neighbourhood of the context weights (odd)")
    p.add_argument("--feather", type=int, default=FEATHER, help="width in pixels of the blend band at the hole's edge")
    p.add_argument("--out", default="inpainting", help="output folder: inpaint.png, completed/*.png, inpainting.json")


def parse_mask(spec: str, shape):
    """``[1, 1, H, W]`` float mask (1 = known) from ``box:TOP,LEFT,HEIGHT,WIDTH`` or a mask image."""
    from pathlib import Path

    import torch

    from gankit.registry import ConfigError

    _, h, w = (int(s) for s in shape)
    if spec.startswith("box:"):
        try:
            top, left, height, width = (int(v) for v in spec[4:].split(","))
        except ValueError:
            raise ConfigError(f"--mask {spec}: expected box:TOP,LEFT,HEIGHT,WIDTH with four integers, "
                              "e.g. box:8,8,16,16") from None
        if height < 1 or width < 1 or top < 0 or left < 0 or top + height > h or left + width > w:
            raise ConfigError(f"--mask {spec}: the box must lie inside the {h}x{w} image with height, width >= 1")
        mask = torch.ones(1, 1, h, w)
        mask[..., top:top + height, left:left + width] = 0
        return mask
    if not Path(spec).expanduser().is_file():
        raise ConfigError(f"--mask {spec}: not box:TOP,LEFT,HEIGHT,WIDTH and no such mask image")
    from gankit.translate import read_images

    grey = read_images([Path(spec).expanduser()], (1, h, w))
    mask = (grey > 0).float()
    if bool(mask.all()) or not bool(mask.any()):
        raise ConfigError(f"--mask {spec}: the mask must have both known (white) and missing (black) pixels")
    return mask


def run(args) -> int:
    from pathlib import Path

    import torch

    from gankit.commands.project import check_projection_arguments, labels_for
    from gankit.io import atomic_write_json
    from gankit.registry import ConfigError
    from gankit.tools.data import read_image_files
    from gankit.tools.projection import inpaint
    from gankit.training.checkpoint import load_run_discriminator, load_run_generator
    from gankit.translate import output_names, write_images
    from gankit.validate import check_output_folder
    from gankit.viz.grid import save_grid

    check_projection_arguments(args)
    if args.prior_weight < 0 or args.feather < 0:
        raise ConfigError(f"--prior-weight and --feather must be >= 0, got {args.prior_weight} and {args.feather}")
    if args.window < 1 or args.window % 2 == 0:
        raise ConfigError(f"--window must be an odd number >= 1, got {args.window}")
    out = Path(check_output_folder(args.out, "--out"))
    G, _ = load_run_generator(args.checkpoint, ema=not args.no_ema, device=args.device)
    mask = parse_mask(args.mask, G.out_shape)
    files, x = read_image_files(args.image, G.out_shape)
    D = None
    if args.prior_weight:
        D, _ = load_run_discriminator(args.checkpoint, device=args.device)
    result = inpaint(G, D, x, mask, prior_weight=args.prior_weight, weighted=not args.uniform, window=args.window,
                     feather=args.feather, labels=labels_for(G, args.label, len(x)), steps=args.steps,
                     restarts=args.restarts, lr=args.lr, seed=args.seed, progress=True)
    names = output_names(files, args.image)
    write_images(result.images, names, out / "completed")
    damaged = x * result.mask  # missing pixels shown at 0 (mid grey)
    k = min(len(x), 16)
    grid = save_grid(torch.cat([damaged[:k], result.generated[:k], result.images[:k]]), out / "inpaint.png", nrow=k)
    atomic_write_json(out / "inpainting.json", {
        "images": {n: {"known_mse": float(e), "projection_known_mse": float(p)}
                   for n, e, p in zip(names, result.known_error, result.projection.error)},
        "mask": args.mask, "missing_pixels": int((result.mask[0] == 0).sum()), "prior_weight": args.prior_weight,
        "weighted": not args.uniform, "feather": args.feather, "steps": args.steps, "restarts": args.restarts,
        "error": "mean squared error per pixel in [-1, 1] units, known pixels only"})
    print(f"known-pixel error (MSE): completion {float(result.known_error.mean()):.4f}, G(z) alone "
          f"{float(result.projection.error.mean()):.4f}; {int((result.mask[0] == 0).sum())} missing pixels filled")
    print(f"wrote {grid} (rows: damaged input, G(z), completion), {out / 'completed'}/, {out / 'inpainting.json'}")
    return 0
