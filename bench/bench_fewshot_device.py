"""The shipped few-shot recipe trained on a GPU and on the CPU: time per episode, same accuracy.

One prepared run for a machine with a CUDA GPU. The recipe is the shipped model's, read from its
checkpoint (knowledge_base/fewshot/protonet_omniglot.pt); the split is the recipe benchmark's
(bench/bench_fewshot_recipe.py: five training alphabets, Early_Aramaic for validation, Sanskrit
and Tagalog for the test). Each device trains the recipe from the same seed for the same number
of episodes (CUDA with its mixed precision, the CPU in float32), the time per episode is taken
after a warm-up (CUDA synchronised), and both models are scored on the same seeded test episodes,
each on its own device and precision. Reported: seconds per episode, the speed-up, and whether
the two accuracies agree within their 95% intervals.

    python -m bench.bench_fewshot_device --episodes 2000 --record OUT.json --no-write  # cuda, cpu
    python -m bench.bench_fewshot_device --report-only --record OUT.json   # writes the section

The Omniglot zips sit beside the repository (``../shared``); where they do not, pass each with
``--data``. ``--devices cpu`` runs the CPU half alone (how the tests run it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench import bench_fewshot_recipe as recipe
from bench.report import machine_line, write_section

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "knowledge_base" / "fewshot" / "protonet_omniglot.pt"
DEFAULT_RECORD = REPO / "bench" / "out" / "fewshot_device.json"
SETTINGS = [(5, 1), (20, 1)]
# Settings that say how long or where to train, not what: the run sets them itself.
RUN_SETTINGS = {"episodes", "epoch_episodes", "device", "time_limit_s", "cpu_time_limit_s",
                "seed"}


def shipped_recipe(checkpoint: Path = SHIPPED) -> dict[str, Any]:
    """The training configuration stored in the shipped model, less how long and where."""
    from metarec.fewshot.checkpoint import load_checkpoint

    _, meta = load_checkpoint(checkpoint)
    return {k: v for k, v in meta["train_config"].items() if k not in RUN_SETTINGS}


def train_on(device: str, settings: dict[str, Any], splits: tuple, episodes: int, warmup: int,
             seed: int, out_dir: Path) -> dict[str, Any]:
    """Train ``settings`` on ``device`` for ``episodes``; time the episodes after ``warmup``."""
    import torch

    from metarec.fewshot.device import amp_dtype, select_device
    from metarec.fewshot.train import TrainConfig, train

    train_set, val_set, _ = splits
    chosen = select_device(device)
    marks: dict[int, float] = {}

    def mark(done: int) -> None:
        if done in (warmup, episodes):
            if chosen.type == "cuda":
                torch.cuda.synchronize()  # kernels run asynchronously: wait for them to finish
            marks[done] = time.perf_counter()

    # One epoch: the only validation comes after the last timed episode.
    config = TrainConfig(**settings, episodes=episodes, epoch_episodes=episodes, seed=seed,
                         device=device)
    print(f"{device}: training {episodes} episodes", flush=True)
    result = train(config, train_set, val_set, out_dir / f"fewshot_device_{chosen.type}.pt",
                   on_step=mark)
    timed = episodes - warmup
    seconds = marks[episodes] - marks[warmup]
    amp = amp_dtype(chosen)
    record = {
        "device": chosen.type,
        "device_name": torch.cuda.get_device_name(chosen) if chosen.type == "cuda" else "CPU",
        "precision": str(amp).removeprefix("torch.") if amp else "float32",
        "threads": torch.get_num_threads(),
        "episodes": episodes,
        "timed_episodes": timed,
        "seconds_per_episode": seconds / timed,
        "train_seconds": result.seconds,
    }
    print(f"  {1000 * record['seconds_per_episode']:.1f} ms per episode", flush=True)
    return record | {"model": result.model}


def score(model: Any, test_set: Any, episodes: int, queries: int) -> dict[str, Any]:
    from metarec.fewshot.device import amp_dtype
    from metarec.fewshot.evaluate import evaluate

    # The model's own device and, on CUDA, its mixed precision: as predict would run it.
    device = next(model.parameters()).device
    results = {}
    for ways, shots in SETTINGS:
        accuracy = evaluate(model, test_set, ways, shots, queries, episodes, seed=0,
                            device=device, amp=amp_dtype(device))
        results[f"{ways}w{shots}s"] = accuracy.as_dict()
        print(f"  {ways}-way {shots}-shot: {accuracy}", flush=True)
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from metarec.fewshot.data import load_image_sets, split_by_groups
    from metarec.fewshot.device import select_device

    for device in args.devices:
        select_device(device)  # one sentence, before any data is read, if a device is missing
    data = load_image_sets(args.data)
    rest, test_set = split_by_groups(data, args.test_alphabets)
    train_set, val_set = split_by_groups(rest, args.val_alphabets)
    settings = shipped_recipe(args.recipe)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {
        "machine": machine_line(),
        "torch": torch.__version__,
        "recipe": settings,
        "recipe_from": args.recipe.name,
        "train_alphabets": train_set.group_names(),
        "val_alphabets": val_set.group_names(),
        "test_alphabets": test_set.group_names(),
        "eval_episodes": args.eval_episodes,
        "queries": args.queries,
        "runs": [],
    }
    for device in args.devices:
        run_record = train_on(device, settings, (train_set, val_set, test_set), args.episodes,
                              args.warmup, args.seed, args.out_dir)
        model = run_record.pop("model")
        run_record["test"] = score(model, test_set, args.eval_episodes, args.queries)
        record["runs"].append(run_record)
    return record


def agreement(runs: list[dict[str, Any]], key: str) -> tuple[float, float] | None:
    """(first minus second accuracy, the half-width of their combined 95% interval)."""
    if len(runs) < 2:
        return None
    first, second = runs[0]["test"][key], runs[1]["test"][key]
    return (first["accuracy"] - second["accuracy"],
            (first["ci95"] ** 2 + second["ci95"] ** 2) ** 0.5)


def render(record: dict[str, Any]) -> str:
    runs = record["runs"]
    baseline = next((r for r in runs if r["device"] == "cpu"), runs[-1])
    recipe_text = ", ".join(f"{k} {v}" for k, v in record["recipe"].items()
                            if v not in (None, {}, False))
    lines = [
        "## Few-shot training on a GPU beside the CPU (`bench/bench_fewshot_device.py`)",
        "",
        f"{record['machine']}, torch {record['torch']}.",
        "",
        f"The shipped model's recipe (read from `{record['recipe_from']}`: {recipe_text}), "
        f"trained on each device from the same seed for {runs[0]['episodes']} episodes; "
        f"seconds per episode over the last {runs[0]['timed_episodes']} (CUDA synchronised). "
        f"Training alphabets: {', '.join(record['train_alphabets'])}; validation: "
        f"{', '.join(record['val_alphabets'])}; test: {', '.join(record['test_alphabets'])}. "
        f"Each model is scored on its own device and precision, on the same "
        f"{record['eval_episodes']} seeded test episodes ({record['queries']} queries per "
        "class, 95% CI, 1 view).",
        "",
        "| device | precision | torch threads | ms per episode | speed-up | "
        + " | ".join(f"{w}-way {s}-shot" for w, s in SETTINGS) + " |",
        "|---|---|---:|---:|---:|" + "---|" * len(SETTINGS),
    ]
    for run in runs:
        speed_up = baseline["seconds_per_episode"] / run["seconds_per_episode"]
        cells = " | ".join(
            f"{100 * run['test'][f'{w}w{s}s']['accuracy']:.1f} ± "
            f"{100 * run['test'][f'{w}w{s}s']['ci95']:.1f}" for w, s in SETTINGS
        )
        lines.append(f"| {run['device_name']} | {run['precision']} | {run['threads']} "
                     f"| {1000 * run['seconds_per_episode']:.1f} | {speed_up:.1f}x | {cells} |")
    for ways, shots in SETTINGS:
        found = agreement(runs, f"{ways}w{shots}s")
        if found is None:
            continue
        difference, half_width = found
        verdict = "agree" if abs(difference) <= half_width else "do not agree"
        lines.append("")
        lines.append(
            f"{ways}-way {shots}-shot, {runs[0]['device_name']} minus "
            f"{runs[1]['device_name']}: {100 * difference:+.1f} points; the combined 95% "
            f"interval is ±{100 * half_width:.1f}: the two {verdict}."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", nargs="+", default=["cuda", "cpu"])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100,
                        help="episodes left out of the timing (CUDA start-up, autotuning)")
    parser.add_argument("--eval-episodes", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=recipe.QUERIES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, action="append", default=None)
    parser.add_argument("--val-alphabets", nargs="+", default=recipe.VAL_ALPHABETS)
    parser.add_argument("--test-alphabets", nargs="+", default=recipe.TEST_ALPHABETS)
    parser.add_argument("--recipe", type=Path, default=SHIPPED,
                        help="checkpoint whose stored training configuration is trained")
    parser.add_argument("--record", type=Path, default=DEFAULT_RECORD)
    parser.add_argument("--out-dir", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    args.data = args.data or recipe.ZIPS
    if not 0 < args.warmup < args.episodes:
        parser.error("--warmup must be at least 1 and below --episodes")
    if args.report_only:
        record = json.loads(args.record.read_text())
    else:
        from metarec.errors import MetaRecError

        try:
            record = run(args)
        except MetaRecError as error:
            sys.exit(f"error: {error}")
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps(record, indent=2))
    markdown = render(record)
    print(markdown)
    if not args.no_write:
        write_section("fewshot_device", markdown, after="fewshot_recipe")


if __name__ == "__main__":
    main()
