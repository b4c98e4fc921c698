"""`gankit presets`: list the shipped recipes with a one-line description and their source."""

HELP = "list the shipped presets (use one with `gankit train --preset NAME`)"


def add_arguments(p) -> None:
    p.add_argument("name", nargs="?", help="show this preset's full YAML instead")


def run(args) -> int:
    from gankit.config import describe_presets, preset_path

    if args.name:
        print(preset_path(args.name).read_text())
        return 0
    rows = describe_presets()
    width = max(len(r[0]) for r in rows)
    for name, description, source in rows:
        print(f"{name:<{width}}  {description}")
        if source:
            print(f"{'':<{width}}  source: {source}")
    return 0
