"""Her files are hers alone: private file modes (0600/0700) and the data folder made ready at start.

`private_umask()` and `secure_tree()` keep her data private in every install mode; `prepare_data_dir()`
checks the folder is ours and writable and names the one fix when it is not.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path
from typing import Iterable

from companion.errors import StoreError, chown_fix, user_name

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
PRIVATE_UMASK = 0o077


def private_umask() -> None:
    """Every file this process creates from now on is 0600, every directory 0700 (the unit sets UMask= too)."""
    os.umask(PRIVATE_UMASK)


def secure_tree(root: Path, *, skip: Iterable[Path] = ()) -> list[Path]:
    """Make every file under `root` 0600 and every directory 0700; returns what had to be fixed.

    Only entries owned by this user are changed (the others are reported by
    `foreign_entries`). Symlinks are not followed.
    """
    fixed: list[Path] = []
    skipped = {Path(p) for p in skip}
    if not root.is_dir():
        return fixed
    uid = os.geteuid()
    for path in [root, *_walk(root, skipped)]:
        try:
            st = path.lstat()
        except OSError:
            continue  # vanished while we looked
        if stat.S_ISLNK(st.st_mode) or st.st_uid != uid:
            continue
        want = DIR_MODE if stat.S_ISDIR(st.st_mode) else FILE_MODE
        if stat.S_IMODE(st.st_mode) & ~want:  # more open than it should be (never widen a mode)
            try:
                os.chmod(path, stat.S_IMODE(st.st_mode) & want)
                fixed.append(path)
            except OSError as exc:
                log.warning("cannot make %s private: %s", path, exc)
    return fixed


def foreign_entries(root: Path, limit: int = 3) -> list[Path]:
    """Up to `limit` files or folders under `root` that belong to another user."""
    uid = os.geteuid()
    out: list[Path] = []
    if not root.exists():
        return out
    for path in [root, *_walk(root, set())]:
        try:
            if path.lstat().st_uid != uid:
                out.append(path)
        except OSError:
            continue
        if len(out) >= limit:
            break
    return out


def _walk(root: Path, skip: set[Path]) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda exc: None):
        base = Path(dirpath)
        dirnames[:] = [d for d in dirnames if base / d not in skip]
        for name in dirnames + filenames:
            yield base / name


# ---------------------------------------------------------------- the data directory at start



def prepare_data_dir(root: Path, *, create: bool = True, extra: Iterable[Path] = ()) -> list[Path]:
    """Her data folder ready for this user: created 0700, owned by us, writable, every entry private.

    `extra` are folders kept elsewhere (a configured outbox) that get the same care. Returns the
    entries whose modes were fixed. Raises StoreError with one line that names the fix.
    """
    if root.exists() and not root.is_dir():
        raise StoreError(f"the data folder {root} is a file, not a folder; move it away or set [memory] data_dir")
    if not root.exists():
        if not create:
            return []
        try:
            root.mkdir(parents=True, mode=DIR_MODE)
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(_cannot_create(root, exc)) from exc
    fixed: list[Path] = []
    for folder in [root, *extra]:
        if not folder.exists():
            continue
        _check_owner(folder, root)
        if not os.access(folder, os.W_OK | os.X_OK):
            if _read_only(folder):
                raise StoreError(f"the data folder {folder} is on a read-only file system; check the SD card "
                                 "(sudo dmesg | tail) and reboot, or set [memory] data_dir")
            raise StoreError(f"cannot write to the data folder {folder}: permission denied; fix: "
                             f"{chown_fix(folder)} && sudo chmod 700 {folder}")
        fixed += secure_tree(folder)
    if fixed:
        log.info("made %d file(s) under %s private (0600/0700)", len(fixed), root)
    return fixed


def _check_owner(folder: Path, root: Path) -> None:
    foreign = foreign_entries(folder, limit=1)
    if not foreign:
        return
    path = foreign[0]
    owner = user_name(path.lstat().st_uid)
    if os.geteuid() == 0:
        # root could read them, but every file it wrote would lock out the real owner
        raise StoreError(f"{path} belongs to {owner}: run this as that user, e.g. sudo -u {owner} companion ... "
                         "(as root it would leave files the companion cannot read)")
    raise StoreError(f"{path} belongs to {owner}, not {user_name()}, so the companion cannot use its data; "
                     f"fix: {chown_fix(folder if folder != root else root)}")


def _cannot_create(root: Path, exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        parent = next((p for p in root.parents if p.exists()), root.parent)
        return (f"cannot create the data folder {root}: {parent} is not writable for {user_name()}; fix: "
                f"sudo install -d -o {user_name()} -m 700 {root} (or set [memory] data_dir)")
    if exc.errno == errno.EROFS:
        return f"cannot create the data folder {root}: read-only file system; set [memory] data_dir to a writable place"
    if exc.errno == errno.ENOTDIR:
        return f"cannot create the data folder {root}: part of that path is a file; set [memory] data_dir"
    if exc.errno == errno.ENOSPC:
        return f"cannot create the data folder {root}: the disk is full; free some space"
    return f"cannot create the data folder {root}: {exc.strerror or exc}; set [memory] data_dir"


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
