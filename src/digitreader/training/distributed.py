"""Data-parallel training on a Ray cluster: Ray Train's ``TorchTrainer`` runs the same ``Trainer``
in N processes, the model wrapped in DDP (gloo on CPUs, NCCL on GPUs).

Every worker draws the same epoch order from the run's seed and steps on its share (one batch in
N) of every global batch of ``batch_size`` images, so the recipe (batch size, learning rate,
schedule, epochs) is the one-process recipe; each worker augments its images from its own
generator. DDP averages the gradients. Rank 0 alone writes ``last.pt`` after every epoch,
``history.json`` and ``model.pt``, in ``--out``, which must be a folder all nodes see (one machine,
or a shared file system). ``--resume``, and Ray's restart of a worker group after a worker died,
continue from ``last.pt`` as one process would.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from digitreader.data import load_mnist
from digitreader.errors import DigitReaderError
from digitreader.models import count_params, create_model
from digitreader.training.train import TrainConfig, Trainer, TrainResult

MAX_FAILURES = 3  # worker group restarts after a worker dies, each resuming from last.pt


class DistributedTrainer(Trainer):
    """One Ray Train worker's ``Trainer``: its share of each batch, gradients averaged by DDP."""

    def __init__(self, cfg: TrainConfig, rank: int, world: int, **kwargs: Any) -> None:
        self.rank, self.world = rank, world
        super().__init__(cfg, **kwargs)
        on_gpu = self.device.type == "cuda"
        self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=[self.device] if on_gpu else None)

    def _local(self, batch: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
        short = -len(batch) % self.world  # the last batch, topped up from the epoch's start: equal shares
        batch = torch.cat([batch, order[:short]]) if short else batch
        return batch[self.rank :: self.world]

    def _augment_generator(self, gen: torch.Generator, epoch: int) -> torch.Generator:
        seed = (self.cfg.seed * 100_003 + epoch) * 1_000 + self.rank + 1
        return torch.Generator(device=self.device).manual_seed(seed)

    def _sum(self, value: torch.Tensor) -> torch.Tensor:
        value = value.clone()
        dist.all_reduce(value)
        return value

    def _agree(self, value: float) -> float:
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return float(box[0])

    def _epoch_done(self, row: dict[str, float]) -> None:
        import ray.train

        # A marker checkpoint: after a restart, ray.train.get_checkpoint() says "resume from last.pt".
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "epoch").write_text(str(row["epoch"]))
            marker = ray.train.Checkpoint.from_directory(folder) if self.is_writer else None
            ray.train.report(row, checkpoint=marker)


def _worker(config: dict[str, Any]) -> None:
    """The loop each Ray Train worker runs."""
    import ray.train

    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    cfg = TrainConfig.from_dict(config["cfg"])
    resume = config["resume"] or ray.train.get_checkpoint() is not None  # asked for, or a restart
    trainer = DistributedTrainer(
        cfg, rank, world, resume=resume, show_progress=config["show_progress"] and rank == 0, command=config["command"]
    )
    trainer.run()


def train_distributed(
    cfg: TrainConfig,
    workers: int,
    address: str | None = None,
    *,
    resume: bool = False,
    command: str = "",
    show_progress: bool = True,
) -> TrainResult:
    """Train ``cfg`` on ``workers`` Ray Train workers (a Ray of this machine when ``address`` is None)."""
    import ray
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from digitreader.scale.cluster import connect
    from digitreader.training import checkpoint

    data = cfg.data_dir or os.environ.get("DIGITREADER_DATA")
    load_mnist("test", data)  # no data is a DataError here, not N failed workers and their restarts
    connect(address)
    gpus = ray.cluster_resources().get("GPU", 0)
    use_gpu = cfg.device == "cuda" or (cfg.device == "auto" and gpus >= workers)
    threads = cfg.threads or max(1, int(ray.cluster_resources().get("CPU", 1)) // workers)
    cfg = replace(
        cfg,
        out_dir=str(Path(cfg.out_dir).resolve()),  # workers do not share the driver's working directory
        data_dir=str(Path(data).resolve()) if data else None,
        device="cuda" if use_gpu else "cpu",
        threads=threads,
    )
    trainer = TorchTrainer(
        _worker,
        train_loop_config={"cfg": cfg.to_dict(), "resume": resume, "command": command, "show_progress": show_progress},
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu, resources_per_worker={"CPU": threads}),
        run_config=RunConfig(
            name="ray-train",
            storage_path=str(Path(cfg.out_dir) / "ray"),
            failure_config=FailureConfig(max_failures=MAX_FAILURES),
        ),
    )
    try:
        trainer.fit()
    except ray.train.TrainingFailedError as exc:
        raise DigitReaderError(f"distributed training failed: {exc}") from exc
    state = checkpoint.load(Path(cfg.out_dir) / "last.pt", "cpu")
    history = state["history"]
    return TrainResult(
        Path(cfg.out_dir),
        history,
        history[-1]["test_acc"] if history else 0.0,
        state["train_seconds"],
        state["seconds_to_target"],
        count_params(create_model(cfg.model)),
    )
