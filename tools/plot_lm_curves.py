#!/usr/bin/python3
"""Learning curves of the Penn Treebank character models: validation and training bits per
character against the epoch, as a plain SVG (no plotting library needed).

    python3 tools/plot_lm_curves.py [-o models/training/ptb/curves.svg]

Reads models/training/ptb/char-{sequnet,tcn}.log.csv (tools/train_lm.py's log: a row per
validation) and NAME.result.json (test BPC of the best weights). Validation solid, training
(dropout on, a running mean since the previous row) dashed; the paper's test figures (pale, in
each run's colour) and the 1.50 target as lines; a dotted vertical where a run was restarted
from its bundled weights.
"""
import argparse
import csv
import json
import os

RUNS = (("char-sequnet", "Seq-U-Net", "#1f77b4", 1.30), ("char-tcn", "TCN", "#d62728", 1.31))


def main():
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "training", "ptb")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=here)
    ap.add_argument("-o", "--output", default=os.path.join(here, "curves.svg"))
    args = ap.parse_args()
    runs = []
    for name, label, colour, paper in RUNS:
        path = os.path.join(args.dir, name + ".log.csv")
        if not os.path.exists(path):
            continue
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        result_path = os.path.join(args.dir, name + ".result.json")
        result = json.load(open(result_path)) if os.path.exists(result_path) else {}
        runs.append(dict(label=label, colour=colour, paper=paper, result=result,
                         epoch=[float(r["epoch"]) for r in rows], valid=[float(r["valid_bpc"]) for r in rows],
                         train=[float(r["train_bpc"]) for r in rows]))
    W, H, left, right, top, bottom = 720, 480, 60, 20, 30, 90
    x_max = max(max(r["epoch"]) for r in runs) * 1.05
    y_min, y_max = 1.2, 2.8
    sx = lambda e: left + (W - left - right) * e / x_max  # noqa: E731
    sy = lambda b: top + (H - top - bottom) * (y_max - min(max(b, y_min), y_max)) / (y_max - y_min)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="14">Penn Treebank characters: bits per character</text>']
    for b in (1.3, 1.5, 1.7, 1.9, 2.1, 2.3, 2.5, 2.7):
        out.append(f'<line x1="{left}" x2="{W - right}" y1="{sy(b):.1f}" y2="{sy(b):.1f}" stroke="#eee"/>'
                   f'<text x="{left - 6}" y="{sy(b) + 4:.1f}" text-anchor="end">{b:.1f}</text>')
    step = 0.5 if x_max < 6 else 1
    e = 0.0
    while e <= x_max:
        out.append(f'<text x="{sx(e):.1f}" y="{H - bottom + 16}" text-anchor="middle">{e:g}</text>')
        e += step
    out.append(f'<text x="{(W + left) / 2}" y="{H - bottom + 34}" text-anchor="middle">epochs</text>')
    out.append(f'<line x1="{left}" x2="{W - right}" y1="{sy(1.5):.1f}" y2="{sy(1.5):.1f}" stroke="#888" stroke-dasharray="2,3"/>'
               f'<text x="{W - right - 4}" y="{sy(1.5) - 4:.1f}" text-anchor="end" fill="#666">target 1.50</text>')
    for i, r in enumerate(runs):
        out.append(f'<line x1="{left}" x2="{W - right}" y1="{sy(r["paper"]):.1f}" y2="{sy(r["paper"]):.1f}" '
                   f'stroke="{r["colour"]}" stroke-opacity="0.35"/>')
        for key, dash in (("valid", ""), ("train", ' stroke-dasharray="5,4"')):
            points = " ".join(f"{sx(e):.1f},{sy(b):.1f}" for e, b in zip(r["epoch"], r[key]) if b == b)
            out.append(f'<polyline points="{points}" fill="none" stroke="{r["colour"]}" stroke-width="1.6"{dash}/>')
        test = r["result"].get("test_bpc")
        legend = f'{r["label"]}: valid (solid), train (dashed)' + (f'; test {test:.4f}' if test else "") + \
            f'; paper {r["paper"]:.2f}'
        out.append(f'<text x="{left}" y="{H - 34 + 16 * i}" fill="{r["colour"]}">{legend}</text>')
        restart = (r["result"].get("restarted_from") or {}).get("epochs")
        if restart:  # where a run went on from its bundled weights with a fresh optimiser
            out.append(f'<line x1="{sx(restart):.1f}" x2="{sx(restart):.1f}" y1="{top}" y2="{H - bottom}" '
                       f'stroke="{r["colour"]}" stroke-opacity="0.4" stroke-dasharray="1,3"/>')
    out.append("</svg>")
    with open(args.output, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
