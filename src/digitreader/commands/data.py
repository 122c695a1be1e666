"""Find, inspect and download MNIST; write the realistic evaluation set and a test video.

digitreader data info                   where MNIST was found, in which form, with counts
digitreader data download [--data-dir]  fetch the four files from public mirrors (checksummed)
digitreader data evalset --out DIR      write the synthetic photo/number evaluation set (PNG + labels.csv)
digitreader data video clip.mp4         write a test video of MNIST test digits filmed on paper,
                                        with its truth per frame in clip.truth.jsonl
digitreader data desk --out DIR         write sheets of numbers lying on desks, and the same sheets
                                        alone (desk/, sheet/, labels.csv with the sheets' corners)
digitreader data desk-video held.mp4    write a video of sheets on desks, each held 2.5 s, and its truth
digitreader data fields --out DIR       write numbers in documents: register margins, cheque amounts,
                                        rows of sheets, form boxes (PNG + labels.csv)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from digitreader.commands.common import add_data_dir, fail, print_table, say

KINDS = ("register", "cheque", "row", "boxes")  # data.fields.KINDS (imported here without OpenCV)

HELP = "find, inspect and download MNIST; write the evaluation sets and test videos"
MIN_SIZE, MAX_SIZE = (560, 400), (3840, 2160)  # smaller: a 4-5 digit number may leave the view


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, formatter_class=p.formatter_class)

    info = action("info", "show where MNIST was found and what it holds")
    add_data_dir(info)
    dl = action("download", "download MNIST from public mirrors into the cache (or --data-dir)")
    dl.add_argument("--data-dir", metavar="DIR", default=None, help="target folder (default: the user cache)")
    dl.add_argument("--dir", dest="data_dir", help=argparse.SUPPRESS)  # the option's former name
    ev = action("evalset", "write the realistic evaluation set made from MNIST test digits")
    ev.add_argument("--out", required=True, metavar="DIR", help="folder to write PNG files and labels.csv into")
    ev.add_argument("--count", type=int, default=1000, help="images per part (single digits, numbers, photos)")
    ev.add_argument("--seed", type=int, default=0, help="random seed (the same seed writes the same set)")
    add_data_dir(ev)
    vid = action("video", "write a test video (MNIST test digits on paper, a moving camera) and its truth")
    vid.add_argument("out", metavar="OUT", help="the video to write (.mp4 or .avi); the truth goes to OUT.truth.jsonl")
    length = vid.add_mutually_exclusive_group()
    length.add_argument("--seconds", type=float, default=8.0, help="length of the video")
    length.add_argument("--frames", type=int, metavar="N", help="length in frames (instead of --seconds)")
    vid.add_argument("--fps", type=float, default=30.0, help="frames per second")
    vid.add_argument("--size", default="640x480", metavar="WxH", help="frame width x height in pixels")
    vid.add_argument("--seed", type=int, default=0, help="random seed (the same seed writes the same video)")
    add_data_dir(vid)
    dk = action("desk", "write sheets of numbers on desks and the same sheets alone (MNIST test digits)")
    dk.add_argument("--out", required=True, metavar="DIR", help="folder to write desk/, sheet/ and labels.csv into")
    dk.add_argument("--count", type=int, default=300, help="sheets")
    dk.add_argument("--seed", type=int, default=0, help="random seed (the same seed writes the same set)")
    add_data_dir(dk)
    dv = action("desk-video", "write a video of sheets held on desks (MNIST test digits) and its truth")
    dv.add_argument("out", metavar="OUT", help="the .mp4 to write; the truth goes to OUT.truth.jsonl")
    dv.add_argument("--seconds", type=float, default=30.0, help="length of the video")
    dv.add_argument("--seed", type=int, default=0, help="random seed (the same seed writes the same video)")
    add_data_dir(dv)
    fd = action("fields", "write numbers as they sit in documents (register margins, cheques, rows, boxes)")
    fd.add_argument("--out", required=True, metavar="DIR", help="folder to write PNG files and labels.csv into")
    fd.add_argument("--count", type=int, default=200, help="fields")
    fd.add_argument("--kind", choices=KINDS, help="only this kind of field (default: a mix)")
    fd.add_argument("--split", choices=("test", "train"), default="test", help="MNIST digits to write with")
    fd.add_argument("--seed", type=int, default=0, help="random seed (the same seed writes the same set)")
    add_data_dir(fd)


def _fields(args: argparse.Namespace) -> int:
    from digitreader.data import DataError, load_mnist
    from digitreader.data.fields import write_fields

    if args.count < 1:
        return fail(f"--count must be at least 1, got {args.count}")
    try:
        images, labels = load_mnist(args.split, args.data_dir)
        labels_csv = write_fields(Path(args.out), images, labels, args.count, args.seed, args.kind)
    except (DataError, OSError) as exc:
        return fail(str(exc))
    say(f"wrote {args.count} fields to {args.out} (labels in {labels_csv})")
    return 0


def _desk(args: argparse.Namespace) -> int:
    from digitreader.data import DataError, load_mnist
    from digitreader.data.desk import write_desk_set

    if args.count < 1:
        return fail(f"--count must be at least 1, got {args.count}")
    try:
        images, labels = load_mnist("test", args.data_dir)
        labels_csv = write_desk_set(Path(args.out), images, labels, args.count, args.seed)
    except (DataError, OSError) as exc:
        return fail(str(exc))
    say(f"wrote {args.count} sheets on desks and alone to {args.out} (labels in {labels_csv})")
    return 0


def _desk_video(args: argparse.Namespace) -> int:
    if Path(args.out).suffix.lower() not in (".mp4", ".avi"):
        return fail(f"OUT must end in .mp4 or .avi, got {args.out}")
    if args.seconds <= 0:
        return fail(f"--seconds must be positive, got {args.seconds:g}")
    from digitreader.data import DataError, load_mnist
    from digitreader.data.desk import write_desk_video
    from digitreader.data.synthetic_video import truth_path

    try:
        images, labels = load_mnist("test", args.data_dir)
        truth = write_desk_video(Path(args.out), images, labels, args.seconds, 30.0, (640, 480), args.seed)
    except (DataError, OSError) as exc:
        return fail(str(exc))
    say(f"wrote {args.out} ({len(truth)} frames, 640x480, 30 fps) and {truth_path(args.out)}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from digitreader.data import DataError
    from digitreader.data.mnist import candidate_dirs, find, read_source

    say("searched, in order: " + ", ".join(str(d) for d in candidate_dirs(args.data_dir)))
    rows = []
    missing = 0
    for split in ("train", "test"):
        source = find(split, args.data_dir)
        if source is None:
            rows.append([split, "-", "not found", "", ""])
            missing += 1
            continue
        try:
            images, labels = read_source(source)
        except DataError as exc:
            rows.append([split, source.form, "unreadable", str(exc), ""])
            missing += 1
            continue
        counts = " ".join(str(int((labels == d).sum())) for d in range(10))
        rows.append([split, source.form, f"{len(images):,}", counts, "\n".join(str(p) for p in source.paths)])
    print_table(["split", "form", "images", "labels 0..9", "files"], rows)
    if missing:
        say(
            "to get MNIST: `digitreader data download` (needs internet), or put the files in a folder and "
            "pass --data-dir FOLDER or set DIGITREADER_DATA=FOLDER",
            stderr=True,
        )
    return 1 if missing else 0


def _download(args: argparse.Namespace) -> int:
    from digitreader.data import DataError, download_mnist

    try:
        where = download_mnist(args.data_dir)
    except DataError as exc:
        return fail(str(exc))
    say(f"MNIST is in {where}")
    return 0


def _evalset(args: argparse.Namespace) -> int:
    from digitreader.data import DataError
    from digitreader.data.synthetic import write_evalset

    try:
        summary = write_evalset(Path(args.out), count=args.count, seed=args.seed, data_dir=args.data_dir)
    except DataError as exc:
        return fail(str(exc))
    for part, n in summary.items():
        say(f"{part}: {n} images", stderr=True)
    say(f"wrote the evaluation set to {args.out} (labels in {Path(args.out) / 'labels.csv'})")
    return 0


def _video_size(text: str) -> tuple[int, int] | str:
    """(width, height) from "WxH", or what is wrong with it."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        return f"--size must be WIDTHxHEIGHT, e.g. 640x480, got {text!r}"
    if not (MIN_SIZE[0] <= w <= MAX_SIZE[0] and MIN_SIZE[1] <= h <= MAX_SIZE[1]):
        return f"--size must be from {MIN_SIZE[0]}x{MIN_SIZE[1]} to {MAX_SIZE[0]}x{MAX_SIZE[1]}, got {text}"
    return w, h


