"""The study report is generated from run directories: numbers, verdicts and pictures."""

import json
import re
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from torchvision.utils import save_image

from gan.errors import UserError
from gan.report import study_plots
from gan.report.study import ms_per_step, threads_by_part, threads_said
from gan.report.study_page import write
from gan.run.machine import described
from gan.study import main


def fake_run(root: Path, name: str, discriminator: str, remedies: list[str], seed: int,
             fid: float, class_kl: float, overrides: tuple[str, ...] = (), steps: int = 101
             ) -> None:
    """A run directory as train.py leaves it in a sweep, with chosen final metrics: its config,
    its metrics.json, Hydra's record of its overrides (the remedies, the seed, then
    `overrides`) and its final digits."""
    run = root / name
    (run / "samples" / "final").mkdir(parents=True)
    (run / ".hydra").mkdir()
    target = {name: f"gan.core.networks.{name.upper()}Discriminator" for name in ("fc", "cnn")}
    target["dcgan"] = "gan.core.dcgan.DCGANDiscriminator"
    OmegaConf.save({"discriminator": {"_target_": target[discriminator]},
                    "remedy": {remedy: {} for remedy in remedies},
                    "train": {"seed": seed, "steps": steps}, "eval": {"n": 10000}},
                   run / "config.yaml")
    OmegaConf.save(OmegaConf.create([f"remedy=[{','.join(remedies)}]", f"train.seed={seed}",
                                     *overrides]), run / ".hydra" / "overrides.yaml")
    (run / "metrics.json").write_text(json.dumps({
        "status": "completed", "steps": steps, "modes_covered": 10 if fid < 50 else 3,
        "class_kl": class_kl, "fid": fid, "final_loss_g": 1.0, "final_loss_d": 0.5}))
    save_image(torch.rand(3, 8, 8), run / "samples" / "final" / "grid.png")


def test_results_page_has_tables_verdicts_and_pictures(tmp_path: Path) -> None:
    sweep = tmp_path / "multirun"
    for seed in range(3):
        fake_run(sweep, f"none{seed}", "fc", [], seed, fid=100 + seed, class_kl=1.0 + seed / 100)
        fake_run(sweep, f"fm{seed}", "fc", ["feature_matching"], seed, fid=20 + seed,
                 class_kl=0.1)
        fake_run(sweep, f"ls{seed}", "fc", ["label_smoothing"], seed, fid=101 - seed,
                 class_kl=1.01)
        fake_run(sweep, f"bad{seed}", "fc", ["balance", "ema"], seed, fid=300, class_kl=2.0)
    out = tmp_path / "docs" / "results.md"
    write(sweep, out)
    page = out.read_text()
    assert "| none | 3 | 3.0 ± 0.0 | 1.010 ± 0.010 | 101.0 ± 1.0 |" in page
    assert "**feature_matching** helps (fid 101 -> 21" in page
    assert "**label_smoothing** makes no clear difference" in page
    assert "**balance + ema** hurts" in page
    assert "helps: feature_matching" in page
    assert (tmp_path / "docs" / "results_pictures" / "fc_balance+ema.png").exists()
    assert page.index("| none |") < page.index("| feature_matching |")  # none first


def test_an_empty_sweep_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no finished runs"):
        write(tmp_path, tmp_path / "results.md")
    with pytest.raises(SystemExit, match="no finished runs"):
        main([str(tmp_path), str(tmp_path / "results.md")])


