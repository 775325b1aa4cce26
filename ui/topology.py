"""Topology view: devices by kind, battery and power state, links by type, message dots.

Devices are cached graphics items repainted only when their visible state changes (power
state, on/off, battery percent, badge); links repaint when they go up/down or flash; all
message dots in flight are drawn by one item. Per frame the work is a few bisects per device
plus the messages in flight, never a scan of the trace.

The house grows during a run: a device is drawn only while it is in the home (it joins, it
leaves; seeking back before a join hides it again), a link only while both its ends are.
Records with a badge hook (an escalation stage, a deploy) label their device for a moment.
"""

from __future__ import annotations

import bisect
import math
import time

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView

from ui import theme
from ui.record_views import VIEWS
from ui.trace_index import TraceIndex

GLYPH = 26.0  # half size of a device glyph in scene units
SCENE_W, SCENE_H = 1000.0, 640.0
# A badge stays this many wall seconds at the playing speed (at least BADGE_MIN_S simulated).
BADGE_WALL_S = 1.5
BADGE_MIN_S = 30.0


def _pen(color: QColor | str, width: float = 1.0, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(QColor(color), width, style)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _cosmetic(color: QColor | str, width: float, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = _pen(color, width, style)
    pen.setCosmetic(True)
    return pen


def draw_glyph(p: QPainter, kind: str, r: float, color: QColor, fg: QColor) -> None:
    """A recognizable icon for a device kind, centred on (0, 0), about 2r wide."""
    p.setBrush(QBrush(color))
    p.setPen(_pen(fg, max(1.2, r * 0.07)))
    if kind == "watch":
        p.drawRoundedRect(QRectF(-r * 0.35, -r * 0.95, r * 0.7, r * 1.9), r * 0.12, r * 0.12)  # strap
        p.drawRoundedRect(QRectF(-r * 0.6, -r * 0.6, r * 1.2, r * 1.2), r * 0.28, r * 0.28)  # case
        p.setPen(_pen(fg, max(1.2, r * 0.09)))
        p.drawLine(QPointF(0, 0), QPointF(0, -r * 0.38))
        p.drawLine(QPointF(0, 0), QPointF(r * 0.28, 0))
    elif kind == "phone":
        p.drawRoundedRect(QRectF(-r * 0.5, -r * 0.9, r * 1.0, r * 1.8), r * 0.16, r * 0.16)
        p.setBrush(QBrush(QColor(255, 255, 255, 170)))
        p.drawRect(QRectF(-r * 0.38, -r * 0.7, r * 0.76, r * 1.25))
        p.setBrush(QBrush(fg))
        p.drawEllipse(QPointF(0, r * 0.72), r * 0.07, r * 0.07)
    elif kind == "camera":
        p.drawRoundedRect(QRectF(-r * 0.85, -r * 0.5, r * 1.7, r * 1.05), r * 0.15, r * 0.15)
        p.drawRect(QRectF(-r * 0.45, -r * 0.7, r * 0.5, r * 0.2))
        p.setBrush(QBrush(QColor(255, 255, 255, 200)))
        p.drawEllipse(QPointF(0, 0.02 * r), r * 0.36, r * 0.36)
        p.setBrush(QBrush(fg))
        p.drawEllipse(QPointF(0, 0.02 * r), r * 0.14, r * 0.14)
    elif kind == "speaker":
        p.drawRoundedRect(QRectF(-r * 0.55, -r * 0.9, r * 1.1, r * 1.8), r * 0.5, r * 0.3)
        p.setBrush(QBrush(QColor(255, 255, 255, 190)))
        p.drawEllipse(QPointF(0, r * 0.25), r * 0.33, r * 0.33)
        p.drawEllipse(QPointF(0, -r * 0.45), r * 0.16, r * 0.16)
    elif kind == "hub":
        p.drawRoundedRect(QRectF(-r * 0.9, -r * 0.2, r * 1.8, r * 0.7), r * 0.15, r * 0.15)
        p.drawLine(QPointF(-r * 0.55, -r * 0.2), QPointF(-r * 0.75, -r * 0.85))
        p.drawLine(QPointF(r * 0.55, -r * 0.2), QPointF(r * 0.75, -r * 0.85))
        p.setBrush(QBrush(QColor(255, 255, 255, 220)))
        for k in range(3):
            p.drawEllipse(QPointF(-r * 0.4 + k * r * 0.4, r * 0.15), r * 0.09, r * 0.09)
    elif kind == "cloud":
        path = QPainterPath()
        path.addEllipse(QPointF(-r * 0.45, r * 0.1), r * 0.42, r * 0.36)
        path.addEllipse(QPointF(r * 0.45, r * 0.1), r * 0.42, r * 0.36)
        path.addEllipse(QPointF(0, -r * 0.2), r * 0.5, r * 0.48)
        path.addRect(QRectF(-r * 0.45, r * 0.05, r * 0.9, r * 0.41))
        p.drawPath(path.simplified())
    else:
        p.drawEllipse(QPointF(0, 0), r * 0.7, r * 0.7)


def short_state(state: str) -> str:
    """'sleep+tx:watch-phone+tail:phone-cloud' → 'sleep+tx+tail' (base state and its loads)."""
    parts = state.split("+")
    return "+".join([parts[0]] + [p.split(":")[0] for p in parts[1:]])


def _state_class(state: str) -> str:
    s = state.lower()
    if "+" in s and not s.startswith("off"):
        return "active"  # a load (radio, compute, sensor) is on
    if "off" in s:
        return "off"
    if "sleep" in s or "standby" in s:
        return "sleep"
    if "idle" in s:
        return "idle"
    return "active"


class DeviceItem(QGraphicsItem):
    """A device: glyph in its kind colour, power-state ring, battery bar, name and state.

    ``compact`` (set by the view when devices sit close together) draws a smaller glyph with
    the name and battery only; the inspector has the rest.
    """

    compact = False

    def __init__(self, name: str, kind: str, has_battery: bool) -> None:
        super().__init__()
        self.name = name
        self.kind = kind
        self.has_battery = has_battery
        self.on = True
        self.state = "idle"
        self.power_w = 0.0
        self.soc_pct: int | None = 100 if has_battery else None
        self.reason = ""
        self.selected_ring = False
        self.busy = False
        self.badge: tuple[str, str] | None = None  # (text, colour name)
        self.shown = True  # in the home at the playhead (hidden otherwise)
        self._rect = self._BASE_RECT
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"{name} ({kind}) — click to inspect")

    # Kept tight: in a dense house a larger rect overlaps the neighbours' and every update
    # repaints them too (measured: +35 % item paints with a rect wide enough for badges).
    _BASE_RECT = QRectF(-70, -GLYPH - 12, 140, 2 * GLYPH + 58)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return self._rect

    def set_badge(self, badge: tuple[str, str] | None) -> None:
        if badge != self.badge:
            self.badge = badge
            self.refresh_geometry()  # the rect grows to hold the badge, and shrinks back
            self.update()

    def refresh_geometry(self) -> None:
        """Recompute the bounding rect (after a badge, compact-mode or text-size change)."""
        self.prepareGeometryChange()
        rect = self._BASE_RECT
        self._rect = rect if self.badge is None else rect.united(self._badge_rect(self.badge[0]))

    def _badge_rect(self, text: str) -> QRectF:
        fm = QFontMetricsF(theme.font(0.8, bold=True))
        w = min(216.0, fm.horizontalAdvance(text) + 12)
        h = fm.height() + 2
        top = -GLYPH * 0.6 - 4 if DeviceItem.compact else -GLYPH - 6
        return QRectF(-w / 2, top - h, w, h)

    def _paint_badge(self, p: QPainter) -> None:
        """The badge as a pill above the glyph, in its record's colour."""
        text, color = self.badge
        p.setFont(theme.font(0.8, bold=True))
        rect = self._badge_rect(text)
        w = rect.width()
        h = rect.height()
        fill = theme.qcolor(color)
        p.setPen(_pen(fill.darker(150), 1.0))
        p.setBrush(QBrush(fill))
        p.drawRoundedRect(rect, h / 2, h / 2)
        p.setPen(_pen("#FFFFFF" if fill.lightnessF() < 0.6 else "#000000"))
        elided = QFontMetricsF(p.font()).elidedText(text, Qt.TextElideMode.ElideRight, w - 8)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, elided)

    def set_state(
        self, on: bool, state: str, power_w: float, soc: float | None, busy: bool, reason: str
    ) -> bool:
        soc_pct = None if soc is None else int(round(soc * 100))
        power_key = round(power_w, 4)
        if (on, state, power_key, soc_pct, busy, reason) == (
            self.on,
            self.state,
            round(self.power_w, 4),
            self.soc_pct,
            self.busy,
            self.reason,
        ):
            return False
        self.on, self.state, self.power_w, self.soc_pct, self.busy, self.reason = (
            on,
            state,
            power_w,
            soc_pct,
            busy,
            reason,
        )
        self.update()
        return True

    def set_selected_ring(self, on: bool) -> None:
        if on != self.selected_ring:
            self.selected_ring = on
            self.update()

    def paint(self, p: QPainter, _option, _widget=None) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        kind_color = theme.device_color(self.kind)
        off = not self.on
        fill = QColor(theme.OFF_COLOR) if off else kind_color
        fg = QColor("#9A9A9A") if off else QColor("#1E1E1E")
        cls = "off" if off else _state_class(self.state)
        if DeviceItem.compact:
            self._paint_compact(p, fill, fg, cls, off)
            return
        # halo: selection and power-state ring
        if self.selected_ring:
            p.setPen(_pen("#000000", 3.0))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(QPointF(0, 0), GLYPH + 9, GLYPH + 9)
        halo = QColor(fill)
        halo.setAlpha(40 if cls != "active" else 90)
        ring_style = Qt.PenStyle.DashLine if cls in ("sleep", "off") else Qt.PenStyle.SolidLine
        ring_width = 4.0 if cls == "active" or self.busy else 1.5
        p.setBrush(QBrush(halo))
        p.setPen(_pen(fill.darker(130), ring_width, ring_style))
        p.drawEllipse(QPointF(0, 0), GLYPH + 4, GLYPH + 4)
        draw_glyph(p, self.kind, GLYPH * 0.8, fill, fg)
        if self.badge is not None:
            self._paint_badge(p)
        # battery bar (or mains plug)
        y = GLYPH + 8
        f = theme.font(0.85)
        p.setFont(f)
        if self.soc_pct is not None:
            w, h = 44.0, 9.0
            p.setPen(_pen(fg, 1.2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(-w / 2, y, w, h))
            p.drawRect(QRectF(w / 2, y + 2.5, 3, h - 5))
            level = max(0, min(100, self.soc_pct)) / 100.0
            low = self.soc_pct < 20
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(QColor("#D55E00") if low and not off else (QColor("#A0A0A0") if off else fg)))
            p.drawRect(QRectF(-w / 2 + 1.5, y + 1.5, (w - 3) * level, h - 3))
            p.setPen(_pen(theme.TEXT if not off else "#9A9A9A"))
            p.drawText(QRectF(w / 2 + 4, y - 4, 40, h + 8), Qt.AlignmentFlag.AlignVCenter, f"{self.soc_pct}%")
        else:
            p.setPen(_pen(theme.MUTED_TEXT))
            p.drawText(QRectF(-40, y - 4, 80, 16), Qt.AlignmentFlag.AlignCenter, "mains")
        # name and state
        p.setFont(theme.font(1.0, bold=True))
        p.setPen(_pen(theme.TEXT if not off else "#8A8A8A"))
        p.drawText(QRectF(-70, y + 11, 140, 18), Qt.AlignmentFlag.AlignCenter, self.name)
        p.setFont(f)
        p.setPen(_pen(theme.MUTED_TEXT))
        if off:
            text = f"OFF ({self.reason})" if self.reason else "OFF"
        else:
            text = f"{short_state(self.state)} · {theme.format_power(self.power_w)}"
        p.drawText(QRectF(-70, y + 28, 140, 16), Qt.AlignmentFlag.AlignCenter, text)

    def _paint_compact(self, p: QPainter, fill: QColor, fg: QColor, cls: str, off: bool) -> None:
        g = GLYPH * 0.6
        if self.selected_ring:
            p.setPen(_pen("#000000", 2.5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(QPointF(0, 0), g + 7, g + 7)
        halo = QColor(fill)
        halo.setAlpha(40 if cls != "active" else 90)
        p.setBrush(QBrush(halo))
        ring_style = Qt.PenStyle.DashLine if cls in ("sleep", "off") else Qt.PenStyle.SolidLine
        p.setPen(_pen(fill.darker(130), 3.0 if cls == "active" or self.busy else 1.2, ring_style))
        p.drawEllipse(QPointF(0, 0), g + 3, g + 3)
        draw_glyph(p, self.kind, g * 0.8, fill, fg)
        if self.badge is not None:
            self._paint_badge(p)
        y = g + 5
        if self.soc_pct is not None:
            w, h = 26.0, 5.0
            p.setPen(_pen(fg, 1.0))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(-w / 2, y, w, h))
            low = self.soc_pct < 20
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(QColor("#D55E00") if low and not off else (QColor("#A0A0A0") if off else fg)))
            p.drawRect(QRectF(-w / 2 + 1, y + 1, (w - 2) * max(0, min(100, self.soc_pct)) / 100.0, h - 2))
            y += h + 1
        p.setFont(theme.font(0.75, bold=not off))
        p.setPen(_pen(theme.TEXT if not off else "#8A8A8A"))
        p.drawText(
            QRectF(-50, y, 100, 14), Qt.AlignmentFlag.AlignCenter, self.name + (" (off)" if off else "")
        )


