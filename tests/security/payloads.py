"""Hostile text: Markdown, HTML and Streamlit directives that must reach a reader as the characters typed.

Every payload points at 127.0.0.1:9 (discard port: nothing answers), so a browser test can also check that
no request was made for it.
"""
from __future__ import annotations

TRAP = "127.0.0.1:9"
PAYLOADS = (
    f"![x](http://{TRAP}/p.png) [Re-verify your login](http://{TRAP}/phish)",
    f"<img src=http://{TRAP}/q.png> <b>bold</b> <a href=http://{TRAP}/a>a</a>",
    f"**strong** _em_ `code` ~~del~~ $x^2$ :red[red] :material/home: http://{TRAP}/auto www.example.com m@example.com",
    "# heading | a | b |",
    "- a list item",
    "1. an ordered item",
    "> a quote",
)
# Characters whose unescaped presence in a Markdown body shows the payload was not neutralised.
ACTIVE = ("](", "<img", "<b>bold", "<a href", "**strong**", "`code`", "~~del~~", ":red[", "http://", "# heading",
          "- a list", "1. an", "> a quote", "www.example", "m@example")
