"""Training progress: a live bar (loss, accuracy, images/s) and one log line per epoch."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class EpochProgress:
    def __init__(self, epochs: int, samples: int, enabled: bool = True) -> None:
        self.epochs, self.samples, self.enabled = epochs, samples, enabled
        self.console = Console(stderr=True)
        self.bar = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  {task.fields[rate]:,.0f} img/s"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            disable=not enabled,
        )
        self.task = None
        self.t0 = time.perf_counter()
        self.seen = 0

    def __enter__(self) -> EpochProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.bar.__exit__(*exc)

    def start_epoch(self, epoch: int) -> None:
        self.t0, self.seen = time.perf_counter(), 0
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(
            "train", total=self.samples, epoch=epoch + 1, epochs=self.epochs, loss=float("nan"), rate=0.0
        )

    def advance(self, n: int, loss: float | None = None) -> None:
        self.seen += n
        fields = {"rate": self.seen / max(time.perf_counter() - self.t0, 1e-9)}
        if loss is not None:
            fields["loss"] = loss
        self.bar.update(self.task, advance=n, **fields)

    def end_epoch(self, row: dict[str, float]) -> None:
        """One log line per epoch, with or without the live bar."""
        self.console.print(
            f"epoch {row['epoch']:>3}/{self.epochs}  loss {row['train_loss']:.4f}  "
            f"train acc {row['train_acc']:.4%}  test acc {row['test_acc']:.4%}  "
            f"{row['train_seconds']:.1f} s"
        )
