"""The shipped few-shot model's recipe, chosen on validation alphabets and tested on others.

Omniglot's two small background sets hold 8 distinct alphabets (242 characters; Latin and Greek
are in both, image for image). They are split once, by alphabet:

- validation: Early_Aramaic (22 characters), for checkpointing and for every choice of recipe;
- test: Sanskrit and Tagalog (59 characters), touched only by the final evaluation;
- training: the other five (161 characters) for the *test model*; the *shipped model* is trained
  by the same recipe on the test alphabets too (220 characters), so its own test accuracy cannot
  be measured here: the figures reported for it are the test model's.

Steps (each writes JSON into ``--out-dir``; ``report`` writes docs/benchmarks.md's section):

    python -m bench.bench_fewshot_recipe ablate --variant base --cpu-minutes 6
    python -m bench.bench_fewshot_recipe ablate --variant way60 --cpu-minutes 6
    python -m bench.bench_fewshot_recipe validate            # every ablation model, views, -T
    python -m bench.bench_fewshot_recipe test --model test_model.pt --old-model old.pt
    python -m bench.bench_fewshot_recipe report

Ablation runs differ from ``base`` in exactly one setting and get the same CPU time, so a change
that costs more per episode pays for it in episodes. Run each with one torch thread.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.bench_fewshot import training_record
from bench.report import machine_line, write_section

REPO = Path(__file__).resolve().parents[1]
OMNIGLOT = REPO.parent / "shared" / "data" / "images" / "omniglot"
ZIPS = [OMNIGLOT / "images_background_small1.zip", OMNIGLOT / "images_background_small2.zip"]
VAL_ALPHABETS = ["Early_Aramaic"]
TEST_ALPHABETS = ["Sanskrit", "Tagalog"]
DEFAULT_OUT = REPO / "bench" / "out" / "fewshot_recipe"
SETTINGS = [(5, 1), (5, 5), (20, 1), (20, 5)]
QUERIES = 5

# The previous shipped model's recipe, on the larger training set: the baseline of the ablation.
BASE: dict[str, Any] = {
    "method": "protonet", "n_way": 20, "k_shot": 1, "n_query": 5, "augment": True,
    "mirrors": True, "rotations": True, "lr_halve_every": 4000, "epoch_episodes": 250,
    "val_way": 20, "val_episodes": 100,
}  # fmt: skip
# One change each.
VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "way60": {"n_way": 60},
    "wide": {"method_options": {"hidden": 128}},
}
LABELS = {
    "base": "20-way training episodes, 64 filters (the previous recipe)",
    "way60": "60-way training episodes",
    "wide": "128 filters (backbone twice as wide)",
    "old": "*previous shipped model (small1's four alphabets, 114 characters; CPU time to its "
    "best epoch)*",
}


def load_all():
    from metarec.fewshot.data import load_image_sets

    return load_image_sets(ZIPS)


def test_model_splits(data: Any) -> tuple[Any, Any, Any]:
    """(training, validation, test) classes of the test model."""
    from metarec.fewshot.data import split_by_groups

    rest, test = split_by_groups(data, TEST_ALPHABETS)
    train, val = split_by_groups(rest, VAL_ALPHABETS)
    return train, val, test


def ablate(args: argparse.Namespace) -> None:
    from metarec.fewshot.device import keep_freed_memory
    from metarec.fewshot.train import TrainConfig, train

    keep_freed_memory()
    out = Path(args.out_dir)
    train_set, val_set, _ = test_model_splits(load_all())
    settings = {**BASE, **VARIANTS[args.variant]}
    config = TrainConfig(
        **settings, episodes=10**7, seed=args.seed, device="cpu",
        cpu_time_limit_s=60 * args.cpu_minutes,
    )  # fmt: skip
    print(f"{args.variant}: {train_set.n_classes} training classes, {args.cpu_minutes} CPU-min")
    result = train(
        config, train_set, val_set, out / f"ablate_{args.variant}.pt",
        on_epoch=lambda r: print(
            f"  {r.episodes:6d} episodes  val {100 * r.val_accuracy:.1f}  cpu {r.cpu_seconds:.0f}s",
            flush=True,
        ),
    )  # fmt: skip
    record = {
        "variant": args.variant,
        "settings": settings,
        **training_record(result, args.cpu_minutes),
        "checkpoint_val": result.best_val.as_dict(),
    }
    (out / f"ablate_{args.variant}.json").write_text(json.dumps(record, indent=2))


def _score(model: Any, data: Any, ways: int, shots: int, views: int, transductive: bool,
           episodes: int) -> dict[str, Any]:
    from metarec.fewshot.evaluate import evaluate

    started = time.process_time()
    accuracy = evaluate(model, data, ways, shots, QUERIES, episodes, seed=0, views=views,
                        transductive=transductive)
    return {**accuracy.as_dict(), "cpu_seconds": round(time.process_time() - started, 1)}


def validate(args: argparse.Namespace) -> None:
    """Every ablation model on 1,000 validation episodes, 20-way 1-shot: 1 and 8 views, and
    transductive refinement (which uses the queries) on top."""
    from metarec.fewshot.checkpoint import load_checkpoint

    out = Path(args.out_dir)
    _, val_set, _ = test_model_splits(load_all())
    if args.old_model is not None:
        # The previous shipped model never trained on the validation alphabet either.
        _, meta = load_checkpoint(args.old_model)
        (out / "ablate_old.json").write_text(json.dumps({
            "variant": "old", "episodes": meta.get("episodes_trained"),
            "best_episode": meta.get("episodes_trained"),
            "cpu_budget_minutes": round(meta.get("train_cpu_seconds", 0) / 60, 1),
        }))  # fmt: skip
    for variant in [*VARIANTS, "old"]:
        path = out / f"ablate_{variant}.json"
        if not path.exists():
            continue
        record = json.loads(path.read_text())
        checkpoint = args.old_model if variant == "old" else out / f"ablate_{variant}.pt"
        model, _ = load_checkpoint(checkpoint)
        record["val"] = {}
        for views in (1, 8):
            for transductive in (False, True):
                key = f"views{views}" + ("_transductive" if transductive else "")
                record["val"][key] = _score(model, val_set, 20, 1, views, transductive,
                                            args.episodes)
                print(f"{variant} {key}: {100 * record['val'][key]['accuracy']:.2f}", flush=True)
        path.write_text(json.dumps(record, indent=2))


def test(args: argparse.Namespace) -> None:
    """The test model (and the previous shipped model) on the test alphabets."""
    from metarec.fewshot.checkpoint import load_checkpoint

    out = Path(args.out_dir)
    _, _, test_set = test_model_splits(load_all())
    for name, path in (("new", args.model), ("old", args.old_model)):
        if path is None:
            continue
        model, meta = load_checkpoint(path)
        trained_on = set(meta.get("train_alphabets", []))
        if trained_on & set(TEST_ALPHABETS):
            raise SystemExit(f"{path} was trained on a test alphabet")
        record: dict[str, Any] = {"model": str(path), "meta": meta, "test": {}}
        for ways, shots in SETTINGS:
            for views in (1, 8):
                for transductive in (False, True):
                    key = f"{ways}w{shots}s_views{views}" + ("_T" if transductive else "")
                    record["test"][key] = _score(model, test_set, ways, shots, views,
                                                 transductive, args.episodes)
                    print(f"{name} {key}: {100 * record['test'][key]['accuracy']:.2f}", flush=True)
        (out / f"test_{name}.json").write_text(json.dumps(record, indent=2))


def _cell(result: dict[str, Any] | None) -> str:
    if not result:
        return "—"
    return f"{100 * result['accuracy']:.1f} ± {100 * result['ci95']:.1f}"


def _minutes(record: dict[str, Any]) -> str:
    if "cpu_seconds" in record:
        return f"{record['cpu_seconds'] / 60:.1f} min of {record['cpu_budget_minutes']:g}"
    return f"{record['cpu_budget_minutes']:g} min"


def render(out: Path) -> str:
    import torch

    ablations = [json.loads(p.read_text()) for v in [*VARIANTS, "old"]
                 if (p := out / f"ablate_{v}.json").exists()]
    tests = {n: json.loads(p.read_text()) for n in ("new", "old")
             if (p := out / f"test_{n}.json").exists()}
    lines = [
        "## Few-shot recipe: validation ablation and test (Omniglot)",
        "",
        f"Written by `bench/bench_fewshot_recipe.py`, {machine_line()}, torch {torch.__version__}.",
        "",
        "Omniglot's two small background sets hold 8 distinct alphabets (242 characters). "
        f"Validation: {', '.join(VAL_ALPHABETS)} (22 characters). Test: "
        f"{', '.join(TEST_ALPHABETS)} (59 characters), used by nothing but the test table. "
        "Training: the other five alphabets (Balinese, Greek, Japanese (katakana), Korean, "
        "Latin; 161 characters).",
        "",
        "### Ablation on the validation alphabet",
        "",
        "`python -m bench.bench_fewshot_recipe ablate --variant V --cpu-minutes 6` for each row, "
        "then `validate --old-model OLD.pt`.",
        "",
        "Each row changes one setting of the base recipe (20-way 1-shot training episodes, "
        "5 queries, rotations and mirrors as new classes, random affine distortions, Adam 1e-3 "
        "halved every 4,000 episodes) and gets the same CPU budget (one thread; checked after "
        "every 250 episodes, so a run ends in the epoch that passes it); the best "
        "checkpoint (validated every 250 episodes on 100 fixed episodes) is then scored on "
        "1,000 other 20-way 1-shot validation episodes, 5 queries, 95% CI. 'Transductive' "
        "refines the prototypes with the episode's queries (`--transductive`): it uses the "
        "query set, so it is reported apart.",
        "",
        "| change | CPU time | episodes (best at) | 1 view | 8 views | 1 view, transductive "
        "| 8 views, transductive |",
        "|---|---|---|---|---|---|---|",
    ]
    for record in ablations:
        val = record.get("val", {})
        lines.append(
            f"| {LABELS[record['variant']]} | {_minutes(record)} "
            f"| {record['episodes']} ({record['best_episode']}) | {_cell(val.get('views1'))} "
            f"| {_cell(val.get('views8'))} | {_cell(val.get('views1_transductive'))} "
            f"| {_cell(val.get('views8_transductive'))} |"
        )
    if tests:
        lines += [
            "",
            "### Test alphabets",
            "",
            "`python -m bench.bench_fewshot_recipe test --model TEST_MODEL.pt --old-model OLD.pt`"
            " (the test model's training command is in knowledge_base/fewshot/MODEL_CARD.md).",
            "",
            "1,000 seeded episodes per setting, 5 queries per class, 95% CI; the same episodes "
            "for both models. 'New' is the *test model* of the new recipe (60-way episodes, "
            "trained with the test alphabets held out; a model trained by it on all 8 alphabets "
            "but the validation one could not be tested here). 'Old' is the shipped model "
            "(trained on small1's Korean, Latin, Balinese, Greek), which never saw these "
            "alphabets either. 8 views is `metarec fewshot predict`'s default; "
            "'transductive' (`--transductive`) uses each episode's queries.",
            "",
            "| setting | old, 1 view | old, 8 views | old, 8 views, transductive | new, 1 view "
            "| new, 8 views | new, 8 views, transductive |",
            "|---|---|---|---|---|---|---|",
        ]
        for ways, shots in SETTINGS:
            key = f"{ways}w{shots}s"
            old, new = tests.get("old", {}).get("test", {}), tests.get("new", {}).get("test", {})
            lines.append(
                f"| {ways}-way {shots}-shot | {_cell(old.get(key + '_views1'))} "
                f"| {_cell(old.get(key + '_views8'))} | {_cell(old.get(key + '_views8_T'))} "
                f"| {_cell(new.get(key + '_views1'))} "
                f"| {_cell(new.get(key + '_views8'))} | {_cell(new.get(key + '_views8_T'))} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["ablate", "validate", "test", "report"])
    parser.add_argument("--variant", choices=list(VARIANTS), default="base")
    parser.add_argument("--cpu-minutes", type=float, default=6.0)
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--old-model", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out-dir", default=str(DEFAULT_OUT))
    args = parser.parse_args()
    if not all(z.exists() for z in ZIPS):
        raise SystemExit(f"needs the Omniglot zips in {OMNIGLOT}")
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    if args.step != "report":
        import torch

        torch.set_num_threads(args.threads)
    if args.step == "ablate":
        ablate(args)
    elif args.step == "validate":
        validate(args)
    elif args.step == "test":
        test(args)
    else:
        write_section("fewshot_recipe", render(Path(args.out_dir)))


if __name__ == "__main__":
    main()
