"""`gankit saliency`: what the discriminator looks at, on real and generated images."""

HELP = "show the input saliency of a run's discriminator (gradient, gradient x input, SmoothGrad)"


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="run folder or checkpoint .pt (an export holds no discriminator)")
    p.add_argument("--n", type=int, default=8, help="real and generated images (each)")
    p.add_argument("--methods", nargs="+", default=["gradient", "gradient_x_input", "smoothgrad"],
                   help="gradient, gradient_x_input, smoothgrad")
    p.add_argument("--smooth-n", type=int, default=16, help="SmoothGrad: noisy copies per image")
    p.add_argument("--sigma", type=float, default=0.15, help="SmoothGrad: noise std as a fraction of the range")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="saliency", help="output folder: saliency.png (and classes.png, conditional D)")
    p.add_argument("--no-ema", action="store_true", help="generate with the raw generator instead of its EMA")
    p.add_argument("--device", default="cpu")


def run(args) -> int:
    from pathlib import Path

    import torch

    from gankit.registry import ConfigError
    from gankit.tools.data import run_samples
    from gankit.tools.saliency import METHODS, class_saliency, discriminator_saliency
    from gankit.training.checkpoint import load_run_discriminator, load_run_generator
    from gankit.validate import check_output_folder
    from gankit.viz.grid import sample
    from gankit.viz.saliency import plot_class_saliency, plot_saliency

    if args.n < 1 or args.smooth_n < 1 or args.sigma < 0:
        raise ConfigError(f"--n and --smooth-n must be >= 1 and --sigma >= 0; got {args.n}, {args.smooth_n}, "
                          f"{args.sigma}")
    bad = [m for m in args.methods if m not in METHODS]
    if bad:
        raise ConfigError(f"--methods: unknown {bad}; choose from {', '.join(METHODS)}")
    out = Path(check_output_folder(args.out, "--out"))
    D, cfg = load_run_discriminator(args.checkpoint, device=args.device)
    G, _ = load_run_generator(args.checkpoint, ema=not args.no_ema, device=args.device)
    if len(tuple(G.out_shape)) != 3:
        raise ConfigError("saliency pictures need an image GAN; this run generates vectors")
    x_real, y_real = run_samples(cfg, args.n, args.seed)
    x_fake, y_fake = sample(G, args.n, args.seed)
    num_classes = int(G.num_classes or 0)
    if num_classes and y_real is None:
        raise ConfigError("the conditional discriminator needs labelled real data, but the run's data has no labels")
    options = {"n_smooth": args.smooth_n, "sigma": args.sigma, "seed": args.seed}
    groups = []
    for title, x, y in (("real", x_real, y_real), ("generated", x_fake, y_fake)):
        sal = discriminator_saliency(D, x, y if num_classes else None, methods=args.methods, **options)
        groups.append((title, x, sal))
        print(f"D's mean logit on {title} images: {float(sal['logits'].mean()):+.3f}")
    written = [plot_saliency(groups, out / "saliency.png", args.methods)]
    if num_classes:
        k = min(args.n, 4)
        x = torch.cat([x_real[:k], x_fake[:k]])
        maps = class_saliency(D, x, num_classes, "gradient")
        names = list(getattr(G, "class_names", [])) or [str(i) for i in range(num_classes)]
        written.append(plot_class_saliency(x, maps, out / "classes.png", names))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
