#!/usr/bin/python3
"""Word-level Penn Treebank fixtures for the engine's exactness tests (issue #17: the word
models are optional, their exact engine is not). The golden fixtures of the paper's code are
character-level only, so these come from our reference implementation, tools/lm_models.py,
which `make lm-parity` checks against the official code (logits, windows, vocabularies).

For each family, a tiny word-level model (V = 10,000, the PTB word vocabulary; E = 16,
16 channels, L = 4, k = 3; tied decoder) trained for 60 steps of the official recipe so that
its logits are not near-uniform, then:
  Tests/Fixtures/symbolic/word_NAME_tiny.state.pt     model.state_dict()
  Tests/Fixtures/symbolic/word_NAME_tiny.feed.u16     one official test window: W ids of
                                                      batchify(test, 16) row ROW from START
  Tests/Fixtures/symbolic/word_NAME_tiny.logits.f32   the window's last ROWS rows of logits (float32)
  Tests/Fixtures/symbolic/word_NAME_tiny.json         sizes, window, the window's cross-entropy over
                                                      its S scored positions, and the official
                                                      windowed test perplexity (tools/lm_models.evaluate)

    /usr/bin/python3 tools/make_word_fixtures.py
"""
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lm_models as lm  # noqa: E402
import ptb_data as pd  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "Fixtures", "symbolic")
ROW, WINDOW_INDEX, LOGIT_ROWS = 3, 5, 6


def make(family):
    torch.manual_seed(17)
    V = len(pd.word_vocab())
    model = lm.LMModel(family, "word", V, 16, 16, 4, 3, dropout=0.0, emb_dropout=0.0)
    train = torch.from_numpy(pd.batchify(pd.word_stream("train"), 16).copy())
    W, S = model.window, model.scored
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    starts = lm.window_starts(train.shape[1], W, S, "word")
    for step in range(60):
        i = starts[(step * 37) % len(starts)]
        z = model.scored_logits(train[:, i:i + W])
        loss = F.cross_entropy(z.reshape(-1, V), train[:, i + W - S + 1:i + W + 1].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.4)
        opt.step()
    model.eval()
    rows = pd.batchify(pd.word_stream("test"), 16)
    start = lm.window_starts(rows.shape[1], W, S, "word")[WINDOW_INDEX]
    feed = rows[ROW, start:start + W]
    targets = rows[ROW, start + W - S + 1:start + W + 1]
    with torch.no_grad():
        z = model.scored_logits(torch.from_numpy(feed.copy())[None])[0]
        window_ce = F.cross_entropy(z, torch.from_numpy(targets.copy())).item()
    test_ce, scored = lm.evaluate(model, rows)
    name = f"word_{family}_tiny"
    base = os.path.join(OUT, name)
    torch.save(model.state_dict(), base + ".state.pt")
    feed.astype("<u2").tofile(base + ".feed.u16")
    z[-LOGIT_ROWS:].numpy().astype("<f4").tofile(base + ".logits.f32")
    info = dict(name=name, task="word", family=family, model_type="sequnet-plain" if family == "sequnet" else "tcn",
                vocab_size=V, embedding_dim=16, nhid=16, levels=4, kernel_size=3, parameters=lm.count_params(model),
                produced_by="tools/make_word_fixtures.py with tools/lm_models.py (our reference, parity-checked "
                            "against the official code by make lm-parity), torch " + torch.__version__,
                training="60 Adam steps (lr 3e-3, clip 0.4, no dropout) on batchify(train, 16) windows, seed 17",
                window=dict(stream="batchify(test words, 16)", row=ROW, window_index=WINDOW_INDEX,
                            offset_in_row=int(start), W=W, S=S, next_token=int(rows[ROW, start + W])),
                logit_rows=LOGIT_ROWS,
                logits_are="the last logit_rows of the S scored rows; row r of the file = logits after feeding "
                           "window position W - logit_rows + r, float32 little-endian, V each",
                window_mean_ce_nats=window_ce,
                test_set_ce_official_eval=test_ce, test_set_scored_tokens=scored,
                test_set_ppl_official_eval=math.exp(test_ce),
                sha256={ext: hashlib.sha256(open(base + ext, "rb").read()).hexdigest()
                        for ext in (".state.pt", ".feed.u16", ".logits.f32")})
    with open(base + ".json", "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(f"{name}: W={W} S={S} params={info['parameters']} window ce {window_ce:.5f} "
          f"test ppl {math.exp(test_ce):.3f} over {scored} tokens")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for family in ("sequnet", "tcn"):
        make(family)
