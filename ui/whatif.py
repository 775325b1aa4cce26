"""What-if editing: change a battery, a link's loss, a model variant; schedule interventions;
add a device that joins the home at a chosen time, linked to one already there; and each
app's own controls (its view's ``WHATIF_BOX``, e.g. the smart home's placement of a stage).

Edits become scenario overrides (dotted paths), extra scheduled events and extra devices and
links; "Re-run" redoes the run from t = 0 with the same seed, so the difference you see is
the edit, nothing else.
"""

from __future__ import annotations

import math
import re
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from simulator.profiles import LINK_TYPES, available_profiles
from ui import theme
from ui.apps import view_for
from ui.session import Session

INTERVENTIONS = {
    "link_down": ("link", "link down (out of range / offline)"),
    "device_off": ("device", "device switched off"),
}


def parse_clock(text: str) -> float:
    """'10:30' → 37800 s; '1d 02:00' and plain seconds ('900') work too. Raises ValueError."""
    text = text.strip().lower()
    m = re.fullmatch(r"(?:(\d+)\s*d\s*)?(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if m:
        day, h, mi, s = m.groups()
        return int(day or 0) * 86400 + int(h) * 3600 + int(mi) * 60 + int(s or 0)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|min|h)?", text)
    if m:
        return float(m.group(1)) * {"s": 1, "min": 60, "h": 3600, None: 1}[m.group(2)]
    raise ValueError(f"'{text}' is not a time: write hh:mm (e.g. 10:00) or seconds")


def time_field(seconds: float) -> str:
    """A scenario time string (the schema reads s / min / h suffixes)."""
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}min"
    return f"{seconds:g}s"


def place_near(positions: dict[str, tuple[float, float]], target: str) -> list[float]:
    """A position for a new device beside ``target``: outward from the house's centre, turned
    until it keeps clear of the devices already there."""
    if target not in positions:
        return [0.0, 0.0]
    tx, ty = positions[target]
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    cx, cy = sum(xs) / len(xs), sum(ys) / len(ys)
    angle = math.atan2(ty - cy, tx - cx) if (tx, ty) != (cx, cy) else math.pi / 2
    distance = 0.3 * span
    best, best_gap = None, -1.0
    for k in range(12):
        a = angle + (k + 1) // 2 * (-1) ** k * math.radians(30)
        x, y = tx + distance * math.cos(a), ty + distance * math.sin(a)
        gap = min(math.hypot(x - px, y - py) for px, py in positions.values())
        if gap > best_gap:
            best, best_gap = (x, y), gap
        if gap >= 0.25 * span:
            break
    return [round(best[0], 3), round(best[1], 3)]


def placeable_stages(meta: dict[str, Any]) -> list[tuple[str, str, int, dict]]:
    """``(app, chain, stage index, stage)`` of every model stage fed by an input that the apps
    publish in a trace's meta (``meta["chains"]``, the smart-home app's graphs)."""
    out = []
    for app, chains in (meta.get("chains") or {}).items():
        for chain in chains:
            for j, stage in enumerate(chain.get("stages") or []):
                if stage.get("model") and stage.get("trigger") != "timer":
                    out.append((str(app), str(chain["name"]), j, stage))
    return out


def available_variants(model: str) -> list[str]:
    try:
        from models.cards import ARTIFACTS_DIR

        return sorted(p.name.removesuffix(".card.json") for p in (ARTIFACTS_DIR / model).glob("*.card.json"))
    except Exception:  # no artifacts yet
        return []


