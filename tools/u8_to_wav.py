#!/usr/bin/python3
"""Decodes a mu-law class file (.u8) to a 32-bit float WAV at 16 kHz.

Float keeps every decoded value exact, so `sequnet score` re-encodes exactly the
same classes: the models are scored on the very sequence the baselines use.
    u8_to_wav.py data/test.u8 data/test.wav
"""
import struct
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mulaw import decode  # noqa: E402


def main(src, dst, rate=16000):
    classes = np.fromfile(src, dtype=np.uint8)
    audio = np.asarray(decode(classes), dtype="<f4")
    data = audio.tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    # fmt chunk: format 3 = IEEE float, mono, 32 bits
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 3, 1, rate, rate * 4, 4, 32)
    header += b"data" + struct.pack("<I", len(data))
    with open(dst, "wb") as f:
        f.write(header + data)
    print(f"{dst}: {len(classes)} samples ({len(classes) / rate / 60:.1f} min)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
