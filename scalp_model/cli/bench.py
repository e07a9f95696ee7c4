"""``bench``: the paper's Table 1 on this machine, beside a naive reference, in one run.

Figures only, never pass/fail. The reference is what a typical repository does: full PIL decode,
plain torchvision GoogLeNet in fp32 eager mode, no map. Ours is the path the app and CLI use.
This module is the command line (arguments, table); the measurement is :mod:`scalp_model.benchmark`.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..benchmark.photos import SHARED_SCALP
from ..benchmark.run import run_bench

__all__ = ["add_arguments", "main", "run_bench"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped one)")
    parser.add_argument("--runs", type=int, default=30, help="repetitions for per-image figures (default 30)")
    parser.add_argument("--set-runs", type=int, default=5, help="repetitions of the whole image set (default 5)")
    parser.add_argument("--set-size", type=int, default=136, help="images in the set (paper: 136)")
    parser.add_argument("--images", type=Path, default=None,
                        help=f"folder of real photos for the set (default: {SHARED_SCALP} when present, else generated)")
    parser.add_argument("--no-cold-start", action="store_true", help="skip the fresh-process cold-start figure")


def _table(res: dict) -> str:
    f, s, st, mp, dc = res["forward_ms"], res["per_image_s"], res["set_s"], res["map_ms"], res["decode_12mp_ms"]
    dn = res["decode_12mp_noisy_ms"]
    lines = [
        f"Machine: {res['machine']['cpu']} ({res['machine']['cores']} cores, torch threads {res['machine']['torch_threads']})",
        f"Engine: {res['engine']}; image set: {res['image_set']}",
        f"{'figure':44s} {'ours':>10s} {'reference':>10s} {'ratio':>7s} {'paper':>8s}",
        f"{'forward pass, batch 1 (ms)':44s} {f['ours']:10.1f} {f['reference']:10.1f} {f['speedup']:6.2f}x {'':>8s}",
        f"{'one image, bytes→probability (s)':44s} {s['ours']:10.4f} {s['reference']:10.4f} {s['speedup']:6.2f}x {s['paper']:8.4f}",
        f"{str(st['n_images']) + '-image set (s)':44s} {st['ours']:10.3f} {st['reference']:10.3f} {st['speedup']:6.2f}x {st['paper']:8.2f}",
        f"{'12 MP JPEG decode + resize (ms)':44s} {dc['ours']:10.1f} {dc['reference']:10.1f} {dc['speedup']:6.2f}x"
        f"  ({dc['file_mb']:.1f} MB: {dc['image']})",
        f"{'12 MP noisy JPEG decode + resize (ms)':44s} {dn['ours']:10.1f} {dn['reference']:10.1f} {dn['speedup']:6.2f}x"
        f"  ({dn['file_mb']:.1f} MB: {dn['image']})",
        f"map: prediction {mp['prediction_without_map']:.1f} ms → with map {mp['prediction_with_map']:.1f} ms "
        f"({mp['map_overhead_pct']:+.1f}%, {mp['statistic']}); pytorch-grad-cam {mp['pytorch_grad_cam']:.1f} ms",
        f"max |p_ours − p_reference|: {res['max_prob_diff_vs_reference']['same_input']:.1e} on the same input tensors, "
        f"{res['max_prob_diff_vs_reference']['end_to_end']:.1e} end to end from file bytes",
        *_int8_lines(res),
        f"memory: {res['memory_mb']['model_loaded']:.0f} MB with model loaded",
    ]
    if "cold_start" in res:
        cs = res["cold_start"]
        lines.append(f"cold start to first result: {cs['import_load_first_result_s']:.2f} s "
                     f"(process {cs['process_wall_s']:.2f} s, {cs['rss_mb']:.0f} MB)")
    if "cuda" in res:
        lines.append(f"CUDA {res['cuda']['device']}: forward {res['cuda']['forward_ms']:.2f} ms")
    return "\n".join(lines)


def _int8_lines(res: dict) -> list[str]:
    if "int8" not in res:
        return []
    f, d = res["forward_ms"], res["max_prob_diff_vs_reference"]
    lines = [f"fp32 engine: forward {f['onnx_fp32']:.1f} ms, max |p − p_reference| {d['same_input_fp32_engine']:.1e}"]
    for source in ("recorded", "measured"):
        h = (res["int8"].get(source) or {}).get("heldout")
        if h:
            lines.append(f"int8 vs fp32 on {h['n']} held-out images ({source}): AUC {h['auc_fp32']:.4f} → {h['auc_int8']:.4f} "
                         f"(change {h['auc_change']:+.4f}), largest P change {h['max_probability_change']:.4f}, "
                         f"{h['decision_flips']} decision(s) flipped")
    return lines


def main(args: argparse.Namespace) -> int:
    res = run_bench(args)
    print(json.dumps(res, indent=2) if args.json else _table(res))
    return 0
