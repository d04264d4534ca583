"""Entry point of the ``synth-ray`` command: dispatch, and exit codes scripts can rely on."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

__all__ = ["main"]

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _dispatch(command: str) -> Callable[..., int]:
    from synth_ray.cli import commands

    if command == "demo":
        from synth_ray.main_job import run_demo_command

        return run_demo_command
    if command == "report":
        from synth_ray.cli.report_command import run_report

        return run_report
    if command == "validate":
        from synth_ray.cli.validate_command import run_validate

        return run_validate
    return {"fit": commands.run_fit, "sample": commands.run_sample,
            "describe": commands.run_describe}[command]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``synth-ray`` with ``argv``; return the exit code (see ``synth-ray --help``)."""
    from synth_ray.cli.parser import build_parser
    from synth_ray.errors import SynthRayError

    args = build_parser().parse_args(argv)  # exits with 2 on usage errors
    try:
        return _dispatch(args.command)(args)
    except SynthRayError as exc:
        print(f"synth-ray {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:  # e.g. `synth-ray describe m | head`: the reader left early
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BUG
    except KeyboardInterrupt:
        print("synth-ray: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
