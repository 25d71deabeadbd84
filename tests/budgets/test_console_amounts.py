"""The console's 元 → 分 conversion for budgets and costs (civic.console.budgets._fen): exact, no
float, at most two decimals; anything else is the field's error, not a rounded amount."""
from __future__ import annotations

import pytest

from civic.console.budgets import _fen
from civic.core.errors import ValidationFailed


@pytest.mark.parametrize(("typed", "fen"), [("5000", 500000), ("1200.50", 120050), ("1,200.5", 120050), ("0.1", 10),
                                            ("0.01", 1), (" 3000.00 ", 300000), ("12345678.99", 1234567899),
                                            ("0.07", 7), ("1.10", 110), ("12.", 1200)])
def test_yuan_typed_become_exact_fen(typed, fen):
    assert _fen({"budget_yuan": typed}, "budget_yuan") == fen


@pytest.mark.parametrize("typed", ["12.345", "1e3", "-5", "", "五千", ".5", "1.2.3", "0x10"])
def test_anything_else_is_refused_with_the_field(typed):
    with pytest.raises(ValidationFailed) as err:
        _fen({"cost_yuan": typed}, "cost_yuan")
    assert err.value.code == "amount_invalid" and err.value.details == {"field": "cost_yuan"}
