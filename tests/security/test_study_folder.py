"""Kind 7: the reader-study folder is confined to SCALPSCOPE_STUDY_ROOT (symlinks resolved first), every
refusal reads the same, and the path is audited."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from db.audit import list_events
from db.models import ReaderStudy
from db.users import create_user
from clinic import study
from security.folders import REFUSED, FolderRefused, confined_file, confined_folder
from tests.app.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    assert_clean,
    at,
    database,
    fake_predictor,
    sign_in,
    texts,
)
from tests.factories import image_bytes


def image_folder(folder: Path) -> Path:
    for index, truth in enumerate(["psoriasis", "seborrheic_dermatitis"]):
        (folder / truth).mkdir(parents=True, exist_ok=True)
        (folder / truth / f"{index}.jpg").write_bytes(image_bytes("JPEG", 120, 90, seed=index))
    return folder


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """root/ with a good study and links out of it; outside/ with images the form must never read."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    image_folder(root / "good")
    image_folder(outside / "secret")
    (root / "empty").mkdir()
    (root / "a-file").write_text("x")
    os.symlink(outside / "secret", root / "link-out")
    image_folder(root / "mixed")
    os.symlink(outside / "secret" / "psoriasis" / "0.jpg", root / "mixed" / "psoriasis" / "stolen.jpg")
    return root, outside


def test_only_folders_inside_the_root(layout) -> None:
    root, outside = layout
    assert confined_folder("good", root) == (root / "good").resolve()
    assert confined_folder(str(root / "good"), root) == (root / "good").resolve()
    refusals = ["link-out", "../outside/secret", str(outside / "secret"), "~", "~/", "/", "missing", "a-file",
                "good/../../outside/secret", "", "good\x00", "/etc"]
    messages = set()
    for typed in refusals:
        with pytest.raises(FolderRefused) as refused:
            confined_folder(typed, root)
        messages.add(str(refused.value))
    assert messages == {REFUSED.format(root=root)}  # one message: it never tells whether a path exists
    assert confined_file(root / "mixed" / "psoriasis" / "stolen.jpg", root) is None
    assert confined_file(root / "good" / "psoriasis" / "0.jpg", root) is not None


def test_symlinked_files_leaving_the_root_are_not_read(layout) -> None:
    root, outside = layout
    folder, items, problems = study.folder_images("mixed", root, 2**20)
    assert folder == (root / "mixed").resolve()
    assert sorted(i.source_ref for i in items) == ["file:psoriasis/0.jpg", "file:seborrheic_dermatitis/1.jpg"]
    assert problems == ["file:psoriasis/stolen.jpg: not a file inside the reader-study folder"]
    with pytest.raises(FolderRefused):
        study.folder_images("empty", root, 2**20)  # no images: the same refusal


def test_the_page_refuses_alike_and_audits_the_path(at, database, fake_predictor, layout, monkeypatch) -> None:
    root, outside = layout
    monkeypatch.setenv("SCALPSCOPE_STUDY_ROOT", str(root))
    with database.begin() as s:
        admin = create_user(s, "root", PASSWORD, "admin")
    sign_in(at, "root")
    at.switch_page("pages/reader_admin.py").run()
    shown = []
    for typed in ["~", str(outside / "secret"), "link-out", "missing", "good"]:
        at.text_input(key="ra_name").input(f"study {len(shown)}")
        at.radio(key="ra_source").set_value("folder").run()
        at.text_input(key="ra_folder").input(typed)
        at.multiselect(key="ra_readers").set_value([admin.id])
        at.button(key="ra_create").click().run()
        assert_clean(at)
        shown.append(texts(at.error))
    assert shown[:4] == [shown[0]] * 4 and len(shown[0]) == 1 and "inside the reader-study folder" in shown[0][0]
    assert shown[4] == []  # the good folder inside the root makes a study
    with database.session() as s:
        refused = [e.detail["folder"] for e in list_events(s, action="study.folder_refused")]
        created = list_events(s, action="study.create")
        assert s.scalar(select(ReaderStudy.name)) == "study 4"
    assert refused == ["~", str(outside / "secret"), "link-out", "missing"]
    assert [e.detail["folder"] for e in created] == [str((root / "good").resolve())]
    assert fake_predictor.calls == 2  # nothing outside the root was read or predicted
