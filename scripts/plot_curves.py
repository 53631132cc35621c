#!/usr/bin/python3
"""Renders the scale curves that the curve benchmarks write as JSON lines, one PNG per curve.

Each input line is one point of one metric:
  {"curve": "revocations", "series": "sqlite-jti", "x": 1000, "x_label": "revoked token ids",
   "metric": "startup_s", "value": 0.12}
A curve's PNG has one panel per metric (log-scale x; y linear, or log when it spans more than two
decades), one line per series; a panel that would hold more than six series is split by what
follows each series' first word. --only CURVE:METRIC,... keeps some metrics of a curve.

  scripts/plot_curves.py curves.jsonl [more.jsonl ...] --out docs/perf
"""
import argparse
import collections
import json
import math
import os
import sys

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the non-interactive back end)

# What a metric's unit suffix means, for the axis labels.
UNITS = {
    "_s": "s",
    "_ms": "ms",
    "_us": "µs",
    "_mib": "MiB",
    "_kib": "KiB",
    "_bytes": "bytes",
    "_per_s": "per second",
    "_count": "",
}


def axis_label(metric):
    for suffix, unit in sorted(UNITS.items(), key=lambda kv: -len(kv[0])):
        if metric.endswith(suffix) or ("%s_per_" % suffix) in metric:
            return "%s (%s)" % (metric, unit) if unit else metric
    return metric


def read_points(paths):
    points = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    p = json.loads(line)
                    for key in ("curve", "series", "x", "metric", "value"):
                        if key not in p:
                            raise ValueError("no %r" % key)
                    float(p["x"]), float(p["value"])
                except (ValueError, TypeError) as e:
                    sys.exit("%s:%d: not a curve point (%s): %s" % (path, number, e, line[:200]))
                points.append(p)
    return points


# More series than this in one panel: the panel is split by what follows the series' first word
# ("EdDSA list_keys" is line "EdDSA" in panel "list_keys").
MAX_LINES = 6


def split_crowded(points):
    by_metric = collections.defaultdict(set)
    for p in points:
        by_metric[p["metric"]].add(p["series"])
    out = []
    for p in points:
        if len(by_metric[p["metric"]]) > MAX_LINES and " " in p["series"]:
            line, rest = p["series"].split(" ", 1)
            p = dict(p, metric="%s: %s" % (rest, p["metric"]), series=line)
        out.append(p)
    return out


def plot_curve(name, points, out_dir):
    points = split_crowded(points)
    metrics = sorted({p["metric"] for p in points})
    x_label = next((p["x_label"] for p in points if p.get("x_label")), "x")
    columns = min(3, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.8 * rows), squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    for ax, metric in zip(axes.flat, metrics):
        by_series = collections.defaultdict(dict)
        for p in points:
            if p["metric"] == metric:
                by_series[p["series"]][float(p["x"])] = float(p["value"])
        values = []
        for series in sorted(by_series):
            xs = sorted(by_series[series])
            ys = [by_series[series][x] for x in xs]
            values += ys
            # A point at x = 0 cannot sit on a log axis: it is drawn at 1 and named so.
            shown = [x if x > 0 else 1 for x in xs]
            ax.plot(shown, ys, marker="o", label=series)
        ax.set_xscale("log")
        # The measured x values as plain numbers, not powers of ten.
        ticks = sorted({x if x > 0 else 1 for s in by_series.values() for x in s})
        ax.set_xticks(ticks)
        ax.set_xticklabels(["{:,.0f}".format(t) if t >= 1 else "{:g}".format(t) for t in ticks], fontsize=8)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        positive = [v for v in values if v > 0]
        if positive and max(positive) / min(positive) > 100 and len(positive) == len(values):
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
        ax.set_xlabel(x_label + (" (0 drawn at 1)" if any(
            float(p["x"]) == 0 for p in points if p["metric"] == metric) else ""))
        ax.set_title(axis_label(metric), fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        if len(by_series) > 1:
            ax.legend(fontsize=8)
    fig.suptitle(name)
    fig.tight_layout()
    path = os.path.join(out_dir, "curve-%s.png" % name)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", help="JSON-lines files of curve points")
    parser.add_argument("--out", default=".", help="folder for the PNG files")
    parser.add_argument("--only", action="append", default=[], metavar="CURVE:METRIC,...",
                        help="draw only these metrics of that curve (repeatable)")
    args = parser.parse_args()
    points = read_points(args.inputs)
    only = {}
    for spec in args.only:
        curve, _, metrics = spec.partition(":")
        only[curve] = set(metrics.split(","))
    points = [p for p in points if p["curve"] not in only or p["metric"] in only[p["curve"]]]
    if not points:
        sys.exit("no curve points in " + ", ".join(args.inputs))
    os.makedirs(args.out, exist_ok=True)
    curves = collections.defaultdict(list)
    for p in points:
        curves[p["curve"]].append(p)
    for name in sorted(curves):
        print(plot_curve(name, curves[name], args.out))


if __name__ == "__main__":
    main()
