"""Train the line reader: a CTC network that reads groups of touching digits without cutting them.

It learns from strips made of MNIST *training* digits, written with random pens, scanned or
photographed and found again by the same ink finder ``read`` uses. The result
(RUN/line.onnx) is used with ``--line-model``; to bundle it, copy it and its card
(RUN/line.json) over ``assets/line/default.onnx`` and ``default.json``.

  digitreader train-line --data-dir ../shared/data/mnist --out runs/line
  digitreader train-line --init bundled --strips 120000 --seed 2 --epochs 6 --lr 5e-4   # fine-tune on new strips
  digitreader train-line --size large --strips 240000 --seed 3 --more-strips runs/line-ft/strips-120000-2.npz
  digitreader train-line --combine runs/line-ft/line.onnx --combine runs/line-large/line.onnx --out runs/line-ens
"""

from __future__ import annotations

import argparse
from pathlib import Path

from digitreader.commands.common import add_data_dir, fail, require_torch, say

SIZES = ("small", "large")  # models.line.SIZES (imported here without torch)

HELP = "train the CTC line reader for touching digits (needs the [train] extra)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strips", type=int, default=60_000, help="training strips to generate (cached in --out)")
    p.add_argument("--epochs", type=int, default=12, help="number of epochs")
    p.add_argument("--seed", type=int, default=1, help="random seed (strips, order, initial weights)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (one-cycle schedule)")
    p.add_argument(
        "--init",
        metavar="MODEL",
        help="fine-tune this line reader (a run's line.pt or line.onnx, or 'bundled') instead of starting afresh",
    )
    p.add_argument(
        "--size", choices=SIZES, help="the line reader's size (models.line; default: --init's size, else small)"
    )
    p.add_argument(
        "--combine",
        metavar="ONNX",
        action="append",
        default=[],
        help="no training: join these trained readers (two or more) into one ensemble in --out",
    )
    p.add_argument("--eval-strips", metavar="NPZ", help="with --combine: score on this strip cache's held-out strips")
    p.add_argument(
        "--more-strips",
        metavar="NPZ",
        action="append",
        default=[],
        help="another run's strip cache to train on too, less its held-out strips (repeatable)",
    )
    p.add_argument("--jobs", type=int, default=2, help="processes that generate the strips")
    add_data_dir(p)
    p.add_argument("--out", default="runs/line", help="run folder")


def run(args: argparse.Namespace) -> int:
    require_torch()
    for f in args.more_strips + ([args.eval_strips] if args.eval_strips else []):
        if not Path(f).is_file():
            return fail(f"{f} does not exist (a run's strips-N-SEED.npz)")
    from digitreader.training.line import LineConfig, combine_line, train_line

    if args.combine:
        if len(args.combine) < 2 or not all(Path(f).is_file() for f in args.combine):
            return fail("--combine needs two or more line readers' .onnx files that exist")
        try:
            card = combine_line(args.combine, args.out, args.eval_strips, log=say)
        except ValueError as e:
            return fail(str(e))
        say(f"wrote {args.out}/line.onnx: {card['config']['size']}, {card['params']} parameters")
        return 0

    cfg = LineConfig(
        strips=args.strips,
        epochs=args.epochs,
        seed=args.seed,
        lr=args.lr,
        jobs=args.jobs,
        data_dir=args.data_dir,
        out_dir=args.out,
        init=args.init,
        size=args.size,
        more=args.more_strips,
    )
    summary = train_line(cfg, log=say)
    say(f"held-out exact-string accuracy {summary['held_out_accuracy']:.2%}; wrote {args.out}/line.onnx")
    return 0
