from __future__ import annotations

import json
from argparse import ArgumentParser
from dataclasses import asdict
from typing import Any

from ... import plugins
from ..base import DevdataCommand


class Command(DevdataCommand):
    help = (
        "List the devdata plugins loaded: name, distribution, version, hooks, and the reset "
        "modes, strategy classes, extras and anonymisers each provides."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle(self, *, json: bool, **_: Any) -> None:
        infos = sorted(plugins.plugin_infos(), key=lambda info: info.name)
        blocked = plugins.blocked_plugins()
        if json:
            self.stdout.write(_dumps([asdict(i) for i in infos], blocked))
            return
        if not infos:
            self.stdout.write("No devdata plugins are loaded.")
        rows = [
            (
                info.name,
                f"{info.distribution} {info.version}" if info.distribution else "(DEVDATA_PLUGINS)",
                ", ".join(info.hooks) or "-",
                _provided(info.provides),
            )
            for info in infos
        ]
        widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(HEADER)]
        for row in [HEADER, *rows]:
            self.stdout.write(
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )
        for name in blocked:
            self.stdout.write(f"{name}: disabled by DEVDATA_DISABLE_PLUGINS")


HEADER = ("plugin", "distribution", "hooks", "provides")


def _provided(provides: dict[str, tuple[str, ...]]) -> str:
    """``reset modes: drop-database, none; extras: ...``: the kinds a plugin provides."""
    kinds = [
        f"{kind.replace('_', ' ')}: {', '.join(names)}" for kind, names in provides.items() if names
    ]
    return "; ".join(kinds) or "-"


def _dumps(infos: list[dict[str, Any]], blocked: list[str]) -> str:
    return json.dumps({"plugins": infos, "disabled": blocked}, indent=2)
