#!/usr/bin/python3
"""Learning curves of the music runs: train and valid NLL per frame against the epoch.

    python3 tools/plot_music_curves.py [NAME ...] [-o models/training/music/curves.png]

Reads models/training/music/NAME.log.csv (default: the paper's four runs, those that exist)
and draws one panel per data set, a colour per run: valid solid, train (with dropout on,
hence above valid) dashed, the best-validation epoch marked, and the test NLL from
NAME.result.json in the legend. With matplotlib missing it writes a plain SVG instead
(same name, .svg).
"""
import argparse
import csv
import json
import os

DEFAULT_RUNS = ("jsb-sequnet", "jsb-tcn", "nottingham-sequnet", "nottingham-tcn")
PAPER = {"jsb-sequnet": 8.173, "jsb-tcn": 8.154, "nottingham-sequnet": 2.97, "nottingham-tcn": 2.783}


def read_run(directory, name):
    path = os.path.join(directory, name + ".log.csv")
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    run = dict(name=name, data=name.split("-")[0], epoch=[int(r["epoch"]) for r in rows],
               train=[float(r["train_nll"]) for r in rows], valid=[float(r["valid_nll"]) for r in rows])
    res = os.path.join(directory, name + ".result.json")
    run["result"] = json.load(open(res)) if os.path.exists(res) else None
    return run


def label(run):
    r = run["result"]
    text = run["name"]
    if r:
        text += f": test {r['test_nll']:.3f} (epoch {r['best_epoch']}"
        text += f", paper {PAPER[run['name']]})" if run["name"] in PAPER else ")"
    return text


def plot_matplotlib(runs, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    datasets = sorted({r["data"] for r in runs})
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.5), squeeze=False)
    for ax, data in zip(axes[0], datasets):
        for i, run in enumerate(r for r in runs if r["data"] == data):
            c = f"C{i}"
            ax.plot(run["epoch"], run["valid"], color=c, label=label(run))
            ax.plot(run["epoch"], run["train"], color=c, linestyle="--", linewidth=0.8)
            b = min(range(len(run["valid"])), key=run["valid"].__getitem__)
            ax.plot([run["epoch"][b]], [run["valid"][b]], "o", color=c, markersize=4)
        lo = min(min(r["valid"] + r["train"]) for r in runs if r["data"] == data)
        ax.set_ylim(lo - 0.2, lo + 3.0)
        ax.set_title(f"{data}: NLL per frame (valid solid, train dashed)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("nats per frame")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def plot_svg(runs, out):
    """fallback without matplotlib: one panel per data set, polylines, a text legend."""
    W, H, pad = 520, 340, 50
    datasets = sorted({r["data"] for r in runs})
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W * len(datasets)}" height="{H}" '
             f'font-family="sans-serif" font-size="11">']
    for p, data in enumerate(datasets):
        mine = [r for r in runs if r["data"] == data]
        x0 = p * W
        emax = max(max(r["epoch"]) for r in mine)
        lo = min(min(r["valid"] + r["train"]) for r in mine) - 0.2
        hi = lo + 3.2
        sx = lambda e: x0 + pad + (W - 2 * pad) * (e - 1) / max(emax - 1, 1)  # noqa: E731
        sy = lambda v: H - pad - (H - 2 * pad) * (min(max(v, lo), hi) - lo) / (hi - lo)  # noqa: E731
        parts.append(f'<rect x="{x0 + pad}" y="{pad}" width="{W - 2 * pad}" height="{H - 2 * pad}" '
                     f'fill="none" stroke="#888"/>')
        parts.append(f'<text x="{x0 + pad}" y="{pad - 8}">{data}: NLL per frame, epochs 1-{emax} '
                     f'(valid solid, train dashed), {lo:.2f}..{hi:.2f}</text>')
        for i, run in enumerate(mine):
            c = colours[i % len(colours)]
            for key, dash in (("valid", ""), ("train", ' stroke-dasharray="4 3"')):
                pts = " ".join(f"{sx(e):.1f},{sy(v):.1f}" for e, v in zip(run["epoch"], run[key]))
                parts.append(f'<polyline points="{pts}" fill="none" stroke="{c}"{dash}/>')
            parts.append(f'<text x="{x0 + pad + 8}" y="{pad + 16 + 14 * i}" fill="{c}">{label(run)}</text>')
    parts.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", default=list(DEFAULT_RUNS))
    ap.add_argument("--dir", default=os.path.join("models", "training", "music"))
    ap.add_argument("-o", "--out", default=None, help="default DIR/curves.png")
    args = ap.parse_args()
    runs = [r for r in (read_run(args.dir, n) for n in args.names) if r and r["epoch"]]
    if not runs:
        raise SystemExit(f"no NAME.log.csv with epochs in {args.dir} for {args.names}")
    out = args.out or os.path.join(args.dir, "curves.png")
    try:
        plot_matplotlib(runs, out)
    except ImportError:
        out = os.path.splitext(out)[0] + ".svg"
        plot_svg(runs, out)
    print(f"wrote {out} ({', '.join(r['name'] for r in runs)})")


if __name__ == "__main__":
    main()
