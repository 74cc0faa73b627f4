"""ferry.mltable — MLTable tables in Python, shaped like Azure's `mltable` package, evaluated
by ferry's C MLTable evaluator (the one `ferry mltable export` uses) through build/libferry.so.

    import ferry.mltable
    from ferry.mltable import DataType
    tbl = ferry.mltable.load("azureml://datastores/workspaceblobstore/paths/trips/")
    df = tbl.filter('fare > 3 and col("trip distance") < 10').select_columns(["fare", "tip"]).take(1000).to_pandas_dataframe()
    tbl = tbl.convert_column_types({"pickup": DataType.to_datetime("%d/%m/%Y %H:%M"), "fare": DataType.to_float()})
    train, test = tbl.random_split(0.8, seed=1)

load() takes a folder holding an MLTable file (any path form ferry knows: azureml://datastores/...,
wasbs://, abfss://, s3://, a local folder) or a data asset of type mltable (azureml:<name>:<version>).
A table is immutable: each method returns a new table with one more transformation step, as Azure's
does; nothing is read until rows are asked for (to_pandas_dataframe, show, iter_batches, files).
A step ferry cannot take (a filter that does not parse) raises MLTableError when it is added.
from_paths / from_delimited_files / from_parquet_files / from_json_lines_files make a table
without an MLTable file. `paths` is Azure's (the entries as written); iteration gives the files'
tree names (the Path column); open_files() reads them by that name (what ferry.torch.FileDataset
does with an MLTable). A partition is a file of the table (get_partition_count, select_partitions).
save(folder) writes the table, added steps included, as an MLTable file that load(), `ferry mltable
export` and a job's `type: mltable` input read back. Every bad argument raises MLTableError.

Rows come from C in column batches (one callback per batch, not per value). The DataFrame's dtypes
follow the table's column types (convert_column_types, else inferred from the first 200 rows, as
`ferry mltable show` prints them): int -> int64 (float64 when a value is null), float -> float64,
boolean -> bool (object with None when a value is null), datetime -> datetime64[ns] (NaT), string ->
object (None). A value that does not fit its column's type (a text in an int column past the first 200
rows) makes the column float64 (int and float) or object holding each value's text.
"""
import ctypes
import errno
import json
import os
import queue
import random
import re
import threading

from ferry._glob import glob_regex
from ferry._lib import E_INVALID, Engine, _Entry, _Err, _b, _raise, _safe_path, lib

__all__ = ["load", "MLTable", "DataType", "MLTableError", "from_paths", "from_delimited_files",
           "from_parquet_files", "from_json_lines_files"]

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
            L.ferry_api_mltable_check.restype = ctypes.c_int
            L.ferry_api_mltable_check.argtypes = [s, E]
            L.ferry_api_mltable_paths.restype = ctypes.c_int
            L.ferry_api_mltable_paths.argtypes = [P, s, ctypes.POINTER(P), E]
            L.ferry_api_mltable_fileset.restype = P
            L.ferry_api_mltable_fileset.argtypes = [P, s, s, ctypes.c_int, ctypes.POINTER(ctypes.POINTER(_Entry)),
                                                    ctypes.POINTER(ctypes.c_size_t), E]
            L.ferry_api_fileset_read.restype = ctypes.c_int64
            L.ferry_api_fileset_read.argtypes = [P, s, ctypes.c_uint64, ctypes.c_uint64, P, E]
            L.ferry_api_fileset_close.restype = None
            L.ferry_api_fileset_close.argtypes = [P]
            L.ferry_api_mltable_doc.restype = ctypes.c_int
            L.ferry_api_mltable_doc.argtypes = [P, s, ctypes.POINTER(P), E]
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


class MLTableError(OSError, ValueError):
    """A transformation step ferry refuses when it is added (a filter expression that does not
    parse, a type it has no conversion for): an OSError (EINVAL) as every ferry error is, and a
    ValueError, as a bad argument is. The message names the problem and, for a filter, the
    position in the expression ("at position 7")."""


def _count(what, name, v):
    """v as a non-negative int, else MLTableError "<what>: <name> ..." (bool is not a count)."""
    import numbers
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise MLTableError(errno.EINVAL, "%s: %s must be a non-negative integer, got %r" % (what, name, v))
    if v < 0 or v >= 1 << 64:
        raise MLTableError(errno.EINVAL, "%s: %s must be a non-negative integer, got %d" % (what, name, v))
    return int(v)


def _probability(what, name, v):
    """v as a float from 0 to 1, else MLTableError."""
    import numbers
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= float(v) <= 1:
        raise MLTableError(errno.EINVAL, "%s: %s must be a number from 0 to 1, got %r" % (what, name, v))
    return float(v)


