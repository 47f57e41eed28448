#!/usr/bin/python3
"""Train a Seq-U-Net or TCN on JSB Chorales or Nottingham with the official poly_music recipe.

The recipe (SPEC-symbolic.md, "Training recipe"): Adam; one whole sequence per optimiser step
(inputs seq[:-1], targets seq[1:]); the training sequences shuffled every epoch; loss =
BCE-with-logits summed over keys and frames, divided by the sequence's frames; up to 100
epochs, the validation NLL per frame (frame-weighted over all sequences) after every one; the
weights with the best validation NLL are the result; after epoch 10 the learning rate is
halved whenever an epoch's validation NLL exceeds the maximum of the previous 10; gradient-norm
clipping only when --clip is given. Dropout (training only) is the paper's per data set:
JSB 0.5, Nottingham 0.2. One CPU thread: the machine is shared and the models are small.

Files, in --out (models/training/music/):
  NAME.pt               everything to resume (model, optimizer, completed epochs, the position
                        inside the current epoch, best weights and validation NLL, lr, history,
                        RNG states, wall seconds used); written atomically after every epoch and
                        on SIGINT/SIGTERM (which save after the current step and exit)
  NAME.log.csv          one row per epoch: train and valid NLL per frame, lr, wall seconds
  NAME.best.state.pt    the best-validation weights as a plain state dict, whenever they improve
  NAME.result.json      at the end: hyper-parameters, epochs, best epoch, wall minutes, valid
                        and test NLL per frame of the best weights, parameter count
Running the same command again resumes; --max-minutes is a budget of cumulative wall time
across resumes (a run that hits it mid-epoch saves its position and can be given more).

    nice -n 10 python3 tools/train_music.py --data jsb --family sequnet
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import music_data as md  # noqa: E402
import music_models as mm  # noqa: E402


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


def halve_lr(epoch, valid, previous):
    """the official music rule: after epoch 10, halve when this epoch's validation NLL exceeds
    the maximum of the previous 10 epochs' (previous = their values, oldest first)."""
    return epoch > 10 and len(previous) > 0 and valid > max(previous[-10:])


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", choices=md.DATASETS, required=True)
    ap.add_argument("--family", choices=["sequnet", "tcn"], required=True)
    ap.add_argument("--name", help="run name (default DATA-FAMILY)")
    ap.add_argument("--levels", type=int, help="default: the paper's (JSB 2, Nottingham 4)")
    ap.add_argument("--channels", type=int, help="default: the paper's (JSB 175/220, Nottingham 150/215)")
    ap.add_argument("--kernel-size", type=int, help="default: the paper's (JSB 3, Nottingham 5)")
    ap.add_argument("--dropout", type=float, help="default: the paper's (JSB 0.5, Nottingham 0.2)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--clip", type=float, default=0.0, help="gradient-norm clipping; 0 = off (default)")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--max-minutes", type=float, default=math.inf,
                    help="cumulative wall-time budget across resumes")
    ap.add_argument("--max-steps", type=int, default=0,
                    help="stop after this many optimiser steps of this invocation, saving the position "
                         "inside the epoch (for tests; 0 = no limit)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join("models", "training", "music"))
    args = ap.parse_args(argv)
    paper = mm.PAPER_CONFIGS[(args.data, args.family)]
    for key in ("levels", "channels", "kernel_size"):
        if getattr(args, key) is None:
            setattr(args, key, paper[key])
    if args.dropout is None:
        args.dropout = mm.PAPER_DROPOUT[args.data]
    args.name = args.name or f"{args.data}-{args.family}"
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, args.name)
    ck_path, log_path = base + ".pt", base + ".log.csv"
    best_path, result_path = base + ".best.state.pt", base + ".result.json"

    train = md.load_split(args.data, "train")
    valid = md.load_split(args.data, "valid")
    train_t = [torch.from_numpy(s).t().contiguous()[None] for s in train]  # [1, 88, T+1] each

    torch.manual_seed(args.seed)
    hyper = dict(data=args.data, family=args.family, levels=args.levels, channels=args.channels,
                 kernel_size=args.kernel_size, dropout=args.dropout, lr=args.lr, clip=args.clip,
                 seed=args.seed)
    ck = torch.load(ck_path, map_location="cpu") if os.path.exists(ck_path) else None
    if ck is not None and ck["hyper"] != hyper:
        # the checkpoint wins: a resumed run must not change its model or recipe half way
        print(f"{args.name}: resuming with the checkpoint's settings {ck['hyper']} (flags: {hyper})", flush=True)
        hyper = ck["hyper"]
    model = mm.MusicModel(hyper["family"], hyper["levels"], hyper["channels"], hyper["kernel_size"],
                          hyper["dropout"])
    opt = torch.optim.Adam(model.parameters(), lr=hyper["lr"])
    rng = np.random.default_rng(hyper["seed"])
    st = dict(epoch=0, order=None, pos=0, train_sum=0.0, train_frames=0, best_valid=math.inf, best_epoch=0,
              best_state=None, lr=hyper["lr"], history=[], elapsed=0.0)
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        st = ck["state"]
        torch.set_rng_state(ck["torch_rng"])
        rng.bit_generator.state = ck["numpy_rng"]
        print(f"{args.name}: resumed {ck_path} after epoch {st['epoch']} (+{st['pos']} steps), "
              f"{st['elapsed'] / 60:.1f} min used, lr {st['lr']:.3g}, best valid {st['best_valid']:.4f}", flush=True)
    for g in opt.param_groups:
        g["lr"] = st["lr"]
    params = mm.count_params(model)
    print(f"{args.name}: {hyper} params={params} train={len(train)} valid={len(valid)} sequences", flush=True)

    def checkpoint():
        atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": st, "hyper": hyper,
                     "torch_rng": torch.get_rng_state(), "numpy_rng": rng.bit_generator.state}, ck_path)

    def finish(reason):
        """best weights -> test NLL -> NAME.result.json (also when resumed after the end)."""
        if st["best_state"] is None:
            print(f"{args.name}: no finished epoch yet; nothing to report", flush=True)
            return
        best = mm.MusicModel(hyper["family"], hyper["levels"], hyper["channels"], hyper["kernel_size"])
        best.load_state_dict(st["best_state"])
        test_nll, test_frames = mm.evaluate(best, md.load_split(hyper["data"], "test"))
        result = dict(hyper, name=args.name, parameters=params, final_lr=st["lr"], epochs_run=st["epoch"],
                      max_epochs=args.epochs, best_epoch=st["best_epoch"], wall_minutes=round(st["elapsed"] / 60, 2),
                      valid_nll=st["best_valid"], test_nll=test_nll, test_frames=test_frames,
                      loss="BCE-with-logits summed over keys and frames / frames, one sequence per step",
                      nll="sum over all predicted frames of the split / number of predicted frames (nats)",
                      stopped=reason, threads=args.threads, torch=torch.__version__)
        atomic_json(result, result_path)
        print(f"{args.name}: best epoch {st['best_epoch']} valid {st['best_valid']:.4f} test {test_nll:.4f} "
              f"({reason}; {st['epoch']} epochs, {st['elapsed'] / 60:.1f} min) -> {result_path}", flush=True)

    if st["epoch"] >= args.epochs or st["elapsed"] >= args.max_minutes * 60 or st.get("failed"):
        print(f"{args.name}: done already ({st['epoch']} epochs, {st['elapsed'] / 60:.1f} min)", flush=True)
        finish("resumed after the end")
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
        log.writerow(["epoch", "train_nll", "valid_nll", "lr", "wall_seconds", "epoch_seconds"])
        logf.flush()

    t_start = time.time() - st["elapsed"]  # time.time() - t_start = cumulative wall seconds
    reason = "epochs"
    steps = 0
    model.train()
    while st["epoch"] < args.epochs:
        t_epoch = time.time()
        if st["order"] is None:
            st["order"] = rng.permutation(len(train)).tolist()
            st.update(pos=0, train_sum=0.0, train_frames=0)
        while st["pos"] < len(st["order"]):
            s = train_t[st["order"][st["pos"]]]
            frames = s.shape[-1] - 1
            loss_sum = mm.nll_sum(model(s[..., :-1]), s[..., 1:])
            opt.zero_grad(set_to_none=True)
            (loss_sum / frames).backward()
            if hyper["clip"] > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), hyper["clip"])
            opt.step()
            st["pos"] += 1
            st["train_sum"] += loss_sum.item()
            st["train_frames"] += frames
            st["elapsed"] = time.time() - t_start
            steps += 1
            if (stop["signal"] is not None or st["elapsed"] >= args.max_minutes * 60
                    or steps == args.max_steps):
                break
        if st["pos"] < len(st["order"]):  # interrupted inside the epoch: keep the position
            reason = ("signal" if stop["signal"] is not None else
                      "max-steps" if steps == args.max_steps else "max-minutes")
            checkpoint()
            break
        v = mm.evaluate(model, valid)[0]
        st["epoch"] += 1
        ep = st["epoch"]
        train_nll = st["train_sum"] / st["train_frames"]
        previous = [h["valid_nll"] for h in st["history"][-10:]]
        st["elapsed"] = time.time() - t_start
        st["history"].append(dict(epoch=ep, train_nll=train_nll, valid_nll=v, lr=st["lr"],
                                  wall_seconds=st["elapsed"]))
        log.writerow([ep, f"{train_nll:.5f}", f"{v:.5f}", f"{st['lr']:.6g}", f"{st['elapsed']:.1f}",
                      f"{time.time() - t_epoch:.1f}"])
        logf.flush()
        improved = v < st["best_valid"]
        print(f"{args.name}: epoch {ep} train {train_nll:.4f} valid {v:.4f} lr {st['lr']:.3g} "
              f"{time.time() - t_epoch:.1f}s wall {st['elapsed'] / 60:.1f} min{' *' if improved else ''}", flush=True)
        if improved:
            st.update(best_valid=v, best_epoch=ep, best_state=copy.deepcopy(model.state_dict()))
            atomic_save(st["best_state"], best_path)
        if halve_lr(ep, v, previous):
            st["lr"] /= 2
            for g in opt.param_groups:
                g["lr"] = st["lr"]
            print(f"{args.name}: valid {v:.4f} > max of the previous 10 ({max(previous):.4f}): lr -> {st['lr']:.3g}",
                  flush=True)
        st["order"] = None
        failed = not math.isfinite(v) or v > 1000
        if failed:
            st["failed"] = True  # the official search counts such a run as failed
        checkpoint()
        if failed:
            reason = "failed (valid NLL NaN or > 1000)"
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
