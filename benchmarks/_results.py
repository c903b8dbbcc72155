"""Where each benchmark leaves its figures, so ``chart.py`` draws what was measured.

Every ``bench_*.py`` calls :func:`record` once per chart it wants, with the figures it
printed; the file ``benchmarks/results/<name>.json`` also holds the machine and the
versions, so the chart can say where its numbers come from.  A benchmark added later
records its own file and appears on the chart with no change to ``chart.py``.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

__all__ = ["RESULTS", "machine", "record"]

RESULTS = Path(os.environ.get("PROCORE_BENCH_RESULTS", Path(__file__).with_name("results")))


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    """The machine and the versions the figures were measured with."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpus": str(os.cpu_count() or "?"),
        "procore-async": _version("procore-async"),
        "httpx": _version("httpx"),
        "anyio": _version("anyio"),
    }


def record(
    name: str,
    title: str,
    unit: str,
    figures: dict[str, float],
    *,
    log_scale: bool = False,
    note: str = "",
    baseline: Sequence[str] | None = None,
    bounds: Sequence[str] = ("ideal",),
) -> Path:
    """Write ``figures`` (label -> value, in display order) for the chart; returns the file.

    ``baseline`` names the bars drawn as the baseline (the first figure when not given)
    and ``bounds`` the bars drawn as a bound (an ideal, a budget) rather than a measure.
    """
    unknown = {*(baseline or ()), *bounds} - set(figures) - {"ideal"}
    if unknown:
        raise ValueError(f"baseline/bounds name no figure: {sorted(unknown)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {
        "benchmark": name,
        "title": title,
        "unit": unit,
        "figures": figures,
        "log_scale": log_scale,
        "note": note,
        "baseline": list(figures)[:1] if baseline is None else list(baseline),
        "bounds": list(bounds),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "recorded": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "environment": machine(),
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