def test_failed_runs_are_left_out_and_named(tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    sweep = tmp_path / "multirun"
    for seed in range(2):
        fake_run(sweep, f"none{seed}", "fc", [], seed, fid=100 + seed, class_kl=1.0)
    diverged = sweep / "none2"
    diverged.mkdir()  # it failed before writing its config: only its metrics.json says so
    (diverged / "metrics.json").write_text(json.dumps({"status": "diverged", "reason": "NaN"}))
    fake_run(sweep, "none3", "fc", [], 3, fid=100, class_kl=1.0)
    (sweep / "none3" / "metrics.json").unlink()  # still training
    fake_run(sweep / "cnn", "none0", "cnn", [], 0, fid=100, class_kl=1.0)
    (sweep / "cnn" / "none0" / "metrics.json").unlink()  # another study, just begun
    main([str(sweep), str(tmp_path / "results.md")])
    page = (tmp_path / "results.md").read_text()
    assert "| none | 2 |" in page
    assert page.endswith(  # a page written while a study runs says what it does not count
        "## Not on this page\n\n"
        f"- 1 run under `{sweep}` (diverged, no config.yaml: NaN)\n"
        f"- 1 run under `{sweep}` (unknown: no metrics.json: killed, or still running)\n"
        f"- 1 run under `{sweep / 'cnn'}` (unknown: no metrics.json: killed, or still running)"
        "\n\n")
    out, err = capsys.readouterr()
    assert out == (f"wrote {tmp_path / 'results.md'}: 2 runs in 1 set-up, 3 left out, "
                   f"pictures in {tmp_path / 'results_pictures'}\n")
    assert f"left out: {diverged} (diverged, no config.yaml: NaN)" in err
    assert f"left out: {sweep / 'none3'} (unknown: no metrics.json: killed, or still running)" \
        in err


def test_a_diverged_run_with_its_config_is_counted_not_scored(tmp_path: Path) -> None:
    for seed in range(3):
        fake_run(tmp_path, f"none{seed}", "fc", [], seed, fid=100 + seed, class_kl=1.0)
    (tmp_path / "none2" / "metrics.json").write_text(json.dumps({"status": "diverged"}))
    write(tmp_path, tmp_path / "out.md")
    assert "| none | 2 (1 diverged) | 3.0 ± 0.0 | 1.000 ± 0.000 | 100.5 ± 0.7 |" in (
        tmp_path / "out.md").read_text()


def remedy_study(sweep: Path) -> None:
    """Both of the study's sweeps in miniature: each remedy set-up over three seeds, every run
    with its sweep's experiment override (the same within a discriminator)."""
    results = {"fc": {(): (100, 1.0), ("feature_matching",): (20, 0.1),
                      ("label_smoothing",): (101, 1.01), ("balance", "ema"): (300, 2.0)},
               "cnn": {(): (700, 2.2), ("feature_matching", "historical_averaging"): (400, 1.5)}}
    for disc, setups in results.items():
        for number, (remedies, (fid, class_kl)) in enumerate(setups.items()):
            for seed in range(3):
                fake_run(sweep / disc, f"{number * 3 + seed}_job", disc, list(remedies), seed,
                         fid=fid + seed, class_kl=class_kl + seed / 100,
                         overrides=(f"experiment=remedy_study_{disc}",))


def test_the_remedy_study_keeps_its_sections_verdicts_and_pictures(tmp_path: Path) -> None:
    remedy_study(tmp_path / "remedy_study")
    out = tmp_path / "docs" / "results.md"
    main([str(tmp_path / "remedy_study"), str(out)])
    page = out.read_text()
    assert page.startswith("# Which remedies fix the collapse?")
    assert ("from the runs of `python train.py -m experiment=remedy_study_fc` and "
            "`experiment=remedy_study_cnn` (see the README)") in page
    assert page.index("## discriminator=fc") < page.index("## discriminator=cnn")
    assert "- **fc** (no remedy covers 3.0 of 10 modes): helps: feature_matching; hurts: " \
        "balance + ema; no clear difference: label_smoothing." in page
    assert "- **cnn** (no remedy covers 3.0 of 10 modes): helps: " \
        "feature_matching + historical_averaging." in page
    # the experiment override is the same within each section: labels are the remedies alone
    assert "| none | 3 | 3.0 ± 0.0 | 1.010 ± 0.010 | 101.0 ± 1.0 |" in page
    assert "| feature_matching + historical_averaging | 3 |" in page
    assert "**feature_matching + historical_averaging** helps (fid 701 -> 401" in page
    assert "experiment=" not in page.split("## The answer")[1]
    for picture in ("fc_none", "fc_balance+ema", "cnn_feature_matching+historical_averaging"):
        assert (tmp_path / "docs" / "results_pictures" / f"{picture}.png").exists()
        assert f"(results_pictures/{picture}.png)" in page


def lr_sweep(sweep: Path, seeds: int) -> None:
    """`python train.py -m optimizer.lr=1e-4,2e-4,5e-4,1e-3 train.seed=...`: four learning
    rates, FID rising with the rate."""
    for number, lr in enumerate((0.0001, 0.0002, 0.0005, 0.001)):
        for seed in range(seeds):
            fake_run(sweep, f"{number * seeds + seed}_job", "fc", [], seed,
                     fid=100 * (number + 1) + seed, class_kl=0.5 + number / 10,
                     overrides=(f"optimizer.lr={lr}",))


def test_a_learning_rate_sweep_is_pooled_per_learning_rate(tmp_path: Path) -> None:
    lr_sweep(tmp_path / "lr", seeds=2)
    out = tmp_path / "lr.md"
    write(tmp_path / "lr", out)
    page = out.read_text()
    assert page.startswith("# How the set-ups compare")
    rows = [line for line in page.splitlines() if line.startswith("| optimizer.lr=")]
    assert [row.split(" | ")[0:2] for row in rows] == [
        ["| optimizer.lr=0.0001", "2"], ["| optimizer.lr=0.0002", "2"],
        ["| optimizer.lr=0.0005", "2"], ["| optimizer.lr=0.001", "2"]]  # best FID first
    assert "| optimizer.lr=0.0001 | 2 | 3.0 ± 0.0 | 0.500 ± 0.000 | 100.5 ± 0.7 |" in page
    assert "none" not in page.split("## The answer")[1].split("##")[0].replace("`none`", "")
    assert "- **fc**: these runs try no remedy, so nothing is judged against `none`" in page
    assert "): ." not in page and "helps" not in page
    assert (tmp_path / "lr_pictures" / "fc_optimizer.lr=0.0001.png").exists()


def test_a_sweep_with_one_seed_per_set_up_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    lr_sweep(tmp_path / "lr", seeds=1)
    with pytest.raises(SystemExit) as stopped:
        main([str(tmp_path / "lr"), str(tmp_path / "lr.md")])
    message = str(stopped.value.code)
    assert message.startswith("error: nothing to pool") and "\n" not in message
    assert "4 set-ups, one seed each" in message and "train.seed" in message
    assert not (tmp_path / "lr.md").exists()


def test_remedies_without_a_none_set_up_say_so_plainly(tmp_path: Path) -> None:
    for seed in range(2):
        fake_run(tmp_path / "sweep", f"fm{seed}", "fc", ["feature_matching"], seed, fid=20 + seed,
                 class_kl=0.1)
        fake_run(tmp_path / "sweep", f"ema{seed}", "fc", ["ema"], seed, fid=90 + seed,
                 class_kl=0.5)
    write(tmp_path / "sweep", tmp_path / "out.md")
    page = (tmp_path / "out.md").read_text()
    assert "- **fc**: no `none` set-up (the same runs without a remedy) to judge the remedies " \
        "against, so no verdicts" in page
    assert "**ema** is not judged: no `none` set-up with the same overrides" in page
    judged = page.split("## The answer")[1]
    assert "): ." not in judged and "helps" not in judged and "hurts" not in judged


def test_remedies_crossed_with_another_override_are_judged_against_none_with_the_same(
        tmp_path: Path) -> None:
    """`-m 'remedy=[],[feature_matching]' lr.discriminator=2e-4,4e-4 train.seed=0,1`"""
    for seed in range(2):
        for lr, base in (("0.0002", 100), ("0.0004", 20)):
            fake_run(tmp_path / "sweep", f"none{lr}_{seed}", "fc", [], seed, fid=base + seed,
                     class_kl=1.0, overrides=(f"lr.discriminator={lr}",))
            fake_run(tmp_path / "sweep", f"fm{lr}_{seed}", "fc", ["feature_matching"], seed,
                     fid=base - 10 + seed, class_kl=0.5, overrides=(f"lr.discriminator={lr}",))
    write(tmp_path / "sweep", tmp_path / "out.md")
    page = (tmp_path / "out.md").read_text()
    assert "| none, lr.discriminator=0.0002 | 2 |" in page
    assert "| feature_matching, lr.discriminator=0.0004 | 2 |" in page
    assert "**feature_matching, lr.discriminator=0.0004** helps (fid 20.5 -> 10.5" in page
    assert "- **fc, lr.discriminator=0.0002** (no remedy covers 3.0 of 10 modes): helps: " \
        "feature_matching." in page
    assert "(against no remedy with the same other overrides)" in page


def test_an_override_only_some_runs_have_is_compared_by_its_value(tmp_path: Path) -> None:
    """Three sweeps: one left train.steps at its default (101 here), one set it to that, one
    to 201. The first two are one set-up; the label says each one's value."""
    for seed in range(2):
        fake_run(tmp_path / "a", f"{seed}", "fc", [], seed, fid=100 + seed, class_kl=1.0)
        fake_run(tmp_path / "b", f"{seed}", "fc", [], seed + 2, fid=102 + seed, class_kl=1.0,
                 overrides=("train.steps=101",))
        fake_run(tmp_path / "c", f"{seed}", "fc", [], seed, fid=50 + seed, class_kl=0.5,
                 overrides=("train.steps=201",), steps=201)
    write(tmp_path, tmp_path / "out.md")
    page = (tmp_path / "out.md").read_text()
    assert "| train.steps=201 | 2 |" in page
    assert "| train.steps=101 | 4 |" in page


# The study at the seed's budget: named set-ups, the answer in sentences, the pictures --------

SETUPS = {"none": (150.0, 0.9, 7, 2.0), "feature_matching": (60.0, 0.2, 10, 2.5),
          "label_smoothing": (151.0, 0.9, 7, 2.0), "balance": (300.0, 1.5, 4, 3.0),
          "r1_lr4": (30.0, 0.03, 10, 5.0)}  # FID, class KL, classes, ms per step


def study_run(root: Path, number: int, setup: str, seed: int, discriminator: str = "fc",
              events: bool = True) -> None:
    """A run of `-m experiment=study_<disc> setup=... train.seed=...`, as `fake_run` writes one,
    with the study's metrics (precision, recall, speed, class histogram) and its evaluations
    in TensorBoard event files."""
    fid, class_kl, classes, ms = SETUPS[setup]
    name = f"{number}_setup={setup},train.seed={seed}"
    remedies = [] if setup in ("none", "r1_lr4") else [setup]
    fake_run(root, name, discriminator, remedies, seed, fid=fid + seed, class_kl=class_kl,
             overrides=(f"experiment=study_{discriminator}", f"setup={setup}"))
    run = root / name
    metrics = json.loads((run / "metrics.json").read_text())
    histogram = [1 / classes] * classes + [0.0] * (10 - classes)
    metrics |= {"modes_covered": classes, "precision": 0.8, "recall": classes / 10,
                "steps_per_second": 1000 / ms, "wall_seconds": 3600.0, "device": "cpu",
                "threads": 1, "class_histogram": histogram}
    (run / "metrics.json").write_text(json.dumps(metrics))
    if events:
        from torch.utils.tensorboard import SummaryWriter
        with SummaryWriter(str(run)) as writer:
            for step in (0, 50, 100):
                writer.add_scalar("eval/fid", 700 - step * (700 - fid) / 100, step)
                writer.add_scalar("eval/modes_covered", 1 + step * (classes - 1) / 100, step)


def study(root: Path, discriminator: str = "fc", events: bool = True) -> None:
    """Every set-up of SETUPS over three seeds."""
    for number, setup in enumerate(SETUPS):
        for seed in range(3):
            study_run(root, number * 3 + seed, setup, seed, discriminator, events)


def test_named_set_ups_are_labelled_by_name_and_judged_against_none(tmp_path: Path) -> None:
    study(tmp_path / "study" / "fc")
    write(tmp_path / "study", tmp_path / "docs" / "results.md")
    page = (tmp_path / "docs" / "results.md").read_text()
    assert "| r1_lr4 | 3 | 10.0 ± 0.0 | 0.030 ± 0.000 | 31.0 ± 1.0 | 0.800 ± 0.000 | " \
        "1.000 ± 0.000 | 5.00 ± 0.00 |" in page
    assert "**r1_lr4** helps (fid 151 -> 31" in page  # judged against setup=none
    assert "setup=" not in page.split("## discriminator=fc")[1].split("![")[0]
    assert "15 runs of 101 steps on cpu (1 thread a run), 15.0 h of machine time in all" in page


def test_precision_and_recall_not_computed_leave_a_dash_not_a_number(tmp_path: Path) -> None:
    """A study evaluated on fewer than 10,000 samples: its runs' precision and recall are null."""
    study(tmp_path / "study" / "fc", events=False)
    for path in (tmp_path / "study").glob("**/metrics.json"):
        metrics = json.loads(path.read_text())
        metrics |= {"precision": None, "recall": None, "manifold_note": "not computed: ..."}
        path.write_text(json.dumps(metrics))
    write(tmp_path / "study", tmp_path / "results.md")
    page = (tmp_path / "results.md").read_text()
    assert "| r1_lr4 | 3 | 10.0 ± 0.0 | 0.030 ± 0.000 | 31.0 ± 1.0 | – | – | 5.00 ± 0.00 |" in page
    assert ("The cure, **r1_lr4**, covers 10.0 of 10 classes (class KL 0.030, FID 31.0): "
            in page)  # no precision or recall in the sentences either


def test_the_answer_comes_first_in_plain_sentences(tmp_path: Path) -> None:
    study(tmp_path / "study" / "fc", events=False)
    study(tmp_path / "study" / "dcgan", "dcgan", events=False)
    write(tmp_path / "study", tmp_path / "results.md")
    page = (tmp_path / "results.md").read_text()
    answer = page.split("## The answer")[1].split("## discriminator=")[0]
    assert ("**fc**: with no remedy the generator covers 7.0 of 10 classes (class KL 0.900, "
            "FID 151.0, precision 0.80, recall 0.70). The cure, **r1_lr4**, covers 10.0 of 10 "
            "classes (class KL 0.030, FID 31.0, precision 0.80, recall 1.00): class KL 30.0x "
            "lower, FID 4.9x lower, at 5.00 ms per step against 2.00 as the runs measured their "
            "loops (2.5x; not timed in pairs). Every class in every seed: **r1_lr4**, "
            "**feature_matching**.") in answer  # best FID first
    assert ("The report's six remedies, each alone against no remedy (7.0 of 10 classes, "
            "FID 151.0, class KL 0.900), judged on FID and class KL together: feature_matching "
            "helps (10.0 classes, FID 61.0, class KL 0.200); minibatch_discrimination not run "
            "here; label_smoothing no clear difference (7.0 classes, FID 152.0, class KL 0.900); "
            "historical_averaging not run here; batch_norm not run here; balance hurts "
            "(4.0 classes, FID 301.0, class KL 1.500).") in answer
    assert "**dcgan**: with no remedy" in answer
    assert page.index("## discriminator=fc") < page.index("## discriminator=dcgan")


def test_the_cure_is_the_most_even_coverage_not_the_best_fid(tmp_path: Path) -> None:
    """The report's question is the collapse: a set-up with the best FID that still drops
    classes (as minibatch discrimination did at 40,001 steps) is named, but not as the cure."""
    study(tmp_path, events=False)
    for run in tmp_path.glob("*_setup=label_smoothing,*"):  # sharpest digits, 7 classes
        metrics = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps(metrics | {"fid": metrics["fid"] - 131}))
    write(tmp_path, tmp_path / "out.md")
    page = (tmp_path / "out.md").read_text()
    assert "The cure, **r1_lr4**, covers 10.0 of 10 classes" in page
    assert ("(2.5x; not timed in pairs). Best on FID: **label_smoothing** (FID 21.0, 7.2x lower, "
            "covering 7.0 classes). Every class in every seed: **r1_lr4**, "
            "**feature_matching**.") in page


