#!/usr/bin/python3
"""Is a model's hiss made by generation feeding on its own noise, or is it already in each
single prediction?

    tools/one_step_hiss.py models/training/sequnet-piano.pt models/training/wavenet-piano.pt

For windows of the held-out test pieces, every sample is drawn from the model's prediction
given the *real* history (teacher forced: no sample ever sees another drawn sample), then
measured the way tools/audio_stats.py measures generated audio. If these one-step samples
are as hissy as free-running generation, the hiss is the spread of each prediction, and only
sharper predictions (fewer bits/sample) remove it; sampling tricks and training against
exposure bias cannot. Prints per checkpoint: teacher-forced bits/sample on the windows, the
one-step samples' median flatness, and their signal-to-error ratio against the real audio.
Every model is scored on the same samples. Given three or more checkpoints (say, one model
at several training times), it also fits how flatness falls with bits/sample and reads off
the bits at which the one-step samples would be as clean as real piano with white noise
40, 30 and 25 dB below it: an extrapolation, so a rough guide to how far training has to go.
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
from audio_stats import RATE, noise_calibration, stats  # noqa: E402

FIT_SNR_DB = (40, 30, 25)


def one_step_samples(logits, temperature, generator):
    """One class per column of logits [classes, t], drawn at the temperature."""
    probs = torch.softmax(logits / temperature, dim=0).T
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


def window_logits(model, classes, first, length):
    """Logits [classes, length] predicting classes[first:first + length], each from the real
    classes before it (teacher forced): one valid pass over input_size classes of history
    and the window but its last sample. The output at crop index n predicts index n + 1."""
    crop = torch.from_numpy(classes[first - model.input_size:first + length - 1].astype(np.int64))[None]
    with torch.no_grad():
        logits, n_out = model(crop, first_n=0)
    first_output = model.input_size - 1 - n_out
    if first_output < 0 or logits.shape[-1] - first_output < length:
        raise ValueError(f"a pass over {crop.shape[-1]} classes does not predict the whole window")
    return logits[0, :, first_output:first_output + length]


def fit_bits_for_flatness(bits, flatness, targets):
    """Bits/sample at which a log-linear fit of flatness on bits reaches each target flatness."""
    slope, intercept = np.polyfit(np.asarray(bits), np.log(np.asarray(flatness)), 1)
    return slope, [(np.log(t) - intercept) / slope for t in targets]


def signal_to_error_db(real, drawn):
    """Power of real over power of (drawn - real), in dB: how far the draws stray."""
    return float(10 * np.log10(np.mean(real ** 2) / max(np.mean((drawn - real) ** 2), 1e-20)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoints", nargs="+", help="train.py checkpoints (.pt)")
    ap.add_argument("--data", default="data")
    ap.add_argument("--windows", type=int, default=12, help="windows, evenly spaced over the test set")
    ap.add_argument("--seconds", type=float, default=4.0, help="length of each window (that of the sweep's continuations)")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.windows < 1 or args.seconds <= 0 or args.temperature <= 0:
        raise SystemExit("error: --windows, --seconds and --temperature must be positive")
    torch.set_num_threads(1)

    classes = mulaw.read_split(args.data, "test")
    models = [(os.path.basename(p), st.load_checkpoint_or_exit(p, "one_step_hiss")[0].eval())
              for p in args.checkpoints]
    history = max(m.input_size for _, m in models)
    length = int(args.seconds * RATE)
    if len(classes) < history + length + 1:
        raise SystemExit(f"error: {os.path.join(args.data, 'test.u8')} is shorter than one window")
    # first predicted sample of each window: the same for every model
    firsts = np.linspace(history, len(classes) - length - 1, args.windows).astype(np.int64)
    real = [mulaw.decode(classes[f:f + length]) for f in firsts]
    real_flatness = np.nanmedian([stats(x)[1] for x in real])

    print(f"{'checkpoint':32s} {'bits':>6s} {'flatness':>9s} {'error_db':>9s}")
    rows = []
    for name, model in models:
        generator = torch.Generator().manual_seed(args.seed)
        bits, flatness, error_db = [], [], []
        for first, x in zip(firsts, real):
            logits = window_logits(model, classes, first, length)
            target = torch.from_numpy(classes[first:first + length].astype(np.int64))
            bits.append(F.cross_entropy(logits.T, target).item() / np.log(2))
            drawn = mulaw.decode(one_step_samples(logits, args.temperature, generator).numpy())
            flatness.append(stats(drawn)[1])
            error_db.append(signal_to_error_db(x, drawn))
        rows.append((np.mean(bits), np.nanmedian(flatness)))
        print(f"{name:32s} {rows[-1][0]:6.3f} {rows[-1][1]:9.4f} {np.median(error_db):9.1f}", flush=True)
    print(f"{'real audio, same windows':32s} {'':6s} {real_flatness:9.4f}")
    if len(rows) >= 3:
        calibration = noise_calibration(real, FIT_SNR_DB)
        slope, needed = fit_bits_for_flatness([b for b, _ in rows], [f for _, f in rows],
                                              [f for _, f, _ in calibration])
        print(f"log-linear fit over these {len(rows)} checkpoints: flatness x{np.exp(slope):.2f} per bit/sample")
        for (snr, flat, _), b in zip(calibration, needed):
            print(f"  one-step samples as hissy as real piano + white noise at {snr} dB SNR "
                  f"(flatness {flat:.4f}): about {b:.2f} bits/sample (extrapolated)")


if __name__ == "__main__":
    main()
