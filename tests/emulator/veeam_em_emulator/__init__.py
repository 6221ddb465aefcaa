"""Veeam Backup Enterprise Manager (EM) REST API emulator for the veeam_em.core tests.

The emulator reproduces the jobs subset of the EM XML REST API (v1_5..v1_7) as
described in the collection's design notes, plus a test-only control API under
``/_emulator/``.  Run it with ``python -m veeam_em_emulator --help``.
"""

__version__ = "1.0.0"
