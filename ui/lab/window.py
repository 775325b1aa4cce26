"""The model lab window: knobs on the left, before → after, sensitivity, variants for every
device and the leaderboard on the right. A recipe runs in a spawned process
(:class:`ui.lab.job.RecipeJob`); the window only reads its messages, so it stays responsive
(:class:`ui.lab.job.StallProbe` measures how much)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from models.cards import ARTIFACTS_DIR, ModelCard, card_path, list_cards
from ui import theme
from ui.lab import lab_models
from ui.lab.job import RecipeJob, StallProbe
from ui.lab.leaderboard import LeaderboardView
from ui.lab.panels import CompareView, SensitivityView, VariantsView

if TYPE_CHECKING:
    from ui.main_window import MainWindow

ERROR_STYLE = "color: #B2182B; font-weight: bold"
PROGRESS_STEPS = 1000


class LabWindow(QMainWindow):
    """The model lab. ``root``: the artifacts folder read and written (the CLI's);
    ``main_window``: where "use in a scenario" opens the what-if (one is opened if absent)."""

    def __init__(self, root: Path = ARTIFACTS_DIR, main_window: MainWindow | None = None) -> None:
        super().__init__()
        from models.compress.recipes import MODEL_OPTIONS, RECIPES  # torch: the lab needs it anyway

        self.recipes, self.model_options = RECIPES, MODEL_OPTIONS
        self.root = Path(root)
        self.main_window = main_window
        self.setWindowTitle("HomeTwin — model lab")
        self.job = RecipeJob(self)
        self.probe = StallProbe(parent=self)
        self.last_result: dict[str, Any] | None = None
        self.last_stall: dict[str, float] = {}
        self.knobs: dict[str, QWidget] = {}

        controls = QWidget()
        left = QVBoxLayout(controls)
        title = QLabel("Model lab")
        title.setFont(theme.font(1.4, bold=True))
        left.addWidget(title)
        hint = QLabel(
            "Compress a model with a recipe, then compare it with FP32: its card, accuracy per class, "
            "and its cost on every device. Variants are written to the artifacts folder that "
            "scenarios and `python main.py models` read."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {theme.MUTED_TEXT}")
        left.addWidget(hint)
        form = QFormLayout()
        self.model_box = QComboBox()
        self.model_box.addItems(lab_models(self.root))
        form.addRow("model", self.model_box)
        self.variant_box = QComboBox()
        self.variant_box.setToolTip("an existing variant to compare with FP32 (no run needed)")
        form.addRow("compare with", self.variant_box)
        self.recipe_box = QComboBox()
        for name, recipe in RECIPES.items():
            self.recipe_box.addItem(name, name)
            self.recipe_box.setItemData(
                self.recipe_box.count() - 1, recipe.summary, Qt.ItemDataRole.ToolTipRole
            )
        form.addRow("recipe", self.recipe_box)
        left.addLayout(form)
        self.recipe_note = QLabel("")
        self.recipe_note.setWordWrap(True)
        left.addWidget(self.recipe_note)
        self.knob_box = QGroupBox("Knobs")
        self.knob_form = QFormLayout(self.knob_box)
        left.addWidget(self.knob_box)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run recipe")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        left.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        left.addWidget(self.progress)
        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        left.addWidget(self.status)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        left.addWidget(self.error)
        self.stall_label = QLabel("")
        self.stall_label.setWordWrap(True)
        self.stall_label.setStyleSheet(f"color: {theme.MUTED_TEXT}")
        left.addWidget(self.stall_label)
        left.addStretch(1)

        self.tabs = QTabWidget()
        self.compare = CompareView()
        scroll = QScrollArea()
        scroll.setWidget(self.compare)
        scroll.setWidgetResizable(True)
        self.tabs.addTab(scroll, "Before → after")
        self.sensitivity = SensitivityView()
        self.tabs.addTab(self.sensitivity, "Sensitivity")
        self.variants = VariantsView()
        self.tabs.addTab(self.variants, "Variants for every device")
        self.leaderboard = LeaderboardView(self.root)
        self.tabs.addTab(self.leaderboard, "Leaderboard")

        splitter = QSplitter()
        controls.setMinimumWidth(300)
        splitter.addWidget(controls)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([340, 1160])
        self.setCentralWidget(splitter)

        self.model_box.currentTextChanged.connect(self._model_changed)
        self.variant_box.currentTextChanged.connect(self._show_existing)
        self.recipe_box.currentIndexChanged.connect(self._build_knobs)
        self.run_button.clicked.connect(self.run_recipe)
        self.cancel_button.clicked.connect(self.cancel)
        self.sensitivity.layers_changed.connect(self._layers_ticked)
        self.variants.make_button.clicked.connect(self.make_variants)
        self.variants.use_requested.connect(self.use_in_scenario)
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self.job.cancelled.connect(self._on_cancelled)
        self._model_changed(self.model_box.currentText())
        self._build_knobs()
        self.leaderboard.reload()

    # ---- choosing ------------------------------------------------------------------------

    @property
    def model(self) -> str:
        return self.model_box.currentText()

    @property
    def recipe(self) -> str:
        return self.recipe_box.currentData() or ""

    def cards(self) -> list[ModelCard]:
        return [c for c in list_cards(self.root) if c.model == self.model]

    def select(self, model: str, recipe: str | None = None) -> None:
        self.model_box.setCurrentText(model)
        if recipe is not None:
            self.recipe_box.setCurrentIndex(self.recipe_box.findData(recipe))

    def _model_changed(self, model: str) -> None:
        if not model:
            self.status.setText(f"No trained model under {self.root}: run `python main.py train all`.")
            self.run_button.setEnabled(False)
            return
        variants = self._refresh_variants()
        self._build_knobs()
        self._show_sensitivity()
        if variants:  # the first recipe's variant when there is one: what "Run" would remake
            first = next((v for v in variants if v == self.recipe), variants[0])
            self.variant_box.setCurrentText(first)
            self._show_existing(first)

    def _refresh_variants(self) -> list[str]:
        variants = [c.variant for c in self.cards() if c.variant != "fp32"]
        self.variant_box.blockSignals(True)
        self.variant_box.clear()
        self.variant_box.addItems(variants)
        self.variant_box.blockSignals(False)
        return variants

    def _fp32(self) -> ModelCard:
        return ModelCard.load(card_path(self.model, "fp32", self.root))

    def _show_existing(self, variant: str) -> None:
        path = card_path(self.model, variant, self.root)
        if variant and path.exists():
            self.compare.show_pair(self._fp32(), ModelCard.load(path))

    def _show_sensitivity(self, card: ModelCard | None = None) -> None:
        if card is None or not card.extra.get("sensitivity"):
            path = card_path(self.model, "mixed", self.root)
            card = ModelCard.load(path) if path.exists() else None
        rows = (card.extra.get("sensitivity") or []) if card else []
        kept = (card.extra.get("fp32_layers") or []) if card else []
        source = f"{card.model}:{card.variant} (measured on validation data)" if card else ""
        self.sensitivity.set_sensitivity(rows, source, kept)
        self._layers_ticked()

    def _build_knobs(self) -> None:
        while self.knob_form.rowCount():
            self.knob_form.removeRow(0)
        self.knobs = {}
        recipe = self.recipes.get(self.recipe)
        if recipe is None:
            return
        self.recipe_note.setText(recipe.summary)
        preset = self.model_options.get(self.model, {}).get(recipe.name, {})
        for name, option in recipe.options.items():
            value = preset.get(name, option.default)
            if option.choices:
                widget = QComboBox()
                widget.addItems([str(c) for c in option.choices])
                widget.setCurrentText(str(value))
            else:
                widget = QLineEdit(str(value))
                if name == "fp32_layers":
                    widget.setPlaceholderText("tick layers on the Sensitivity tab")
            widget.setToolTip(f"{option.help}; {option.allowed()}")
            label = QLabel(name.replace("_", " "))
            label.setToolTip(widget.toolTip())
            self.knob_form.addRow(label, widget)
            self.knobs[name] = widget
        self._layers_ticked()

    def _layers_ticked(self) -> None:
        widget = self.knobs.get("fp32_layers")
        if isinstance(widget, QLineEdit):
            widget.setText(",".join(self.sensitivity.chosen_layers()))

    def set_knob(self, name: str, value: Any) -> None:
        widget = self.knobs[name]
        if isinstance(widget, QComboBox):
            widget.setCurrentText(str(value))
        else:
            widget.setText(str(value))

    def knob_values(self) -> dict[str, str]:
        return {
            name: w.currentText() if isinstance(w, QComboBox) else w.text().strip()
            for name, w in self.knobs.items()
        }

    # ---- running -------------------------------------------------------------------------

    def run_recipe(self) -> bool:
        """Check the knobs, then start the recipe process; False (and the reason in the window)
        when a knob is out of range or a run is going: nothing is started or written."""
        from models.compress.lab import LabError
        from models.compress.recipes import check_options

        self.error.setText("")
        if self.job.running:
            self.error.setText("A recipe is already running: wait for it or cancel it.")
            return False
        try:
            options = check_options(self.recipe, self.knob_values())
        except LabError as error:
            self.error.setText(f"Not run: {error}. Nothing was written.")
            return False
        self.progress.setValue(0)
        self.status.setText(f"Starting {self.recipe} on {self.model}…")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.probe.start()
        self.job.start(self.model, self.recipe, options, self.root)
        return True

    def cancel(self) -> None:
        self.job.cancel()

    def _on_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(PROGRESS_STEPS * fraction))
        self.status.setText(text)

    def _end_run(self) -> None:
        self.probe.stop()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.last_stall = {
            "p99_ms": self.probe.p99_ms(),
            "max_ms": self.probe.max_ms(),
            "ticks": len(self.probe.stalls_ms),
        }
        self.stall_label.setText(
            f"Window responsiveness while the recipe ran: event-loop stall p99 {self.last_stall['p99_ms']:.1f} ms, "
            f"max {self.last_stall['max_ms']:.1f} ms ({self.last_stall['ticks']} ticks of a 10 ms QTimer probe)."
        )

    def _on_finished(self, result: dict) -> None:
        started = time.perf_counter()
        self.last_result = result
        self.progress.setValue(PROGRESS_STEPS)
        before, after = ModelCard.from_dict(result["before"]), ModelCard.from_dict(result["after"])
        self.status.setText(
            f"Wrote {result['variant']} ({', '.join(result['written'])}) to {self.root / result['model']}."
        )
        self._refresh_variants()  # the new variant is in the list now; the knobs stay as run
        self.variant_box.blockSignals(True)
        self.variant_box.setCurrentText(result["variant"])
        self.variant_box.blockSignals(False)
        self.compare.show_pair(
            before, after, result["before_accuracy"], result["latency_ms"], result["confusion"]
        )
        if after.extra.get("sensitivity"):
            self._show_sensitivity(after)
        self.leaderboard.reload()
        self.tabs.setCurrentIndex(0)
        self._end_run()  # the probe covers showing the result too
        self.last_stall["show_result_ms"] = 1000 * (time.perf_counter() - started)

    def _on_failed(self, message: str) -> None:
        self._end_run()
        self.progress.setValue(0)
        self.status.setText("The recipe did not finish; nothing was written.")
        self.error.setText(message)

    def _on_cancelled(self) -> None:
        self._end_run()
        self.progress.setValue(0)
        self.status.setText("Cancelled; nothing was written.")

    # ---- devices and scenarios -----------------------------------------------------------

    def make_variants(self) -> list[dict]:
        """``recommend`` on every profile for the model's variants (the table's rows)."""
        rows = self.variants.show_variants(self.model, self.cards())
        self.tabs.setCurrentWidget(self.variants)
        return rows

    def use_in_scenario(self, model: str, variant: str) -> str:
        """Open the what-if of a scenario running ``model`` with ``variant`` staged as an edit."""
        from ui.lab.scenario_link import open_whatif_with

        if self.main_window is None:
            from ui.main_window import MainWindow

            self.main_window = MainWindow()
            self.main_window.resize(1600, 1000)
            self.main_window.show()
        message = open_whatif_with(self.main_window, model, variant, self.root)
        self.status.setText(message)
        return message

    def closeEvent(self, event) -> None:  # noqa: N802
        self.job.cancel()
        super().closeEvent(event)


def run_lab(root: Path = ARTIFACTS_DIR, model: str | None = None, screenshot: str | None = None) -> int:
    """``python main.py lab``: the window on ``root``; with ``screenshot``, save it and exit."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = LabWindow(root)
    if model:
        window.select(model)
    window.resize(1500, 980)
    window.show()
    if screenshot:

        def shoot() -> None:
            window.grab().save(screenshot)
            print(f"screenshot: {screenshot}")
            window.close()
            app.exit(0)

        QTimer.singleShot(300, shoot)
    return int(app.exec())


if __name__ == "__main__":
    app = QApplication.instance() or QApplication(sys.argv[:1])
    sys.exit(run_lab())
