"""R-POL-2: docs/policy.md names every refusal the loader can give, so the documentation stays true."""

from __future__ import annotations

import re
from pathlib import Path

import kluis.policy.loader
import kluis.policy.rules

ROOT = Path(__file__).resolve().parents[3]


def test_r_pol_2_every_refusal_code_is_documented() -> None:
    sources = "".join(Path(module.__file__).read_text(encoding="utf-8")  # type: ignore[arg-type]
                      for module in (kluis.policy.rules, kluis.policy.loader))
    codes = set(re.findall(r'Problem\([^,]+,\s*"([a-z_]+)"', sources))
    assert len(codes) > 15
    docs = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    assert {code for code in codes if f"`{code}`" not in docs} == set()