def _video(args: argparse.Namespace) -> int:
    size = _video_size(args.size)
    if isinstance(size, str):
        return fail(size)
    if not 1 <= args.fps <= 240:
        return fail(f"--fps must be in 1..240, got {args.fps:g}")
    frames = args.frames if args.frames is not None else round(args.seconds * args.fps)
    if frames < 1:
        return fail("the video needs at least one frame (--frames N or --seconds S)")
    if Path(args.out).suffix.lower() not in (".mp4", ".avi"):
        return fail(f"OUT must end in .mp4 or .avi, got {args.out}")
    from digitreader.data import DataError, load_mnist
    from digitreader.data.synthetic_video import truth_path, write_video

    try:
        images, labels = load_mnist("test", args.data_dir)
        truth = write_video(Path(args.out), images, labels, frames / args.fps, args.fps, size, args.seed)
    except (DataError, OSError) as exc:
        return fail(str(exc))
    say(f"wrote {args.out} ({len(truth)} frames, {size[0]}x{size[1]}, {args.fps:g} fps) and {truth_path(args.out)}")
    return 0


def run(args: argparse.Namespace) -> int:
    actions = {"info": _info, "download": _download, "evalset": _evalset, "video": _video}
    return {**actions, "desk": _desk, "desk-video": _desk_video, "fields": _fields}[args.action](args)
