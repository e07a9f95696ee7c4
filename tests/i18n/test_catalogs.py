"""The gettext catalogs: complete, not stale, well-formed; the extract configuration finds what people read."""
from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from i18n import LANGUAGES, gettext, translation
from i18n.catalogs import TEMPLATE, po_path, read_catalog
from tests.conftest import REPO_ROOT

OTHER_LANGUAGES = [language for language in LANGUAGES if language != "en"]
PLACEHOLDER = re.compile(r"\{[a-z_0-9]*\}")


def extracted() -> set[str]:
    """Every message id the sources mark (``_``, ``N_``, ``gettext``, ``ngettext``), as ``pybabel extract``
    with ``i18n/babel.cfg`` finds them."""
    with (REPO_ROOT / "i18n" / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "N_": None, "gettext": (1,), "ngettext": (1, 2)}
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(REPO_ROOT), method_map, options_map, keywords=keywords):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def ids_of(catalog) -> set[str]:
    return {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}


@pytest.fixture(scope="module")
def source_ids() -> set[str]:
    ids = extracted()
    assert len(ids) > 200 and "Submit for review" in ids and "New consultation" in ids  # the scan found the pages
    return ids


def test_the_template_holds_exactly_what_the_sources_mark(source_ids: set[str]) -> None:
    template = ids_of(read_catalog(TEMPLATE))
    assert sorted(source_ids - template) == [], "new strings: run pybabel extract (README, Languages)"
    assert sorted(template - source_ids) == [], "stale strings in the template: run pybabel extract"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_each_catalog_translates_every_string_and_nothing_stale(source_ids: set[str], language: str) -> None:
    catalog = read_catalog(po_path(language), language)
    ids = ids_of(catalog)
    assert sorted(source_ids - ids) == [], f"{language} lacks these strings: pybabel update, then translate"
    assert sorted(ids - source_ids) == [], f"{language} keeps strings no source marks any more (stale)"
    obsolete = sorted(m.id for m in catalog.obsolete.values())
    assert obsolete == [], f"{language} keeps obsolete (#~) entries"
    untranslated = [m.id for m in catalog if m.id and (m.fuzzy or not all(
        m.string if isinstance(m.string, tuple) else (m.string,)))]
    assert untranslated == [], f"{language}: fuzzy or empty translations"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_translations_keep_their_placeholders(language: str) -> None:
    """A translation that drops or renames a {placeholder} would raise KeyError or lose a value on screen."""
    catalog = read_catalog(po_path(language), language)
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[0]))
        wrong += [(ids[0], s) for s in strings if set(PLACEHOLDER.findall(s)) != wanted]
    assert wrong == []
    assert [(m.id, errs) for m, errs in catalog.check()] == []  # Babel's own checks (python-format, plurals)


def unclosed_bold(text: str) -> list[int]:
    """Positions of ``**`` runs that CommonMark (and so Streamlit's markdown) would print as literal asterisks:
    after punctuation a closing ``**`` must be followed by a space, punctuation or the end; before punctuation an
    opening one must come after a space, punctuation or the start (CommonMark 0.31, "left- and right-flanking
    delimiter runs"). Runs are taken in order, opening then closing; placeholders count as a word."""
    import unicodedata

    text = PLACEHOLDER.sub("X", text)

    def kind(i: int) -> str:
        if i < 0 or i >= len(text) or text[i].isspace():
            return "space"
        return "punct" if unicodedata.category(text[i])[0] in "PS" else "word"

    wrong = []
    for n, match in enumerate(re.finditer(r"(?<!\*)\*\*(?!\*)", text)):
        before, after = kind(match.start() - 1), kind(match.end())
        if n % 2 == 0:  # opening: left-flanking
            ok = after != "space" and (after != "punct" or before in ("space", "punct"))
        else:  # closing: right-flanking
            ok = before != "space" and (before != "punct" or after in ("space", "punct"))
        if not ok:
            wrong.append(match.start())
    return wrong


def test_the_bold_check_knows_the_cases_that_broke() -> None:
    assert unclosed_bold("**接下来：**{text}") != []  # shown as "**接下来：**…" on the page
    assert unclosed_bold("**接下来**：{text}") == []
    assert unclosed_bold("**Next:** {text}") == [] and unclosed_bold("已登录：**{name}**（{role}）") == []


@pytest.mark.parametrize("language", ["en", *OTHER_LANGUAGES])
def test_bold_markers_close_in_every_translation(language: str) -> None:
    """A tester saw literal ``**`` in Chinese where a full-width colon ended the bold text right before a word."""
    catalog = read_catalog(po_path(language), language) if language != "en" else None
    messages = [m for m in catalog if m.id] if catalog is not None else []
    texts = ([s for m in messages for s in (m.string if isinstance(m.string, tuple) else (m.string,)) if s]
             if catalog is not None else [m.id for m in read_catalog(TEMPLATE, "en") if m.id and isinstance(m.id, str)])
    assert texts
    assert [t for t in texts if "**" in t and unclosed_bold(t)] == []


def test_runtime_reads_the_catalog_without_a_compile_step() -> None:
    assert not list(po_path("zh_CN").parent.glob("*.mo"))  # nothing compiled is shipped or needed
    assert gettext("Submit for review", "zh_CN") == "提交审核"
    assert gettext("Submit for review", "en") == "Submit for review"
    assert gettext("not in any catalog", "zh_CN") == "not in any catalog"
    assert translation("zh_CN").ngettext("Of the {count} consultation reviewed so far, half were answered within "
                                         "**{median}** and nine in ten within **{p90}**.", "x", 3).startswith("在已审核的")
