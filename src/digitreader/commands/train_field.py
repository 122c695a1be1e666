"""Train the field reader: a CTC network that reads the number in a whole field (a register's
margin, a cheque's amount, a row of a sheet, a form's boxes) and ignores what is around it.

It learns from fields made of MNIST *training* digits (``digitreader data fields`` shows them).
The result (RUN/field.onnx) is used with ``read --field-model``; to bundle it, copy it and its
card (RUN/field.json) over ``assets/field/default.onnx`` and ``default.json``.

  digitreader train-field --data-dir ../shared/data/mnist --fields 64000 --epochs 2 --out runs/field
  digitreader train-field --init runs/field/field.pt --kind register --fields 16000 --seed 2 --lr 5e-4 \
      --more-fields runs/field/fields-64000-1.npz --more-count 16000 --epochs 1 --out runs/field2
"""

from __future__ import annotations

import argparse

from digitreader.commands.common import add_data_dir, require_torch, say

KINDS = ("register", "cheque", "row", "boxes")  # data.fields.KINDS (imported here without OpenCV)

HELP = "train the field reader for numbers in documents (needs the [train] extra)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fields", type=int, default=64_000, help="training fields to generate (cached in --out)")
    p.add_argument("--epochs", type=int, default=4, help="number of epochs")
    p.add_argument("--seed", type=int, default=1, help="random seed (fields, order, initial weights)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (one-cycle schedule)")
    p.add_argument("--kind", choices=KINDS, help="generate fields of this kind only (default: the mix)")
    p.add_argument(
        "--init",
        metavar="PT",
        help="fine-tune this run's field.pt (or a field.onnx, such as the bundled one) instead of starting afresh",
    )
    p.add_argument(
        "--more-fields",
        metavar="NPZ",
        action="append",
        default=[],
        help="another run's field cache to train on too, less its held-out fields (repeatable)",
    )
    p.add_argument("--more-count", type=int, metavar="N", help="at most N fields of --more-fields (a random subset)")
    p.add_argument("--jobs", type=int, default=2, help="processes that generate the fields")
    add_data_dir(p)
    p.add_argument("--out", default="runs/field", help="run folder")


def run(args: argparse.Namespace) -> int:
    require_torch()
    from digitreader.training.field import FieldConfig, train_field

    cfg = FieldConfig(
        fields=args.fields,
        epochs=args.epochs,
        seed=args.seed,
        lr=args.lr,
        jobs=args.jobs,
        data_dir=args.data_dir,
        out_dir=args.out,
        kind=args.kind,
        init=args.init,
        more=args.more_fields,
        more_count=args.more_count,
    )
    card = train_field(cfg, log=say)
    say(f"held-out exact-string accuracy {card['held_out_accuracy']:.2%}; wrote {args.out}/field.onnx")
    return 0
