#!/usr/bin/python3
"""tools/torch_stream_bench.py: its PyTorch step mode reproduces the golden fixtures, agrees with
sequnet_torch's full-sequence forward on shapes the fixtures don't cover, its batched step
(--batch) agrees stream by stream with batch 1, and its bench runs.

`/usr/bin/python3 -m pytest tools/test_torch_stream.py` (a few seconds) or run directly."""
import io
import json
import os
import sys
import unittest
from contextlib import redirect_stdout

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sequnet_torch as st  # noqa: E402
import torch_stream_bench as tsb  # noqa: E402


def step_vs_forward(model, n_steps=70, seed=0):
    """stream a window of input_size random classes (last one at n = 0) and n_steps more; compare
    with one valid full-sequence pass over the same classes."""
    g = torch.Generator().manual_seed(seed)
    seq = torch.randint(0, model.num_classes, (model.input_size + n_steps,), generator=g).tolist()
    first = -(model.input_size - 1)
    with torch.no_grad():
        out, n0 = model(torch.tensor([seq]), first_n=first)
    want = out[0].t().numpy()[-n0:]  # rows at n = 0 .. n_steps
    s = tsb.make_stepper(model)
    got = []
    with torch.inference_mode():
        for k, c in enumerate(seq):
            logits = s.step(c, first + k)
            if first + k >= 0:
                got.append(logits.numpy().copy())
    got = np.stack(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.abs(got - want).max())


def other_shapes():
    """kernel 7 (upconv with 4 "now" / 3 "next" taps), depth 3, and a 3x2 WaveNet, random weights."""
    torch.manual_seed(3)
    return (st.Sequnet(8, 4, 3, 7).eval(), st.Sequnet(6, 6, 1, 3).eval(), st.WaveNet(3, 2, 8, 8, 16).eval())


class TorchStream(unittest.TestCase):
    def test_golden_fixtures(self):
        d = tsb.fixture_dir()
        names = tsb.fixture_names(d)
        self.assertEqual(len(names), 3)
        for name in names:
            with self.subTest(name=name):
                err = tsb.check_fixture(name, d)
                print(f"\n{name}: max abs err {err:.3g}")
                self.assertLess(err, tsb.TOL)

    def test_other_shapes_match_forward(self):
        for model in other_shapes():
            with self.subTest(model=tsb.arch_label(model)):
                self.assertLess(step_vs_forward(model), 1e-4)

    def test_batched_golden_fixtures(self):
        # three streams all fed the golden input, then three with their own inputs (stream 0
        # golden, streams 1 and 2 checked against batch-1 runs on theirs)
        d = tsb.fixture_dir()
        for name in tsb.fixture_names(d):
            for mixed in (False, True):
                with self.subTest(name=name, mixed=mixed):
                    err = tsb.check_fixture(name, d, batch=3, mixed=mixed)
                    print(f"\n{name} batch 3{' own inputs' if mixed else ''}: max abs err {err:.3g}")
                    self.assertLess(err, tsb.TOL)

    def test_batched_other_shapes_match_batch_1(self):
        # four streams with their own inputs
        for model in other_shapes():
            with self.subTest(model=tsb.arch_label(model)):
                g = torch.Generator().manual_seed(1)
                seqs = torch.randint(0, model.num_classes, (4, model.input_size + 40), generator=g).tolist()
                first = -(model.input_size - 1)
                got = tsb.stream_logits(model, seqs, first)
                want = tsb.stream_logits(model, seqs, first, separate=True)
                self.assertEqual(got.shape, (len(seqs[0]), 4, model.num_classes))
                self.assertLess(float(np.abs(got - want).max()), 1e-4)

    def test_bench_cli_json_batch(self):
        buf = io.StringIO()
        try:
            with redirect_stdout(buf):
                rc = tsb.main(["--arch", "wavenet:layers=3,blocks=2,residual=8,dilation=8,skip=16",
                               "--samples", "10", "--warmup", "4", "--repeats", "2", "--json",
                               "--batch", "3", "--threads", "2"])
        finally:
            torch.set_num_threads(1)
            tsb.set_blas_threads(1)
        self.assertEqual(rc, 0)
        r = json.loads(buf.getvalue())
        self.assertEqual((r["batch"], r["threads"], r["samples_timed"]), (3, 2, 10))
        self.assertIn(r["blas_threads"], (2, None))  # None: torch not linked to OpenBLAS
        self.assertAlmostEqual(r["samples_per_second"], 3 * r["samples_per_second_per_stream"], delta=1e-6)
        self.assertGreater(r["samples_per_second_per_stream"], 0)

    def test_bench_cli_json(self):
        buf = io.StringIO()
        with redirect_stdout(buf):
            rc = tsb.main(["--arch", "sequnet:features=8,levels=4,depth=1,kernel=3",
                           "--samples", "10", "--warmup", "4", "--repeats", "2", "--json"])
        self.assertEqual(rc, 0)
        r = json.loads(buf.getvalue())
        self.assertEqual(r["samples_timed"], 16)  # rounded up to whole clock cycles (8)
        self.assertEqual(r["threads"], 1)
        self.assertEqual(r["batch"], 1)
        self.assertEqual(r["samples_per_second"], r["samples_per_second_per_stream"])
        self.assertGreater(r["samples_per_second"], 0)
        self.assertEqual(set(r["latency_us"]) >= {"p50", "p99"}, True)
        self.assertEqual(r["parameters"], st.count_params(st.Sequnet(8, 4, 1, 3)))
        self.assertEqual(r["arch"], "sequnet:features=8,levels=4,depth=1,kernel=3")


if __name__ == "__main__":
    unittest.main(verbosity=2)
