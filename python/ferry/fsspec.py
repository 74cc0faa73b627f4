"""fsspec.py — ferry as an fsspec filesystem (protocol "azureml", and every other path form
through ferry.filesystem()).

Paths are kept whole: "azureml://datastores/x/paths/a.csv", "wasbs://c@acct.blob.core.windows.net/a",
"s3://bucket/key", "azureml:asset:1", or a local path. A path goes to the C engine as it is, so it
resolves exactly as `ferry ls` resolves it (workspace datastores, environment credentials,
identities). Listings, reads, downloads and uploads run in C with the GIL released.

- ls/info/exists/isdir/walk: one listing or stat per call; find (no maxdepth) is one recursive
  listing (paged in C), so glob("**") and du over thousands of blobs cost few requests.
- open("rb"): one request for a file of up to its head (open_head: READAHEAD_MIN, 8 MiB;
  FOOTER_HEAD, 1 MiB, for a footer format such as .parquet, whose readers read the end and a
  few column chunks): the open is a ranged GET of the first head bytes whose response also
  gives the size and ETag (no HEAD, no listing; Azure Blob/ADLS and S3; http and local
  stores stat first; an empty blob's 416 says it exists). It skips the store's
  file-or-folder rule (store.h) as cat_file does: that rule decides what a listing shows and
  what ls/info/isdir say of a name that is both, while open names one object, which exists
  or not; a missing name costs one more request (a one-name listing) to raise
  IsADirectoryError for a folder, FileNotFoundError otherwise. Every later read of the handle
  must return the opened ETag: a file replaced while open raises OSError, never mixed bytes.
  An AbstractBufferedFile whose _fetch_range reads in C. A file over its
  head is read through a block cache of its own handle (ferry_api_file_readahead:
  the mount's block reader, which fetches the next blocks on several threads while the caller
  reads in order, only small ranges when it jumps, and a jump of a column chunk's length as
  one exact ranged GET), with no fsspec cache on top; a smaller one with one ranged read per
  fsspec block (fsspec's read-ahead cache). Bytes of the open's GET are never fetched again. open("wb"): bytes go to a local temporary file, uploaded on close
  by the engine (one put, or blocks in parallel committed last: nothing lands until close).
- get/put of a folder are one call of the parallel transfer engine; get of a list or a glob is
  one call of Engine.get_many (files in parallel on C threads, targets named as fsspec's get
  names them); get_file and get of one file are Engine.get_many of that one file (a small
  file: one GET, no stat or HEAD; a large one: its parts on every downloader thread).
- cat_file (and cat of one path) is Engine.cat: one ranged GET of the first part that tells the
  size (a small file: that one request), then the other parts in parallel on C threads
  straight into the bytes object returned (one copy of the data, MD5 checked for a whole file
  where the store keeps one, every part pinned to the first GET's ETag).
- cat of many paths (a list, a glob, recursive) and cat_ranges are one call of the engine
  (Engine.cat_many: RSLEX_DOWNLOADER_THREADS C threads, one GET per small file, no stat; a large
  one's other parts in parallel into its bytes), not
  fsspec's loop of cat_file calls one after another.
"""
import os
import tempfile
import threading

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem
from fsspec.utils import isfilelike

from ferry._lib import Engine

_GLOB = "*?["
READAHEAD_MIN = 8 << 20  # open("rb") of a larger file reads through ferry's block cache
FOOTER_HEAD = 1 << 20  # the open's GET for a format read from its end (FOOTER_SUFFIXES)
# Formats whose readers start at the end (Parquet and ORC footers, Arrow IPC/Feather,
# zip and npz central directories): pyarrow, fastparquet and pandas.read_parquet seek to
# the end, read the footer, then only the column chunks they need.
FOOTER_SUFFIXES = (".parquet", ".parq", ".pq", ".orc", ".arrow", ".feather", ".ipc", ".zip", ".npz")


def open_head(path, block_size=None):
    """(head, readahead_min) of open("rb") of `path`: head is how many first bytes its one
    GET reads, and a file larger than readahead_min is read through ferry's block cache.
    FOOTER_HEAD for a name with a footer format's suffix (its reader wants the end and a few
    column chunks, not the first 8 MiB; a file of up to 1 MiB is still one request, and the
    block cache's random mode reads the footer in one small range); READAHEAD_MIN (8 MiB)
    otherwise (a file read whole up to that size is one request). An int block_size given to
    open() sets the head."""
    name = path.rsplit("/", 1)[-1].lower()
    least = FOOTER_HEAD if name.endswith(FOOTER_SUFFIXES) else READAHEAD_MIN
    if isinstance(block_size, int) and block_size > 0:
        return block_size, least
    return least, least


