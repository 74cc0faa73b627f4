"""ferry.mltable — MLTable tables in Python, shaped like Azure's `mltable` package, evaluated
by ferry's C MLTable evaluator (the one `ferry mltable export` uses) through build/libferry.so.

    import ferry.mltable
    tbl = ferry.mltable.load("azureml://datastores/workspaceblobstore/paths/trips/")
    df = tbl.filter('col("fare") > 3').select_columns(["fare", "tip"]).take(1000).to_pandas_dataframe()
    train, test = tbl.random_split(0.8, seed=1)

load() takes a folder holding an MLTable file (any path form ferry knows: azureml://datastores/...,
wasbs://, abfss://, s3://, a local folder) or a data asset of type mltable (azureml:<name>:<version>).
A table is immutable: each method returns a new table with one more transformation step, as Azure's
does; nothing is read until rows are asked for (to_pandas_dataframe, show, iter_batches, paths).

Rows come from C in column batches (one callback per batch, not per value). The DataFrame's dtypes
follow the table's column types (convert_column_types, else inferred from the first 200 rows, as
`ferry mltable show` prints them): int -> int64 (float64 when a value is null), float -> float64,
boolean -> bool (object with None when a value is null), datetime -> datetime64[ns] (NaT), string ->
object (None). A value that does not fit its column's type (a text in an int column past the first 200
rows) makes the column float64 (int and float) or object holding each value's text.
"""
import ctypes
import json
import queue
import random
import threading

from ferry._lib import Engine, _Entry, _Err, _b, _raise, _safe_path, lib

__all__ = ["load", "MLTable"]

T_STRING, T_INT, T_FLOAT, T_BOOL, T_DATETIME = 0, 1, 2, 3, 4
_TYPE_NAMES = {T_STRING: "string", T_INT: "int", T_FLOAT: "float", T_BOOL: "boolean", T_DATETIME: "datetime"}


class _Column(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("type", ctypes.c_int32),
        ("table_type", ctypes.c_int32),
        ("valid", ctypes.POINTER(ctypes.c_uint8)),
        ("ints", ctypes.POINTER(ctypes.c_int64)),
        ("floats", ctypes.POINTER(ctypes.c_double)),
        ("text", ctypes.c_void_p),
        ("offsets", ctypes.POINTER(ctypes.c_uint64)),
    ]


_BATCH_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_Column), ctypes.c_size_t, ctypes.c_size_t)
_sigs_done = False
_sigs_lock = threading.Lock()


def _L():
    """The library with this module's functions declared (kept out of _lib's table, which the
    fsspec side owns)."""
    global _sigs_done
    L = lib()
    with _sigs_lock:
        if not _sigs_done:
            P, E, s = ctypes.c_void_p, ctypes.POINTER(_Err), ctypes.c_char_p
            L.ferry_api_mltable_rows.restype = ctypes.c_int
            L.ferry_api_mltable_rows.argtypes = [P, s, s, ctypes.c_uint64, ctypes.c_size_t, _BATCH_FN, P,
                                                 ctypes.POINTER(ctypes.c_uint64), E]
            L.ferry_api_mltable_files.restype = ctypes.c_int
            L.ferry_api_mltable_files.argtypes = [P, s, s, ctypes.POINTER(ctypes.POINTER(_Entry)),
                                                  ctypes.POINTER(ctypes.c_size_t), E]
            _sigs_done = True
    return L


def _np():
    import numpy
    return numpy


def _strings(raw, off):
    """The values of a batch's text: each is followed by a NUL, so one decode and one split give
    them all, unless a value holds a NUL itself (then slices by the offsets)."""
    n = len(off) - 1
    parts = raw.decode("utf-8", "replace").split("\0")
    if len(parts) == n + 1:
        return parts[:n]
    off = off.tolist() if hasattr(off, "tolist") else off
    return [raw[off[i]:off[i + 1] - 1].decode("utf-8", "replace") for i in range(n)]


def _chunk(col, n):
    """One column of one batch as (type, table_type, valid, values, text): numpy arrays copied out
    of C's buffers (values: int64 / float64 / int64 ns / a list of str); text: (bytes, offsets), each
    value as written, kept in case another batch widens the column to strings."""
    np = _np()
    t = col.type
    if n == 0:
        return t, col.table_type, np.zeros(0, bool), ([] if t == T_STRING else np.zeros(0, np.int64)), (b"", [0])
    valid = np.ctypeslib.as_array(col.valid, (n,)).astype(bool)
    off = np.ctypeslib.as_array(col.offsets, (n + 1,)).copy()  # a list only when strings are wanted
    end = int(off[-1])
    raw = ctypes.string_at(col.text, end) if end else b""
    if t in (T_INT, T_BOOL, T_DATETIME):
        vals = np.ctypeslib.as_array(col.ints, (n,)).copy()
    elif t == T_FLOAT:
        vals = np.ctypeslib.as_array(col.floats, (n,)).copy()
    else:
        vals = _strings(raw, off)
    return t, col.table_type, valid, vals, (raw, off)


