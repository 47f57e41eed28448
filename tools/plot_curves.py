#!/usr/bin/python3
"""Validation bits/sample vs wall time for every models/training/*.log.csv -> curves.png
(matplotlib), with the order-1 / unigram baselines as horizontal lines when present.
Also prints the model card's progress table: for each minute mark, the validation figure
logged nearest to it (blank if none is within 3 minutes).

A log that another one continues (the widened Seq-U-Net's log starts with a copy of the
narrow one's) is not drawn twice: a vertical line marks where the continuation leaves it."""
import csv
import glob
import json
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


MINUTE_MARKS = (4, 17, 45, 85, 120, 160, 220, 280, 340, 400, 470)


def progress_table(curves):
    """Markdown: one row per model, the validation bits at each minute mark."""
    lines = ["| minutes | " + " | ".join(str(m) for m in MINUTE_MARKS) + " |",
             "|---|" + "---|" * len(MINUTE_MARKS)]
    for name, rows in curves:
        cells = []
        for mark in MINUTE_MARKS:
            nearest = min(rows, key=lambda r: abs(float(r["wall_seconds"]) - mark * 60))
            near = abs(float(nearest["wall_seconds"]) - mark * 60) <= 180
            cells.append(f"{float(nearest['valid_bits']):.2f}" if near else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(d="models/training"):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    logs = []
    for path in sorted(glob.glob(os.path.join(d, "*.log.csv"))):
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["valid_bits"]]
        if rows:
            logs.append((os.path.basename(path)[:-len(".log.csv")], rows))
    curves = []
    for name, rows in logs:
        continued_by = [other for other, longer in logs
                        if len(longer) > len(rows) and longer[:len(rows)] == rows]
        if continued_by:
            minute = float(rows[-1]["wall_seconds"]) / 60
            ax.axvline(minute, color="gray", linewidth=0.8,
                       label=f"{continued_by[0]} continues {name} from minute {minute:.0f}")
            continue
        curves.append((name, rows))
        ax.plot([float(r["wall_seconds"]) / 60 for r in rows], [float(r["valid_bits"]) for r in rows],
                marker=".", label=f"{name} (last {float(rows[-1]['valid_bits']):.3f})")
    bp = os.path.join(d, "baselines.json")
    if os.path.exists(bp):
        with open(bp) as f:
            b = json.load(f)
        for key, style in (("order1_add1_train_fit_on_test_bits", ":"), ("unigram_entropy_test_bits", "--")):
            ax.axhline(b[key], color="gray", linestyle=style, label=f"{key} {b[key]:.3f}")
    ax.set_xlabel("wall time (minutes, 1 CPU thread)")
    ax.set_ylabel("validation bits / sample")
    ax.set_title("Bach chorales (piano, 16 kHz mu-law)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = os.path.join(d, "curves.png")
    fig.savefig(out, dpi=110)
    print(out)
    print(progress_table(curves))


if __name__ == "__main__":
    main(*sys.argv[1:])