def test_no_cure_when_nothing_covers_more_evenly_than_no_remedy(tmp_path: Path) -> None:
    for seed in range(3):
        study_run(tmp_path, seed, "none", seed, events=False)
        study_run(tmp_path, 3 + seed, "balance", seed, events=False)
    write(tmp_path, tmp_path / "out.md")
    page = (tmp_path / "out.md").read_text()
    assert ("recall 0.70). No set-up covers the classes better than no remedy. No set-up beats "
            "no remedy on FID. No set-up covers every class in every seed.") in page


def test_one_seed_so_far_is_not_named_the_cure(tmp_path: Path) -> None:
    """A study still running: r1_lr4 has one seed done. One seed's luck is no cure, nor
    every class in every seed, nor best on FID; feature matching, over three, is the cure."""
    for seed in range(3):
        study_run(tmp_path, seed, "none", seed, events=False)
        study_run(tmp_path, 3 + seed, "feature_matching", seed, events=False)
    study_run(tmp_path, 6, "r1_lr4", 0, events=False)
    write(tmp_path, tmp_path / "out.md")
    answer = (tmp_path / "out.md").read_text().split("## discriminator=")[0]
    assert "The cure, **feature_matching**, covers 10.0 of 10 classes" in answer
    assert "Every class in every seed: **feature_matching**." in answer
    assert "Best on FID" not in answer


