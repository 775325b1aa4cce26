"""The model lab on the command line: ``models``, ``models predict``, ``compress``, ``recommend``.

Device costs (the ``compress`` device rows, ``recommend``) come from the simulator's one cost
function (:func:`simulator.compute.estimate_card`) and variant rule
(:func:`simulator.recommend.recommend`): this module sits on top of both layers, which is why
it lives in ``cli/`` and not in ``models/``. Importing it is light: cards are JSON; torch and
ONNX Runtime load only when a model runs (``models predict``, ``compress``), and the
``compress`` flags, which come from the recipes, are added only when ``compress`` is parsed.

    python main.py models [--json]
    python main.py models predict ecg_verifier:ptq-entropy --input rec.npy --fs 250
    python main.py compress camera_detector --recipe pruned --amount 0.5
    python main.py recommend ecg_verifier --device smartwatch --max-latency-ms 5
    python main.py models import net.onnx --name my_net --samples x.npy --labels y.npy

A model imported with ``models import`` lives in the user's model store (:mod:`models.store`)
and every command takes it by name like a zoo model.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from cli.core import UserError
from models.cards import ARTIFACTS_DIR, ModelCard, list_cards

if TYPE_CHECKING:
    import numpy as np

# Models that take a raw signal at a known rate: --fs resamples the user's recording to it.
NATIVE_RATE_HZ = {"ecg_verifier": 125}
# The profile a model is estimated on when --device is not given.
DEFAULT_DEVICE = {
    "camera_detector": "camera",
    "keyword_spotter": "speaker",
    "gesture_imu": "smartwatch",
    "hr_screener": "smartwatch",
    "ecg_verifier": "phone",
}


def _root(args, model: str | None = None) -> Path:
    """``--artifacts`` if given, else where ``model`` lives (zoo or the user's store)."""
    from models.store import model_root

    if getattr(args, "artifacts", None):
        return Path(args.artifacts)
    return model_root(model) if model else ARTIFACTS_DIR


def all_cards(args) -> list[ModelCard]:
    """Every model's cards: the zoo's, then the imported ones (``--artifacts`` shows one folder)."""
    from models.store import store_dir

    if getattr(args, "artifacts", None):
        return list_cards(Path(args.artifacts))
    return list_cards(ARTIFACTS_DIR) + list_cards(store_dir())


def _cards_of(model: str, root: Path) -> list[ModelCard]:
    cards = [c for c in list_cards(root) if c.model == model]
    if not cards:
        from models.store import store_dir, stored_models

        known = sorted({c.model for c in list_cards(root)} | set(stored_models(store_dir())))
        raise UserError(
            f"unknown model {model!r}: expected one of {', '.join(known) or 'none (train first)'}"
        )
    return cards


def _split_target(target: str, root: Path) -> tuple[str, str]:
    model, _, variant = target.partition(":")
    variant = variant or "fp32"
    variants = [c.variant for c in _cards_of(model, root)]
    if variant not in variants:
        raise UserError(f"model {model!r} has no variant {variant!r}: expected one of {', '.join(variants)}")
    return model, variant


def _check_device(device: str) -> None:
    from simulator.profiles import available_profiles

    if device not in available_profiles() and not Path(device).exists():
        raise UserError(
            f"unknown --device {device!r}: expected one of {', '.join(available_profiles())} or a profile file"
        )


@contextlib.contextmanager
def _quiet():
    """ORT and the ONNX exporter print progress and warnings; the CLI shows results only."""
    previous = logging.root.level
    logging.disable(logging.WARNING)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)
            logging.root.setLevel(previous)


# ---------------------------------------------------------------- models [--json]


def cmd_models(args) -> int:
    cards = all_cards(args)
    if args.json:
        print(json.dumps([c.to_dict() for c in cards], indent=2))
        return 0
    if not cards:
        print("no model cards yet: train with `python main.py train all`")
        return 0
    header = (
        f"{'model':<16} {'variant':<15} {'prec':<6} {'params':>8} {'MACs':>11} {'bytes':>9} "
        f"{'acc':>7} {'b1 ms':>8} {'b64 ms':>8} {'0-MACs':>6}  devices"
    )
    print(header)
    print("-" * len(header))
    for c in cards:
        # dynamic sparsity: the share of MACs on exact-zero activations (skippable, no accuracy change)
        measured = (c.extra or {}).get("dynamic_sparsity")
        zero_macs = f"{measured['macs_skippable']:.0%}" if measured else "-"
        print(
            f"{c.model:<16} {c.variant:<15} {c.precision:<6} {c.params:>8} {c.macs:>11} {c.bytes:>9} "
            f"{c.accuracy:>7.4f} {c.latency_ms_b1:>8.3f} {c.latency_ms_b64:>8.3f} {zero_macs:>6}  "
            f"{','.join(c.devices_fit) or '-'}"
        )
    return 0


