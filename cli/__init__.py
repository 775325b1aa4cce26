"""The command line (``python main.py …``): on top of every layer, like ``bench/``.

Each module in :data:`COMMAND_MODULES` has ``register(subparsers)`` adding its
subcommands; importing it must stay light (no torch): heavy imports go inside the command.
"""

from __future__ import annotations

COMMAND_MODULES: tuple[str, ...] = ("cli.models", "cli.train", "cli.sweep", "cli.lab")


def main(argv: list[str] | None = None) -> int:
    from cli.core import main as run_main

    return run_main(argv)