def test_no_cure_over_two_seeds_is_said_so(tmp_path: Path) -> None:
    for seed in range(3):
        study_run(tmp_path, seed, "none", seed, events=False)
    study_run(tmp_path, 3, "r1_lr4", 0, events=False)
    write(tmp_path, tmp_path / "out.md")
    assert ("No set-up covers the classes better than no remedy over two seeds or more. No "
            "set-up beats no remedy on FID. No set-up covers every class in every seed.") \
        in (tmp_path / "out.md").read_text()


def test_without_a_cure_the_best_fid_is_still_said(tmp_path: Path) -> None:
    for seed in range(3):
        study_run(tmp_path, seed, "none", seed, events=False)
        study_run(tmp_path, 3 + seed, "label_smoothing", seed, events=False)
    for run in tmp_path.glob("*_setup=label_smoothing,*"):  # sharper, no more even
        metrics = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps(metrics | {"fid": 50.0, "class_kl": 1.0}))
    write(tmp_path, tmp_path / "out.md")
    assert ("No set-up covers the classes better than no remedy. Best on FID: "
            "**label_smoothing** (FID 50.0, 3.0x lower, covering 7.0 classes).") \
        in (tmp_path / "out.md").read_text()


def test_a_perfectly_even_cure_is_said_without_a_ratio(tmp_path: Path) -> None:
    for seed in range(3):
        study_run(tmp_path, seed, "none", seed, events=False)
        study_run(tmp_path, 3 + seed, "r1_lr4", seed, events=False)
    for run in tmp_path.glob("*_setup=r1_lr4,*"):
        metrics = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps(metrics | {"class_kl": 0.0}))
    write(tmp_path, tmp_path / "out.md")
    assert "recall 1.00): class KL 0.9 -> 0, FID 4.9x lower" in (tmp_path / "out.md").read_text()


