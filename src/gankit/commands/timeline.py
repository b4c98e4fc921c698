"""`gankit timeline`: the fixed-noise grids saved during training as an animated GIF and a strip."""

HELP = "assemble a run's samples/step-*.png into an animated GIF and a strip of evenly spaced steps"


def add_arguments(p) -> None:
    p.add_argument("run_dir", help="run folder (runs/<name>)")
    p.add_argument("--out", default=None, help="output GIF (default RUN_DIR/timeline.gif)")
    p.add_argument("--strip", default=None, help="output strip PNG (default RUN_DIR/timeline.png)")
    p.add_argument("--frames", type=int, default=6, help="frames in the strip")
    p.add_argument("--max-frames", type=int, default=None, help="at most this many GIF frames (evenly spaced)")
    p.add_argument("--duration-ms", type=int, default=400, help="display time of each GIF frame")


def run(args) -> int:
    from pathlib import Path

    from gankit.registry import ConfigError
    from gankit.viz.timeline import find_frames, make_timeline_gif, make_timeline_strip

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    if args.frames <= 0 or args.duration_ms <= 0 or (args.max_frames is not None and args.max_frames <= 0):
        raise ConfigError("--frames, --max-frames and --duration-ms must be > 0")
    frames = find_frames(run_dir)
    if not frames:
        raise ConfigError(f"{run_dir / 'samples'} has no step-*.png grids; the trainer saves one every "
                          "train.sample_every steps")
    gif = make_timeline_gif(frames, args.out or run_dir / "timeline.gif", duration_ms=args.duration_ms,
                            max_frames=args.max_frames)
    strip = make_timeline_strip(frames, args.strip or run_dir / "timeline.png", n=args.frames)
    print(f"wrote {gif} ({min(len(frames), args.max_frames or len(frames))} frames) and {strip}")
    return 0
