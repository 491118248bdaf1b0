"""Few-shot benchmark: every method trained on Omniglot small1, tested on unseen alphabets.

Each method is meta-trained on ``images_background_small1.zip`` (one alphabet held out for
validation-based checkpointing) for the same CPU-time budget, then tested on the alphabets of
``images_background_small2.zip`` that small1 lacks, 5-/20-way x 1-/5-shot, with 95% CIs. With a
CUDA GPU present, each method is trained again on it for the same number of episodes and the
time ratio is reported. Results go to docs/benchmarks.md (section ``fewshot``).

    python -m bench.bench_fewshot --cpu-minutes 4                      # everything
    python -m bench.bench_fewshot --methods maml,fomaml --no-write     # some methods, keep JSON
    python -m bench.bench_fewshot --report-only                        # table from saved JSON

Per-method results are saved as JSON in ``--out-dir`` so that methods can run as separate
processes and the table can be written at the end.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from bench.report import machine_line, write_section

REPO = Path(__file__).resolve().parents[1]
OMNIGLOT = REPO.parent / "shared" / "data" / "images" / "omniglot"
TRAIN_ZIP = OMNIGLOT / "images_background_small1.zip"
TEST_ZIP = OMNIGLOT / "images_background_small2.zip"
SHIPPED = REPO / "knowledge_base" / "fewshot" / "protonet_omniglot.pt"
DEFAULT_OUT = REPO / "bench" / "out" / "fewshot"
SETTINGS = [(5, 1), (5, 5), (20, 1), (20, 5)]

# Training episodes: metric methods train 20-way (higher way than tested helps, Snell et al.);
# MAML trains 5-way with a meta-batch of 4 tasks, as its cost grows with the support set.
SETUPS: dict[str, dict[str, Any]] = {
    "protonet": {"method": "protonet", "n_way": 20, "k_shot": 1, "n_query": 5},
    "matching": {"method": "matching", "n_way": 20, "k_shot": 1, "n_query": 5},
    "siamese": {"method": "siamese", "n_way": 20, "k_shot": 1, "n_query": 5},
    "fomaml": {
        "method": "maml", "n_way": 5, "k_shot": 1, "n_query": 5, "meta_batch": 4,
        "method_options": {"first_order": True},
    },
    "maml": {
        "method": "maml", "n_way": 5, "k_shot": 1, "n_query": 5, "meta_batch": 4,
        "method_options": {"first_order": False},
    },
}  # fmt: skip
LABELS = {
    "protonet": "Prototypical network",
    "matching": "Matching network",
    "siamese": "Siamese network",
    "fomaml": "MAML, first-order",
    "maml": "MAML, second-order",
    "shipped": "Shipped prototypical network",
    "shipped_views": "Shipped prototypical network, 8 views (predict's default)",
}
# Published 5w1s / 5w5s / 20w1s / 20w5s accuracies (%) with the full Omniglot background set.
REFERENCES = {
    "Prototypical network (Snell et al., 2017)": (98.8, 99.7, 96.0, 98.9),
    "MAML (Finn et al., 2017)": (98.7, 99.9, 95.8, 98.9),
    "Matching network (Vinyals et al., 2016)": (98.1, 98.9, 93.8, 98.5),
}


def load_splits(seed: int):
    """(train, validation, test) image sets; test = small2's alphabets that small1 lacks."""
    from metarec.fewshot.data import load_image_set, split_by_groups, validation_split

    small1, small2 = load_image_set(TRAIN_ZIP), load_image_set(TEST_ZIP)
    train, val, _ = validation_split(small1, 0.15, seed, by="alphabets")
    _, test = split_by_groups(small2, sorted(set(small2.groups) - set(small1.groups)))
    return train, val, test


def evaluate_all(model: Any, test: Any, episodes: int, queries: int, seed: int,
                 views: int = 1) -> dict[str, Any]:
    from metarec.fewshot.evaluate import evaluate

    results = {}
    for ways, shots in SETTINGS:
        accuracy = evaluate(model, test, ways, shots, queries, episodes, seed=seed, views=views)
        results[f"{ways}w{shots}s"] = accuracy.as_dict()
        print(f"  {ways}-way {shots}-shot: {accuracy}", flush=True)
    return results


def training_record(result: Any, cpu_minutes: float) -> dict[str, Any]:
    """What a training run cost and where its best checkpoint stood, for a bench record."""
    import torch

    return {
        "episodes": result.episodes,
        "best_episode": result.history[result.best_epoch - 1].episodes,
        "cpu_seconds": result.cpu_seconds,
        "wall_seconds": result.seconds,
        "threads": torch.get_num_threads(),
        "cpu_budget_minutes": cpu_minutes,
    }


