#!/usr/bin/python3
"""Writes the fixtures the SequnetCheckpoint tests read (Tests/Fixtures/checkpoints/).

Run from the repository root with a Python that has torch:
    /usr/bin/python3 tools/make_checkpoint_fixtures.py

Everything here is derived from the golden fixtures in Tests/Fixtures, so the
Swift reader is checked against what torch itself reads:

- wavenet_l4_b2_r16_d16_s32.legacy.pt: the golden checkpoint (with optimizer
  state) re-saved in the pre-1.6 "legacy" format.
- wavenet_l4_b2_r16_d16_s32.safetensors: its model_state_dict, written by hand
  (struct + json, no safetensors library) with a little metadata.
- strided.pt: a tiny zip checkpoint whose tensors are views (storage offset,
  transposed strides) of larger storages, to test gathering.
- expected.json: names, shapes and sample values torch reads from all of them.
- Malformed and malicious files the reader must refuse: a pickle calling
  os.system (standalone and inside a torch zip), a zip with a deflated entry,
  zips with entries outside one top folder or with '..', float64 weights.
"""

import io
import json
import os
import struct
import zipfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "Tests", "Fixtures")
OUT = os.path.join(GOLDEN, "checkpoints")
GOLDEN_NAMES = ["sequnet_c16_l4_d1_k5", "sequnet_c24_l5_d2_k3", "wavenet_l4_b2_r16_d16_s32"]
LEGACY_SOURCE = "wavenet_l4_b2_r16_d16_s32"
# The malicious pickle would create this file if anything executed it.
PWNED_MARKER = "/tmp/sequnet-checkpoint-pwned"


def sample_indices(n):
    """A few flat indices spread over a tensor of n elements."""
    return sorted({0, n // 3, n // 2, n - 1})


def describe(state_dict):
    """Names in order, shapes and a few (flat index, value) samples per tensor."""
    out = []
    for name, t in state_dict.items():
        flat = t.contiguous().reshape(-1)
        out.append({
            "name": name,
            "shape": list(t.shape),
            "samples": [[i, float(flat[i].item())] for i in sample_indices(flat.numel())],
        })
    return out


def write_safetensors(path, state_dict, metadata):
    """The safetensors layout by hand: u64 LE header size, JSON header padded
    with spaces to a multiple of 8, then the tensors back to back."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, t in state_dict.items():
        data = struct.pack("<%df" % t.numel(), *t.contiguous().reshape(-1).tolist())
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def malicious_pickle():
    """Protocol 2 pickle of os.system('touch MARKER'), written opcode by opcode
    (pickle.dumps would name it posix.system)."""
    cmd = ("touch " + PWNED_MARKER).encode()
    return (b"\x80\x02" + b"cos\nsystem\n" + b"q\x00"
            + b"X" + struct.pack("<I", len(cmd)) + cmd
            + b"\x85" + b"R" + b"q\x01" + b".")


def write_zip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in entries:
            z.writestr(name, data)


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {"pwned_marker": PWNED_MARKER, "golden": {}}

    for name in GOLDEN_NAMES:
        ck = torch.load(os.path.join(GOLDEN, name + ".pt"), map_location="cpu")
        expected["golden"][name] = describe(ck["model_state_dict"])

    ck = torch.load(os.path.join(GOLDEN, LEGACY_SOURCE + ".pt"), map_location="cpu")
    torch.save(ck, os.path.join(OUT, LEGACY_SOURCE + ".legacy.pt"),
               _use_new_zipfile_serialization=False)
    metadata = {"format": "pt", "source": LEGACY_SOURCE + ".pt"}
    write_safetensors(os.path.join(OUT, LEGACY_SOURCE + ".safetensors"),
                      ck["model_state_dict"], metadata)
    expected["safetensors_metadata"] = metadata

    base = torch.arange(42, dtype=torch.float32).reshape(6, 7) * 0.5 - 3.0
    strided = {
        "transposed": base[1:5, 2:5].t(),     # offset 9, strides (1, 7)
        "column": base[:, 3],                 # offset 3, stride 7
        "scalar": base[2, 6],                 # 0-dim view, offset 20
        "contiguous": torch.linspace(-1, 1, 5),
    }
    torch.save(strided, os.path.join(OUT, "strided.pt"))
    expected["strided"] = [{"name": k, "shape": list(v.shape),
                            "values": v.contiguous().reshape(-1).tolist()}
                           for k, v in strided.items()]

    evil = malicious_pickle()
    with open(os.path.join(OUT, "malicious.pkl"), "wb") as f:
        f.write(evil)
    write_zip(os.path.join(OUT, "malicious.pt"),
              [("archive/data.pkl", evil), ("archive/version", b"3\n")])

    # A real tiny torch zip, re-packed with its entries deflated.
    buf = io.BytesIO()
    torch.save({"w": torch.ones(4)}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        entries = [(i.filename, z.read(i)) for i in z.infolist()]
    write_zip(os.path.join(OUT, "compressed.pt"), entries, zipfile.ZIP_DEFLATED)
    top = entries[0][0].split("/")[0]
    write_zip(os.path.join(OUT, "two_roots.pt"),
              [(n if not n.endswith("data.pkl") else "other/data.pkl", d) for n, d in entries])
    write_zip(os.path.join(OUT, "dotdot.pt"),
              [(n.replace(top + "/", top + "/../", 1) if "/data/" in n else n, d)
               for n, d in entries])

    # Float64 weights: a storage type the reader must refuse by name.
    torch.save({"double": torch.ones(3, dtype=torch.float64)}, os.path.join(OUT, "float64.pt"))

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
