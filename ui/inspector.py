"""Device inspector: presence, profile, power state, battery and energy, compute, models.

Values are read from the trace index at the playhead, so seeking backwards shows the device
as it was. The model manifest (model, variant, version, size, privacy, app, what it serves,
why this variant) is the device's deployed models at the playhead, from the scenario and
the trace's deploy and remove records; each model's ModelCard comes from ``models/artifacts``.
"""

from __future__ import annotations

import bisect
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.session import Session

CARD_FIELDS = [
    ("task", "task", ""),
    ("precision", "precision", ""),
    ("params", "parameters", ""),
    ("macs", "MACs / sample", "counted on the fp32 graph"),
    ("bytes", "size on disk", "bytes of the artifact file(s)"),
    ("peak_activation_bytes", "peak activations", ""),
    ("accuracy", "accuracy (held-out)", "measured on held-out data"),
    ("latency_ms_b1", "host latency b=1", "measured on this host, one torch thread, median"),
    ("latency_ms_b64", "host latency b=64", "measured on this host, one torch thread, median"),
    ("recipe", "recipe", "how this variant was made"),
    ("runtime", "runtime", ""),
    ("sparsity", "sparsity", ""),
    ("devices_fit", "fits on", ""),
    ("privacy_level", "privacy", ""),
    ("version", "version", ""),
]


MANIFEST_FIELDS = {
    "version": "version",
    "size_bytes": "size",
    "privacy": "privacy",
    "app": "app",
    "serves": "serves",
    "reason": "why",
    "since": "since",
}


def _fmt_card_value(key: str, value: Any) -> str:
    if key in ("bytes", "peak_activation_bytes"):
        return theme.format_bytes(value)
    if key in ("params", "macs"):
        return f"{int(value):,}"
    if key == "accuracy":
        return f"{100 * float(value):.1f} %"
    if key.startswith("latency_ms"):
        return f"{float(value):.3f} ms"
    if key == "sparsity":
        return f"{100 * float(value):.0f} %"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "–"
    return str(value)


def load_card(model: str, variant: str) -> Any | None:
    try:
        from models.cards import ModelCard, card_path

        path = card_path(model, variant)
        return ModelCard.load(path) if path.is_file() else None
    except Exception:  # a missing or half-written card must not break the inspector
        return None


