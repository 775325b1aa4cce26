"""View of the smart-home app (``simulator/apps/smart_home``): the chain view panel (each
chain's stages as a graph, lit as the latest event travels through it, per-hop latency on
the edges; a placed stage's split drawn in its box — which layers ran on which device; the
deploy as model bytes moving to the new device), its records in the log, timeline and
topology, the home's clock beside the player's, and what-if numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from simulator.apps.smart_home import ChainHop, ChainStage, DeployPlan, Placed, PolicyChange, Truth
from simulator.apps.smart_home.ground_truth import clock_s
from simulator.trace import Message, ModelDeployed
from ui import theme
from ui.apps import Metric, RecordView
from ui.apps.smart_home.whatif import PlacementBox

# Outcome colours (colour-blind safe, Tol's palette): one meaning each in panel and log.
OUTCOME_COLORS = {
    "pass": "#228833",
    "action": "#EE7733",
    "stop": "#BBBBBB",
    "skipped": "#CCDDAA",
    "dropped": "#CC3311",
    "broken": "#CC3311",
    "dismissed": "#AA3377",
}
DEPLOY_COLOR = "#4477AA"
POLICY_COLOR = "#AA3377"
LIT_S = 20.0  # a run stays lit this long after its last step (simulated seconds)
DEPLOY_SHOWN_S = 600.0  # a deploy stays in the chain view this long after it started
# Chain view geometry (px): stage boxes shrink from BOX_H to MIN_BOX_H (two lines of the
# small font) to fit the panel; below that the panel scrolls.
BOX_H, MIN_BOX_H, ROW_GAP, HEADER_H, CHAIN_GAP, TOP = 46.0, 32.0, 6.0, 17.0, 4.0, 4.0
DEPLOY_HEADER_H, DEPLOY_BAR_H, DEPLOY_REASON_H, DEPLOY_GAP = 18.0, 18.0, 28.0, 4.0
DEPLOYS_SHOWN = 2  # the latest deploys drawn (a device's serving and emergency variants)
MAX_VIEW_H = 520.0  # the panel asks for at most this much height; beyond it the view scrolls
SPLIT_BAR_H = 12.0  # a placed stage's layer bar at the bottom of its box
SPLIT_BAR_MIN_TEXT_W = 34.0  # a bar segment narrower than this carries no text


def _px(value: float) -> float:
    """A height in pixels at the current text size (projector mode enlarges the text)."""
    return value * theme.font_settings().scale


def _stage_text(r: ChainStage) -> str:
    what = f"{r.model}:{r.variant} → {r.label} {r.score:.2f}" if r.model else r.detail
    return f"{r.chain} #{r.run} {r.stage} on {r.device}: {r.outcome} ({what})"


# Payloads between a chain's stages are "chain:<chain name>": the shipped chains get a colour
# each (Paul Tol's light palette, unused elsewhere); a chain of your own draws grey.
MESSAGE_COLORS = {
    "probe": "#99DDFF",  # light blue: the doorbell timing its link to the hub
    "chain:doorbell": "#EE8866",  # orange: security payloads
    "chain:indoor": "#EE8866",
    "chain:voice": "#44BB99",  # mint: a voice command
    "chain:gesture": "#BBCC33",  # pear: a gesture
    "chain:clip_index": "#DDDDDD",  # pale grey: best-effort indexing
    "chain:porch": "#EE8866",  # the stressed home's extra cameras: security too
    "chain:hallway": "#EE8866",
    "activation": "#AA4499",  # purple: a placed stage's input or split tensor on its way
    "result": "#DDCC77",  # sand: a placed stage's result on its way to where the chain goes on
}


def split_text(r: Placed) -> str:
    """Which layers ran where: ``'L0–4 doorbell | L4–9 hub'``, ``'input → hub (L0–9)'`` or
    ``'L0–9 doorbell'`` (all local)."""
    if r.split >= r.n_layers:
        return f"L0–{r.n_layers} {r.source}"
    if r.split == 0:
        return f"input → {r.tail_device} (L0–{r.n_layers})"
    return f"L0–{r.split} {r.source} | L{r.split}–{r.n_layers} {r.tail_device}"


def _placed_text(r: Placed) -> str:
    how = "met" if r.met else "missed"
    status = "" if r.status == "ok" else f", {r.status}"
    return (
        f"{r.model}:{r.variant} by {r.policy}: {split_text(r)}; result at {r.sink} in "
        f"{r.latency_s * 1e3:.1f} ms ({how} {r.deadline_s * 1e3:g} ms{status}) → {r.label}"
    )


RECORD_VIEWS = {
    ChainStage: RecordView(
        label="chain stage",
        describe=_stage_text,
        color=lambda r: OUTCOME_COLORS.get(r.outcome, theme.DEFAULT_MARK_COLOR),
        badge=lambda r: f"{r.chain}: {r.stage}" if r.outcome in ("pass", "action") and r.run else None,
        step=False,
        hidden_in_log=True,
    ),
    ChainHop: RecordView(
        label="chain hop",
        describe=lambda r: (
            f"{r.chain} #{r.run} {r.stage_from}→{r.stage_to}: {r.size_bytes} B over {r.link} "
            f"in {(r.end_t - r.t) * 1e3:.0f} ms ({r.status})"
        ),
        subject=lambda r: r.src,
        step=False,
        hidden_in_log=True,
    ),
    Truth: RecordView(
        label="truth",
        describe=lambda r: f"{r.where} sees {r.label} ({r.kind}) {r.detail}".strip(),
        subject=lambda r: r.where,
        step=False,
        hidden_in_log=True,
    ),
    DeployPlan: RecordView(
        label="deploy plan",
        describe=lambda r: (
            f"hub sends {r.model}:{r.variant} ({r.role}, {r.size_bytes / 1e3:.0f} kB) to "
            f"{r.device}: {r.reason}"
        ),
        subject=lambda r: r.device,
        color=lambda r: DEPLOY_COLOR,
        timeline="mark",
        mark_label=lambda r: f"deploy {r.variant}",
        badge=lambda r: f"receiving {r.variant}",
    ),
    Placed: RecordView(
        label="placed",
        describe=_placed_text,
        subject=lambda r: r.source,
        color=lambda r: MESSAGE_COLORS["activation"] if r.split < r.n_layers else "#BBBBBB",
        step=False,
        hidden_in_log=True,
    ),
    PolicyChange: RecordView(
        label="policy",
        describe=lambda r: f"{r.policy}: {r.state} ({r.detail})",
        color=lambda r: POLICY_COLOR,
        timeline="mark",
        mark_label=lambda r: r.state,
        badge=lambda r: f"{r.policy}: {r.state}",
    ),
}


def _layout(stages: list[dict]) -> dict[str, tuple[int, int]]:
    """(column, row) of each stage: depth from the source, siblings stacked."""
    depth: dict[str, int] = {}
    ids = {s["id"]: s for s in stages}

    def d(stage_id: str) -> int:
        if stage_id not in depth:
            trigger = ids[stage_id]["trigger"]
            depth[stage_id] = 0 if trigger not in ids else d(trigger) + 1
        return depth[stage_id]

    rows: dict[int, int] = {}
    out = {}
    for s in stages:
        col = d(s["id"])
        out[s["id"]] = (col, rows.get(col, 0))
        rows[col] = rows.get(col, 0) + 1
    return out


class ChainView(QWidget):
    """Every chain as a row of stage boxes joined by arrows; the latest run at the playhead
    lights its stages by outcome, payloads in flight move along the edges, and each edge
    carries that run's hop latency. Above them, the deploys as bytes moving to a device.
    The boxes shrink to fit the panel's height; below their smallest size the panel scrolls."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session = None
        self.app = ""
        self.t = 0.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def chains(self) -> list[dict]:
        return [] if self.session is None else _chains(self.session, self.app)

    def _deploys_shown(self) -> int:
        if self.session is None:
            return 0
        plans = self.session.index.column(DeployPlan, self.app).window(self.t - DEPLOY_SHOWN_S, self.t)
        return min(len(plans), DEPLOYS_SHOWN)

    def _heights(self, shown: int | None = None) -> tuple[float, int]:
        """The height the view needs besides its stage boxes with ``shown`` deploys (default:
        those shown at the playhead), and how many box rows it has."""
        chains = self.chains()
        rows = sum(max(r for _, r in _layout(c["stages"]).values()) + 1 for c in chains)
        shown = self._deploys_shown() if shown is None else shown
        fixed = TOP + len(chains) * (_px(HEADER_H) + CHAIN_GAP) + rows * ROW_GAP
        # a chain with a placed stage has taller boxes: its layer bar below the text
        fixed += sum(
            _px(SPLIT_BAR_H) * (max(r for _, r in _layout(c["stages"]).values()) + 1)
            for c in chains
            if _placed(c)
        )
        if shown:
            fixed += _px(DEPLOY_HEADER_H) + shown * _px(DEPLOY_BAR_H + DEPLOY_REASON_H) + DEPLOY_GAP
        return fixed, rows

    def box_height(self) -> float:
        """Stage box height that fits the view's height (between MIN_BOX_H and BOX_H)."""
        fixed, rows = self._heights()
        if rows == 0:
            return _px(BOX_H)
        return max(_px(MIN_BOX_H), min(_px(BOX_H), (self.height() - fixed) / rows))

    def needed_height(self, shown: int | None = None) -> int:
        """The height that shows every chain at the smallest boxes (see :meth:`_heights`)."""
        fixed, rows = self._heights(shown)
        return int(fixed + rows * _px(MIN_BOX_H)) + 1

    def fit(self) -> None:
        """Ask for the height the chains need at the smallest boxes (the panel scrolls below it)."""
        needed = self.needed_height()
        if needed != self.minimumHeight():
            self.setMinimumHeight(needed)

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(theme.BACKGROUND))
        chains = self.chains()
        if not chains:
            p.setPen(QColor(theme.MUTED_TEXT))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no chains")
            return
        index = self.session.index
        stage_col = index.column(ChainStage, self.app)
        hop_col = index.column(ChainHop, self.app)
        recent = stage_col.window(self.t - 3600.0, self.t)
        latest = self._latest_stage_records(recent)
        w = self.width()
        columns = max(max(c for c, _ in _layout(chain["stages"]).values()) + 1 for chain in chains)
        gap_x, box_h = 64.0, self.box_height()
        box_w = max((w - 20 - gap_x * (columns - 1)) / columns, 60.0)
        y = self._draw_deploys(p, TOP)  # a recent deploy first: bytes moving to the new device
        small = theme.font(0.8)
        for chain in chains:
            places = _layout(chain["stages"])
            n_rows = max(r for _, r in places.values()) + 1
            chain_box_h = box_h + (_px(SPLIT_BAR_H) if _placed(chain) else 0.0)
            runs = [r for r in recent if r.chain == chain["name"] and r.run]
            run = runs[-1].run if runs else None
            last_t = runs[-1].t if runs else -1e9
            lit = run is not None and self.t - last_t <= LIT_S
            by_stage = (
                {r.stage: r for r in recent if r.chain == chain["name"] and r.run == run} if run else {}
            )
            hops = [
                h for h in hop_col.window(self.t - 600.0, self.t) if h.chain == chain["name"] and h.run == run
            ]
            p.setFont(theme.font(0.9, bold=True))
            p.setPen(QColor(theme.TEXT))
            header = f"{chain['name']}  ·  {chain['qos']}"
            if run is not None:
                header += (
                    f"  ·  run #{run} at {clock_label(self.session, self.app, runs[-1].trigger_t) or ''}"
                )
            p.drawText(QPointF(10, y + 12), header)
            y += _px(HEADER_H)
            centers = {}
            for stage in chain["stages"]:
                col, row = places[stage["id"]]
                x0 = 10 + col * (box_w + gap_x)
                y0 = y + row * (chain_box_h + ROW_GAP)
                rect = QRectF(x0, y0, box_w, chain_box_h)
                centers[stage["id"]] = rect
                record = by_stage.get(stage["id"])
                color = (
                    QColor(OUTCOME_COLORS.get(record.outcome, "#FFFFFF"))
                    if (record and lit)
                    else QColor("#FFFFFF")
                )
                p.setBrush(color)
                p.setPen(QPen(QColor(theme.TEXT), 1.5 if record and lit else 1.0))
                p.drawRoundedRect(rect, 6, 6)
                p.setFont(small)
                device = record.device if record else stage["device"]
                task = stage["model"] or stage["action"]
                placement = stage.get("placement")
                if record and lit and record.model:
                    task = f"{record.variant}\n→ {record.label} {record.score:.2f}"
                    if placement:  # the layer bar says where it ran: keep the verdict
                        task = f"→ {record.label} {record.score:.2f}"
                elif record and lit and record.outcome == "action":
                    task = record.detail.removeprefix(f"{device}: ")
                if placement:
                    shown = record if (record and lit) else latest.get((chain["name"], stage["id"]))
                    self.draw_split(p, rect, self.placed_for(shown), placement)
                    p.setFont(small)
                p.setPen(QColor(theme.TEXT))
                inner = rect.adjusted(5, 2, -4, -2 - (_px(SPLIT_BAR_H) if placement else 0))
                metrics = p.fontMetrics()  # lines cut with "…" where the box is too narrow
                lines = [f"{stage['id']} @ {device}", *task.split("\n")]
                p.drawText(
                    inner,
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                    "\n".join(
                        metrics.elidedText(line, Qt.TextElideMode.ElideRight, int(inner.width()))
                        for line in lines
                    ),
                )
            for stage in chain["stages"]:
                parent = centers.get(stage["trigger"])
                if parent is None:
                    continue
                child = centers[stage["id"]]
                a = QPointF(parent.right(), parent.center().y())
                b = QPointF(child.left(), child.center().y())
                edge_hops = [h for h in hops if h.stage_to == stage["id"]]
                flying = [h for h in edge_hops if h.t <= self.t < h.end_t]
                p.setPen(
                    QPen(QColor(OUTCOME_COLORS["pass"] if flying else theme.LINK_COLOR), 3 if flying else 1.5)
                )
                p.drawLine(a, b)
                p.setBrush(QColor(theme.LINK_COLOR))
                p.drawEllipse(b, 3, 3)
                if flying:
                    h = flying[0]
                    f = (self.t - h.t) / max(h.end_t - h.t, 1e-9)
                    p.setBrush(QColor(OUTCOME_COLORS["action"]))
                    p.drawEllipse(a + (b - a) * f, 6, 6)
                if edge_hops and lit:
                    span_ms = (max(h.end_t for h in edge_hops) - min(h.t for h in edge_hops)) * 1e3
                    nbytes = edge_hops[0].size_bytes
                    p.setPen(QColor(theme.TEXT))
                    p.setFont(small)
                    mid = (a + b) / 2
                    p.drawText(QPointF(mid.x() - 30, mid.y() - 5), f"{span_ms:.0f} ms")
                    p.drawText(
                        QPointF(mid.x() - 30, mid.y() + 14),
                        f"{nbytes / 1e3:.1f} kB" if nbytes >= 1000 else f"{nbytes} B",
                    )
            y += n_rows * (chain_box_h + ROW_GAP) + CHAIN_GAP
        p.end()

    def _latest_stage_records(self, recent: list[ChainStage]) -> dict[tuple[str, str], ChainStage]:
        """The latest record of each (chain, stage) within ``LIT_S`` of the playhead."""
        out: dict[tuple[str, str], ChainStage] = {}
        for r in reversed(recent):
            if r.t < self.t - LIT_S:
                break
            out.setdefault((r.chain, r.stage), r)
        return out

    def placed_for(self, record: ChainStage | None) -> Placed | None:
        """The ``Placed`` record of a placed stage's ``record`` (same instant, device, model)."""
        if record is None or not record.model:
            return None
        for r in self.session.index.column(Placed, self.app).window(record.t, record.t):
            if r.source == record.device and r.model == record.model:
                return r
        return None

    def draw_split(self, p: QPainter, rect: QRectF, placed: Placed | None, placement: dict) -> None:
        """The layer bar along the bottom of a placed stage's box: layers ``[0, split)`` in
        the colour of the device that ran them, ``[split, n)`` in the tail device's, each
        labelled with its device and layer range; the policy's name until a request ran."""
        bar = QRectF(
            rect.left() + 4, rect.bottom() - _px(SPLIT_BAR_H) - 2, rect.width() - 8, _px(SPLIT_BAR_H)
        )
        p.setFont(theme.font(0.7))
        metrics = p.fontMetrics()
        if placed is None:
            p.setPen(QPen(QColor(theme.MUTED_TEXT), 1.0))
            p.setBrush(QColor(theme.PANEL_BACKGROUND))
            p.drawRect(bar)
            text = f"placed: {placement.get('policy', '')}"
            p.drawText(
                bar.adjusted(3, 0, -2, 0),
                Qt.AlignmentFlag.AlignVCenter,
                metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(bar.width() - 5)),
            )
            return
        kinds = self.session.index.devices
        head_w = bar.width() * placed.split / max(placed.n_layers, 1)
        segments = [
            (bar.left(), head_w, placed.source, 0, placed.split),
            (bar.left() + head_w, bar.width() - head_w, placed.tail_device, placed.split, placed.n_layers),
        ]
        for x, width, device, first, last in segments:
            if width <= 0.5:
                continue
            segment = QRectF(x, bar.top(), width, bar.height())
            kind = kinds[device].kind if device in kinds else ""
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.device_color(kind))
            p.drawRect(segment)
            if width >= _px(SPLIT_BAR_MIN_TEXT_W):
                p.setPen(QColor("#FFFFFF"))
                label = f"L{first}–{last} {device}"  # the layers first: they survive eliding
                if first == 0 and device != placed.source:
                    label += " (input sent)"
                p.drawText(
                    segment.adjusted(2, 0, -1, 0),
                    Qt.AlignmentFlag.AlignVCenter,
                    metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(width - 3)),
                )
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(theme.TEXT), 1.0))
        p.drawRect(bar)
        if 0 < placed.split < placed.n_layers:  # the split point: a tick with its layer index
            x = bar.left() + head_w
            p.setPen(QPen(QColor(theme.TEXT), 2.0))
            p.drawLine(QPointF(x, bar.top() - 3), QPointF(x, bar.bottom() + 1))

    def _draw_deploys(self, p: QPainter, y: float) -> float:
        """The deploys of the last ``DEPLOY_SHOWN_S`` (bytes moving hub → device); returns
        the height used."""
        index = self.session.index
        plans = index.column(DeployPlan, self.app).window(self.t - DEPLOY_SHOWN_S, self.t)
        if not plans:
            return y
        deployed = index.column(ModelDeployed).until(self.t) if hasattr(index, "column") else []
        p.setFont(theme.font(0.9, bold=True))
        p.setPen(QColor(theme.TEXT))
        p.drawText(QPointF(10, y + 12), "deploys (hub → device)")
        y += _px(DEPLOY_HEADER_H)
        w = self.width() - 20
        for plan in plans[-DEPLOYS_SHOWN:]:
            arrived = next(
                (
                    d.t
                    for d in deployed
                    if d.device == plan.device and d.variant == plan.variant and d.t >= plan.t
                ),
                None,
            )
            if arrived is None and plan.role == "emergency":
                arrived = _message_end(self.session, plan)
            done = arrived is not None and arrived <= self.t
            fraction = 1.0 if done else 0.0
            if arrived is not None and not done:
                fraction = (self.t - plan.t) / max(arrived - plan.t, 1e-9)
            elif arrived is None:
                end = _message_end(self.session, plan)
                fraction = 1.0 if end is None else min((self.t - plan.t) / max(end - plan.t, 1e-9), 1.0)
            p.setPen(QPen(QColor(DEPLOY_COLOR), 1))
            p.setBrush(QColor("#FFFFFF"))
            p.drawRect(QRectF(10, y, w, 16))
            p.setBrush(QColor(DEPLOY_COLOR))
            p.drawRect(QRectF(10, y, w * max(0.0, min(fraction, 1.0)), 16))
            took = f"{(arrived - plan.t) * 1e3:.0f} ms" if arrived is not None else "…"
            p.setPen(QColor(theme.TEXT if fraction < 0.6 else "#FFFFFF"))
            p.setFont(theme.font(0.8))
            p.drawText(
                QRectF(14, y, w - 8, 16),
                Qt.AlignmentFlag.AlignVCenter,
                f"{plan.model}:{plan.variant} → {plan.device}  {plan.size_bytes / 1e3:.0f} kB  {plan.role}  "
                f"{'arrived in ' + took if done else 'sending'}",
            )
            y += _px(DEPLOY_BAR_H)
            p.setPen(QColor(theme.MUTED_TEXT))
            p.drawText(QRectF(14, y, w - 8, _px(DEPLOY_REASON_H) - 2), Qt.TextFlag.TextWordWrap, plan.reason)
            y += _px(DEPLOY_REASON_H)
        return y + DEPLOY_GAP


