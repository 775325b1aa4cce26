"""The counter's CLI table."""

from simulator.apps.tables import fmt


def table(name: str, metrics: dict) -> list[str]:
    return [
        f"  {name}: counted to {fmt(metrics['last_count'])} in {fmt(metrics['ticks'])} ticks, "
        f"{fmt(metrics['delivered'])} delivered ({fmt(metrics['bytes_sent'])} B sent)"
    ]
