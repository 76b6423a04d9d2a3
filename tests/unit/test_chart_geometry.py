"""The chart geometry (marketplace/charts.py) and the weekly buckets (marketplace/weeks.py): pure."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from marketplace.charts import HEIGHT, LEFT, MAX_X_LABELS, TOP, WIDTH, Series, line_chart, nice_step
from marketplace.weeks import DEFAULT_PERIOD, Weeks, parse_period, week_labels


@pytest.mark.parametrize(("top", "step"), [(0, 1), (3, 1), (5, 1), (7, 2), (10, 2), (11, 5), (40, 10), (99, 20),
                                          (101, 50), (1234, 500)])
def test_nice_steps(top: float, step: float) -> None:
    assert nice_step(top) == step


def test_points_scale_to_the_plot_and_the_axis_reaches_the_top_tick() -> None:
    chart = line_chart("c", "T", "D", ["a", "b", "c"], [Series("s", "S", [0, 5, 10])])
    (line,) = chart.lines
    xs = [p.x for p in line.points]
    ys = [p.y for p in line.points]
    assert xs[0] == LEFT and xs[-1] == WIDTH - 14 and xs[0] < xs[1] < xs[2]
    assert ys[2] == TOP and ys[0] == HEIGHT - 30  # 10 is the top tick, 0 the bottom
    assert [t.label for t in chart.y_ticks] == ["0", "2", "4", "6", "8", "10"]
    assert line.paths() == [" ".join(f"{p.x:.1f},{p.y:.1f}" for p in line.points)]


def test_unknown_values_break_the_line_and_show_as_a_dash() -> None:
    chart = line_chart("c", "T", "D", ["a", "b", "c", "d"], [Series("r", "Rate", [50, None, 100, 75])], unit="%")
    (line,) = chart.lines
    assert [len(run) for run in line.segments] == [1, 2]
    assert chart.rows() == [("a", ["50%"]), ("b", ["–"]), ("c", ["100%"]), ("d", ["75%"])]
    assert chart.y_ticks[-1].label == "100%"


def test_all_zero_still_has_an_axis() -> None:
    chart = line_chart("c", "T", "D", ["a", "b"], [Series("s", "S", [0, 0])])
    assert [t.label for t in chart.y_ticks] == ["0", "1"]


def test_at_most_six_x_labels_the_latest_always_shown() -> None:
    labels = [str(i) for i in range(26)]
    chart = line_chart("c", "T", "D", labels, [Series("s", "S", list(range(26)))])
    assert len(chart.x_ticks) <= MAX_X_LABELS and chart.x_ticks[-1].label == "25"
    assert len(chart.rows()) == 26  # the table has every week


def test_each_series_has_its_own_style_and_one_value_per_label() -> None:
    chart = line_chart("c", "T", "D", ["a"], [Series(str(i), str(i), [i]) for i in range(3)])
    assert [line.style for line in chart.lines] == [0, 1, 2]
    with pytest.raises(ValueError):
        line_chart("c", "T", "D", ["a", "b"], [Series("s", "S", [1])])


def test_weeks_start_on_monday_midnight_in_the_zone_across_a_dst_change() -> None:
    weeks = Weeks.ending(date(2026, 11, 4), 2, "Europe/Berlin")  # summer time ended on 25 October
    assert weeks.mondays == (date(2026, 10, 26), date(2026, 11, 2))
    assert weeks.bounds_utc() == [datetime(2026, 10, 25, 23, tzinfo=timezone.utc),
                                  datetime(2026, 11, 1, 23, tzinfo=timezone.utc),
                                  datetime(2026, 11, 8, 23, tzinfo=timezone.utc)]
    summer = Weeks.ending(date(2026, 10, 20), 1, "Europe/Berlin")
    assert summer.start_utc == datetime(2026, 10, 18, 22, tzinfo=timezone.utc)
    assert weeks.index_of_day(date(2026, 11, 8)) == 1 and weeks.index_of_day(date(2026, 10, 25)) == -1
    assert week_labels(weeks) == (["26 Oct 2026", "2 Nov 2026"], ["26 Oct", "2 Nov"])


@pytest.mark.parametrize(("value", "weeks"), [("4", 4), ("12", 12), ("26", 26), (None, DEFAULT_PERIOD),
                                              ("5", DEFAULT_PERIOD), ("-4", DEFAULT_PERIOD), ("x", DEFAULT_PERIOD),
                                              ("9" * 40, DEFAULT_PERIOD)])
def test_the_period_is_one_of_the_choices(value: str | None, weeks: int) -> None:
    assert parse_period(value) == weeks
