from __future__ import annotations

import math

from backtesting.templatetags.backtesting_format import fmt, num, pct, pvalue, rupees


def test_numbers_are_formatted_for_people_and_missing_values_show_a_dash() -> None:
    assert pct(0.1234) == "12.3%"
    assert pct(-0.995, 0) == "-100%"
    assert num(1234.5678, 2) == "1,234.57"
    assert rupees(-55270.53) == "Rs -55,271"
    assert pvalue(1.7851e-16) == "1.79e-16"
    assert pvalue(0.549) == "0.549"
    assert fmt(744, "int") == "744"
    assert fmt(0.718, "pct") == "71.8%"
    assert num(math.inf) == "inf"
    for missing in (None, math.nan, "text", True):
        assert pct(missing) == num(missing) == rupees(missing) == pvalue(missing) == "-"
