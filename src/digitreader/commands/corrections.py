"""The corrections users sent from the web page ("Not what you wrote?"), in the server's SQLite file.

  digitreader corrections list [--json]           id, time, mode, what was written, what the model said
  digitreader corrections stats [--json]          counts by mode, by digit and by model
  digitreader corrections export DIR              DIR/labels.csv and DIR/images/ (each image as it was sent:
                                                  PNG for drawings, a photo keeps its JPEG)
  digitreader corrections import DIR [--db PATH]  the rows of DIR/labels.csv into a database (again)
  digitreader corrections delete ID...            remove corrections

labels.csv has the columns file,label,mode,id,created,answer,model_sha256,media_type,image_sha256;
only file and label are needed to import (mode: predict for one digit, else read). The same
file scores the model: digitreader predict DIR/labels.csv, digitreader read DIR/labels.csv.
The database is the one serve uses by default (--db to choose another).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from digitreader.commands.common import fail, print_table, say, stdout_is_terminal

HELP = "list, count, export, import and delete the corrections sent from the web page"
COLUMNS = ["file", "label", "mode", "id", "created", "answer", "model_sha256", "media_type", "image_sha256"]
SUFFIX = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
}
MEDIA = {**{v: k for k, v in SUFFIX.items()}, ".jpeg": "image/jpeg", ".tiff": "image/tiff"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions = {
        "list": "the corrections, oldest first (without images)",
        "stats": "how many, by mode, by digit, by model",
        "export": "write DIR/labels.csv and the images under DIR/images/",
        "import": "read DIR/labels.csv (or a labels CSV) and its images into the database",
        "delete": "remove corrections by id",
    }
    for name, help in actions.items():
        a = sub.add_parser(name, help=help, description=help, formatter_class=p.formatter_class)
        a.add_argument("--db", metavar="PATH", default=None, help="the SQLite file (default: the one serve uses)")
        if name in ("list", "stats"):
            a.add_argument("--json", action="store_true", help="JSON (one line per correction) instead of a table")
        if name == "list":
            a.add_argument("--limit", type=int, default=None, metavar="N", help="at most N (default: all)")
            a.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N")
        if name in ("export", "import"):
            a.add_argument("dir", metavar="DIR", help="the folder (import: or its labels CSV)")
        if name == "delete":
            a.add_argument("ids", type=int, nargs="+", metavar="ID", help="the corrections' ids")


def run(args: argparse.Namespace) -> int:
    from digitreader.corrections.store import CorrectionStore, default_path

    path = Path(args.db) if args.db else default_path()
    if args.action != "import" and not path.is_file():
        return fail(f"no corrections database at {path} (serve --corrections PATH, or --db PATH here)")
    try:
        store = CorrectionStore(path)
    except (OSError, ValueError) as exc:
        return fail(f"cannot open {path}: {exc}")
    return {"list": _list, "stats": _stats, "export": _export, "import": _import, "delete": _delete}[args.action](
        store, args
    )


def _said(answer: dict[str, Any]) -> str:
    """The model's answer in a few characters: the digit, the text, or why there was none."""
    if "text" in answer:
        return str(answer["text"]).replace("\n", " / ") or "(no digits)"
    return "(no digit)" if answer.get("digit") is None else str(answer["digit"])


def _list(store: Any, args: argparse.Namespace) -> int:
    rows = store.list(limit=args.limit, offset=args.offset)
    if args.json:
        for c in rows:
            print(json.dumps(c.to_dict()))
        return 0
    table = [
        [str(c.id), c.created, c.mode, c.label.replace("\n", " / "), _said(c.answer), c.model_sha256[:12]] for c in rows
    ]
    print_table(["id", "created", "mode", "written", "model said", "model"], table, emphasis=3)
    if stdout_is_terminal():
        say(f"{len(rows)} of {len(store)} corrections in {store.path}", stderr=True)
    return 0


def _stats(store: Any, args: argparse.Namespace) -> int:
    stats = store.stats()
    if args.json:
        print(json.dumps(stats))
        return 0
    rows = [
        ["corrections", str(stats["corrections"])],
        *[[f"mode {m}", str(n)] for m, n in sorted(stats["by_mode"].items())],
        *[[f"digit {d}", str(n)] for d, n in stats["by_digit"].items()],
        *[[f"model {sha[:12]}", str(n)] for sha, n in stats["models"].items()],
        ["first", stats["first"] or ""],
        ["last", stats["last"] or ""],
        ["image bytes", str(stats["image_bytes"])],
    ]
    print_table(["stat", "value"], rows, title=str(store.path))
    return 0


def _export(store: Any, args: argparse.Namespace) -> int:
    out = Path(args.dir)
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(out / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        for c in store:  # a page at a time, images included
            name = f"images/{c.id:06d}{SUFFIX.get(c.media_type, '.bin')}"
            (out / name).write_bytes(c.image)
            row = {**c.to_dict(), "file": name, "answer": json.dumps(c.answer, sort_keys=True)}
            writer.writerow({k: row[k] for k in COLUMNS})
            count += 1
    say(f"exported {count} corrections to {out / 'labels.csv'} and {images}/", stderr=True)
    return 0


def _import(store: Any, args: argparse.Namespace) -> int:
    import hashlib

    from digitreader.corrections.labels import read_labels
    from digitreader.corrections.store import Correction, check_label

    source = Path(args.dir)
    csv_path = source if source.suffix.lower() == ".csv" else source / "labels.csv"
    try:
        rows = read_labels(csv_path)
    except (OSError, ValueError) as exc:
        return fail(str(exc))
    have = {(c.image_sha256, c.mode, c.label) for c in store.list()}
    added = skipped = failed = 0
    for r in rows:
        try:
            label = check_label(r["label"], r["mode"])
            image = Path(r["path"]).read_bytes()
            key = (hashlib.sha256(image).hexdigest(), r["mode"], label)
            if key in have:
                skipped += 1
                continue
            answer = json.loads(r["answer"]) if r.get("answer") else {}
            media = r.get("media_type") or MEDIA.get(Path(r["path"]).suffix.lower(), "application/octet-stream")
            store.add(
                Correction(
                    r["mode"], label, answer, r.get("model_sha256") or "", media, image, created=r.get("created") or ""
                )
            )
            have.add(key)
            added += 1
        except (OSError, ValueError) as exc:
            fail(f"{r.get('file')}: {exc}")
            failed += 1
    say(f"imported {added} corrections into {store.path}; {skipped} already there, {failed} failed", stderr=True)
    return 1 if failed else 0


def _delete(store: Any, args: argparse.Namespace) -> int:
    missing = [i for i in args.ids if not store.delete(i)]
    for i in missing:
        fail(f"no correction {i}")
    say(f"deleted {len(args.ids) - len(missing)} corrections", stderr=True)
    return 1 if missing else 0
