"""The collapse watch: the issue's collapsed preset run, told at the step it happened."""

from gan.run.collapse import CollapseWatch


def test_the_classes_covered_falling_sharply_is_a_collapse_at_its_step() -> None:
    watch = CollapseWatch()
    # experiment=dcgan at its own 20,001 steps (issue 35): every class at step 5,000, FID 33.5;
    # one class at step 10,000, FID 634, D's loss 0.0002; then D's loss 5e-6 at step 12,000.
    assert watch.observe(0, 1, 0.69) == []
    assert watch.observe(5000, 10, 0.05, fid=33.5) == []
    [collapse, vanished] = watch.observe(10000, 1, 0.0002, fid=634.0)
    assert (collapse.step, collapse.kind) == (10000, "collapse")
    assert collapse.message == ("collapse at step 10000: classes covered fell to 1 from 10 at "
                                "step 5000, FID 634.0")
    assert (vanished.step, vanished.kind) == (10000, "d_loss_vanished")
    assert watch.observe(12000, 1, 5e-6) == []  # each kind once, at its first step
    assert [alarm.step for alarm in watch.alarms] == [10000, 10000]


def test_healthy_runs_raise_nothing() -> None:
    watch = CollapseWatch()
    for step, modes, d_loss in [(0, 1, 0.7), (2000, 9, 0.4), (4000, 10, 0.3), (6000, 8, 0.2),
                                (8000, 6, 0.1)]:  # a class or four lost: not yet half
        assert watch.observe(step, modes, d_loss) == []
    assert watch.observe(10000, 10, -12.9) == []  # a critic's loss below 0 never vanishes
    assert watch.observe(12000, 5, 0.3)[0].kind == "collapse"  # half of 10


def test_a_resumed_run_compares_with_what_it_reached_before() -> None:
    watch = CollapseWatch()
    watch.observe(5000, 10, 0.3)
    resumed = CollapseWatch()
    resumed.load_state_dict(watch.state_dict())
    assert resumed.observe(10000, 2, 0.3)[0].message.endswith("from 10 at step 5000")
    again = CollapseWatch()
    again.load_state_dict(resumed.state_dict())
    assert again.observe(12000, 1, 0.3) == []  # said already, before the resume
    fresh = CollapseWatch()
    fresh.load_state_dict({})  # a checkpoint from before the watch
    assert fresh.observe(0, 1, 0.5) == []
