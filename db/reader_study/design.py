"""The study's design: limits, the reading scale (:func:`ordinal_score`), each reader's seed and
randomised orders (:func:`reading_orders`), and the two errors a study raises."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence


from db.errors import DatabaseError, ValidationError
from db.models import (
    StudyLabel,
)



UNAIDED, AIDED = 1, 2
CONFIDENCE_LEVELS = (1, 2, 3, 4, 5)
MIN_CASES = 2
MAX_CASES = 1000
MAX_NAME_LENGTH = 120
MAX_WASHOUT_DAYS = 365
SEED_LIMIT = 2**31
MIME_TYPES = frozenset({"image/jpeg", "image/png"})
CONSULTATION_REF = "consultation:"  # source_ref of a case taken from a consultation: consultation:<public_id>


class StudyPermissionError(DatabaseError):
    """The account may not do this (only admins set up studies and see their results)."""

    default_message = "Only an administrator can set up reader studies and see their results."


class ReadingOrderError(ValidationError):
    """The answer is not for the case this reader has to read now (saved already, or out of turn)."""

    default_message = (
        "This answer was not saved: that case is no longer the one to read (perhaps it was saved from "
        "another tab). The case to read now is shown."
    )


# --- the reading scale ---------------------------------------------------------------------------
def ordinal_score(diagnosis: str, confidence: int) -> int:
    """Diagnosis and confidence as one 1-10 rating of psoriasis likelihood, for ROC analysis.

    Psoriasis with confidence c is 5 + c (6..10); seborrheic dermatitis with confidence c is 6 - c
    (5..1). A rating of 6 or more is a psoriasis diagnosis.
    """
    _check_answer(diagnosis, confidence)
    return 5 + confidence if diagnosis == StudyLabel.PSORIASIS else 6 - confidence


def _check_answer(diagnosis: str, confidence: int) -> None:
    if diagnosis not in set(StudyLabel):
        raise ValidationError(f"Diagnosis {diagnosis!r} is not one of {[d.value for d in StudyLabel]}.")
    if isinstance(confidence, bool) or not isinstance(confidence, int) or confidence not in CONFIDENCE_LEVELS:
        raise ValidationError(f"Confidence must be a whole number from 1 to 5, not {confidence!r}.")


# --- randomisation -------------------------------------------------------------------------------
def reader_seed(study_seed: int, user_id: int) -> int:
    """A reader's seed: reproducible from the study's seed and the account, different between readers."""
    digest = hashlib.sha256(f"scalpscope-reader-study:{int(study_seed)}:{int(user_id)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % SEED_LIMIT


def reading_orders(case_ids: Sequence[int], seed: int) -> tuple[list[int], list[int]]:
    """(unaided order, aided order) of one reader: two permutations of ``case_ids`` from ``seed``.

    Both are uniform shuffles by one ``random.Random(seed)``; the aided one is drawn independently of
    the unaided one except for the wash-out rule that it must not start with the case that ended the
    unaided pass (rejection sampling, so it stays uniform over the permutations allowed).
    """
    ids = [int(i) for i in case_ids]
    if len(set(ids)) != len(ids):
        raise ValidationError("A study's case ids must be distinct.")
    if len(ids) < MIN_CASES:
        raise ValidationError(f"A reader study needs at least {MIN_CASES} cases.")
    rng = random.Random(int(seed))
    unaided = ids.copy()
    rng.shuffle(unaided)
    while True:
        aided = ids.copy()
        rng.shuffle(aided)
        if aided[0] != unaided[-1]:
            return unaided, aided
