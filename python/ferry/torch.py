"""torch.py — ferry.torch.FileDataset: the files below a folder as a PyTorch map-style dataset of
(path, bytes), read by ferry's C engine (the small-file loop of training on images, audio clips,
shards).

    from ferry.torch import FileDataset
    ds = FileDataset("azureml://datastores/x/paths/images/", pattern="**/*.jpg",
                     transform=lambda b: decode(b))
    for paths, images in torch.utils.data.DataLoader(ds, batch_size=32, num_workers=4): ...

- The folder is any path form ferry knows (azureml://datastores/..., a data asset
  azureml:<name>:<version>, wasbs://, abfss://, https://, s3://, a local folder). It is listed
  once, in the process that builds the dataset (one paged recursive listing); items are the
  files whose path relative to the folder matches `pattern`, sorted by that path. A path that
  names one file is a dataset of that file.
- Item i is (path relative to the folder, transform(bytes)) — bytes when transform is None.
- Reads: one ranged GET per file, straight into memory of the size the listing gave (no stat,
  no copy in C), with the GIL released. DataLoader asks for a batch through __getitems__; its
  files are read by `threads` threads at once (per process), so each worker keeps that many
  requests in flight instead of one.
- Workers: a DataLoader worker made by fork opens its own engine context on first use (the
  Engine notices the new pid) and its own connections (libferry drops the parent's after a
  fork), so workers never share a socket with the parent or each other. A dataset pickled for
  spawn/forkserver workers travels without its handle and thread pool.
- An MLTable (a folder holding a file named MLTable, that file, a data asset of type mltable,
  or a ferry.mltable.MLTable with its added steps) is the set of its files, as `ferry mltable
  eval_download` evaluates it (a file set's paths and file transformations; a table's data
  files): item paths are the files' tree names (the Path column, "<account>/<container>/<path>"),
  `pattern` matches them, and the files are read through the evaluated set (ferry.mltable.FileSet,
  one per process). mltable=False reads such a folder's files instead (the MLTable file too).
- Errors are the Engine's: FileNotFoundError, PermissionError, OSError with ferry's message
  (never a credential); a file whose size changed since the listing is an OSError naming it.
"""
import concurrent.futures
import errno
import os
import threading

try:
    import torch.utils.data as _tud
    _Base = _tud.Dataset
except ImportError:  # usable without torch: any loader that indexes it works
    _Base = object

from ferry._glob import glob_regex
from ferry._lib import Engine

__all__ = ["FileDataset", "glob_regex"]


def _join(base, rel):
    return base.rstrip("/") + "/" + rel


class FileDataset(_Base):
    """Map-style dataset of (relative path, bytes) over the files below `uri` matching `pattern`
    ("**/*": all). transform: applied to each file's bytes (in the worker). threads: files read
    at once by one process for a batch (__getitems__). home/settings: as ferry.Engine's
    (settings e.g. {"RSLEX_DOWNLOADER_THREADS": 16}); engine: an Engine to use instead."""

    def __init__(self, uri, pattern="**/*", transform=None, threads=8, home=None, settings=None,
                 engine=None, mltable=None):
        from ferry.mltable import MLTable, FileSet
        table = uri if isinstance(uri, MLTable) else None
        self.uri = table._uri if table is not None else os.fspath(uri)
        self.pattern = pattern
        self.transform = transform
        self.threads = max(1, int(threads))
        if table is not None and engine is None:
            engine = table._engine
        self._engine = engine or Engine(home=home, settings=settings)
        self._pool, self._pool_pid = None, None
        self._lock = threading.Lock()
        self._set = None
        if table is None and mltable is not False and self._is_mltable():
            table = MLTable(self.uri, (), self._engine)
        elif table is None and mltable:
            raise FileNotFoundError(errno.ENOENT, "ferry: no MLTable file at '%s'" % self.uri, self.uri)
        if table is not None:  # the files of an MLTable, read by tree name through its evaluated set
            self._set = FileSet(table)
            rx = glob_regex(pattern)
            self._files = [(f["name"], f["name"], f["size"]) for f in self._set.files if rx.match(f["name"])]
            return
        st = self._engine.stat(self.uri)
        if st["type"] == "file":  # one file: its name is its path
            self._files = [(st["name"], self.uri, st["size"])] if glob_regex(pattern).match(st["name"]) else []
        else:
            rx = glob_regex(pattern)
            self._files = sorted((e["name"], _join(self.uri, e["name"]), e["size"])
                                 for e in self._engine.list(self.uri, recursive=True)
                                 if e["type"] == "file" and rx.match(e["name"]))

    def _is_mltable(self):
        """Whether uri is a file named MLTable or a folder holding one."""
        if self.uri.rstrip("/").rsplit("/", 1)[-1] == "MLTable":
            try:
                return self._engine.stat(self.uri)["type"] == "file"
            except OSError:  # the listing below raises what is wrong with uri
                return False
        try:
            return self._engine.stat(_join(self.uri, "MLTable"))["type"] == "file"
        except OSError:
            return False

    @property
    def paths(self):
        """The items' paths relative to the folder, in item order."""
        return [f[0] for f in self._files]

    def uri_of(self, index):
        """The full path (in the form the dataset was given) of item `index`."""
        return self._files[index][1]

    def __len__(self):
        return len(self._files)

    def _read(self, index):
        name, uri, size = self._files[index]
        buf = bytearray(size + 1)  # one byte more: a file that grew since the listing shows it
        got = self._set.read_into(uri, buf) if self._set is not None else self._engine.read_into(uri, buf)
        if got != size:
            raise OSError("ferry: '%s' changed since the dataset listed it (%d bytes then, %s now)"
                          % (uri, size, "more" if got > size else got))
        del buf[size:]
        data = bytes(buf)
        return name, (self.transform(data) if self.transform is not None else data)

    def __getitem__(self, index):
        if index < 0:
            index += len(self._files)
        if not 0 <= index < len(self._files):
            raise IndexError("FileDataset index %d out of range (%d files)" % (index, len(self._files)))
        return self._read(index)

    def _executor(self):
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():  # a forked child makes its own
                self._pool = concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix="ferry-read")
                self._pool_pid = os.getpid()
            return self._pool

    def __getitems__(self, indices):
        """Items `indices` (a DataLoader batch), read `threads` at a time."""
        indices = list(indices)
        if len(indices) <= 1 or self.threads == 1:
            return [self[i] for i in indices]
        return list(self._executor().map(self.__getitem__, indices))

    def __getstate__(self):  # for spawn/forkserver workers: no handle, no threads, no lock
        d = dict(self.__dict__)
        d["_engine"] = (self._engine.home, self._engine.settings)
        d["_pool"], d["_pool_pid"], d["_lock"] = None, None, None
        return d

    def __setstate__(self, d):
        home, settings = d["_engine"]
        self.__dict__.update(d)
        self._engine = Engine(home=home, settings=settings)
        self._lock = threading.Lock()

    def __repr__(self):
        return "FileDataset(%r, pattern=%r, %d files)" % (self.uri, self.pattern, len(self._files))