def test_the_step_cost_timed_in_pairs_is_preferred_to_the_runs_own(tmp_path: Path) -> None:
    """bench/setup_cost.py's step_cost.json in the study's folder: the answer's cost, a table
    column and the provenance come from it (the runs' own ms per step stays in its column)."""
    study(tmp_path / "fc", events=False)
    (tmp_path / "fc" / "step_cost.json").write_text(json.dumps({
        "discriminator": "fc", "device": "cpu", "threads": 1, "steps": 20, "rounds": 3,
        "command": "python bench/setup_cost.py discriminator=fc",
        "ms_per_step": {"none": 4.0, "r1_lr4": 6.6, "balance": 8.0},
        "ratio": {"none": 1.0, "r1_lr4": 1.65, "balance": 2.0}}))
    write(tmp_path, tmp_path / "out.md")
    page = (tmp_path / "out.md").read_text()
    assert ("FID 4.9x lower, at 1.65x the time of no remedy's step (6.60 ms against 4.00, timed "
            "in pairs).") in page
    assert "| recall | ms per step | G loss | D loss | step vs none |" in page
    assert "| 5.00 ± 0.00 | 1.000 ± 0.000 | 0.500 ± 0.000 | 1.65x |" in page  # r1_lr4's row
    assert "| feature_matching | 3 |" in page and page.count(" | – |") == 2  # fm, ls untimed
    assert ("timed in alternating blocks on random images by `python bench/setup_cost.py "
            "discriminator=fc` (cpu, 1 thread, the median of 3 paired blocks of 20 steps).") in page


def test_an_unreadable_step_cost_file_is_one_clear_error(tmp_path: Path) -> None:
    study(tmp_path / "fc", events=False)
    (tmp_path / "fc" / "step_cost.json").write_text("{}")
    with pytest.raises(UserError, match=r"step_cost.json is not a step cost file of "
                                        r"bench/setup_cost.py \(KeyError"):
        write(tmp_path, tmp_path / "out.md")


def test_the_pictures_are_drawn_and_shown(tmp_path: Path) -> None:
    study(tmp_path / "study" / "fc")
    write(tmp_path / "study", tmp_path / "results.md")
    page = (tmp_path / "results.md").read_text()
    for name, alt in (("fc_curves", "FID and classes covered against step"),
                      ("fc_histograms", "final class histograms")):
        assert f"![fc: {alt}](results_pictures/{name}.png)" in page
        picture = tmp_path / "results_pictures" / f"{name}.png"
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![fc r1_lr4](results_pictures/fc_r1_lr4.png)" in page  # its final digits


def test_without_matplotlib_the_page_says_what_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    def missing() -> None:
        raise UserError('the pictures need matplotlib: pip install -e ".[plots]"')

    monkeypatch.setattr(study_plots, "pyplot", missing)
    study(tmp_path / "study" / "fc")
    write(tmp_path / "study", tmp_path / "results.md")
    page = (tmp_path / "results.md").read_text()
    assert '(No curves or histograms: the pictures need matplotlib: pip install -e ".[plots]".)' \
        in page
    assert "| r1_lr4 | 3 |" in page
    assert not (tmp_path / "results_pictures" / "fc_curves.png").exists()
    assert "no curves or histograms" in capsys.readouterr().err


def test_curves_pool_the_steps_every_seed_evaluated() -> None:
    assert study_plots.pooled([[(0, 1.0), (10, 3.0), (20, 5.0)], [(0, 3.0), (10, 5.0)]]) == (
        [0, 10], [2.0, 4.0], [1.0, 3.0], [3.0, 5.0])


def test_the_answer_says_when_nothing_beats_no_remedy_and_what_diverged(tmp_path: Path) -> None:
    for seed in range(3):
        study_run(tmp_path, seed, "none", seed, events=False)
        study_run(tmp_path, 3 + seed, "label_smoothing", seed, events=False)
        study_run(tmp_path, 6 + seed, "balance", seed, events=False)
        study_run(tmp_path, 9 + seed, "feature_matching", seed, events=False)
    for name in ("balance,train.seed=0", "balance,train.seed=1", "balance,train.seed=2",
                 "label_smoothing,train.seed=2"):
        run = next(tmp_path.glob(f"*_setup={name}"))
        (run / "metrics.json").write_text(json.dumps({"status": "diverged", "reason": "NaN"}))
    for run in tmp_path.glob("*_setup=feature_matching,*"):  # worse than none now
        metrics = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps(metrics | {"fid": 400.0}))
    write(tmp_path, tmp_path / "out.md")
    page = (tmp_path / "out.md").read_text()
    assert ("recall 0.70). The cure, **feature_matching**, covers 10.0 of 10 classes (class KL "
            "0.200, FID 400.0, precision 0.80, recall 1.00): class KL 4.5x lower, FID 2.6x "
            "higher, at 2.50 ms per step against 2.00 as the runs measured their loops (1.2x; not "
            "timed in pairs). No set-up beats no "
            "remedy on FID.") in page
    assert "balance diverged in every seed" in page
    assert "| label_smoothing | 2 (1 diverged) |" in page
    assert "label_smoothing no clear difference (7.0 classes, FID 151.5, class KL 0.900)" in page