def _join(base, rel):
    if not rel:
        return base
    return base.rstrip("/") + "/" + rel


class FerryFileSystem(AbstractFileSystem):
    """fsspec filesystem over ferry's C engine. Options: home (the workspace folder, default
    $FERRY_HOME or ~/.ferry), settings (dict of ferry settings, e.g.
    {"RSLEX_DOWNLOADER_THREADS": 16})."""

    protocol = ("azureml",)
    root_marker = ""
    cachable = True

    def __init__(self, home=None, settings=None, **kw):
        super().__init__(**kw)
        self.engine = Engine(home=home, settings=settings)
        self._plan = threading.local()  # get of a list/glob: the (remote, local) pairs fsspec names

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = os.fspath(path) if hasattr(path, "__fspath__") else str(path)
        if "://" in path:
            scheme, rest = path.split("://", 1)
            return scheme + "://" + rest.rstrip("/") if rest.rstrip("/") else path
        return path.rstrip("/") or path

    def unstrip_protocol(self, name):
        return name

    @staticmethod
    def _get_kwargs_from_urls(path):
        return {}

    def _entry(self, e, name):
        d = dict(e)
        d["name"] = name
        return d

    def ls(self, path, detail=True, **kw):
        path = self._strip_protocol(path)
        entries = self.engine.list(path)
        st = None
        if len(entries) == 1 and entries[0]["type"] == "file":
            st = self.engine.stat(path)
        if st is not None and st["type"] == "file":
            out = [self._entry(st, path)]
        else:
            out = [self._entry(e, _join(path, e["name"])) for e in entries]
        return out if detail else [e["name"] for e in out]

    def info(self, path, **kw):
        path = self._strip_protocol(path)
        return self._entry(self.engine.stat(path), path)

    def find(self, path, maxdepth=None, withdirs=False, detail=False, **kw):
        if maxdepth is not None:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kw)
        path = self._strip_protocol(path)
        try:
            st = self.engine.stat(path)
        except FileNotFoundError:
            return {} if detail else []
        out = {}
        if st["type"] == "file":
            out[path] = self._entry(st, path)
        else:
            if withdirs:
                out[path] = self._entry(st, path)
            for e in self.engine.list(path, recursive=True):
                name = _join(path, e["name"])
                out[name] = self._entry(e, name)
                if withdirs:  # folders are implied by the names below them
                    parts = e["name"].split("/")[:-1]
                    for k in range(1, len(parts) + 1):
                        d = _join(path, "/".join(parts[:k]))
                        if d not in out:
                            out[d] = {"name": d, "size": 0, "type": "directory"}
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def du(self, path, total=True, maxdepth=None, withdirs=False, **kw):
        sizes = {p: i["size"] for p, i in self.find(path, maxdepth=maxdepth, withdirs=withdirs,
                                                     detail=True).items()}
        return sum(sizes.values()) if total else sizes

    def cat_file(self, path, start=None, end=None, **kw):
        path = self._strip_protocol(path)
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = self.engine.stat(path)["size"]  # ranges from the end need the size
            start = None if start is None else max(0, start + size if start < 0 else start)
            end = None if end is None else max(0, end + size if end < 0 else end)
        start = start or 0
        if end is not None and end <= start:
            return self.engine.cat(path, start, 0)  # still raises for a missing file or a folder
        return self.engine.cat(path, start, None if end is None else end - start)

    def cat(self, path, recursive=False, on_error="raise", **kw):
        """fsspec's cat: the paths expand as fsspec expands them (lists, globs, recursive), and
        then all are read in one call of the engine (Engine.cat_many: C threads, one GET per
        file) instead of one cat_file after another. Folders a recursive expansion names are
        left out (they have no bytes). start/end apply to every path, as in fsspec."""
        paths = self.expand_path(path, recursive=recursive)
        if not (len(paths) > 1 or isinstance(path, list) or paths[0] != self._strip_protocol(path)):
            return self.cat_file(paths[0], **kw)
        start, end = kw.get("start"), kw.get("end")
        if (start is not None and start < 0) or (end is not None and end < 0) or \
                set(kw) - {"start", "end"}:
            return super().cat(paths, on_error=on_error, **kw)
        got = self._cat_many(paths, [start] * len(paths), [end] * len(paths))
        out = {}
        for p, b in zip(paths, got):
            if isinstance(b, IsADirectoryError) and recursive:
                continue
            if isinstance(b, Exception):
                if on_error == "raise":
                    raise b
                if on_error == "omit":
                    continue
            out[p] = b
        return out

    def cat_ranges(self, paths, starts, ends, max_gap=None, on_error="return", **kw):
        """fsspec's cat_ranges in one call of the engine (Engine.cat_many): a list of bytes in
        the order of paths; a failed item raises (fsspec's own behaviour) unless on_error is
        "return", which puts the exception in its place."""
        if max_gap is not None:
            raise NotImplementedError
        if not isinstance(paths, list):
            raise TypeError
        starts = starts if isinstance(starts, list) else [starts] * len(paths)
        ends = ends if isinstance(ends, list) else [ends] * len(paths)
        if len(starts) != len(paths) or len(ends) != len(paths):
            raise ValueError
        if any(x is not None and x < 0 for x in starts + ends):  # ranges from the end need sizes
            return [self.cat_file(p, s, e) for p, s, e in zip(paths, starts, ends)]
        out = self._cat_many([self._strip_protocol(p) for p in paths], starts, ends)
        if on_error != "return":
            for b in out:
                if isinstance(b, Exception):
                    raise b
        return out

    def _cat_many(self, paths, starts, ends):
        offs = [s or 0 for s in starts]
        lens = [None if e is None else max(0, e - o) for o, e in zip(offs, ends)]
        return self.engine.cat_many(paths, offs, lens)

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None, **kw):
        return FerryFile(self, self._strip_protocol(path), mode=mode, block_size=block_size,
                         cache_options=cache_options, **kw)

    def pipe_file(self, path, value, **kw):
        with self.open(path, "wb") as f:
            f.write(value)

    def get(self, rpath, lpath, recursive=False, **kw):
        """fsspec's get. A list or a glob: the targets are named by fsspec's own get (run with
        a get_file that only notes each (remote, local) pair, so the names follow the
        installed fsspec's rules), then every file is downloaded in one call of the engine
        (Engine.get_many: RSLEX_DOWNLOADER_THREADS files at once on C threads, each through a
        temporary renamed into place when complete). A folder among them becomes a local
        folder, as fsspec's get_file makes it. The first failure raises, naming its file,
        after the others are done. One path: get_file (a small file: one GET, no stat), and
        when that answers it is a folder, one call of the transfer engine (recursive=True) or
        IsADirectoryError."""
        if isinstance(rpath, list) or isinstance(lpath, list) or any(c in rpath for c in _GLOB):
            return self._get_many(rpath, lpath, recursive=recursive, **kw)
        rpath = self._strip_protocol(rpath)
        try:  # a file: one GET when small (no stat first); a folder answers IsADirectoryError
            return self.get_file(rpath, lpath)
        except IsADirectoryError:
            if not recursive:
                raise IsADirectoryError(21, "%s is a folder (get it with recursive=True)" % rpath, rpath) from None
        lpath = os.fspath(lpath)
        os.makedirs(lpath, exist_ok=True)
        self.engine.download(rpath, lpath)

    def _get_many(self, rpath, lpath, recursive=False, **kw):
        self._plan.pairs = pairs = []
        try:
            super().get(rpath, lpath, recursive=recursive, **kw)
        finally:
            self._plan.pairs = None
        if not pairs:
            return
        got = self.engine.get_many([self._strip_protocol(r) for r, _ in pairs], [l for _, l in pairs])
        first = None
        for (r, l), g in zip(pairs, got):
            if isinstance(g, IsADirectoryError):
                os.makedirs(l, exist_ok=True)
            elif isinstance(g, Exception) and first is None:
                first = g
        if first is not None:
            raise first

    def get_file(self, rpath, lpath, **kw):
        """One file to lpath, as Engine.get_many downloads each file of a list: a ranged GET
        of the first part that tells the size, ETag and stored MD5 (a small file: that one
        request, no stat, no HEAD), a large file's other parts in parallel on C threads; the
        bytes land in a temporary beside lpath, renamed into place when complete and checked
        (FERRY_VERIFY_MD5). lpath an existing folder or ending in "/": the file lands inside
        it under its name; an open file (fsspec's file-like lpath): the bytes are written to
        it. A folder raises IsADirectoryError, a missing file FileNotFoundError naming it."""
        pairs = getattr(self._plan, "pairs", None)
        if pairs is not None:  # fsspec's get naming the targets for _get_many
            pairs.append((rpath, os.fspath(lpath)))
            return
        rpath = self._strip_protocol(rpath)
        if isfilelike(lpath):  # fsspec's get_file also writes into an open file
            lpath.write(self.cat_file(rpath))
            return
        lpath = os.fspath(lpath)
        if os.path.isdir(lpath) or lpath.endswith("/"):  # the file lands inside, under its name
            lpath = os.path.join(lpath, rpath.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1])
        got = self.engine.get_many([rpath], [lpath])[0]
        if isinstance(got, Exception):
            raise got

    def put(self, lpath, rpath, recursive=False, **kw):
        if isinstance(lpath, list) or isinstance(rpath, list) or any(c in lpath for c in _GLOB):
            return super().put(lpath, rpath, recursive=recursive, **kw)
        lpath = os.fspath(lpath)
        if os.path.isdir(lpath):
            if not recursive:
                raise IsADirectoryError(21, "%s is a folder (put it with recursive=True)" % lpath, lpath)
            self.engine.upload(lpath, self._strip_protocol(rpath))
        else:
            self.put_file(lpath, rpath)

    def put_file(self, lpath, rpath, **kw):
        rpath = os.fspath(rpath)
        if rpath.endswith("/"):
            self.engine.upload(lpath, rpath)
            return
        with open(lpath, "rb") as f:
            self.engine.put_fd(f.fileno(), os.fstat(f.fileno()).st_size, self._strip_protocol(rpath))

    def rm_file(self, path):
        self.engine.remove(self._strip_protocol(path))

    def rm(self, path, recursive=False, maxdepth=None):
        paths = path if isinstance(path, list) else [path]
        for p in paths:
            if any(c in p for c in _GLOB):
                for q in self.expand_path(p, recursive=recursive):
                    if self.isfile(q):
                        self.engine.remove(q)
            else:
                self.engine.remove(self._strip_protocol(p), recursive=recursive)
        self.invalidate_cache()

    def _rm(self, path):
        self.engine.remove(self._strip_protocol(path))

    def mkdir(self, path, create_parents=True, **kw):
        self.engine.mkdir(self._strip_protocol(path))

    def makedirs(self, path, exist_ok=False):
        self.engine.mkdir(self._strip_protocol(path))

    def rmdir(self, path):
        pass  # folders in object stores are names: one with nothing below is gone already


