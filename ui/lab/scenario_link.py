""" "Use in a scenario": open a shipped scenario that runs a model and stage the variant as a
what-if edit (the user then presses Re-run). The edit is a scenario override, as any what-if
edit is: ``devices.<device>.models.<model>`` or a chain stage's ``variant``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from models.cards import ARTIFACTS_DIR
from ui.library import shipped_scenarios
from ui.whatif import placeable_stages

if TYPE_CHECKING:
    from ui.main_window import MainWindow


def _override_for(meta: dict, model: str) -> str | None:
    """The scenario path that sets ``model``'s variant in the run described by ``meta``."""
    for device, d in (meta.get("devices") or {}).items():
        if any(m.get("model") == model for m in (d or {}).get("models") or []):
            return f"devices.{device}.models.{model}"
    for app, chain, index, stage in placeable_stages(meta):
        if stage.get("model") == model:
            return f"apps.{app}.params.chains.{chain}.stages.{index}.variant"
    return None


def open_whatif_with(window: MainWindow, model: str, variant: str, root: Path = ARTIFACTS_DIR) -> str:
    """Stage ``model`` = ``variant`` in ``window``'s what-if, opening a scenario that runs the
    model when the open one does not; returns what was done, in words."""
    if Path(root).resolve() != ARTIFACTS_DIR.resolve():
        return (
            f"{model}:{variant} is in {root}; scenarios load models from {ARTIFACTS_DIR}. "
            "Open the lab without --artifacts to use a variant in a scenario."
        )
    session = window.session
    path = _override_for(session.trace.meta, model) if session is not None and session.spec else None
    if path is None:
        for scenario, _name, _description in shipped_scenarios():
            if f"{model}" not in Path(scenario).read_text():
                continue
            if window.open_path(scenario, quiet=True) and window.session is not None:
                path = _override_for(window.session.trace.meta, model)
                if path is not None:
                    break
    if path is None:
        return (
            f"No shipped scenario runs {model} on a device: add it to a scenario's devices to try {variant}."
        )
    whatif = window.whatif
    for i in range(whatif.model_box.count()):
        data = whatif.model_box.itemData(i)
        if data and data[1] == model:
            whatif.model_box.setCurrentIndex(i)
            whatif.variant_box.setCurrentText(variant)
            break
    whatif.add_override(path, variant)
    for i in range(window.left_tabs.count()):
        if window.left_tabs.tabText(i) == "What-if":
            window.left_tabs.setCurrentIndex(i)
    window.raise_()
    window.activateWindow()
    return f"What-if in {window.session.trace.meta.get('scenario')}: {path} = {variant}. Press Re-run (Ctrl+R) to see its effect."
