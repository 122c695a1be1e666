"""Time to reach 99.5% MNIST test accuracy: our fast recipe against the plain reference, side by side.

The reference (issue 2) is a 150k-parameter CNN with batch norm, data held as tensors,
batched affine augmentation and AdamW + OneCycle. Both recipes run in the same process,
alternating, on the same device; the figure that matters is the ratio. Time counts
training steps only (the per-epoch test evaluation that checks the target is excluded).

    python benchmarks/train_speed.py [--seeds 3] [--device cpu|cuda] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
from dataclasses import replace
from datetime import date

import torch

from digitreader.training.recipes import recipe_for
from digitreader.training.train import Trainer

TARGET = 0.995


def run_once(recipe: str, seed: int, args: argparse.Namespace, out: str) -> dict:
    cfg = replace(
        recipe_for(recipe),
        seed=seed,
        target_acc=TARGET,
        data_dir=args.data_dir,
        device=args.device,
        threads=args.threads,
        out_dir=f"{out}/{recipe}-{seed}",
    )
    result = Trainer(cfg, show_progress=False).run()
    row = {
        "recipe": recipe,
        "model": cfg.model,
        "params": result.params,
        "seed": seed,
        "epochs": len(result.history),
        "final_acc": result.test_accuracy,
        "seconds_to_target": result.seconds_to_target,
        "train_seconds": result.train_seconds,
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipes", default="reference,swift")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    recipes = args.recipes.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for seed in range(args.seeds):
            for recipe in recipes:  # alternate, so load on a shared machine hits both alike
                rows.append(run_once(recipe, seed, args, out))
    device = (
        "cuda: " + torch.cuda.get_device_name()
        if torch.cuda.is_available() and args.device != "cpu"
        else (f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    )
    print(f"\n{date.today()}  {device}  torch {torch.__version__}  target {TARGET:.1%}")
    print("| recipe | model | params | reached 99.5% | median time to 99.5% | epochs | final accuracy |")
    print("|---|---|---|---|---|---|---|")
    medians = {}
    for recipe in recipes:
        mine = [r for r in rows if r["recipe"] == recipe]
        times = [r["seconds_to_target"] for r in mine if r["seconds_to_target"] is not None]
        medians[recipe] = statistics.median(times) if len(times) == len(mine) else None
        shown = f"{medians[recipe]:.1f} s" if medians[recipe] is not None else "not reached in every run"
        accs = ", ".join(f"{r['final_acc']:.2%}" for r in mine)
        print(
            f"| {recipe} | {mine[0]['model']} | {mine[0]['params']:,} | {len(times)}/{len(mine)} | {shown} | "
            f"{', '.join(str(r['epochs']) for r in mine)} | {accs} |"
        )
    if len(recipes) == 2 and all(medians.values()):
        print(f"\nspeed-up of {recipes[1]} over {recipes[0]}: {medians[recipes[0]] / medians[recipes[1]]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
