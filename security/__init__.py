"""Defences that more than one layer needs, kept free of Streamlit and of the database.

* :mod:`security.text` shows untrusted text (patients' answers, file and study names) as plain text in
  Streamlit's Markdown-rendering elements;
* :mod:`security.exports` neutralises spreadsheet formulas in CSV exports;
* :mod:`security.folders` confines the reader-study folder to a configured root;
* :mod:`security.client` names the client of a request (address, session reference) and holds the
  cookie secret a signed-in session is bound to;
* :mod:`security.headers` adds the browser security headers to every HTTP response (``serve.py``).

What is protected and how is summarised in the README's "Security" section.
"""
