"""``digitreader read SRC... --engine ray``: the driver. Expand SRC, skip what is done, run the rest
on the cluster, keep each batch's rows as they arrive, and merge them into ``--out`` at the end."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from digitreader.commands.common import err, fail, say

SHOWN_ERRORS = 10  # error lines printed on stderr; all of them are in the output


def run(args: argparse.Namespace) -> int:
    from digitreader.scale import cluster, output, reader, sources

    out = Path(args.out)
    try:
        output.output_format(out)
    except ValueError as exc:
        return fail(str(exc))
    files = sources.expand(args.paths, args.recursive)
    if not files:
        return fail("no images found in " + ", ".join(args.paths))
    results = output.Results(out, args.mode, args.resume)
    done = results.done() & set(files) if args.resume else set()
    todo = [f for f in files if f not in done]
    say(f"{len(files)} files: {len(done)} done earlier, {len(todo)} to {args.mode}", stderr=True)
    line = None if args.line_model in (None, "none") else args.line_model
    field = None if args.field_model in (None, "none") else args.field_model
    start = time.perf_counter()
    try:
        if todo:
            cluster.connect(args.address)
            for batch in reader.rows(
                todo,
                mode=args.mode,
                model=args.model,
                line_model=line,
                field_model=field,
                actors=args.actors,
                threads=args.threads,
                batch_size=args.batch_size,
            ):
                results.add(batch)
    except BaseException:
        results.flush()  # what arrived stays on disk for --resume
        say(f"stopped: finished rows are kept in {results.parts}; continue with the same command plus --resume", True)
        raise
    seconds = time.perf_counter() - start
    rows = results.finish(files)
    errors = [e for e in rows.column("error").to_pylist() if e is not None]
    for message in errors[:SHOWN_ERRORS]:
        say(f"error: {message}", stderr=True)
    failed = f", {len(errors)} failed" if errors else ""
    rate = f" ({len(todo) / seconds:.0f} images/s)" if todo and seconds > 0 else ""
    err.print(f"{len(todo)} images in {seconds:.1f} s{rate}{failed}; {rows.num_rows} rows in {out}", markup=False)
    return 1 if errors else 0
