"""ScalpScope's application layer: what the app does, without Streamlit.

Pages lay out widgets and call these functions; each function frames its own unit of work on the database
(``db``) and calls the model (``scalp_model``) where needed. A photo's path, one function per step:

1. :func:`clinic.photos.read_photo` — untrusted bytes decoded once (``scalp_model.serving.preprocess.decode_image``
   at 2048 px): the metadata-free stored copy, the 512 px working copy and its quality report;
2. :func:`clinic.submit.analyse` — one forward pass per photo (probability, out-of-scope score, map) and
   the map's overlay;
3. :func:`clinic.submit.submit_consultation` — steps 1-2 for photos not read yet, then the consultation,
   its images, the model's output and the audit row stored in one transaction
   (``db.consultations.submit_consultation``).

Clinicians: :mod:`clinic.cases` (queue, opening a case, :func:`~clinic.cases.save_review` and the next case
of the same filtered queue, the patient's follow-up); reader studies: :mod:`clinic.study`; accounts the app
creates: :mod:`clinic.accounts`; asking the patient for more and the answer: :mod:`clinic.requests`; the dermatologists' management-note templates: :mod:`clinic.templates`; one ``db`` function in its own unit of work: :mod:`clinic.units`.
"""
from clinic.cases import QueueFilter, Saved, follow_up, next_waiting, open_case, queue_page, save_review
from clinic.photos import Photo, read_photo
from clinic.requests import answer, ask_patient
from clinic.study import build_study_cases
from clinic.submit import Submitted, Upload, submit_consultation

__all__ = ["answer", "ask_patient", "Photo", "QueueFilter", "Saved", "Submitted", "Upload", "build_study_cases", "follow_up",
           "next_waiting", "open_case", "queue_page", "read_photo", "save_review", "submit_consultation"]
