#!/usr/bin/env python
"""Run the devdata demo end to end.

1. build a "production" database of the demo shop and seed it,
2. export an anonymised, referentially intact subset of it with ``devdata_export``,
3. import that into a fresh dev database with ``devdata_import``,
4. compare the two databases and check the dev one.

Production is ``DATABASE_URL`` (default: SQLite under ``demo/var/``); dev is
``DEV_DATABASE_URL``, else ``demo/var/dev.sqlite3`` for SQLite, else the production
database's name with ``_dev`` appended. Exits non-zero with a one-line message on failure.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dj_database_url

DEMO_DIR = Path(__file__).resolve().parent
MANAGE = DEMO_DIR / "manage.py"
VAR_DIR = DEMO_DIR / "var"
EXPORT_DIR = VAR_DIR / "export"

#: Models a dev database may hold more of than production: plugins generate their rows.
GENERATED_MODELS = {"shop.Review"}
#: Customers that DEVDATA_STRATEGIES always exports (ExactQuerySetStrategy "edge_cases").
EDGE_CASE_PKS = [1, 2, 3]
#: How many anonymised customers to show side by side.
EXAMPLES = 6


class DemoFailed(Exception):
    """A step or a check of the demo failed; the message is one line."""


def main() -> int:
    """Run the four steps; return the exit status."""
    production_url = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'production.sqlite3'}"
    dev_url = os.environ.get("DEV_DATABASE_URL") or dev_url_for(production_url)
    started = time.monotonic()
    try:
        if dev_url == production_url:
            raise DemoFailed("the dev database URL must differ from the production one")
        print(f"production database: {redact(production_url)}")
        print(f"dev database:        {redact(dev_url)}")

        heading("1/4  Production: create the schema and seed it")
        remove_sqlite_file(production_url)
        manage(production_url, "create_demo_database")
        manage(production_url, "migrate", "--no-input")
        manage(production_url, "seed_demo", "--force")

        heading("2/4  Export an anonymised subset of production")
        shutil.rmtree(EXPORT_DIR, ignore_errors=True)
        manage(production_url, "devdata_export", str(EXPORT_DIR))

        heading("3/4  Import the export into a fresh dev database")
        manage(dev_url, "devdata_import", str(EXPORT_DIR), "--no-input")

        heading("4/4  What came across")
        production = report(production_url)
        dev = report(dev_url)
        print_counts(production, dev)
        print_examples(production, dev)
        failures = check(production, dev)
    except DemoFailed as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("demo interrupted", file=sys.stderr)
        return 130
    if failures:
        print(
            f"demo failed: {len(failures)} check(s) failed: {'; '.join(failures)}", file=sys.stderr
        )
        return 1
    print(f"\nDemo finished in {time.monotonic() - started:.1f}s; all checks passed.")
    return 0


def dev_url_for(production_url: str) -> str:
    """The default dev database for a production database URL."""
    parts = urlsplit(production_url)
    if parts.scheme.startswith("sqlite"):
        return f"sqlite:///{VAR_DIR / 'dev.sqlite3'}"
    name = parts.path.lstrip("/")
    if not name:
        raise DemoFailed("DATABASE_URL names no database; set DEV_DATABASE_URL too")
    return urlunsplit(parts._replace(path=f"/{name}_dev"))


def redact(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def heading(title: str) -> None:
    """Print a step's heading."""
    print(f"\n=== {title} {'=' * max(3, 74 - len(title))}", flush=True)


def remove_sqlite_file(url: str) -> None:
    """Delete the SQLite file of ``url`` so production starts empty (no-op for servers)."""
    settings = dj_database_url.parse(url)
    name = str(settings.get("NAME") or "")
    if "sqlite" in settings["ENGINE"] and name and name != ":memory:":
        path = Path(name)
        if path.exists():
            print(f"removing {path}")
            path.unlink()


