"""SRC arguments -> the files to read, and the bytes of one file.

A SRC is a folder (walked like the local engine walks it), a glob (``scans/*/page-*.png``), a list
file (``.txt``/``.lst``/``.list``: one path or URI a line; blank lines and ``#`` comments skipped),
one image, or a URI that pyarrow's file systems open (``s3://bucket/scans/``, ``gs://...``,
``file:///shared/...``), itself a folder, a glob or one object. Local files keep the name the
local engine prints (``str(Path)``), so the two engines' rows can be compared line by line.
Local paths must be on a file system every node of the cluster sees.
"""

from __future__ import annotations

import fnmatch
import glob
import re
from collections.abc import Iterable
from pathlib import Path

LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})
MAX_FILE_BYTES = 256 * 1024 * 1024  # larger objects are not images we could decode within bounds anyway
_WILD = re.compile(r"[*?\[]")


def is_uri(name: str) -> bool:
    """``s3://...``, ``gs://...``, ``file://...``: anything with a scheme (not a Windows drive letter)."""
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", name) is not None


def expand(sources: Iterable[str], recursive: bool = True) -> list[str]:
    """Every file named by ``sources``, in order (folders and globs in natural order), without repeats."""
    from digitreader.commands.batch import _natural, collect

    files: list[str] = []
    for src in sources:
        if is_uri(src):
            files.extend(_expand_uri(src, recursive))
        elif _WILD.search(src):
            matched = [p for p in glob.glob(src, recursive=True) if not Path(p).is_dir()]
            files.extend(sorted(matched, key=_natural))
        elif Path(src).suffix.lower() in LIST_SUFFIXES and Path(src).is_file():
            files.extend(expand(_list_file(Path(src)), recursive))
        else:
            files.extend(str(p) for p in collect([src], recursive))
    return list(dict.fromkeys(files))


def _list_file(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _expand_uri(uri: str, recursive: bool) -> list[str]:
    """A bucket folder, glob or object -> the URIs of its images (natural order)."""
    from pyarrow import fs

    from digitreader.commands.batch import _natural
    from digitreader.vision.io import IMAGE_SUFFIXES

    scheme = uri.split("://", 1)[0]
    filesystem, path = fs.FileSystem.from_uri(uri)
    wild = _WILD.search(path)
    base = path[: path.rfind("/", 0, wild.start())] if wild else path
    info = filesystem.get_file_info(base)
    if info.type == fs.FileType.File and not wild:
        return [uri]
    if info.type != fs.FileType.Directory:
        return [uri]  # missing: reported on its own row
    found = filesystem.get_file_info(fs.FileSelector(base, recursive=recursive or bool(wild)))
    names = [
        f.path
        for f in found
        if f.type == fs.FileType.File
        and (fnmatch.fnmatchcase(f.path, path) if wild else Path(f.path).suffix.lower() in IMAGE_SUFFIXES)
    ]
    return [_uri(scheme, name) for name in sorted(names, key=_natural)]


def _uri(scheme: str, path: str) -> str:
    return f"file://{path}" if scheme == "file" else f"{scheme}://{path.lstrip('/')}"


def fetch(name: str) -> bytes:
    """The bytes of one file or object; an ``ImageError`` naming it when it cannot be read."""
    from digitreader.errors import ImageError
    from digitreader.vision.io import read_file

    if not is_uri(name):
        return read_file(name)
    from pyarrow import fs

    try:
        filesystem, path = fs.FileSystem.from_uri(name)
        info = filesystem.get_file_info(path)
        if info.type == fs.FileType.NotFound:
            raise ImageError(f"{name}: no such file")
        if info.type != fs.FileType.File:
            raise ImageError(f"{name}: is a folder, not an image")
        if info.size is not None and info.size > MAX_FILE_BYTES:
            raise ImageError(f"{name}: {info.size:,} bytes, more than the limit of {MAX_FILE_BYTES:,}")
        with filesystem.open_input_stream(path) as fh:
            return fh.read()
    except (OSError, ValueError) as exc:  # pyarrow raises these (and ArrowException subclasses of them)
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"{name}: cannot open the file: {exc}") from exc
