"""whoosh's segment files read in place (``search.backends.whoosh_files``): they read as
``io.BytesIO`` does, opening a segment copies none of them, and an index written and
searched with them answers as whoosh as shipped does."""

from __future__ import annotations

import io
import os
import pickle
import random

import pytest
from whoosh import fields, index
from whoosh.filedb import compound, structfile
from whoosh.qparser import QueryParser

from search.backends import whoosh_files
from search.backends.whoosh_files import MappedBufferFile, MappedReader

DATA = b"first line\nsecond line\n\nno newline at the end"


def _pair() -> tuple[MappedReader, io.BytesIO]:
    return MappedReader(memoryview(DATA)), io.BytesIO(DATA)


def test_reads_seeks_and_lines_as_bytesio_does() -> None:
    ours, theirs = _pair()
    steps = [
        ("read", (4,)),
        ("tell", ()),
        ("readline", ()),
        ("readline", (3,)),
        ("seek", (-5, os.SEEK_END)),
        ("read", ()),
        ("read", (10,)),  # at the end: nothing
        ("seek", (2, os.SEEK_SET)),
        ("seek", (3, os.SEEK_CUR)),
        ("readline", ()),
        ("seek", (1000, os.SEEK_SET)),  # past the end, as files allow
        ("read", (1,)),
        ("seek", (0, os.SEEK_SET)),
        ("read", (None,)),
    ]
    for name, args in steps:
        assert getattr(ours, name)(*args) == getattr(theirs, name)(*args), (name, args)
    ours.seek(0)
    theirs.seek(0)
    assert list(ours) == list(theirs)


def test_peek_does_not_move_and_bad_seeks_are_refused() -> None:
    reader = MappedReader(DATA)
    reader.seek(6)
    assert reader.peek(4) == b"line" and reader.tell() == 6
    with pytest.raises(ValueError):
        reader.seek(-1)
    with pytest.raises(ValueError):
        reader.seek(0, 7)
    reader.close()
    with pytest.raises(ValueError):
        reader.read(1)


def test_pickles_of_any_size_load_and_leave_the_position_after_them() -> None:
    small = {"offset": 12, "count": 3}
    large = list(range(5000))  # far past the first window
    encoded = b"".join(pickle.dumps(value, -1) for value in (small, large, small)) + b"tail"
    mapped = MappedBufferFile(memoryview(encoded))
    assert [mapped.read_pickle() for _ in range(3)] == [small, large, small]
    assert mapped.read(4) == b"tail"
    truncated = MappedBufferFile(memoryview(pickle.dumps(large, -1)[:-10]))
    with pytest.raises((EOFError, pickle.UnpicklingError)):
        truncated.read_pickle()


def test_the_whoosh_backend_reads_segments_in_place() -> None:
    from search.backends import whoosh_backend  # noqa: F401 (installs on import)

    assert compound.BufferFile is MappedBufferFile


SCHEMA = fields.Schema(key=fields.ID(stored=True, unique=True), body=fields.TEXT(stored=True))


def _build(path: str) -> None:
    os.makedirs(path, exist_ok=True)
    rng = random.Random(3)
    words = [f"word{n}" for n in range(400)]
    ix = index.create_in(path, SCHEMA)
    for batch in range(4):  # several segments, with replaced documents in them
        writer = ix.writer()
        for n in range(300):
            body = " ".join(rng.choice(words) for _ in range(30))
            writer.update_document(key=f"doc{(batch * 200 + n) % 900}", body=body)
        writer.add_document(key=f"phrase{batch}", body="word5 word9 word1")
        writer.commit(merge=False)


def _answers(path: str) -> list:
    ix = index.open_dir(path)
    with ix.searcher() as searcher:
        found = []
        for text in ("word1", "word2 word3", "word7 OR word8", '"word5 word9"'):
            hits = searcher.search(QueryParser("body", SCHEMA).parse(text), limit=None)
            found.append(sorted((hit["key"], round(hit.score, 6)) for hit in hits))
        return found


def test_opening_a_segment_copies_none_of_its_files(tmp_path, monkeypatch) -> None:
    _build(str(tmp_path))
    copies: list[int] = []
    real = structfile.BytesIO

    def counting(buffer=b""):  # type: ignore[no-untyped-def]
        copies.append(len(buffer))
        return real(buffer)

    monkeypatch.setattr(structfile, "BytesIO", counting)
    whoosh_files.uninstall()
    try:
        _answers(str(tmp_path))
        assert sum(copies) > 10_000  # as shipped: every file of every segment, copied
    finally:
        whoosh_files.install()
    copies.clear()
    _answers(str(tmp_path))
    assert copies == []


def test_an_index_answers_the_same_with_and_without_copies(tmp_path) -> None:
    _build(str(tmp_path / "mapped"))
    mapped = _answers(str(tmp_path / "mapped"))
    whoosh_files.uninstall()
    try:
        _build(str(tmp_path / "shipped"))
        shipped = _answers(str(tmp_path / "shipped"))
        read_as_shipped = _answers(str(tmp_path / "mapped"))
    finally:
        whoosh_files.install()
    assert mapped == shipped == read_as_shipped
    assert all(mapped)  # every query found something