class LinkItem(QGraphicsItem):
    """A link between two devices, styled by type; red, dashed and crossed when down."""

    def __init__(self, name: str, link_type: str, a: QPointF, b: QPointF) -> None:
        super().__init__()
        self.name = name
        self.type = link_type
        self.a, self.b = a, b
        self.up = True
        self.reason = ""
        self.flash: QColor | None = None
        self.shown = True  # both ends in the home at the playhead
        self.setZValue(-10)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        style = theme.link_style(link_type)
        self.setToolTip(f"{name}: {style['label']} link")

    pad = 100.0  # scene units around the line for the label and marks (set by the view's zoom)

    def boundingRect(self) -> QRectF:  # noqa: N802
        p = LinkItem.pad
        return QRectF(self.a, self.b).normalized().adjusted(-p, -p, p, p)

    def set_ends(self, a: QPointF, b: QPointF) -> None:
        if (a, b) != (self.a, self.b):
            self.prepareGeometryChange()
            self.a, self.b = a, b
            self.update()

    def set_state(self, up: bool, reason: str, flash: QColor | None) -> None:
        flash_key = None if flash is None else flash.rgba()
        old_key = None if self.flash is None else self.flash.rgba()
        if (up, reason, flash_key) != (self.up, self.reason, old_key):
            self.up, self.reason, self.flash = up, reason, flash
            self.update()

    def paint(self, p: QPainter, _option, _widget=None) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        style = theme.link_style(self.type)
        dash = {"dot": Qt.PenStyle.DotLine, "dash": Qt.PenStyle.DashLine}.get(
            style["dash"], Qt.PenStyle.SolidLine
        )
        mid = (self.a + self.b) / 2
        if self.up:
            if self.flash is not None:
                glow = QColor(self.flash)
                glow.setAlpha(120)
                p.setPen(_cosmetic(glow, style["width"] + 7))
                p.drawLine(self.a, self.b)
            p.setPen(_cosmetic(theme.LINK_COLOR, style["width"], dash))
            p.drawLine(self.a, self.b)
        else:
            p.setPen(_cosmetic(theme.LINK_DOWN_COLOR, 2.0, Qt.PenStyle.DashLine))
            p.drawLine(self.a, self.b)
        # marks and label in pixels, whatever the zoom
        scale = max(1e-6, p.worldTransform().m11())
        p.save()
        p.translate(mid)
        p.scale(1 / scale, 1 / scale)
        if not self.up:
            p.setPen(_pen(theme.LINK_DOWN_COLOR, 3.5))
            s = 8.0
            p.drawLine(QPointF(-s, -s), QPointF(s, s))
            p.drawLine(QPointF(-s, s), QPointF(s, -s))
        p.setFont(theme.font(0.85, bold=not self.up))
        p.setPen(_pen(theme.LINK_DOWN_COLOR if not self.up else theme.MUTED_TEXT))
        label = (
            style["label"]
            if self.up
            else f"{style['label']} down" + (f" ({self.reason})" if self.reason else "")
        )
        p.drawText(QRectF(-120, 8, 240, 18), Qt.AlignmentFlag.AlignCenter, label)
        p.restore()