# ---------------------------------------------------------------- models predict


def _resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Band-limited resampling along the last axis (FFT: drops what the new rate cannot hold)."""
    import numpy as np

    n_in = x.shape[-1]
    n_out = int(round(n_in * fs_out / fs_in))
    spectrum = np.fft.rfft(x, axis=-1)
    kept = np.zeros((*x.shape[:-1], n_out // 2 + 1), dtype=complex)
    n = min(kept.shape[-1], spectrum.shape[-1])
    kept[..., :n] = spectrum[..., :n]
    return (np.fft.irfft(kept, n_out, axis=-1) * (n_out / n_in)).astype(np.float32)


def prepare_input(model: str, input_shape: tuple[int, ...], data: np.ndarray, fs: float | None) -> np.ndarray:
    """The user's array as a ``(N, *input_shape)`` batch; raw signals are resampled and windowed."""
    import numpy as np

    if fs is not None:
        if model not in NATIVE_RATE_HZ:
            raise UserError(f"--fs applies to raw-signal models ({', '.join(NATIVE_RATE_HZ)}), not {model!r}")
        if fs <= 0:
            raise UserError(f"--fs must be a positive sample rate in Hz, got {fs}")
        if data.ndim not in (1, 2):
            raise UserError(
                f"--input with --fs must be a 1-D recording or 2-D (records, samples), got {data.shape}"
            )
        signal = _resample(np.atleast_2d(data.astype(np.float32)), fs, NATIVE_RATE_HZ[model])
        window = input_shape[-1]
        if signal.shape[1] < window:
            seconds = window / NATIVE_RATE_HZ[model]
            raise UserError(
                f"--input is {signal.shape[1] / NATIVE_RATE_HZ[model]:.1f} s long; {model} needs {seconds:g} s"
            )
        n = signal.shape[1] // window
        return signal[:, : n * window].reshape(-1, *input_shape)
    if tuple(data.shape) == tuple(input_shape):
        data = data[None]
    if tuple(data.shape[1:]) != tuple(input_shape):
        shape = ", ".join(map(str, input_shape))
        hint = " (or a raw recording with --fs HZ)" if model in NATIVE_RATE_HZ else ""
        raise UserError(f"--input has shape {data.shape}; {model} expects ({shape}) or (N, {shape}){hint}")
    return np.ascontiguousarray(data, dtype=np.float32)


def cmd_predict(args) -> int:
    import numpy as np

    root = _root(args, args.target.partition(":")[0])
    model, variant = _split_target(args.target, root)
    path = Path(args.input)
    if not path.exists():
        raise UserError(f"--input {path} does not exist")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise UserError(f"--input {path} is not a readable .npy array ({error})") from None
    if not np.issubdtype(data.dtype, np.number):
        raise UserError(f"--input {path} must hold numbers, got dtype {data.dtype}")
    from models.compress.loaders import load_predictor  # torch and ONNX Runtime: only now

    with _quiet():
        predictor = load_predictor(model, variant, root)
    x = prepare_input(model, tuple(predictor.input_shape), data, args.fs)
    probs = predictor.predict_proba(x)
    classes = list(predictor.classes)
    if args.json:
        rows = [
            {
                "index": i,
                "class": classes[int(p.argmax())],
                "probabilities": dict(zip(classes, map(float, p), strict=True)),
            }
            for i, p in enumerate(probs)
        ]
        print(json.dumps({"model": model, "variant": variant, "predictions": rows}, indent=2))
        return 0
    print(f"{model}:{variant} on {len(x)} sample(s) from {path}")
    print(f"{'#':>4} {'class':<14} " + " ".join(f"{c:>12}" for c in classes))
    for i, p in enumerate(probs):
        print(f"{i:>4} {classes[int(p.argmax())]:<14} " + " ".join(f"{v:>12.4f}" for v in p))
    return 0


# ---------------------------------------------------------------- compress


def _recipe_flags():
    from models.compress.recipes import RECIPES

    flags: dict[str, tuple[type, set[str], str]] = {}
    for recipe in RECIPES.values():
        for name, option in recipe.options.items():
            kind, users, help_text = flags.get(name, (option.kind, set(), option.help))
            users.add(recipe.name)
            flags[name] = (kind, users, help_text)
    return flags


