"""Segment files read where they are mapped, not copied.

whoosh reads a segment through one memory map of its compound file and hands out each file
inside it (term dictionary, postings, columns…) as a ``BufferFile``. That class wraps the
mapped bytes in ``io.BytesIO`` for its sequential reads, and ``BytesIO`` copies them: every
time a segment reader opens, its whole term dictionary and postings are copied into memory.
Every write opens a reader on every segment (to find the older version of each document it
replaces), so the cost of writing one item grew with the size of the index; at 100,000
items most of a one-item write was these copies (``docs/performance.md``).

``install()``, called when the whoosh backend is imported, has the compound storage hand
out ``MappedBufferFile`` instead: the same class, whose sequential reads go through
``MappedReader``, a read-only file over the mapped bytes that copies only what is read.
Random-access reads (``get``, most of what queries do) were already made in place.
whoosh 2.7.4 is its last release, so the change lives here rather than upstream.
"""

from __future__ import annotations

import io
import os
import pickle

from whoosh.filedb import compound, structfile

# Bytes copied to unpickle a header: whoosh's posting-block headers are about 100.
PICKLE_WINDOW = 512


class MappedReader(io.RawIOBase):
    """A read-only, seekable binary file over a buffer (a memory map's slice, or bytes)."""

    def __init__(self, buffer: object) -> None:
        super().__init__()
        self._view = memoryview(buffer).cast("B")  # type: ignore[arg-type]
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._check_open()
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._check_open()
        if whence == os.SEEK_SET:
            position = offset
        elif whence == os.SEEK_CUR:
            position = self._position + offset
        elif whence == os.SEEK_END:
            position = len(self._view) + offset
        else:
            raise ValueError(f"invalid whence ({whence})")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._position = position
        return position

    def read(self, size: int | None = -1) -> bytes:
        self._check_open()
        start = min(self._position, len(self._view))
        end = len(self._view) if size is None or size < 0 else min(start + size, len(self._view))
        self._position = max(self._position, end)
        return self._view[start:end].tobytes()

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        self._check_open()
        start = min(self._position, len(self._view))
        limit = len(self._view) if size is None or size < 0 else min(start + size, len(self._view))
        # memoryview has no find(); search a bounded window at a time so a long file is not copied.
        end = start
        while end < limit:
            window = self._view[end : min(end + 4096, limit)].tobytes()
            newline = window.find(b"\n")
            if newline >= 0:
                end += newline + 1
                break
            end += len(window)
        self._position = end
        return self._view[start:end].tobytes()

    def peek(self, size: int) -> bytes:
        """Up to ``size`` bytes from the current position, which does not move."""
        self._check_open()
        start = min(self._position, len(self._view))
        return self._view[start : start + size].tobytes()

    def close(self) -> None:
        if not self.closed:
            self._view.release()
        super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")


class MappedBufferFile(structfile.BufferFile):
    """whoosh's ``BufferFile``, reading sequentially from the buffer itself."""

    def __init__(self, buf, name=None, onclose=None) -> None:  # type: ignore[no-untyped-def]
        # Not BufferFile.__init__: that is where the copy was made.
        self._buf = buf
        self._name = name
        self.file = MappedReader(buf)
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False

    def subset(self, position, length, name=None):  # type: ignore[no-untyped-def]
        return MappedBufferFile(self.get(position, length), name=name or self._name)

    def read_pickle(self):  # type: ignore[no-untyped-def]
        """The pickle at the current position (a posting block's header, a segment's
        extras). Unpickling straight from the file would make some twenty small reads per
        pickle through Python; instead unpickle a copy of the bytes ahead, a larger one if
        that was too short (a pickle cut short never loads: its end is explicit)."""
        reader: MappedReader = self.file
        start, end = reader.tell(), len(self._buf)
        size = PICKLE_WINDOW
        while True:
            window = io.BytesIO(reader.peek(size))
            try:
                value = pickle.load(window)  # noqa: S301 (whoosh's own files, as whoosh reads them)
            except Exception:
                if start + size >= end:
                    raise
                size *= 16
                continue
            reader.seek(start + window.tell())
            return value


def install() -> None:
    """Have whoosh's compound storage (every segment it reads) hand out mapped files."""
    compound.BufferFile = MappedBufferFile


def uninstall() -> None:
    """Back to whoosh as shipped (for the benchmark's baseline and the tests)."""
    compound.BufferFile = structfile.BufferFile
