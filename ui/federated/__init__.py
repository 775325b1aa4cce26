"""Views of the core federated round protocol (:mod:`simulator.federated`): its records in
the log, timeline and topology, its message colours, and the shared style (:mod:`.style`).
Every app built on the protocol shows its rounds through these (``ui/apps/federated``,
``ui/apps/home_suggestions``)."""

from __future__ import annotations

from simulator.federated.records import ClientUpdate, FederatedPlan, FederatedRound
from ui import theme
from ui.apps import RecordView
from ui.federated.style import BADGES, ROUND_COLOR, STAGE_COLORS, STAGE_LABELS

MESSAGE_COLORS = {
    "fl_model": "#0077BB",  # the global model going out (cloud → phone → watch)
    "fl_keys": "#EE3377",  # secure aggregation: key exchange and shares (magenta)
    "fl_shares": "#EE3377",
    "fl_unmask": "#EE3377",
    "fl_sum": "#33BBEE",  # Paillier: the encrypted sum to the key holder and back
}


def _client_text(r: ClientUpdate) -> str:
    text = f"round {r.round}: {STAGE_LABELS.get(r.stage, r.stage)} ({r.examples} windows)"
    if r.staleness:
        text += f", {r.staleness} versions late"
    return f"{text}: {r.detail}" if r.detail else text


def _round_text(r: FederatedRound) -> str:
    text = (
        f"round {r.round} aggregated: accuracy {r.accuracy:.3f}, {r.participants} of {r.selected} "
        f"reported ({r.stragglers} straggled, {r.dropped} dropped, {r.offline} offline)"
    )
    if r.epsilon is not None:
        text += f", ε {r.epsilon:.2f}"
    return f"{text}; {r.detail}" if r.detail else text


RECORD_VIEWS = {
    ClientUpdate: RecordView(
        label="fl client",
        describe=_client_text,
        color=lambda r: STAGE_COLORS.get(r.stage, theme.DEFAULT_MARK_COLOR),
        badge=lambda r: BADGES.get(r.stage, r.stage).format(round=r.round),
        step=False,
        hidden_in_log=True,
    ),
    FederatedRound: RecordView(
        label="fl round",
        describe=_round_text,
        subject=lambda r: "",
        color=lambda r: ROUND_COLOR,
        timeline="mark",
        mark_label=lambda r: f"R{r.round} {r.accuracy:.2f}",
    ),
    FederatedPlan: RecordView(
        label="fl plan",
        describe=lambda r: (
            f"{len(r.clients)} clients, {r.rounds} rounds of {r.clients_per_round}, {r.strategy} ({r.mode}), "
            f"privacy: {r.privacy}; model {r.model_params:,} parameters ({r.model_bytes / 1e3:.1f} kB)"
        ),
        subject=lambda r: r.server,
        step=False,
    ),
}