def _add_recipe_flags(parser: argparse.ArgumentParser) -> None:
    """The recipes' options as ``compress`` flags (imports the recipes: torch, ONNX)."""
    for name, (kind, users, help_text) in _recipe_flags().items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=kind,
            default=None,
            help=f"{help_text} ({', '.join(sorted(users))})",
        )


def _device_costs(card: ModelCard, device: str) -> tuple[float, float, bool]:
    from simulator.compute import estimate_card
    from simulator.profiles import load_profile

    cost = estimate_card(load_profile(device), card)
    return cost.latency_s, cost.energy_j, cost.fits_memory


def _ratio(before: float, after: float, word_less: str, word_more: str) -> str:
    if after <= 0 or before <= 0:
        return "-"
    return f"{before / after:.2f}× {word_less}" if before >= after else f"{after / before:.2f}× {word_more}"


def comparison(
    before: ModelCard, before_accuracy: float, after: ModelCard, latency: dict, device: str
) -> dict:
    """Before/after numbers; ``latency`` holds ``{"b1": [fp32_ms, variant_ms], "b64": [...]}``."""
    lat_b, energy_b, fits_b = _device_costs(before, device)
    lat_a, energy_a, fits_a = _device_costs(after, device)
    return {
        "model": after.model,
        "variant": after.variant,
        "recipe": after.recipe,
        "device": device,
        "before": {
            "variant": before.variant,
            "bytes": before.bytes,
            "params": before.params,
            "macs": before.macs,
            "accuracy": before_accuracy,
            "latency_ms_b1": latency["b1"][0],
            "latency_ms_b64": latency["b64"][0],
            "device_latency_ms": lat_b * 1e3,
            "device_energy_mj": energy_b * 1e3,
            "fits_memory": fits_b,
        },
        "after": {
            "variant": after.variant,
            "bytes": after.bytes,
            "params": after.params,
            "macs": after.macs,
            "accuracy": after.accuracy,
            "latency_ms_b1": latency["b1"][1],
            "latency_ms_b64": latency["b64"][1],
            "device_latency_ms": lat_a * 1e3,
            "device_energy_mj": energy_a * 1e3,
            "fits_memory": fits_a,
            "precision": after.precision,
            "sparsity": after.sparsity,
            "devices_fit": after.devices_fit,
        },
        "size_ratio": before.bytes / after.bytes,
        "accuracy_delta_points": 100 * (after.accuracy - before_accuracy),
        "latency_ratio_b64": latency["b64"][0] / latency["b64"][1],
    }


def format_comparison(c: dict) -> str:
    b, a = c["before"], c["after"]
    rows = [
        (
            "size (bytes)",
            f"{b['bytes']:,}",
            f"{a['bytes']:,}",
            _ratio(b["bytes"], a["bytes"], "smaller", "larger"),
        ),
        ("params", f"{b['params']:,}", f"{a['params']:,}", _ratio(b["params"], a["params"], "fewer", "more")),
        ("MACs / sample", f"{b['macs']:,}", f"{a['macs']:,}", _ratio(b["macs"], a["macs"], "fewer", "more")),
        (
            "accuracy (held-out)",
            f"{b['accuracy']:.4f}",
            f"{a['accuracy']:.4f}",
            f"{c['accuracy_delta_points']:+.2f} pts",
        ),
        (
            "host latency b1",
            f"{b['latency_ms_b1']:.3f} ms",
            f"{a['latency_ms_b1']:.3f} ms",
            _ratio(b["latency_ms_b1"], a["latency_ms_b1"], "faster", "slower"),
        ),
        (
            "host latency b64",
            f"{b['latency_ms_b64']:.3f} ms",
            f"{a['latency_ms_b64']:.3f} ms",
            _ratio(b["latency_ms_b64"], a["latency_ms_b64"], "faster", "slower"),
        ),
        (
            f"{c['device']} latency (est.)",
            f"{b['device_latency_ms']:.4f} ms",
            f"{a['device_latency_ms']:.4f} ms",
            _ratio(b["device_latency_ms"], a["device_latency_ms"], "faster", "slower"),
        ),
        (
            f"{c['device']} energy (est.)",
            f"{b['device_energy_mj']:.5f} mJ",
            f"{a['device_energy_mj']:.5f} mJ",
            _ratio(b["device_energy_mj"], a["device_energy_mj"], "less", "more"),
        ),
    ]
    lines = [f"{c['model']}: {b['variant']} -> {a['variant']}", f"recipe: {c['recipe']}", ""]
    lines.append(f"{'':<24} {'before':>16} {'after':>16}   change")
    lines += [f"{name:<24} {x:>16} {y:>16}   {change}" for name, x, y, change in rows]
    lines.append("")
    lines.append(
        f"precision: {a['precision']}   sparsity: {a['sparsity']:.2f}   fits: {', '.join(a['devices_fit']) or '-'}"
    )
    return "\n".join(lines)