def _check(steps, what, field=None):
    """Refuse bad steps now, with ferry's own parser (ferry_api_mltable_check), not when rows are
    read: raise MLTableError "<what>: <problem>"."""
    err = _Err()
    if _L().ferry_api_mltable_check(_b(json.dumps(list(steps))), ctypes.byref(err)) == 0:
        return
    msg = err.msg.decode("utf-8", "replace")
    msg = re.sub(r"^\(added transformations\):\d+: ", "", msg)
    if field:
        msg = msg.replace("field '%s': " % field, "", 1)
    raise MLTableError(errno.EINVAL, "%s: %s" % (what, msg))


class DataType:
    """Column types for MLTable.convert_column_types, as Azure's mltable.DataType builds them:
    each is the `column_type` value of ferry's MLTable convert_column_types transformation."""

    def __init__(self, spec):
        self.spec = spec

    @staticmethod
    def to_string():
        return DataType("string")

    @staticmethod
    def to_int():
        return DataType("int")

    @staticmethod
    def to_float():
        return DataType("float")

    @staticmethod
    def to_bool(true_values=None, false_values=None, mismatch_as=None):
        """true_values / false_values: the texts read as True / False (else true/false, 1/0,
        yes/no); mismatch_as: 'true', 'false' or 'error' (default) for any other text."""
        opt = {}
        if true_values is not None:
            opt["true_values"] = [str(v) for v in ([true_values] if isinstance(true_values, str) else true_values)]
        if false_values is not None:
            opt["false_values"] = [str(v) for v in ([false_values] if isinstance(false_values, str) else false_values)]
        if mismatch_as is not None:
            opt["mismatch_as"] = str(mismatch_as).lower()
        return DataType({"boolean": opt} if opt else "boolean")

    @staticmethod
    def to_datetime(formats=None, date_constant=None):
        """formats: a strptime format or a list of them, tried in order ('%d/%m/%Y %I:%M:%S %p'),
        else ISO 8601 forms. date_constant (Azure's, for formats without a date) is not supported."""
        if date_constant is not None:
            raise MLTableError(errno.EINVAL, "DataType.to_datetime: date_constant is not supported by ferry")
        if formats is None:
            return DataType("datetime")
        return DataType({"datetime": {"formats": [formats] if isinstance(formats, str) else list(formats)}})

    @staticmethod
    def to_stream():
        raise MLTableError(errno.EINVAL, "DataType.to_stream: stream columns are not supported by ferry "
                                         "(a file-set table's Path column names the files; ferry.torch.FileDataset reads them)")

    def __repr__(self):
        return "DataType(%s)" % json.dumps(self.spec)


_TYPE_WORDS = {"string": "string", "str": "string", "int": "int", "integer": "int", "float": "float",
               "double": "float", "boolean": "boolean", "bool": "boolean", "datetime": "datetime",
               str: "string", int: "int", float: "float", bool: "boolean"}


def _column_type(t):
    if isinstance(t, DataType):
        return t.spec
    key = t.lower() if isinstance(t, str) else t
    try:
        return _TYPE_WORDS[key]
    except (KeyError, TypeError):
        pass
    try:
        import datetime
        if t is datetime.datetime:
            return "datetime"
    except ImportError:
        pass
    raise MLTableError(errno.EINVAL, "convert_column_types: unknown column type %r (a DataType, or one of "
                                     "string, int, float, boolean, datetime)" % (t,))


