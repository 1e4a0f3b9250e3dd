"""The errors gridmap raises on purpose: each says what went wrong and how to put it right.

The CLI turns a :class:`GridmapError` into its message and :attr:`GridmapError.exit_code`; the
app shows the message. Anything else escaping is a bug.
"""

from __future__ import annotations


class GridmapError(Exception):
    """Base of every error gridmap reports to a user.

    Parameters
    ----------
    message : str
        A sentence a user understands (Chinese first, English after where it helps).
    """

    exit_code: int = 1


class InputError(GridmapError, ValueError):
    """Bad input: a file, row or field that cannot be accepted. Nothing was written."""

    exit_code = 2


class DatabaseError(GridmapError):
    """The database cannot be used: missing, corrupt, unreachable, or a bad URL."""

    exit_code = 3


class SchemaVersionError(DatabaseError):
    """The database's schema is newer (or older) than this version of gridmap understands."""

    exit_code = 4


class ConflictError(GridmapError):
    """An edit collided with another one (optimistic locking) or with existing data."""

    exit_code = 5


class DatabaseBusyError(ConflictError):
    """Another writer held the database (SQLite "database is locked", a PostgreSQL lock
    timeout, deadlock or serialisation failure) past the short retry. Nothing was written; the
    same action, tried again in a moment, usually goes through."""

    exit_code = 5


class PermissionDenied(GridmapError):
    """The user's role or scope does not allow this."""

    exit_code = 6
