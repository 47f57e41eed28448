#!/usr/bin/python3
"""Bach chorales (music21 corpus) -> piano MIDI -> fluidsynth 16 kHz audio -> mu-law classes.

Writes into data/ (git-ignored):
  train.u8, valid.u8, test.u8   concatenated mu-law classes (uint8), pieces separated
                                by SEP_SECONDS of silence (class 128)
  test_wav/NAME.wav             each test piece as 16 kHz mono 16-bit WAV (after
                                normalisation/trimming, before mu-law) for scoring
  manifest.json                 per-piece split, sample counts, offsets in the .u8 files

Split is by piece, deterministic from md5(piece name): 90/5/5.
Usage: tools/make_dataset.py [--out data] [--jobs 2] [--limit N]
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import wave
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mulaw  # noqa: E402

SR = 16000
SF2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
SEP_SECONDS = 0.25
PEAK = 0.9  # peak-normalise each piece to this; leaves headroom below full scale
TRIM_DB = -50.0  # samples below this (relative to full scale, after normalising) count as silence


def split_of(name):
    h = int(hashlib.md5(name.encode()).hexdigest(), 16) % 100
    return "train" if h < 90 else ("valid" if h < 95 else "test")


def piece_name(path):
    return os.path.splitext(os.path.basename(str(path)))[0]


def render(path):
    """One piece -> (name, float32 mono audio) or (name, None, error)."""
    from music21 import converter, instrument

    name = piece_name(path)
    try:
        score = converter.parse(str(path))
        # Every part becomes an acoustic grand piano (GM program 0).
        for part in score.parts:
            for inst in list(part.recurse().getElementsByClass(instrument.Instrument)):
                inst.activeSite.remove(inst)
            part.insert(0, instrument.Piano())
        with tempfile.TemporaryDirectory() as td:
            mid = os.path.join(td, "p.mid")
            wav = os.path.join(td, "p.wav")
            score.write("midi", fp=mid)
            subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-F", wav, "-r", str(SR), SF2, mid],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with wave.open(wav) as w:
                assert w.getframerate() == SR and w.getsampwidth() == 2, (w.getframerate(), w.getsampwidth())
                ch = w.getnchannels()
                a = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
        a = a.reshape(-1, ch).mean(axis=1) / 32768.0
        peak = np.abs(a).max()
        if peak <= 0:
            return name, None, "silent"
        a = a * (PEAK / peak)
        loud = np.nonzero(np.abs(a) > 10 ** (TRIM_DB / 20))[0]
        a = a[loud[0]:loud[-1] + 1]
        return name, a.astype(np.float32), None
    except Exception as e:  # a broken corpus file should not kill the run
        return name, None, repr(e)


def write_wav(path, a):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(np.clip(np.round(a * 32767), -32768, 32767).astype("<i2").tobytes())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="data")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="only the first N pieces (0 = all)")
    args = ap.parse_args()

    from music21 import corpus
    paths = sorted(corpus.getComposer("bach"), key=lambda p: piece_name(p))
    # Chorales only: the corpus' bach folder is the 4-part chorales (bwvNNN.M); drop anything else
    # and the duplicate encodings (.xml and .mxl of the same piece), keep the first.
    seen, todo = set(), []
    for p in paths:
        n = piece_name(p)
        if n in seen or not n.startswith("bwv"):
            continue
        seen.add(n)
        todo.append(p)
    if args.limit:
        todo = todo[:args.limit]

    os.makedirs(os.path.join(args.out, "test_wav"), exist_ok=True)
    sep = np.full(int(SEP_SECONDS * SR), mulaw.SILENCE, dtype=np.uint8)
    files = {s: open(os.path.join(args.out, s + ".u8.tmp"), "wb") for s in ("train", "valid", "test")}
    offsets = {s: 0 for s in files}
    manifest = {"sample_rate": SR, "mu": mulaw.MU, "separator_samples": len(sep),
                "soundfont": SF2, "peak": PEAK, "trim_db": TRIM_DB, "pieces": [], "failed": []}
    t0 = time.time()
    results = {}
    with Pool(args.jobs) as pool:
        for k, (name, audio, err) in enumerate(pool.imap_unordered(render, todo, chunksize=2), 1):
            results[name] = (audio, err)
            el = time.time() - t0
            print(f"\r[{k}/{len(todo)}] {el:6.1f}s  eta {el / k * (len(todo) - k):6.1f}s  {name:16s}",
                  end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    # Write in sorted name order so the files are deterministic regardless of worker timing.
    for name in sorted(results):
        audio, err = results[name]
        if audio is None:
            manifest["failed"].append({"name": name, "error": err})
            continue
        split = split_of(name)
        q = mulaw.encode(audio)
        files[split].write(q.tobytes())
        manifest["pieces"].append({"name": name, "split": split, "samples": int(len(q)),
                                   "seconds": round(len(q) / SR, 3), "offset": offsets[split]})
        offsets[split] += len(q)
        files[split].write(sep.tobytes())
        offsets[split] += len(sep)
        if split == "test":
            write_wav(os.path.join(args.out, "test_wav", name + ".wav"), audio)
    for s, f in files.items():
        f.close()
        os.replace(os.path.join(args.out, s + ".u8.tmp"), os.path.join(args.out, s + ".u8"))
    summary = {}
    for s in files:
        ps = [p for p in manifest["pieces"] if p["split"] == s]
        summary[s] = {"pieces": len(ps), "hours": round(sum(p["seconds"] for p in ps) / 3600, 3),
                      "samples_with_separators": offsets[s]}
    manifest["summary"] = summary
    manifest["build_seconds"] = round(time.time() - t0, 1)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps(summary, indent=1), f"failed={len(manifest['failed'])}", f"{time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
