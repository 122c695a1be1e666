"""``train --corrections DB``: fine-tune on users' corrections (``training.finetune``), or refuse to export."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from digitreader.commands.common import fail, out, say


def finetune_config(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The ``FinetuneConfig`` of the command line's options (unset ones keep its defaults)."""
    from digitreader.training.finetune import FinetuneConfig

    cfg = FinetuneConfig(
        init=args.init or "bundled",
        model=args.model,
        out_dir=args.out or "runs/corrections",
        max_drop=args.max_drop / 100,
        force=args.force,
        seed=args.seed,
        data_dir=args.data_dir,
        threads=args.threads,
        device=args.device,
    )
    for name in ("steps", "batch_size", "share", "lr", "holdout", "tune_last", "limit_train"):
        if getattr(args, name, None) is not None:
            cfg = replace(cfg, **{name: getattr(args, name)})
    if args.tiny:
        small = {"limit_train": cfg.limit_train or 2000, "limit_test": 1000, "calibration_images": 1000}
        cfg = replace(cfg, steps=args.steps or 20, **small)
    return cfg


def run_corrections(args: argparse.Namespace, command: str) -> int:
    from digitreader.errors import DigitReaderError
    from digitreader.training.finetune import finetune

    if not Path(args.corrections).is_file():
        return fail(f"no corrections database at {args.corrections}")
    cfg = finetune_config(args)
    say(f"fine-tuning {cfg.init} on the corrections in {args.corrections} -> {cfg.out_dir}", stderr=True)
    log = None if args.no_progress else (lambda line: say(line, stderr=True))
    try:
        result = finetune(cfg, args.corrections, command=command, log=log)
    except DigitReaderError as exc:  # FinetuneRefused among them: nothing written
        return fail(str(exc))
    figures = result.card["before_after"]
    for name, row in figures.items():
        if row["before"] is not None:
            out.print(f"{name.replace('_', ' ')}: {row['before']:.4%} -> {row['after']:.4%}")
    say(f"model: {result.onnx_path}  card: {Path(result.onnx_path).with_suffix('.json')}")
    return 0