class DotsItem(QGraphicsItem):
    """All message dots in flight, drawn in one pass (sized by bytes, coloured by kind)."""

    def __init__(self) -> None:
        super().__init__()
        self.dots: list[tuple[float, float, float, QColor, bool]] = []
        self.setZValue(10)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(-2 * SCENE_W, -2 * SCENE_W, 5 * SCENE_W, 5 * SCENE_W)

    def shape(self) -> QPainterPath:
        return QPainterPath()  # never hit by clicks

    def set_dots(self, dots: list[tuple[float, float, float, QColor, bool]]) -> None:
        if dots or self.dots:
            self.dots = dots
            self.update()

    def paint(self, p: QPainter, _option, _widget=None) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        outline = _cosmetic("#202020", 1.0)
        scale = max(1e-6, p.worldTransform().m11())
        for x, y, r_px, color, ok in self.dots:
            r = r_px / scale
            if ok:
                p.setPen(outline)
                p.setBrush(QBrush(color))
            else:  # lost or failed attempt: hollow, in its kind colour
                p.setPen(_cosmetic(color, 2.0))
                p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(QPointF(x, y), r, r)


def layout_positions(devices: dict[str, dict]) -> dict[str, QPointF]:
    """Scene positions from the trace meta (``position: [x, y]``), fitted into the scene."""
    names = list(devices)
    raw = {}
    for k, name in enumerate(names):
        pos = (devices[name] or {}).get("position")
        if isinstance(pos, (list, tuple)) and len(pos) >= 2:
            raw[name] = (float(pos[0]), float(pos[1]))
        else:  # no position: a circle
            a = 2 * math.pi * k / max(1, len(names))
            raw[name] = (math.cos(a), math.sin(a))
    if not raw:
        return {}
    xs = [p[0] for p in raw.values()]
    ys = [p[1] for p in raw.values()]
    x0, y0 = min(xs), min(ys)
    span = max(max(xs) - x0, max(ys) - y0)
    k = SCENE_W / span if span > 0 else 0.0
    return {name: QPointF((x - x0) * k, (y - y0) * k) for name, (x, y) in raw.items()}


