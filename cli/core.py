"""The core commands: run, list, estimate, gui; the parser and the error boundary."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

EXIT_BAD_INPUT = 2


class UserError(Exception):
    """An error the user can fix; printed as one sentence, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 on its own errors, and ``populate``: a callback that adds
    arguments whose definition needs heavy imports (``compress``'s recipe flags), called only
    when this (sub)parser parses or prints its help, so other commands stay fast."""

    def __init__(self, *args, populate=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._populate = populate

    def _populated(self) -> None:
        if self._populate is not None:
            populate, self._populate = self._populate, None
            populate(self)

    def parse_known_args(self, args=None, namespace=None):
        self._populated()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._populated()
        return super().format_help()

    def error(self, message: str) -> None:  # argparse's own errors also exit 2, with usage
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def _duration(text: str) -> float:
    from simulator.validate import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# -- run -------------------------------------------------------------------------------
class ProgressBar:
    """A one-line progress bar on stderr with the simulated-time rate."""

    def __init__(self, total_s: float, enabled: bool) -> None:
        self.total_s = max(total_s, 1e-9)
        self.enabled = enabled
        self.start = time.perf_counter()
        self.last_draw = -1.0
        self.tty = sys.stderr.isatty()
        self.finished = False

    def __call__(self, sim_s: float) -> None:
        if not self.enabled:
            return
        wall = time.perf_counter() - self.start
        done = sim_s >= self.total_s
        if self.finished or (not done and wall - self.last_draw < (0.1 if self.tty else 2.0)):
            return
        self.finished = done
        self.last_draw = wall
        frac = min(sim_s / self.total_s, 1.0)
        bar = "█" * int(frac * 30) + "░" * (30 - int(frac * 30))
        rate = sim_s / wall if wall > 0 else 0.0
        hours, rest = divmod(int(sim_s), 3600)
        line = f"  {bar} {frac:6.1%}  sim {hours:02d}:{rest // 60:02d}  {rate:,.0f}× real time"
        end = "\n" if done or not self.tty else ""
        print(("\r" if self.tty else "") + line, end=end, file=sys.stderr, flush=True)


def print_summary(summary: dict, apps: list[dict] | None = None, mains: set[str] | None = None) -> None:
    """The summary as aligned tables: the devices, then each app's own table
    (``simulator/apps/<type>/table.py``; ``apps`` as in the scenario: type and name).
    ``mains``: the devices without a battery (default: guessed from their kind)."""
    from simulator.apps import app_tables

    print(
        f"\n{summary['scenario']}  (seed {summary['seed']}, {summary['sim_time_s'] / 3600:.1f} h simulated "
        f"in {summary['wall_s']:.3g} s, {summary['events']:,} events)\n"
    )
    print(f"  {'device':<10} {'battery start':>13} {'battery end':>11} {'energy':>12} {'inferences':>10}")
    for name, d in summary["devices"].items():
        energy = d["energy_j"]
        energy_text = f"{energy / 1000:.1f} kJ" if energy >= 10000 else f"{energy:.1f} J"
        on_mains = name in mains if mains is not None else d["kind"] in ("cloud", "speaker", "hub")
        start = "mains" if on_mains else f"{d['battery_start_pct']:.1f} %"
        end = f"{d['battery_end_pct']:.1f} %" if start != "mains" else "mains"
        print(f"  {name:<10} {start:>13} {end:>11} {energy_text:>12} {d['inferences']:>10}")
    for line in app_tables(summary, apps or []):
        print(line)


def cmd_run(args: argparse.Namespace) -> int:
    from simulator.engine import Simulation
    from simulator.runs import write_run

    scenario = _resolve_scenario(args.scenario)
    sim = Simulation.from_file(scenario, seed=args.seed)  # validates before anything is written
    until = sim.duration_s if args.until is None else min(args.until, sim.duration_s)
    out_dir = Path(args.out) if args.out else Path("runs") / f"{scenario.stem}-seed{sim.seed}"
    _check_out_dir(out_dir)  # before the run: a bad --out must not cost a whole run
    progress = ProgressBar(until, enabled=not args.quiet)
    sim.run(until=until, progress=progress)
    summary = sim.summary()  # also reads the end gauges into the trace's meta
    try:
        write_run(summary, sim.trace, out_dir)
    except OSError as exc:
        raise UserError(f"--out {out_dir}: cannot write there ({exc.strerror or exc})") from None
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        mains = {name for name, device in sim.devices.items() if device.battery is None}
        print_summary(summary, sim.spec["apps"], mains)
        print(f"\n  wrote {out_dir / 'summary.json'} and {out_dir / 'trace.jsonl.gz'}")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from simulator.apps import load_trace
    from simulator.runs import SummaryError, summarize_trace

    path = Path(args.trace)
    if path.is_dir():
        path = path / "trace.jsonl.gz"
    if not path.is_file():
        raise UserError(f"{path}: no such trace file")
    trace = load_trace(path)  # a damaged or foreign file is a TraceError naming it
    try:
        summary = summarize_trace(trace)
    except SummaryError as exc:
        raise UserError(f"{path}: {exc}") from None
    out = Path(args.out) if args.out else path.with_name("summary.rebuilt.json")
    try:
        out.write_text(json.dumps(summary, indent=2) + "\n")
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        from simulator.trace import DeviceJoined

        mains = {name for name, d in trace.meta.get("devices", {}).items() if d.get("capacity_wh") is None}
        mains |= {r.device for r in trace.of(DeviceJoined) if r.capacity_wh is None}
        print_summary(summary, trace.meta.get("apps") or [], mains)
        print(f"\n  rebuilt from {path}; wrote {out}")
    return 0


def _check_out_dir(out_dir: Path) -> None:
    """An output folder can be made: it (or its nearest existing parent) is a folder."""
    for candidate in (out_dir, *out_dir.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise UserError(f"--out {out_dir}: {candidate} is a file, not a folder")
            return


def _resolve_scenario(text: str) -> Path:
    from simulator.scenario import SCENARIOS_DIR, list_scenarios

    path = Path(text)
    if path.exists():
        return path
    for candidate in (SCENARIOS_DIR / text, SCENARIOS_DIR / f"{text}.yaml"):
        if candidate.exists():
            return candidate
    names = ", ".join(p.stem for p, _, _ in list_scenarios())
    raise UserError(f"scenario {text!r} not found (a path to a .yaml file, or one of: {names})")


def cmd_list(args: argparse.Namespace) -> int:
    from simulator.scenario import list_scenarios

    for path, name, description in list_scenarios():
        first = description.split(". ")[0].rstrip(".")
        print(f"  {path.stem:<22} {name}: {first}.")
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    from simulator.compute import estimate
    from simulator.profiles import load_profile

    if args.macs < 0 or args.weight_bytes < 0 or args.activation_bytes < 0:
        raise UserError("--macs, --weight-bytes and --activation-bytes must be ≥ 0")
    if args.batch < 1:
        raise UserError(f"--batch must be ≥ 1, got {args.batch}")
    profile = load_profile(args.device)
    cost = estimate(profile, args.macs, args.weight_bytes, args.precision, args.activation_bytes, args.batch)
    print(json.dumps({"device": profile.name, **cost.to_dict()}, indent=2))
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from ui.app import run_gui

    return run_gui(args.scenario, args.play, args.speed, args.screenshot)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hometwin", description="HomeTwin: simulate a home of on-device AI devices.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="run a scenario headless")
    run.add_argument("scenario", help="scenario file or name (see `list`)")
    run.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    run.add_argument("--until", type=_duration, default=None, help="stop early, e.g. 6h")
    run.add_argument("--out", default=None, help="output folder (default runs/<scenario>-seed<N>)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)

    summ = sub.add_parser("summary", help="rebuild a run's summary from its saved trace")
    summ.add_argument("trace", help="trace.jsonl.gz of a run (or its folder)")
    summ.add_argument(
        "--out", default=None, help="where to write it (default summary.rebuilt.json beside the trace)"
    )
    summ.add_argument("--json", action="store_true", help="print the summary as JSON")
    summ.set_defaults(func=cmd_summary)

    lst = sub.add_parser("list", help="list the shipped scenarios")
    lst.set_defaults(func=cmd_list)

    est = sub.add_parser("estimate", help="latency, energy and memory fit of a model on a device")
    est.add_argument("--device", required=True, help="profile name (smartwatch, phone, …) or profile file")
    est.add_argument("--macs", type=float, required=True, help="multiply-accumulates per inference")
    est.add_argument("--weight-bytes", type=float, required=True, help="model size in bytes")
    est.add_argument("--activation-bytes", type=float, default=0.0, help="peak activation bytes per sample")
    est.add_argument("--precision", choices=("fp32", "fp16", "int8"), default="fp32")
    est.add_argument("--batch", type=int, default=1)
    est.set_defaults(func=cmd_estimate)

    gui = sub.add_parser("gui", help="open the GUI")
    gui.add_argument("--scenario", default=None, help="scenario file or saved trace to open")
    gui.add_argument("--play", type=float, default=None, help="play for this many wall seconds, then exit")
    gui.add_argument("--speed", type=float, default=600.0, help="playback speed (0.1 to 10000)")
    gui.add_argument("--screenshot", default=None, help="save a PNG screenshot before exiting")
    gui.set_defaults(func=cmd_gui)

    import importlib

    from cli import COMMAND_MODULES

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch loads, if a command loads it
    parser = build_parser()
    if not argv:
        argv = ["gui"]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    from simulator.trace import TraceError
    from simulator.validate import SpecError

    try:
        return int(args.func(args) or 0)
    except (UserError, SpecError, TraceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python flushes stdout at exit)
        return 0
