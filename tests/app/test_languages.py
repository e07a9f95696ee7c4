"""The patient's pages in Simplified Chinese (issue 21), through AppTest: no English catalog text left on the
home page, the new consultation (form, results) and My consultation; the consultation records its language
and the consent version names it; the sidebar switches the language for the session; English still works."""
from __future__ import annotations

from google.protobuf import text_format
from sqlalchemy import select

from db.models import Consultation
from pages._language import LANGUAGE, PICKER
from testing.untranslated import untranslated
from tests.app.conftest import assert_clean, shown_access_code, texts
from tests.factories import image_bytes


def rendered(at) -> str:
    """Every element's content as the browser receives it (labels, options, help, bodies), UTF-8."""
    parts = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and not hasattr(node, "children"):
            parts.append(text_format.MessageToString(proto, as_utf8=True))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def chinese(at):
    at.session_state[LANGUAGE] = "zh_CN"  # as a browser preferring zh-CN gets on its first run
    return at.run()


def send_a_consultation(at) -> str:
    at.switch_page("pages/new_consultation.py").run()
    at.checkbox(key="nc_consent").check()
    at.selectbox(key="nc_age").select("40–64")
    at.multiselect(key="nc_sites").select("top").select("back")
    at.file_uploader(key="nc_files").set_value([("scalp.jpg", image_bytes("JPEG", seed=1), "image/jpeg")])
    at.run()
    assert not at.button(key="nc_submit").disabled
    at.button(key="nc_submit").click().run()
    assert_clean(at)
    return shown_access_code(at)


def test_home_in_chinese_has_no_english_catalog_text(at) -> None:
    chinese(at)
    assert_clean(at)
    assert at.title[0].value == "ScalpScope" and any("皮肤科医生" in m for m in texts(at.markdown))
    assert untranslated(rendered(at), "zh_CN") == []


def test_a_consultation_in_chinese_from_form_to_code_and_back(at, fake_predictor, database) -> None:
    chinese(at)
    at.switch_page("pages/new_consultation.py").run()
    form = rendered(at)
    assert "我已阅读并同意（知情同意版本 2026-11-zh_CN）。" in form and "不是诊断" in form
    assert untranslated(form, "zh_CN") == []
    code = send_a_consultation(at)
    results = rendered(at)
    assert "您的问诊已发送给皮肤科医生。" in results and "银屑病约80%" in results
    assert untranslated(results, "zh_CN") == []
    with database.session() as session:
        stored = session.scalar(select(Consultation))
        assert (stored.language, stored.consent_version) == ("zh_CN", "2026-11-zh_CN")
        assert (stored.age_band, stored.scalp_site) == ("40–64", "top, back")  # the answers stay the stored values

    at.switch_page("pages/my_consultation.py").run()
    at.text_input(key="my_code").input(code)
    at.get("form_submit_button")[0].click().run()
    page = rendered(at)
    assert "已收到 — 等待皮肤科医生" in page and untranslated(page, "zh_CN") == []


def test_the_sidebar_switches_the_language_for_the_session(at) -> None:
    assert at.session_state[LANGUAGE] == "en" and at.sidebar.selectbox(key=PICKER).value == "en"
    at.sidebar.selectbox(key=PICKER).select("zh_CN").run()
    assert at.session_state[LANGUAGE] == "zh_CN" and any("需要多长时间" in s.value for s in at.subheader)
    at.switch_page("pages/my_consultation.py").run()  # remembered on the next page
    assert at.title[0].value == "我的问诊"
    at.sidebar.selectbox(key=PICKER).select("en").run()
    assert at.title[0].value == "My consultation"


def test_english_pages_show_english(at, fake_predictor, database) -> None:
    send_a_consultation(at)
    page = rendered(at)
    assert "Your consultation has been sent to a dermatologist." in page
    # The scan the Chinese tests rely on does find English catalog text when it is there.
    assert {"Your consultation has been sent to a dermatologist", "Download PDF summary"} <= set(
        untranslated(page, "zh_CN"))
    with database.session() as session:
        stored = session.scalar(select(Consultation))
        assert (stored.language, stored.consent_version) == ("en", "2026-11-en")