def test_a_verdict_says_which_metric_moved_beyond_the_seeds_spread(tmp_path: Path) -> None:
    # FID moves far beyond no remedy's spread, class KL stays within it: the set-up helps, and
    # the page must not say both moved (the CNN study's `packing` read so).
    for seed in range(3):
        fake_run(tmp_path, f"none{seed}", "cnn", [], seed, fid=100 + 10 * seed,
                 class_kl=1.0 + seed / 2)
        fake_run(tmp_path, f"fm{seed}", "cnn", ["feature_matching"], seed, fid=50 + 2 * seed,
                 class_kl=1.2 + seed / 10)
        fake_run(tmp_path, f"mb{seed}", "cnn", ["minibatch_discrimination"], seed,
                 fid=20 + seed, class_kl=0.1)
    write(tmp_path, tmp_path / "out.md")
    page = (tmp_path / "out.md").read_text()
    assert ("**feature_matching** helps (fid 110 -> 52 beyond the seeds' spread; "
            "class_kl 1.5 -> 1.3 within it)") in page
    assert ("**minibatch_discrimination** helps (fid 110 -> 21, class_kl 1.5 -> 0.1, beyond "
            "the seeds' spread)") in page


def test_a_set_up_with_one_completed_run_is_not_judged(tmp_path: Path) -> None:
    for seed in range(3):
        study_run(tmp_path, seed, "none", seed, events=False)
        study_run(tmp_path, 3 + seed, "r1_lr4", seed, events=False)
    for seed in (1, 2):
        run = next(tmp_path.glob(f"*_setup=r1_lr4,train.seed={seed}"))
        (run / "metrics.json").write_text(json.dumps({"status": "diverged"}))
    write(tmp_path, tmp_path / "out.md")
    page = (tmp_path / "out.md").read_text()
    assert "**r1_lr4** is not judged: it or `none` has fewer than two completed runs" in page
    assert "(class KL 0.030, FID 30.0, precision 0.80, recall 1.00, 2 of 3 runs diverged)" in page


def test_the_curves_draw_no_remedy_as_the_baseline_wherever_it_sorts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = {}
    monkeypatch.setattr(study_plots, "curves",
                        lambda curves, baseline, *_: drawn.update(baseline=baseline,
                                                                  labels=list(curves)))
    study(tmp_path / "study" / "fc")
    write(tmp_path / "study", tmp_path / "out.md")
    assert drawn == {"baseline": "none", "labels": [
        "none", "balance", "feature_matching", "label_smoothing", "r1_lr4"]}


def test_the_curves_give_each_set_up_its_panels_beside_no_remedy() -> None:
    """Seven set-ups: two rows of five panel pairs (FID above classes), the last three cells
    empty; each set-up's panel holds its own line and no remedy's, grey, behind it."""
    plt = study_plots.pyplot()
    series = {"fid": [[(0, 500.0), (100, 100.0)]] * 2, "modes_covered": [[(0, 1.0), (100, 9.0)]]}
    labels = ["none", *(f"setup_{n}" for n in range(6))]
    figure = study_plots.curve_figure(dict.fromkeys(labels, series), "none", "title")
    shown = [axis for axis in figure.axes if axis.get_visible()]
    assert len(figure.axes) == 20 and len(shown) == 14
    titles = [axis.get_title() for axis in shown if axis.get_title()]
    assert titles == labels
    for axis in shown:
        colours = [line.get_color() for line in axis.get_lines()]
        assert colours == (["black"] if axis in figure.axes[:1] + figure.axes[5:6]
                           else ["grey", "tab:blue"])
    assert shown[0].get_yscale() == "log" and shown[1].get_yscale() == "log"  # shared
    plt.close(figure)


def test_a_seed_without_evaluations_leaves_the_others_curve() -> None:
    assert study_plots.pooled([[(0, 1.0), (10, 3.0)], []]) == ([0, 10], [1.0, 3.0],
                                                              [1.0, 3.0], [1.0, 3.0])


