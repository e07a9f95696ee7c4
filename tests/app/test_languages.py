"""The patient's pages in Simplified Chinese (issue 21), through AppTest: no English catalog text left on the
home page, the new consultation (form, results) and My consultation; the consultation records its language
and the consent version names it; the sidebar switches the language for the session; English still works."""
from __future__ import annotations

import json

from google.protobuf import text_format
from sqlalchemy import select

from db.models import Consultation
from pages._language import LANGUAGE, PICKER
from testing.untranslated import untranslated
from tests.app import test_model_registry_page as registry_page
from tests.app.conftest import assert_clean, queue_picker, shown_access_code, texts
from tests.factories import image_bytes

incoming_checkpoints, models_dir = registry_page.incoming_checkpoints, registry_page.models_dir  # fixtures


def without_bytes(message):
    """A copy of ``message`` with its bytes fields emptied (a table's Arrow data: binary, with pandas' metadata)."""
    copy = type(message)()
    copy.CopyFrom(message)

    def clear(m) -> None:
        for field, value in m.ListFields():
            if field.type == field.TYPE_BYTES:
                m.ClearField(field.name)
            elif field.type == field.TYPE_MESSAGE:
                for item in ([value] if hasattr(value, "ListFields") else value):  # one message or a repeated field
                    if hasattr(item, "ListFields"):
                        clear(item)

    clear(copy)
    return copy


def rendered(at, *, charts: bool = True) -> str:
    """Every element's content of an AppTest (or of one block of it) as the browser receives it (labels, options,
    help, bodies), UTF-8; blocks with their own words too (a tab's or an expander's label); a table as its
    headings, row labels and cells. ``charts=False``: without the charts' specs (AppTest knows them only as
    unknown elements; their data's field names are not shown, their titles are checked apart)."""
    parts = []

    def walk(node) -> None:
        if not charts and type(node).__name__ == "UnknownElement" and hasattr(getattr(node, "proto", None), "spec"):
            return
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(text_format.MessageToString(without_bytes(proto), as_utf8=True))
        if type(node).__name__ in ("Dataframe", "Table"):
            parts.append(node.value.to_string())
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(getattr(at, "_tree", at))  # the whole app, or one part of it (at.main, at.sidebar)
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


def chinese_sign_in(at, username: str):
    """Sign in through the form of a session in Chinese (the submit button's key carries its label)."""
    from tests.app.conftest import PASSWORD

    chinese(at).switch_page("pages/queue.py").run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button(key="FormSubmitter:sign_in-登录").click().run()
    assert_clean(at)
    return at


def a_follow_up_with_a_round(database, clinician) -> str:
    """A follow-up of a reviewed consultation, with full answers, a blurred uncertain out-of-scope photo, and one
    answered round of "more information" (a photo and a text): what the review can show, back in the queue."""
    from db.consultations import (FollowUpOf, NewImage, answer_request, claim, record_review, request_information,
                                  submit_consultation)
    from pages import _resources as res
    from tests.app.conftest import seed_consultation
    from tests.db.builders import HISTORY, new_image, new_prediction

    earlier, code = seed_consultation(database)
    with database.begin() as session:
        earlier_id = session.query(Consultation.id).filter_by(public_id=earlier).scalar()
        claim(session, earlier_id, clinician)
        record_review(session, earlier_id, clinician, "seborrheic_dermatitis", "Ketoconazole twice a week.")
    blurred = new_image("JPEG")
    blurred = NewImage(blurred.data, blurred.mime, blurred.width, blurred.height,
                       {"quality": {"issues": ["blurry", "underexposed"]}}, overlay_png=blurred.overlay_png)
    with database.begin() as session:
        later, later_code = submit_consultation(
            session, HISTORY, res.CONSENT_VERSION, [blurred], [new_prediction(0.52, uncertain=True, out_of_scope=True)],
            follow_up_of=FollowUpOf(code, "worse"))
        claim(session, later.id, clinician)
        request_information(session, later.id, clinician, ["closer", "question"], "Does it itch at night?")
        answer_request(session, later_code, "Yes, at night.", [new_image("JPEG")], [new_prediction(0.3)])
        return later.public_id