class MLTable:
    """An MLTable plus the transformation steps added in Python (see the module's docstring)."""

    def __init__(self, uri, steps=(), engine=None, _keep=None):
        self._uri = uri
        self._steps = tuple(steps)
        self._engine = engine if engine is not None else Engine()
        self._keep = _keep  # from_*: the temporary folder holding the MLTable file written for it

    # ---- transformations: each returns a new table ----

    def _add(self, step, checked=False):
        if not checked:  # refused now, as Azure's package does, not when rows are read
            _check([step], next(iter(step)))
        return MLTable(self._uri, self._steps + (step,), self._engine, self._keep)

    def _columns_step(self, name, columns):
        try:
            cols = [columns] if isinstance(columns, str) else list(columns)
        except TypeError:
            raise MLTableError(errno.EINVAL, "%s: expected a column name or a list of them, got %r"
                               % (name, columns)) from None
        bad = [c for c in cols if not isinstance(c, str) or not c]
        if bad:
            raise MLTableError(errno.EINVAL, "%s: column names are non-empty strings, got %r" % (name, bad[0]))
        if not cols:  # Azure's: an empty list, tuple or set changes nothing
            return MLTable(self._uri, self._steps, self._engine, self._keep)
        dup = sorted({c for c in cols if cols.count(c) > 1})
        if dup:
            raise MLTableError(errno.EINVAL, "%s: column %r is named twice" % (name, dup[0]))
        return self._add({name: cols})

    def take(self, count=20):
        """The first `count` rows."""
        return self._add({"take": _count("take", "count", count)})

    def skip(self, count):
        """All but the first `count` rows."""
        return self._add({"skip": _count("skip", "count", count)})

    def take_random_sample(self, probability, seed=None):
        """Each row with `probability` (0..1); with `seed` the same rows every time."""
        step = {"probability": _probability("take_random_sample", "probability", probability)}
        if seed is not None:
            step["seed"] = _count("take_random_sample", "seed", seed)
        return self._add({"take_random_sample": step})

    def select_partitions(self, partition_index_list):
        """Only the rows of these partitions (Azure's select_partitions). In ferry a partition is a
        file of the table: files() in order, numbered from 0, get_partition_count() of them (Azure
        splits delimited and Parquet data into partitions of its own choosing; ferry's are whole
        files). The files keep the table's order; a row step that depends on row order (take,
        skip, take_random_sample) before it is an error when rows are read, an index past the
        last partition too (MLTableError)."""
        if isinstance(partition_index_list, (int, str, bytes)) and not isinstance(partition_index_list, bool):
            partition_index_list = [partition_index_list]
        try:
            idx = list(partition_index_list)
        except TypeError:
            raise MLTableError(errno.EINVAL, "select_partitions: expected a list of partition indexes, got %r"
                               % (partition_index_list,)) from None
        if not idx:
            raise MLTableError(errno.EINVAL, "select_partitions: expected a list of partition indexes, got an "
                                             "empty list")
        idx = [_count("select_partitions", "partition index", i) for i in idx]
        dup = sorted({i for i in idx if idx.count(i) > 1})
        if dup:
            raise MLTableError(errno.EINVAL, "select_partitions: partition %d is named twice" % dup[0])
        return self._add({"select_partitions": idx})

    def filter(self, expression):
        """Rows for which `expression` holds. Columns by bare name (`age > 30`) or Azure's
        col("name") (any name: 'col("trip distance") > 3'); numbers, strings, true/false and
        datetime(y, m, d[, h, m, s]) (an ISO string compares as a time with a datetime column);
        == != < <= > >=, and/or/not, parentheses, col("x").startswith/endswith/contains("...").
        A bad expression raises MLTableError here, naming the problem and its position."""
        if not isinstance(expression, str):
            raise MLTableError(errno.EINVAL, "filter: expected the expression as a string, got %r" % (expression,))
        step = {"filter": expression}
        _check([step], "filter(%r)" % expression, "filter")
        return self._add(step, checked=True)

    def convert_column_types(self, column_types):
        """Convert columns to types, as Azure's: {column or (columns, ...): DataType.to_int() /
        to_float() / to_bool(...) / to_string() / to_datetime(formats)}; a type may also be
        given as 'int', 'float', 'boolean', 'string', 'datetime' or int / float / bool / str.
        The DataFrame's dtypes follow (int64, float64, bool, datetime64[ns], object); a value
        that does not convert is an error naming it when rows are read."""
        if not isinstance(column_types, dict) or not column_types:
            raise MLTableError(errno.EINVAL, "convert_column_types: expected a dict {column: type}, got %r"
                               % (column_types,))
        convs = []
        for cols, t in column_types.items():
            names = [cols] if isinstance(cols, str) else list(cols)
            if not names or not all(isinstance(n, str) for n in names):
                raise MLTableError(errno.EINVAL, "convert_column_types: columns must be names, got %r" % (cols,))
            convs.append({"columns": names, "column_type": _column_type(t)})
        step = {"convert_column_types": convs}
        _check([step], "convert_column_types")
        return self._add(step, checked=True)

    def extract_columns_from_partition_format(self, partition_format):
        """Columns from each file's path: '{name}' a string column, '{name:yyyy/MM/dd}' a
        datetime column (Azure's format, e.g. '{account}/{container}/images/{label}/{file}.jpg'
        over a file set's Path, or 'year={year}/{rest}' below a table's folder)."""
        if not isinstance(partition_format, str):
            raise MLTableError(errno.EINVAL, "extract_columns_from_partition_format: expected the format as a "
                                             "string, got %r" % (partition_format,))
        step = {"extract_columns_from_partition_format": partition_format}
        _check([step], "extract_columns_from_partition_format(%r)" % partition_format,
               "extract_columns_from_partition_format")
        return self._add(step, checked=True)

    def select_columns(self, columns):
        """Only these columns (a name or a list of names), in the order given (keep_columns);
        an empty list keeps every column, a name given twice is an MLTableError."""
        return self._columns_step("keep_columns", columns)

    keep_columns = select_columns

    def drop_columns(self, columns):
        """Every column but these (an empty list drops nothing)."""
        return self._columns_step("drop_columns", columns)

    def random_split(self, percent=0.5, seed=None):
        """Two tables: each row in the first with probability `percent`, else in the second. The two
        are disjoint and together hold every row (one seeded sample and its complement: ferry's
        take_random_sample `complement`); without a seed one is drawn here, shared by both."""
        percent = _probability("random_split", "percent", percent)
        if seed is None:
            seed = random.SystemRandom().randrange(1 << 63)
        step = {"probability": percent, "seed": _count("random_split", "seed", seed)}
        return (self._add({"take_random_sample": dict(step)}, checked=True),
                self._add({"take_random_sample": dict(step, complement=True)}, checked=True))

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
            self._fail(err)
        return n.value

    def _fail(self, err):
        """Raise err: a step added here that turns out bad when rows are read (a partition index
        past the last, select_partitions after a take) is an MLTableError, as a bad argument is."""
        msg = err.msg.decode("utf-8", "replace")
        if err.code == E_INVALID and "(added transformations):" in msg:
            raise MLTableError(errno.EINVAL, msg)
        _raise(err, self._uri)

    def to_pandas_dataframe(self):
        """Every row of the table as a pandas DataFrame."""
        c = _Collector()
        self._rows(c)
        return c.frame()

    def show(self, count=20):
        """The first `count` rows as a DataFrame (Azure's show)."""
        c = _Collector()
        self._rows(c, max_rows=_count("show", "count", count))
        return c.frame()

    def iter_batches(self, batch_rows=65536):
        """The table as DataFrames of up to batch_rows rows each, streamed: the C evaluator runs in a
        thread and waits while two batches are queued, so memory stays bounded whatever the size."""
        if _count("iter_batches", "batch_rows", batch_rows) == 0:
            raise MLTableError(errno.EINVAL, "iter_batches: batch_rows must be at least 1, got 0")
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
        """The number of partitions: in ferry, the files the table reads (files(); ferry reads a
        table file by file), what select_partitions numbers from 0."""
        return len(self.files())

    def files(self):
        """The table's files, in the order it reads them: [{name (tree name, as in the Path column),
        size, mtime, md5, etag}, ...]. Only the paths and the transformations before the read_* act."""
        arr, n, err = ctypes.POINTER(_Entry)(), ctypes.c_size_t(), _Err()
        if _L().ferry_api_mltable_files(self._engine._handle(), _b(self._uri), _b(self._steps_json()),
                                        ctypes.byref(arr), ctypes.byref(n), ctypes.byref(err)) < 0:
            self._fail(err)
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
        """The MLTable file's `paths`, as written there, as Azure's MLTable.paths gives them:
        [{'file': './a.csv'}, {'folder': ...}, {'pattern': ...}] (relative ones are relative to
        the MLTable's folder). The files they name: files(), or iterate over the table."""
        out, err = ctypes.c_void_p(), _Err()
        if _L().ferry_api_mltable_paths(self._engine._handle(), _b(self._uri), ctypes.byref(out),
                                        ctypes.byref(err)) < 0:
            _raise(err, self._uri)
        try:
            return json.loads(ctypes.string_at(out.value).decode("utf-8"))
        finally:
            lib().ferry_api_buf_free(out)

    def file_paths(self):
        """The table's files as tree names: what the Path column of a file-set table holds
        (Azure's form, "<account>/<container>/<path>"; "local/<path>" for local files), in the
        order the table reads them."""
        return [f["name"] for f in self.files()]

    def __iter__(self):
        """A table iterates over its files' paths (file_paths()); a file-set table's files are
        read by ferry.torch.FileDataset(table) or open_files()."""
        return iter(self.file_paths())

    def open_files(self):
        """The table's files as a FileSet (the set `ferry mltable eval_download` evaluates):
        .files ([{name, size, ...}]) and read(name) / read_into(name, buf) by tree name."""
        return FileSet(self)

    def save(self, path=None, overwrite=True, colocated=False, show_warnings=True, if_err_remove_files=True):
        """Write this table as an MLTable file (its paths and every transformation, the ones added
        here included) into folder `path` (default: the current folder; created when missing): a
        local folder or a remote one in any form ferry writes to (azureml://datastores/.../paths/...,
        wasbs://, abfss://, s3://), uploaded through the engine. Returns this table.

        Paths are rewritten so the saved table names the same data: a relative path of a remote
        table becomes the absolute URI; a local file or folder is named relative to `path` when
        `path` is local. colocated=True copies the local data files next to the MLTable file
        (uploads them, for a remote `path`) and names them relatively (./<name>); remote data
        stays where it is. A local path in a table saved to a remote folder without colocated is
        an MLTableError (it would name a file on this machine). overwrite: True / 'overwrite'
        replaces an MLTable file (and colocated files) already there; False / 'fail' refuses with
        MLTableError; 'skip' keeps colocated data files already there (and writes the MLTable file).
        if_err_remove_files: on failure, remove what this call wrote. show_warnings: a UserWarning
        when the saved table names local data outside its folder (not colocated)."""
        return _save(self, path, overwrite, colocated, if_err_remove_files, show_warnings)

    def validate(self):
        """Read the table's first row (Azure's validate): raises what reading it would raise."""
        self.show(1)

    @property
    def schema(self):
        """{column: type name} as `ferry mltable show` prints it."""
        c = _Collector()
        self._rows(c, max_rows=200)  # the types are inferred from the first 200 rows
        return {n: _TYPE_NAMES.get(t, "string") for n, t in zip(c.names or [], c.types or [])}

    def __getstate__(self):  # for spawn workers: the engine's configuration, not its handle
        # (a from_* table's folder stays the parent's: a worker must not remove it when it exits)
        return {"_uri": self._uri, "_steps": self._steps, "_engine": (self._engine.home, self._engine.settings),
                "_keep": None}

    def __setstate__(self, d):
        home, settings = d.pop("_engine")
        self.__dict__.update(d)
        self._engine = Engine(home=home, settings=settings)

    def __repr__(self):
        return "MLTable(%r, steps=%s)" % (_safe_path(self._uri), json.dumps(list(self._steps)))


