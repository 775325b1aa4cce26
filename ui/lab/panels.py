"""The lab's views: before → after, the sensitivity plot, variants for every device.

Device numbers come from the simulator's one cost function
(:func:`simulator.compute.estimate_card`) and variant rule (:func:`simulator.recommend.recommend`);
everything else is read from the measured cards.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from models.cards import ModelCard
from simulator.compute import card_macs_skippable, estimate_card
from simulator.profiles import available_profiles, load_profile
from simulator.recommend import recommend
from ui import theme
from ui.lab.tables import Cell, fill, make_table, shade

HOST_TIP = "measured on this host (one thread, median)"
DEVICE_TIP = "estimated for the device by simulator.compute.estimate_card (profile numbers with sources)"


def _change(before: float, after: float, fewer: str, more: str) -> str:
    if before <= 0 or after <= 0:
        return "-"
    if before == after:
        return "same"
    return f"{before / after:.2f}× {fewer}" if before >= after else f"{after / before:.2f}× {more}"


def _group(title: str, widget: QWidget, note: str = "") -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    if note:
        label = QLabel(note)
        label.setWordWrap(True)
        label.setStyleSheet(f"color: {theme.MUTED_TEXT}")
        layout.addWidget(label)
    layout.addWidget(widget)
    return box


class CompareView(QWidget):
    """Before → after side by side: card numbers, per layer, per class, confusion matrices and
    the cost on every device profile."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        self.title = QLabel("Pick a model and a recipe, then Run (or compare with an existing variant).")
        self.title.setFont(theme.font(1.15, bold=True))
        self.title.setWordWrap(True)
        grid.addWidget(self.title, 0, 0, 1, 2)
        self.summary = make_table(["", "before", "after", "change"])
        self.layers = make_table(
            ["layer", "precision before → after", "weight zeros", "zero inputs (dynamic)"]
        )
        self.classes = make_table(["class", "before", "after", "change"])
        self.devices = make_table(
            [
                "device",
                "latency before",
                "latency after",
                "energy before",
                "energy after",
                "fits before → after",
            ],
            sortable=True,
        )
        self.confusion_before = make_table([])
        self.confusion_after = make_table([])
        confusion = QWidget()
        row = QHBoxLayout(confusion)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(_group("before", self.confusion_before))
        row.addWidget(_group("after", self.confusion_after))
        for table, rows in ((self.summary, 10), (self.layers, 8), (self.classes, 6), (self.devices, 10)):
            table.setMinimumHeight(30 + 28 * rows)
        grid.addWidget(
            _group("The card", self.summary, "bytes on disk, parameters, MACs per sample, held-out accuracy"),
            1,
            0,
        )
        grid.addWidget(_group("Per class (held-out accuracy)", self.classes), 1, 1)
        grid.addWidget(
            _group("Per layer", self.layers, "dynamic: share of the layer's MACs whose input is exactly 0"),
            2,
            0,
        )
        grid.addWidget(
            _group("Confusion matrix (rows: true, columns: predicted)", confusion),
            2,
            1,
        )
        grid.addWidget(_group("Cost on every device profile", self.devices, DEVICE_TIP), 3, 0, 1, 2)
        grid.setRowStretch(3, 1)

    def show_pair(
        self,
        before: ModelCard,
        after: ModelCard,
        before_accuracy: float | None = None,
        latency_ms: dict | None = None,
        confusion: dict | None = None,
    ) -> None:
        """Fill every view with ``before`` (usually FP32) against ``after``; ``latency_ms`` holds
        host latencies timed in alternation, ``confusion`` the two matrices (from a run)."""
        accuracy_before = before.accuracy if before_accuracy is None else before_accuracy
        self.title.setText(f"{after.model}: {before.variant} → {after.variant}    recipe: {after.recipe}")
        self.title.setToolTip(after.recipe)
        lat = latency_ms or {
            "b1": [before.latency_ms_b1, after.latency_ms_b1],
            "b64": [before.latency_ms_b64, after.latency_ms_b64],
        }
        timed = "timed in alternation now" if latency_ms else "from the cards (measured at different times)"
        ds_before, ds_after = card_macs_skippable(before), card_macs_skippable(after)
        rows = [
            (
                "bytes",
                before.bytes,
                after.bytes,
                "{:,}",
                _change(before.bytes, after.bytes, "smaller", "larger"),
                "",
            ),
            (
                "params",
                before.params,
                after.params,
                "{:,}",
                _change(before.params, after.params, "fewer", "more"),
                "",
            ),
            (
                "MACs / sample",
                before.macs,
                after.macs,
                "{:,}",
                _change(before.macs, after.macs, "fewer", "more"),
                "",
            ),
            ("precision", before.precision, after.precision, "{}", "", ""),
            (
                "weight sparsity",
                before.sparsity,
                after.sparsity,
                "{:.1%}",
                "",
                "share of weights that are zero",
            ),
            (
                "dynamic sparsity",
                ds_before,
                ds_after,
                "{:.1%}",
                "",
                "share of MACs on exact-zero activations (held-out inputs): skippable at zero accuracy change",
            ),
            (
                "accuracy (held-out)",
                accuracy_before,
                after.accuracy,
                "{:.4f}",
                f"{100 * (after.accuracy - accuracy_before):+.2f} pts",
                "",
            ),
            (
                "host latency b1",
                lat["b1"][0],
                lat["b1"][1],
                "{:.3f} ms",
                _change(lat["b1"][0], lat["b1"][1], "faster", "slower"),
                f"{HOST_TIP}, {timed}",
            ),
            (
                "host latency b64",
                lat["b64"][0],
                lat["b64"][1],
                "{:.3f} ms",
                _change(lat["b64"][0], lat["b64"][1], "faster", "slower"),
                f"{HOST_TIP}, {timed}",
            ),
        ]
        fill(
            self.summary,
            [
                [
                    Cell(name, tooltip=tip),
                    Cell(fmt.format(b), b, tip),
                    Cell(fmt.format(a), a, tip),
                    Cell(change),
                ]
                for name, b, a, fmt, change, tip in rows
            ],
        )
        self._fill_layers(before, after)
        fill(
            self.classes,
            [
                [
                    Cell(name),
                    Cell(
                        f"{before.per_class_accuracy.get(name, float('nan')):.4f}",
                        before.per_class_accuracy.get(name),
                    ),
                    Cell(
                        f"{after.per_class_accuracy.get(name, float('nan')):.4f}",
                        after.per_class_accuracy.get(name),
                    ),
                    Cell(
                        f"{100 * (after.per_class_accuracy.get(name, 0) - before.per_class_accuracy.get(name, 0)):+.2f} pts"
                    ),
                ]
                for name in after.classes
            ],
        )
        self._fill_confusion(after.classes, confusion)
        self._fill_devices(before, after)

    def _fill_layers(self, before: ModelCard, after: ModelCard) -> None:
        weight_zeros = (after.extra or {}).get("per_layer_sparsity", {})
        dynamic = ((after.extra or {}).get("dynamic_sparsity") or {}).get("per_layer", {})
        # the after card's layer names (torch module paths); an FP32 card exported from ONNX
        # may name its layers differently: then its overall precision stands for each
        names = list(dict.fromkeys([*after.precision_per_layer, *dynamic])) or list(
            before.precision_per_layer
        )
        rows = []
        for name in names:
            b = before.precision_per_layer.get(name, before.precision)
            a = after.precision_per_layer.get(name, "-")
            rows.append(
                [
                    Cell(name),
                    Cell(f"{b} → {a}"),
                    Cell(
                        f"{weight_zeros[name]:.1%}" if name in weight_zeros else "-", weight_zeros.get(name)
                    ),
                    Cell(f"{dynamic[name]:.1%}" if name in dynamic else "-", dynamic.get(name)),
                ]
            )
        fill(self.layers, rows)

    def _fill_confusion(self, classes: list[str], confusion: dict | None) -> None:
        for table, key in ((self.confusion_before, "before"), (self.confusion_after, "after")):
            if not confusion:
                table.setColumnCount(1)
                table.setHorizontalHeaderLabels([""])
                fill(table, [[Cell("run a recipe to see it")]])
                continue
            counts = confusion[key]
            table.setColumnCount(len(classes))
            table.setHorizontalHeaderLabels([c[:10] for c in classes])
            table.verticalHeader().setVisible(True)
            rows = []
            for i, row in enumerate(counts):
                total = max(sum(row), 1)
                rows.append(
                    [
                        shade(Cell(f"{n:,}", n, f"true {classes[i]}, predicted {classes[j]}"), n / total)
                        for j, n in enumerate(row)
                    ]
                )
            fill(table, rows)
            table.setVerticalHeaderLabels([c[:10] for c in classes])

    def _fill_devices(self, before: ModelCard, after: ModelCard) -> None:
        rows = []
        for name in available_profiles():
            profile = load_profile(name)
            b, a = estimate_card(profile, before), estimate_card(profile, after)
            skipping = any(e.zero_skipping_fraction for e in profile.engines.values())
            label = name + (" (skips zeros)" if skipping else "")
            tip = profile.description + (
                "; its NPU skips zero activations: dynamic sparsity is charged" if skipping else ""
            )
            rows.append(
                [
                    Cell(label, name, tip),
                    Cell(f"{b.latency_s * 1e3:.4f} ms", b.latency_s, DEVICE_TIP),
                    Cell(f"{a.latency_s * 1e3:.4f} ms", a.latency_s, DEVICE_TIP),
                    Cell(f"{b.energy_j * 1e3:.5f} mJ", b.energy_j, DEVICE_TIP),
                    Cell(f"{a.energy_j * 1e3:.5f} mJ", a.energy_j, DEVICE_TIP),
                    Cell(
                        f"{'yes' if b.fits_memory else 'NO'} → {'yes' if a.fits_memory else 'NO'}",
                        tooltip=f"needs {a.memory_needed_bytes / 1e6:.2f} MB of {a.memory_budget_bytes / 1e6:.1f} MB",
                    ),
                ]
            )
        fill(self.devices, rows)
        self.devices.sortItems(0, Qt.SortOrder.AscendingOrder)