def review_page(at) -> str:
    """The review page's main area as rendered: its caption says where the case stands in the reader's language
    (``pages/_progress.py``), the photo panel too."""
    return rendered(at.main)


def test_a_clinicians_review_follows_the_clinicians_choice(at, database, clinician) -> None:
    """Issue 21, clinician side: a dermatologist in Chinese reviews a follow-up (photos with the model's output,
    the patient's answers, the earlier consultation beside it, a round of questions, the form, the note templates),
    saves the review and reads it back, and opens the model page: no English catalog text anywhere."""
    from clinic.templates import create_template

    public_id = a_follow_up_with_a_round(database, clinician)
    template = create_template(database, clinician, "洗发水", "每周两次。", shared=True)
    chinese_sign_in(at, "dr.who")
    queue_picker(at).select(public_id)
    at.button(key="q_open").click().run()
    at.switch_page("pages/review.py")
    at.selectbox(key="tpl_pick").set_value(template.id).run()  # the editor with its delete box and buttons
    at.toggle(key=f"rv_map_{public_id}_0").set_value(True)  # the photo panel: its map, zoomed in with its sliders
    at.select_slider(key=f"rv_zoom_{public_id}_0").set_value(2).run()
    assert_clean(at)
    page = review_page(at)
    assert at.title[0].value == f"问诊 {public_id}"
    caption = next(c for c in texts(at.main.caption) if c.startswith("提交于 "))
    assert " · 患者 " in caption and "前回答了补充请求 · " in caption and "（目标 24 小时） · 复诊，病情加重 · " in caption
    assert (at.toggle(key=f"rv_map_{public_id}_0").label, at.select_slider(key=f"rv_zoom_{public_id}_0").label) == (
        "注意力图", "放大")
    assert [s.label for s in at.slider] == ["横向位置（%）", "纵向位置（%）"]
    assert "照片 1 · 16×12 像素 · 注意力图" in [c for image in at.image for c in image.captions]
    # This 16×12 map is too small for the safe decoder: the zoom says so in the reader's language.
    assert texts(at.warning) == ["这张照片无法放大：无法将此文件读取为照片。请发送 JPEG、PNG、HEIC 或 WebP 格式的照片。"]
    assert [s.value for s in at.subheader] == ["病史", "皮肤科医生的审核"]
    assert "该患者之前的问诊（1）" in [e.label for e in at.expander]
    assert "照片 2（第 1 次补充）" in page and "照片质量：模糊和曝光不足" in page and "病情加重" in page
    assert "**第 1 次补充请求：由 dr.who 提出**" in page
    answers = at.table[0].value  # the stored answers in the clinician's language, the patient's own text as written
    assert dict(zip(answers.index, answers["患者的回答"])) == {
        "年龄": "18–39", "性别": "女", "病程": "1–6 个月", "瘙痒": "中度", "头皮部位": "头顶和后脑",
        "已尝试的治疗": "ketoconazole shampoo", "照片来源": "手机", "知情同意": "版本 2026-11"}
    assert "Yes, at night." in texts(at.text)  # the patient's words as written
    assert untranslated(page, "zh_CN") == []

    at.radio(key=f"rv_diagnosis_{public_id}").set_value("psoriasis")
    at.radio(key=f"rv_course_{public_id}").set_value("worse")
    at.radio(key=f"rv_agrees_{public_id}").set_value("not sure")
    at.text_area(key=f"rv_notes_{public_id}").input("每天使用。")
    at.button(key=f"FormSubmitter:review_{public_id}-保存").click().run()
    assert_clean(at)
    page = review_page(at)
    assert texts(at.success) == [f"问诊 {public_id} 的审核已保存。"] and "这次问诊已审核。" in texts(at.info)
    assert "**dr.who 的审核**" in page and "病情变化：加重" in page and untranslated(page, "zh_CN") == []

    at.switch_page("pages/model.py").run()
    assert_clean(at)
    assert at.title[0].value == "模型" and "局限性" in [s.value for s in at.subheader]
    assert [m.label for m in at.metric] == ["决策阈值", "不确定区间", "温度"]
    assert untranslated(rendered(at.main), "zh_CN") == []
    # The sidebar's "Signed in as" line words the stored role (app.py) in the reader's language.
    assert "已登录：**dr.who**（皮肤科医生）" in texts(at.sidebar.caption)
    assert untranslated(rendered(at.sidebar), "zh_CN") == []