def run_method(name: str, args: argparse.Namespace, splits: tuple) -> dict[str, Any]:
    import torch

    from metarec.fewshot.train import TrainConfig, train

    train_set, val_set, test_set = splits
    setup = SETUPS[name]
    config = TrainConfig(
        **setup, episodes=10**7, epoch_episodes=args.epoch_episodes, val_way=5,
        val_episodes=100, seed=args.seed, device="cpu", cpu_time_limit_s=60 * args.cpu_minutes,
    )  # fmt: skip
    checkpoint = Path(args.out_dir) / f"{name}.pt"
    print(f"{name}: training on the CPU for {args.cpu_minutes} CPU-minutes", flush=True)
    result = train(config, train_set, val_set, checkpoint)
    record: dict[str, Any] = {
        "method": name,
        "train_setup": f"{setup['n_way']}-way {setup['k_shot']}-shot, {setup['n_query']} queries"
        + (f", meta-batch {setup['meta_batch']}" if "meta_batch" in setup else ""),
        **training_record(result, args.cpu_minutes),
        "queries": args.queries,
        "val_accuracy": result.best_val.mean,
    }
    print(f"  {result.episodes} episodes, {result.cpu_seconds:.0f} CPU-s", flush=True)
    # MAML adapts by gradient steps in every test episode, ~100x the cost of a metric method's
    # episode (those are scored from cached embeddings), so it may get fewer test episodes.
    episodes = args.maml_eval_episodes if setup["method"] == "maml" else args.eval_episodes
    record["eval_episodes"] = episodes
    record["test"] = evaluate_all(result.model, test_set, episodes, args.queries, 0)
    if torch.cuda.is_available():
        gpu_config = TrainConfig(
            **setup, episodes=result.episodes, epoch_episodes=result.episodes, val_way=5,
            val_episodes=100, seed=args.seed, device="cuda",
        )  # fmt: skip
        started = time.perf_counter()
        train(gpu_config, train_set, val_set, Path(args.out_dir) / f"{name}-gpu.pt")
        torch.cuda.synchronize()
        record["gpu_seconds"] = time.perf_counter() - started
        record["gpu_name"] = torch.cuda.get_device_name()
    return record


def evaluate_shipped(args: argparse.Namespace, test_set: Any, views: int = 1
                     ) -> dict[str, Any] | None:
    """The shipped model on the test episodes; ``views`` > 1 as `fewshot predict` runs it."""
    if not SHIPPED.exists():
        return None
    from metarec.fewshot.checkpoint import load_checkpoint

    model, meta = load_checkpoint(SHIPPED)
    seen = set(meta.get("train_alphabets", [])) & set(test_set.groups)
    if seen:
        # Since the shipped model trains on every alphabet but its validation one, its test
        # figures come from a model trained by its recipe without the test alphabets
        # (bench/bench_fewshot_recipe.py), not from scoring it on what it has seen.
        print(f"shipped model skipped: it was trained on {', '.join(sorted(seen))}", flush=True)
        return None
    print(f"shipped model, {views} view(s):", flush=True)
    return {
        "method": "shipped" if views == 1 else "shipped_views",
        "views": views,
        "train_setup": _setup_text(meta.get("train_config", {})) + " (see MODEL_CARD.md)",
        "episodes": meta.get("episodes_trained"),
        "cpu_seconds": meta.get("train_cpu_seconds"),
        "eval_episodes": args.eval_episodes,
        "test": evaluate_all(model, test_set, args.eval_episodes, args.queries, 0, views),
    }


def _setup_text(config: dict[str, Any]) -> str:
    text = f"{config.get('n_way')}-way {config.get('k_shot')}-shot, {config.get('n_query')} queries"
    text += ", mirrored classes" if config.get("mirrors") else ""
    return text + (", augmented" if config.get("augment") else "")


def fmt_accuracy(result: dict[str, Any] | None) -> str:
    if not result:
        return "—"
    return f"{100 * result['accuracy']:.1f} ± {100 * result['ci95']:.1f}"


