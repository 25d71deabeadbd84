"""civic.core.text: tidy, segmentation, masking."""

from __future__ import annotations

import csv
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civic.core.errors import ValidationFailed
from civic.core.text import mask_id_number, mask_name, mask_phone, require_text, search_tokens, segment, tidy
from tests.shared import DATA as SHARED_DATA

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


def visible(text: str) -> str:
    """The non-whitespace, non-zero-width, non-control characters, canonically decomposed (NFD)."""
    decomposed = unicodedata.normalize("NFD", text.replace("_x000D_", ""))
    return "".join(ch for ch in decomposed if not ch.isspace() and ch not in ZERO_WIDTH and not _control(ch))


def _control(ch: str) -> bool:
    # Cc (C0, DEL, C1) and the bidi embeddings, overrides and isolates, by Unicode's own tables.
    return unicodedata.category(ch) == "Cc" or unicodedata.bidirectional(ch) in {"LRE", "RLE", "PDF", "LRO", "RLO",
                                                                                 "LRI", "RLI", "FSI", "PDI"}


def real_messages() -> list[dict[str, str]]:
    rows = []
    for name in ("messages_community_unlabeled.csv", "messages_sample.csv"):
        path = SHARED_DATA / name
        if not path.exists():
            pytest.skip(f"shared test data not available: {path}")
        with open(path, encoding="utf-8", newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


def test_tidy_scraped_body():
    raw = "\n\t\t\t\t\t\n\t\t\t\t\t保利小区地铁凌晨2点施工，噪音严重扰民。\n\t\t\t\t\t\n\t\t\t\t\t\n\t\t\t\t"
    assert tidy(raw) == "保利小区地铁凌晨2点施工，噪音严重扰民。"


def test_tidy_excel_carriage_return_escape():
    assert tidy("第一段_x000D_\n第二段_x000D_第三段") == "第一段\n第二段\n第三段"


def test_tidy_crlf_and_blank_lines():
    assert tidy("一\r\n\r\n\r\n\r\n二\r三") == "一\n\n二\n三"


def test_tidy_ideographic_indent_removed_inner_space_kept_as_one():
    assert (
        tidy("\u3000\u3000尊敬的领导：\n\u3000\u3000我是A3区\u3000\u3000居民")
        == "尊敬的领导：\n我是A3区 居民"
    )


def test_tidy_nbsp_tabs_and_zero_width():
    assert tidy("A3区\xa0\xa0中海\t国际\u200b社区\ufeff") == "A3区 中海 国际社区"


def test_tidy_drops_controls_and_bidi_overrides():
    # A terminal colour escape, a NUL, a bell, and a right-to-left override that would show
    # "付款00001元" reversed to a staff member.
    assert tidy("含\x00NUL\x07\x1b[31m红字\x1b[0m 退款\u202e元10000\u202c") == "含NUL[31m红字[0m 退款元10000"
    assert tidy("\u2067غ\u2069 \x85下一行") == "غ\n下一行"


def test_tidy_keeps_full_width_punctuation():
    # NFKC would turn these into ASCII; NFC must not.
    assert tidy("（一）你好，请问？") == "（一）你好，请问？"


def test_tidy_nfc():
    assert tidy("Cafe\u0301") == "Café"


def test_tidy_too_long():
    with pytest.raises(ValidationFailed) as exc:
        tidy("  一二三四五六  ", max_len=5)
    assert exc.value.code == "text_too_long"
    assert exc.value.details == {"max": 5, "length": 6}
    assert tidy("  一二三四五  ", max_len=5) == "一二三四五"


def test_require_text_refuses_blank():
    for blank in (None, "", " \u3000\xa0\n\t\u200b"):
        with pytest.raises(ValidationFailed) as exc:
            require_text(blank, "body")
        assert exc.value.code == "text_required"
        assert exc.value.details == {"field": "body"}


def test_require_text_too_long_names_field():
    with pytest.raises(ValidationFailed) as exc:
        require_text("一二三", "title", max_len=2)
    assert exc.value.code == "text_too_long"
    assert exc.value.details == {"field": "title", "max": 2, "length": 3}


@given(st.text(alphabet=st.characters(codec="utf-8")
               | st.sampled_from("\u3000\xa0\t\r\n _x000D_\u200b\x00\x07\x1b\x7f\x9b\u202e\u2066\u2069")))
def test_tidy_keeps_every_visible_character(text):
    out = tidy(text)
    assert visible(out) == visible(text)
    assert out == out.strip()
    assert "\n\n\n" not in out
    assert tidy(out) == out  # idempotent


def test_tidy_keeps_every_visible_character_of_real_messages():
    for row in real_messages():
        for field in ("title", "body"):
            out = tidy(row[field])
            assert visible(out) == visible(row[field]), row["id"]
            assert "\t" not in out and "\xa0" not in out and "\u3000" not in out


def test_segment_keeps_domain_words_whole():
    tokens = segment("楼上改成了群租房，还有人飞线充电")
    assert "群租房" in tokens
    assert "飞线充电" in tokens


def test_search_tokens_include_sub_words_and_drop_punctuation():
    tokens = search_tokens("中华人民共和国，群租房！").split(" ")
    assert {"中华", "人民", "共和国", "中华人民共和国", "群租", "群租房"} <= set(tokens)
    assert "，" not in tokens and "！" not in tokens


def test_import_is_cheap_and_jieba_quiet():
    code = (
        "import sys, time; t = time.perf_counter(); import civic.core.text as m; "
        "assert 'jieba' not in sys.modules; m.segment('小区噪音'); print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "ok"
    assert done.stderr == ""  # no "Building prefix dict" noise


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812341234", "138****1234"),
        ("+86 138 1234 1234", "138****1234"),
        ("+86-138-1234-1234", "138****1234"),
        ("0086 13812341234", "138****1234"),
        ("021-6321 1234", "021****1234"),
        ("12345", "*****"),
        ("call me", "******"),
        (None, None),
    ],
)
def test_mask_phone(raw, masked):
    assert mask_phone(raw) == masked


@pytest.mark.parametrize(("raw", "masked"), [("张三", "张*"), ("欧阳娜娜", "欧***"), ("李", "李*"), ("", None), (None, None)])
def test_mask_name(raw, masked):
    assert mask_name(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("310101199001011234", "310101********1234"),
        ("310101 19900101 123x", "310101********123X"),
        ("310101-19900101-1234", "310101********1234"),
        ("310101900101123", "310101******123"),
        ("1234", "****"),
        (None, None),
    ],
)
def test_mask_id_number(raw, masked):
    assert mask_id_number(raw) == masked
