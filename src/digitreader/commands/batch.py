"""What ``predict`` and ``read`` share: finding image files, running them, progress, output.

A labels CSV among the paths (``file,label[,mode]``, as ``corrections export`` writes) stands for
the files it lists (relative to it): each row then gets ``expected`` and ``correct``, and an
accuracy line ends the run (on stderr, so that stdout stays one record per line).

Files are worked on by a few threads (decoding and preprocessing release the GIL; ONNX
Runtime is thread-safe) and reported in input order, one JSON line or table row each. A
file that cannot be read gets an error line and the others go on; the exit status is 1
when any file failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from digitreader.commands.common import err, fail, print_table, stdout_is_terminal, write_line

Work = Callable[[Path], dict[str, Any]]  # one file -> its JSON fields (raises on failure)
# (the recognizer, the --debug-dir folder or None) -> the work for one file
MakeWork = Callable[[Any, Path | None], Work]


def add_arguments(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "paths",
        nargs="+",
        metavar="FILE_OR_DIR",
        help=f"images ({what}), folders of images, or a labels CSV (file,label: scores the model)",
    )
    p.add_argument("--json", action="store_true", help="one JSON line per image on stdout instead of a table")
    p.add_argument("--model", default="default", metavar="NAME_OR_PATH", help="bundled model name or .onnx file")
    p.add_argument(
        "--recursive", action=argparse.BooleanOptionalAction, default=True, help="walk folders into their subfolders"
    )
    p.add_argument(
        "--debug-dir",
        metavar="DIR",
        default=None,
        help="write what the model saw for each image: boxes on the image and the 28x28 inputs",
    )
    p.add_argument(
        "--jobs", type=int, default=min(4, os.cpu_count() or 1), metavar="N", help="images worked on at once"
    )
    p.add_argument(
        "--line-model",
        default="default",
        metavar="PATH",
        help="the CTC line reader, which reads touching digits and gives a second opinion on a digit the "
        "digit model doubts: "
        "'default' (bundled), an .onnx file, or 'none' (the digit model alone)",
    )
    p.add_argument(
        "--field-model",
        default="default",
        metavar="PATH",
        help="the field reader, which reads each line again whole and leaves out what is no digit (rules, "
        "separators, a book's edge): 'default' (bundled), an .onnx file, or 'none'",
    )


def _natural(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def collect(
    paths: Iterable[str], recursive: bool, expected: dict[Path, str] | None = None, verb: str = "read"
) -> list[Path]:
    """The files to read: each FILE as given, each folder's images (sorted, recursively by default),
    each labels CSV's files when ``expected`` is given (filled with their labels; ``predict`` takes the
    rows of mode predict only)."""
    from digitreader.vision.io import IMAGE_SUFFIXES

    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if expected is not None and path.suffix.lower() == ".csv" and path.is_file():
            files.extend(_labelled(path, expected, verb))
            continue
        if not path.is_dir():
            files.append(path)  # a missing or unreadable file is reported on its own line
            continue
        found = path.rglob("*") if recursive else path.glob("*")
        # Not only regular files: a FIFO, a dangling link or a link loop named like an image gets
        # its own error line (from load_image) rather than vanishing from the run.
        images = [
            f
            for f in found
            if f.suffix.lower() in IMAGE_SUFFIXES
            and not f.is_dir()
            and not any(part.startswith(".") for part in f.relative_to(path).parts)
        ]
        files.extend(sorted(images, key=_natural))
    return files


def _labelled(csv_path: Path, expected: dict[Path, str], verb: str) -> list[Path]:
    from digitreader.corrections.labels import read_labels

    rows = read_labels(csv_path)
    kept = [r for r in rows if verb != "predict" or r["mode"] == "predict"]
    if len(kept) < len(rows):
        n = len(rows) - len(kept)
        err.print(f"{csv_path}: {n} row{'s' * (n != 1)} of numbers left out (read scores them)", markup=False)
    for r in kept:
        expected[Path(r["path"])] = r["label"]
    return [Path(r["path"]) for r in kept]


def is_correct(verb: str, fields: dict[str, Any], label: str) -> bool:
    """Whether the answer in ``fields`` is ``label``: the digit (predict), the text line by line (read)."""
    from digitreader.corrections.labels import normal

    if "error" in fields:
        return False
    if verb == "predict":
        return fields.get("digit") is not None and str(fields["digit"]) == label
    return normal(fields.get("text") or "") == label


def failure(exc: Exception) -> dict[str, Any]:
    """The fields of a file that failed: ``{"error": message}``."""
    from digitreader.errors import DigitReaderError

    if isinstance(exc, DigitReaderError):
        return {"error": str(exc)}
    return {"error": f"unexpected error: {type(exc).__name__}: {exc}"}


def results(files: list[Path], work: Work, jobs: int) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(file, fields) in input order; a failure gives {"error": message} instead of raising."""

    def guarded(path: Path) -> dict[str, Any]:
        try:
            return work(path)
        except Exception as exc:  # every failure becomes an error line, never a traceback
            return failure(exc)

    if jobs <= 1 or len(files) <= 1:
        for f in files:
            yield f, guarded(f)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        # Submit a bounded window ahead so a huge folder does not hold every result in memory.
        window = jobs * 4
        pending = [pool.submit(guarded, f) for f in files[:window]]
        for i, f in enumerate(files):
            if i + window < len(files):
                pending.append(pool.submit(guarded, files[i + window]))
            yield f, pending[i].result()
            pending[i] = None  # type: ignore[call-overload]


