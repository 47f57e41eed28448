#!/usr/bin/python3
"""Train a Seq-U-Net or TCN language model on Penn Treebank with the official recipe.

The recipe (SPEC-symbolic.md, "Training recipe"; char_cnn / word_cnn train.py): the training
stream batchify'd into 16 rows; one optimiser step per window position i (0, S, 2S, ... with
i + W < row length, shuffled every epoch): inputs rows[:, i:i+W], loss = mean cross-entropy
of the last S predictions only (W/S: the Seq-U-Net's own 397/325 for characters, 117/45 for
words; TCN 400/320, 117/45); Adam (lr 1e-3 unless given), gradient-norm clipping at 0.4;
dropout in the conv stack and on the embeddings (char 0.1/0.1, word 0.5/0.25); up to 100
epochs, validation in the official windowed protocol after every one; after epoch 10 the
learning rate halves when an epoch's validation loss exceeds (char) / reaches (word) the
maximum of the previous 5 epochs'; the best-validation weights are the result. A run whose
training loss is NaN or > 100 or validation loss NaN or > 1000 has failed (as the official
search counts it). One CPU thread by default: the machine is shared.

Beyond the official script, because CPU budgets are short: the validation loss is also
measured every --eval-every steps (and those measurements can make the best weights too; the
learning-rate rule only looks at epoch ends), and a run can stop and resume anywhere.

Files, in --out (models/training/ptb/):
  NAME.pt               everything to resume (model, Adam, epoch, the shuffled order and the
                        position inside it, best weights and validation loss, lr, history, RNG
                        states, wall seconds used); written atomically every --save-minutes, at
                        each epoch end, when the budget runs out and on SIGINT/SIGTERM (which
                        save after the current step and exit)
  NAME.log.csv          one row per validation: step, fractional epoch, kind (step/epoch), mean
                        training BPC since the previous row, validation BPC, lr, wall seconds
  NAME.best.state.pt    the best-validation weights as a plain state dict, whenever they improve
  NAME.result.json      at the end of every invocation: configuration, parameters, budget used,
                        epochs (fractional), valid and test BPC (perplexity for words) of the best
                        weights in the official windowed protocol
Running the same command again resumes; --max-minutes is a budget of cumulative wall time
(training and its validations) across resumes. A run whose NAME.pt was lost (it is too big for
git) continues from its bundled weights with --init-from: the log and the result count steps,
epochs and minutes on from the earlier NAME.result.json, and record the restart; the budget
then counts from the restart, and so does --epochs (the learning-rate halving rule looks only at
epochs after the restart).

    nice -n 10 python3 tools/train_lm.py --family sequnet --max-minutes 45
"""
import argparse
import copy
import csv
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lm_models as lm  # noqa: E402
import ptb_data as pd  # noqa: E402

BATCH_ROWS = 16  # the official batch size; also the word task's evaluation rows


