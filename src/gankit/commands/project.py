"""`gankit project`: GAN inversion: the latent whose image reconstructs a given image best."""

HELP = "project images onto a trained generator (optimise z to reconstruct them) and report the error"


def add_projection_arguments(p) -> None:
    """Options shared by `gankit project` and `gankit inpaint`."""
    from gankit.tools.settings import LR, RESTARTS, STEPS

    p.add_argument("checkpoint", help="run folder, checkpoint .pt, or folder written by `gankit export`")
    p.add_argument("--image", required=True, help="an image file or a folder of images")
    p.add_argument("--steps", type=int, default=STEPS, help="Adam steps on z")
    p.add_argument("--restarts", type=int, default=RESTARTS,
                   help="starting latents per image (conditional models without --label: per class)")
    p.add_argument("--lr", type=float, default=LR, help="Adam learning rate of z")
    p.add_argument("--label", type=int, default=None,
                   help="conditional models: the images' class (default: search every class)")
    p.add_argument("--seed", type=int, default=0, help="seed of the starting latents")
    p.add_argument("--no-ema", action="store_true", help="use the raw generator instead of its EMA")
    p.add_argument("--device", default="cpu")


def add_arguments(p) -> None:
    add_projection_arguments(p)
    p.add_argument("--feature-weight", type=float, default=0.1,
                   help="weight of the perceptual loss in the data classifier's feature space (0 = L2 alone)")
    p.add_argument("--out", default="projection", help="output folder: project.png, projected/*.png, projection.json")


def check_projection_arguments(args):
    """Validate the options shared by project and inpaint (before anything is loaded)."""
    from gankit.registry import ConfigError

    if args.steps < 1 or args.restarts < 1 or not args.lr > 0:
        raise ConfigError(f"--steps and --restarts must be >= 1 and --lr > 0; got {args.steps}, {args.restarts}, "
                          f"{args.lr}")


def labels_for(G, label, n):
    """``[n]`` labels of ``--label`` for a conditional G (None: search the classes)."""
    import torch

    from gankit.registry import ConfigError

    if label is None:
        return None
    if not G.num_classes:
        raise ConfigError("--label needs a conditional model; this generator is unconditional")
    if not 0 <= label < G.num_classes:
        raise ConfigError(f"--label must be in 0..{G.num_classes - 1}, got {label}")
    return torch.full((n,), label, dtype=torch.long)


def run(args) -> int:
    from pathlib import Path

    import torch

    from gankit.io import atomic_write_json
    from gankit.registry import ConfigError
    from gankit.tools.data import read_image_files
    from gankit.tools.projection import project
    from gankit.training.checkpoint import load_run_generator
    from gankit.translate import output_names, write_images
    from gankit.validate import check_output_folder
    from gankit.viz.grid import save_grid

    check_projection_arguments(args)
    if args.feature_weight < 0:
        raise ConfigError(f"--feature-weight must be >= 0, got {args.feature_weight}")
    out = Path(check_output_folder(args.out, "--out"))
    G, cfg = load_run_generator(args.checkpoint, ema=not args.no_ema, device=args.device)
    files, x = read_image_files(args.image, G.out_shape)
    features = None
    if args.feature_weight:
        from gankit.metrics.classifier import get_classifier

        d = cfg.data
        try:
            clf = get_classifier(d.source, d.path, d.resolution, d.channels, dict(d.args), device=args.device,
                                 progress=True)
        except (ConfigError, FileNotFoundError, ValueError) as e:
            raise ConfigError(f"--feature-weight {args.feature_weight} needs the data classifier of the run's data "
                              f"({d.source}): {e}. Use --feature-weight 0 for the L2 loss alone") from None
        features = clf.features
        for p in clf.parameters():
            p.requires_grad_(False)
    result = project(G, x, features=features, feature_weight=args.feature_weight,
                     labels=labels_for(G, args.label, len(x)), steps=args.steps, restarts=args.restarts, lr=args.lr,
                     seed=args.seed, progress=True)
    names = output_names(files, args.image)
    write_images(result.images, names, out / "projected")
    grid = save_grid(torch.cat([x[:16], result.images[:16]]), out / "project.png", nrow=min(len(x), 16))
    record = {"images": {n: {"mse": float(e), "rmse": float(e) ** 0.5,
                             "class": None if result.y is None else int(result.y[i]), "z": result.z[i].tolist()}
                         for i, (n, e) in enumerate(zip(names, result.error))},
              "mean_mse": float(result.error.mean()), "steps": args.steps, "restarts": args.restarts,
              "feature_weight": args.feature_weight, "seed": args.seed,
              "error": "mean squared error per pixel in [-1, 1] units"}
    atomic_write_json(out / "projection.json", record)
    print(f"reconstruction error (MSE per pixel, [-1, 1] units): mean {float(result.error.mean()):.4f} over "
          f"{len(x)} image(s); worst {float(result.error.max()):.4f}")
    print(f"wrote {grid} (top: inputs, bottom: reconstructions), {out / 'projected'}/, {out / 'projection.json'}")
    return 0