class FerryFile(AbstractBufferedFile):
    """Read: ranged reads through one opened C handle. Write: a local temporary file uploaded
    by the engine on close (so nothing is in storage until close succeeds)."""

    def __init__(self, fs, path, mode="rb", block_size=None, cache_options=None, **kw):
        self._h = None
        self._tmp = None
        size = None
        cache_type = kw.pop("cache_type", None)
        if mode == "rb":
            head, least = open_head(path, block_size)
            self._h = fs.engine.open(path, first=head)  # one GET: size, ETag, first bytes
            size = self._h.size
            if size > least and cache_type is None:
                self._h.readahead()  # ferry's block cache reads ahead: no fsspec cache on top
                cache_type = "none"
        elif mode != "wb":
            raise ValueError("ferry: mode %r is not supported (rb or wb)" % mode)
        super().__init__(fs, path, mode=mode, block_size=block_size or "default",
                         cache_type=cache_type or "readahead", cache_options=cache_options,
                         size=size, **kw)
        if self._h is not None:  # info() from the open's own response, no stat
            self._details = {"name": path, "size": size, "type": "file", "mtime": self._h.mtime,
                             "etag": self._h.etag}

    def info(self):
        if self._h is not None and not self._details["etag"]:
            # an empty blob opened by the 416 to its range, which names no ETag or mtime
            # (Azure's and Azurite's): asked for, they cost one stat
            self._details = dict(self.fs.info(self.path), name=self.path)
        return super().info()

    def _fetch_range(self, start, end):
        return self._h.read(start, end - start)

    def _initiate_upload(self):
        self._tmp = tempfile.TemporaryFile(prefix="ferry-write-")

    def _upload_chunk(self, final=False):
        self._tmp.write(self.buffer.getvalue())
        if final:
            self._tmp.flush()
            size = self._tmp.tell()
            try:
                self.fs.engine.put_fd(self._tmp.fileno(), size, self.path)
            finally:
                self._tmp.close()
                self._tmp = None
            self.fs.invalidate_cache(self.path)
        return True

    def close(self):
        try:
            super().close()
        finally:
            if self._h is not None:
                self._h.close()
                self._h = None
            if self._tmp is not None:
                self._tmp.close()
                self._tmp = None
