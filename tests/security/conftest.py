"""Security tests (issue 17): one module per kind of weakness. Page tests borrow the app suite's fixtures
(see the imports at the top of each module); database tests run on SQLite (PostgreSQL where marked)."""
