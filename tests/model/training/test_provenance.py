"""The card's data provenance comes from the data (its README) or ``--provenance``, never from the project's own."""
from __future__ import annotations

from pathlib import Path

import pytest

from scalp_model.serving.checkpoint import ModelMeta
from scalp_model.training.card import LEGACY_PROVENANCE, card_text
from scalp_model.training.provenance import NOT_RECORDED, data_provenance, provenance_from_readme

CLINIC_README = """# Clinic photos

Scalp photos taken at the Riverside clinic, 2025-2026, with written consent.

## Provenance
Riverside clinic, dermatology outpatients; phone cameras.
Labels by two dermatologists.

### Counts
80 psoriasis, 40 seborrheic dermatitis.

## Layout
psoriasis/ and seborrheic_dermatitis/.
"""


def test_the_provenance_section_wins_with_its_subsections() -> None:
    text = provenance_from_readme(CLINIC_README)
    assert text is not None
    assert text.startswith("Riverside clinic, dermatology outpatients")
    assert "80 psoriasis" in text  # a deeper heading stays inside the section
    assert "Layout" not in text and "written consent" not in text


def test_without_a_section_the_first_paragraph_is_taken() -> None:
    assert provenance_from_readme("# Title\n\nFirst line\nsecond line.\n\nOther.\n") == "First line\nsecond line."
    assert provenance_from_readme("# Only a title\n") is None


def test_the_data_folder_readme_then_its_parent(tmp_path: Path) -> None:
    data = tmp_path / "collection" / "scalp"
    data.mkdir(parents=True)
    (tmp_path / "collection" / "README.md").write_text("# Collection\n\nPublic atlas images, copyrighted.\n")
    assert data_provenance(data).startswith("Public atlas images, copyrighted.")
    (data / "README.md").write_text(CLINIC_README)
    assert data_provenance(data).startswith("Riverside clinic")


def test_an_explicit_file_wins_and_nothing_is_said_plainly(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(CLINIC_README)
    explicit = tmp_path / "prov.md"
    explicit.write_text("Photos from the teaching archive.\n")
    assert data_provenance(tmp_path, explicit) == "Photos from the teaching archive."
    empty = tmp_path / "empty" / "photos"
    empty.mkdir(parents=True)
    assert data_provenance(empty) == NOT_RECORDED
    with pytest.raises(FileNotFoundError):
        data_provenance(tmp_path, tmp_path / "missing.md")


def test_the_card_shows_the_recorded_provenance_not_the_projects() -> None:
    meta = ModelMeta(training={"provenance": "Riverside clinic, dermatology outpatients.", "seed": 0,
                               "split": {"train": ["a"], "val": [], "test": []}})
    card = card_text(meta, "0" * 64, "clinic.pt")
    assert "Riverside clinic, dermatology outpatients." in card
    section = card.split("## Data and provenance", 1)[1].split("## ", 1)[0]
    assert "Riverside clinic" in section and "DermNet" not in section
    assert LEGACY_PROVENANCE not in card
    legacy = card_text(ModelMeta(training={"seed": 0}), "0" * 64, "old.pt")
    assert LEGACY_PROVENANCE in legacy  # records from before provenance was stored keep their text


def test_training_records_the_data_readme(tmp_path: Path) -> None:
    from argparse import Namespace

    from scalp_model.training.posthoc import training_record

    (tmp_path / "README.md").write_text(CLINIC_README)
    args = Namespace(init="scratch", lr=1e-4, head_lr_factor=10.0, head_init="random", epochs=1, batch_size=2,
                     loss="mse", l2=0.0, class_weights="none", freeze="none", harmonise=False, flip=False,
                     target_sensitivity=0.95, note=[], pipeline=[], seed=0, data_dir=str(tmp_path), provenance=None)
    record = training_record(args, {"train": []}, [], 1, 0.0)
    assert record["provenance"].startswith("Riverside clinic")
