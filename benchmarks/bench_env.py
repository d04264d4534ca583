"""Build and use the separate benchmark venv that holds the reference tools.

SDV and SDMetrics are benchmark-only: they must never become dependencies of
synth-ray (SDV is Business-Source-licensed, and it pins pandas<3 while the
project runs pandas 3). So they live in ``<repo>/.bench-venv``, and synth-ray
only talks to them through a subprocess that prints JSON
(``benchmarks/sdv_side.py``). This module is stdlib-only so that the main
venv can import it without pulling anything in.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
REQUIREMENTS = BENCH_DIR / "requirements-bench.txt"
SDV_SIDE = BENCH_DIR / "sdv_side.py"
VENV_NAME = ".bench-venv"
STAMP_NAME = ".requirements.sha256"

# Variables that would leak the caller's (main) environment into the bench
# venv's interpreter and make it import the wrong packages.
_LEAKY_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")


def requirements_hash(path: Path = REQUIREMENTS) -> str:
    """Hash the pinned requirements: the stamp compares it to decide on a rebuild."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def venv_python(venv: Path) -> Path:
    """Path of the interpreter inside ``venv`` (POSIX layout; the project is Linux-only)."""
    return venv / "bin" / "python"


def _is_current(venv: Path, digest: str) -> bool:
    """True when the venv exists and was built from exactly these requirements."""
    stamp = venv / STAMP_NAME
    return venv_python(venv).exists() and stamp.exists() and stamp.read_text().strip() == digest


def _clean_env() -> dict[str, str]:
    """Copy of os.environ without variables that point at the main venv."""
    return {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}


def _build(venv: Path, requirements: Path, digest: str, pip_args: tuple[str, ...] = ()) -> None:
    """(Re)create the venv from scratch and install the pins.

    ``--clear`` rather than an in-place ``pip install``: upgrading in place
    would leave packages that the new pins no longer pull, so the reference
    figures would depend on the venv's history.
    """
    (venv / STAMP_NAME).unlink(missing_ok=True)
    subprocess.run(["python3", "-m", "venv", "--clear", str(venv)], check=True, env=_clean_env())
    pip = [
        str(venv_python(venv)),
        "-m",
        "pip",
        "install",
        "--no-input",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, *pip_args, "-r", str(requirements)], check=True, env=_clean_env())
    # Written last, atomically: an interrupted build leaves no stamp and is redone.
    tmp = venv / (STAMP_NAME + ".tmp")
    tmp.write_text(digest + "\n")
    tmp.replace(venv / STAMP_NAME)


def ensure_venv(*, venv_name: str, requirements: Path, root: Path | None = None,
                pip_args: tuple[str, ...] = ()) -> Path:
    """Return the python of ``<root>/<venv_name>``, building it from ``requirements`` if needed.

    The venv is rebuilt only when the hash of ``requirements`` differs from the
    stamp, because a build takes minutes. A file lock beside the venv keeps two
    concurrent benchmark processes from building the same venv at once. Each
    reference tool whose pins conflict with another's gets a venv of its own
    (mostlyai-engine needs ``psutil<6``; the SDV venv pins ``psutil==7.2.2``).
    ``pip_args`` go to ``pip install`` (e.g. ``("--no-deps",)`` for a requirements file that
    pins the whole closure but leaves out a package that cannot work here).
    """
    venv = (root or REPO_ROOT).resolve() / venv_name
    digest = requirements_hash(requirements)
    if _is_current(venv, digest):
        return venv_python(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / (venv_name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_current(venv, digest):  # another process may have built it meanwhile
            _build(venv, requirements, digest, pip_args)
    return venv_python(venv)


def ensure_bench_venv(*, root: Path | None = None) -> Path:
    """Return the bench venv's python, building ``<root>/.bench-venv`` if needed.

    ``root`` is the repository root (default: this checkout); the venv holds
    requirements-bench.txt (SDV, SDMetrics, LightGBM).
    """
    return ensure_venv(venv_name=VENV_NAME, requirements=REQUIREMENTS, root=root)


def parse_last_json_line(stdout: str) -> dict[str, Any]:
    """Decode the last non-empty stdout line: sdv_side.py's contract is one JSON line last."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError("sdv_side.py printed nothing on stdout")
    result = json.loads(lines[-1])
    if not isinstance(result, dict):
        raise RuntimeError(f"sdv_side.py printed {type(result).__name__}, expected a JSON object")
    return result


def run_script_in_venv(python: Path, script: Path, args: list[str], *,
                       timeout: float | None = None) -> dict[str, Any]:
    """Run ``script ARGS`` with ``python`` (a benchmark venv's) and return its last JSON line.

    A subprocess (not an import) keeps the reference libraries out of the
    caller's interpreter. Raises RuntimeError with the stderr tail when the
    script fails, and subprocess.TimeoutExpired when ``timeout`` seconds pass.
    """
    proc = subprocess.run(
        [str(python), str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_clean_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{script.name} {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
        )
    return parse_last_json_line(proc.stdout)


def run_in_bench_venv(args: list[str], *, timeout: float | None = None) -> dict[str, Any]:
    """Run ``sdv_side.py ARGS`` with the bench venv's python and return its JSON.

    Raises RuntimeError with the stderr tail when the script fails, and
    subprocess.TimeoutExpired when ``timeout`` seconds pass.
    """
    return run_script_in_venv(ensure_bench_venv(), SDV_SIDE, args, timeout=timeout)


def _main(argv: list[str]) -> int:
    """CLI: ``python benchmarks/bench_env.py`` builds the venv; extra args run sdv_side.py."""
    if not argv:
        print(ensure_bench_venv())
        return 0
    print(json.dumps(run_in_bench_venv(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