class InspectorPanel(QWidget):
    """Shows the selected device at the playhead."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.device: str | None = None
        layout = QVBoxLayout(self)
        self.title = QLabel("Click a device in the topology to inspect it.")
        self.title.setWordWrap(True)
        self.title.setFont(theme.font(1.3, bold=True))
        layout.addWidget(self.title)
        form = QFormLayout()
        self.fields: dict[str, QLabel] = {}
        for key, label, tip in [
            ("presence", "In the home", "devices join and leave during a run (trace records)"),
            ("kind", "Kind", ""),
            ("profile", "Profile", "the device profile (simulator/profiles), each number with its source"),
            ("power", "Power state", "the profile's watts for this power state"),
            ("on", "Switched", ""),
            ("battery", "Battery", "state of charge from the trace's battery samples"),
            ("energy", "Energy so far", "integrated exactly at each power-state change"),
            ("compute", "Compute", "inferences running at the playhead (queue: live run only)"),
            ("infers", "Inferences so far", ""),
        ]:
            value = QLabel("–")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            if tip:
                value.setToolTip(tip)
            form.addRow(label + ":", value)
            self.fields[key] = value
        layout.addLayout(form)
        models_label = QLabel("Deployed models at the playhead (manifest, ModelCard)")
        models_label.setFont(theme.font(1.0, bold=True))
        layout.addWidget(models_label)
        self.models = QTreeWidget()
        self.models.setHeaderLabels(["model / field", "value"])
        self.models.setToolTip(
            "What the device serves at the playhead: models from the scenario, then deploys and "
            "removals recorded in the trace. Expand a model for its ModelCard."
        )
        self.models.setColumnWidth(0, 170)
        layout.addWidget(self.models, 1)
        self._models_key: tuple | None = None

    def set_session(self, session: Session | None) -> None:
        self.session = session
        self._models_key = None
        if session is None or self.device not in session.index.devices:
            self.device = None
            self.title.setText("Click a device in the topology to inspect it.")
            for v in self.fields.values():
                v.setText("–")
            self.models.clear()

    def show_device(self, name: str | None, t: float) -> None:
        self.device = name
        self._models_key = None
        self.show_time(t)

    def show_time(self, t: float) -> None:
        session = self.session
        if session is None or self.device is None or self.device not in session.index.devices:
            return
        cols = session.index.devices[self.device]
        present = cols.present_at(t)
        absent = "" if present else "  (not in the home now)"
        self.title.setText(f"{self.device}  ·  {cols.kind}{absent}")
        color = theme.device_color(cols.kind).darker(140) if present else theme.qcolor(theme.MUTED_TEXT)
        self.title.setStyleSheet(f"color: {color.name()}")
        live_dev = session.sim.devices.get(self.device) if session.sim is not None else None
        source = ""
        if live_dev is not None:
            source = str(getattr(getattr(live_dev, "profile", None), "source", "") or "")
        change = cols.presence_change_at(t)
        if change is None:
            presence = "yes, from the start" if present else "not yet (joins later)"
        else:
            verb = "joined" if present else "left"
            presence = (
                f"{'yes' if present else 'no'}: {verb} at {theme.format_time(change.t)} ({change.reason})"
            )
        self.fields["presence"].setText(presence)
        self.fields["kind"].setText(cols.kind)
        self.fields["profile"].setText(cols.profile or "–")
        self.fields["profile"].setToolTip(
            f"Source: {source}" if source else "Device profile (simulator/profiles)"
        )
        on = cols.is_on(t)
        state, power_w = cols.state_at(t)
        self.fields["power"].setText(f"{state} · {theme.format_power(power_w if on else 0.0)}")
        reason = ""
        if cols.onoff_t:
            i = bisect.bisect_right(cols.onoff_t, t) - 1
            reason = cols.onoff_reason[i] if i >= 0 else ""
        self.fields["on"].setText(("on" if on else "OFF") + (f" ({reason})" if reason else ""))
        soc = cols.soc_at(t)
        if soc is None:
            self.fields["battery"].setText("mains powered")
        else:
            cap = cols.capacity_wh or 0.0
            self.fields["battery"].setText(f"{100 * soc:.1f} % of {cap:.2f} Wh ({cap * soc:.3f} Wh left)")
        self.fields["energy"].setText(theme.format_energy(cols.energy_at(t)))
        running = cols.running_at(t)
        text = ", ".join(f"{r.model}/{r.variant}" for r in running) or "idle"
        if live_dev is not None and abs(float(session.sim.now) - t) < 1.0:
            q = getattr(live_dev, "compute_queue_len", None)
            if q is not None:
                text += f" · queue {q}"
        self.fields["compute"].setText(text)
        self.fields["infers"].setText(f"{bisect.bisect_right(cols.infer_t, t):,}")
        self._refresh_models(cols.manifest_at(t))

    def manifest_rows(self) -> list[dict[str, str]]:
        """The manifest shown: one dict of field → text per deployed model (tests read it)."""
        rows = []
        for k in range(self.models.topLevelItemCount()):
            top = self.models.topLevelItem(k)
            if top.childCount() == 0:
                continue  # the "(no models)" line
            row = {"model": top.text(0), "variant": top.text(1)}
            for c in range(top.childCount()):
                child = top.child(c)
                if child.text(0) in MANIFEST_FIELDS.values():
                    row[child.text(0)] = child.text(1)
            rows.append(row)
        return rows

    def _refresh_models(self, manifest: dict[str, Any]) -> None:
        key = tuple(manifest.values())
        if key == self._models_key:
            return
        self._models_key = key
        self.models.clear()
        if not manifest:
            QTreeWidgetItem(self.models, ["(no models)", ""])
            return
        for model, deployed in manifest.items():
            card = load_card(model, deployed.variant)
            top = QTreeWidgetItem(self.models, [model, deployed.variant])
            top.setFont(0, theme.font(1.0, bold=True))
            for field, label in MANIFEST_FIELDS.items():
                value = _manifest_value(field, deployed, card)
                QTreeWidgetItem(top, [label, value])
            if card is None:
                QTreeWidgetItem(top, ["ModelCard", "not found in models/artifacts"])
            else:
                card_item = QTreeWidgetItem(top, ["ModelCard", f"{model}/{deployed.variant}"])
                for key_name, label, tip in CARD_FIELDS:
                    if hasattr(card, key_name):
                        item = QTreeWidgetItem(
                            card_item, [label, _fmt_card_value(key_name, getattr(card, key_name))]
                        )
                        if tip:
                            item.setToolTip(1, tip)
                per_layer = getattr(card, "precision_per_layer", None) or {}
                if per_layer:
                    layers = QTreeWidgetItem(card_item, ["precision per layer", f"{len(per_layer)} layers"])
                    for layer, prec in per_layer.items():
                        QTreeWidgetItem(layers, [layer, str(prec)])
            top.setExpanded(True)


def _manifest_value(field: str, deployed: Any, card: Any) -> str:
    """A manifest field as text; a model from the scenario (no deploy record) takes its
    version, size and privacy from its ModelCard."""
    if field == "since":
        return "start (scenario)" if deployed.reason == "in the scenario" else theme.format_time(deployed.t)
    value = getattr(deployed, field)
    if field == "version" and not value and card is not None:
        value = getattr(card, "version", "")
    if field == "size_bytes":
        if not value and card is not None:
            value = getattr(card, "bytes", 0)
        return theme.format_bytes(value) if value else "–"
    if field == "privacy" and not value and card is not None:
        value = getattr(card, "privacy_level", "")
    return str(value) if value not in (None, "") else "–"