def _message_end(session: Any, plan: DeployPlan) -> float | None:
    for m in session.trace.records[session.trace.index_at(plan.t - 1e-9) :]:
        if type(m) is Message and m.msg_kind == "deploy" and m.size_bytes == plan.size_bytes:
            return m.end_t
        if m.t > plan.t + 60.0:
            return None
    return None


class SmartHomePanel(QWidget):
    """The smart-home app's dock panel: the switching state, the chain view, alert counts."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session = None
        self.app = ""
        layout = QVBoxLayout(self)
        self.title = QLabel("Smart home: inference chains")
        self.title.setFont(theme.font(1.2, bold=True))
        layout.addWidget(self.title)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setToolTip(
            "Switching policy: where the doorbell's chain decides (probed round trip to the hub)"
        )
        layout.addWidget(self.status)
        self.view = ChainView(self)
        self.view.setToolTip(
            "Each chain's stages; the latest run lit by outcome (green pass, orange action, grey stop, "
            "red dropped); edge labels: that run's hop latency and payload bytes. A placed stage's "
            "bar: which of its layers ran on which device (device colours; L4–9 = layers 4 to 9)"
        )
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(self.view)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.scroll, 1)
        self.counts = QLabel("")
        self.counts.setWordWrap(True)
        layout.addWidget(self.counts)

    def set_session(self, session: Any, app_name: str = "") -> None:
        self.session = self.view.session = session
        self.app = self.view.app = app_name
        self.title.setText(f"Smart home · {app_name}: inference chains" if app_name else "Smart home")
        # Room for every chain and a device's deploys without scrolling, where the window allows.
        self.scroll.setMinimumHeight(int(min(self.view.needed_height(DEPLOYS_SHOWN), _px(MAX_VIEW_H))))
        self.refresh(0.0)

    def refresh(self, t: float) -> None:
        self.view.t = t
        self.view.fit()
        self.view.update()
        if self.session is None:
            return
        policy = self.session.index.column(PolicyChange, self.app).last_at(t)
        clock = clock_label(self.session, self.app, t) or ""
        state = "doorbell chain: the hub confirms"
        doorbell = self.session.index.devices.get(
            _app_meta(self.session, self.app).get("doorbell", "doorbell")
        )
        if doorbell is not None and not doorbell.present_at(t):
            state = "no doorbell in the home yet"
        elif policy is not None and policy.policy == "switching" and policy.state == "local":
            state = f"{policy.device} decides locally: {policy.detail}"
        self.status.setText(f"{clock} · {state}")
        actions = [
            r for r in self.session.index.column(ChainStage, self.app).until(t) if r.outcome == "action"
        ]
        per_chain: dict[str, int] = {}
        for r in actions:
            per_chain[r.chain] = per_chain.get(r.chain, 0) + 1
        gate = (_app_meta(self.session, self.app).get("facts") or {}).get("voice_gate")
        listens = (
            f" · speaker's voice gate: {gate['gate']} ({1e3 * sum(gate['loads_w'].values()):.1f} mW always on)"
            if gate
            else ""
        )
        self.counts.setText(
            "actions so far: " + (", ".join(f"{c} {n}" for c, n in per_chain.items()) or "none") + listens
        )


PANEL = SmartHomePanel
WHATIF_BOX = PlacementBox

WHATIF_METRICS = (
    Metric("alerts", "security alerts", "", higher_is_better=None),
    Metric("misses", "deadline misses", "", higher_is_better=False),
    Metric("actions", "chain actions", "", higher_is_better=None),
    Metric("security_p50_ms", "security model stages' latency p50", "ms", higher_is_better=False),
    Metric("security_p95_ms", "security model stages' latency p95", "ms", higher_is_better=False),
    Metric("other_p95_ms", "other model stages' latency p95", "ms", higher_is_better=False),
    Metric("battery_stage_mj", "battery devices' stage energy", "mJ", higher_is_better=False),
    Metric("offloaded_pct", "placed inferences offloaded", "%", higher_is_better=None),
)


def whatif_metrics(session: Any, app_name: str, t: float) -> dict[str, float | None]:
    """Headline numbers at ``t``. A model stage's latency runs from its input to its result
    where the chain goes on (for a placed stage: at the next stages' device); the stage
    energy is what the stage cost the battery device it belongs to (its compute and, when
    placed, its radio)."""
    stages = session.index.column(ChainStage, app_name).until(t)
    security = {c["name"] for c in _chains(session, app_name) if c.get("qos") == "security"}
    ran = [r for r in stages if r.model and r.outcome in ("pass", "stop")]
    secure = [r.t - r.start_t for r in ran if r.chain in security]
    other = [r.t - r.start_t for r in ran if r.chain not in security]
    devices = session.index.devices
    battery = {name for name, d in devices.items() if d.capacity_wh is not None}
    placed = session.index.column(Placed, app_name).until(t)
    return {
        "alerts": sum(1 for r in stages if r.outcome == "action" and r.chain in security),
        "misses": sum(1 for r in stages if r.missed and r.outcome != "skipped"),
        "actions": sum(1 for r in stages if r.outcome == "action"),
        "security_p50_ms": _percentile_ms(secure, 50),
        "security_p95_ms": _percentile_ms(secure, 95),
        "other_p95_ms": _percentile_ms(other, 95),
        "battery_stage_mj": round(
            1e3 * sum(r.energy_j for r in stages if r.model and r.device in battery), 2
        ),
        "offloaded_pct": round(100.0 * sum(r.split < r.n_layers for r in placed) / len(placed), 1)
        if placed
        else None,
    }


def _percentile_ms(seconds: list[float], q: float) -> float | None:
    return round(float(np.percentile(seconds, q)) * 1e3, 2) if seconds else None


def _placed(chain: dict) -> bool:
    """Whether a chain (from the trace's meta) has a placed stage."""
    return any(stage.get("placement") for stage in chain["stages"])


def _chains(session: Any, app_name: str) -> list[dict]:
    return (session.trace.meta.get("chains") or {}).get(app_name, [])


def _app_meta(session: Any, app_name: str) -> dict:
    """The app's entry in the trace's meta (its name, type, start clock, doorbell)."""
    return next((a for a in session.trace.meta.get("apps") or [] if a.get("name") == app_name), {})


def clock_label(session: Any, app_name: str, t: float) -> str | None:
    """The home's wall clock at ``t`` (the scenario starts at the app's ``start_clock``)."""
    start = _app_meta(session, app_name).get("start_clock") or "18:00"
    seconds = (clock_s(start, 0.0) + t) % 86400.0
    return f"{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