def _series(chunks, table_type):
    """Join one column's chunks into a numpy array with the dtype its types call for."""
    np = _np()
    types = {c[0] for c in chunks if len(c[2])}
    if not types:
        types = {table_type}
    valid = np.concatenate([c[2] for c in chunks]) if chunks else np.zeros(0, bool)
    allvalid = bool(valid.all())
    if types == {T_INT} and allvalid:
        return np.concatenate([c[3] for c in chunks]).astype(np.int64) if chunks else np.zeros(0, np.int64)
    if types <= {T_INT, T_FLOAT}:
        if not chunks:
            return np.zeros(0, np.float64)
        a = np.concatenate([np.asarray(c[3], dtype=np.float64) for c in chunks])
        a[~valid] = np.nan
        return a
    if types == {T_DATETIME}:
        a = np.concatenate([c[3] for c in chunks]).astype(np.int64) if chunks else np.zeros(0, np.int64)
        a[~valid] = np.iinfo(np.int64).min  # NaT
        return a.view("datetime64[ns]")
    if types == {T_BOOL} and allvalid:
        return np.concatenate([c[3] for c in chunks]).astype(bool) if chunks else np.zeros(0, bool)
    out = np.empty(len(valid), dtype=object)
    k = 0
    if types == {T_BOOL}:  # booleans with nulls: True / False / None
        for c in chunks:
            for ok, v in zip(c[2].tolist(), c[3].tolist()):
                out[k] = bool(v) if ok else None
                k += 1
        return out
    # strings, or a column whose batches disagree (as C widens within a batch): each value's text
    for c in chunks:
        vals = c[3] if c[0] == T_STRING else _strings(*c[4])
        part = out[k:k + len(vals)]
        part[:] = vals
        part[~c[2]] = None
        k += len(vals)
    return out


class _Collector:
    """The C callback: each batch becomes column chunks (or a DataFrame, for iter_batches)."""

    def __init__(self, on_batch=None):
        self.names, self.types, self.chunks = None, None, None
        self.on_batch, self.exc, self.stopped = on_batch, None, False
        self.fn = _BATCH_FN(self._cb)

    def _cb(self, _arg, cols, ncols, nrows):
        try:
            if self.stopped:
                return 1
            if self.names is None:
                self.names = [cols[i].name.decode("utf-8", "replace") for i in range(ncols)]
                self.types = [cols[i].table_type for i in range(ncols)]
                self.chunks = [[] for _ in range(ncols)]
            got = [_chunk(cols[i], nrows) for i in range(ncols)]
            if self.on_batch is not None:
                return 1 if self.on_batch([[g] for g in got]) else 0
            for i, g in enumerate(got):
                self.chunks[i].append(g)
            return 0
        except BaseException as e:  # noqa: B902 — carried to the caller's thread, raised there
            self.exc = e
            return -1

    def frame(self, chunks=None):
        import pandas as pd
        chunks = self.chunks if chunks is None else chunks
        if self.names is None:
            return pd.DataFrame()
        data = {}
        for i, name in enumerate(self.names):
            data[name] = _series(chunks[i], self.types[i])
        return pd.DataFrame(data, columns=self.names)