class SensitivityView(QWidget):
    """Per-layer sensitivity (leave-one-out KL recovered when that layer stays FP32) as bars,
    with a tick per layer: the ticked layers are the ``fp32_layers`` knob of ``mixed``."""

    layers_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        self.plot = pg.PlotWidget(background=theme.BACKGROUND)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).setPen(theme.TEXT)
            self.plot.getAxis(side).setTextPen(theme.TEXT)
        self.plot.setLabel("left", "KL recovered when kept FP32 (validation)")
        self.plot.showGrid(y=True, alpha=0.3)
        self.plot.setMouseEnabled(x=False, y=False)
        layout.addWidget(self.plot, 3)
        side = QVBoxLayout()
        self.note = QLabel("")
        self.note.setWordWrap(True)
        side.addWidget(self.note)
        self.list = QListWidget()
        self.list.itemChanged.connect(lambda _item: self.layers_changed.emit())
        side.addWidget(self.list, 1)
        layout.addLayout(side, 2)
        self.rows: list[dict] = []

    def set_sensitivity(self, rows: list[dict], source: str, kept: list[str]) -> None:
        """``rows``: ``{"layer", "kl_recovered", ...}`` from a mixed card; ``kept`` ticked."""
        self.rows = rows
        self.plot.clear()
        self.list.blockSignals(True)
        self.list.clear()
        if not rows:
            self.note.setText("No sensitivity measured for this model yet: run the mixed recipe once.")
            self.list.blockSignals(False)
            return
        values = [float(r["kl_recovered"]) for r in rows]
        self.plot.addItem(
            pg.BarGraphItem(x=list(range(len(rows))), height=values, width=0.7, brush="#0072B2")
        )
        axis = self.plot.getAxis("bottom")
        axis.setTicks([[(i, r["layer"]) for i, r in enumerate(rows)]])
        for r in rows:
            item = QListWidgetItem(f"{r['layer']}  (KL recovered {float(r['kl_recovered']):.2e})")
            item.setData(Qt.ItemDataRole.UserRole, r["layer"])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if r["layer"] in kept else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.note.setText(
            f"From {source}. Tick the layers that stay FP32 for the mixed recipe "
            "(most sensitive first; none ticked: the recipe picks within its FP32 budget)."
        )

    def chosen_layers(self) -> list[str]:
        return [
            self.list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.list.count())
            if self.list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_chosen(self, layers: list[str]) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            checked = item.data(Qt.ItemDataRole.UserRole) in layers
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)


