#!/usr/bin/python3
"""Validation bits/sample vs wall time for every models/training/*.log.csv -> curves.png
(matplotlib), with the order-1 / unigram baselines as horizontal lines when present."""
import csv
import glob
import json
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(d="models/training"):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for path in sorted(glob.glob(os.path.join(d, "*.log.csv"))):
        name = os.path.basename(path)[:-len(".log.csv")]
        with open(path) as f:
            rows = [r for r in csv.DictReader(f) if r["valid_bits"]]
        if rows:
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


if __name__ == "__main__":
    main(*sys.argv[1:])
