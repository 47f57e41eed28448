#!/usr/bin/python3
"""Trivial baselines in bits/sample on data/test.u8, for scale next to the models' numbers.

- unigram entropy of the test classes themselves (the best any context-free predictor
  could do, an optimistic bound since it is fit on the test set),
- unigram cross-entropy with the distribution fit on train (add-one smoothing),
- order-1: p(c[n+1] | c[n]) fit on train with add-one smoothing, scored on test.
The .u8 files are used as-is (including the silence separators between pieces), like the
models' validation numbers.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mulaw  # noqa: E402


def main(data="data", out="models/training/baselines.json"):
    train = mulaw.read_split(data, "train").astype(np.int64)
    test = mulaw.read_split(data, "test").astype(np.int64)
    h = np.bincount(test, minlength=256).astype(np.float64)
    p = h / h.sum()
    nz = p > 0
    unigram_test = float(-(p[nz] * np.log2(p[nz])).sum())
    q = np.bincount(train, minlength=256).astype(np.float64) + 1
    q /= q.sum()
    unigram_train = float(-np.log2(q[test]).mean())
    pairs = np.bincount(train[:-1] * 256 + train[1:], minlength=256 * 256).reshape(256, 256).astype(np.float64) + 1
    cond = pairs / pairs.sum(axis=1, keepdims=True)
    order1 = float(-np.log2(cond[test[:-1], test[1:]]).mean())
    res = {"test_samples": int(len(test)), "train_samples": int(len(train)),
           "unigram_entropy_test_bits": round(unigram_test, 4),
           "unigram_train_fit_on_test_bits": round(unigram_train, 4),
           "order1_add1_train_fit_on_test_bits": round(order1, 4)}
    print(json.dumps(res, indent=1))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
