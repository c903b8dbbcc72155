"""Draw ``docs/benchmarks.png`` from the figures the benchmarks recorded.

    python benchmarks/run_all.py && python benchmarks/chart.py    # what `nox -s bench` runs

One panel per ``benchmarks/results/*.json`` (see ``_results.py``), in file-name order,
with the machine and versions the figures were measured on.  Nothing is hard-coded here:
a new benchmark that records its results gets a panel of its own.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import textwrap
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "docs" / "benchmarks.png"


def load(results: Path) -> list[dict[str, Any]]:
    panels = []
    for path in sorted(results.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("figures"):
            panels.append(data)
    return panels


def footer(panels: list[dict[str, Any]]) -> str:
    seen = {json.dumps(p["environment"], sort_keys=True) for p in panels}
    env = panels[0]["environment"]
    dates = sorted({p["recorded"] for p in panels})
    text = (
        f"{env['system']} {env['machine']}, {env['cpus']} CPUs · {env['implementation']} "
        f"{env['python']} · procore-async {env['procore-async']} · httpx {env['httpx']} · "
        f"anyio {env['anyio']} · measured {', '.join(dates)}"
    )
    return text if len(seen) == 1 else text + " (some panels on other environments)"


def draw(panels: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    columns = 2
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(12, 2.6 * rows + 0.6), squeeze=False)
    for axis, panel in zip(axes.flat, panels, strict=False):
        labels = list(panel["figures"])
        values = [float(v) for v in panel["figures"].values()]
        # The baseline (the gem's way, bare httpx: the first figure unless the panel names
        # its own) in grey; a bound ("ideal", a budget) pale; what was measured in blue.
        baseline = set(panel.get("baseline", labels[:1]))
        bounds = set(panel.get("bounds", ["ideal"]))
        colours = [
            "#9aa5b1" if label in baseline else "#c9d6ee" if label in bounds else "#2f6fdf"
            for label in labels
        ]
        bars = axis.barh(labels, values, color=colours)
        axis.invert_yaxis()
        axis.set_title(textwrap.fill(panel["title"], 44), fontsize=10, loc="left")
        axis.set_xlabel(panel["unit"], fontsize=9)
        axis.tick_params(labelsize=8)
        if panel.get("log_scale"):
            axis.set_xscale("log")
        elif max(values) >= 10_000:  # 835,795 on the ticks, not 0.8 and a "1e6" offset
            axis.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
            axis.xaxis.set_major_locator(MaxNLocator(4))  # long tick labels, fewer of them
        digits = _digits(values)
        for bar, value in zip(bars, values, strict=True):
            axis.annotate(
                f"{value:,.{digits}f}",
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        axis.margins(x=0.18)
        axis.spines[["top", "right"]].set_visible(False)
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    figure.text(0.01, 0.005, footer(panels), fontsize=8, color="#555555")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    plt.close(figure)


def _digits(values: list[float]) -> int:
    """Decimals for a panel's labels: three significant figures of its smallest value,
    the same for every bar (2.504 s next to 0.400 s, not 2.5 next to 0.4)."""
    if all(value == int(value) for value in values):
        return 0
    smallest = min((abs(value) for value in values if value), default=1.0)
    return max(0, min(3, 2 - math.floor(math.log10(smallest))))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    panels = load(args.results)
    if not panels:
        print(f"no results in {args.results}: run python benchmarks/run_all.py first")
        return 1
    draw(panels, args.out)
    print(f"wrote {args.out} ({len(panels)} panels)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
