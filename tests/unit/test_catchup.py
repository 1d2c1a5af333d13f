from app.operations.catchup import CatchUpTracker
from app.operations.lag import LagRow


def rows(*lags_rates, group="g", topic="in"):
    return [LagRow(group, topic, p, 0, lag, lag, rate) for p, (lag, rate) in enumerate(lags_rates)]


def test_quiet_group_reports_nothing():
    tracker = CatchUpTracker("g", ["in"], threshold=100)
    assert tracker.observe(rows((10, 5.0), (20, 5.0))) is None


def test_backlog_over_threshold_reports_progress_with_eta():
    tracker = CatchUpTracker("g", ["in"], threshold=100)
    report = tracker.observe(rows((600, 100.0), (400, 100.0)))
    assert report is not None
    assert (report.state, report.backlog, report.rate, report.eta_s, report.peak) == (
        "catching_up", 1000, 200.0, 5.0, 1000)


def test_unknown_or_zero_rate_gives_no_eta():
    tracker = CatchUpTracker("g", ["in"], threshold=100)
    assert tracker.observe(rows((500, None))).eta_s is None
    assert tracker.observe(rows((500, 0.0))).eta_s is None


def test_cleared_once_with_the_episode_peak():
    tracker = CatchUpTracker("g", ["in"], threshold=100)
    tracker.observe(rows((5000, 10.0)))
    tracker.observe(rows((800, 1000.0)))
    cleared = tracker.observe(rows((3, 900.0)))
    assert cleared is not None and (cleared.state, cleared.peak, cleared.backlog) == ("cleared", 5000, 3)
    assert tracker.observe(rows((3, 900.0))) is None


def test_other_groups_and_topics_do_not_count():
    tracker = CatchUpTracker("g", ["in"], threshold=100)
    other = rows((5000, 1.0), group="wms") + rows((5000, 1.0), topic="order-events")
    assert tracker.observe(other) is None
