"""The `gankit` command line: a thin layer that maps subcommands to library calls.

Each subcommand lives in ``gankit/commands/<name>.py`` and defines ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``; they are discovered here, so adding a command
never edits this file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from gankit.registry import ConfigError


def build_parser() -> argparse.ArgumentParser:
    import gankit.commands as pkg

    parser = argparse.ArgumentParser(prog="gankit", description="Train, evaluate and inspect GANs.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"gankit.commands.{info.name}")
        name = getattr(mod, "COMMAND", info.name)
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    from gankit.training.loop import RunError

    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:  # outside training (start-up, evaluation...): nothing half-written is kept
        print("gankit: interrupted", file=sys.stderr)
        return 130
    except RunError as e:  # the run stopped; the message says what was saved and how to resume
        if os.environ.get("GANKIT_DEBUG"):
            raise
        print(f"gankit: error: {e}", file=sys.stderr)
        return 1
    except (ConfigError, FileNotFoundError) as e:
        print(f"gankit: error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # bad input found past the config (a damaged checkpoint, a wrong file)
        if os.environ.get("GANKIT_DEBUG"):
            raise
        print(f"gankit: error: {e}\n(set GANKIT_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
