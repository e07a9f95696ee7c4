"""The parts of ``scripts/crash_test.py`` (the command line stays there):

* :mod:`.common` — the settings both writers share and ``say``;
* :mod:`.writer` — the driver process that writes through ``clinic/`` and ``db/``, forked afresh after each kill;
* :mod:`.browser` — the headless Chromium that submits through the server's page;
* :mod:`.child` — a child process whose output lines arrive on a queue;
* :mod:`.tally` — what was killed, shown and reviewed;
* :mod:`.checks` — the database checks after each kill;
* :mod:`.controller` — the rounds: kill, restart, check.
"""