def test_the_clinicians_choice_is_the_clinicians_own(app_env, database, clinician) -> None:
    """A clinician who chose Chinese reads the sign-in and the queue in Chinese; a patient's session at the same
    time keeps its own language (each browser session chooses for itself)."""
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP, PASSWORD, seed_consultation

    public_id, _code = seed_consultation(database)
    with database.begin() as session:  # as a Chinese patient's form stores it (test above)
        session.query(Consultation).filter_by(public_id=public_id).update({"language": "zh_CN"})
    doctor, patient = AppTest.from_file(str(APP), default_timeout=60), AppTest.from_file(str(APP), default_timeout=60)
    patient.run()
    chinese(doctor).switch_page("pages/queue.py").run()
    assert [s.value for s in doctor.subheader] == ["医生登录"]
    doctor.text_input(key="sign_in_username").input("dr.who")
    doctor.text_input(key="sign_in_password").input(PASSWORD)
    doctor.button(key="FormSubmitter:sign_in-登录").click().run()
    assert_clean(doctor)
    assert doctor.title[0].value == "待审列表" and [m.label for m in doctor.metric][:2] == ["等待中", "审核中"]
    assert doctor.multiselect(key="q_status").value == ["submitted", "in_review"]  # the values stay the codes
    table = doctor.dataframe[0].value
    assert list(table["语言"]) == ["简体中文"] and {"问诊", "状态", "最高 P(银屑病)"} <= set(table.columns)
    assert [e.label for e in doctor.expander] == ["诊所数据"] and "病例不足" in rendered(doctor)
    patient.run()
    assert patient.session_state[LANGUAGE] == "en" and patient.title[0].value == "ScalpScope"
    assert any("How long does it take?" == s.value for s in patient.subheader)


def test_a_reviewed_consultation_in_chinese_keeps_the_dermatologists_words(at, database, clinician,
                                                                             monkeypatch) -> None:
    """The conclusion, next steps, dates and the conclusion PDF in Chinese; the dermatologist's notes as written."""
    import pytest

    from db.consultations import claim, record_review
    from pages import _report
    from tests.app.conftest import seed_consultation

    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 reads the PDF (requirements-dev.txt)")
    made = []
    real = _report.conclusion_pdf
    monkeypatch.setattr(_report, "conclusion_pdf", lambda **kwargs: made.append(real(**kwargs)) or made[-1])
    public_id, code = seed_consultation(database)
    with database.begin() as session:
        consultation_id = session.query(Consultation.id).filter_by(public_id=public_id).scalar()
        claim(session, consultation_id, clinician)
        record_review(session, consultation_id, clinician, "seborrheic_dermatitis", "Shampoo twice a week. 每周两次。")
    chinese(at).switch_page("pages/my_consultation.py").run()
    at.text_input(key="my_code").input(code)
    at.get("form_submit_button")[0].click().run()
    assert_clean(at)
    page = rendered(at)
    assert texts(at.subheader) == ["皮肤科医生已审核"] and "脂溢性皮炎" in page and "酮康唑" in page
    assert texts(at.text) == ["Shampoo twice a week. 每周两次。"]  # as the dermatologist wrote it
    assert untranslated(page, "zh_CN") == []
    text = "\n".join(p.get_textpage().get_text_range() for p in pdfium.PdfDocument(made[-1])).replace("\r", "")
    assert "ScalpScope - 皮肤科医生的结论" in text and "结论：脂溢性皮炎" in text
    assert "Shampoo twice a week. 每周两次。" in text and "下一步" in text


def test_switching_the_language_keeps_the_answers_and_asks_the_consent_again(at) -> None:
    """The answers survive a switch; the consent box ticked under the English text is unticked under the Chinese
    one (what is stored is the version of the text on screen when the patient submits)."""
    from tests.app.test_new_consultation import open_page

    open_page(at)
    at.selectbox(key="nc_age").select("40–64")
    at.checkbox(key="nc_consent").check().run()
    at.sidebar.selectbox(key=PICKER).select("zh_CN").run()
    assert at.selectbox(key="nc_age").value == "40–64" and not at.checkbox(key="nc_consent").value
    assert "2026-11-zh_CN" in at.checkbox(key="nc_consent").label
    at.checkbox(key="nc_consent").check().run()
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/new_consultation.py").run()  # the same language: the tick is kept
    assert at.checkbox(key="nc_consent").value


def test_an_administrators_pages_follow_the_administrators_choice(at, database) -> None:
    """Accounts and the reader-study set-up and results in Chinese for an administrator who chose it."""
    from db.users import create_user
    from tests.app.conftest import PASSWORD

    with database.begin() as session:
        create_user(session, "boss", PASSWORD, "admin")
    chinese(at).switch_page("pages/queue.py").run()
    at.text_input(key="sign_in_username").input("boss")
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button(key="FormSubmitter:sign_in-登录").click().run()
    at.switch_page("pages/accounts.py").run()
    assert_clean(at)
    assert at.title[0].value == "账户" and "没有被锁定的账户。" in texts(at.info)
    assert untranslated(rendered(at), "zh_CN") == []
    at.switch_page("pages/reader_admin.py").run()
    assert_clean(at)
    assert at.title[0].value == "研究设置" and untranslated(rendered(at), "zh_CN") == []
    at.switch_page("pages/reader_results.py").run()
    assert_clean(at)
    assert at.title[0].value == "研究结果" and texts(at.info) == ["还没有阅片研究。请在**研究设置**中创建。"]
    assert untranslated(rendered(at), "zh_CN") == []
