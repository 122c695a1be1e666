"""The ``digitreader`` command: one entry point, one module per subcommand under ``commands/``.

Subcommand modules are imported only when used, so ``digitreader predict`` never pays
for torch and ``--help`` is instant. Each module defines ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# command name -> module under digitreader.commands
COMMANDS = {
    "train": "train",
    "evaluate": "evaluate",
    "export": "export",
    "train-line": "train_line",
    "train-field": "train_field",
    "bench-models": "bench_models",
    "data": "data",
    "predict": "predict",
    "read": "read",
    "serve": "serve",
    "watch": "watch",
    "corrections": "corrections",
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep descriptions as written (they hold usage examples) and show each option's default once.

    No default is shown for a flag (on or off), for an option whose default is None (its help
    says what happens then), or where the help already states it.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help = action.help or ""
        if "%(default)" in help or "(default" in help or "default:" in help:
            return help
        if isinstance(action, argparse.BooleanOptionalAction) and isinstance(action.default, bool):
            return f"{help} (default: {action.option_strings[0 if action.default else 1]})"
        if (
            action.default is None
            or action.default is False
            or action.default == argparse.SUPPRESS
            or action.default == []
            or action.nargs == 0  # --json, --show/--no-show, --version: flags
            or not (action.option_strings or action.nargs in ("?", "*"))
        ):
            return help
        return help + " (default: %(default)s)"


def _module(name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"digitreader.commands.{COMMANDS[name]}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digitreader",
        formatter_class=HelpFormatter,
        description="Read handwritten digits in drawings, photos, scans and video.",
        epilog="Run 'digitreader COMMAND --help' for a command's options.",
    )
    from digitreader import __version__

    parser.add_argument("--version", action="version", version=f"digitreader {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        if only is not None and name != only:
            # Listed in the main --help without importing the module.
            sub.add_parser(name, help=_HELP.get(name, ""), add_help=False)
            continue
        mod = _module(name)
        p = sub.add_parser(name, help=mod.HELP, description=mod.__doc__, formatter_class=HelpFormatter)
        mod.add_arguments(p)
    return parser


_HELP = {
    "train": "train a model on MNIST (needs the [train] extra)",
    "evaluate": "evaluate a model on the MNIST test set: metrics, confusion matrix, mistakes",
    "export": "export a trained PyTorch model to ONNX with its model card",
    "train-line": "train the CTC line reader for touching digits (needs the [train] extra)",
    "train-field": "train the field reader for numbers in documents (needs the [train] extra)",
    "bench-models": "train and evaluate the model zoo side by side",
    "data": "find, inspect and download MNIST; write the evaluation sets and test videos",
    "predict": "recognise the single digit in each image",
    "read": "read the number (one or more digits) in each image",
    "serve": "serve the web app and REST API",
    "watch": "read digits live from a camera or a video file",
    "corrections": "list, count, export, import and delete the corrections sent from the web page",
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=chosen if chosen in COMMANDS else "")
    args = parser.parse_args(argv)
    args.argv = argv  # recorded in model cards as the command that made them
    try:
        return int(_module(args.command).run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # A known failure (data, model, image) the command did not catch: its message, not a traceback.
        from digitreader.data.errors import DataError
        from digitreader.errors import DigitReaderError

        if not isinstance(exc, (DataError, DigitReaderError)):
            raise
        from digitreader.commands.common import fail

        return fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
