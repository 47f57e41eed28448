#!/usr/bin/python3
"""The polyphonic-music splits (JSB Chorales, Nottingham) as lists of piano rolls.

Reads the text copies in datasets/music/ (`{jsb,nottingham}_{train,valid,test}.txt`), not
the .mat files, so that training needs nothing but numpy: one line per time step with the
sounding keys as MIDI note numbers 21..108, an empty line for a silent step, `---` between
two sequences, a `#` comment line first. Each sequence comes back as a float32 array
[frames, 88] of 0/1 (column k = MIDI note 21 + k), the same as the .mat's arrays
(tools/test_music_parity.py checks every split of both sets against them).

    python3 tools/music_data.py              # sequence / frame counts of every split
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MUSIC_DIR = os.path.join(HERE, "..", "datasets", "music")
DATASETS = ("jsb", "nottingham")
SPLITS = ("train", "valid", "test")
MAT_FILES = {"jsb": "JSB_Chorales.mat", "nottingham": "Nottingham.mat"}
LOWEST, KEYS = 21, 88


def parse_rolls(text, name="<text>"):
    """piano-roll text -> list of float32 [frames, 88] arrays. Lines starting with '#' are
    comments (the data sets have one first; a sample file need not)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":  # the newline ending the last step
        lines.pop()
    sequences, steps = [], []
    for number, line in enumerate(lines, start=1):
        if line.startswith("#"):  # the data sets' first line; a sample file may have none
            continue
        if line.strip() == "---":
            sequences.append(steps)
            steps = []
            continue
        notes = [int(tok) for tok in line.split()]
        bad = [n for n in notes if not LOWEST <= n < LOWEST + KEYS]
        if bad:
            raise ValueError(f"{name}:{number}: note {bad[0]} outside MIDI {LOWEST}..{LOWEST + KEYS - 1}")
        steps.append(notes)
    sequences.append(steps)
    rolls = []
    for steps in sequences:
        roll = np.zeros((len(steps), KEYS), dtype=np.float32)
        for t, notes in enumerate(steps):
            roll[t, [n - LOWEST for n in notes]] = 1.0
        rolls.append(roll)
    return rolls


def load_split(dataset, split, music_dir=MUSIC_DIR):
    """datasets/music/{dataset}_{split}.txt as a list of [frames, 88] float32 arrays."""
    if dataset not in DATASETS or split not in SPLITS:
        raise ValueError(f"unknown data set/split '{dataset}/{split}' (one of {DATASETS} x {SPLITS})")
    path = os.path.join(music_dir, f"{dataset}_{split}.txt")
    with open(path, encoding="utf-8") as f:
        return parse_rolls(f.read(), path)


def load_mat_split(dataset, split, music_dir=MUSIC_DIR):
    """the same split from the original .mat file (needs scipy; used by the tests)."""
    import scipy.io
    mat = scipy.io.loadmat(os.path.join(music_dir, MAT_FILES[dataset]))
    return [np.asarray(a, dtype=np.float32) for a in mat[split + "data"][0]]


def main():
    for d in DATASETS:
        for s in SPLITS:
            rolls = load_split(d, s)
            print(f"{d} {s}: {len(rolls)} sequences, {sum(len(r) for r in rolls)} frames, "
                  f"{sum(len(r) - 1 for r in rolls)} predicted")


if __name__ == "__main__":
    main()
