"""Charts drawn on the server (issue 19 §2): whole-number axes, every figure in the description, texts escaped."""

from __future__ import annotations

import re

from kluis.web.charts import Series, bar_chart, describe, line_chart, nice_top, ticks


def test_issue_19_the_axis_ends_on_a_round_number_at_or_above_the_largest_figure() -> None:
    assert [nice_top(n) for n in (0, 1, 2, 3, 7, 10, 12, 37, 101)] == [1, 1, 2, 5, 10, 10, 20, 50, 200]
    assert ticks(5) == [0, 1, 2, 3, 4, 5] and ticks(20) == [0, 4, 8, 12, 16, 20] and ticks(2) == [0, 1, 2]


def test_issue_19_a_bar_chart_names_itself_and_reads_every_figure() -> None:
    svg = str(bar_chart("c", "Open requests", ["received", "verified"], [Series("Requests", [3, 0])],
                        x_title="State", y_title="Requests"))
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and 'role="img"' in svg
    assert 'aria-labelledby="c-title c-desc"' in svg and '<title id="c-title">Open requests</title>' in svg
    assert '<desc id="c-desc">received: Requests 3; verified: Requests 0</desc>' in svg
    assert len(re.findall(r"<rect [^>]*height=", svg)) == 2 and ">State</text>" in svg and ">Requests</text>" in svg


def test_issue_19_a_line_chart_has_a_legend_per_series_and_escapes_its_texts() -> None:
    svg = str(line_chart("l", "<b>Consents</b>", ["week 1", "week 2"],
                         [Series("given", [1, 2]), Series("with & drawn", [0, 1])], x_title="Week", y_title="n"))
    assert "<b>" not in svg and "&lt;b&gt;Consents&lt;/b&gt;" in svg and "with &amp; drawn" in svg
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 4
    assert describe(["a"], [Series("x", [1]), Series("y", [2])]) == "a: x 1, y 2"