def cmd_compress(args) -> int:
    from models.compress import lab
    from models.compress.compare import side_by_side
    from models.compress.recipes import RECIPES, check_options, compress
    from simulator.recommend import devices_that_fit

    if args.recipe not in RECIPES:
        raise UserError(f"unknown recipe {args.recipe!r} for --recipe: expected one of {', '.join(RECIPES)}")
    options = {}
    for name, (_, users, _) in _recipe_flags().items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if args.recipe not in users:
            flag = "--" + name.replace("_", "-")
            raise UserError(
                f"{flag} does not apply to recipe {args.recipe!r} (it is for {', '.join(sorted(users))})"
            )
        options[name] = value
    try:
        options = check_options(args.recipe, options)  # a bad knob: exit 2 before anything is written
    except lab.LabError as error:
        name, _, problem = str(error).partition(": ")
        raise UserError(f"--{name.replace('_', '-')} {problem}") from None
    device = args.device or DEFAULT_DEVICE.get(args.model, "phone")
    _check_device(device)
    root = _root(args, args.model)
    if root != ARTIFACTS_DIR and not getattr(args, "artifacts", None):
        return _compress_imported(args, root, options, device)
    try:
        bench = lab.open_workbench(args.model, root, devices_fit=devices_that_fit)
    except lab.LabError as error:
        raise UserError(str(error)) from None
    print(
        f"compressing {args.model} with {args.recipe} (measuring on {len(bench.splits.x_test)} held-out samples)…",
        file=sys.stderr,
    )
    with _quiet():
        try:
            variant, card = compress(bench, args.recipe, **options)
        except lab.LabError as error:
            raise UserError(str(error)) from None
        before = side_by_side(bench, variant, root)
    result = comparison(before.card, before.accuracy, card, before.latency, device)
    print(json.dumps(result, indent=2) if args.json else format_comparison(result))
    return 0


# ---------------------------------------------------------------- recommend


def cmd_recommend(args) -> int:
    from simulator.recommend import recommend

    root = _root(args, args.model)
    cards = _cards_of(args.model, root)
    _check_device(args.device)
    if args.max_latency_ms is not None and args.max_latency_ms <= 0:
        raise UserError(f"--max-latency-ms must be positive, got {args.max_latency_ms}")
    max_latency_s = args.max_latency_ms / 1e3 if args.max_latency_ms is not None else None
    result = recommend(cards, args.device, max_latency_s, args.max_accuracy_loss)
    result["model"] = args.model
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if result["choice"] else 1
    budget = f", latency ≤ {args.max_latency_ms:g} ms" if args.max_latency_ms is not None else ""
    print(
        f"{args.model} on {result['device']}{budget}, accuracy within {args.max_accuracy_loss:g} pts of the best:"
    )
    print(
        f"{'variant':<15} {'prec':<6} {'acc':>7} {'bytes':>9} {'latency ms':>11} {'energy mJ':>11}  verdict"
    )
    for r in result["variants"]:
        print(
            f"{r['variant']:<15} {r['precision']:<6} {r['accuracy']:>7.4f} {r['bytes']:>9} "
            f"{r['latency_ms']:>11.4f} {r['energy_mj']:>11.5f}  {r['reason']}"
        )
    if result["choice"] is None:
        print(f"no variant of {args.model} fits {result['device']} within the budget")
        return 1
    chosen = next(r for r in result["variants"] if r["variant"] == result["choice"])
    print(
        f"\nrecommended: {args.model}:{chosen['variant']} — fits, {chosen['latency_ms']:.4f} ms and "
        f"{chosen['energy_mj']:.5f} mJ per inference at accuracy {chosen['accuracy']:.4f}"
    )
    return 0


