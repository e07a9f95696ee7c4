"""Issue 21's "done when", in a real headless Chromium against ``streamlit run serve.py``: a phone whose
browser prefers Simplified Chinese (Playwright ``locale="zh-CN"``: ``navigator.language`` and
``Accept-Language``) walks Home -> New consultation -> consent -> a photo -> Submit -> the access code -> the
PDF -> My consultation, and no page shows English text of the catalogs (``testing.untranslated``); the PDF
holds the Chinese words. The same walk in English is ``test_browser_walks.test_phone_walk_of_the_patient_flow``.

Screenshots go to ``test-artifacts/walk-zh-*.png``. Skipped without /usr/bin/chromium unless
``SCALPSCOPE_REQUIRE_BROWSER=1`` (CI).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from testing.live import STEP_TIMEOUT_MS, chromium
from testing.untranslated import untranslated
from tests.app.browser import settle, shoot
from tests.app.test_browser_walks import FIRST_PREDICTION_MS, PHONE, app, open_menu_entry, shown_code  # noqa: F401
from tests.factories import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]


def english_left(page) -> list[str]:
    """English catalog text in what the page shows now (main area and sidebar)."""
    settle(page)
    return untranslated(page.locator("body").inner_text(), "zh_CN")


def test_phone_walk_in_chinese(app, tmp_path: Path) -> None:  # noqa: F811 - the served app's fixture
    from playwright.sync_api import expect

    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 reads the PDF (requirements-dev.txt)")
    url, _ = app
    photo = tmp_path / "scalp.jpg"
    photo.write_bytes(image_bytes("JPEG", 640, 480, seed=3))
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with chromium() as browser:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, accept_downloads=True,
                                      locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.goto(url)

        # Home, in the browser's language on the first visit.
        expect(page.get_by_text("需要多长时间？")).to_be_visible()
        assert english_left(page) == []
        shoot(page, "walk-zh-01-home")
        page.get_by_role("link", name=re.compile("开始新的问诊")).first.click()
        expect(page.get_by_role("heading", name="新问诊")).to_be_visible()
        assert english_left(page) == []

        page.get_by_text("我已阅读并同意").click()
        page.get_by_text(re.compile(r"^提交前请：添加 1 到 \d+ 张照片。$")).wait_for()
        settle(page)
        expect(page.get_by_text("知情同意版本 2026-11-zh_CN")).to_be_visible()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(photo)
        expect(page.get_by_text("scalp.jpg ·")).to_be_visible()
        assert english_left(page) == []
        shoot(page, "walk-zh-02-form")

        page.get_by_role("button", name="提交审核").click()
        expect(page.get_by_text("您的问诊已发送给皮肤科医生。")).to_be_visible(timeout=FIRST_PREDICTION_MS)
        code = shown_code(page)
        expect(page.get_by_role("heading", name="照片 1")).to_be_visible()  # its estimate, or why there is none
        assert english_left(page) == []
        shoot(page, "walk-zh-03-result")

        # The PDF: Chinese words, drawn from the embedded font, the code on its first line.
        with page.expect_download() as download:
            page.get_by_role("button", name="下载 PDF 摘要").click()
        pdf = Path(download.value.path()).read_bytes()
        document = pdfium.PdfDocument(pdf)
        text = "\n".join(p.get_textpage().get_text_range() for p in document).replace("\r", "")
        assert text.splitlines()[0].strip() == f"访问码：{code}"
        for words in ("ScalpScope - 问诊摘要", "知情同意版本：2026-11-zh_CN", "您提供的信息", "照片 1"):
            assert words in text, words
        assert b"/FontFile2" in pdf

        # My consultation, with the code, still in Chinese.
        open_menu_entry(page, "我的问诊")
        page.get_by_label("访问码").fill(code)
        page.get_by_role("button", name="查看我的问诊").click()
        expect(page.get_by_text("皮肤科医生还没有写结论。请稍后再来查看。")).to_be_visible()
        assert english_left(page) == []
        shoot(page, "walk-zh-04-my-consultation")
