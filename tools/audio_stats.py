#!/usr/bin/python3
"""How noisy is generated audio? Three numbers per WAV, set against the real test pieces.

Nobody on the team listens to the samples, so this stands in for an ear on one question:
is the audio tonal piano with quiet gaps, or piano under broadband hiss?

- loud:      share of 32 ms frames above -45 dBFS, DC left out (the rest is near silence).
- flatness:  median spectral flatness (geometric / arithmetic mean of the power spectrum)
             of the frames above -45 dBFS. Near 0 for a few partials, near 1 for white noise.
- hf_db:     energy above 4 kHz relative to all energy (dB). FluidR3's piano puts little
             there; hiss puts a lot.
- in_tune:   share of the strong spectral peaks between 100 Hz and 4 kHz (20 dB above the
             frame's median) that lie within 20 cents of an equal-tempered pitch (A = 440 Hz),
             in 256 ms frames above -45 dBFS. Hiss has no such peaks; tones placed at random
             score 0.4; the rendered chorales, whose upper partials stray, about 0.67. It asks
             whether what is left under the hiss is notes on the training data's tuning.

The reference row is the held-out test set (data/test.u8, mu-law decoded, so it carries the
same quantisation noise as decoded model output), cut into windows as long as the WAVs.
With --calibrate, the same windows are measured again with white noise added at a range of
signal-to-noise ratios, so that a flatness reads as "as hissy as real piano with white noise
N dB below it".

usage: tools/audio_stats.py [--data data] [--skip SECONDS] [--no-reference] WAV...
(--skip 2 leaves out a 2 s prompt that `generate --prompt` writes before the continuation)
"""
import argparse
import os
import sys
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mulaw  # noqa: E402

FRAME = 512  # 32 ms at 16 kHz
RATE = 16000


def read_wav(path):
    try:
        with wave.open(path, "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1 or w.getframerate() != RATE:
                raise SystemExit(f"error: {path}: expected 16-bit mono WAV at {RATE} Hz")
            frames = w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error) as e:
        raise SystemExit(f"error: cannot read {path}: {e}")
    return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0


PITCH_FRAME = 4096  # 256 ms: 3.9 Hz bins, interpolated, resolve a semitone from 100 Hz up
IN_TUNE_CENTS = 20


def in_tune_share(x):
    """Share of the strong spectral peaks of x within IN_TUNE_CENTS of an equal-tempered
    pitch (NaN if there are none)."""
    hop = PITCH_FRAME // 2
    window = np.hanning(PITCH_FRAME)
    freqs = np.fft.rfftfreq(PITCH_FRAME, 1.0 / RATE)
    k = np.nonzero((freqs > 100) & (freqs < 4000))[0]
    deviations = []
    for start in range(0, len(x) - PITCH_FRAME + 1, hop):
        frame = x[start:start + PITCH_FRAME]
        frame = frame - frame.mean()
        if 10 * np.log10(np.mean(frame ** 2) + 1e-12) < -45:
            continue
        db = 10 * np.log10(np.abs(np.fft.rfft(frame * window)) ** 2 + 1e-20)
        left, mid, right = db[k - 1], db[k], db[k + 1]
        peak = (mid > left) & (mid >= right) & (mid > np.median(db) + 20)
        # the peak of the parabola through the three bins, for a frequency between bins
        offset = 0.5 * (left[peak] - right[peak]) / (left[peak] - 2 * mid[peak] + right[peak])
        cents = 1200 * np.log2((k[peak] + offset) * RATE / PITCH_FRAME / 440.0)
        deviations.append((cents + 50) % 100 - 50)
    deviations = np.concatenate(deviations) if deviations else np.zeros(0)
    return float(np.mean(np.abs(deviations) < IN_TUNE_CENTS)) if len(deviations) else float("nan")


