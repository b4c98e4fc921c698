"""`gankit train`: train a GAN from a preset, a YAML file and key=value overrides, or resume a run."""

from __future__ import annotations

import sys

HELP = "train a GAN (default: DCGAN on 5,000 embedded MNIST digits), or resume a run with --resume"


def add_arguments(p) -> None:
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="config overrides, e.g. train.steps=2000 optim.d.lr=1e-4")
    p.add_argument("--preset", help="a shipped preset (see `gankit presets`); default dcgan-mnist")
    p.add_argument("--config", help="a YAML config file merged over the preset")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its newest readable checkpoint")
    p.add_argument("--out", metavar="DIR", help="exact run folder (default: runs/<name>, never overwritten)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")


def run(args) -> int:
    from gankit.config import load_config, to_yaml
    from gankit.runner import exit_code_of, train

    argv = ["gankit", "train", *sys.argv[2:]]
    if args.resume:
        if args.preset or args.config:
            print("gankit: --resume uses the run's saved config; pass only key=value overrides", file=sys.stderr)
            return 2
        result = train(resume=args.resume, overrides=args.overrides, quiet=args.quiet, argv=argv)
    else:
        cfg = load_config(args.preset, args.config, args.overrides)
        if args.print_config:
            from gankit.validate import check_components

            check_components(cfg, run_dir=args.out)
            print(to_yaml(cfg))
            return 0
        result = train(cfg=cfg, run_dir=args.out, quiet=args.quiet, argv=argv)
    code = exit_code_of(result)
    if not result.trainer.dist.is_main:  # torchrun: rank 0 speaks for the run
        return code
    if code:  # stopped by a signal: the loop saved a checkpoint; say so even with --quiet
        print(f"gankit: {result.stopped} at step {result.step}; a checkpoint was saved. "
              f"Resume with: {result.trainer.resume_command}", file=sys.stderr)
        return code
    print(f"run folder: {result.run_dir}")
    print(f"samples:    {result.run_dir / 'samples.png'}")
    print(f"curves:     {result.run_dir / 'curves'}")
    directions = getattr(result.trainer.objective, "directions", None)  # an image-to-image run has no G to sample
    first = (f"gankit translate {result.run_dir} --direction {next(iter(directions))} --input IMAGES --out DIR"
             if directions else f"gankit sample {result.run_dir} --out grid.png")
    print(f"next:       {first}   |   gankit report {result.run_dir}")
    return 0
