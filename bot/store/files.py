"""The bot database's files on disk: private to the bot's user, and free of what was deleted.

SQLite creates the write-ahead log (`-wal`) and its index (`-shm`) with the permissions of the
database file, so creating that file 0600 before SQLite opens it makes all three private.

Deleting a row is not erasing it: SQLite leaves the old bytes in free space of the page unless
`secure_delete` is on, and the WAL keeps every page version written since the last checkpoint
(a customer's name, email and booking reference, several times over). `erase_deleted` copies
the WAL into the database and truncates it to zero bytes, so after a /forget no file the bot
owns holds a byte of that customer (`secure_delete` has zeroed them in the database itself).
A reader in another connection (a backup, `sqlite3` in a shell) can keep the truncation from
completing: the caller tries again after its next write until it succeeds.

Databases written before `secure_delete` was switched on still hold what was deleted back
then, in free pages and in the free space of pages in use: `scrub_free_space` rewrites the
whole file once (VACUUM), then empties the WAL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat

log = logging.getLogger(__name__)

PRIVATE = 0o600
SUFFIXES = ("", "-wal", "-shm")


def is_file_path(path: str) -> bool:
    return bool(path) and path != ":memory:" and not path.startswith("file:")


def make_private(path: str) -> None:
    """Create the database file 0600 if missing; take group and other access away from an
    existing one and its WAL files (a bot database holds personal data)."""
    if not is_file_path(path):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    for suffix in SUFFIXES:
        name = path + suffix
        with contextlib.suppress(OSError):  # missing, or owned by someone else: SQLite decides
            if stat.S_IMODE(os.stat(name).st_mode) & 0o077:
                os.chmod(name, PRIVATE)
                log.info("%s: permissions tightened to 0600 (it holds personal data)", name)


def erase_deleted(conn: sqlite3.Connection, path: str) -> bool:
    """Checkpoint the WAL into the database and truncate it. False if a reader (another
    process) kept it from completing: the next call finishes the job."""
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error as exc:
        log.warning("%s: the write-ahead log could not be emptied: %s", path, exc)
        return False
    if busy:
        log.warning("%s: the write-ahead log could not be emptied yet (a reader is open)", path)
    return not busy


def scrub_free_space(conn: sqlite3.Connection, path: str) -> None:
    """Rewrite the database (VACUUM) so that no free page or free space in a page keeps the
    bytes of rows deleted without `secure_delete`; then empty the WAL the rewrite went through."""
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    log.info("%s: rewriting the database once to erase deleted data (%d free pages)", path, free)
    conn.execute("VACUUM")
    erase_deleted(conn, path)