class VariantsView(QWidget):
    """``recommend`` on every device profile: the variant each one gets, and why."""

    use_requested = Signal(str, str)  # model, variant

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.make_button = QPushButton("Make variants for every device")
        self.make_button.setToolTip(
            "simulator.recommend on each profile: fits memory, then the cheapest in energy within 1 pt of the most accurate"
        )
        row.addWidget(self.make_button)
        self.use_button = QPushButton("Use in a scenario")
        self.use_button.setToolTip(
            "open the what-if with the selected variant on the device that runs this model"
        )
        self.use_button.setEnabled(False)
        row.addWidget(self.use_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.table = make_table(
            ["device", "variant", "precision", "accuracy", "bytes", "latency", "energy", "fits", "why"],
            sortable=True,
        )
        layout.addWidget(self.table, 1)
        self.table.itemSelectionChanged.connect(lambda: self.use_button.setEnabled(bool(self.selected())))
        self.use_button.clicked.connect(self._use)
        self.model = ""

    def show_variants(self, model: str, cards: list[ModelCard]) -> list[dict]:
        """Recommend a variant of ``model`` for every profile; returns the rows shown."""
        self.model = model
        rows = []
        for device in available_profiles():
            result = recommend(cards, device)
            chosen = next((r for r in result["variants"] if r["variant"] == result["choice"]), None)
            feasible = [r for r in result["variants"] if r["feasible"]]
            why = "no variant fits its memory"
            if chosen is not None:
                runner_up = next((r for r in feasible if r is not chosen), None)
                why = f"cheapest of {len(feasible)} that fit" + (
                    f"; next {runner_up['variant']}: {runner_up['reason']}" if runner_up else ""
                )
            rows.append({"device": device, **(chosen or {}), "choice": result["choice"], "why": why})
        fill(
            self.table,
            [
                [
                    Cell(r["device"]),
                    Cell(r["choice"] or "none fits"),
                    Cell(r.get("precision", "-")),
                    Cell(f"{r['accuracy']:.4f}" if r["choice"] else "-", r.get("accuracy")),
                    Cell(theme.format_bytes(r["bytes"]) if r["choice"] else "-", r.get("bytes")),
                    Cell(
                        f"{r['latency_ms']:.4f} ms" if r["choice"] else "-", r.get("latency_ms"), DEVICE_TIP
                    ),
                    Cell(f"{r['energy_mj']:.5f} mJ" if r["choice"] else "-", r.get("energy_mj"), DEVICE_TIP),
                    Cell("yes" if r["choice"] else "no"),
                    Cell(r["why"]),
                ]
                for r in rows
            ],
        )
        self.table.sortItems(0, Qt.SortOrder.AscendingOrder)
        self.note.setText(
            f"{model}: the variant each device profile gets from {len(cards)} variants "
            "(the cheapest in energy among those that fit, within 1 accuracy point of the most accurate)."
        )
        return rows

    def selected(self) -> str | None:
        items = self.table.selectedItems()
        if not items:
            return None
        variant = self.table.item(items[0].row(), 1).text()
        return None if variant == "none fits" else variant

    def _use(self) -> None:
        variant = self.selected()
        if variant:
            self.use_requested.emit(self.model, variant)
