"""``python main.py train [all | health | zoo | MODEL …]``: regenerate the trained artifacts.

The trainers live in ``models/`` (``models.train`` for the health models, ``models.train_zoo``
for the camera, speaker and gesture models, ``models.train_photo`` for the two photo-search
encoders, trained together); this command runs them with the simulator's
:func:`simulator.recommend.devices_that_fit` so each card lists the devices it fits, which
``models/`` cannot compute by itself (it never imports the simulator).
"""

from __future__ import annotations

from cli.core import UserError

ZOO_GROUP = "zoo"
PHOTO_GROUP = "photo"


def cmd_train(args) -> int:
    from models import train, train_photo, train_zoo
    from simulator.recommend import devices_that_fit

    photo = [train_photo.IMAGE, train_photo.TEXT]
    groups = {**train.groups(), ZOO_GROUP: list(train_zoo.RECIPES), PHOTO_GROUP: photo}
    known = [*train.RECIPES, *train_zoo.RECIPES, *photo]
    names: list[str] = []
    for target in args.targets or ["all"]:
        if target == "all":
            names += known
        elif target in groups:
            names += groups[target]
        elif target in known:
            names.append(target)
        else:
            raise UserError(
                f"unknown train target {target!r}: expected all, {', '.join(groups)} or one of {', '.join(known)}"
            )
    names = list(dict.fromkeys(names))
    health = [n for n in names if n in train.RECIPES]
    if health:
        train.train(health, devices_fit=devices_that_fit)
    for name in names:
        if name in train_zoo.RECIPES:
            train_zoo.train(name, devices_fit=devices_that_fit)
    if set(photo) & set(names):
        train_photo.train(devices_fit=devices_that_fit)
    return 0


def register(subparsers) -> None:
    """Add ``train``."""
    parser = subparsers.add_parser(
        "train", help="train models from scratch and write their artifacts and cards (minutes each)"
    )
    parser.add_argument(
        "targets",
        nargs="*",
        help=f"all (default), a group (health, {ZOO_GROUP}, {PHOTO_GROUP}) or model names",
    )
    parser.set_defaults(func=cmd_train)