def test_the_pictures_folder_keeps_only_this_pages(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    remedy_study(tmp_path / "old")
    write(tmp_path / "old", tmp_path / "docs" / "results.md")
    stale = tmp_path / "docs" / "results_pictures" / "cnn_none.png"
    assert stale.exists()
    study(tmp_path / "study" / "fc")
    write(tmp_path / "study", tmp_path / "docs" / "results.md")
    pictures = sorted(path.name for path in (tmp_path / "docs" / "results_pictures").glob("*.png"))
    page = (tmp_path / "docs" / "results.md").read_text()
    assert pictures and all(f"(results_pictures/{name})" in page for name in pictures)
    assert not stale.exists() and f"removed {stale}: not on the page" in \
        capsys.readouterr().err


def test_two_pages_beside_each_other_keep_their_own_pictures(tmp_path: Path) -> None:
    # The FC study's page and the CNN study's, each from its own sweep, in docs/.
    study(tmp_path / "fc", "fc")
    study(tmp_path / "cnn", "cnn")
    write(tmp_path / "fc", tmp_path / "docs" / "results.md")
    write(tmp_path / "cnn", tmp_path / "docs" / "results_cnn.md")
    for page, discriminator in (("results", "fc"), ("results_cnn", "cnn")):
        text = (tmp_path / "docs" / f"{page}.md").read_text()
        shown = re.findall(rf"\]\({page}_pictures/([^)]+)\)", text)
        assert f"{discriminator}_curves.png" in shown and f"{discriminator}_r1_lr4.png" in shown
        assert sorted(shown) == sorted(
            path.name for path in (tmp_path / "docs" / f"{page}_pictures").iterdir())


def test_two_pages_of_one_discriminator_in_one_folder_keep_their_own_pictures(
        tmp_path: Path) -> None:
    # The FC study's page, then a shorter FC sweep's page beside it: the later used to redraw
    # the earlier's docs/results/fc_*.png, so docs/results.md showed the other sweep's digits.
    study(tmp_path / "study", "fc")
    remedy_study(tmp_path / "remedy_study")
    write(tmp_path / "study", tmp_path / "docs" / "results.md")
    folder = tmp_path / "docs" / "results_pictures"
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    write(tmp_path / "remedy_study", tmp_path / "docs" / "remedies.md")
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    assert "fc_none.png" in before
    remedies = (tmp_path / "docs" / "remedies.md").read_text()
    assert "](remedies_pictures/fc_none.png)" in remedies and "](results_pictures/" not in remedies
    assert (tmp_path / "docs" / "remedies_pictures" / "fc_balance+ema.png").is_file()


def test_a_page_named_after_a_folder_of_other_things_is_refused(tmp_path: Path) -> None:
    # The page cleans its pictures folder of what it does not show: never a folder of others'.
    study(tmp_path / "study", "fc")
    (tmp_path / "docs" / "runs_pictures" / "cnn").mkdir(parents=True)
    with pytest.raises(UserError, match=r"docs/runs_pictures, where the page runs.md keeps its "
                                        r"pictures, holds other things: name the page otherwise"):
        write(tmp_path / "study", tmp_path / "docs" / "runs.md")
    assert not (tmp_path / "docs" / "runs.md").exists()
    assert (tmp_path / "docs" / "runs_pictures" / "cnn").is_dir()


def test_a_continued_sweeps_runs_stay_in_their_set_ups(tmp_path: Path) -> None:
    # `-m resume=SWEEP_DIR` gives the jobs it runs a resume= override (the sweep's, or a
    # stopped run's own directory): where they went on from, not another set-up.
    for seed, resume in enumerate(("", "resume=/sweep", "resume=/sweep/2_job")):
        fake_run(tmp_path, f"{seed}", "fc", [], seed, fid=100 + seed, class_kl=1.0,
                 overrides=(resume,) if resume else ())
    write(tmp_path, tmp_path / "out.md")
    page = (tmp_path / "out.md").read_text()
    assert "| none | 3 |" in page and "resume" not in page


def test_the_histograms_share_a_height_a_collapse_fills() -> None:
    """The FC study's largest share was 48% (balance on 9): a 0-50% axis, not 0-100%, where
    every bar would be a sliver; a complete collapse still fills the axis."""
    uniform = [0.1] * 10
    assert study_plots.top({"none": uniform, "balance": [0.0] * 9 + [0.48]}) == 50
    assert study_plots.top({"none": uniform, "collapsed": [1.0] + [0.0] * 9}) == 100
    assert study_plots.top({"none": uniform}) == 20
    assert study_plots.top({"r1": [0.0] * 9 + [0.3]}) == 30  # 30% exactly: not rounded up


def test_a_page_written_while_its_sweep_runs_says_how_much_is_missing(tmp_path: Path) -> None:
    # The CNN study runs over several sittings; a page from its kept runs must say it is partial
    # and how many of the planned jobs it holds, not read as the study's final answer.
    sweep = tmp_path / "multirun" / "cnn"
    sweep.mkdir(parents=True)
    OmegaConf.save({"hydra": {
        "sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                    "params": {"setup": "none,feature_matching", "train.seed": "0,1,2"}},
        "overrides": {"task": ["experiment=study_cnn"]}}}, sweep / "multirun.yaml")
    for seed in range(3):
        fake_run(sweep, f"none{seed}", "cnn", [], seed, fid=600 + seed, class_kl=2.0)
    fake_run(sweep, "fm0", "cnn", ["feature_matching"], 0, fid=200, class_kl=0.3)
    out = tmp_path / "docs" / "results_cnn.md"
    for root in (sweep, sweep.parent):  # the sweep itself, or the folder of all studies
        write(root, out)
        page = out.read_text()
        assert f"**A study still running.** `{sweep}` holds 4 of the 6 jobs" in page
        assert page.index("A study still running") < page.index("## The answer")
        assert (f"- 2 jobs of `{sweep}` not here yet: not started, or not kept before it "
                "finished (its multirun.yaml plans 6)") in page
    for seed in (1, 2):
        fake_run(sweep, f"fm{seed}", "cnn", ["feature_matching"], seed, fid=200, class_kl=0.3)
    write(sweep, out)
    page = out.read_text()
    assert "still running" not in page and "not here yet" not in page


def test_a_sweep_kept_inside_another_counts_only_its_own_jobs(tmp_path: Path) -> None:
    # multirun/study/stacked_mnist holds its 21 jobs and, in joint_bn/, a second sweep of 6:
    # the second sweep's run is not one of the first's 21 (the page said 13 were missing, not 14).
    sweep = tmp_path / "study"
    inner = sweep / "joint_bn"
    inner.mkdir(parents=True)
    for folder, setups in ((sweep, "none,feature_matching"), (inner, "balance")):
        OmegaConf.save({"hydra": {
            "sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                        "params": {"train.seed": "0,1", "setup": setups}},
            "overrides": {"task": ["experiment=study_cnn"]}}}, folder / "multirun.yaml")
    for seed in (0, 1):
        fake_run(sweep, f"none{seed}", "cnn", [], seed, fid=600, class_kl=2.0)
    fake_run(inner, "balance0", "cnn", ["balance"], 0, fid=300, class_kl=1.0)
    out = tmp_path / "docs" / "results_cnn.md"
    write(sweep, out)
    page = out.read_text()
    assert f"`{sweep}` holds 2 of the 4 jobs" in page
    assert f"`{inner}` holds 1 of the 2 jobs" in page


def test_a_remedy_with_no_runs_is_not_run_yet_while_the_study_runs(tmp_path: Path) -> None:
    # The DCGAN page, read mid-study, said "batch_norm not run here" of a remedy its sweep plans
    # and has not reached: "here" reads as "this study leaves it out".
    sweep = tmp_path / "multirun" / "dcgan"
    sweep.mkdir(parents=True)
    OmegaConf.save({"hydra": {
        "sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                    "params": {"setup": "none,feature_matching,batch_norm",
                               "train.seed": "0,1"}},
        "overrides": {"task": ["experiment=study_dcgan"]}}}, sweep / "multirun.yaml")
    for seed in range(2):
        fake_run(sweep, f"none{seed}", "dcgan", [], seed, fid=40 + seed, class_kl=0.07)
        fake_run(sweep, f"fm{seed}", "dcgan", ["feature_matching"], seed, fid=70, class_kl=0.02)
    out = tmp_path / "results_dcgan.md"
    write(sweep, out)
    answer = out.read_text().split("## The answer")[1].split("## discriminator=")[0]
    assert "batch_norm not run yet; balance not run yet." in answer
    assert "not run here" not in answer
    for seed in range(2):  # the plan done: a remedy it never had is now "not run here"
        fake_run(sweep, f"bn{seed}", "dcgan", ["batch_norm"], seed, fid=95, class_kl=0.08)
    write(sweep, out)
    answer = out.read_text().split("## The answer")[1].split("## discriminator=")[0]
    assert "balance not run here." in answer and "not run yet" not in answer


