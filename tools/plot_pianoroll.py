#!/usr/bin/python3
"""A piano-roll picture of a piano-roll text file: time on x, keys on y (low notes at the bottom).

    python3 tools/plot_pianoroll.py ROLL.txt -o PICTURE.png [--sequence I] [--title TEXT]

ROLL.txt is the data sets' format (tools/music_data.py): one line per step with the sounding
MIDI notes (21..108), an empty line for silence, `---` between sequences, `#` comments. All
sequences are drawn one after the other, separated by a thin line, unless --sequence picks
one. With matplotlib (axes with step numbers and note names) when it is installed; otherwise
a plain PNG written here (--scale pixels per step and per key, no axes).
"""
import argparse
import os
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import music_data as md  # noqa: E402

NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def note_name(midi):
    return f"{NAMES[midi % 12]}{midi // 12 - 1}"


def write_png(path, rgb):
    """rgb: uint8 [H, W, 3] -> an 8-bit RGB PNG (no dependency beyond zlib)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def plain_png(path, roll, bounds, scale, lo, hi):
    """keys lo..hi on y (high at the top), steps on x; black notes, grey C lines, red borders."""
    keys = roll[:, lo - md.LOWEST:hi - md.LOWEST + 1].T[::-1]  # [keys, T], highest first
    img = np.full(keys.shape + (3,), 255, dtype=np.uint8)
    for k, midi in enumerate(range(hi, lo - 1, -1)):
        if midi % 12 == 0:
            img[k] = (225, 225, 225)
    img[keys > 0] = (20, 20, 20)
    for b in bounds:
        img[:, b] = (200, 40, 40)
    write_png(path, np.repeat(np.repeat(img, scale, axis=0), scale, axis=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("roll", help="piano-roll text file")
    ap.add_argument("-o", "--out", required=True, help="PNG to write")
    ap.add_argument("--sequence", type=int, help="draw only this sequence (0-based)")
    ap.add_argument("--title")
    ap.add_argument("--scale", type=int, default=4, help="pixels per step/key without matplotlib")
    ap.add_argument("--plain", action="store_true", help="the plain PNG even when matplotlib is installed")
    args = ap.parse_args()
    with open(args.roll, encoding="utf-8") as f:
        rolls = md.parse_rolls(f.read(), args.roll)
    if args.sequence is not None:
        if not 0 <= args.sequence < len(rolls):
            sys.exit(f"plot_pianoroll.py: {args.roll} has {len(rolls)} sequences, no sequence {args.sequence}")
        rolls = [rolls[args.sequence]]
    roll = np.concatenate(rolls) if rolls else np.zeros((0, md.KEYS), np.float32)
    if len(roll) == 0:
        sys.exit(f"plot_pianoroll.py: {args.roll} has no steps")
    bounds = np.cumsum([len(r) for r in rolls])[:-1].tolist()
    active = np.flatnonzero(roll.any(axis=0)) + md.LOWEST
    # the sounding range with a few keys of margin, at least two octaves
    lo, hi = (int(active.min()), int(active.max())) if len(active) else (60, 72)
    lo, hi = max(md.LOWEST, lo - 3), min(md.LOWEST + md.KEYS - 1, hi + 3)
    while hi - lo < 24:
        lo, hi = max(md.LOWEST, lo - 1), min(md.LOWEST + md.KEYS - 1, hi + 1)
    title = args.title or f"{os.path.basename(args.roll)}: {len(rolls)} sequence(s), {len(roll)} steps"
    try:
        if args.plain:
            raise ImportError
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plain_png(args.out, roll, bounds, args.scale, lo, hi)
        print(f"wrote {args.out} (plain: {len(roll)} steps x keys {note_name(lo)}..{note_name(hi)})")
        return
    keys = roll[:, lo - md.LOWEST:hi - md.LOWEST + 1].T
    width = min(24.0, max(6.0, len(roll) / 25))
    fig, ax = plt.subplots(figsize=(width, 4.5))
    ax.imshow(keys, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest",
              extent=(-0.5, len(roll) - 0.5, lo - 0.5, hi + 0.5), vmin=0, vmax=1)
    for midi in range(lo, hi + 1):
        if midi % 12 == 0:
            ax.axhline(midi - 0.5, color="#bbbbbb", linewidth=0.5)
    for b in bounds:
        ax.axvline(b - 0.5, color="#cc3333", linewidth=0.8)
    ticks = [m for m in range(lo, hi + 1) if m % 12 == 0]
    ax.set_yticks(ticks, [note_name(m) for m in ticks])
    ax.set_xlabel("step")
    ax.set_ylabel("key")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out} ({len(roll)} steps, keys {note_name(lo)}..{note_name(hi)})")


if __name__ == "__main__":
    main()