def atomic_save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def atomic_json(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def halve_lr(level, epoch, valid, previous):
    """the official rules, previous = the earlier epochs' validation losses, oldest first:
    char: after epoch 10, halve when valid > max of the previous 5; word: when valid >= it."""
    if epoch <= 10 or not previous:
        return False
    m = max(previous[-5:])
    return valid > m if level == "char" else valid >= m


def figure(level, ce):
    """BPC for characters, perplexity for words."""
    return lm.bpc(ce) if level == "char" else math.exp(min(ce, 700.0))


def eval_rows(level, split):
    s = pd.stream(level, split)
    return s[None] if level == "char" else pd.batchify(s, BATCH_ROWS)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", choices=["sequnet", "tcn"], required=True)
    ap.add_argument("--level", choices=pd.LEVELS, default="char")
    ap.add_argument("--name", help="run name (default LEVEL-FAMILY)")
    ap.add_argument("--emsize", type=int, help="embedding size (default: the paper's, char 100, word 600)")
    ap.add_argument("--nhid", type=int, help="hidden channels (default: the paper's, TCN 600, Seq-U-Net 390)")
    ap.add_argument("--levels", type=int, help="default 4")
    ap.add_argument("--kernel-size", type=int, help="default 3")
    ap.add_argument("--dropout", type=float, help="default: char 0.1, word 0.5")
    ap.add_argument("--emb-dropout", type=float, help="default: char 0.1, word 0.25")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--clip", type=float, default=0.4, help="gradient-norm clipping; <= 0 = off")
    ap.add_argument("--batch", type=int, default=BATCH_ROWS, help="rows of batchify(train) = batch size")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--max-minutes", type=float, default=math.inf,
                    help="cumulative wall-time budget across resumes")
    ap.add_argument("--max-steps", type=int, default=0,
                    help="stop after this many optimiser steps of this invocation (for tests; 0 = no limit)")
    ap.add_argument("--eval-every", type=int, default=250,
                    help="also validate every this many steps (0 = at epoch ends only)")
    ap.add_argument("--save-minutes", type=float, default=10.0, help="save the resume checkpoint this often")
    ap.add_argument("--no-test", action="store_true", help="leave the test figure out of NAME.result.json")
    ap.add_argument("--eval-batch", type=int, default=32, help="windows per forward pass in evaluation")
    ap.add_argument("--seed", type=int, default=1111)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join("models", "training", "ptb"))
    ap.add_argument("--init-from", metavar="WEIGHTS.safetensors",
                    help="start a new run (no NAME.pt yet) from these weights, e.g. a bundled model whose resume "
                         "file was lost; its NAME.result.json, if present, supplies the steps, epochs and minutes "
                         "already spent, which the log and the result then count on from (Adam restarts)")
    args = ap.parse_args(argv)
    paper = lm.PAPER_CONFIGS[(args.level, args.family)]
    for key in ("emsize", "nhid", "levels", "kernel_size"):
        if getattr(args, key) is None:
            setattr(args, key, paper[key])
    drop, emb_drop = lm.PAPER_DROPOUT[args.level]
    args.dropout = drop if args.dropout is None else args.dropout
    args.emb_dropout = emb_drop if args.emb_dropout is None else args.emb_dropout
    args.name = args.name or f"{args.level}-{args.family}"
    return args


def read_safetensors(path):
    """name -> float32 tensor; the format is an 8-byte header length, a JSON header, raw data."""
    with open(path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}; --init-from reads fp32 files only")
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(blob, np.float32, (b - a) // 4, 8 + n + a).copy()
                                     .reshape(info["shape"]))
    return out


