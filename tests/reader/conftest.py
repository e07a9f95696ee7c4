"""Reader-study tests. Database tests borrow the db suite's fixtures (SQLite and a real PostgreSQL);
page tests borrow the app suite's (see the imports at the top of each module)."""
