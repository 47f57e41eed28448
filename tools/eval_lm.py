#!/usr/bin/python3
"""Score a Penn Treebank LM state dict in the official windowed protocol.

Character level: bits per character of one split's text as ONE stream, cut into windows of W
characters starting at 0, S, 2S, ..., each scoring its last S predictions (Seq-U-Net k=3 L=4:
W=397, S=325; TCN: W=400, S=320). Word level: perplexity over batchify(split, 16), every row
windowed the same way (117/45). The first number printed is the figure (BPC or perplexity);
`sequnet score` of the Swift engine must reproduce it.

    python3 tools/eval_lm.py models/training/ptb/char-sequnet.best.state.pt --level char
    python3 tools/eval_lm.py STATE.pt --level char --split valid --json
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lm_models as lm  # noqa: E402
import ptb_data as pd  # noqa: E402

WORD_ROWS = 16


def rows_for(level, split):
    s = pd.stream(level, split)
    return s[None] if level == "char" else pd.batchify(s, WORD_ROWS)


def score(model, level, split, batch=32):
    """dict of the figure and how it was obtained."""
    rows = rows_for(level, split)
    t = time.time()
    ce, tokens = lm.evaluate(model, rows, batch=batch)
    out = {}
    if level == "char":
        out["bpc"] = lm.bpc(ce)
    else:
        out["perplexity"] = math.exp(ce)
    out.update(ce_nats=ce, level=level, split=split, scored_tokens=tokens, window=model.window,
               scored_per_window=model.scored, rows=int(rows.shape[0]),
               windows=tokens // model.scored, family=model.family, parameters=lm.count_params(model),
               seconds=round(time.time() - t, 1))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("state", help="plain state dict (torch.save(model.state_dict()))")
    ap.add_argument("--level", choices=pd.LEVELS, required=True)
    ap.add_argument("--split", choices=pd.SPLITS, default="test")
    ap.add_argument("--json", action="store_true", help="print one JSON object (the figure first)")
    ap.add_argument("--batch", type=int, default=32, help="windows per forward pass (same result)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        model = lm.load_state(args.state, level=args.level)
    except (ValueError, RuntimeError, OSError) as e:
        sys.exit(f"eval_lm: {args.state}: {e}")
    if model.vocab_size != len(pd.vocab(args.level)):
        sys.exit(f"eval_lm: {args.state}: vocabulary of {model.vocab_size}, the {args.level} level has "
                 f"{len(pd.vocab(args.level))}")
    r = score(model, args.level, args.split, args.batch)
    if args.json:
        print(json.dumps(r))
        return
    figure = f"{r['bpc']:.6f} bpc" if args.level == "char" else f"{r['perplexity']:.4f} perplexity"
    rows = "" if r["rows"] == 1 else f" in {r['rows']} rows"
    print(f"{figure} (ptb {args.level} {args.split}: {r['windows']} windows of {r['window']} scoring "
          f"{r['scored_per_window']}{rows}, {r['scored_tokens']} tokens, ce {r['ce_nats']:.6f} nats; "
          f"{r['family']}, {r['parameters']} parameters; {r['seconds']} s)")

if __name__ == "__main__":
    main()
