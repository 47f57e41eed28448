"""mu-law quantisation exactly as SPEC.md states the reference does it (mu = 255).

Shared by make_dataset.py, baselines.py and the tests so there is one definition.
"""
import os

import numpy as np

MU = 255
SILENCE = 128  # class of x == 0


def encode(x):
    """float array in [-1, 1] -> uint8 classes. trunc((y+1)/2*mu + 0.5) as in SPEC."""
    x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    y = np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)
    # (y+1)/2*mu + 0.5 is >= 0.5 > 0, so astype (truncation toward zero) == trunc.
    return ((y + 1.0) / 2.0 * MU + 0.5).astype(np.uint8)


def decode(c):
    """uint8 classes -> float64 samples in [-1, 1]."""
    y = np.asarray(c, dtype=np.float64) / MU * 2.0 - 1.0
    return np.sign(y) * (np.exp(np.abs(y) * np.log1p(MU)) - 1.0) / MU


def read_split(data_dir, split):
    """The classes of DATA_DIR/SPLIT.u8 as written by make_dataset.py (uint8). A missing file ends the calling tool with one line saying how to build it."""
    path = os.path.join(data_dir, split + ".u8")
    if not os.path.exists(path):
        raise SystemExit(f"error: {path} not found (make data builds it)")
    return np.fromfile(path, dtype=np.uint8)


if __name__ == "__main__":
    # The checks listed in SPEC.md.
    enc = encode([-1, -0.5, -1e-4, 0, 1e-4, 0.5, 0.999, 1]).tolist()
    assert enc == [0, 16, 127, 128, 128, 239, 255, 255], enc
    dec = decode([0, 127, 128, 255])
    assert np.allclose(dec, [-1, -8.6212e-05, 8.6213e-05, 1], atol=1e-8), dec
    print("mulaw ok", enc, dec)