class FileSet:
    """The files of a table (MLTable.open_files, ferry.torch.FileDataset): the set `ferry mltable
    eval_download` evaluates, read by tree name through one handle (ferry_api_mltable_fileset).
    Safe after fork: a process that did not open the handle opens its own over every file the
    table's paths name, whatever its transformations (a superset of `files`: an unseeded
    take_random_sample evaluated again would pick other files), and reads the names `files`
    gave. Any thread."""

    def __init__(self, table):
        self._table = table
        self._h, self._pid = None, None
        self._lock = threading.Lock()
        self.files = self._open(False)

    def _open(self, all_files=True):
        t = self._table
        arr, n, err = ctypes.POINTER(_Entry)(), ctypes.c_size_t(), _Err()
        h = _L().ferry_api_mltable_fileset(t._engine._handle(), _b(t._uri), _b(t._steps_json()), int(all_files),
                                           ctypes.byref(arr), ctypes.byref(n), ctypes.byref(err))
        if not h:
            t._fail(err)
        try:
            files = [{"name": (arr[k].name or b"").decode("utf-8", "replace"), "size": int(arr[k].size),
                      "mtime": int(arr[k].mtime), "md5": arr[k].md5.decode() or None,
                      "etag": arr[k].etag.decode() or None} for k in range(n.value)]
        finally:
            lib().ferry_api_entries_free(arr, n)
        self._h, self._pid = h, os.getpid()
        return files

    def _handle(self):
        with self._lock:
            if self._h is None or self._pid != os.getpid():
                self._open(True)  # `files` stays the first evaluation's
            return self._h

    def read_into(self, name, buf, offset=0):
        """Bytes of file `name` from `offset` into writable buffer `buf`, one ranged read; returns
        the count (less than len(buf) at the end of the file)."""
        c = (ctypes.c_char * len(buf)).from_buffer(buf) if len(buf) else None
        err = _Err()
        got = _L().ferry_api_fileset_read(self._handle(), _b(name), int(offset), len(buf), c, ctypes.byref(err))
        if got < 0:
            _raise(err, name)
        return got

    def read(self, name, size=None):
        """The bytes of file `name` (size: from the listing when not given)."""
        if size is None:
            size = next((f["size"] for f in self.files if f["name"] == name), None)
            if size is None:
                raise FileNotFoundError(errno.ENOENT, "ferry: '%s' is not a file of this table" % name, name)
        buf = bytearray(size + 1)
        got = self.read_into(name, buf)
        del buf[got:]
        return bytes(buf)

    def close(self):
        with self._lock:
            h, self._h = self._h, None
            if h and self._pid == os.getpid():
                _L().ferry_api_fileset_close(h)

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 — interpreter shutdown
            pass

    def __getstate__(self):  # pickled for spawn workers: the table, not the handle
        return {"_table": self._table, "files": self.files}

    def __setstate__(self, d):
        self.__dict__.update(d)
        self._h, self._pid = None, None
        self._lock = threading.Lock()