def build(hyper, vocab_size):
    return lm.LMModel(hyper["family"], hyper["level"], vocab_size, hyper["emsize"], hyper["nhid"],
                      hyper["levels"], hyper["kernel_size"], hyper["dropout"], hyper["emb_dropout"])


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, args.name)
    ck_path, log_path = base + ".pt", base + ".log.csv"
    best_path, result_path = base + ".best.state.pt", base + ".result.json"

    hyper = dict(family=args.family, level=args.level, emsize=args.emsize, nhid=args.nhid, levels=args.levels,
                 kernel_size=args.kernel_size, dropout=args.dropout, emb_dropout=args.emb_dropout, lr=args.lr,
                 clip=args.clip, batch=args.batch, seed=args.seed)
    ck = torch.load(ck_path, map_location="cpu") if os.path.exists(ck_path) else None
    if ck is not None and ck["hyper"] != hyper:
        # the checkpoint wins: a resumed run must not change its model or recipe half way
        print(f"{args.name}: resuming with the checkpoint's settings {ck['hyper']} (flags: {hyper})", flush=True)
        hyper = ck["hyper"]
    level = hyper["level"]
    V = len(pd.vocab(level))
    train_rows = torch.from_numpy(pd.batchify(pd.stream(level, "train"), hyper["batch"]).copy())
    valid_rows = eval_rows(level, "valid")

    torch.manual_seed(hyper["seed"])
    model = build(hyper, V)
    W, S = model.window, model.scored
    starts = lm.window_starts(train_rows.shape[1], W, S, "char")  # training: i + W < row length
    opt = torch.optim.Adam(model.parameters(), lr=hyper["lr"])
    rng = np.random.default_rng(hyper["seed"])
    st = dict(epoch=0, order=None, pos=0, step=0, train_sum=0.0, train_n=0, log_sum=0.0, log_n=0,
              best_valid=math.inf, best_epoch=0.0, best_step=0, best_state=None, lr=hyper["lr"], history=[],
              evals=[], elapsed=0.0)
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        st = ck["state"]
        torch.set_rng_state(ck["torch_rng"])
        rng.bit_generator.state = ck["numpy_rng"]
        print(f"{args.name}: resumed {ck_path} at epoch {st['epoch']} + {st['pos']} steps (step {st['step']}), "
              f"{st['elapsed'] / 60:.1f} min used, lr {st['lr']:.3g}, best valid "
              f"{figure(level, st['best_valid']):.4f}", flush=True)
    elif args.init_from:
        weights = read_safetensors(args.init_from)
        own = model.state_dict()
        for k in own:  # a TCN's net.0 / net.4 are its conv1 / conv2 again; files store them once
            alias = k.replace(".net.0.", ".conv1.").replace(".net.4.", ".conv2.")
            if k not in weights and alias in weights:
                weights[k] = weights[alias]
        missing = sorted(set(own) - set(weights))
        if missing:
            raise SystemExit(f"{args.init_from}: no weights for {', '.join(missing[:4])}")
        model.load_state_dict({k: weights[k] for k in own})
        prior = dict(file=args.init_from, steps=0, epochs=0.0, wall_seconds=0.0)
        if os.path.exists(result_path):
            with open(result_path) as f:
                r = json.load(f)
            prior.update(steps=r["steps"], epochs=r["epochs"], wall_seconds=r["wall_minutes"] * 60)
            # the loaded weights are the best so far (a fresh Adam's first steps may be worse), at the
            # earlier run's learning rate
            st.update(best_valid=r["valid_ce"], best_state=copy.deepcopy(model.state_dict()),
                      best_step=r["steps"], best_epoch=r["epochs"], lr=r.get("final_lr", st["lr"]))
        st["prior"] = prior
        print(f"{args.name}: new run from {args.init_from} (before it: {prior['steps']} steps, "
              f"{prior['epochs']} epochs, {prior['wall_seconds'] / 60:.1f} min; Adam starts afresh)", flush=True)
    prior = st.get("prior", dict(steps=0, epochs=0.0, wall_seconds=0.0))
    for g in opt.param_groups:
        g["lr"] = st["lr"]
    params = lm.count_params(model)
    unit = "bpc" if level == "char" else "ppl"
    print(f"{args.name}: {hyper} params={params} W={W} S={S} train rows {tuple(train_rows.shape)}, "
          f"{len(starts)} steps per epoch; valid {valid_rows.shape[1]} tokens x {valid_rows.shape[0]}", flush=True)

    def frac_epoch():
        n = len(st["order"]) if st["order"] is not None else len(starts)
        return prior["epochs"] + st["epoch"] + (st["pos"] / n if st["order"] is not None else 0.0)

    def total_step():
        return prior["steps"] + st["step"]

    def total_wall():
        return prior["wall_seconds"] + st["elapsed"]

    def checkpoint():
        atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": st, "hyper": hyper,
                     "torch_rng": torch.get_rng_state(), "numpy_rng": rng.bit_generator.state}, ck_path)

    def finish(reason):
        """best weights -> valid and test figures -> NAME.result.json (also when resumed after the end)."""
        if st["best_state"] is None:
            print(f"{args.name}: no validation yet; nothing to report", flush=True)
            return
        best = build(hyper, V)
        best.load_state_dict(st["best_state"])
        t = time.time()
        test_ce = None if args.no_test else lm.evaluate(best, eval_rows(level, "test"), batch=args.eval_batch)[0]
        result = dict(hyper, name=args.name, parameters=params, window=W, scored=S,
                      vocab_size=V, steps=total_step(), steps_per_epoch=len(starts),
                      epochs=round(frac_epoch(), 4), completed_epochs=st["epoch"], max_epochs=args.epochs,
                      best_epoch=round(st["best_epoch"], 4), best_step=st["best_step"], final_lr=st["lr"],
                      wall_minutes=round(total_wall() / 60, 2),
                      restarted_from=({k: prior[k] for k in ("file", "steps", "epochs", "wall_seconds")}
                                      if "file" in prior else None),
                      budget_minutes=None if math.isinf(args.max_minutes) else args.max_minutes,
                      stopped=reason, threads=args.threads, torch=torch.__version__,
                      protocol=("official windows: W inputs from 0, S, 2S, ..., last S scored; char = the split as one "
                                "stream, word = batchify(split, 16)"),
                      valid_ce=st["best_valid"], test_ce=test_ce, test_eval_seconds=round(time.time() - t, 1))
        if level == "char":
            result.update(valid_bpc=lm.bpc(st["best_valid"]), test_bpc=None if test_ce is None else lm.bpc(test_ce))
        else:
            result.update(valid_ppl=math.exp(st["best_valid"]),
                          test_ppl=None if test_ce is None else math.exp(test_ce))
        atomic_json(result, result_path)
        test_txt = "" if test_ce is None else f" test {figure(level, test_ce):.4f}"
        print(f"{args.name}: best (epoch {st['best_epoch']:.3f}, step {st['best_step']}) valid "
              f"{figure(level, st['best_valid']):.4f}{test_txt} {unit} ({reason}; {frac_epoch():.3f} epochs, "
              f"{total_wall() / 60:.1f} min) -> {result_path}", flush=True)

    if st["epoch"] >= args.epochs or st["elapsed"] >= args.max_minutes * 60 or st.get("failed"):
        print(f"{args.name}: done already ({frac_epoch():.3f} epochs, {st['elapsed'] / 60:.1f} min)", flush=True)
        finish("resumed after the end" if not st.get("failed") else "failed")
        return

    stop = {"signal": None}

    def on_signal(signum, frame):
        stop["signal"] = signum
        print(f"{args.name}: signal {signum}: saving after this step and exiting", flush=True)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    new_log = not os.path.exists(log_path)
    logf = open(log_path, "a", newline="")
    log = csv.writer(logf)
    if new_log:
        log.writerow(["step", "epoch", "kind", f"train_{unit}", f"valid_{unit}", "lr", "wall_seconds", "best"])
        logf.flush()

    t_start = time.time() - st["elapsed"]  # time.time() - t_start = cumulative wall seconds
    last_save = time.time()

    def validate(kind):
        """validation loss now; log row; best weights. Returns the loss."""
        v = lm.evaluate(model, valid_rows, batch=args.eval_batch)[0]
        st["elapsed"] = time.time() - t_start
        train_fig = figure(level, st["log_sum"] / st["log_n"]) if st["log_n"] else float("nan")
        improved = v < st["best_valid"]
        if improved:
            st.update(best_valid=v, best_epoch=frac_epoch(), best_step=total_step(),
                      best_state=copy.deepcopy(model.state_dict()))
            atomic_save(st["best_state"], best_path)
        st["evals"].append(dict(step=st["step"], epoch=frac_epoch(), kind=kind, valid_ce=v, lr=st["lr"],
                                wall_seconds=st["elapsed"]))
        log.writerow([total_step(), f"{frac_epoch():.4f}", kind, f"{train_fig:.5f}", f"{figure(level, v):.5f}",
                      f"{st['lr']:.6g}", f"{total_wall():.1f}", int(improved)])
        logf.flush()
        st.update(log_sum=0.0, log_n=0)
        print(f"{args.name}: {kind} validation at step {st['step']} (epoch {frac_epoch():.3f}): train {train_fig:.4f} "
              f"valid {figure(level, v):.4f} {unit}, lr {st['lr']:.3g}, {st['elapsed'] / 60:.1f} min"
              f"{' *' if improved else ''}", flush=True)
        return v

    reason = "epochs"
    steps = 0
    t_report, n_report, sum_report = time.time(), 0, 0.0
    model.train()
    while st["epoch"] < args.epochs:
        if st["order"] is None:
            st["order"] = rng.permutation(len(starts)).tolist()
            st.update(pos=0, train_sum=0.0, train_n=0)
        while st["pos"] < len(st["order"]):
            i = starts[st["order"][st["pos"]]]
            x = train_rows[:, i:i + W]
            y = train_rows[:, i + W - S + 1:i + W + 1]
            z = model.scored_logits(x)
            loss = F.cross_entropy(z.reshape(-1, V), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            lv = loss.item()
            if not math.isfinite(lv) or lv > 100:
                st["failed"] = True
                reason = f"failed (training loss {lv})"
                break
            if hyper["clip"] > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), hyper["clip"])
            opt.step()
            st["pos"] += 1
            st["step"] += 1
            st["train_sum"] += lv
            st["train_n"] += 1
            st["log_sum"] += lv
            st["log_n"] += 1
            st["elapsed"] = time.time() - t_start
            steps += 1
            n_report += 1
            sum_report += lv
            if n_report == 50:
                print(f"{args.name}: step {st['step']} epoch {frac_epoch():.3f} train {figure(level, sum_report / n_report):.4f} "
                      f"{unit} {(time.time() - t_report) / n_report:.2f} s/step, {st['elapsed'] / 60:.1f} min", flush=True)
                t_report, n_report, sum_report = time.time(), 0, 0.0
            if args.eval_every and st["step"] % args.eval_every == 0 and st["pos"] < len(st["order"]):
                v = validate("step")
                if not math.isfinite(v) or v > 1000:
                    st["failed"] = True
                    reason = "failed (valid loss NaN or > 1000)"
                    break
            if time.time() - last_save >= args.save_minutes * 60:
                checkpoint()
                last_save = time.time()
            if (stop["signal"] is not None or st["elapsed"] >= args.max_minutes * 60
                    or steps == args.max_steps):
                break
        if st.get("failed"):
            checkpoint()
            break
        if st["pos"] < len(st["order"]):  # interrupted inside the epoch: keep the position
            reason = ("signal" if stop["signal"] is not None else
                      "max-steps" if steps == args.max_steps else "max-minutes")
            if reason == "max-minutes" and st["log_n"]:
                validate("stop")  # so that the best weights include the last steps of the budget
            checkpoint()
            break
        previous = [h["valid_ce"] for h in st["history"]]
        st["epoch"] += 1
        st["order"] = None
        ep = st["epoch"]
        v = validate("epoch")
        st["history"].append(dict(epoch=ep, train_ce=st["train_sum"] / max(st["train_n"], 1), valid_ce=v,
                                  lr=st["lr"], wall_seconds=st["elapsed"]))
        if halve_lr(level, ep, v, previous):
            st["lr"] /= 2
            for g in opt.param_groups:
                g["lr"] = st["lr"]
            print(f"{args.name}: epoch {ep} valid above the previous 5 epochs' maximum: lr -> {st['lr']:.3g}",
                  flush=True)
        if not math.isfinite(v) or v > 1000:
            st["failed"] = True
            reason = "failed (valid loss NaN or > 1000)"
        checkpoint()
        last_save = time.time()
        if st.get("failed"):
            break
        if stop["signal"] is not None:
            reason = "signal"
            break
        if st["elapsed"] >= args.max_minutes * 60:
            reason = "max-minutes"
            break
        if steps == args.max_steps:
            reason = "max-steps"
            break
    logf.close()
    if reason != "signal":
        finish(reason)


if __name__ == "__main__":
    main()
