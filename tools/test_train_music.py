#!/usr/bin/python3
"""train_music.py: a run stopped anywhere (inside an epoch or between epochs) and resumed is the
same run, bit for bit, as one that never stopped; the learning-rate rule is the official one;
the files it promises are there and the best weights are what eval_music.py scores.
Tiny models (8 channels) on JSB, a few seconds."""
import contextlib
import csv
import io
import json
import os
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import eval_music  # noqa: E402
import train_music  # noqa: E402


def run(out, *extra):
    with contextlib.redirect_stdout(io.StringIO()):
        train_music.main(["--data", "jsb", "--family", extra[0], "--channels", "8", "--epochs", "2",
                          "--name", "tiny", "--out", out] + list(extra[1:]))


def log_rows(out):
    with open(os.path.join(out, "tiny.log.csv"), newline="") as f:
        return [(r["epoch"], r["train_nll"], r["valid_nll"], r["lr"]) for r in csv.DictReader(f)]


class TrainMusicTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)

    def test_halving_rule(self):
        prev = [9.0] * 10
        self.assertFalse(train_music.halve_lr(10, 9.5, prev))  # not before epoch 11
        self.assertTrue(train_music.halve_lr(11, 9.5, prev))
        self.assertFalse(train_music.halve_lr(11, 9.0, prev))  # equal is not above
        self.assertFalse(train_music.halve_lr(20, 9.5, [9.6] + [9.0] * 9))  # the max of the previous 10
        self.assertTrue(train_music.halve_lr(20, 9.5, [9.6] + [9.0] * 10))  # only the last 10 count

    def test_resume_is_the_same_run(self):
        for family in ("sequnet", "tcn"):
            with self.subTest(family=family), tempfile.TemporaryDirectory() as a, \
                    tempfile.TemporaryDirectory() as b:
                run(a, family)
                run(b, family, "--max-steps", "100")   # inside epoch 1
                self.assertEqual(log_rows(b), [])
                run(b, family, "--max-steps", "200")   # finishes epoch 1 (229 steps), into epoch 2
                self.assertEqual(len(log_rows(b)), 1)
                run(b, family)                         # the rest
                self.assertEqual(log_rows(a), log_rows(b))
                sa = torch.load(os.path.join(a, "tiny.best.state.pt"))
                sb = torch.load(os.path.join(b, "tiny.best.state.pt"))
                self.assertEqual(sa.keys(), sb.keys())
                for k in sa:
                    self.assertTrue(torch.equal(sa[k], sb[k]), k)
                ra = json.load(open(os.path.join(a, "tiny.result.json")))
                rb = json.load(open(os.path.join(b, "tiny.result.json")))
                self.assertEqual(ra["test_nll"], rb["test_nll"])
                self.assertEqual((ra["epochs_run"], rb["epochs_run"]), (2, 2))
                # what the result reports is what eval_music.py measures on the best weights
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
                    eval_music.main([os.path.join(a, "tiny.best.state.pt"), "--data", "jsb", "--split", "test"])
                self.assertAlmostEqual(float(buf.getvalue().split()[0]), ra["test_nll"], places=5)
                # and running it again after the end changes nothing
                run(a, family)
                self.assertEqual(len(log_rows(a)), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