def load(uri, storage_options=None, home=None, settings=None):
    """The MLTable at `uri`: a folder holding an MLTable file (any path form ferry knows), that
    file, or a data asset of type mltable (azureml:<name>:<version>). Nothing is read until rows
    or files are asked for. home / settings: as for ferry.Engine. storage_options is accepted for
    Azure's signature; credentials come from the workspace and environment as for the CLI."""
    return MLTable(uri, (), Engine(home=home, settings=settings))


# ---- tables without an MLTable file (Azure's from_* functions) ----

def _path_entry(p):
    """One `paths` entry: {'file'|'folder'|'pattern': value}; a local path made absolute (an
    MLTable written to a temporary folder names local files by absolute path)."""
    if not isinstance(p, dict) or len(p) != 1 or next(iter(p)) not in ("file", "folder", "pattern"):
        raise MLTableError(errno.EINVAL, "paths: expected entries like {'file': ...}, {'folder': ...} or "
                                         "{'pattern': ...}, got %r" % (p,))
    (k, v), = p.items()
    v = os.fspath(v)
    if "://" not in v and not v.startswith("azureml:"):
        v = os.path.abspath(v) + ("/" if k == "folder" and not v.endswith("/") else "")
    return {k: v}


def _from(paths, read=None, home=None, settings=None):
    """A table over `paths` (Azure's list of {'file'|'folder'|'pattern': ...}) read by `read`:
    ferry writes the MLTable file into a temporary folder kept while a table uses it."""
    import tempfile
    if isinstance(paths, (str, os.PathLike)):
        paths = [{"file": paths}]
    doc = {"type": "mltable", "paths": [_path_entry(p) for p in paths]}
    if read is not None:
        _check([read], next(iter(read)))
        doc["transformations"] = [read]
    tmp = tempfile.TemporaryDirectory(prefix="ferry-mltable-")
    with open(os.path.join(tmp.name, "MLTable"), "w") as f:
        json.dump(doc, f, indent=1)  # JSON is YAML
    return MLTable(tmp.name, (), Engine(home=home, settings=settings), tmp)