class WhatIfPanel(QWidget):
    """Form controls bound to scenario fields; ``rerun_requested(overrides, extra_events)``."""

    rerun_requested = Signal(dict, list, list, list)  # overrides, events, devices, links
    error = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.overrides: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.added_devices: list[dict[str, Any]] = []
        self.added_links: list[dict[str, Any]] = []
        layout = QVBoxLayout(self)
        hint = QLabel("Change the house, then Re-run: same seed, so any difference comes from your edit.")
        hint.setWordWrap(True)
        layout.addWidget(hint)

        box = QGroupBox("Battery")
        form = QFormLayout(box)
        self.battery_device = QComboBox()
        self.battery_wh = QDoubleSpinBox()
        self.battery_wh.setRange(0.001, 1000.0)
        self.battery_wh.setDecimals(3)
        self.battery_wh.setSuffix(" Wh")
        self.battery_wh.setToolTip("Battery capacity in watt-hours (devices.<name>.battery.capacity_wh)")
        set_battery = QPushButton("Set")
        set_battery.clicked.connect(self._add_battery)
        row = QHBoxLayout()
        row.addWidget(self.battery_wh)
        row.addWidget(set_battery)
        form.addRow("device", self.battery_device)
        form.addRow("capacity", row)
        self.battery_device.currentIndexChanged.connect(self._battery_device_changed)
        layout.addWidget(box)

        box = QGroupBox("Link quality")
        form = QFormLayout(box)
        self.link_box = QComboBox()
        self.link_loss = QDoubleSpinBox()
        self.link_loss.setRange(0.0, 0.99)
        self.link_loss.setSingleStep(0.05)
        self.link_loss.setToolTip("Probability that one transmission attempt is lost (links.<name>.loss)")
        set_link = QPushButton("Set")
        set_link.clicked.connect(self._add_link)
        row = QHBoxLayout()
        row.addWidget(self.link_loss)
        row.addWidget(set_link)
        form.addRow("link", self.link_box)
        form.addRow("loss", row)
        layout.addWidget(box)

        box = QGroupBox("Model variant")
        form = QFormLayout(box)
        self.model_box = QComboBox()
        self.variant_box = QComboBox()
        self.variant_box.setEditable(True)
        set_model = QPushButton("Set")
        set_model.clicked.connect(self._add_model)
        row = QHBoxLayout()
        row.addWidget(self.variant_box, 1)
        row.addWidget(set_model)
        form.addRow("device model", self.model_box)
        form.addRow("variant", row)
        self.model_box.currentIndexChanged.connect(self._model_changed)
        layout.addWidget(box)

        # the apps' own controls (a view's WHATIF_BOX), one per app instance, filled per session
        self.app_boxes: dict[str, QWidget] = {}
        self.app_box_layout = QVBoxLayout()
        self.app_box_layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.app_box_layout)

        box = QGroupBox("Intervention")
        form = QFormLayout(box)
        self.kind_box = QComboBox()
        for key, (_, label) in INTERVENTIONS.items():
            self.kind_box.addItem(label, key)
        self.target_box = QComboBox()
        self.from_edit = QLineEdit("10:00")
        self.until_edit = QLineEdit("11:00")
        add = QPushButton("Schedule")
        add.clicked.connect(self._add_event)
        form.addRow("what", self.kind_box)
        form.addRow("target", self.target_box)
        row = QHBoxLayout()
        row.addWidget(self.from_edit)
        row.addWidget(QLabel("to"))
        row.addWidget(self.until_edit)
        form.addRow("from", row)
        form.addRow("", add)
        self.kind_box.currentIndexChanged.connect(self._fill_targets)
        layout.addWidget(box)

        box = QGroupBox("Add a device")
        form = QFormLayout(box)
        self.add_profile = QComboBox()
        for profile in available_profiles():
            self.add_profile.addItem(profile, profile)
        self.add_profile.setToolTip("A device profile from simulator/profiles (its numbers have sources)")
        self.add_name = QLineEdit("")
        self.add_name.setPlaceholderText("e.g. tablet")
        self.add_join = QLineEdit("19:00")
        self.add_join.setToolTip("When the device joins the home (hh:mm); it is absent before")
        self.add_leave = QLineEdit("")
        self.add_leave.setPlaceholderText("stays")
        self.add_leave.setToolTip("When it leaves again (hh:mm), or empty: it stays")
        self.add_link_type = QComboBox()
        for link_type in LINK_TYPES:
            self.add_link_type.addItem(theme.link_style(link_type)["label"], link_type)
        self.add_link_to = QComboBox()
        add_device = QPushButton("Add")
        add_device.clicked.connect(self._add_device)
        form.addRow("profile", self.add_profile)
        form.addRow("name", self.add_name)
        row = QHBoxLayout()
        row.addWidget(self.add_join)
        row.addWidget(QLabel("leaves"))
        row.addWidget(self.add_leave)
        form.addRow("joins at", row)
        row = QHBoxLayout()
        row.addWidget(self.add_link_type)
        row.addWidget(QLabel("to"))
        row.addWidget(self.add_link_to, 1)
        form.addRow("link", row)
        form.addRow("", add_device)
        self.add_profile.currentIndexChanged.connect(self._suggest_name)
        layout.addWidget(box)

        layout.addWidget(QLabel("Edits for the next run:"))
        self.edits = QListWidget()
        self.edits.setMaximumHeight(120)
        layout.addWidget(self.edits)
        row = QHBoxLayout()
        self.rerun = QPushButton("Re-run with edits")
        self.rerun.setToolTip("Ctrl+R — rerun from t = 0 with the same seed")
        self.rerun.setFont(theme.font(1.1, bold=True))
        self.rerun.clicked.connect(self._emit_rerun)
        clear = QPushButton("Clear edits")
        clear.clicked.connect(self.clear)
        row.addWidget(self.rerun, 1)
        row.addWidget(clear)
        layout.addLayout(row)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        layout.addWidget(self.result)
        layout.addStretch(1)

    def set_session(self, session: Session | None) -> None:
        self.session = session
        idx = session.index if session is not None else None
        live = session is not None and session.spec is not None
        for w in (self.rerun,):
            w.setEnabled(live)
            w.setToolTip("" if live else "A saved trace cannot be re-run: open its scenario instead")
        self.battery_device.clear()
        self.link_box.clear()
        self.model_box.clear()
        self.add_link_to.clear()
        self._set_app_boxes(session)
        if idx is None:
            return
        for name in idx.devices:
            self.add_link_to.addItem(name, name)
        for name, d in idx.devices.items():
            if d.capacity_wh is not None:
                self.battery_device.addItem(name, name)
        for name in idx.links:
            self.link_box.addItem(name, name)
        for name, d in (idx.meta.get("devices") or {}).items():
            for m in (d or {}).get("models") or []:
                self.model_box.addItem(f"{name} · {m.get('model')}", (name, m.get("model"), m.get("variant")))
        self._fill_targets()
        if session is not None and session.spec is not None:
            self.overrides = dict(session.spec.overrides)
            self.events = list(session.spec.extra_events)
            self.added_devices = list(session.spec.extra_devices)
            self.added_links = list(session.spec.extra_links)
            self._refresh_list()
        self._suggest_name()

    def show_time(self, t: float) -> None:
        """Nothing: the edits are the same at every playhead."""

    def _set_app_boxes(self, session: Session | None) -> None:
        """One box per app whose view has a ``WHATIF_BOX``; its edits arrive as overrides."""
        for box in self.app_boxes.values():
            self.app_box_layout.removeWidget(box)
            box.deleteLater()
        self.app_boxes = {}
        if session is None:
            return
        for entry in session.trace.meta.get("apps") or []:
            box_class = getattr(view_for(entry["type"]), "WHATIF_BOX", None)
            if box_class is None:
                continue
            box = box_class(self)
            box.override.connect(self.add_override)
            box.set_session(session, entry["name"])
            self.app_box_layout.addWidget(box)
            self.app_boxes[entry["name"]] = box

    def _battery_device_changed(self) -> None:
        name = self.battery_device.currentData()
        if self.session is not None and name in self.session.index.devices:
            key = f"devices.{name}.battery.capacity_wh"
            self.battery_wh.setValue(
                float(self.overrides.get(key, self.session.index.devices[name].capacity_wh or 1.0))
            )

    def _model_changed(self) -> None:
        data = self.model_box.currentData()
        self.variant_box.clear()
        if data:
            _, model, variant = data
            variants = available_variants(str(model)) or [str(variant)]
            self.variant_box.addItems(variants)
            self.variant_box.setCurrentText(str(variant))

    def _fill_targets(self) -> None:
        self.target_box.clear()
        if self.session is None:
            return
        what = INTERVENTIONS[self.kind_box.currentData()][0]
        names = self.session.index.links if what == "link" else self.session.index.devices
        for name in names:
            self.target_box.addItem(name, name)

    def _add_battery(self) -> None:
        name = self.battery_device.currentData()
        if name:
            self.overrides[f"devices.{name}.battery.capacity_wh"] = round(self.battery_wh.value(), 4)
            self._refresh_list()

    def _add_link(self) -> None:
        name = self.link_box.currentData()
        if name:
            self.overrides[f"links.{name}.loss"] = round(self.link_loss.value(), 4)
            self._refresh_list()

    def _add_model(self) -> None:
        data = self.model_box.currentData()
        variant = self.variant_box.currentText().strip()
        if data and variant:
            device, model, _ = data
            self.overrides[f"devices.{device}.models.{model}"] = variant
            self._refresh_list()

    def _add_event(self) -> None:
        kind = self.kind_box.currentData()
        target = self.target_box.currentData()
        try:
            t0 = parse_clock(self.from_edit.text())
            t1 = parse_clock(self.until_edit.text())
        except ValueError as exc:
            self.error.emit(str(exc))
            return
        if t1 <= t0:
            self.error.emit("The intervention must end after it starts (e.g. from 10:00 to 11:00).")
            return
        if not target:
            return
        field = INTERVENTIONS[kind][0]
        self.events.append({"at": time_field(t0), "type": kind, field: target, "until": time_field(t1)})
        self._refresh_list()

    def _taken_names(self) -> set[str]:
        names = {d["name"] for d in self.added_devices}
        if self.session is not None:
            names |= set(self.session.index.devices)
        return names

    def _suggest_name(self) -> None:
        profile = str(self.add_profile.currentData() or "device")
        taken = self._taken_names()
        k = 1
        while f"{profile}{k}" in taken:
            k += 1
        self.add_name.setText(f"{profile}{k}")

    def _add_device(self) -> None:
        """The 'Add a device' form → an added device, its link and its join (and leave) events."""
        name = self.add_name.text().strip()
        target = self.add_link_to.currentData()
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
            self.error.emit("Give the new device a name of letters, digits, - or _ (e.g. tablet).")
            return
        if name in self._taken_names():
            self.error.emit(f"There is already a device named {name!r}: choose another name.")
            return
        if not target:
            self.error.emit("Choose the device the new one links to.")
            return
        try:
            join_s = parse_clock(self.add_join.text())
            leave_s = parse_clock(self.add_leave.text()) if self.add_leave.text().strip() else None
        except ValueError as exc:
            self.error.emit(str(exc))
            return
        if leave_s is not None and leave_s <= join_s:
            self.error.emit("The device must leave after it joins (e.g. joins 19:00, leaves 22:00).")
            return
        self.add_device(
            name,
            str(self.add_profile.currentData()),
            join_s,
            str(self.add_link_type.currentData()),
            str(target),
            leave_s,
        )

    def add_device(
        self, name: str, profile: str, join_s: float, link_type: str, to: str, leave_s: float | None = None
    ) -> None:
        """Add device ``name`` (``profile``) joining at ``join_s`` (leaving at ``leave_s``),
        with a ``link_type`` link to device ``to``, placed beside it in the house."""
        positions = {}
        if self.session is not None:
            positions = {n: d.position for n, d in self.session.index.devices.items() if d.position}
        positions.update({d["name"]: tuple(d["position"]) for d in self.added_devices})
        self.added_devices.append({"name": name, "profile": profile, "position": place_near(positions, to)})
        self.added_links.append({"name": f"{name}-{to}", "type": link_type, "a": name, "b": to})
        reason = "added in a what-if"
        self.events.append(
            {"at": time_field(join_s), "type": "device_join", "device": name, "reason": reason}
        )
        if leave_s is not None:
            self.events.append(
                {"at": time_field(leave_s), "type": "device_leave", "device": name, "reason": reason}
            )
        self._refresh_list()
        self._suggest_name()

    def add_override(self, path: str, value: Any) -> None:
        self.overrides[path] = value
        self._refresh_list()

    def add_event(self, event: dict[str, Any]) -> None:
        self.events.append(dict(event))
        self._refresh_list()

    def clear(self) -> None:
        self.overrides.clear()
        self.events.clear()
        self.added_devices.clear()
        self.added_links.clear()
        self._refresh_list()

    def _refresh_list(self) -> None:
        self.edits.clear()
        for k, v in self.overrides.items():
            if k.endswith(".placement") and isinstance(v, dict):
                parts = k.split(".")
                what = ", ".join(f"{f} {v[f]}" for f in ("to", "split", "boundary") if f in v)
                QListWidgetItem(
                    f"{parts[4]} stage {parts[6]}: placement {v.get('policy')} ({what})", self.edits
                )
                continue
            QListWidgetItem(f"{k} = {v}", self.edits)
        for d in self.added_devices:
            links = [ln for ln in self.added_links if ln["a"] == d["name"]]
            via = ", ".join(f"{theme.link_style(ln['type'])['label']} to {ln['b']}" for ln in links)
            QListWidgetItem(
                f"add device {d['name']} ({d['profile']})" + (f", {via}" if via else ""), self.edits
            )
        for e in self.events:
            target = e.get("link") or e.get("device")
            until = f" → {e['until']}" if e.get("until") else ""
            QListWidgetItem(f"{e['type']} {target} at {e['at']}{until}", self.edits)

    def _emit_rerun(self) -> None:
        self.rerun_requested.emit(
            dict(self.overrides), list(self.events), list(self.added_devices), list(self.added_links)
        )

    def show_result(self, text: str) -> None:
        self.result.setText(text)