class Reporter:
    """Progress on stderr: a live bar on a terminal, a line every 10% otherwise (logs, CI)."""

    def __init__(self, total: int, verb: str) -> None:
        self.total, self.verb, self.done, self.failed = total, verb, 0, 0
        self.start = time.perf_counter()
        self.bar = None
        self._next_line = 0.1
        if total > 1 and err.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn(f"{verb}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err.get(),
                transient=True,
            )
            self.task = self.bar.add_task(verb, total=total)
            self.bar.start()

    def step(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        if self.bar is not None:
            self.bar.advance(self.task)
        elif self.total >= 20 and self.done >= self._next_line * self.total:
            print(
                f"{self.verb}: {self.done}/{self.total} images ({self.done / self.total:.0%})",
                file=sys.stderr,
                flush=True,
            )
            while self._next_line * self.total <= self.done:
                self._next_line += 0.1

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
        seconds = time.perf_counter() - self.start
        errors = f", {self.failed} failed" if self.failed else ""
        if self.total > 1:
            err.print(f"{self.done} images in {seconds:.1f} s{errors}", markup=False)


def run(
    args: argparse.Namespace, verb: str, make_work: MakeWork, columns: list[str], row: Callable[[dict], list[str]]
) -> int:
    """Load the model once, then run the work on every file of ``args.paths``; print JSON lines, a table
    (stdout a terminal) or tab-separated lines (stdout a pipe or a file)."""
    # numpy's OpenBLAS starts a thread per core when imported (about 40 ms of CPU at start-up on 2 cores);
    # the work here has no large matrix products, and --jobs already reads files in parallel.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from digitreader.engine import Recognizer
    from digitreader.errors import ModelError

    try:
        line, field = args.line_model, args.field_model
        recognizer = Recognizer(
            args.model,
            threads=1 if args.jobs > 1 else None,
            line_model=None if line in (None, "none") else line,
            field_model=None if field in (None, "none") else field,
        )
        if line not in (None, "none", "default") and not Path(line).is_file():  # the bundled one is installed
            return fail(f"line reader {line} does not exist")
        if field not in (None, "none", "default") and not Path(field).is_file():
            return fail(f"field reader {field} does not exist")
    except ModelError as exc:
        return fail(str(exc))
    work = make_work(recognizer, Path(args.debug_dir) if args.debug_dir else None)
    expected: dict[Path, str] = {}
    try:
        files = collect(args.paths, args.recursive, expected, verb)
    except (OSError, ValueError) as exc:  # a labels CSV that cannot be read
        return fail(str(exc))
    if not files:
        return fail("no images found in " + ", ".join(args.paths))
    if expected:
        columns = [*columns, "expected", "correct"]
    table = not args.json and stdout_is_terminal()
    if not args.json and not table:
        write_line(["file", *columns])
    scored = right = 0
    reporter = Reporter(len(files), verb)
    rows: list[list[str]] = []
    errors: list[str] = []
    try:
        for path, fields in results(files, work, max(1, args.jobs)):
            failed = "error" in fields
            label = expected.get(path)
            if label is not None:
                fields = {**fields, "expected": label, "correct": is_correct(verb, fields, label)}
                scored += 1
                right += fields["correct"]
            if args.json:
                write_line([json.dumps({"file": str(path), **fields})])
            elif failed:
                message = fields["error"] if str(path) in fields["error"] else f"{path}: {fields['error']}"
                errors.append(message)
                if not table:  # in order, on a line of its own on stderr; stdout keeps only results
                    write_line([f"error: {message}"], sys.stderr)
            elif table:
                rows.append([str(path), *row(fields), *_scored(fields, expected)])
            else:
                write_line([str(path), *row(fields), *_scored(fields, expected)])
            reporter.step(failed)
    finally:
        reporter.close()
    if table:
        print_table(["file", *columns], rows, emphasis=1)
        for message in errors:
            fail(message)
    if scored:
        err.print(f"accuracy: {right}/{scored} correct ({right / scored:.1%})", markup=False)
    return 1 if reporter.failed else 0


def _scored(fields: dict[str, Any], expected: dict[Path, str]) -> list[str]:
    """The expected and correct columns of a table row, when there are labels."""
    if not expected:
        return []
    if "expected" not in fields:
        return ["", ""]
    return [fields["expected"].replace("\n", " / "), "yes" if fields["correct"] else "no"]


def debug_stem(path: Path) -> str:
    """A file name for the debug pictures of ``path`` that two files of one name cannot share."""
    parts = [p for p in path.with_suffix("").parts if p not in ("/", "..", ".")]
    return "__".join(parts[-3:])