def from_paths(paths, home=None, settings=None):
    """A file-set table over `paths` (Azure's from_paths): its rows are the files' paths."""
    return _from(paths, None, home, settings)


def from_delimited_files(paths, header="all_files_same_headers", delimiter=",", support_multi_line=False,
                         empty_as_string=False, encoding="utf8", include_path_column=False,
                         infer_column_types=True, home=None, settings=None):
    """A table of the CSV (or other delimited) files `paths` (Azure's from_delimited_files)."""
    return _from(paths, {"read_delimited": {
        "header": header, "delimiter": delimiter, "support_multi_line": bool(support_multi_line),
        "empty_as_string": bool(empty_as_string), "encoding": encoding,
        "include_path_column": bool(include_path_column), "infer_column_types": bool(infer_column_types)}},
        home, settings)


def from_parquet_files(paths, include_path_column=False, home=None, settings=None):
    """A table of the Parquet files `paths` (Azure's from_parquet_files)."""
    return _from(paths, {"read_parquet": {"include_path_column": bool(include_path_column)}}, home, settings)


def from_json_lines_files(paths, invalid_lines="error", encoding="utf8", include_path_column=False,
                          home=None, settings=None):
    """A table of the JSON-lines files `paths` (Azure's from_json_lines_files)."""
    return _from(paths, {"read_json_lines": {"invalid_lines": invalid_lines, "encoding": encoding,
                                             "include_path_column": bool(include_path_column)}}, home, settings)


# ---- save ----

def _is_remote(p):
    return "://" in p or p.startswith("azureml:")


_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$.-]*$")


def _yaml(v, indent=0):
    """v (JSON values) as block YAML text: maps and lists in block form, every string double-quoted
    (JSON's escapes are YAML's), numbers / booleans / null plain — ferry's parser reads them back
    as written (a quoted string is never a number)."""
    pad = " " * indent
    if isinstance(v, dict):
        if not v:
            return "{}"
        out = []
        for k, x in v.items():
            key = k if _PLAIN_KEY.match(k) else json.dumps(k)
            if isinstance(x, (dict, list)) and x:
                out.append("%s%s:\n%s" % (pad, key, _yaml(x, indent + 2)))
            else:
                out.append("%s%s: %s" % (pad, key, _yaml(x, indent + 2)))
        return "\n".join(out)
    if isinstance(v, list):
        if not v:
            return "[]"
        out = []
        for x in v:
            if isinstance(x, dict) and x:
                body = _yaml(x, indent + 2)
                out.append("%s- %s" % (pad, body[indent + 2:]))
            elif isinstance(x, list) and x:
                out.append("%s-\n%s" % (pad, _yaml(x, indent + 2)))
            else:
                out.append("%s- %s" % (pad, _yaml(x, indent + 2)))
        return "\n".join(out)
    return json.dumps(v)


