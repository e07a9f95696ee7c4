"""Where a case stands, as the data layer's phrases (db.triage, db.consultations.progress_phrases) worded by the pages
(pages/_progress.py): exactly the data layer's English, and Simplified Chinese with no English catalog text (issue 21)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from db import triage
from db.consultations.queue import ASKED, CLOSED, REVIEWED
from pages._progress import progress_words
from testing.untranslated import untranslated

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
ANSWERED = triage.Flags(severe_itch=True, uncertain=True, answered_at=NOW - timedelta(hours=1), follow_up=True,
                        worse=True)
CASES = [  # (phrases, the data layer's English, the Chinese)
    (triage.reason_phrases(triage.Flags(), NOW - timedelta(days=14), NOW),
     "overdue by 11.0 days (target 3 days)", "已逾期 11.0 天（目标 3 天）"),
    (triage.reason_phrases(triage.Flags(out_of_scope=True), NOW - timedelta(minutes=30), NOW),
     "due in 23.5 h (target 24 h) · photo out of scope", "23.5 小时后到期（目标 24 小时） · 照片超出范围"),
    (triage.reason_phrases(ANSWERED, NOW - timedelta(hours=30), NOW),
     "patient answered a request 1.0 h ago · overdue by 6.0 h (target 24 h) · follow-up, worse · severe itch · "
     "model uncertain",
     "患者 1.0 小时前回答了补充请求 · 已逾期 6.0 小时（目标 24 小时） · 复诊，病情加重 · 重度瘙痒 · 模型不确定"),
    (triage.reason_phrases(triage.Flags(follow_up=True), NOW - timedelta(minutes=71 * 60 + 50), NOW),
     "due in 10 min (target 3 days) · follow-up", "10 分钟后到期（目标 3 天） · 复诊"),
    ([(ASKED, {"span": timedelta(hours=2)})],
     "waiting for the patient: more information asked 2.0 h ago", "等待患者：2.0 小时前已请其提供更多信息"),
    ([(REVIEWED[True, True], {"time": datetime(2026, 12, 3, 9, 5), "name": "alice"}), (CLOSED, {})],
     "reviewed 2026-12-03 09:05 UTC by alice · closed", "由 alice 审核于 2026年12月3日 09:05 UTC · 已结束"),
    ([(REVIEWED[False, True], {"name": "alice"})], "reviewed by alice", "由 alice 审核"),
]


@pytest.mark.parametrize(("phrases", "english", "chinese"), CASES)
def test_the_phrases_read_as_the_data_layer_says_and_in_chinese(phrases, english, chinese) -> None:
    assert triage.english(phrases) == english
    # The pages' English is the same words; a time is in the pages' long format (i18n.formats.date_time_utc).
    assert progress_words(phrases, "en") == english.replace("2026-12-03 09:05 UTC", "03 December 2026, 09:05 UTC")
    assert progress_words(phrases, "zh_CN") == chinese
    assert untranslated(chinese, "zh_CN") == []


def test_the_reasons_in_english_are_the_data_layers_reasons() -> None:
    phrases = triage.reason_phrases(ANSWERED, NOW - timedelta(hours=30), NOW)
    assert triage.reasons(ANSWERED, NOW - timedelta(hours=30), NOW) == triage.english(phrases)
    assert untranslated(triage.english(phrases), "zh_CN")  # the scan does find the English


def test_a_name_is_escaped_for_markdown_only_when_asked() -> None:
    phrases = [(REVIEWED[False, True], {"name": "dr_*x*"})]
    assert progress_words(phrases, "zh_CN") == "由 dr_*x* 审核"
    assert progress_words(phrases, "zh_CN", markdown=True) == r"由 dr\_\*x\* 审核"
