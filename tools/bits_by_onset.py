#!/usr/bin/python3
"""Where do a model's bits go: right after note onsets, or in held notes?

    tools/bits_by_onset.py models/training/sequnet-piano.pt models/training/wavenet-piano.pt

Scores stretches of the held-out test pieces (teacher forced, the valid pass train.py uses)
and averages bits/sample by the time since the last onset in the real audio. An onset is a
10 ms frame louder than -40 dBFS and at least 6 dB louder than each of the three frames
before it. Generated audio from the Seq-U-Net is noisiest just after its onsets; this says
whether its predictions of real audio are too.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mulaw  # noqa: E402
import sequnet_torch as st  # noqa: E402

FRAME = 160  # 10 ms at 16 kHz
BUCKETS = [(0, 160, "0-10 ms"), (160, 480, "10-30 ms"), (480, 1600, "30-100 ms"),
           (1600, 4800, "100-300 ms"), (4800, None, "> 300 ms")]


def samples_since_onset(x):
    """For every sample of x (floats in [-1, 1]): samples since the last onset (huge before the first)."""
    n = len(x) // FRAME
    energy_db = 10 * np.log10(np.mean(x[: n * FRAME].reshape(n, FRAME) ** 2, axis=1) + 1e-10)
    onset = np.zeros(n, bool)
    for i in range(3, n):
        onset[i] = energy_db[i] > -40 and energy_db[i] - energy_db[i - 3:i].max() > 6
    onset_samples = np.nonzero(onset)[0] * FRAME
    idx = np.arange(len(x))
    last = np.searchsorted(onset_samples, idx, side="right") - 1
    return np.where(last >= 0, idx - onset_samples[np.clip(last, 0, None)], 10 ** 12)


def bits_per_sample(model, classes, start, predictions):
    """(positions, bits) of `predictions` teacher-forced predictions from a crop at `start`."""
    crop = torch.from_numpy(classes[start:start + model.input_size + predictions].astype(np.int64))[None]
    with torch.no_grad():
        logits, n_out = model(crop[:, :-1], first_n=0)
    first_target = n_out + 1
    t = logits.shape[-1]
    bits = F.cross_entropy(logits, crop[:, first_target:first_target + t], reduction="none")[0] / np.log(2)
    return start + first_target + np.arange(t), bits.numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoints", nargs="+", help="train.py checkpoints (.pt)")
    ap.add_argument("--data", default="data")
    ap.add_argument("--crops", type=int, default=40, help="stretches scored, evenly spaced over the test set")
    ap.add_argument("--predictions", type=int, default=16384, help="predictions per stretch")
    args = ap.parse_args()
    torch.set_num_threads(1)

    classes = mulaw.read_split(args.data, "test")
    since = samples_since_onset(mulaw.decode(classes))

    # every checkpoint is read before any is scored, so a bad one fails at once
    models = [(ck_path, st.load_checkpoint_or_exit(ck_path, "bits_by_onset")[0].eval())
              for ck_path in args.checkpoints]
    print(f"{'checkpoint':28s} {'all':>6s} " + " ".join(f"{name:>10s}" for _, _, name in BUCKETS))
    shares = None
    for ck_path, model in models:
        span = model.input_size + args.predictions
        starts = np.linspace(0, len(classes) - span - 1, args.crops).astype(np.int64)
        scored = [bits_per_sample(model, classes, int(s), args.predictions) for s in starts]
        pos = np.concatenate([p for p, _ in scored])
        bits = np.concatenate([b for _, b in scored])
        ages = since[pos]
        cells, shares = [], []
        for lo, hi, _ in BUCKETS:
            inside = (ages >= lo) & (ages < (hi if hi is not None else np.inf))
            cells.append(f"{bits[inside].mean():10.3f}" if inside.any() else f"{'-':>10s}")
            shares.append(f"{100 * inside.mean():9.1f}%")
        print(f"{os.path.basename(ck_path):28s} {bits.mean():6.3f} " + " ".join(cells), flush=True)
    print(f"{'share of the scored samples':28s} {'':6s} " + " ".join(shares))


if __name__ == "__main__":
    main()
