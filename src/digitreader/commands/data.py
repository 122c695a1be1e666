"""Find, inspect and download MNIST; write the realistic evaluation set.

digitreader data info              where MNIST was found, in which form, with counts
digitreader data download [--dir]  fetch the four files from public mirrors (checksummed)
digitreader data evalset --out DIR write the synthetic photo/number evaluation set (PNG + labels.csv)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from digitreader.commands.common import add_data_dir, err, fail, out

HELP = "find, inspect and download MNIST; write the evaluation set"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="show where MNIST was found and what it holds")
    add_data_dir(info)
    dl = sub.add_parser("download", help="download MNIST from public mirrors into the cache (or --dir)")
    dl.add_argument("--dir", default=None, help="target folder (default: the user cache)")
    ev = sub.add_parser("evalset", help="write the realistic evaluation set made from MNIST test digits")
    ev.add_argument("--out", required=True, help="folder to write PNG files and labels.csv into")
    ev.add_argument("--count", type=int, default=1000, help="images per part (single digits, numbers, photos)")
    ev.add_argument("--seed", type=int, default=0, help="random seed (the same seed writes the same set)")
    add_data_dir(ev)


def _info(args: argparse.Namespace) -> int:
    from rich.table import Table

    from digitreader.data import DataError
    from digitreader.data.mnist import candidate_dirs, find, read_source

    out.print("searched, in order: " + ", ".join(str(d) for d in candidate_dirs(args.data_dir)))
    table = Table("split", "form", "images", "labels 0..9", "files")
    missing = 0
    for split in ("train", "test"):
        source = find(split, args.data_dir)
        if source is None:
            table.add_row(split, "-", "not found", "", "")
            missing += 1
            continue
        try:
            images, labels = read_source(source)
        except DataError as exc:
            table.add_row(split, source.form, "[red]unreadable[/]", str(exc), "")
            missing += 1
            continue
        counts = " ".join(str(int((labels == d).sum())) for d in range(10))
        table.add_row(split, source.form, f"{len(images):,}", counts, "\n".join(str(p) for p in source.paths))
    out.print(table)
    return 1 if missing else 0


def _download(args: argparse.Namespace) -> int:
    from digitreader.data import DataError, download_mnist

    try:
        where = download_mnist(args.dir)
    except DataError as exc:
        return fail(str(exc))
    out.print(f"MNIST is in {where}")
    return 0


def _evalset(args: argparse.Namespace) -> int:
    from digitreader.data import DataError
    from digitreader.data.synthetic import write_evalset

    try:
        summary = write_evalset(Path(args.out), count=args.count, seed=args.seed, data_dir=args.data_dir)
    except DataError as exc:
        return fail(str(exc))
    for part, n in summary.items():
        err.print(f"{part}: {n} images")
    out.print(f"wrote the evaluation set to {args.out} (labels in {Path(args.out) / 'labels.csv'})")
    return 0


def run(args: argparse.Namespace) -> int:
    return {"info": _info, "download": _download, "evalset": _evalset}[args.action](args)