def test_an_administrators_model_section_follows_the_administrators_choice(at, database, models_dir) -> None:
    """The registry in Chinese: register two checkpoints, activate one with a reason, shadow runs, compare the two
    on reviewed consultations (figures, DeLong, calibration, the cards shown as written) - no English catalog
    text; the stored states stay the codes."""
    from clinic import comparison, models
    from db.users import create_user
    from tests.app.conftest import PASSWORD, seed_reviewed

    with database.begin() as session:
        admin = create_user(session, "boss", PASSWORD, "admin")
        reviewer = create_user(session, "derm2", PASSWORD)
    seed_reviewed(database, reviewer, ["psoriasis", "seborrheic_dermatitis"] * 3, images=[1, 2] * 3)
    chinese_sign_in(at, "boss").switch_page("pages/model.py").run()
    assert_clean(at)
    assert [h.value for h in at.header] == ["已注册的模型"] and untranslated(rendered(at), "zh_CN") == []
    assert "已登录：**boss**（管理员）" in texts(at.sidebar.caption)  # the stored role "admin", worded
    for name in ("page-a.pt", "page-b.pt"):
        box = at.selectbox(key="model_register_file")
        box.set_value(next(option for option in box.options if str(option).endswith(name)))
        at.button(key="FormSubmitter:model_register-注册").click().run()
    assert_clean(at)
    assert texts(at.success) == ["已将 page-b 注册为候选模型。"]
    box = at.selectbox(key="model_activate_choice")
    assert [option.startswith(("page-a（候选，", "page-b（候选，")) for option in box.options] == [True, True]
    box.select_index(next(i for i, option in enumerate(box.options) if option.startswith("page-a（")))
    at.text_area(key="model_activate_reason").input("第一个模型")
    at.button(key="FormSubmitter:model_activate-激活").click().run()
    assert_clean(at)
    assert any(s.startswith("page-a 现在是使用中的模型") for s in texts(at.success))
    candidate = next(e for e in models.list_models(database) if e.version == "page-b")
    models.set_shadow(database, admin, candidate.id, True)
    at.run()
    table = at.dataframe[0].value
    assert dict(zip(table["版本"], table["状态"])) == {"page-a": "使用中", "page-b": "候选"}
    assert dict(zip(table["版本"], table["影子运行"])) == {"page-a": "", "page-b": "是"}
    at.selectbox(key="model_compare_a").select_index(0)
    at.selectbox(key="model_compare_b").select_index(1)
    at.button(key="FormSubmitter:model_compare-比较").click().run()
    assert_clean(at)
    assert comparison.JOBS.get(*at.session_state["_model_compare_pair"]).finished.wait(120)
    at.run()
    assert_clean(at)
    page = rendered(at)
    assert "**配对 DeLong 检验**" in page and "灵敏度（本模型阈值）" in list(at.table[0].value["指标"])
    assert "校准（可靠性分箱）" in [e.label for e in at.expander] and "未经翻译" in page
    assert untranslated(page, "zh_CN") == []
    # A background job's own error in the administrator's language: 3 + 6 reviewed photos are too few to retrain.
    from clinic import retrain

    at.number_input(key="model_retrain_epochs").set_value(1)
    at.button(key="FormSubmitter:model_retrain-重新训练").click().run()
    assert retrain.JOBS.current.finished.wait(60)
    at.run()
    assert_clean(at)
    assert any(e.startswith(f"重新训练 {retrain.JOBS.current.version} 失败：已审核的照片太少，无法重新训练：银屑病 3 张，"
                            "脂溢性皮炎 6 张") for e in texts(at.error))
    assert untranslated(rendered(at), "zh_CN") == []


