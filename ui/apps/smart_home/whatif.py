"""The smart home's what-if control: where a chain stage's model runs (its placement policy).

The core what-if panel shows it through the view protocol (``WHATIF_BOX``); an edit is a
scenario override of the stage's ``placement``, checked when the run is redone.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox

from simulator.placement import POLICY_NAMES
from ui.whatif import placeable_stages


def placement_override(app: str, chain: str, index: int) -> str:
    """The scenario path of a stage's ``placement`` (apps and chains addressed by name)."""
    return f"apps.{app}.params.chains.{chain}.stages.{index}.placement"


class PlacementBox(QGroupBox):
    """Choose a stage, a policy and its arguments; ``override(path, value)`` on Set."""

    override = Signal(str, object)

    def __init__(self, parent=None) -> None:
        super().__init__("Placement (where a chain stage's model runs)", parent)
        self.app_name = ""
        form = QFormLayout(self)
        self.stage_box = QComboBox()
        self.stage_box.setToolTip("A model stage of a chain; its placement policy decides per input")
        self.policy_box = QComboBox()
        for name in POLICY_NAMES:
            self.policy_box.addItem(name, name)
        self.policy_box.setToolTip(
            "local: all layers on the stage's device · offload: the input to 'to' · split: layers "
            "before 'split' on the device, the rest on 'to' · min_latency / min_energy / battery_aware / "
            "deadline_aware: chosen per input from the cost model · rl: the trained PPO agent"
        )
        self.place_to = QComboBox()
        self.place_to.setToolTip("Where offloaded layers run (offload and split)")
        self.place_split = QSpinBox()
        self.place_split.setToolTip("Split index: layers [0, split) on the stage's device (split policy)")
        self.place_boundary = QComboBox()
        self.place_boundary.addItems(["int8", "fp32"])
        self.place_boundary.setToolTip("How the input or split tensor crosses the link")
        set_placement = QPushButton("Set")
        set_placement.clicked.connect(self._add_placement)
        form.addRow("stage", self.stage_box)
        form.addRow("policy", self.policy_box)
        row = QHBoxLayout()
        row.addWidget(self.place_to, 1)
        row.addWidget(QLabel("split"))
        row.addWidget(self.place_split)
        form.addRow("to", row)
        row = QHBoxLayout()
        row.addWidget(self.place_boundary, 1)
        row.addWidget(set_placement)
        form.addRow("tensor", row)
        self.stage_box.currentIndexChanged.connect(self._stage_changed)
        self.policy_box.currentIndexChanged.connect(self._policy_changed)

    def set_session(self, session: Any, app_name: str) -> None:
        self.app_name = app_name
        self.stage_box.clear()
        self.place_to.clear()
        if session is None:
            return
        idx = session.index
        for app, chain, j, stage in placeable_stages(idx.meta):
            if app == app_name:
                self.stage_box.addItem(
                    f"{chain} · {stage['id']} ({stage['model']} on {stage['device']})", (chain, j, stage)
                )
        for name, d in idx.devices.items():
            if d.kind in ("hub", "cloud"):
                self.place_to.addItem(name, name)
        self.setVisible(self.stage_box.count() > 0)

    def _stage_changed(self) -> None:
        data = self.stage_box.currentData()
        if not data:
            return
        stage = data[2]
        try:
            from simulator.placement import layer_table

            self.place_split.setRange(0, layer_table(stage["model"]).n_layers)
        except ValueError:  # no layer table for this model
            self.place_split.setRange(0, 0)
        current = stage.get("placement") or {}
        index = self.policy_box.findData(current.get("policy", "local"))
        self.policy_box.setCurrentIndex(max(index, 0))
        self._policy_changed()

    def _policy_changed(self) -> None:
        policy = self.policy_box.currentData()
        self.place_to.setEnabled(policy in ("offload", "split"))
        self.place_split.setEnabled(policy == "split")

    def _add_placement(self) -> None:
        data = self.stage_box.currentData()
        policy = self.policy_box.currentData()
        if not data or not policy:
            return
        self.set_placement(*data[:2], policy, self.place_to.currentData(), self.place_split.value())

    def set_placement(
        self, chain: str, index: int, policy: str, to: str | None = None, split: int | None = None
    ) -> None:
        """Place stage ``index`` of ``chain`` with ``policy`` (``to`` and ``split`` where the
        policy takes them)."""
        placement: dict[str, Any] = {"policy": policy, "boundary": self.place_boundary.currentText()}
        if policy in ("offload", "split") and to:
            placement["to"] = to
        if policy == "split":
            placement["split"] = int(split or 0)
        self.override.emit(placement_override(self.app_name, chain, index), placement)
