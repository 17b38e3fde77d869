"""Checks of a text file a user names (a trace, a scenario): what it is, how it is
encoded, with one clear line for each problem.

The same checks as :mod:`gcsim.fit.io` makes for fit traces (FIFOs, sockets, devices
and folders; UTF-16/32 byte-order marks, zip archives, NUL bytes, other encodings),
with the hint, the file kind and the reader's expectations given by the caller.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gcsim.errors import InvalidInputError

__all__ = ["check_regular_file", "decode_text", "exists_as_file"]

_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)

_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def exists_as_file(p: Path) -> bool:
    """``p.is_file()`` that is False (not an error) for a name the system refuses (too
    long, a NUL byte)."""
    try:
        return p.is_file()
    except (OSError, ValueError):
        return False


def check_regular_file(p: Path, where: str, want: str) -> None:
    """Refuse anything but an existing regular file, naming what ``p`` is instead;
    ``want`` says what to give (e.g. "a CSV file of durations")."""
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InvalidInputError(f"{where}: does not exist; give {want}") from None
    except ValueError:  # an embedded NUL byte
        raise InvalidInputError(f"{where}: not a valid file name; give {want}") from None
    except OSError as exc:
        raise InvalidInputError(
            f"{where}: cannot be read ({exc.strerror or exc}); give {want}"
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise InvalidInputError(f"{where}: is a folder, not a file; give {want}")
    for test, what in _SPECIAL:
        if test(st.st_mode):
            raise InvalidInputError(
                f"{where}: is {what}, not a regular file; give {want} (copy a stream to a "
                "file first)"
            )
    if not os.access(p, os.R_OK):
        raise InvalidInputError(f"{where}: permission denied (cannot read it); give {want}")


def decode_text(data: bytes, where: str, want: str) -> str:
    """UTF-8 text of a file's bytes (a UTF-8 byte-order mark, as Excel's 'CSV UTF-8'
    writes, is dropped); every other encoding, a binary file or an empty one is one
    error line."""
    if not data.strip():
        raise InvalidInputError(f"{where}: is empty; give {want}")
    for bom, enc in _BOMS:
        if data.startswith(bom):
            raise InvalidInputError(
                f"{where}: is {enc} text (it starts with the byte-order mark "
                f"{bom.hex(' ').upper()}); save it as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet)"
            )
    if data[:4] == b"PK\x03\x04":
        raise InvalidInputError(
            f"{where}: is a zip archive (an Excel .xlsx?), not text; export it as CSV"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{where}: is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None
    if "\x00" in text:
        raise InvalidInputError(f"{where}: contains NUL bytes: a binary file, not text")
    return text