def _compress_imported(args, root: Path, options: dict, device: str) -> int:
    """``compress`` of an imported graph: the graph recipes (models.importer.compress)."""
    from models.importer import ImportFailure
    from models.importer.compress import compress_imported
    from simulator.recommend import devices_that_fit

    if options:
        flags = ", ".join("--" + k.replace("_", "-") for k in options)
        raise UserError(f"{flags}: the recipes of an imported model take no options")
    print(f"compressing imported {args.model} with {args.recipe}…", file=sys.stderr)
    try:
        with _quiet():
            before, card, latency = compress_imported(args.model, args.recipe, root, devices_that_fit)
    except ImportFailure as error:
        raise UserError(str(error)) from None
    result = comparison(before, before.accuracy, card, latency, device)
    result["agreement_with_fp32"] = card.extra["evaluation"].get("agreement_with_fp32")
    result["accuracy_kind"] = card.extra["evaluation"]["accuracy_kind"]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_comparison(result))
        print(
            f"agreement with fp32: {result['agreement_with_fp32']:.4f} on {card.extra['evaluation']['n']} samples"
            f" (accuracy: {result['accuracy_kind']})"
        )
    return 0


# ---------------------------------------------------------------- models import


def _shape(text: str) -> list[int]:
    try:
        dims = [int(d) for d in text.replace("x", ",").split(",") if d.strip()]
    except ValueError:
        raise UserError(f"--input-shape {text!r}: expected positive integers like 3,224,224") from None
    if not dims or min(dims) < 1:
        raise UserError(f"--input-shape {text!r}: expected positive integers like 3,224,224")
    return dims


def _pairs(items: list[str] | None, flag: str) -> dict[str, str]:
    found = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UserError(f"{flag} {item!r}: expected NAME=VALUE")
        found[key] = value
    return found


def device_costs(card: ModelCard) -> list[dict]:
    """The card's latency, energy and memory fit on every shipped profile (the one cost function)."""
    from simulator.compute import estimate_card
    from simulator.profiles import available_profiles, load_profile

    rows = []
    for name in available_profiles():
        cost = estimate_card(load_profile(name), card)
        rows.append(
            {
                "device": name,
                "latency_ms": cost.latency_s * 1e3,
                "energy_mj": cost.energy_j * 1e3,
                "fits_memory": cost.fits_memory,
                "bound": cost.bound,
                "memory_needed_mb": cost.memory_needed_bytes / 1e6,
                "memory_budget_mb": cost.memory_budget_bytes / 1e6,
            }
        )
    return rows


def cmd_import(args) -> int:
    from models.importer import ImportFailure, import_model
    from simulator.recommend import devices_that_fit

    fixed = {}
    for key, value in _pairs(args.fix, "--fix").items():
        try:
            fixed[key] = float(value)
        except ValueError:
            raise UserError(f"--fix {key}={value}: expected a number") from None
    recurrent = None
    if args.recurrent:
        pair = _pairs([args.recurrent], "--recurrent")
        recurrent = next(iter(pair.items()))
    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    print(f"importing {args.file} as {args.name}…", file=sys.stderr)
    try:
        with _quiet():
            result = import_model(
                args.file,
                args.name,
                samples=args.samples,
                labels=args.labels,
                input_shape=_shape(args.input_shape) if args.input_shape else None,
                fixed=fixed,
                input_name=args.input,
                classes=classes,
                task=args.task,
                force=args.force,
                devices_fit=devices_that_fit,
                recurrent=recurrent,
            )
    except ImportFailure as error:
        raise UserError(str(error)) from None
    card = result.card
    costs = device_costs(card)
    if args.json:
        out = {
            **card.to_dict(),
            "layers": [vars(layer) for layer in result.count.layers],
            "device_costs": costs,
            "store": str(result.folder),
            "import_wall_s": result.wall_s,
        }
        print(json.dumps(out, indent=2))
        return 0
    evaluation = card.extra["evaluation"]
    print(f"imported {args.file} as {card.model} into {result.folder} in {result.wall_s:.2f} s")
    for note in result.notes:
        print(f"  cleaned: {note}")
    print(
        f"params {card.params:,}   MACs {card.macs:,}   bytes {card.bytes:,}   peak activations "
        f"{card.peak_activation_bytes:,} B   input {card.input_shape}   classes {', '.join(card.classes)}"
    )
    print(f"ops: {', '.join(f'{op}×{n}' for op, n in card.extra['ops'].items())}")
    if card.extra["uncounted_ops"]:
        print(f"note: onnx-tool counts 0 MACs for {', '.join(card.extra['uncounted_ops'])}")
    print(f"accuracy {card.accuracy:.4f} ({evaluation['accuracy_kind']}, n={evaluation['n']})")
    print(f"host latency b1 {card.latency_ms_b1:.3f} ms, b64 {card.latency_ms_b64:.3f} ms (0 = not timed)")
    print(f"\n{'device':<12} {'latency ms':>11} {'energy mJ':>11} {'memory MB':>16}  fits")
    for r in costs:
        memory = f"{r['memory_needed_mb']:.2f}/{r['memory_budget_mb']:.0f}"
        print(
            f"{r['device']:<12} {r['latency_ms']:>11.4f} {r['energy_mj']:>11.5f} {memory:>16}  "
            f"{'yes' if r['fits_memory'] else 'NO'}"
        )
    return 0


