#!/usr/bin/python3
"""tools/train_lm.py: a run stopped inside an epoch and resumed is the same run, bit for bit;
the learning-rate rules; the files a run leaves. Tiny models, a few seconds.

    python3 tools/test_train_lm.py
"""
import contextlib
import csv
import io
import json
import math
import os
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lm_models as lm  # noqa: E402
import train_lm  # noqa: E402

TINY = ["--nhid", "12", "--emsize", "8", "--eval-every", "0", "--no-test"]


def run(out, *extra):
    with contextlib.redirect_stdout(io.StringIO()):
        train_lm.main(TINY + ["--out", out, *extra])


class TrainLM(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)

    def test_resume_is_the_same_run(self):
        for family in ("sequnet", "tcn"):
            with self.subTest(family=family), tempfile.TemporaryDirectory() as tmp:
                run(tmp, "--family", family, "--name", "whole", "--max-steps", "9")
                run(tmp, "--family", family, "--name", "parts", "--max-steps", "4")
                run(tmp, "--family", family, "--name", "parts", "--max-steps", "5")
                a = torch.load(os.path.join(tmp, "whole.pt"))
                b = torch.load(os.path.join(tmp, "parts.pt"))
                self.assertEqual(a["state"]["step"], 9)
                self.assertEqual(b["state"]["step"], 9)
                self.assertEqual(a["state"]["order"], b["state"]["order"])
                self.assertEqual(a["state"]["pos"], b["state"]["pos"])
                for k, v in a["model"].items():
                    self.assertTrue(torch.equal(v, b["model"][k]), k)
                self.assertTrue(torch.equal(a["torch_rng"], b["torch_rng"]))
                sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
                for p in sa:
                    for k in ("exp_avg", "exp_avg_sq"):
                        self.assertTrue(torch.equal(sa[p][k], sb[p][k]))

    def test_files_of_a_run(self):
        with tempfile.TemporaryDirectory() as tmp:
            run(tmp, "--family", "sequnet", "--name", "r", "--max-steps", "6", "--eval-every", "3")
            with open(os.path.join(tmp, "r.log.csv")) as f:
                rows = list(csv.DictReader(f))
            self.assertEqual([r["step"] for r in rows], ["3", "6"])
            self.assertEqual(rows[0]["kind"], "step")
            with open(os.path.join(tmp, "r.result.json")) as f:
                res = json.load(f)
            self.assertEqual(res["steps"], 6)
            self.assertEqual((res["window"], res["scored"]), (397, 325))
            self.assertAlmostEqual(res["valid_bpc"], min(float(r["valid_bpc"]) for r in rows), places=4)
            # the best weights are a plain state dict that eval_lm / lm.load_state read
            model = lm.load_state(os.path.join(tmp, "r.best.state.pt"))
            self.assertEqual(lm.count_params(model), res["parameters"])
            # a new model starts at about log2(49) bits per character
            self.assertLess(abs(res["valid_bpc"] - math.log2(49)), 0.5)

    def test_halving_rules(self):
        prev = [1.0, 1.2, 1.1, 1.05, 1.0, 0.9]
        self.assertFalse(train_lm.halve_lr("char", 10, 5.0, prev))      # not before epoch 11
        self.assertTrue(train_lm.halve_lr("char", 11, 1.21, prev))      # > max of the previous 5 (1.2)
        self.assertFalse(train_lm.halve_lr("char", 11, 1.2, prev))
        self.assertTrue(train_lm.halve_lr("word", 11, 1.2, prev))       # word: >=
        self.assertFalse(train_lm.halve_lr("char", 12, 1.15, [2.0] + prev[1:]))  # only the last 5 count
        self.assertTrue(train_lm.halve_lr("char", 12, 1.15, [2.0, 1.0, 1.1, 1.05, 1.0, 0.9]))



def write_safetensors(state, path):
    """the bundled-model format: 8-byte header length, JSON header, float32 data (a TCN's
    net.0 / net.4 duplicates left out, as sequnet convert leaves them)."""
    header, blobs, offset = {}, [], 0
    for name, tensor in state.items():
        if ".net." in name:
            continue
        data = tensor.detach().float().contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(blobs))


class InitFrom(unittest.TestCase):
    def test_a_lost_run_goes_on_from_its_bundled_weights(self):
        for family in ("sequnet", "tcn"):
            with self.subTest(family=family), tempfile.TemporaryDirectory() as tmp:
                run(tmp, "--family", family, "--name", "first", "--max-steps", "4")
                first = torch.load(os.path.join(tmp, "first.pt"))
                weights = os.path.join(tmp, "first.safetensors")
                write_safetensors(first["model"], weights)
                # the earlier run's result, as a lost session left it
                prior = dict(steps=4, epochs=0.25, wall_minutes=1.5, valid_ce=9.0, final_lr=5e-4)
                with open(os.path.join(tmp, "again.result.json"), "w") as f:
                    json.dump(prior, f)
                run(tmp, "--family", family, "--name", "again", "--init-from", weights, "--max-steps", "3")
                again = torch.load(os.path.join(tmp, "again.pt"))
                st = again["state"]
                self.assertEqual(st["prior"]["steps"], 4)
                self.assertEqual(st["step"], 3)
                self.assertEqual(st["lr"], 5e-4, "the earlier run's learning rate")
                self.assertEqual(st["best_valid"], 9.0, "no validation yet: the loaded weights are the best")
                for k, v in first["model"].items():  # the best weights are the file's, the model has moved on
                    self.assertTrue(torch.equal(st["best_state"][k], v), k)
                self.assertFalse(all(torch.equal(again["model"][k], v) for k, v in first["model"].items()))
                with open(os.path.join(tmp, "again.result.json")) as f:
                    result = json.load(f)
                self.assertEqual(result["steps"], 7)
                self.assertEqual(result["restarted_from"]["steps"], 4)
                self.assertGreater(result["epochs"], 0.25)
                self.assertGreaterEqual(result["wall_minutes"], 1.5)

if __name__ == "__main__":
    unittest.main(verbosity=2)