class TopologyView(QGraphicsView):
    """The house: see the module docstring. ``device_clicked(name)`` on a click."""

    device_clicked = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setBackgroundBrush(QBrush(QColor(theme.BACKGROUND)))
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumSize(320, 220)
        self.index: TraceIndex | None = None
        self.devices: dict[str, DeviceItem] = {}
        self.links: dict[str, LinkItem] = {}
        self.positions: dict[str, QPointF] = {}
        self.dots = DotsItem()
        self.selected: str | None = None
        self.last_t = 0.0
        self.frames = 0
        self.speed = 1.0  # the player's speed (badges last BADGE_WALL_S wall seconds)
        self._devices_version = -1
        self._legend_kinds = 0
        self._legend_devices: list[str] | None = None
        self._flash: dict[str, tuple[QColor, float]] = {}
        theme.font_settings().changed.connect(self._refresh_all)

    def set_index(self, index: TraceIndex | None) -> None:
        scene = self.scene()
        scene.clear()
        self.devices.clear()
        self.links.clear()
        self._flash.clear()
        self.positions = {}
        self._devices_version = -1
        self._legend_devices = None  # recomputed at the next frame
        self._legend_kinds = 0
        self.dots = DotsItem()
        scene.addItem(self.dots)
        self.index = index
        if index is None:
            return
        self._sync_devices()

    def _sync_devices(self) -> None:
        """Items for every device the index knows (joined ones too) and the links between
        them; positions are refitted when a device was seen for the first time."""
        index = self.index
        if index.devices_version == self._devices_version:
            return
        self._devices_version = index.devices_version
        self._legend_devices = None  # recomputed at the next frame
        scene = self.scene()
        self.positions = layout_positions(
            {name: {"position": d.position} for name, d in index.devices.items()}
        )
        for name, cols in index.devices.items():
            item = self.devices.get(name)
            if item is None:
                item = DeviceItem(name, cols.kind, cols.capacity_wh is not None)
                scene.addItem(item)
                self.devices[name] = item
            item.setPos(self.positions[name])
        for name, link in index.links.items():
            if link.a not in self.positions or link.b not in self.positions:
                continue
            item = self.links.get(name)
            if item is None:
                item = LinkItem(name, link.type, self.positions[link.a], self.positions[link.b])
                scene.addItem(item)
                self.links[name] = item
            else:
                item.set_ends(self.positions[link.a], self.positions[link.b])
        self.select(self.selected if self.selected in self.devices else None)
        self._fit()

    def select(self, name: str | None) -> None:
        self.selected = name
        for n, item in self.devices.items():
            item.set_selected_ring(n == name)

    def _refresh_all(self) -> None:
        for item in self.devices.values():
            item.refresh_geometry()
        for item in list(self.devices.values()) + list(self.links.values()):
            item.update()

    def _fit(self) -> None:
        """Scale the device positions into the viewport, leaving pixel room for the glyphs."""
        if not self.positions:
            return
        xs = [p.x() for p in self.positions.values()]
        ys = [p.y() for p in self.positions.values()]
        bw, bh = max(xs) - min(xs), max(ys) - min(ys)
        vw, vh = self.viewport().width(), self.viewport().height()
        mx, top, bottom = 80.0, 50.0, 80.0 + 2 * (QFontMetricsF(theme.font(0.8)).height() + 4)
        sx = (vw - 2 * mx) / bw if bw > 0 else math.inf
        sy = (vh - top - bottom) / bh if bh > 0 else math.inf
        scale = min(sx, sy)
        if not math.isfinite(scale) or scale <= 0:
            scale = 1.0
        self.resetTransform()
        self.scale(scale, scale)
        pts = list(self.positions.values())
        closest = min(
            (math.hypot(a.x() - b.x(), a.y() - b.y()) for i, a in enumerate(pts) for b in pts[i + 1 :]),
            default=math.inf,
        )
        compact = closest * scale < 120.0
        if compact != DeviceItem.compact:
            DeviceItem.compact = compact
            for item in self.devices.values():
                item.refresh_geometry()
                item.update()
        if abs(LinkItem.pad - 130.0 / scale) > 1e-6:
            for item in self.links.values():
                item.prepareGeometryChange()
            LinkItem.pad = 130.0 / scale
        cx = (max(xs) + min(xs)) / 2
        cy = (max(ys) + min(ys)) / 2 + (bottom - top) / 2 / scale
        r = QRectF(cx - vw / 2 / scale, cy - vh / 2 / scale, vw / scale, vh / scale)
        self.scene().setSceneRect(r)
        self.centerOn(QPointF(cx, cy))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        hits = [i for i in self.items(event.position().toPoint()) if isinstance(i, DeviceItem)]
        item = hits[0] if hits else None
        if item is not None:
            self.select(item.name)
            self.device_clicked.emit(item.name)
            event.accept()
            return
        super().mousePressEvent(event)

    def device_center(self, name: str) -> QPointF:
        """Where a device is drawn, in view (widget) coordinates (tests click there)."""
        return self.mapFromScene(self.positions[name])

    def show_time(self, t: float) -> None:
        """Update everything to simulated time ``t``."""
        index = self.index
        if index is None:
            return
        self.frames += 1
        self._sync_devices()
        if len(index.message_kinds) != self._legend_kinds:
            self._legend_kinds = len(index.message_kinds)
            self.viewport().update()  # the legend lists the message kinds seen so far
        badge_s = max(BADGE_MIN_S, self.speed * BADGE_WALL_S)
        present: dict[str, bool] = {}
        moved = self._legend_devices is None  # a device appeared or disappeared this frame
        for name, item in self.devices.items():
            cols = index.devices[name]
            here = present[name] = cols.present_at(t) if cols.presence_t else cols.initially_present
            if here != item.shown:
                item.shown = here
                item.setVisible(here)
                moved = True
            if not here:
                continue
            on = cols.is_on(t)
            state, power_w = cols.state_at(t)
            busy = bool(cols.infer_t) and bool(cols.running_at(t))
            reason = ""
            if not on and cols.onoff_t:
                i = max(0, min(len(cols.onoff_t) - 1, bisect.bisect_right(cols.onoff_t, t) - 1))
                reason = cols.onoff_reason[i]
            item.set_state(on, state, power_w if on else 0.0, cols.soc_at(t), busy, reason)
            if cols.badge_t or item.badge is not None:
                item.set_badge(self._badge(name, t, badge_s))
        if moved:
            self._legend_devices = sorted({i.kind for n, i in self.devices.items() if present[n] and i.kind})
            self.viewport().update()  # the legend lists the kinds of the devices in the home
        # links: up/down and a short flash for messages too quick to see as dots
        wall = time.perf_counter()
        if t > self.last_t and t - self.last_t < 3600:
            for m in index.messages_between(self.last_t, t, limit=300):
                self._flash[m.link] = (theme.message_color(m.msg_kind), wall + 0.35)
        for name, item in self.links.items():
            ln = index.links[name]
            here = present.get(ln.a, False) and present.get(ln.b, False)
            if here != item.shown:
                item.shown = here
                item.setVisible(here)
            if not here:
                continue
            up = ln.is_up(t)
            reason = ""
            if not up and ln.t:
                reason = ln.reason[bisect.bisect_right(ln.t, t) - 1]
            flash = self._flash.get(name)
            color = flash[0] if flash is not None and flash[1] > wall else None
            item.set_state(up, reason, color)
        self.last_t = t
        # dots in flight
        dots = []
        for m in index.messages_in_flight(t):
            a = self.positions.get(m.src)
            b = self.positions.get(m.dst)
            if a is None or b is None or not (present.get(m.src) and present.get(m.dst)):
                continue
            span = m.end_t - m.t
            f = 1.0 if span <= 0 else min(1.0, max(0.0, (t - m.t) / span))
            x = a.x() + (b.x() - a.x()) * f
            y = a.y() + (b.y() - a.y()) * f
            r = 3.0 + 1.6 * math.log10(max(10, m.size_bytes))
            dots.append((x, y, min(r, 14.0), theme.message_color(m.msg_kind), m.status == "delivered"))
        self.dots.set_dots(dots)

    def _badge(self, device: str, t: float, window_s: float) -> tuple[str, str] | None:
        """(text, colour) of the device's badge at ``t``, if a record gave it one lately."""
        rec = self.index.badge_at(device, t, window_s)
        if rec is None:
            return None
        view = VIEWS[type(rec)]
        text = view.badge(rec)
        if not text:
            return None
        return text, view.color(rec) if view.color else theme.DEFAULT_MARK_COLOR

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        """A two-row legend along the bottom: device kinds and links, then message kinds."""
        if self.index is None:
            return
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(theme.font(0.8))
        fm = painter.fontMetrics()
        h = fm.height() + 4
        base = self.viewport().height() - 2 * h - 4
        painter.fillRect(QRectF(0, base - 2, self.viewport().width(), 2 * h + 6), QColor(255, 255, 255, 215))

        def label(x: float, y: float, text: str, muted: bool = False) -> float:
            painter.setPen(QColor(theme.MUTED_TEXT if muted else theme.TEXT))
            painter.drawText(QPointF(x, y + h - 6), text)
            return x + fm.horizontalAdvance(text) + 10

        x = label(8.0, base, "devices:", muted=True)
        for k in self._legend_devices or []:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.device_color(k))
            painter.drawRoundedRect(QRectF(x, base + 3, 11, h - 8), 2, 2)
            x = label(x + 14, base, k)
        x = label(x + 12, base, "links:", muted=True)
        for link_type in ("ble", "wifi", "wan"):
            style = theme.link_style(link_type)
            dash = {"dot": Qt.PenStyle.DotLine, "dash": Qt.PenStyle.DashLine}.get(
                style["dash"], Qt.PenStyle.SolidLine
            )
            painter.setPen(_pen(theme.LINK_COLOR, style["width"], dash))
            painter.drawLine(QPointF(x, base + h / 2), QPointF(x + 26, base + h / 2))
            x = label(x + 30, base, style["label"])
        painter.setPen(_pen(theme.LINK_DOWN_COLOR, 2.0))
        painter.drawLine(QPointF(x + 2, base + 4), QPointF(x + 10, base + h - 6))
        painter.drawLine(QPointF(x + 2, base + h - 6), QPointF(x + 10, base + 4))
        label(x + 14, base, "down")
        y = base + h
        x = label(8.0, y, "messages:", muted=True)
        kinds = list(self.index.message_kinds)
        if not kinds:
            label(x, y, "none so far", muted=True)
        for k in kinds:
            painter.setPen(_pen("#202020", 1.0))
            painter.setBrush(theme.message_color(k))
            painter.drawEllipse(QPointF(x + 5, y + h / 2 - 1), 4.5, 4.5)
            x = label(x + 13, y, k)
        if kinds:
            painter.setPen(_pen(theme.message_color(kinds[0]), 2.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(x + 5, y + h / 2 - 1), 4.5, 4.5)
            label(x + 13, y, "lost attempt (size ∝ bytes)")
        painter.restore()
