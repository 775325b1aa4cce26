"""Topology view: devices by kind, battery and power state, links by type, message dots.

Devices are cached graphics items repainted only when their visible state changes (power
state, on/off, battery percent, badge); links repaint when they go up/down or flash; all
message dots in flight are drawn by one item. Per frame the work is a few bisects per device
plus the messages in flight, never a scan of the trace.

The house grows during a run: a device is drawn only while it is in the home (it joins, it
leaves; seeking back before a join hides it again), a link only while both its ends are.
Records with a badge hook (an escalation stage, a deploy) label their device for a moment.

Level of detail: the view measures how far apart devices sit on screen and picks a
:class:`Detail` — a few devices get big glyphs with battery, name and state; a room full of
them gets smaller glyphs with names; a crowd (fifty homes) gets glyphs sized to the space
each device has, and a label layout (greedy, in view pixels) gives names and badges to the
devices that have room, the selected or hovered device and the newest badges first, so that
no text covers another.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView

from ui import theme
from ui.record_views import VIEWS
from ui.trace_index import TraceIndex
from ui.views import IndexView

GLYPH = 26.0  # half size of a device glyph in pixels (full detail)
COMPACT_GLYPH = GLYPH * 0.6
SCENE_W, SCENE_H = 1000.0, 640.0
# A badge stays this many wall seconds at the playing speed (at least BADGE_MIN_S simulated).
BADGE_WALL_S = 1.5
BADGE_MIN_S = 30.0
# Level of detail, from on-screen distances between devices (pixels). Full detail needs room
# for a 190 px wide state line between neighbours; compact for a name under a 37 px glyph.
FULL_SPACING_PX = 120.0
COMPACT_SPACING_PX = 48.0
MIN_GLYPH_PX = 5.0  # smaller than this the kind's shape is no longer recognizable
DENSE_GLYPH_SHARE = 0.45  # dense: glyph half size per pixel of typical neighbour distance
# How close (pixels) a click must land to a device glyph in a dense home to pick it.
CLICK_SLOP_PX = 10.0
# A crowd shows the text of its newest badges only; older ones are rings in their colour.
DENSE_BADGE_TEXTS = 8
DENSE_LINK_ALPHA = 120  # links in a crowd: lighter, so that the glyphs stand out

_metrics_cache: dict[tuple[float, bool], QFontMetricsF] = {}
_width_cache: dict[tuple[float, bool, str], float] = {}  # the label layout measures names often


def _metrics(font: QFont) -> QFontMetricsF:
    key = (font.pointSizeF(), font.bold())
    fm = _metrics_cache.get(key)
    if fm is None:
        fm = _metrics_cache[key] = QFontMetricsF(font)
    return fm


_font_cache: dict[tuple[float, float, bool], QFont] = {}


def _font(size_factor: float, bold: bool = False) -> QFont:
    """:func:`theme.font`, cached (never modify the font returned)."""
    key = (theme.font_settings().scale, size_factor, bold)
    font = _font_cache.get(key)
    if font is None:
        font = _font_cache[key] = theme.font(size_factor, bold=bold)
    return font


def _text_w(font: QFont, text: str) -> float:
    key = (font.pointSizeF(), font.bold(), text)
    w = _width_cache.get(key)
    if w is None:
        if len(_width_cache) > 20000:
            _width_cache.clear()
        w = _width_cache[key] = _metrics(font).horizontalAdvance(text)
    return w


def _pen(color: QColor | str, width: float = 1.0, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(QColor(color), width, style)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _cosmetic(color: QColor | str, width: float, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = _pen(color, width, style)
    pen.setCosmetic(True)
    return pen


def draw_glyph(p: QPainter, kind: str, r: float, color: QColor, fg: QColor, min_pen_px: float = 1.2) -> None:
    """A recognizable icon for a device kind, centred on (0, 0), about 2r wide."""
    p.setBrush(QBrush(color))
    p.setPen(_pen(fg, max(min_pen_px, r * 0.07)))
    if kind == "watch":
        p.drawRoundedRect(QRectF(-r * 0.35, -r * 0.95, r * 0.7, r * 1.9), r * 0.12, r * 0.12)  # strap
        p.drawRoundedRect(QRectF(-r * 0.6, -r * 0.6, r * 1.2, r * 1.2), r * 0.28, r * 0.28)  # case
        p.setPen(_pen(fg, max(min_pen_px, r * 0.09)))
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


class Detail(NamedTuple):
    """How much a device item draws, chosen by the view from the space each device has.

    ``full``: big glyph, battery bar, name and state (devices far apart); ``compact``: smaller
    glyph, battery bar and name; ``dense``: a glyph sized to the space (``glyph_px``), names
    only where they fit, the selected or hovered device as a card, badges as pills with the
    device's name where they fit and as a ring in their colour where they do not.
    """

    level: str
    glyph_px: float


FULL = Detail("full", GLYPH)
COMPACT = Detail("compact", COMPACT_GLYPH)


def detail_for(nearest: np.ndarray) -> Detail:
    """The level of detail for devices whose nearest neighbours are ``nearest`` pixels away
    on screen: full when even the closest pair has room, compact when the typical device
    does, dense otherwise (its glyph sized to the typical device's room)."""
    if len(nearest) == 0 or float(nearest.min()) >= FULL_SPACING_PX:
        return FULL
    typical = float(np.median(nearest))
    if typical >= COMPACT_SPACING_PX:
        return COMPACT
    return Detail("dense", dense_glyph_px(typical))


def dense_glyph_px(nearest_px: float) -> float:
    """Glyph half size for a device whose nearest neighbour is ``nearest_px`` away (dense)."""
    return round(max(MIN_GLYPH_PX, min(COMPACT_GLYPH, DENSE_GLYPH_SHARE * nearest_px)), 1)


class DeviceItem(QGraphicsItem):
    """A device: glyph in its kind colour, power-state ring, battery bar, name and state.

    What it draws depends on its :class:`Detail` and on three flags the view sets after
    laying out the labels: ``labelled`` (its name, and battery at the compact level, fit),
    ``emphasised`` (selected or hovered: drawn in full, on top) and ``badge_shown`` (its
    badge's text fits; otherwise a ring in the badge's colour marks it).
    """

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
        self.badge_since = 0.0  # simulated time of the badge's record (newest are placed first)
        self.shown = True  # in the home at the playhead (hidden otherwise)
        self.detail = FULL
        self.labelled = True
        self.emphasised = False
        self.badge_shown = True
        self.hover_changed: Callable[[str, bool], None] | None = None  # set by the view
        self._rect = QRectF()
        self.refresh_geometry()
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"{name} ({kind}) — click to inspect")

    @property
    def compact(self) -> bool:
        return self.detail.level != "full"

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return self._rect

    # ---- geometry (item pixels, the glyph centred on 0, 0) ---------------------------------

    def glyph_rect(self) -> QRectF:
        """The glyph and its power-state ring (the part other labels must not cover)."""
        r = self.detail.glyph_px + 3
        return QRectF(-r, -r, 2 * r, 2 * r)

    def label_rect(self, emphasised: bool | None = None) -> QRectF:
        """What is drawn below the glyph: battery, name (and state when in full or emphasised)."""
        emphasised = self.emphasised if emphasised is None else emphasised
        level = self.detail.level
        if level == "full":
            # wide and tall enough for the state line ("sleep+charging · 30.0 mW" was clipped)
            return QRectF(-95, GLYPH + 4, 190, 60)
        if level == "compact":
            g = COMPACT_GLYPH
            h = 14 + (6 if self.soc_pct is not None else 0)
            w = max(32.0, _text_w(_font(0.75, bold=True), self._name_text()) + 4)
            return QRectF(-w / 2, g + 5, w, h)
        g = self.detail.glyph_px
        if emphasised:
            w, h = self._card_size()
            return QRectF(-w / 2, g + 4, w, h)
        font = _font(0.75, bold=True)
        w = _text_w(font, self._name_text()) + 6
        return QRectF(-w / 2, g + 3, w, _metrics(font).height() + 1)

    def badge_rect(self, text: str | None = None) -> QRectF:
        """The badge pill above the glyph (in the dense level it carries the name too)."""
        text = self._badge_text() if text is None else text
        level = self.detail.level
        font = self._badge_font()
        fm = _metrics(font)
        max_w = 216.0 if level != "dense" else 170.0
        w = min(max_w, _text_w(font, text) + 12)
        h = fm.height() + 2
        if level == "full":
            top = -GLYPH - 6
        elif level == "compact":
            top = -COMPACT_GLYPH - 4
        else:
            top = -self.detail.glyph_px - 4
        return QRectF(-w / 2, top - h, w, h)

    def refresh_geometry(self) -> None:
        """Recompute the bounding rect (after a badge, detail, layout or text-size change)."""
        self.prepareGeometryChange()
        r = self.detail.glyph_px + (10 if self.detail.level == "full" else 9)  # rings and their pens
        rect = QRectF(-r, -r, 2 * r, 2 * r)
        if self.detail.level == "full":
            rect = rect.united(QRectF(-70, -GLYPH - 12, 140, 12))
        if self.labelled or self.emphasised:
            rect = rect.united(self.label_rect())
        if self.badge is not None and (self.badge_shown or self.emphasised):
            rect = rect.united(self.badge_rect())
        self._rect = rect

    def _name_text(self) -> str:
        if self.detail.level == "full" or self.on:
            return self.name
        return self.name + " (off)"

    def _badge_font(self) -> QFont:
        return _font(0.8 if self.detail.level != "dense" else 0.72, bold=True)

    def _badge_text(self) -> str:
        if self.badge is None:
            return ""
        if self.detail.level == "dense" and not self.emphasised:
            return f"{self.name} · {self.badge[0]}"  # no room for a name below: it rides along
        return self.badge[0]

    def _card_size(self) -> tuple[float, float]:
        name_fm = _metrics(_font(0.8, bold=True))
        small_fm = _metrics(_font(0.7))
        w = max(name_fm.horizontalAdvance(self._name_text()), small_fm.horizontalAdvance(self._state_text()))
        h = name_fm.height() + small_fm.height() + (9 if self.soc_pct is not None else 0) + 6
        return max(60.0, w + 12), h

    def _state_text(self) -> str:
        if not self.on:
            return f"OFF ({self.reason})" if self.reason else "OFF"
        return f"{short_state(self.state)} · {theme.format_power(self.power_w)}"

    # ---- state set by the view ---------------------------------------------------------------

    def set_detail(self, detail: Detail) -> None:
        if detail != self.detail:
            self.detail = detail
            self.refresh_geometry()
            self.update()

    def set_layout(self, labelled: bool, badge_shown: bool, emphasised: bool) -> bool:
        """What the label layout decided for this device; True when that changed."""
        if (labelled, badge_shown, emphasised) == (self.labelled, self.badge_shown, self.emphasised):
            return False
        self.labelled, self.badge_shown, self.emphasised = labelled, badge_shown, emphasised
        self.setZValue(3 if emphasised else 2 if self.badge is not None else 1 if labelled else 0)
        self.refresh_geometry()
        self.update()
        return True

    def set_badge(self, badge: tuple[str, str] | None, since: float = 0.0) -> bool:
        """True when the badge changed (the view then lays the labels out again)."""
        if badge != self.badge:
            self.badge = badge
            self.badge_since = since
            self.refresh_geometry()  # the rect grows to hold the badge, and shrinks back
            self.update()
            return True
        return False

    def _paint_badge(self, p: QPainter) -> None:
        """The badge as a pill above the glyph, in its record's colour."""
        text, color = self.badge
        text = self._badge_text()
        p.setFont(self._badge_font())
        rect = self.badge_rect(text)
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
        resized = on != self.on and self.detail.level != "full"  # the name gains " (off)"
        self.on, self.state, self.power_w, self.soc_pct, self.busy, self.reason = (
            on,
            state,
            power_w,
            soc_pct,
            busy,
            reason,
        )
        if resized or (self.emphasised and self.detail.level == "dense"):
            self.refresh_geometry()  # the card's width follows its state line
        self.update()
        return True

    def set_selected_ring(self, on: bool) -> None:
        if on != self.selected_ring:
            self.selected_ring = on
            self.update()

    def hoverEnterEvent(self, event) -> None:  # noqa: N802
        if self.hover_changed is not None:
            self.hover_changed(self.name, True)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        if self.hover_changed is not None:
            self.hover_changed(self.name, False)
        super().hoverLeaveEvent(event)

    # ---- painting ------------------------------------------------------------------------

    def paint(self, p: QPainter, _option, _widget=None) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        kind_color = theme.device_color(self.kind)
        off = not self.on
        fill = QColor(theme.OFF_COLOR) if off else kind_color
        fg = QColor("#9A9A9A") if off else QColor("#1E1E1E")
        cls = "off" if off else _state_class(self.state)
        if self.detail.level == "compact":
            self._paint_compact(p, fill, fg, cls, off)
            return
        if self.detail.level == "dense":
            self._paint_dense(p, fill, fg, cls, off)
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
        p.drawText(QRectF(-95, y + 28, 190, 16), Qt.AlignmentFlag.AlignCenter, self._state_text())

    def _paint_ring_and_glyph(self, p: QPainter, g: float, fill: QColor, fg: QColor, cls: str) -> None:
        """Selection ring, badge ring (when its text has no room), state ring and glyph."""
        dense = self.detail.level == "dense"
        if self.badge is not None and not (self.badge_shown or self.emphasised):
            p.setPen(_pen(theme.qcolor(self.badge[1]), 3.0 if dense else 4.0))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(QPointF(0, 0), g + 5, g + 5)
        if self.selected_ring:
            p.setPen(_pen("#000000", 2.5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(QPointF(0, 0), g + 7, g + 7)
        halo = QColor(fill)
        halo.setAlpha(40 if cls != "active" else 90)
        p.setBrush(QBrush(halo))
        ring_style = Qt.PenStyle.DashLine if cls in ("sleep", "off") else Qt.PenStyle.SolidLine
        active = cls == "active" or self.busy
        if dense:
            p.setPen(_pen(fill.darker(130), 2.0 if active else 1.0, ring_style))
            p.drawEllipse(QPointF(0, 0), g + 2, g + 2)
            draw_glyph(p, self.kind, g * 0.85, fill, fg, min_pen_px=0.8)
        else:
            p.setPen(_pen(fill.darker(130), 3.0 if active else 1.2, ring_style))
            p.drawEllipse(QPointF(0, 0), g + 3, g + 3)
            draw_glyph(p, self.kind, g * 0.8, fill, fg)

    def _paint_battery(self, p: QPainter, y: float, w: float, h: float, fg: QColor, off: bool) -> None:
        p.setPen(_pen(fg, 1.0))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(QRectF(-w / 2, y, w, h))
        low = self.soc_pct < 20
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor("#D55E00") if low and not off else (QColor("#A0A0A0") if off else fg)))
        p.drawRect(QRectF(-w / 2 + 1, y + 1, (w - 2) * max(0, min(100, self.soc_pct)) / 100.0, h - 2))

    def _paint_compact(self, p: QPainter, fill: QColor, fg: QColor, cls: str, off: bool) -> None:
        g = COMPACT_GLYPH
        self._paint_ring_and_glyph(p, g, fill, fg, cls)
        if self.badge is not None and (self.badge_shown or self.emphasised):
            self._paint_badge(p)
        if not (self.labelled or self.emphasised):
            return
        y = g + 5
        if self.soc_pct is not None:
            self._paint_battery(p, y, 26.0, 5.0, fg, off)
            y += 6
        p.setFont(theme.font(0.75, bold=not off))
        p.setPen(_pen(theme.TEXT if not off else "#8A8A8A"))
        p.drawText(QRectF(-60, y, 120, 14), Qt.AlignmentFlag.AlignCenter, self._name_text())

    def _paint_dense(self, p: QPainter, fill: QColor, fg: QColor, cls: str, off: bool) -> None:
        g = self.detail.glyph_px
        self._paint_ring_and_glyph(p, g, fill, fg, cls)
        if self.badge is not None and (self.badge_shown or self.emphasised):
            self._paint_badge(p)
        if self.emphasised:
            self._paint_card(p, fg, off)
        elif self.labelled:
            rect = self.label_rect()
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(QColor(255, 255, 255, 200)))
            p.drawRoundedRect(rect, 3, 3)
            p.setFont(theme.font(0.75, bold=True))
            p.setPen(_pen(theme.TEXT if not off else "#8A8A8A"))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._name_text())

    def _paint_card(self, p: QPainter, fg: QColor, off: bool) -> None:
        """The selected or hovered device in a dense home: name, battery and state on a card."""
        rect = self.label_rect(emphasised=True)
        p.setPen(_pen("#9A9A9A", 1.0))
        p.setBrush(QBrush(QColor(255, 255, 255, 235)))
        p.drawRoundedRect(rect, 4, 4)
        name_f = theme.font(0.8, bold=True)
        small_f = theme.font(0.7)
        name_h = _metrics(name_f).height()
        small_h = _metrics(small_f).height()
        y = rect.top() + 2
        p.setFont(name_f)
        p.setPen(_pen(theme.TEXT if not off else "#8A8A8A"))
        p.drawText(
            QRectF(rect.left(), y, rect.width(), name_h), Qt.AlignmentFlag.AlignCenter, self._name_text()
        )
        y += name_h + 1
        p.setFont(small_f)
        if self.soc_pct is not None:
            bar_w = 30.0
            text = f"{self.soc_pct}%"
            text_w = _metrics(small_f).horizontalAdvance(text)
            x0 = -(bar_w + 4 + text_w) / 2
            p.save()
            p.translate(x0 + bar_w / 2, 0)
            self._paint_battery(p, y + 1, bar_w, 6.0, fg, off)
            p.restore()
            p.setPen(_pen(theme.TEXT))
            p.drawText(QPointF(x0 + bar_w + 4, y + 7), text)
            y += 9
        p.setPen(_pen(theme.MUTED_TEXT))
        p.drawText(
            QRectF(rect.left(), y, rect.width(), small_h), Qt.AlignmentFlag.AlignCenter, self._state_text()
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
        self.pad = 100.0  # scene units around the line for the label and marks (set by the view)
        self.dense = False  # thin, light and unlabelled: many links converge in a crowd
        self.labelled = True  # its label has room (set by the view's label layout)
        self.setZValue(-10)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        style = theme.link_style(link_type)
        self.setToolTip(f"{name}: {style['label']} link")

    def boundingRect(self) -> QRectF:  # noqa: N802
        p = self.pad
        return QRectF(self.a, self.b).normalized().adjusted(-p, -p, p, p)

    def set_ends(self, a: QPointF, b: QPointF) -> None:
        if (a, b) != (self.a, self.b):
            self.prepareGeometryChange()
            self.a, self.b = a, b
            self.update()

    def set_detail(self, pad: float, dense: bool) -> None:
        if (pad, dense) != (self.pad, self.dense):
            self.prepareGeometryChange()
            self.pad, self.dense = pad, dense
            self.update()

    def set_labelled(self, labelled: bool) -> None:
        if labelled != self.labelled:
            self.labelled = labelled
            self.update()

    def label_text(self) -> str:
        label = theme.link_style(self.type)["label"]
        if self.up:
            return label
        return f"{label} down" + (f" ({self.reason})" if self.reason else "")

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
        dense = self.dense
        width = max(1.0, style["width"] * 0.5) if dense else style["width"]
        if self.up:
            if self.flash is not None:
                glow = QColor(self.flash)
                glow.setAlpha(120 if not dense else 170)
                p.setPen(_cosmetic(glow, width + (7 if not dense else 3)))
                p.drawLine(self.a, self.b)
            color = QColor(theme.LINK_COLOR)
            if dense:
                color.setAlpha(DENSE_LINK_ALPHA)
            p.setPen(_cosmetic(color, width, dash))
            p.drawLine(self.a, self.b)
        else:
            p.setPen(_cosmetic(theme.LINK_DOWN_COLOR, 2.0 if not dense else 1.5, Qt.PenStyle.DashLine))
            p.drawLine(self.a, self.b)
        if self.up and (dense or not self.labelled):
            return  # no room for its label: the legend says which style is which
        # marks and label in pixels, whatever the zoom
        scale = max(1e-6, p.worldTransform().m11())
        p.save()
        p.translate(mid)
        p.scale(1 / scale, 1 / scale)
        if not self.up:
            p.setPen(_pen(theme.LINK_DOWN_COLOR, 3.5 if not dense else 2.0))
            s = 8.0 if not dense else 4.0
            p.drawLine(QPointF(-s, -s), QPointF(s, s))
            p.drawLine(QPointF(-s, s), QPointF(s, -s))
            if dense:
                p.restore()
                return
        p.setFont(theme.font(0.85, bold=not self.up))
        p.setPen(_pen(theme.LINK_DOWN_COLOR if not self.up else theme.MUTED_TEXT))
        p.drawText(QRectF(-120, 8, 240, 18), Qt.AlignmentFlag.AlignCenter, self.label_text())
        p.restore()


class DotsItem(QGraphicsItem):
    """All message dots in flight, drawn in one pass (sized by bytes, coloured by kind)."""

    def __init__(self) -> None:
        super().__init__()
        self.dots: list[tuple[float, float, float, QColor, bool]] = []
        self.size_factor = 1.0  # dots shrink with the glyphs in a dense home
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
        scale = max(1e-6, p.worldTransform().m11()) / self.size_factor
        for x, y, r_px, color, ok in self.dots:
            r = r_px / scale
            if ok:
                p.setPen(outline)
                p.setBrush(QBrush(color))
            else:  # lost or failed attempt: hollow, in its kind colour
                p.setPen(_cosmetic(color, 2.0))
                p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(QPointF(x, y), r, r)


class _RectGrid:
    """Rectangles placed so far (view pixels), bucketed in square cells for overlap tests;
    each has an owner (a device or link name) and a kind (glyph, text, link label)."""

    def __init__(self, cell_px: float = 64.0) -> None:
        self.cell_px = cell_px
        self.cells: dict[tuple[int, int], list[tuple[QRectF, str, str]]] = {}

    def _keys(self, r: QRectF) -> list[tuple[int, int]]:
        c = self.cell_px
        i0, i1 = int(r.left() // c), int(r.right() // c)
        j0, j1 = int(r.top() // c), int(r.bottom() // c)
        return [(i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]

    def add(self, rect: QRectF, owner: str, kind: str) -> None:
        for key in self._keys(rect):
            self.cells.setdefault(key, []).append((rect, owner, kind))

    def hits(self, rect: QRectF, owner: str, kinds: tuple[str, ...]) -> bool:
        """Whether ``rect`` overlaps a rectangle of one of ``kinds`` placed by another owner."""
        for key in self._keys(rect):
            for other, other_owner, kind in self.cells.get(key, ()):
                if other_owner != owner and kind in kinds and other.intersects(rect):
                    return True
        return False


def nearest_px(points: list[QPointF], scale: float) -> np.ndarray:
    """Each point's distance to its nearest neighbour, in pixels at ``scale``."""
    n = len(points)
    if n < 2:
        return np.full(n, math.inf)
    xy = np.array([(p.x(), p.y()) for p in points], dtype=float)
    nearest = np.empty(n)
    block = 512  # rows at a time: memory stays small for thousands of devices
    for s in range(0, n, block):
        rows = xy[s : s + block]
        d = np.hypot(rows[:, None, 0] - xy[None, :, 0], rows[:, None, 1] - xy[None, :, 1])
        k = np.arange(len(rows))
        d[k, k + s] = np.inf
        nearest[s : s + block] = d.min(axis=1)
    return nearest * scale


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


class TopologyView(IndexView, QGraphicsView):
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
        self.hovered: str | None = None
        self.detail = FULL  # level of detail for the current size and device count
        self.last_t = 0.0
        self.frames = 0
        self.layouts = 0  # label layouts done (tests and benchmarks read it)
        self.speed = 1.0  # the player's speed (badges last BADGE_WALL_S wall seconds)
        self._devices_version = -1
        self._legend_kinds = 0
        self._legend_devices: list[str] | None = None
        self._flash: dict[str, tuple[QColor, float]] = {}
        self._label_order: list[str] = []  # who gets a name first when room is short
        self._legend_ring = False  # some badge is a ring (no room for its text)
        theme.font_settings().changed.connect(self._refresh_all)

    def set_index(self, index: TraceIndex | None) -> None:
        scene = self.scene()
        scene.clear()
        self.devices.clear()
        self.links.clear()
        self._flash.clear()
        self.positions = {}
        self.hovered = None
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
                item.hover_changed = self._on_hover
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
        # rare kinds first (the cloud, a hub), then by name: when room is short they keep theirs
        kind_count: dict[str, int] = {}
        for item in self.devices.values():
            kind_count[item.kind] = kind_count.get(item.kind, 0) + 1
        self._label_order = sorted(self.devices, key=lambda n: (kind_count[self.devices[n].kind], n))
        self.select(self.selected if self.selected in self.devices else None)
        self._fit()

    def select(self, name: str | None) -> None:
        self.selected = name
        for n, item in self.devices.items():
            item.set_selected_ring(n == name)
        self._layout_labels()

    def _on_hover(self, name: str, entered: bool) -> None:
        if entered:
            self.set_hovered(name)
        elif self.hovered == name:
            self.set_hovered(None)

    def set_hovered(self, name: str | None) -> None:
        """The device under the mouse (drawn with its name, battery and state, on top)."""
        if name != self.hovered:
            self.hovered = name
            self._layout_labels()

    def _refresh_all(self) -> None:
        for item in self.devices.values():
            item.refresh_geometry()
        for item in list(self.devices.values()) + list(self.links.values()):
            item.update()
        self._layout_labels()

    def _fit(self) -> None:
        """Scale the device positions into the viewport, leaving pixel room for the glyphs,
        and choose the level of detail from the space each device gets."""
        if not self.positions:
            return
        xs = [p.x() for p in self.positions.values()]
        ys = [p.y() for p in self.positions.values()]
        bw, bh = max(xs) - min(xs), max(ys) - min(ys)
        vw, vh = self.viewport().width(), self.viewport().height()
        legend_h = 2 * (QFontMetricsF(theme.font(0.8)).height() + 4)
        pts = list(self.positions.values())

        def scale_for(mx: float, top: float, bottom: float) -> float:
            sx = (vw - 2 * mx) / bw if bw > 0 else math.inf
            sy = (vh - top - bottom) / bh if bh > 0 else math.inf
            scale = min(sx, sy)
            return scale if math.isfinite(scale) and scale > 0 else 1.0

        mx, top, bottom = 80.0, 50.0, 80.0 + legend_h
        scale = scale_for(mx, top, bottom)
        nearest = nearest_px(pts, scale)
        detail = detail_for(nearest)
        if detail.level == "full":
            scale = scale_for(96.0, top, bottom)  # half a state line beside the outermost glyphs
        elif detail.level == "dense":
            # small glyphs and few labels: the margins only need to hold a glyph and a badge
            mx, top, bottom = 24.0, 34.0, 20.0 + legend_h
            scale = scale_for(mx, top, bottom)
            nearest = nearest_px(pts, scale)
            detail = Detail("dense", dense_glyph_px(float(np.median(nearest))))
        self.resetTransform()
        self.scale(scale, scale)
        self.set_detail(detail, scale, dict(zip(self.positions, nearest.tolist(), strict=True)))
        cx = (max(xs) + min(xs)) / 2
        cy = (max(ys) + min(ys)) / 2 + (bottom - top) / 2 / scale
        r = QRectF(cx - vw / 2 / scale, cy - vh / 2 / scale, vw / scale, vh / scale)
        self.scene().setSceneRect(r)
        self.centerOn(QPointF(cx, cy))
        self._layout_labels()

    def set_detail(self, detail: Detail, scale: float, nearest: dict[str, float]) -> None:
        """Apply a level of detail to every device, link and the message dots; in a dense
        home each glyph is sized to its own room (``nearest``: pixels to its neighbour)."""
        self.detail = detail
        dense = detail.level == "dense"
        for name, item in self.devices.items():
            if dense and name in nearest:
                item.set_detail(Detail("dense", dense_glyph_px(nearest[name])))
            else:
                item.set_detail(detail)
        pad = (12.0 if dense else 130.0) / scale  # a dense link draws no label, only a cross
        for link in self.links.values():
            link.set_detail(pad, dense)
        self.dots.size_factor = max(0.45, detail.glyph_px / COMPACT_GLYPH) if dense else 1.0

    def _layout_labels(self) -> None:
        """Decide which devices show their name and their badge's text, greedily in view
        pixels: the selected and hovered devices always; then badges, newest first, where no
        other text is; then names where neither text nor another glyph is; then link labels
        where no glyph and no other link label is."""
        items = [self.devices[n] for n in self._label_order if self.devices[n].shown]
        if not items:
            return
        self.layouts += 1
        emphasised = {self.selected, self.hovered} - {None}
        if self.detail.level == "full":
            for item in items:
                item.set_layout(True, True, item.name in emphasised)
            for link in self.links.values():
                link.set_labelled(True)
            return
        to_view = self.viewportTransform()
        centre = {item.name: to_view.map(item.pos()) for item in items}
        grid = _RectGrid()
        for item in items:
            grid.add(item.glyph_rect().translated(centre[item.name]), item.name, "glyph")
        decided: dict[str, tuple[bool, bool, bool]] = {}
        for item in items:
            if item.name in emphasised:
                c = centre[item.name]
                grid.add(item.label_rect(emphasised=True).translated(c), item.name, "text")
                if item.badge is not None:
                    grid.add(item.badge_rect().translated(c), item.name, "text")
                decided[item.name] = (True, True, True)
        lit = sorted(
            (i for i in items if i.badge is not None and i.name not in decided),
            key=lambda i: -i.badge_since,
        )
        dense = self.detail.level == "dense"
        for k, item in enumerate(lit):
            c = centre[item.name]
            text = f"{item.name} · {item.badge[0]}" if dense else item.badge[0]
            badge = item.badge_rect(text).translated(c)
            shown = not (dense and k >= DENSE_BADGE_TEXTS) and not grid.hits(badge, item.name, ("text",))
            if shown:
                grid.add(badge, item.name, "text")
            labelled = False
            if not dense:  # the dense pill already carries the name
                label = item.label_rect(emphasised=False).translated(c)
                labelled = not grid.hits(label, item.name, ("text",))
                if labelled:
                    grid.add(label, item.name, "text")
            decided[item.name] = (labelled, shown, False)
        for item in items:
            if item.name in decided:
                continue
            label = item.label_rect(emphasised=False).translated(centre[item.name])
            labelled = not grid.hits(label, item.name, ("text", "glyph"))
            if labelled:
                grid.add(label, item.name, "text")
            decided[item.name] = (labelled, False, False)
        for item in items:
            item.set_layout(*decided[item.name])
        ring = any(item.badge is not None and not decided[item.name][1] for item in items)
        if ring != self._legend_ring:
            self._legend_ring = ring
            self.viewport().update()  # the legend explains the rings while there are some
        if dense:
            return  # links in a crowd carry no label (a link down keeps its cross)
        fm = _metrics(theme.font(0.85))
        links = []
        for link in self.links.values():
            if link.shown:
                a, b = to_view.map(link.a), to_view.map(link.b)
                links.append((-math.hypot(b.x() - a.x(), b.y() - a.y()), link.name, (a + b) / 2, link))
        for _, name, mid, link in sorted(links, key=lambda e: e[:2]):  # longest first
            w = fm.horizontalAdvance(link.label_text()) + 12  # a gap between neighbours' labels
            rect = QRectF(mid.x() - w / 2, mid.y() + 8, w, fm.height())
            labelled = not link.up or not grid.hits(rect, name, ("glyph", "link"))
            if labelled:
                grid.add(rect, name, "link")
            link.set_labelled(labelled)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        item = self._nearest_device(pos)  # on or near a glyph: the closest glyph wins
        if item is None:  # else a label or card that was clicked
            hits = [i for i in self.items(pos.toPoint()) if isinstance(i, DeviceItem)]
            item = hits[0] if hits else None
        if item is not None:
            self.select(item.name)
            self.device_clicked.emit(item.name)
            event.accept()
            return
        super().mousePressEvent(event)

    def _nearest_device(self, pos: QPointF) -> DeviceItem | None:
        """The shown device whose glyph centre is nearest ``pos``, if within a few pixels of
        its glyph (small glyphs in a crowd are hard to hit exactly)."""
        to_view = self.viewportTransform()
        best, best_d = None, math.inf
        for item in self.devices.values():
            if item.shown:
                c = to_view.map(item.pos())
                d = math.hypot(c.x() - pos.x(), c.y() - pos.y())
                if d < best_d and d <= item.detail.glyph_px + CLICK_SLOP_PX:
                    best, best_d = item, d
        return best

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
        relayout = False  # a badge came or went: names and badges are laid out again
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
            was_on = item.on
            state, power_w = cols.state_at(t)
            busy = bool(cols.infer_t) and bool(cols.running_at(t))
            reason = ""
            if not on and cols.onoff_t:
                i = max(0, min(len(cols.onoff_t) - 1, bisect.bisect_right(cols.onoff_t, t) - 1))
                reason = cols.onoff_reason[i]
            if item.set_state(on, state, power_w if on else 0.0, cols.soc_at(t), busy, reason):
                relayout |= on != was_on and self.detail.level != "full"  # "(off)" widens the name
            if cols.badge_t or item.badge is not None:
                badge, since = self._badge(name, t, badge_s)
                relayout |= item.set_badge(badge, since)
        if moved:
            self._legend_devices = sorted({i.kind for n, i in self.devices.items() if present[n] and i.kind})
            self.viewport().update()  # the legend lists the kinds of the devices in the home
        if moved or relayout:
            self._layout_labels()
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

    def _badge(self, device: str, t: float, window_s: float) -> tuple[tuple[str, str] | None, float]:
        """((text, colour), record time) of the device's badge at ``t``, if a record gave it
        one lately; (None, 0) otherwise."""
        rec = self.index.badge_at(device, t, window_s)
        if rec is None:
            return None, 0.0
        view = VIEWS[type(rec)]
        text = view.badge(rec)
        if not text:
            return None, 0.0
        return (text, view.color(rec) if view.color else theme.DEFAULT_MARK_COLOR), rec.t

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
            x = label(x + 13, y, "lost attempt (size ∝ bytes)")
        ringed = next((i for i in self.devices.values() if i.shown and i.badge and not i.badge_shown), None)
        if (
            ringed is not None and self._legend_ring
        ):  # badges without room for their text are rings in their colour
            painter.setPen(_pen(theme.qcolor(ringed.badge[1]), 2.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(x + 8, y + h / 2 - 1), 5.5, 5.5)
            label(x + 18, y, "app badge (hover for its text)")
        painter.restore()
