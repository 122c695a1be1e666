"""Resuming a run: the checkpoint's own settings; a conflicting option is refused in one line.

Options that say *what* is trained (model, epochs, learning rate, data limits ...) come from the
checkpoint; only where and how fast (data folder, device, threads, jobs, target) from the command.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from digitreader.training import checkpoint
from digitreader.training.checkpoint import CheckpointError
from digitreader.training.train import TrainConfig

RUNTIME = ("data_dir", "out_dir", "device", "threads", "jobs", "target_acc")
RECIPE = ("epochs", "batch_size", "optimizer", "lr", "weight_decay", "label_smoothing", "ema_decay", "augment")
# Each command-line option -> the settings it decides.
OPTIONS: dict[str, tuple[str, ...]] = {
    "--model": ("model",),
    "--recipe": RECIPE,
    "--epochs": ("epochs",),
    "--batch-size": ("batch_size",),
    "--lr": ("lr",),
    "--optimizer": ("optimizer",),
    "--weight-decay": ("weight_decay",),
    "--label-smoothing": ("label_smoothing",),
    "--ema": ("ema_decay",),
    "--no-augment": ("augment",),
    "--elastic": ("augment",),
    "--seed": ("seed",),
    "--tiny": ("limit_train", "limit_test", "epochs"),
    "--limit-train": ("limit_train",),
    "--init": ("init",),
    "--pipeline-digits": ("pipeline_digits",),
    "--pipeline-pieces": ("pipeline_pieces",),
}


def resume_config(cfg: TrainConfig, argv: list[str]) -> tuple[TrainConfig, list[str]]:
    """The configuration to resume ``cfg.out_dir``'s run with, and warnings to show.

    ``cfg`` is what the command line asked for and ``argv`` the options given. Raises
    ``CheckpointError`` when the checkpoint is damaged (and no previous one is kept) or when a
    given option contradicts it. Without a checkpoint the run starts afresh with ``cfg``.
    """
    found = checkpoint.load_latest(Path(cfg.out_dir) / "last.pt")
    if found is None:
        return cfg, []
    state, path, problems = found
    saved = TrainConfig.from_dict(state["config"])
    given = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    conflicts = []
    for option in sorted(given & OPTIONS.keys()):
        differ = [n for n in OPTIONS[option] if getattr(cfg, n) != getattr(saved, n)]
        if differ:
            was = ", ".join(f"{n}={getattr(saved, n)!r}" for n in differ)
            conflicts.append(f"{option} (the checkpoint has {was})")
    if conflicts:
        raise CheckpointError(
            f"{path} was written by a different run: {'; '.join(conflicts)}. A resumed run keeps its "
            "checkpoint's settings: drop these options, or train into another --out without --resume"
        )
    notes = [f"{p}; resuming from {path.name} (epoch {state['epoch'] + 1})" for p in problems]
    return replace(saved, **{n: getattr(cfg, n) for n in RUNTIME}), notes