def test_the_queue_in_chinese_says_why_each_case_is_there(at, database, clinician) -> None:
    """The queue in Chinese with an overdue case, one waiting for the patient, one the patient answered and a
    reviewed one: each row's reason (the data layer's phrases) in Chinese, in the table, the picker and a search
    result; the turnaround chart's words too; no English catalog text on the page."""
    from datetime import timedelta

    from db.consultations import answer_request, claim, record_review, request_information
    from db.models import Status
    from tests.app.conftest import seed_consultation
    from tests.app.test_queue_triage import submitted
    from tests.db.builders import new_image, new_prediction

    _id, overdue = submitted(database, age=timedelta(days=14), p=0.3, itch="severe", uncertain=True)
    waiting, _code = seed_consultation(database)
    answered, answered_code = seed_consultation(database)
    reviewed, _code = seed_consultation(database)
    with database.begin() as session:
        ids = dict(session.query(Consultation.public_id, Consultation.id))
        for case in (waiting, answered):
            claim(session, ids[case], clinician)
            request_information(session, ids[case], clinician, ["question"], "Does it itch at night?")
        answer_request(session, answered_code, "Yes.", [new_image("JPEG")], [new_prediction(0.3)])
        claim(session, ids[reviewed], clinician)
        record_review(session, ids[reviewed], clinician, "psoriasis", "")
    chinese_sign_in(at, "dr.who")
    at.multiselect(key="q_status").set_value(list(Status)).run()
    assert_clean(at)
    table = at.dataframe[0].value
    reasons = dict(zip(table["问诊"], table["排序原因"]))
    assert reasons[overdue] == "已逾期 13.0 天（目标 24 小时） · 重度瘙痒 · 模型不确定"
    assert reasons[waiting].startswith("等待患者：") and reasons[waiting].endswith("前已请其提供更多信息")
    assert reasons[answered].startswith("患者 1 分钟前回答了补充请求 · ") and "后到期（目标 3 天）" in reasons[answered]
    assert reasons[reviewed].startswith("由 dr.who 审核于 ") and reasons[reviewed].endswith(" UTC")
    assert {"#", "排序原因", "已等待（天）", "状态", "已审核", "最高 P(银屑病)"} <= set(table.columns)  # the headings
    assert untranslated(" | ".join(table.columns), "zh_CN") == []
    assert untranslated("\n".join(reasons.values()), "zh_CN") == []
    labels = queue_picker(at).options
    assert any(option.endswith(reasons[overdue]) for option in labels)
    at.text_input(key="q_find").input(overdue).run()
    assert_clean(at)
    assert at.button(key=f"q_found_{overdue}").label.endswith(" · 等待中 · " + reasons[overdue])
    chart = json.loads(next(e for e in at.main if type(e).__name__ == "UnknownElement").proto.spec)
    y, x, tips = chart["encoding"]["y"], chart["encoding"]["x"], chart["encoding"]["tooltip"]  # the turnaround chart
    assert (y["sort"], x["title"]) == (["最近 7 天", "最近 30 天", "全部时间"], "从提交到审核的小时数")
    assert [t["title"] for t in tips] == ["时间段", "统计量", "小时", "已审核"]
    # The rest of the page, less the charts' specs (their data's field names are not shown; their titles are).
    assert untranslated(rendered(at, charts=False), "zh_CN") == []

    queue_picker(at).select(reviewed)  # the review of the reviewed case: its caption, a zoomed photo
    at.button(key="q_open").click().run()
    at.switch_page("pages/review.py").run()
    at.select_slider(key=f"rv_zoom_{reviewed}_0").set_value(2).run()
    assert_clean(at)
    caption = next(c for c in texts(at.main.caption) if c.startswith("提交于 "))
    assert " · 由 dr.who 审核于 " in caption and caption.endswith(" UTC · 已审核")
    assert [c for image in at.image for c in image.captions] == [
        "照片 1 · 64×48 像素 · 放大 2×：64×48 中横向第 16–48 像素、纵向第 12–36 像素"]
    assert untranslated(rendered(at.main), "zh_CN") == []
