"""The home's world: the night's ground truth as records (in time order, numbered), each
sensor's stream of inputs built from it, and the residents' comings and goings (the phone
leaves the home's Wi-Fi with resident A)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import simulator.apps.smart_home.streams as streams
from simulator.apps.smart_home.inputs import Speakers
from simulator.apps.smart_home.records import Truth
from simulator.trace import Note

if TYPE_CHECKING:
    from simulator.apps.smart_home.state import HomeState


class World:
    """The night's truth and streams, and the processes that play them (see module docstring)."""

    def __init__(self, home: HomeState) -> None:
        self.home = home

    def truths(self) -> list[Truth]:
        """Every ground-truth item as a record, in time order, numbered."""
        p = self.home.params
        items: list[tuple[float, str, str, str, float, str]] = []
        for where, sees, _ in self.home.cameras:
            for s in getattr(self.home.night, sees):
                items.append((s.t, where, s.kind, s.label, s.end_t, "headlights" if s.light else ""))
        for s in self.home.night.sounds:
            said = " ".join(w or "(noise)" for w in s.words)
            items.append(
                (
                    s.t,
                    p["speaker"],
                    s.kind,
                    s.label,
                    s.t + len(s.words),
                    f"{self.home.night.voices[s.voice]}: {said}",
                )
            )
        for w in self.home.night.wrist:
            items.append((w.t, p["watch"], "gesture" if w.label != "walk" else "walk", w.label, w.end_t, ""))
        items.sort(key=lambda item: (item[0], item[1]))
        truths = [
            Truth(t, self.home.name, where, kind, label, end, i, detail)
            for i, (t, where, kind, label, end, detail) in enumerate(items)
        ]
        self.home.truth_id = {(tr.where, tr.t, tr.kind): tr.truth_id for tr in truths}
        return truths

    def build_streams(self) -> dict[str, streams.Stream]:
        p, night, seed = self.home.params, self.home.night, self.home.sim.seed
        needed = {c["source"]["device"] for c in self.home.chains if c["source"]["trigger"] != "timer"}
        out: dict[str, streams.Stream] = {}
        ids = self.home.truth_id
        for camera, sees, pir in self.home.cameras:
            if camera in needed:
                pairs = [(ids[(camera, s.t, s.kind)], s) for s in getattr(night, sees)]
                out[camera] = streams.camera_stream(camera, pairs, night, seed, p, pir, indoor=not pir)
        if p["speaker"] in needed:
            pairs = [(ids[(p["speaker"], s.t, s.kind)], s) for s in night.sounds]
            try:
                speakers = Speakers.draw(len(night.voices), self.home.new_rng("voices"))
                out[p["speaker"]] = streams.sound_stream(
                    p["speaker"], pairs, speakers, seed, p, self.home.voice_gate
                )
            except RuntimeError as exc:  # espeak-ng missing and words not cached
                why = f"voice chains off: {exc}"  # the summary reads it from this note
                self.home.sim.trace.append(Note(0.0, p["speaker"], "unavailable", why))
        if p["watch"] in needed:
            kind = {"walk": "walk"}
            pairs = [(ids[(p["watch"], w.t, kind.get(w.label, "gesture"))], w) for w in night.wrist]
            out[p["watch"]] = streams.wrist_stream(p["watch"], night, pairs, seed, p)
        return out

    def ground_truth(self):
        for truth in self.home.truths:
            if truth.t > self.home.env.now:
                yield self.home.env.timeout(truth.t - self.home.env.now)
            self.home.sim.trace.append(truth)

    def residents(self):
        """The phone leaves the home's Wi-Fi with resident A; the alarm rings in the morning."""
        link = self.home.sim.link_between(self.home.params["hub"], self.home.params["phone"])
        changes = []
        for a, b in self.home.night.phone_away:
            changes += [(a, False), (b, True)]
        for t, up in sorted(changes):
            if t > self.home.env.now:
                yield self.home.env.timeout(t - self.home.env.now)
            if link is not None and link.a.present and link.b.present:
                link.set_up(up, "phone back home" if up else "phone left with resident A")
