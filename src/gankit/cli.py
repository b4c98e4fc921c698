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
import warnings

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


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """One clean line per warning (no source path or code line): ``gankit: warning: ...``."""
    from gankit.config import ConfigNote

    kind = "note" if issubclass(category, ConfigNote) else "warning"
    print(f"gankit: {kind}: {message}", file=file or sys.stderr)


def _os_error_message(e: OSError) -> str:
    """An OSError (disk full, read-only or missing place) with the path and what to do."""
    import errno

    where = " -> ".join(str(p) for p in (e.filename, e.filename2) if p is not None)
    what = e.strerror or str(e)
    fixes = {
        errno.ENOSPC: "the disk is full: free some space or write to another disk",
        errno.EDQUOT: "the disk quota is exhausted: free some space or write elsewhere",
        errno.EROFS: "that file system is read-only: choose a writable location",
        errno.EACCES: "check the permissions, or choose a location you can write to",
        errno.EPERM: "check the permissions, or choose a location you can write to",
        errno.EISDIR: "a folder is in the way: give a file name",
        errno.ENOTDIR: "a file is in the way where a folder is needed: choose another path",
    }
    fix = fixes.get(e.errno, "check the path and try again")
    return f"{where}: {what}; {fix}" if where else f"{what}; {fix}"


def _who() -> str:
    """``gankit``, or ``gankit[rank N]`` in a process of a multi-process (torchrun) run."""
    return f"gankit[rank {os.environ['RANK']}]" if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1 else "gankit"


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    debug = bool(os.environ.get("GANKIT_DEBUG"))
    with warnings.catch_warnings():  # restores the hook when main() returns (in-process callers, tests)
        if not debug:
            warnings.showwarning = _show_warning
        try:
            return int(args._run(args) or 0)
        except KeyboardInterrupt:  # outside training (start-up, evaluation...): nothing half-written is kept
            print("gankit: interrupted", file=sys.stderr)
            return 130
        except (RuntimeError, ConfigError, ValueError, OSError) as e:
            code = _report(e, debug)
            if code is None:
                raise
            return code


def _report(e: Exception, debug: bool):
    """Print a user's error in one line and return the exit code; None for an error to re-raise
    (a bug, or anything with GANKIT_DEBUG=1). Imports the training modules (and torch) only when
    the error can be theirs, so that commands which never train start without torch."""
    if isinstance(e, RuntimeError):
        from gankit.training.distributed import RankZeroFailed
        from gankit.training.loop import RunError

        if isinstance(e, RankZeroFailed):  # torchrun: rank 0 printed the error; the other ranks only exit
            return 2
        if not isinstance(e, RunError) or debug:
            return None
        print(f"{_who()}: error: {e}", file=sys.stderr)  # the message says what was saved and how to resume
        return 1
    if debug:
        return None
    if isinstance(e, (ConfigError, FileNotFoundError)):
        print(f"{_who()}: error: {e}", file=sys.stderr)
    elif isinstance(e, ValueError):  # bad input found past the config (a damaged checkpoint, a wrong file)
        print(f"{_who()}: error: {e}\n(set GANKIT_DEBUG=1 to see the traceback)", file=sys.stderr)
    else:  # OSError: a full disk, a read-only or unreadable place met while working
        print(f"{_who()}: error: {_os_error_message(e)}\n(set GANKIT_DEBUG=1 to see the traceback)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