def _local_files(kind, src):
    """[(absolute source file, name below the entry's base)] of a local entry, and the base (the
    file itself, the folder, or a pattern's longest literal folder)."""
    if kind == "file":
        if not os.path.isfile(src):
            raise MLTableError(errno.ENOENT, "save: '%s' is not a file" % src)
        return src, [(src, "")]
    if kind == "folder":
        base, rest = src.rstrip("/") or "/", None
    else:
        parts = src.split("/")
        k = next((i for i, x in enumerate(parts) if any(ch in x for ch in "*?[")), len(parts))
        base, rest = "/".join(parts[:k]) or "/", "/".join(parts[k:])
    if not os.path.isdir(base):
        raise MLTableError(errno.ENOENT, "save: '%s' is not a folder" % base)
    rx = glob_regex(rest) if rest else None
    out = []
    for d, dirs, names in os.walk(base):
        dirs.sort()
        for n in sorted(names):
            full = os.path.join(d, n)
            rel = os.path.relpath(full, base)
            if rx is None or rx.match(rel):
                out.append((full, rel))
    if not out:
        raise MLTableError(errno.ENOENT, "save: %s '%s' names no file" % (kind, src))
    return base, out


def _save(tbl, path, overwrite, colocated, remove_on_err, show_warnings=True):
    import shutil
    import tempfile
    if overwrite is True or overwrite == "overwrite":
        mode = "overwrite"
    elif overwrite is False or overwrite == "fail":
        mode = "fail"
    elif overwrite == "skip":
        mode = "skip"
    else:
        raise MLTableError(errno.EINVAL, "save: overwrite must be True, False, 'overwrite', 'fail' or 'skip', "
                                         "got %r" % (overwrite,))
    if not isinstance(colocated, bool):
        raise MLTableError(errno.EINVAL, "save: colocated must be True or False, got %r" % (colocated,))
    if path is None:
        path = os.getcwd()
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise MLTableError(errno.EINVAL, "save: path must be a folder (a local path or a URI), got %r" % (path,))
    path = os.fspath(path)
    remote = _is_remote(path)
    eng = tbl._engine
    if remote:
        dest = path.rstrip("/")
        try:
            st = eng.stat(dest)
        except FileNotFoundError:
            st = None
        if st is not None and st.get("type") != "directory":
            raise MLTableError(errno.ENOTDIR, "save: '%s' is a file; save takes a folder" % _safe_path(dest))
    else:
        dest = os.path.abspath(path)
        if os.path.exists(dest) and not os.path.isdir(dest):
            raise MLTableError(errno.ENOTDIR, "save: '%s' is a file; save takes a folder" % dest)

    def exists(rel):
        if remote:
            try:
                eng.stat(dest + "/" + rel)
                return True
            except FileNotFoundError:
                return False
        return os.path.lexists(os.path.join(dest, rel))

    if mode == "fail" and exists("MLTable"):
        raise MLTableError(errno.EEXIST, "save: '%s/MLTable' exists and overwrite=False" % _safe_path(dest))

    out = ctypes.c_void_p()
    err = _Err()
    if _L().ferry_api_mltable_doc(tbl._engine._handle(), _b(tbl._uri), ctypes.byref(out), ctypes.byref(err)) < 0:
        _raise(err, tbl._uri)
    try:
        info = json.loads(ctypes.string_at(out.value).decode("utf-8"),  # a seed past int64 comes as text
                          object_hook=lambda o: int(o["$ferry:int"]) if list(o) == ["$ferry:int"] else o)
    finally:
        lib().ferry_api_buf_free(out)
    doc, origin = info["doc"], info["folder"]
    if not isinstance(doc, dict):
        raise MLTableError(errno.EINVAL, "save: the MLTable at '%s' is not a map" % _safe_path(tbl._uri))
    origin_local = None if _is_remote(origin) else os.path.abspath(origin)
    if tbl._keep is not None:  # from_*: local paths were made absolute; the temporary folder is no origin
        origin_local = None

    copies = {}  # name below dest -> absolute source file
    paths = []
    for entry in doc.get("paths") or []:
        (kind, v), = entry.items()
        v = str(v)
        if _is_remote(v):
            paths.append({kind: v})
            continue
        if not v.startswith("/") and origin_local is None and _is_remote(origin):
            # relative to a remote folder: the absolute URI (URIs take no '..': folded here)
            rel = _norm_rel(v)
            base = origin
            while rel.startswith("../"):
                if base.count("/") <= 3:
                    raise MLTableError(errno.EINVAL, "save: path '%s' climbs above '%s'" % (v, _safe_path(origin)))
                base, rel = base.rsplit("/", 1)[0], rel[3:]
            if rel in (".", ".."):
                rel = ""
            joined = base + "/" + rel
            paths.append({kind: joined + ("/" if kind == "folder" and not joined.endswith("/") else "")})
            continue
        src = v if v.startswith("/") else os.path.join(origin_local or os.getcwd(), v)
        src = os.path.normpath(src) + ("/" if (kind == "folder" or v.endswith("/")) and src != "/" else "")
        if colocated:
            base, files = _local_files(kind, src.rstrip("/") if kind != "pattern" else src)
            inside = origin_local and (base + "/").startswith(origin_local.rstrip("/") + "/") and base != origin_local
            top = os.path.relpath(base, origin_local) if inside else os.path.basename(base.rstrip("/")) or "data"
            for full, rel in files:
                name = os.path.join(top, rel) if rel else top
                if copies.get(name, full) != full:
                    raise MLTableError(errno.EEXIST, "save: colocated files '%s' and '%s' would both be saved as "
                                                     "'%s'" % (copies[name], full, name))
                copies[name] = full
            if kind == "file":
                paths.append({kind: "./" + top})
            elif kind == "folder":
                paths.append({kind: "./" + top + "/"})
            else:
                rest = src[len(base):].lstrip("/")
                paths.append({kind: "./" + top + "/" + rest})
            continue
        if remote:
            raise MLTableError(errno.EINVAL, "save: path '%s' is on this machine; a table saved to a remote "
                                             "folder can only name remote data (colocated=True uploads it next "
                                             "to the MLTable file)" % v)
        rel = os.path.relpath(src.rstrip("/") or "/", dest)
        rel = rel if rel.startswith("..") else "./" + rel
        if show_warnings and rel.startswith(".."):
            import warnings
            warnings.warn("MLTable.save: '%s' names local data outside '%s' (%s); moving the folder breaks "
                          "it (colocated=True copies the data next to it)" % (v, dest, rel), stacklevel=3)
        paths.append({kind: rel + ("/" if src.endswith("/") and not rel.endswith("/") else "")})

    new = dict(doc)
    new["paths"] = paths
    steps = list(doc.get("transformations") or []) + [dict(x) for x in tbl._steps]
    if steps:
        new["transformations"] = steps
    new.setdefault("type", "mltable")
    order = ["$schema", "type", "paths", "transformations"]
    new = {k: new[k] for k in sorted(new, key=lambda k: order.index(k) if k in order else len(order))}
    text = "# written by ferry.mltable MLTable.save\n" + _yaml(new) + "\n"
    _check(new.get("transformations") or [], "save")  # what ferry will read back

    written = []
    try:
        if not remote:
            os.makedirs(dest, exist_ok=True)
        for name, full in copies.items():
            if mode != "overwrite" and exists(name):
                if mode == "fail":
                    if os.path.exists(os.path.join(dest, name)) and os.path.samefile(full, os.path.join(dest, name)):
                        continue
                    raise MLTableError(errno.EEXIST, "save: '%s/%s' exists and overwrite=False"
                                       % (_safe_path(dest), name))
                continue
            if remote:
                eng.upload(full, dest + "/" + name)
            else:
                target = os.path.join(dest, name)
                if os.path.exists(target) and os.path.samefile(full, target):
                    continue  # saved into the folder the data is in
                os.makedirs(os.path.dirname(target), exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".ferry-save-", dir=os.path.dirname(target))
                os.close(fd)
                try:
                    shutil.copyfile(full, tmp)
                    os.replace(tmp, target)
                except BaseException:
                    os.unlink(tmp)
                    raise
            written.append(name)
        if remote:
            with tempfile.TemporaryDirectory(prefix="ferry-save-") as d:
                f = os.path.join(d, "MLTable")
                with open(f, "w") as fh:
                    fh.write(text)
                eng.upload(f, dest + "/MLTable")
        else:  # never a partial MLTable file under its name
            fd, tmp = tempfile.mkstemp(prefix=".MLTable-", dir=dest)
            try:
                with os.fdopen(fd, "w") as fh:
                    fh.write(text)
                os.replace(tmp, os.path.join(dest, "MLTable"))
            except BaseException:
                os.unlink(tmp)
                raise
        written.append("MLTable")
    except BaseException:
        if remove_on_err:
            for name in written:
                try:
                    if remote:
                        eng.remove(dest + "/" + name)
                    else:
                        os.unlink(os.path.join(dest, name))
                except OSError:
                    pass
        raise
    return tbl


def _norm_rel(p):
    """A relative path with '.' and '..' folded ('..' kept at the front)."""
    import posixpath
    n = posixpath.normpath(p)
    return n + ("/" if p.endswith("/") and not n.endswith("/") else "")
