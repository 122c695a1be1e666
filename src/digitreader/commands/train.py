"""Train a model of the zoo on MNIST, then evaluate it and export it to ONNX with a model card.

Checkpoints after every epoch (runs/NAME/last.pt); --resume continues an interrupted
run (Ctrl-C or kill -9) from its last finished epoch.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
from dataclasses import replace
from pathlib import Path

from digitreader.commands.common import add_data_dir, fail, out, require_torch, say

HELP = "train a model on MNIST (needs the [train] extra)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="sharp", help="architecture name (see 'digitreader bench-models --list')")
    p.add_argument(
        "--recipe", default=None, help="start from a named recipe's settings (default: the model's own recipe)"
    )
    p.add_argument("--epochs", type=int, help="number of epochs")
    p.add_argument("--batch-size", type=int, help="images per step")
    p.add_argument("--lr", type=float, help="peak learning rate of the OneCycle schedule")
    p.add_argument("--optimizer", choices=["sgd", "adamw"], help="optimiser")
    p.add_argument("--weight-decay", type=float, help="weight decay (not applied to biases and BN)")
    p.add_argument("--label-smoothing", type=float, help="label smoothing of the cross-entropy loss")
    p.add_argument("--ema", type=float, dest="ema_decay", help="decay of the weight EMA used for the result (0: off)")
    p.add_argument("--no-augment", action="store_true", help="train on the images as they are")
    p.add_argument("--elastic", type=float, metavar="ALPHA", help="elastic distortion strength in pixels (0: off)")
    p.add_argument("--seed", type=int, default=0, help="random seed (data order, augmentation, initial weights)")
    add_data_dir(p)
    p.add_argument("--out", default=None, help="run folder (default: runs/MODEL)")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's last.pt")
    p.add_argument("--tiny", action="store_true", help="a seconds-long check run: 2,000 train / 1,000 test images")
    p.add_argument("--limit-train", type=int, help="use the first N training images")
    p.add_argument("--target-acc", type=float, help="stop as soon as test accuracy reaches this (0-1)")
    p.add_argument(
        "--init",
        metavar="MODEL",
        help="start from these weights: a run's model.pt or last.pt, an exported .onnx, or 'bundled': fine-tune",
    )
    p.add_argument(
        "--pipeline-digits",
        type=int,
        metavar="N",
        help="add N MNIST training digits written, photographed and prepared by the pipeline (cached in --out)",
    )
    p.add_argument(
        "--pipeline-pieces",
        type=int,
        metavar="N",
        help="add N touching pairs and N lone MNIST training digits cut apart as read cuts them, the wrong cuts "
        "labelled as no digit (cached in --out)",
    )
    p.add_argument(
        "--style-digits",
        type=int,
        metavar="N",
        help="add N MNIST training digits as other writers and scanners give them: continental 1s and 7s, "
        "thin and bold pens, slant, squashed, tiny and binarised scans (cached in --out)",
    )
    p.add_argument(
        "--tiny-scans",
        type=int,
        metavar="N",
        help="add N of those shrunk to tiny (7-20 px) scans, for the model of tiny images (cached in --out)",
    )
    p.add_argument(
        "--thumbnails",
        type=int,
        metavar="N",
        help="add N MNIST training digits as written, shrunk whole to 7-12 px thumbnails, for the model of tiny "
        "images (cached in --out)",
    )
    p.add_argument(
        "--non-digits",
        type=int,
        metavar="N",
        help="add N things that are no digit (dots, dashes, scribbles, letters, shapes, blots, pairs of "
        "digits), trained towards no answer (cached in --out)",
    )
    p.add_argument(
        "--non-digit-weight", type=float, default=0.5, help="weight of a non-digit's loss (towards no answer)"
    )
    p.add_argument(
        "--energy-weight",
        type=float,
        default=0.0,
        help="weight of the energy margins that set digits apart from non-digits (0: off)",
    )
    p.add_argument("--pipeline-seed", type=int, default=1, help="seed of the pipeline, style and non-digit samples")
    p.add_argument("--jobs", type=int, default=2, help="processes that make the pipeline digits")
    g = p.add_argument_group("fine-tuning on corrections (--corrections)")
    g.add_argument(
        "--corrections",
        metavar="DB",
        help="fine-tune --init (default: bundled) on this corrections database mixed with MNIST training digits "
        "(here --lr defaults to 0.03 and --batch-size to 512; --limit-train bounds the MNIST replay)",
    )
    g.add_argument("--steps", type=int, help="optimiser steps (default 200)")
    g.add_argument("--share", type=float, help="share of each batch drawn from the corrections (default 0.1)")
    g.add_argument("--holdout", type=float, help="share of the corrections kept back for validation (default 0.2)")
    g.add_argument("--tune-last", type=int, help="train only the last N layers with weights (default 1; 0: all)")
    g.add_argument(
        "--max-drop",
        type=float,
        default=0.05,
        help="refuse to export when MNIST test accuracy drops by more than this many points (default 0.05)",
    )
    g.add_argument("--force", action="store_true", help="export even when MNIST test accuracy drops more")
    p.add_argument("--device", default="auto", help="cpu, cuda, or auto (CUDA when present)")
    p.add_argument("--threads", type=int, help="CPU threads for PyTorch")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="data-parallel training on N Ray Train workers (DDP; the [scale] extra); the recipe stays the same",
    )
    p.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="the Ray cluster for --workers: 'auto', HOST:6379 or ray://HOST:10001 (none: a Ray of this machine); "
        "--out must then be a folder every node sees",
    )


def config_from_args(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from digitreader.training.augment import AugmentConfig
    from digitreader.training.recipes import recipe_for

    cfg = recipe_for(args.recipe or args.model)
    cfg = replace(
        cfg,
        model=args.model,
        seed=args.seed,
        data_dir=args.data_dir,
        device=args.device,
        threads=args.threads,
        target_acc=args.target_acc,
        out_dir=args.out or f"runs/{args.model}",
        init=args.init,
        pipeline_digits=args.pipeline_digits or 0,
        pipeline_pieces=args.pipeline_pieces or 0,
        style_digits=args.style_digits or 0,
        tiny_scans=args.tiny_scans or 0,
        thumbnails=args.thumbnails or 0,
        non_digits=args.non_digits or 0,
        pipeline_seed=args.pipeline_seed,
        non_digit_weight=args.non_digit_weight,
        energy_weight=args.energy_weight,
        jobs=args.jobs,
    )
    for name in (
        "epochs",
        "batch_size",
        "lr",
        "optimizer",
        "weight_decay",
        "label_smoothing",
        "ema_decay",
        "limit_train",
    ):
        if getattr(args, name) is not None:
            cfg = replace(cfg, **{name: getattr(args, name)})
    if args.no_augment:
        cfg = replace(cfg, augment=AugmentConfig(0, 0, 0, 0, 0, 0, 0))
    if args.elastic is not None:
        cfg = replace(cfg, augment=replace(cfg.augment, elastic_alpha=args.elastic))
    if args.tiny:
        cfg = replace(cfg, limit_train=cfg.limit_train or 2000, limit_test=1000, epochs=args.epochs or 1)
    return cfg


def run(args: argparse.Namespace) -> int:
    require_torch()
    from digitreader.data import DataError
    from digitreader.errors import DigitReaderError
    from digitreader.training.pipeline import train_and_export

    command = "digitreader " + shlex.join(args.argv)
    if args.corrections:
        from digitreader.commands.train_corrections import run_corrections

        return run_corrections(args, command)
    cfg = config_from_args(args)
    try:
        if args.resume:  # the checkpoint's own settings; a contradicting option is refused
            from digitreader.training.resume import resume_config

            cfg, notes = resume_config(cfg, args.argv)
            for note in notes:
                say(f"warning: {note}", stderr=True)
    except DigitReaderError as exc:
        return fail(str(exc))
    if args.workers < 1:
        return fail(f"--workers must be 1 or more, got {args.workers}")
    on_ray = args.workers > 1 or args.address
    if on_ray and importlib.util.find_spec("ray") is None:
        return fail("--workers needs Ray Train: pip install 'digitreader[scale]'")
    where = f" on {args.workers} Ray Train workers" if on_ray else ""
    say(f"training {cfg.model} for {cfg.epochs} epochs{where} -> {cfg.out_dir}", stderr=True)
    try:
        result = train_and_export(
            cfg,
            resume=args.resume,
            command=command,
            show_progress=not args.no_progress,
            workers=args.workers,
            address=args.address,
        )
    except (DataError, DigitReaderError) as exc:  # a damaged --init checkpoint, a different run's last.pt
        return fail(str(exc))
    except KeyboardInterrupt:
        say(
            f"interrupted: finished epochs are kept in {Path(cfg.out_dir) / 'last.pt'}; "
            "continue with the same command plus --resume",
            stderr=True,
        )
        return 130
    out.print(
        f"test accuracy {result.test_accuracy:.4%}  ({result.params:,} params, {result.train_seconds:.1f} s training)"
    )
    if result.seconds_to_target is not None:
        out.print(f"reached {cfg.target_acc:.2%} after {result.seconds_to_target:.1f} s of training")
    say(f"model: {result.onnx_path}  card: {result.onnx_path.with_suffix('.json')}")
    return 0
