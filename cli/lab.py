"""``score`` (the device leaderboard) and ``lab`` (the model lab window).

    python main.py score [--json] [--device phone] [--task heart] [--model hr_screener]
    python main.py lab [--model hr_screener] [--screenshot lab.png]

The score and its formula are :mod:`simulator.leaderboard` (the one place, also behind the
lab's leaderboard tab); importing this module is light (cards are JSON, Qt loads in ``lab``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cli.core import UserError
from models.cards import ARTIFACTS_DIR


def _root(args) -> Path:
    root = Path(args.artifacts or ARTIFACTS_DIR)
    if not root.is_dir():
        raise UserError(f"--artifacts {root}: not a folder")
    return root


def filter_rows(rows: list[dict], device: str | None, task: str | None, model: str | None) -> list[dict]:
    """Rows on ``device`` (exact), whose task contains ``task`` (any case), of ``model``."""
    task = task.lower() if task else None
    return [
        r
        for r in rows
        if (device is None or r["device"] == device)
        and (task is None or task in r["task"].lower())
        and (model is None or r["model"] == model)
    ]


def cmd_score(args) -> int:
    from cli.models import all_cards
    from simulator.leaderboard import leaderboard
    from simulator.profiles import available_profiles

    _root(args)  # a bad --artifacts is refused
    cards = all_cards(args)  # the zoo's and the imported models' (the user's store)
    if not cards:
        raise UserError(f"no model cards under {_root(args)}: train with `python main.py train all`")
    known = available_profiles()
    if args.device is not None and args.device not in known:
        raise UserError(f"unknown --device {args.device!r}: expected one of {', '.join(known)}")
    models = sorted({c.model for c in cards})
    if args.model is not None and args.model not in models:
        raise UserError(f"unknown --model {args.model!r}: expected one of {', '.join(models)}")
    board = leaderboard(cards, [args.device] if args.device else None)
    board["rows"] = filter_rows(board["rows"], args.device, args.task, args.model)
    if args.task and not board["rows"]:
        tasks = sorted({c.task for c in cards})
        raise UserError(f"no model's task matches --task {args.task!r}; tasks: {'; '.join(tasks)}")
    if args.task or args.model:  # the top 3 of what is shown
        shown = {(r["model"], r["variant"]) for r in board["rows"]}
        board["top3"] = {
            d: [t for t in top if (t["model"], t["variant"]) in shown] for d, top in board["top3"].items()
        }
    if args.json:
        print(json.dumps(board, indent=2))
        return 0
    print(_matrix(board))
    return 0


def _matrix(board: dict) -> str:
    devices = board["devices"]
    by_variant: dict[tuple[str, str], dict] = {}
    for r in board["rows"]:
        by_variant.setdefault((r["model"], r["variant"]), {"row": r})[r["device"]] = r
    width = max(9, *(len(d) for d in devices))
    lines = [f"score: {board['formula']}", ""]
    header = f"{'model:variant':<32} {'acc':>7} {'bytes':>9}  " + " ".join(f"{d:>{width}}" for d in devices)
    lines += [header, "-" * len(header)]
    for (model, variant), cells in sorted(by_variant.items()):
        row = cells["row"]
        flag = "" if row["meets_quality"] else " *"
        scores = []
        for d in devices:
            cell = cells.get(d)
            scores.append(
                f"{'-':>{width}}" if cell is None or cell["score"] is None else f"{cell['score']:>{width}.1f}"
            )
        lines.append(
            f"{model + ':' + variant + flag:<32} {row['accuracy']:>7.4f} {row['bytes']:>9,}  "
            + " ".join(scores)
        )
    lines += [
        "",
        "- : does not fit the device's memory;  * : below 99 % of the FP32 accuracy (not ranked)",
        "",
    ]
    lines.append("top 3 per device:")
    for d in devices:
        top = ", ".join(f"{t['model']}:{t['variant']} {t['score']:.1f}" for t in board["top3"].get(d, []))
        lines.append(f"  {d:<{width}}  {top or '-'}")
    return "\n".join(lines)


def cmd_lab(args) -> int:
    from ui.lab.window import run_lab

    root = _root(args)
    if args.model is not None:
        from ui.lab.window import lab_models

        names = lab_models(root)
        if args.model not in names:
            raise UserError(f"unknown --model {args.model!r}: expected one of {', '.join(names)}")
    return run_lab(root, args.model, args.screenshot)


def register(subparsers) -> None:
    """Add ``score`` and ``lab`` to the CLI."""
    score = subparsers.add_parser("score", help="leaderboard: every variant x device with one score")
    score.add_argument("--json", action="store_true", help="rows, formula and top 3 per device as JSON")
    score.add_argument("--device", default=None, help="only this profile")
    score.add_argument("--task", default=None, help="only models whose task contains this text")
    score.add_argument("--model", default=None, help="only this model")
    score.add_argument("--artifacts", default=None, help=argparse.SUPPRESS)
    score.set_defaults(func=cmd_score)

    lab = subparsers.add_parser("lab", help="the model lab window: compress, compare, variants per device")
    lab.add_argument("--model", default=None, help="model selected at start")
    lab.add_argument("--screenshot", default=None, help="save a PNG of the window and exit")
    lab.add_argument("--artifacts", default=None, help=argparse.SUPPRESS)
    lab.set_defaults(func=cmd_lab)
