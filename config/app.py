"""Settings of the Streamlit app (``pages/``) and of the ``./scalpscope`` launcher.

Declared here rather than in ``pages/_resources.py`` so that the registry can list them without importing
Streamlit; ``pages._resources`` reads them.
"""
from __future__ import annotations

from pathlib import Path

from . import parsers
from .registry import register

DEMO = register("SCALPSCOPE_DEMO", False, parsers.FLAG,
                "1: create the demo clinician account demo / demo-password-123 (marked is_demo) and mark new "
                "consultations as demo data.")
SESSION_TIMEOUT_MIN = register("SCALPSCOPE_SESSION_TIMEOUT_MIN", 30.0, parsers.POSITIVE_NUMBER,
                               "Minutes without activity after which a clinician is signed out.")
OIDC_USERNAME_CLAIM = register("SCALPSCOPE_OIDC_USERNAME_CLAIM", "preferred_username", parsers.TEXT,
                               "With [auth] in secrets.toml: the identity-provider claim that must equal an "
                               "existing clinician username.")
STUDY_ROOT = register("SCALPSCOPE_STUDY_ROOT", None, parsers.PATH,
                     "Folder on the server holding reader-study image folders; admins can name only "
                     "folders inside it. Empty: reader-studies/ in SCALPSCOPE_DATA_DIR.")

# Read by the ./scalpscope shell script, not by Python: registered so that they are documented and listed.
ADDRESS = register("SCALPSCOPE_ADDRESS", "127.0.0.1", parsers.TEXT,
                   "Address ./scalpscope app listens on.", read_by="./scalpscope")
PORT = register("SCALPSCOPE_PORT", 8501, parsers.POSITIVE_INTEGER,
                "Port ./scalpscope app listens on.", read_by="./scalpscope")
VENV = register("SCALPSCOPE_VENV", Path(".venv"), parsers.PATH,
                "Virtual environment ./scalpscope creates and uses.", read_by="./scalpscope")
PYTHON = register("SCALPSCOPE_PYTHON", None, parsers.PATH,
                  "Python that ./scalpscope builds the virtual environment with (default: python3.11, else "
                  "python3).", read_by="./scalpscope")
PDF_FONT = register("SCALPSCOPE_PDF_FONT", Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), parsers.PATH,
                    "TrueType font (or collection) embedded in PDFs whose text is not Latin-1, e.g. Chinese: Debian's "
                    "fonts-wqy-microhei, which ./scalpscope installs.")
