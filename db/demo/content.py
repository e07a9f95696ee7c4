"""What demo consultations are made of besides pictures: the demo model's provenance and the texts patients
and demo clinicians write. The form's answers (age, itch, sites…) and the consent version come from
:mod:`db.consultations`, so demo rows look like real ones on the review page."""

from __future__ import annotations

import hashlib

from db.models import Diagnosis

DEMO_CLINICIANS = ("demo-derm-1", "demo-derm-2", "demo-derm-3")
UNUSABLE_PASSWORD_HASH = "!demo-account-cannot-sign-in"  # not an argon2 hash: verification always fails
DEMO_MODEL_VERSION = "demo-synthetic"
DEMO_MODEL_SHA256 = hashlib.sha256(b"scalpscope demo model: not a real model").hexdigest()
THRESHOLD = 0.5  # the demo model's operating threshold (P(psoriasis), 0..1)
UNCERTAIN_MARGIN = 0.1  # |p - threshold| below this is uncertain

TREATMENTS = (
    "ketoconazole shampoo",
    "coal tar shampoo",
    "salicylic acid shampoo",
    "clobetasol scalp lotion",
    "zinc pyrithione shampoo",
    "olive oil",
    "betamethasone scalp application",
)
FREE_TEXTS = (
    "It flakes a lot, especially in winter.",
    "Itchy at night, my pillow is covered in flakes.",
    "It started after a stressful month at work.",
    "My father has psoriasis on his elbows.",
    "The shampoo helped for a week, then it came back.",
    "Thick patches near the hairline that sometimes bleed when I scratch.",
    "Greasy yellowish scales behind the ears.",
    "I also have some red patches on my eyebrows.",
)
NOTES = {
    Diagnosis.PSORIASIS: (
        (
            "These are well-defined plaques with silvery scale, typical of scalp psoriasis. Use the prescribed "
            "lotion once a day for four weeks and book a follow-up if it does not settle."
        ),
        "This looks like scalp psoriasis. A coal tar shampoo twice a week and a steroid lotion should help.",
    ),
    Diagnosis.SEBORRHEIC_DERMATITIS: (
        (
            "The greasy, yellowish scale points to seborrheic dermatitis. Use a ketoconazole shampoo twice a "
            "week for a month, then once a week to keep it away."
        ),
        "This is seborrheic dermatitis (a common, harmless condition). An antifungal shampoo usually helps.",
    ),
    Diagnosis.OTHER: ("The photos do not show psoriasis or seborrheic dermatitis; please see your GP.",),
    Diagnosis.NEEDS_IN_PERSON_VISIT: ("I would like to see this in person; please book a clinic appointment.",),
}