class MLTable:
    """An MLTable plus the transformation steps added in Python (see the module's docstring)."""

    def __init__(self, uri, steps=(), engine=None):
        self._uri = uri
        self._steps = tuple(steps)
        self._engine = engine if engine is not None else Engine()

    # ---- transformations: each returns a new table ----

    def _add(self, step):
        return MLTable(self._uri, self._steps + (step,), self._engine)

    def take(self, count=20):
        """The first `count` rows."""
        return self._add({"take": int(count)})

    def skip(self, count):
        """All but the first `count` rows."""
        return self._add({"skip": int(count)})

    def take_random_sample(self, probability, seed=None):
        """Each row with `probability` (0..1); with `seed` the same rows every time."""
        step = {"probability": float(probability)}
        if seed is not None:
            step["seed"] = int(seed)
        return self._add({"take_random_sample": step})

    def filter(self, expression):
        """Rows for which `expression` holds: ferry's MLTable filter grammar, e.g.
        'col("age") > 30 and col("country") == "UK"' (docs: `filter` in the MLTable reference)."""
        return self._add({"filter": str(expression)})

    def select_columns(self, columns):
        """Only these columns (a name or a list of names), in the order given (keep_columns)."""
        return self._add({"keep_columns": [columns] if isinstance(columns, str) else list(columns)})

    keep_columns = select_columns

    def drop_columns(self, columns):
        """Every column but these."""
        return self._add({"drop_columns": [columns] if isinstance(columns, str) else list(columns)})

    def random_split(self, percent=0.5, seed=None):
        """Two tables: each row in the first with probability `percent`, else in the second. The two
        are disjoint and together hold every row (one seeded sample and its complement: ferry's
        take_random_sample `complement`); without a seed one is drawn here, shared by both."""
        if not 0 <= float(percent) <= 1:
            raise ValueError("random_split: percent must be from 0 to 1, got %r" % (percent,))
        if seed is None:
            seed = random.SystemRandom().randrange(1 << 63)
        step = {"probability": float(percent), "seed": int(seed)}
        return (self._add({"take_random_sample": dict(step)}),
                self._add({"take_random_sample": dict(step, complement=True)}))

    # ---- evaluation ----

    def _steps_json(self):
        # one step per line: ferry's errors name an added step by its line, so by its number
        return "[" + ",\n".join(json.dumps(s) for s in self._steps) + "]" if self._steps else None

    def _rows(self, collector, max_rows=None, batch_rows=65536):
        err, n = _Err(), ctypes.c_uint64()
        rc = _L().ferry_api_mltable_rows(self._engine._handle(), _b(self._uri), _b(self._steps_json()),
                                         (1 << 64) - 1 if max_rows is None else int(max_rows), int(batch_rows),
                                         collector.fn, None, ctypes.byref(n), ctypes.byref(err))
        if collector.exc is not None:
            raise collector.exc
        if rc < 0:
            _raise(err, self._uri)
        return n.value

    def to_pandas_dataframe(self):
        """Every row of the table as a pandas DataFrame."""
        c = _Collector()
        self._rows(c)
        return c.frame()

    def show(self, count=20):
        """The first `count` rows as a DataFrame (Azure's show)."""
        c = _Collector()
        self._rows(c, max_rows=count)
        return c.frame()

    def iter_batches(self, batch_rows=65536):
        """The table as DataFrames of up to batch_rows rows each, streamed: the C evaluator runs in a
        thread and waits while two batches are queued, so memory stays bounded whatever the size."""
        q = queue.Queue(maxsize=2)
        done = object()
        col = _Collector()
        stop = threading.Event()

        def on_batch(chunks):
            df = col.frame(chunks)
            while not stop.is_set():
                try:
                    q.put(df, timeout=0.2)
                    return False
                except queue.Full:
                    continue
            return True  # the consumer went away: stop reading

        col.on_batch = on_batch

        def run():
            try:
                self._rows(col, batch_rows=batch_rows)
                q.put(done)
            except BaseException as e:  # noqa: B902
                q.put(e)

        th = threading.Thread(target=run, name="ferry-mltable", daemon=True)
        th.start()
        try:
            while True:
                x = q.get()
                if x is done:
                    return
                if isinstance(x, BaseException):
                    raise x
                yield x
        finally:
            stop.set()
            while th.is_alive():
                try:
                    q.get(timeout=0.1)
                except queue.Empty:
                    pass
            th.join()

    def get_partition_count(self):
        """The number of files the table reads (ferry reads a table file by file)."""
        return len(self.files())

    def files(self):
        """The table's files, in the order it reads them: [{name (tree name, as in the Path column),
        size, mtime, md5, etag}, ...]. Only the paths and the transformations before the read_* act."""
        arr, n, err = ctypes.POINTER(_Entry)(), ctypes.c_size_t(), _Err()
        if _L().ferry_api_mltable_files(self._engine._handle(), _b(self._uri), _b(self._steps_json()),
                                        ctypes.byref(arr), ctypes.byref(n), ctypes.byref(err)) < 0:
            _raise(err, self._uri)
        try:
            out = []
            for k in range(n.value):
                e = arr[k]
                out.append({"name": (e.name or b"").decode("utf-8", "replace"), "size": int(e.size),
                            "mtime": int(e.mtime), "md5": e.md5.decode() or None, "etag": e.etag.decode() or None})
            return out
        finally:
            lib().ferry_api_entries_free(arr, n)

    @property
    def paths(self):
        """The table's files as a list of tree names (what the Path column holds)."""
        return [f["name"] for f in self.files()]

    def __iter__(self):
        """A file-set table (no read_* transformation) iterates over its file paths."""
        return iter(self.paths)

    @property
    def schema(self):
        """{column: type name} as `ferry mltable show` prints it."""
        c = _Collector()
        self._rows(c, max_rows=200)  # the types are inferred from the first 200 rows
        return {n: _TYPE_NAMES.get(t, "string") for n, t in zip(c.names or [], c.types or [])}

    def __repr__(self):
        return "MLTable(%r, steps=%s)" % (_safe_path(self._uri), json.dumps(list(self._steps)))


def load(uri, storage_options=None, home=None, settings=None):
    """The MLTable at `uri`: a folder holding an MLTable file (any path form ferry knows), that
    file, or a data asset of type mltable (azureml:<name>:<version>). Nothing is read until rows
    or files are asked for. home / settings: as for ferry.Engine. storage_options is accepted for
    Azure's signature; credentials come from the workspace and environment as for the CLI."""
    return MLTable(uri, (), Engine(home=home, settings=settings))
