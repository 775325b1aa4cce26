"""Device inspector: profile, power state, battery and energy so far, compute, hosted models.

Values are read from the trace index at the playhead; the hosted models' ModelCards come
from the live simulation when there is one, otherwise from ``models/artifacts``.
"""

from __future__ import annotations

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
        models_label = QLabel("Hosted models (ModelCards)")
        models_label.setFont(theme.font(1.0, bold=True))
        layout.addWidget(models_label)
        self.models = QTreeWidget()
        self.models.setHeaderLabels(["model / field", "value"])
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
        self.refresh(t)

    def refresh(self, t: float) -> None:
        session = self.session
        if session is None or self.device is None or self.device not in session.index.devices:
            return
        cols = session.index.devices[self.device]
        meta = (session.index.meta.get("devices") or {}).get(self.device, {}) or {}
        self.title.setText(f"{self.device}  ·  {cols.kind}")
        self.title.setStyleSheet(f"color: {theme.device_color(cols.kind).darker(140).name()}")
        profile = str(meta.get("profile", "–"))
        live_dev = session.sim.devices.get(self.device) if session.sim is not None else None
        source = ""
        if live_dev is not None:
            source = str(getattr(getattr(live_dev, "profile", None), "source", "") or "")
        self.fields["kind"].setText(cols.kind)
        self.fields["profile"].setText(profile)
        self.fields["profile"].setToolTip(
            f"Source: {source}" if source else "Device profile (simulator/profiles)"
        )
        on = cols.is_on(t)
        state, power_w = cols.state_at(t)
        self.fields["power"].setText(f"{state} · {theme.format_power(power_w if on else 0.0)}")
        reason = ""
        if cols.onoff_t:
            import bisect

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
        import bisect as _b

        n_inf = _b.bisect_right(cols.infer_t, t)
        self.fields["infers"].setText(f"{n_inf:,}")
        self._refresh_models(meta, live_dev)

    def _refresh_models(self, meta: dict, live_dev: Any) -> None:
        hosted: list[tuple[str, str, Any]] = []
        live_models = getattr(live_dev, "models", None) if live_dev is not None else None
        if isinstance(live_models, dict) and live_models:
            for model, card in live_models.items():
                hosted.append((model, str(getattr(card, "variant", "")), card))
        else:
            for m in meta.get("models") or []:
                model, variant = str(m.get("model")), str(m.get("variant"))
                hosted.append((model, variant, load_card(model, variant)))
        key = tuple((m, v) for m, v, _ in hosted)
        if key == self._models_key:
            return
        self._models_key = key
        self.models.clear()
        if not hosted:
            QTreeWidgetItem(self.models, ["(no models)", ""])
            return
        for model, variant, card in hosted:
            top = QTreeWidgetItem(self.models, [model, variant])
            top.setFont(0, theme.font(1.0, bold=True))
            if card is None:
                QTreeWidgetItem(top, ["card", "not found in models/artifacts"])
                continue
            for key_name, label, tip in CARD_FIELDS:
                if hasattr(card, key_name):
                    item = QTreeWidgetItem(top, [label, _fmt_card_value(key_name, getattr(card, key_name))])
                    if tip:
                        item.setToolTip(1, tip)
            per_layer = getattr(card, "precision_per_layer", None) or {}
            if per_layer:
                layers = QTreeWidgetItem(top, ["precision per layer", f"{len(per_layer)} layers"])
                for layer, prec in per_layer.items():
                    QTreeWidgetItem(layers, [layer, str(prec)])
            top.setExpanded(True)