def render(records: list[dict[str, Any]]) -> str:
    trained = [r for r in records if not r["method"].startswith("shipped")]
    budget = max((r["cpu_budget_minutes"] for r in trained), default=0)
    episodes = max((r["eval_episodes"] for r in trained), default=0)
    queries = trained[0]["queries"] if trained else 0
    maml_episodes = {r["eval_episodes"] for r in trained if r["method"] in ("maml", "fomaml")}
    maml_flag = "".join(f" --maml-eval-episodes {n}" for n in maml_episodes if n != episodes)
    lines = [
        "## Few-shot learning (Omniglot)",
        "",
        f"Written by `bench/bench_fewshot.py` (`python -m bench.bench_fewshot --cpu-minutes "
        f"{budget:g}{maml_flag}`), {machine_line()}, torch {_torch_version()}.",
        "",
        "Trained on `images_background_small1.zip` (Korean, Latin, Balinese, Greek, "
        "Early_Aramaic; one alphabet held out for validation-based checkpointing; rotations by "
        "90/180/270 degrees as new classes); tested on the alphabets of "
        "`images_background_small2.zip` that small1 lacks: Japanese (katakana), Sanskrit, "
        f"Tagalog (106 characters, never seen in training). Test accuracy (%) with 95% CI over "
        f"{episodes} seeded episodes per setting (fewer where the 'test episodes' column says "
        f"so), {queries} queries per class, the same episodes for every method. Images are "
        "28x28, Conv-4 with 64 filters.",
        "",
        "Every method below got the same CPU-time budget for training "
        f"({budget:g} CPU-minutes, one thread, on a machine shared with other jobs), "
        "so the table compares what each method learns per unit of CPU, not converged models; "
        "'training episodes' is how many episodes fit into that budget (checked after every "
        "200), 'CPU time' is the training process's CPU time (wall time on the shared machine "
        "was several times longer). The shipped model's rows are the default model of "
        "`metarec fewshot predict`, trained longer (knowledge_base/fewshot/MODEL_CARD.md) and "
        "evaluated on the same test episodes: as trained (one view), and as `predict` runs it "
        "(every image's embedding averaged over itself and 7 seeded small random distortions, "
        "`--views 8`).",
        "",
        "| method | 5-way 1-shot | 5-way 5-shot | 20-way 1-shot | 20-way 5-shot | test episodes "
        "| trained on | training episodes | CPU time | GPU time (ratio) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for record in records:
        tests = record.get("test", {})
        cells = [fmt_accuracy(tests.get(f"{w}w{s}s")) for w, s in SETTINGS]
        cpu = record.get("cpu_seconds")
        gpu = record.get("gpu_seconds")
        if record["method"].startswith("shipped"):
            gpu_cell = "—"
        elif gpu and cpu:
            gpu_cell = f"{gpu:.0f} s ({cpu / gpu:.1f}x faster, {record.get('gpu_name')})"
        else:
            gpu_cell = "no GPU available"
        lines.append(
            f"| {LABELS[record['method']]} | "
            + " | ".join(cells)
            + f" | {record['eval_episodes']} | {record['train_setup']} "
            f"| {record.get('episodes', '—')} | {f'{cpu / 60:.1f} min' if cpu else '—'} "
            f"| {gpu_cell} |"
        )
    for label, values in REFERENCES.items():
        cells = [f"{v:.1f}" for v in values]
        row = " | ".join(cells)
        lines.append(f"| *{label}, published* | {row} | — | 1,200 characters | — | — | — |")
    lines += [
        "",
        "The published figures train on far more characters (1,200 in Vinyals et al.'s split, "
        "against 114 here) for tens of thousands of episodes, so they are an upper reference, "
        "not a like-for-like comparison. "
        "MAML adapts with 3 gradient steps at test time; its head starts from one learned "
        "vector shared by all classes, so the 5-way-trained model also runs 20-way episodes. "
        "MAML is the furthest from convergence here (a few hundred meta-updates, against "
        "60,000 in Finn et al.); where its 5-shot accuracy falls below its 1-shot accuracy, "
        "the learned start is not yet stable under 3 steps on a larger support set.",
    ]
    return "\n".join(lines)


def _torch_version() -> str:
    import torch

    return torch.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(SETUPS))
    parser.add_argument("--cpu-minutes", type=float, default=4.0)
    parser.add_argument("--epoch-episodes", type=int, default=200)
    parser.add_argument("--eval-episodes", type=int, default=1000)
    parser.add_argument("--maml-eval-episodes", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out-dir", default=str(DEFAULT_OUT))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="Keep JSON, skip the table.")
    args = parser.parse_args()
    if not TRAIN_ZIP.exists():
        raise SystemExit(f"needs the Omniglot zips in {OMNIGLOT}")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        import torch

        torch.set_num_threads(args.threads)
        splits = load_splits(args.seed)
        for name in filter(None, args.methods.split(",")):
            record = run_method(name, args, splits)
            (out / f"{name}.json").write_text(json.dumps(record, indent=2))
        from metarec.fewshot.predict import DEFAULT_VIEWS

        for views in (1, DEFAULT_VIEWS):
            shipped = evaluate_shipped(args, splits[2], views)
            if shipped is not None:
                (out / f"{shipped['method']}.json").write_text(json.dumps(shipped, indent=2))
    if args.no_write:
        return
    order = [*SETUPS, "shipped", "shipped_views"]
    files = [out / f"{name}.json" for name in order]
    records = [json.loads(file.read_text()) for file in files if file.exists()]
    write_section("fewshot", render(records))
    print(f"wrote the fewshot section of docs/benchmarks.md ({platform.node()})")


if __name__ == "__main__":
    main()