# ---------------------------------------------------------------- wiring


def _models_entry(args) -> int:
    if getattr(args, "models_action", None) == "predict":
        return cmd_predict(args)
    if getattr(args, "models_action", None) == "import":
        return cmd_import(args)
    return cmd_models(args)


def register(subparsers) -> None:
    """Add ``models`` (with ``predict``), ``compress`` and ``recommend`` to the CLI."""
    models = subparsers.add_parser("models", help="model cards; `models predict` runs a model on your data")
    models.add_argument("--json", action="store_true", help="print the cards as a JSON list")
    models.add_argument("--artifacts", default=None, help=argparse.SUPPRESS)
    models.set_defaults(func=_models_entry)
    actions = models.add_subparsers(dest="models_action", parser_class=type(models))
    predict = actions.add_parser("predict", help="class probabilities of MODEL[:VARIANT] on a .npy file")
    predict.add_argument("target", help="MODEL or MODEL:VARIANT (default variant fp32)")
    predict.add_argument(
        "--input", required=True, help=".npy array (N, *input_shape), or a raw recording with --fs"
    )
    predict.add_argument(
        "--fs", type=float, default=None, help="sample rate (Hz) of a raw recording; resampled"
    )
    predict.add_argument("--json", action="store_true")
    predict.add_argument("--artifacts", default=None, help=argparse.SUPPRESS)
    imp = actions.add_parser(
        "import", help="import an ONNX file or torch.export program into your model store"
    )
    imp.add_argument("file", help=".onnx file, or a torch.export program (.pt2, torch.export.save)")
    imp.add_argument("--name", required=True, help="the model's name from now on (not a zoo name)")
    imp.add_argument(
        "--samples", default=None, help=".npy (N, *input_shape) float32: calibration and accuracy"
    )
    imp.add_argument("--labels", default=None, help=".npy (N,) class indices of --samples")
    imp.add_argument("--input-shape", default=None, help="one sample's shape, e.g. 3,224,224 (symbolic dims)")
    imp.add_argument("--input", default=None, help="the data input's name (default: the first float input)")
    imp.add_argument("--fix", action="append", help="NAME=VALUE: fold input NAME as a constant (repeatable)")
    imp.add_argument(
        "--recurrent", default=None, help="IN=OUT: input IN is fed output OUT of the step before"
    )
    imp.add_argument("--classes", default=None, help="comma-separated class names")
    imp.add_argument("--task", default=None, help="one line for the card")
    imp.add_argument("--force", action="store_true", help="replace an earlier import of that name")
    imp.add_argument("--json", action="store_true", help="print the card, layers and device costs as JSON")

    compress = subparsers.add_parser(
        "compress",
        help="make a compressed variant and compare it with FP32",
        populate=_add_recipe_flags,
    )
    compress.add_argument("model")
    compress.add_argument(
        "--recipe", required=True, help="ptq-minmax, ptq-entropy, pruned, ... (see `models`)"
    )
    compress.add_argument("--device", default=None, help="profile for the estimated device latency/energy")
    compress.add_argument("--json", action="store_true")
    compress.add_argument("--artifacts", default=None, help=argparse.SUPPRESS)
    compress.set_defaults(func=cmd_compress)

    rec = subparsers.add_parser("recommend", help="the best variant of a model for a device budget")
    rec.add_argument("model")
    rec.add_argument("--device", required=True, help="profile name (smartwatch, phone, …) or profile file")
    rec.add_argument("--max-latency-ms", type=float, default=None, help="latency budget per inference")
    rec.add_argument("--max-accuracy-loss", type=float, default=1.0, help="points below the best allowed")
    rec.add_argument("--json", action="store_true")
    rec.add_argument("--artifacts", default=None, help=argparse.SUPPRESS)
    rec.set_defaults(func=cmd_recommend)
