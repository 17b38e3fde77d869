"""Files: checks of a text file a user names (a trace, a scenario), and atomic writes
of the files gcsim makes.

Checks: what a file is and how it is encoded, with one clear line for each problem. The
same checks as :mod:`gcsim.fit.io` makes for fit traces (FIFOs, sockets, devices and
folders; UTF-16/32 byte-order marks, zip archives, NUL bytes, other encodings), with the
hint, the file kind and the reader's expectations given by the caller.

Writes: :func:`atomic_replace` fills a uniquely named temporary file next to the target
and renames it over it (readers and a concurrent writer of the same file never see a
partial one); :func:`share` gives what :mod:`tempfile` made (0600 files, 0700 folders)
the modes the umask allows, as any file written directly gets.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from gcsim.errors import InvalidInputError

__all__ = [
    "atomic_replace",
    "check_regular_file",
    "decode_text",
    "exists_as_file",
    "share",
    "umask",
]

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


def umask() -> int:
    """This process's umask (read without changing it where the system allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore
    os.umask(mask)
    return mask


def share(path: str | os.PathLike[str], folder: bool = False) -> None:
    """Give a file (0666) or folder (0777) made by tempfile the modes the umask allows:
    tempfile makes them 0600 / 0700, private, and results on a shared file system must
    be readable by collaborators as any file this user writes (0644 with umask 022)."""
    os.chmod(path, (0o777 if folder else 0o666) & ~umask())


def atomic_replace(
    path: str | os.PathLike[str], write: Callable[[str], object], *, suffix: str = ""
) -> Path:
    """Create or replace ``path`` atomically: ``write`` fills a temporary file with a
    unique name next to it (``.NAME.XXXXXXXX`` + ``suffix``, so that two writers of the
    same file never share one), which then gets the umask's mode (:func:`share`) and is
    renamed over ``path``; on any failure or interruption the temporary file is removed.
    Returns ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        share(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
