"""The main window: library and panels around the topology, a player toolbar, menus.

Layout (NetLogo-like): controls on the left (library, inspector, what-if), the house in the
middle with the timeline under it, monitors and plots on the right, the event log below.
One frame timer drives everything: the player advances and the topology redraws every
frame; the timeline, plots, log and panels refresh at lower, staggered rates so no frame
does all the work at once.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSlider,
    QSplitter,
    QStyle,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from simulator.engine import Simulation, initial_meta
from simulator.trace import Trace, TraceError
from ui import export, theme
from ui.apps import scenario_apps, view_for
from ui.event_log import EventLog
from ui.inspector import InspectorPanel
from ui.library import LibraryPanel, shipped_scenarios
from ui.player import SPEEDS, Player
from ui.plots import PlotsPanel
from ui.session import RunSpec, Session
from ui.teaching import NarrationBanner
from ui.timeline import TimelineView
from ui.topology import TopologyView
from ui.views import CoreView
from ui.whatif import WhatIfPanel

FRAME_MS = 15
SLIDER_STEPS = 10000
DEFAULT_SCENARIO = "health_escalation.yaml"


def _speed_label(s: float) -> str:
    return f"{s:g}×"


class TopologyPane(QWidget):
    """The topology view with the teaching banner floating over it."""

    def __init__(self, view: TopologyView) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(view)
        self.banner = NarrationBanner(self)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.banner.isVisible():
            self.banner.place()


class MainWindow(QMainWindow):
    """See module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("HomeTwin")
        self.setAcceptDrops(True)
        self.session: Session | None = None
        self.player = Player(speed=60.0)
        self.frame_count = 0
        self.frame_times: list[float] | None = None  # set to [] to record frame timestamps (bench)
        self.first_frame_at: float | None = None  # the first frame drawn (maybe the preview)
        self.first_live_frame_at: float | None = None  # the first frame of a simulation
        self.component_ms: dict[str, list[float]] | None = None  # per-part frame costs (bench)
        self.last_error: str | None = None
        self.error_dialog: QMessageBox | None = None
        self._compare: dict | None = None

        # centre: topology + timeline
        self.topology = TopologyView()
        self.topology_pane = TopologyPane(self.topology)
        self.banner = self.topology_pane.banner
        self.timeline = TimelineView()
        centre = QSplitter(Qt.Orientation.Vertical)
        centre.addWidget(self.topology_pane)
        centre.addWidget(self.timeline)
        centre.setStretchFactor(0, 3)
        centre.setStretchFactor(1, 2)
        centre.setSizes([560, 300])
        self.setCentralWidget(centre)

        # left: library, inspector, what-if
        self.library = LibraryPanel()
        self.inspector = InspectorPanel()
        self.whatif = WhatIfPanel()
        self.left_tabs = QTabWidget()
        self.left_tabs.addTab(self.library, "Library")
        self.left_tabs.addTab(self.inspector, "Inspector")
        # scrolls: its forms are taller than a 1080p screen leaves for the whole window
        whatif_scroll = QScrollArea()
        whatif_scroll.setWidget(self.whatif)
        whatif_scroll.setWidgetResizable(True)
        whatif_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.left_tabs.addTab(whatif_scroll, "What-if")
        self._dock("Scenario", self.left_tabs, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

        # right: the apps' panels (one tab per app, titled by its name) and plots
        self.app_tabs = QTabWidget()
        self.app_tabs.hide()
        self.app_tabs.currentChanged.connect(self._on_app_tab)
        self.app_panels: dict[str, QWidget] = {}  # app name → its view's panel
        self._app_set: list[tuple[str, str]] = []
        self.plots = PlotsPanel()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.app_tabs)
        right.addWidget(self.plots)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)
        right.setSizes([420, 560])
        self._dock("Monitors and plots", right, Qt.DockWidgetArea.RightDockWidgetArea)

        # bottom: event log
        self.log = EventLog()
        log_dock = self._dock("Event log", self.log, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([log_dock], [170], Qt.Orientation.Vertical)
        # every core view (ui.views.CoreView): bound to each session, shown the playhead
        self.core_views: tuple[CoreView, ...] = (
            self.topology,
            self.timeline,
            self.plots,
            self.inspector,
            self.log,
            self.whatif,
        )

        self._build_toolbar()
        self._build_menus()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.hint = QLabel("Open a scenario from the library (left) or drop a file here.")
        self.statusBar().addWidget(self.hint, 1)
        self.statusBar().addPermanentWidget(self.progress)

        # wiring
        self.topology.device_clicked.connect(self.inspect_device)
        self.log.seek_requested.connect(self.seek)
        self.timeline.seek_requested.connect(self.seek)
        self.plots.seek_requested.connect(self.seek)
        self.library.open_requested.connect(self.open_path)
        self.whatif.rerun_requested.connect(self.rerun)
        self.whatif.error.connect(self.show_error)
        self.player.state_changed.connect(self._sync_controls)
        self.player.narration.connect(self._on_narration)
        self.player.seeked.connect(self._on_seeked)
        self.banner.continue_requested.connect(self.player.play)
        theme.font_settings().changed.connect(self._apply_font_scale)

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.timer.start(FRAME_MS)
        self._sync_controls()

    # ---- construction helpers -----------------------------------------------------------

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut=None, checkable: bool = False, tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.setCheckable(checkable)
        if tip:
            act.setToolTip(tip)
            act.setStatusTip(tip)
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _build_toolbar(self) -> None:
        bar = QToolBar("Player")
        bar.setObjectName("player")
        bar.setMovable(False)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        style = self.style()
        sp = QStyle.StandardPixmap
        self.icon_play = style.standardIcon(sp.SP_MediaPlay)
        self.icon_pause = style.standardIcon(sp.SP_MediaPause)
        self.act_restart = self._action(
            "Start", lambda: self.seek(0.0), "Home", tip="Back to the start (Home)"
        )
        self.act_back = self._action("Back", self.player.step_back, "Left", tip="Previous event (←)")
        self.act_play = self._action("Play", self.player.toggle, "Space", tip="Play / pause (Space)")
        self.act_step = self._action("Step", self.player.step, "Right", tip="Next event (→)")
        self.act_restart.setIcon(style.standardIcon(sp.SP_MediaSkipBackward))
        self.act_back.setIcon(style.standardIcon(sp.SP_MediaSeekBackward))
        self.act_play.setIcon(self.icon_play)
        self.act_step.setIcon(style.standardIcon(sp.SP_MediaSeekForward))
        for act in (self.act_restart, self.act_back, self.act_play, self.act_step):
            bar.addAction(act)
        bar.addSeparator()
        bar.addWidget(QLabel(" Speed "))
        self.speed_box = QComboBox()
        for s in SPEEDS:
            self.speed_box.addItem(_speed_label(s), s)
        self.speed_box.setToolTip("Simulated seconds per wall second ([ slower, ] faster)")
        self.speed_box.currentIndexChanged.connect(
            lambda i: self.player.set_speed(self.speed_box.itemData(i))
        )
        bar.addWidget(self.speed_box)
        self.act_slower = self._action("slower", self.player.slower, "[")
        self.act_faster = self._action("faster", self.player.faster, ["]", "+"])
        bar.addSeparator()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setMinimumWidth(280)
        self.slider.setToolTip("Seek over simulated time")
        self.slider.sliderMoved.connect(self._slider_moved)
        self.slider.actionTriggered.connect(self._slider_action)
        bar.addWidget(self.slider)
        self.clock = QLabel("00:00:00")
        self.clock.setFont(theme.font(1.4, bold=True))
        self.clock.setMinimumWidth(150)
        self.clock.setToolTip("Simulated time at the playhead")
        bar.addWidget(self.clock)
        self.state_label = QLabel("")
        self.state_label.setStyleSheet(f"color: {theme.MUTED_TEXT}")
        bar.addWidget(self.state_label)
        bar.addSeparator()
        self.act_teach = self._action(
            "Teaching mode", self.toggle_teaching, "T", checkable=True, tip="Pause at each narration step (T)"
        )
        bar.addAction(self.act_teach)

    def _build_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        m.addAction(self._action("Open scenario or trace…", self.open_dialog, QKeySequence.StandardKey.Open))
        m.addAction(self._action("Save trace…", self.save_trace_dialog, "Ctrl+Shift+S"))
        m.addSeparator()
        m.addAction(self._action("Export screenshot (PNG)…", self.export_screenshot_dialog, "Ctrl+P"))
        m.addAction(self._action("Export summary (CSV)…", self.export_summary_dialog))
        m.addAction(self._action("Export trace (CSV)…", self.export_trace_dialog))
        m.addSeparator()
        m.addAction(self._action("Quit", self.close, QKeySequence.StandardKey.Quit))
        m = self.menuBar().addMenu("&Play")
        for act in (
            self.act_play,
            self.act_step,
            self.act_back,
            self.act_restart,
            self.act_faster,
            self.act_slower,
        ):
            m.addAction(act)
        m.addAction(self._action("To the end", lambda: self.seek(self.player.duration_s), "End"))
        m.addSeparator()
        m.addAction(self._action("Re-run with what-if edits", self.whatif._emit_rerun, "Ctrl+R"))
        m.addAction(self._action("Simulate the rest in background", self._background_now))
        m = self.menuBar().addMenu("&View")
        m.addAction(self.act_teach)
        m.addAction(self._action("Larger text", lambda: self._scale_font(1.15), ["Ctrl+=", "Ctrl++"]))
        m.addAction(self._action("Smaller text", lambda: self._scale_font(1 / 1.15), "Ctrl+-"))
        self.act_projector = self._action(
            "Projector mode (large text)", self._projector, "F9", checkable=True
        )
        m.addAction(self.act_projector)
        m.addAction(self._action("Full screen", self._fullscreen, "F11"))
        self.menuBar().addMenu("&Models").addAction(self._action("Model lab…", self.open_lab, "Ctrl+L"))
        m = self.menuBar().addMenu("&Help")
        m.addAction(self._action("Keyboard shortcuts", self._show_shortcuts, "F1"))

    def open_lab(self):
        """The model lab window (ui/lab/); its "use in a scenario" opens this window's what-if."""
        from ui.lab.window import LabWindow

        self.lab_window = LabWindow(main_window=self)
        self.lab_window.resize(1500, 980)
        self.lab_window.show()
        return self.lab_window

    # ---- opening -------------------------------------------------------------------------

    def open_default(self) -> None:
        scenarios = shipped_scenarios()
        preferred = [p for p, _, _ in scenarios if Path(p).name == DEFAULT_SCENARIO]
        for path in preferred + [p for p, _, _ in scenarios if p not in preferred]:
            if self.open_path(path, quiet=True):
                return
        self.hint.setText("No shipped scenario could be loaded; open one with File ▸ Open (Ctrl+O).")

    def open_path(self, path: str, quiet: bool = False) -> bool:
        """Open a scenario file or a saved trace; a bad file shows a dialog, the window stays."""
        path = str(path)
        self.hint.setText(f"Loading {Path(path).name}…")
        QApplication.processEvents()
        try:
            if path.endswith(".gz") or path.endswith(".jsonl"):
                session = Session.from_trace_file(path)
            else:
                session = self._build_session(RunSpec(scenario_file=path))
        except (TraceError, ValueError, OSError) as exc:
            if not quiet:
                self.show_error(str(exc), title=f"Cannot open {Path(path).name}")
            self.hint.setText(f"Could not open {Path(path).name}.")
            return False
        except Exception as exc:  # a broken model or app: still a sentence, not a traceback
            if not quiet:
                self.show_error(
                    f"{path}: {type(exc).__name__}: {exc}", title=f"Cannot open {Path(path).name}"
                )
            return False
        self.set_session(session)
        return True

    def open_scenario_dict(self, scenario: dict, seed: int | None = None) -> bool:
        try:
            session = self._build_session(RunSpec(scenario=scenario, seed=seed))
        except (ValueError, OSError) as exc:
            self.show_error(str(exc), title="Cannot build the scenario")
            return False
        self.set_session(session)
        return True

    def _build_session(self, run: RunSpec) -> Session:
        """Validate the run once, draw the house at t = 0 from the engine's own meta while
        the simulation is built (the first build loads torch and the models: a second or
        two), then build it."""
        spec = Simulation.prepare(run.to_dict())
        if "torch" not in sys.modules:
            self.set_session(Session.from_trace(Trace(initial_meta(spec, run.seed))))
            self.hint.setText(f"Building {spec['name']}: loading the models…")
            self._tick()
            self.repaint()
            QApplication.processEvents()
        return Session.from_spec(run, spec)

    def set_session(self, session: Session | None, keep_time: bool = False) -> None:
        old = self.session
        t = self.player.t
        if old is not None:
            old.close()
            old.deleteLater()
        self.session = session
        self.player.pause()
        if session is not None:
            session.progress.connect(self._on_progress)
            session.error.connect(self.show_error)
            session.replaced.connect(self._on_replaced)
        self._bind_views()
        self.player.set_session(session, keep_time=keep_time)
        if keep_time:
            self.player.seek(t)
        self.banner.hide()
        meta = session.trace.meta if session is not None else {}
        self.library.mark_open(meta.get("scenario_file") if session is not None and session.spec else None)
        name = meta.get("scenario") or (session.source_path if session else "")
        self.setWindowTitle(f"HomeTwin — {name}" if name else "HomeTwin")
        if session is not None:
            kind = "saved trace" if session.spec is None else "live run"
            desc = str(meta.get("description") or "").strip().split(". ")[0]
            self.hint.setText(f"{name} ({kind}): {desc}. Press Space to play, click a device to inspect it.")
        self._refresh_slow(force=True)

    def _bind_views(self) -> None:
        session = self.session
        for view in self.core_views:
            view.set_session(session)
        self._bind_app_panels(session)

    def _bind_app_panels(self, session: Session | None) -> None:
        """One panel per app of the scenario whose view has one (rebuilt when the apps change)."""
        apps = scenario_apps(session.trace.meta) if session is not None else []
        if apps != self._app_set:
            self._app_set = apps
            for panel in self.app_panels.values():
                panel.set_session(None, "")
                panel.deleteLater()
            self.app_panels.clear()
            self.app_tabs.clear()
            for app_type, name in apps:
                panel_class = getattr(view_for(app_type), "PANEL", None)
                if panel_class is not None:
                    panel = panel_class(self.app_tabs)
                    self.app_panels[name] = panel
                    self.app_tabs.addTab(panel, name)
                    self.app_tabs.setTabToolTip(self.app_tabs.count() - 1, f"{name} ({app_type} app)")
            self.app_tabs.setVisible(bool(self.app_panels))
        for name, panel in self.app_panels.items():
            panel.set_session(session, name)

    def _on_app_tab(self, _index: int) -> None:
        panel = self.app_tabs.currentWidget()
        if panel is not None and self.session is not None:
            panel.refresh(self.player.t)

    def _clock_labels(self, t: float) -> list[str]:
        """The apps' words beside the clock: each app's with one or two apps; with more, the
        app of the panel shown (the toolbar stays one line)."""
        labelled = []
        for app_type, name in self._app_set:
            label = getattr(view_for(app_type), "clock_label", None)
            if label is not None:
                labelled.append((name, label))
        if len(labelled) > 2:
            shown = self.app_tabs.tabText(self.app_tabs.currentIndex())
            chosen = [next(((n, f) for n, f in labelled if n == shown), labelled[0])]
        else:
            chosen = labelled
        out = []
        for name, label in chosen:
            text = label(self.session, name, t)
            if text:
                out.append(f"{name}: {text}" if len(labelled) > 1 else text)
        if len(chosen) < len(labelled) and out:
            out[-1] += f" (+{len(labelled) - 1} apps)"
        return out

    def app_metrics_at(self, session: Session, t: float) -> dict[str, dict]:
        """Each app's what-if metrics at ``t``: app name → {metric key: number}."""
        out = {}
        for app_type, name in scenario_apps(session.trace.meta):
            view = view_for(app_type)
            metrics = getattr(view, "whatif_metrics", None)
            if metrics is not None:
                out[name] = metrics(session, name, t)
        return out

    def _on_replaced(self) -> None:
        if self.session is not None and self.topology.index is not self.session.index:
            self._bind_views()
        self.hint.setText("The background run finished: now replaying its trace (seek anywhere).")

    # ---- player glue ---------------------------------------------------------------------

    def seek(self, t: float) -> None:
        self.player.seek(t)
        self.banner.hide()

    def _slider_moved(self, value: int) -> None:
        self.seek(self.player.duration_s * value / SLIDER_STEPS)

    def _slider_action(self, _action: int) -> None:
        if not self.slider.isSliderDown():
            QTimer.singleShot(
                0, lambda: self.seek(self.player.duration_s * self.slider.value() / SLIDER_STEPS)
            )

    def _on_seeked(self, t: float) -> None:
        self.log.t = t
        self.log.jump()

    def toggle_teaching(self, checked: bool | None = None) -> None:
        on = self.act_teach.isChecked() if checked is None or isinstance(checked, bool) else bool(checked)
        self.player.set_teaching(on)
        if not on:
            self.banner.hide()

    def set_teaching(self, on: bool) -> None:
        self.act_teach.setChecked(on)
        self.player.set_teaching(on)

    def _on_narration(self, narration) -> None:
        self.banner.show_narration(narration.t, narration.text)
        self._refresh_slow(force=True)

    def inspect_device(self, name: str) -> None:
        self.topology.select(name)
        self.timeline.select(name)
        self.plots.select(name)
        self.inspector.show_device(name, self.player.t)
        self.left_tabs.setCurrentWidget(self.inspector)

    def _sync_controls(self) -> None:
        self.act_play.setText("Pause" if self.player.playing else "Play")
        self.act_play.setIcon(self.icon_pause if self.player.playing else self.icon_play)
        i = self.speed_box.findData(self.player.speed)
        if i < 0:
            self.speed_box.addItem(_speed_label(self.player.speed), self.player.speed)
            i = self.speed_box.count() - 1
        self.speed_box.blockSignals(True)
        self.speed_box.setCurrentIndex(i)
        self.speed_box.blockSignals(False)
        if self.act_teach.isChecked() != self.player.teaching:
            self.act_teach.setChecked(self.player.teaching)
        if self.player.playing:
            self.banner.hide()

    def _on_progress(self, fraction: float, text: str) -> None:
        if fraction < 0:
            self.progress.hide()
            return
        self.progress.show()
        self.progress.setFormat(f"{text} %p%")
        self.progress.setValue(int(1000 * min(1.0, fraction)))

    def _background_now(self) -> None:
        if self.session is not None:
            self.session.start_background()

    # ---- frames --------------------------------------------------------------------------

    def _tick(self) -> None:
        session = self.session
        if session is None:
            return
        timing = self.component_ms
        t0 = time.perf_counter()
        t = self.player.tick()
        t1 = time.perf_counter()
        self.topology.speed = self.player.speed
        self.topology.show_time(t)
        k = self.frame_count
        self.frame_count += 1
        slow = None
        phase = k % 6  # a six-frame cycle: at most one heavy view per frame
        if phase in (0, 3):
            self._refresh_clock(t)
        if phase in (1, 4):
            slow = "timeline"
            self.timeline.show_time(t)
        elif phase in (0, 2, 5):
            slow = "plots"
            self.plots.show_time(t, {2: 0, 5: 1, 0: 2}[phase])
        elif phase == 3:
            slow = "log"
            self.log.show_time(t)
            if k % 12 == 3:
                slow = "log+apps"
                panel = self.app_tabs.currentWidget()
                if panel is not None:  # hidden tabs catch up when shown
                    panel.refresh(t)
                self._maybe_compare(t)
            else:
                self.inspector.show_time(t)
        now = time.perf_counter()
        if timing is not None:
            timing.setdefault("player+sim", []).append(1000 * (t1 - t0))
            timing.setdefault(slow or "topology", []).append(1000 * (now - t1))
        if self.first_frame_at is None:
            self.first_frame_at = now
        if self.first_live_frame_at is None and session.spec is not None:
            self.first_live_frame_at = now
        if self.frame_times is not None:
            self.frame_times.append(now)

    def _refresh_clock(self, t: float) -> None:
        dur = self.player.duration_s
        self.clock.setText(theme.format_clock(t, dur))
        if not self.slider.isSliderDown() and dur > 0:
            self.slider.blockSignals(True)
            self.slider.setValue(int(SLIDER_STEPS * min(1.0, t / dur)))
            self.slider.blockSignals(False)
        parts = [f"of {theme.format_run_length(dur)}"]
        if self.session is not None:
            parts.extend(self._clock_labels(t))
            if self.player.lagging:
                parts.append("simulating…")
        self.state_label.setText("  ·  ".join(parts) + "  ")

    def _refresh_slow(self, force: bool = False) -> None:
        t = self.player.t
        for view in self.core_views:
            view.show_time(t)
        for panel in self.app_panels.values():
            panel.refresh(t)
        self._refresh_clock(t)

    # ---- what-if -------------------------------------------------------------------------

    def rerun(
        self, overrides: dict, events: list, devices: list | None = None, links: list | None = None
    ) -> bool:
        """Redo the run from t = 0 with the same seed and the what-if edits (overrides,
        extra scheduled events, added devices and their links)."""
        old = self.session
        if old is None or old.spec is None:
            self.show_error("This is a saved trace: open its scenario to re-run it with edits.")
            return False
        spec = old.spec.with_edits(overrides, events, devices or [], links or [])
        t = self.player.t
        before = self.app_metrics_at(old, t) if old.index.n else {}
        before_soc = {n: d.soc_at(t) for n, d in old.index.devices.items()}
        self.hint.setText("Re-running with your edits…")
        QApplication.processEvents()
        try:
            session = Session.from_spec(spec)
        except (ValueError, OSError) as exc:
            self.show_error(str(exc), title="The edit is not valid")
            return False
        self._compare = {
            "t": t,
            "before": before,
            "before_soc": before_soc,
            "edits": overrides,
            "events": events,
        }
        self.set_session(session, keep_time=True)
        added = f", {len(devices)} added device(s)" if devices else ""
        self.hint.setText(
            f"Re-run with {len(overrides)} edit(s), {len(events)} intervention(s){added}, same seed."
        )
        return True

    def _maybe_compare(self, t: float) -> None:
        c = self._compare
        if c is None or self.session is None or self.session.frontier() < c["t"]:
            return
        self._compare = None
        after = self.app_metrics_at(self.session, c["t"])
        lines = [f"At {theme.format_time(c['t'])}, before → after your edit:"]
        for app_type, name in scenario_apps(self.session.trace.meta):
            metrics = getattr(view_for(app_type), "WHATIF_METRICS", ())
            for m in metrics:
                b, a = c["before"].get(name, {}).get(m.key), after.get(name, {}).get(m.key)
                if b is None and a is None:
                    continue
                prefix = f"{name} · " if len(after) > 1 else ""
                lines.append(
                    f"  {prefix}{m.label}: {_metric_text(b, m.unit)} → {_metric_text(a, m.unit)}{_verdict(b, a, m)}"
                )
        for name, d in self.session.index.devices.items():
            b, a = c["before_soc"].get(name), d.soc_at(c["t"])
            if name not in c["before_soc"] and d.present_between(0.0, c["t"]):
                lines.append(f"  {name}: added ({d.kind})")
            if b is not None and a is not None and abs(a - b) > 0.005:
                lines.append(f"  {name} battery: {100 * b:.0f}% → {100 * a:.0f}%")
        self.whatif.show_result("\n".join(lines))
        self.last_comparison = "\n".join(lines)

    # ---- errors, files -------------------------------------------------------------------

    def show_error(self, message: str, title: str = "HomeTwin") -> None:
        """A dialog with the message (non-blocking); the window stays usable."""
        self.last_error = message
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.error_dialog = box
        self.hint.setText(message.splitlines()[0][:200])

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open scenario or trace",
            str(Path.cwd()),
            "Scenarios and traces (*.yaml *.yml *.jsonl.gz);;All files (*)",
        )
        if path:
            self.open_path(path)

    def save_trace_dialog(self) -> None:
        if self.session is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save trace", "trace.jsonl.gz", "Traces (*.jsonl.gz)")
        if path:
            try:
                self.session.trace.save(path)
            except OSError as exc:
                self.show_error(f"Could not save the trace: {exc}")

    def export_screenshot(self, path: str) -> Path:
        return export.save_screenshot(self, path)

    def export_screenshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Screenshot", "hometwin.png", "PNG (*.png)")
        if path:
            try:
                self.export_screenshot(path)
            except OSError as exc:
                self.show_error(str(exc))

    def export_summary(self, path: str) -> Path:
        summary = dict(self.session.summary() or {}) if self.session else {}
        if self.session is not None:
            for name, metrics in self.app_metrics_at(self.session, self.player.t).items():
                summary.setdefault(f"{name}_at_playhead", metrics)
            summary["playhead_s"] = self.player.t
        return export.export_summary_csv(summary, path)

    def export_summary_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Summary CSV", "summary.csv", "CSV (*.csv)")
        if path:
            try:
                self.export_summary(path)
            except OSError as exc:
                self.show_error(str(exc))

    def export_trace_dialog(self) -> None:
        if self.session is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Trace CSV", "trace.csv", "CSV (*.csv)")
        if path:
            try:
                export.export_trace_csv(self.session.trace, path)
            except OSError as exc:
                self.show_error(str(exc))

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                break

    # ---- view options --------------------------------------------------------------------

    def _scale_font(self, factor: float) -> None:
        settings = theme.font_settings()
        settings.set_scale(settings.scale * factor)

    def _projector(self, checked: bool) -> None:
        theme.font_settings().set_scale(1.6 if checked else 1.0)

    def _apply_font_scale(self, scale: float) -> None:
        app = QApplication.instance()
        f = app.font()
        f.setPointSizeF(theme.font_settings().base_pt * scale)
        app.setFont(f)
        self.clock.setFont(theme.font(1.4, bold=True))
        self.update()

    def _fullscreen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _show_shortcuts(self) -> None:
        QMessageBox.information(
            self,
            "Keyboard shortcuts",
            "Space  play / pause\n→  next event    ←  previous event\n[  slower    ]  faster\n"
            "Home  start    End  end\nT  teaching mode\nCtrl+O  open    Ctrl+R  re-run with edits\n"
            "Ctrl+P  screenshot    Ctrl+= / Ctrl+-  text size    F9  projector mode    F11  full screen",
        )

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.update()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.timer.stop()
        if self.session is not None:
            self.session.close()
        super().closeEvent(event)


def _metric_text(value, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "s":
        return theme.format_duration(float(value))
    text = f"{value:g}" if isinstance(value, (int, float)) else str(value)
    return f"{text} {unit}".strip()


def _verdict(before, after, metric) -> str:
    """'  (better)' / '  (worse)' when the metric has a direction and changed."""
    if metric.higher_is_better is None or before is None or after is None or before == after:
        return ""
    better = (after > before) == metric.higher_is_better
    return "  (better)" if better else "  (worse)"
