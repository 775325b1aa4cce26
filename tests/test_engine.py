"""Engine, devices, power, links: behaviour on small scenarios without models."""

import pytest

from simulator.engine import Simulation
from simulator.trace import BatterySample, DeviceState, LinkState, Message, PowerState


def scenario(**changes):
    base = {
        "name": "engine-test",
        "duration": "2h",
        "seed": 3,
        "devices": [
            {"name": "watch", "profile": "smartwatch"},
            {"name": "phone", "profile": "phone"},
            {"name": "cloud", "profile": "cloud"},
        ],
        "links": [
            {"name": "ble", "type": "ble", "a": "watch", "b": "phone"},
            {"name": "wan", "type": "wan", "a": "phone", "b": "cloud"},
        ],
    }
    base.update(changes)
    return base


def chatter(sim, link_name, src_name, period_s=30.0, size=2000):
    """A test process: send a message every period over a link."""
    link = sim.links[link_name]
    src = sim.devices[src_name]
    results = []

    def process():
        while True:
            yield sim.env.timeout(period_s)
            src.set_state("active")
            status = yield from link.send(src, "hr", size, retries=2)
            src.set_state("idle")
            results.append(status)

    sim.env.process(process())
    return results


def integrated_energy(trace, device, end_s):
    rows = [r for r in trace.records if type(r) is PowerState and r.device == device]
    total = 0.0
    for here, after in zip(rows, rows[1:] + [None], strict=True):
        stop = after.t if after is not None else end_s
        total += here.power_w * (stop - here.t)
    return total


def test_energy_conservation_battery_drop_equals_integrated_power():
    sim = Simulation.from_dict(scenario())
    chatter(sim, "ble", "watch")
    chatter(sim, "wan", "phone", period_s=300.0)
    sim.run()
    for name in ("watch", "phone"):
        device = sim.devices[name]
        integrated = integrated_energy(sim.trace, name, sim.duration_s)
        drop_j = (1.0 - device.battery.state_of_charge) * device.battery.capacity_j
        assert integrated > 0
        assert drop_j == pytest.approx(integrated, rel=1e-3)
        assert device.energy_j == pytest.approx(integrated, rel=1e-9)


def test_radio_energy_is_energy_per_bit_at_both_ends():
    sim = Simulation.from_dict(scenario(duration="10min"))
    sim.links["ble"].loss = 0.0
    results = chatter(sim, "ble", "watch", period_s=60.0, size=10_000)
    sim.run()
    link = sim.links["ble"]
    n = len(results)
    assert n == 9 and all(r == "delivered" for r in results)
    watch_radio = sum(
        r.power_w - sim.devices["watch"].profile.power_states_w["active"]
        for r in sim.trace.records
        if type(r) is PowerState and r.device == "watch" and "tx:ble" in r.state
    )
    # Each transfer's TX load lasts exactly the airtime: power × airtime = bits × J/bit.
    airtime = 10_000 * 8 / link.bandwidth_bps
    assert watch_radio * airtime == pytest.approx(n * 10_000 * 8 * link.tx_j_per_bit, rel=1e-9)


def test_same_seed_same_trace_and_sliced_advance_is_identical():
    def build(seed):
        sim = Simulation.from_dict(scenario(), seed=seed)
        sim.links["ble"].loss = 0.3
        chatter(sim, "ble", "watch", period_s=20.0)
        return sim

    whole = build(5).run()
    sliced = build(5)
    t = 0.0
    while not sliced.advance(t, budget_s=0.001):
        t += 97.0
    assert whole.trace.records == sliced.trace.records
    other = build(6).run()
    assert other.trace.records != whole.trace.records


def test_link_outage_makes_messages_wait_or_fail():
    events = [{"at": "10min", "type": "link_down", "link": "ble", "until": "20min"}]
    sim = Simulation.from_dict(scenario(duration="30min", events=events))
    sim.links["ble"].loss = 0.0
    link, watch = sim.links["ble"], sim.devices["watch"]
    outcomes = {}

    def sender(name, at, wait):
        yield sim.env.timeout(at)
        outcomes[name] = yield from link.send(watch, "ecg", 1000, wait_for_link_s=wait)
        outcomes[name + "_t"] = sim.now

    sim.env.process(sender("gives_up", 11 * 60, 0.0))
    sim.env.process(sender("waits", 12 * 60, 3600.0))
    sim.run()
    assert outcomes["gives_up"] == "down"
    assert outcomes["waits"] == "delivered"
    assert outcomes["waits_t"] >= 20 * 60
    states = [(r.t, r.up) for r in sim.trace.records if type(r) is LinkState]
    assert states == [(600.0, False), (1200.0, True)]


def test_lossy_link_retries_then_fails():
    sim = Simulation.from_dict(scenario(duration="1h"))
    sim.links["ble"].loss = 0.99
    results = chatter(sim, "ble", "watch", period_s=600.0)
    sim.run()
    assert results and all(r == "failed" for r in results)
    attempts = [r.attempt for r in sim.trace.records if type(r) is Message]
    assert max(attempts) == 3  # 1 try + 2 retries