def stats(x):
    """loud, flatness, hf_db, in_tune of one signal (a float array in [-1, 1])."""
    n = len(x) // FRAME
    if n < 4:
        return None
    frames = x[: n * FRAME].reshape(n, FRAME)
    # A model stuck on one class writes a constant: silence to the ear, but -45 dBFS or more
    # of DC, and a power spectrum all in the lowest bins, which reads as perfectly tonal.
    # Each frame's mean is taken out so that a stuck stretch counts as quiet.
    frames = frames - frames.mean(axis=1, keepdims=True)
    rms_db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    power = np.abs(np.fft.rfft(frames * np.hanning(FRAME), axis=1)) ** 2 + 1e-12
    loud = rms_db > -45
    flat = np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
    hf_bin = int(4000 / (RATE / FRAME))
    hf = 10 * np.log10(power[:, hf_bin:].sum() / power.sum())
    return (float(loud.mean()),
            float(np.median(flat[loud])) if loud.any() else float("nan"),
            float(hf),
            in_tune_share(x))


CALIBRATION_SNR_DB = (40, 35, 30, 25, 20, 15)


def with_white_noise(x, snr_db, rng):
    """x plus white noise snr_db below x's own mean power."""
    power = np.mean(x ** 2)
    return x + rng.normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), len(x))


def noise_calibration(windows, snrs_db=CALIBRATION_SNR_DB, seed=0):
    """[(snr_db, median flatness, median in_tune)] of the windows with white noise added at
    each SNR (hiss buries the weaker, less well tuned upper partials, so in_tune rises)."""
    rng = np.random.default_rng(seed)
    out = []
    for snr in snrs_db:
        rows = np.array([s for s in (stats(with_white_noise(w, snr, rng)) for w in windows) if s is not None])
        out.append((snr, float(np.nanmedian(rows[:, 1])), float(np.nanmedian(rows[:, 3]))))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data")
    ap.add_argument("--skip", type=float, default=0.0, metavar="SECONDS",
                    help="leave out the first SECONDS of every WAV (a prompt)")
    ap.add_argument("--no-reference", action="store_true",
                    help="leave out the test-piece rows (for callers that print them once)")
    ap.add_argument("--calibrate", action="store_true",
                    help="also measure every 3rd test window with white noise added at "
                         + ", ".join(map(str, CALIBRATION_SNR_DB)) + " dB SNR")
    ap.add_argument("wavs", nargs="+")
    args = ap.parse_args()

    skip = int(args.skip * RATE)
    audio = [(os.path.basename(p), read_wav(p)[skip:]) for p in args.wavs]
    rows = [(name, stats(x)) for name, x in audio]
    rows = [(name, s) for name, s in rows if s is not None]
    if not rows:
        raise SystemExit(f"error: every WAV is shorter than {4 * FRAME} samples after --skip")
    window = max(len(x) for _, x in audio)

    print(f"{'file':40s} {'loud':>9s} {'flatness':>9s} {'hf_db':>7s} {'in_tune':>7s}")
    for name, (loud, flat, hf, tune) in rows:
        print(f"{name:40s} {loud:9.2f} {flat:9.4f} {hf:7.1f} {tune:7.2f}")
    if len(rows) > 1:
        m = np.nanmedian(np.array([s for _, s in rows]), axis=0)
        print(f"{'median of these ' + str(len(rows)) + ' files':40s} {m[0]:9.2f} {m[1]:9.4f} {m[2]:7.1f} {m[3]:7.2f}")
    if args.no_reference:
        return
    test = mulaw.decode(mulaw.read_split(args.data, "test"))
    windows = [test[i: i + window] for i in range(0, len(test) - window, window)]
    ref = [stats(w) for w in windows]
    ref = np.array([r for r in ref if r is not None])
    lo, med, hi = np.nanpercentile(ref, [10, 50, 90], axis=0)

    print(f"{'test pieces, median of ' + str(len(ref)) + ' windows':40s} {med[0]:9.2f} {med[1]:9.4f} {med[2]:7.1f} "
          f"{med[3]:7.2f}")
    print(f"{'test pieces, 10th..90th percentile':40s} {lo[0]:.2f}..{hi[0]:<.2f} "
          f"{lo[1]:.3f}..{hi[1]:.3f} {lo[2]:3.0f}..{hi[2]:<3.0f} {lo[3]:.2f}..{hi[3]:.2f}")
    if args.calibrate:
        for snr, flat, tune in noise_calibration(windows[::3]):
            print(f"{'test pieces + white noise at ' + str(snr) + ' dB SNR':40s} {'':9s} {flat:9.4f} {'':7s} {tune:7.2f}")


if __name__ == "__main__":
    main()
