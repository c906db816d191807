#!/usr/bin/env python3
"""Checks a soak run (scripts/soak.sh) and draws its chart.

usage: soak_report.py SOAK.csv SUMMARY.json OUT.svg [WARMUP_SECONDS]
Pass: RSS over the last third of the samples within 5% of the middle third (mean), no more open
descriptors at the end than in the first third (max), and lines == parsed + rejected in the exit
summary. Samples of the first WARMUP_SECONDS (default 60: windows and rings filling) are drawn
but not judged. Prints the numbers; exit 1 when a check fails.
"""
import csv
import json
import sys


def main():
    csv_path, summary_path, svg_path = sys.argv[1:4]
    warmup = float(sys.argv[4]) if len(sys.argv) > 4 else 60
    all_rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(open(csv_path))]
    rows = [r for r in all_rows if r["seconds"] > warmup]
    summary = json.load(open(summary_path))
    failures = []
    if len(rows) < 4:
        failures.append(f"only {len(rows)} samples after the warm-up (need at least 4)")
    third = max(1, len(rows) // 3)
    middle = rows[third:2 * third]
    last = rows[2 * third:]
    mean = lambda xs: sum(xs) / max(1, len(xs))
    rss_mid = mean([r["rss_kb"] for r in middle])
    rss_last = mean([r["rss_kb"] for r in last])
    growth = (rss_last - rss_mid) / rss_mid if rss_mid else 0
    fds_first = max(r["fds"] for r in rows[:third]) if rows else 0
    fds_end = max(r["fds"] for r in last) if last else 0
    lines, parsed, rejected = summary["lines"], summary["parsed"], summary["rejected"]
    print(f"samples {len(rows)} after {warmup:.0f} s of warm-up; RSS middle third {rss_mid / 1024:.1f} MiB, last third "
          f"{rss_last / 1024:.1f} MiB ({growth * 100:+.2f}%); open fds first third max "
          f"{fds_first:.0f}, last third max {fds_end:.0f}; lines {lines} = parsed {parsed} + "
          f"rejected {rejected}; sites at the end {rows[-1]['sites'] if rows else 0:.0f}")
    if abs(growth) > 0.05:
        failures.append(f"RSS moved {growth * 100:+.2f}% from the middle to the last third")
    if fds_end > fds_first:
        failures.append(f"open descriptors grew from {fds_first:.0f} to {fds_end:.0f}")
    if lines != parsed + rejected:
        failures.append(f"lines {lines} != parsed {parsed} + rejected {rejected}")
    write_svg(all_rows, svg_path)
    for f in failures:
        print("soak: FAIL:", f)
    sys.exit(1 if failures else 0)


def write_svg(rows, path):
    """RSS (MiB, left axis, blue) and lines/s (right axis, grey) over the run."""
    w, h, l, r, t, b = 800, 300, 60, 60, 20, 40
    if not rows:
        open(path, "w").write("<svg xmlns='http://www.w3.org/2000/svg'/>")
        return
    xs = [row["seconds"] for row in rows]
    rss = [row["rss_kb"] / 1024 for row in rows]
    rates = [0.0] + [(rows[i]["lines"] - rows[i - 1]["lines"]) / max(1, xs[i] - xs[i - 1])
                     for i in range(1, len(rows))]
    x_max = max(xs) or 1
    rss_top = max(rss) * 1.2 or 1
    rate_top = max(rates) * 1.2 or 1
    x = lambda v: l + (w - l - r) * v / x_max
    y = lambda v, top: t + (h - t - b) * (1 - v / top)
    line = lambda vals, top: "M" + " L".join(f"{x(a):.1f},{y(v, top):.1f}" for a, v in zip(xs, vals))
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='11'>",
           f"<rect width='{w}' height='{h}' fill='white'/>",
           f"<path d='{line(rates, rate_top)}' fill='none' stroke='#999'/>",
           f"<path d='{line(rss, rss_top)}' fill='none' stroke='#1f5fbf' stroke-width='2'/>",
           f"<text x='4' y='{t + 10}' fill='#1f5fbf'>{rss_top:.0f} MiB</text>",
           f"<text x='4' y='{h - b}' fill='#1f5fbf'>0</text>",
           f"<text x='{w - r + 4}' y='{t + 10}' fill='#777'>{rate_top:.0f}/s</text>",
           f"<text x='{l}' y='{h - 10}'>0 s</text><text x='{w - r - 40}' y='{h - 10}'>{x_max:.0f} s</text>",
           f"<text x='{l + 60}' y='{h - 10}'>RSS (blue, MiB) and lines per second (grey) over the soak</text>",
           "</svg>"]
    open(path, "w").write("\n".join(out))


if __name__ == "__main__":
    main()