def test_a_remedy_whose_runs_end_exactly_where_no_remedys_do_changes_nothing(
        tmp_path: Path) -> None:
    # The DCGAN study's batch_norm: the DCGAN networks have batch norm already, so its three
    # seeds ended bit for bit where no remedy's did; "no clear difference" hid that.
    for seed in range(3):
        fake_run(tmp_path, f"none{seed}", "dcgan", [], seed, fid=40 + seed, class_kl=0.07)
        fake_run(tmp_path, f"bn{seed}", "dcgan", ["batch_norm"], seed, fid=40 + seed,
                 class_kl=0.07)
        fake_run(tmp_path, f"ha{seed}", "dcgan", ["historical_averaging"], (seed + 1) % 3,
                 fid=40 + seed, class_kl=0.07)  # the same ends, but not seed for seed
    write(tmp_path, tmp_path / "out.md")
    page = (tmp_path / "out.md").read_text()
    assert ("**batch_norm** changes nothing here: every seed ends exactly where `none` does"
            in page)
    assert "batch_norm changes nothing (10.0 classes, FID 41.0, class KL 0.070)" in page
    assert "**historical_averaging** makes no clear difference" in page
    assert "changes nothing: batch_norm;" in page


def test_a_runs_speed_is_its_whole_loops_and_its_threads_each_parts(tmp_path: Path) -> None:
    # A run stopped at step 334,173 on 1 thread and resumed on 2: metrics.json keeps the last
    # part's speed (steps_per_second) and threads; the whole run's is loop_seconds over steps.
    record = {"steps": 400000, "loop_seconds": 8731.07, "steps_per_second": 76.64, "threads": 2}
    assert ms_per_step(record) == pytest.approx(21.83, abs=0.01)
    assert ms_per_step({"steps_per_second": 50.0}) == 20.0  # a record from before loop_seconds
    assert ms_per_step({}) is None
    # Each part's line as gan.run.loop.continued writes it, so a change of its words shows here.
    def part(threads: int) -> str:
        record = {"device": "cpu", "threads": threads, "cpu_capability": "AVX512",
                  "cpu": "Intel(R) Xeon(R) Processor", "torch": "2.14.1+cu130"}
        return f"[2026-12-06 20:06:52,129][gan.run.loop][INFO] - computing on {described(record)}\n"
    (tmp_path / "train.log").write_text(
        part(1) + "[2026-12-06 20:06:53,000][gan.run.loop][INFO] - Epoch:0 Generator Loss:0.69\n"
        + part(1) + part(2))
    assert threads_by_part(tmp_path, {"threads": 2}) == (1, 2)
    assert threads_by_part(tmp_path / "no_log", {"threads": 2}) == (2,)
    assert threads_by_part(tmp_path / "no_log", {}) == ()
    # metrics.json's parts, where the run recorded them from step 0, before its log
    recorded = {"threads": 1, "parts": [{"from_step": 0, "threads": 2},
                                        {"from_step": 9000, "threads": 2},
                                        {"from_step": 20000, "threads": 1}]}
    assert threads_by_part(tmp_path, recorded) == (2, 1)
    # parts from a resume of a run begun before they were recorded: the log says the first
    assert threads_by_part(tmp_path, {"threads": 2, "parts": [
        {"from_step": 20000, "threads": 2}]}) == (1, 2)
    assert [threads_said(parts) for parts in ((1,), (2,), (1, 2), ())] == [
        "1 thread", "2 threads", "1, then 2 threads", "? threads"]