def test_depletion_switches_device_off_on_time():
    devices = [
        {"name": "watch", "profile": "smartwatch", "battery": {"state_of_charge": 0.01, "model": "linear"}}
    ]
    sim = Simulation.from_dict(scenario(devices=devices, links=[], duration="6h"))
    sim.run()
    watch = sim.devices["watch"]
    off = [r for r in sim.trace.records if type(r) is DeviceState]
    expected_s = 0.01 * watch.battery.capacity_j / watch.profile.power_states_w["idle"]
    assert len(off) == 1 and off[0].reason == "depleted" and not off[0].on
    assert off[0].t == pytest.approx(expected_s, rel=1e-6)
    assert not watch.on and watch.power_w == 0.0
    assert sim.summary()["devices"]["watch"]["battery_end_pct"] == pytest.approx(0.0, abs=1e-6)


def test_charging_refills_and_switches_back_on():
    devices = [
        {"name": "watch", "profile": "smartwatch", "battery": {"state_of_charge": 0.002, "model": "linear"}}
    ]
    events = [{"at": "1h", "type": "charge_start", "device": "watch"}]
    sim = Simulation.from_dict(scenario(devices=devices, links=[], duration="4h", events=events))
    sim.run()
    states = [(r.reason, r.on) for r in sim.trace.records if type(r) is DeviceState]
    assert states == [("depleted", False), ("charging", True)]
    assert sim.devices["watch"].battery.state_of_charge == pytest.approx(1.0)
    socs = [r.soc for r in sim.trace.records if type(r) is BatterySample and r.device == "watch"]
    assert max(socs) == pytest.approx(1.0)


def test_kibam_device_dies_earlier_under_heavy_load_than_linear():
    def lifetime(model):
        devices = [{"name": "watch", "profile": "smartwatch", "state": "active", "battery": {"model": model}}]
        sim = Simulation.from_dict(scenario(devices=devices, links=[], duration="20h"))
        sim.devices["watch"].add_load("stress", 1.5)
        sim.run()
        return next(r.t for r in sim.trace.records if type(r) is DeviceState)

    assert lifetime("kibam") < lifetime("linear") * 0.98


def test_compute_queue_serialises_inference():
    from models.cards import ModelCard

    card = ModelCard(
        "toy", "fp32", "toy", ["a"], [1], "fp32", 10, 2_000_000, 4000, 100, 1.0, 0.1, 1.0, "", "", "torch"
    )
    sim = Simulation.from_dict(scenario(duration="1min"))
    watch = sim.devices["watch"]
    ends = []

    def job():
        yield watch.run(card, 1, "a", 1.0)
        ends.append(sim.now)

    for _ in range(3):
        sim.env.process(job())
    sim.run()
    latency = watch.cost(card).latency_s
    assert ends == pytest.approx([latency, 2 * latency, 3 * latency])
    assert watch.inferences == 3
    idle_energy = watch.profile.power_states_w["idle"] * sim.duration_s
    assert watch.energy_j == pytest.approx(idle_energy + 3 * watch.cost(card).energy_j)


def test_a_new_card_never_reads_the_cost_of_a_freed_card_with_its_id(monkeypatch):
    """CPython reuses a freed object's id: the cost caches must check the card itself."""
    from models.cards import ModelCard
    from simulator import devices

    def toy(macs):
        return ModelCard(
            "toy", "fp32", "toy", ["a"], [1], "fp32", 10, macs, 4000, 100, 1.0, 0.1, 1.0, "", "", "torch"
        )

    sim = Simulation.from_dict(scenario(duration="1min"))
    watch = sim.devices["watch"]
    monkeypatch.setattr(devices, "id", lambda _obj: 42, raising=False)  # every card "has" one id
    small, big = toy(1_000_000), toy(100_000_000)
    assert watch.cost(big).latency_s > 10 * watch.cost(small).latency_s
    ends = []

    def job(card):
        started = sim.now
        yield watch.run(card, 1, "a", 1.0)
        ends.append(sim.now - started)

    def jobs():
        yield sim.env.process(job(small))
        yield sim.env.process(job(big))

    sim.env.process(jobs())
    sim.run()
    assert ends == pytest.approx([watch.cost(small).latency_s, watch.cost(big).latency_s])


def test_compute_queue_honours_priority():
    from models.cards import ModelCard

    card = ModelCard(
        "toy", "fp32", "toy", ["a"], [1], "fp32", 10, 2_000_000, 4000, 100, 1.0, 0.1, 1.0, "", "", "torch"
    )
    sim = Simulation.from_dict(scenario(duration="1min"))
    watch = sim.devices["watch"]
    order = []

    def job(name, priority):
        yield watch.run(card, 1, "a", 1.0, priority)
        order.append(name)

    sim.env.process(job("first", 1))
    sim.env.process(job("background", 2))
    sim.env.process(job("urgent", 0))
    sim.advance(1e-9)
    assert watch.compute_queue_len == 3
    sim.run()
    assert order == ["first", "urgent", "background"]
    assert watch.compute_queue_len == 0