def manage(database_url: str, *args: str, capture: bool = False) -> str:
    """Run ``manage.py *args`` with this interpreter against ``database_url``."""
    command = [sys.executable, str(MANAGE), *args]
    env = {**os.environ, "DATABASE_URL": database_url}
    print(f"$ manage.py {' '.join(args)}", flush=True)
    result = subprocess.run(
        command,
        env=env,
        cwd=DEMO_DIR.parent,
        stdout=subprocess.PIPE if capture else None,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if result.returncode != 0:
        raise DemoFailed(f"`manage.py {args[0]}` exited with status {result.returncode}")
    return result.stdout or ""


def report(database_url: str) -> dict[str, Any]:
    """The ``demo_counts --json`` report of one database."""
    output = manage(database_url, "demo_counts", "--json", capture=True)
    try:
        return json.loads(output)
    except json.JSONDecodeError as error:
        raise DemoFailed(f"`manage.py demo_counts` printed no valid JSON ({error})") from None


def print_counts(production: dict[str, Any], dev: dict[str, Any]) -> None:
    """Print a table of row counts per model, production against dev."""
    print(f"\n{'model':<20} {'production':>10} {'dev':>8} {'kept':>6}")
    for label, count in production["counts"].items():
        dev_count = dev["counts"].get(label, 0)
        kept = f"{100 * dev_count / count:.0f}%" if count else "-"
        note = "  (generated in dev)" if label in GENERATED_MODELS and dev_count else ""
        print(f"{label:<20} {count:>10} {dev_count:>8} {kept:>6}{note}")


def print_examples(production: dict[str, Any], dev: dict[str, Any]) -> None:
    """Print a few customers as they are in production and as they arrived in dev."""
    before = {pk: (name, email) for pk, name, email in production["customers"]}
    after = {pk: (name, email) for pk, name, email in dev["customers"]}
    shown = [pk for pk in EDGE_CASE_PKS if pk in after]
    shown += [pk for pk in sorted(after) if pk not in shown][: max(0, EXAMPLES - len(shown))]
    print(
        f"\nAnonymised customers (same pk, production -> dev):\n{'pk':>5}  {'production':<58} dev"
    )
    for pk in shown:
        name, email = before.get(pk, ("?", "?"))
        dev_name, dev_email = after[pk]
        print(f"{pk:>5}  {_clip(f'{name} <{email}>', 58):<58} {dev_name} <{dev_email}>")


def _clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters."""
    return text if len(text) <= width else text[: width - 1] + "…"


def check(production: dict[str, Any], dev: dict[str, Any]) -> list[str]:
    """Check the dev database against production; print each check, return the failures."""
    before = {pk: email for pk, _, email in production["customers"]}
    after = {pk: email for pk, _, email in dev["customers"]}
    grown = [
        label
        for label, count in production["counts"].items()
        if label not in GENERATED_MODELS and dev["counts"].get(label, 0) > count
    ]
    leaked = sorted(pk for pk, email in after.items() if before.get(pk) == email)
    strangers = sorted(set(after) - set(before))
    missing_edge_cases = [pk for pk in EDGE_CASE_PKS if pk not in after]
    reviews = dev["counts"].get("shop.Review", 0)
    results = [
        (
            "no model has more rows in dev than in production (generated ones aside)",
            not grown,
            f"more rows: {grown}",
        ),
        ("dev has orders", dev["counts"].get("shop.Order", 0) > 0, "no orders in dev"),
        ("every dev customer exists in production", not strangers, f"unknown pks {strangers[:5]}"),
        ("no dev customer kept their email", not leaked, f"emails kept for pks {leaked[:5]}"),
        (
            "edge-case customers 1-3 came across",
            not missing_edge_cases,
            f"missing {missing_edge_cases}",
        ),
        (
            f"dev has reviews generated by devdata-factory ({reviews})",
            reviews > 0,
            "no reviews were generated in dev",
        ),
        ("dev foreign keys all resolve", dev["checks"]["foreign_keys_ok"], "broken foreign keys"),
        (
            "dev orders ship to their own customer's address",
            dev["checks"]["orders_shipped_to_another_customer"] == 0,
            "orders shipped to another customer's address",
        ),
    ]
    print("\nChecks:")
    failures = []
    for description, ok, failure in results:
        print(f"  [{'ok' if ok else 'FAIL'}] {description}")
        if not ok:
            failures.append(failure)
    return failures


if __name__ == "__main__":
    sys.exit(main())
