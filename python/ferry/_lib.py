"""_lib.py — the ctypes binding of ferry's C API (src/api/api.h) in build/libferry.so.

The library is loaded with ctypes.CDLL, so every call releases the GIL while it
runs (downloads, listings and reads of many threads proceed in parallel); PyDLL
would hold it. Errors come back as (code, message) in a ferry_err and become
Python exceptions here: FileNotFoundError, PermissionError, IsADirectoryError,
NotADirectoryError or OSError, each with ferry's (redacted) message.

The library is found at $FERRY_LIB, else next to this package (an installed
copy: ferry/libferry.so), else in the repository's build/ (python/../build).
A context is per process: after a fork (DataLoader workers) the child opens
its own.
"""
import ctypes
import errno
import os
import threading

_API_VERSION = 1

# enum ferry_errcode (src/core/err.h)
E_INVALID, E_NOTFOUND, E_AUTH, E_IO, E_NET, E_UNSAFE, E_INTEGRITY = 1, 2, 3, 4, 5, 6, 7


class _Err(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("msg", ctypes.c_char * 1024)]


class _Entry(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("size", ctypes.c_uint64),
        ("is_dir", ctypes.c_int32),
        ("mtime", ctypes.c_int64),
        ("md5", ctypes.c_char * 25),
        ("etag", ctypes.c_char * 72),
    ]


def _lib_path():
    env = os.environ.get("FERRY_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "libferry.so"),
                 os.path.join(here, "..", "..", "build", "libferry.so")):
        if os.path.exists(cand):
            return os.path.normpath(cand)
    raise ImportError("ferry: libferry.so not found next to the package or in the repository's build/ "
                      "(run `make`, or set FERRY_LIB to its path)")


_lib = None
_lib_lock = threading.Lock()


def lib():
    global _lib
    with _lib_lock:
        if _lib is None:
            L = ctypes.CDLL(_lib_path())  # CDLL: the GIL is released during calls
            P, E = ctypes.c_void_p, ctypes.POINTER(_Err)
            s, u64, i64, i = ctypes.c_char_p, ctypes.c_uint64, ctypes.c_int64, ctypes.c_int
            sigs = {
                "ferry_api_version": (i, []),
                "ferry_api_open": (P, [s, ctypes.POINTER(s), E]),
                "ferry_api_close": (None, [P]),
                "ferry_api_stat": (i, [P, s, ctypes.POINTER(_Entry), E]),
                "ferry_api_entry_clear": (None, [ctypes.POINTER(_Entry)]),
                "ferry_api_list": (i, [P, s, i, ctypes.POINTER(ctypes.POINTER(_Entry)),
                                       ctypes.POINTER(ctypes.c_size_t), E]),
                "ferry_api_entries_free": (None, [ctypes.POINTER(_Entry), ctypes.c_size_t]),
                "ferry_api_file_open": (P, [P, s, ctypes.POINTER(u64), E]),
                "ferry_api_file_open_first": (P, [P, s, u64, ctypes.POINTER(u64), E]),
                "ferry_api_file_read": (i64, [P, u64, u64, P, E]),
                "ferry_api_file_etag": (s, [P]),
                "ferry_api_file_mtime": (i64, [P]),
                "ferry_api_file_close": (None, [P]),
                "ferry_api_cat": (i, [P, s, u64, u64, ctypes.POINTER(P), ctypes.POINTER(u64), E]),
                "ferry_api_buf_free": (None, [P]),
                "ferry_api_download": (i, [P, s, s, ctypes.POINTER(u64), ctypes.POINTER(u64), E]),
                "ferry_api_upload": (i, [P, s, s, ctypes.POINTER(u64), ctypes.POINTER(u64), E]),
                "ferry_api_put_fd": (i, [P, i, u64, s, E]),
                "ferry_api_remove": (i, [P, s, i, E]),
                "ferry_api_mkdir": (i, [P, s, E]),
                "ferry_api_read": (i64, [P, s, u64, u64, P, E]),
                "ferry_api_file_readahead": (i, [P, E]),
                "ferry_api_cat_open": (P, [P, s, u64, u64, ctypes.POINTER(u64), E]),
                "ferry_api_cat_fill": (i, [P, P, ctypes.c_uint, E]),
                "ferry_api_cat_close": (None, [P]),
                "ferry_api_cat_open_many": (ctypes.c_size_t, [P, ctypes.c_size_t, ctypes.POINTER(s),
                                                              ctypes.POINTER(u64), ctypes.POINTER(u64),
                                                              ctypes.c_uint, ctypes.POINTER(P),
                                                              ctypes.POINTER(u64), E]),
                "ferry_api_get_many": (ctypes.c_size_t, [P, ctypes.c_size_t, ctypes.POINTER(s),
                                                         ctypes.POINTER(s), ctypes.c_uint,
                                                         ctypes.POINTER(u64), E]),
            }
            for name, (res, args) in sigs.items():
                fn = getattr(L, name)
                fn.restype, fn.argtypes = res, args
            v = L.ferry_api_version()
            if v != _API_VERSION:
                raise ImportError("ferry: %s has API version %d, this package wants %d (rebuild with `make`)"
                                  % (_lib_path(), v, _API_VERSION))
            _lib = L
    return _lib


def _safe_path(path):
    """A path as an exception may carry it: a query string (a SAS token) hidden, as ferry's own
    messages hide it (OSError's str() prints its filename after the message)."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if isinstance(path, str) and "?" in path:
        return path.split("?", 1)[0] + "?<query hidden>"
    return path


def _exception(err, path=None):
    """The Python exception for ferry_err err about path."""
    msg = err.msg.decode("utf-8", "replace") or "unknown failure"
    path = _safe_path(path)
    code = err.code
    if code == E_NOTFOUND:
        return FileNotFoundError(errno.ENOENT, msg, path)
    if code == E_AUTH:
        return PermissionError(errno.EACCES, msg, path)
    if code == E_INVALID and "is a folder" in msg:
        return IsADirectoryError(errno.EISDIR, msg, path)
    if code == E_INVALID:
        return OSError(errno.EINVAL, msg, path)
    return OSError(errno.EIO, msg, path)


def _raise(err, path=None):
    raise _exception(err, path)


def _b(s):
    return os.fsencode(s) if s is not None else None


def _entry(e):
    return {
        "name": os.fsdecode(e.name or b""),
        "size": int(e.size),
        "type": "directory" if e.is_dir else "file",
        "mtime": int(e.mtime),
        "md5": e.md5.decode() or None,
        "etag": e.etag.decode() or None,
    }


_bytes_fns = None


def _bytes_new(n):
    """A new bytes object of n bytes, not yet filled (PyBytes_FromStringAndSize(NULL, n)):
    the C engine writes into it before anyone else sees it, so a large read is one copy."""
    global _bytes_fns
    if _bytes_fns is None:
        new, data = ctypes.pythonapi.PyBytes_FromStringAndSize, ctypes.pythonapi.PyBytes_AsString
        new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_ssize_t]
        data.restype, data.argtypes = ctypes.c_void_p, [ctypes.py_object]
        _bytes_fns = (new, data)
    return _bytes_fns[0](None, n)


def _bytes_data(b):
    """The address of bytes object b's data (PyBytes_AsString)."""
    return _bytes_fns[1](b)


_trim_fn = None
TRIM_EVERY = 4 << 20  # cat_many: freed C buffers handed back to the system every this many bytes


def _trim():
    """Return the C heap's free pages to the system (glibc's malloc_trim(0); nothing where the
    C library has none). cat_many's small-file buffers are allocated on the engine's threads
    (their own glibc arenas) and freed one by one as their bytes objects are made: glibc keeps
    freed memory in the middle of a heap, so without this the process peaks at the results
    plus every freed buffer (~1.9x the results) whenever an earlier free of a large block
    (any cat_file of a large file) has raised glibc's mmap threshold above the buffers' size."""
    global _trim_fn
    if _trim_fn is None:
        try:
            fn = ctypes.CDLL(None).malloc_trim
            fn.restype, fn.argtypes = ctypes.c_int, [ctypes.c_size_t]
        except (AttributeError, OSError):
            fn = False
        _trim_fn = fn
    if _trim_fn:
        _trim_fn(0)


class File:
    """A file opened for ranged reads (ferry_api_file_*); read(off, n) from any thread.
    first > 0: the open is one ranged GET of the first `first` bytes that also tells the
    size and ETag (ferry_api_file_open_first; reads within them need no request); 0: a stat."""

    def __init__(self, engine, uri, first=0):
        self._L = lib()
        size = ctypes.c_uint64()
        err = _Err()
        if first:
            h = self._L.ferry_api_file_open_first(engine._handle(), _b(uri), first, ctypes.byref(size),
                                                  ctypes.byref(err))
        else:
            h = self._L.ferry_api_file_open(engine._handle(), _b(uri), ctypes.byref(size), ctypes.byref(err))
        if not h:
            _raise(err, uri)
        self._h, self.size, self.uri = h, size.value, uri
        self.etag = self._L.ferry_api_file_etag(h).decode() or None
        self.mtime = int(self._L.ferry_api_file_mtime(h))

    def read(self, off, n):
        if n <= 0 or off >= self.size:
            return b""
        n = min(n, self.size - off)
        buf = ctypes.create_string_buffer(n)
        err = _Err()
        got = self._L.ferry_api_file_read(self._h, off, n, buf, ctypes.byref(err))
        if got < 0:
            _raise(err, self.uri)
        return buf.raw[:got]

    def readahead(self):
        """Serve reads from now on through a block cache of this handle's own that fetches
        ahead of a reader going in order (ferry_api_file_readahead); call before reading."""
        err = _Err()
        if self._L.ferry_api_file_readahead(self._h, ctypes.byref(err)) < 0:
            _raise(err, self.uri)

    def close(self):
        h, self._h = self._h, None
        if h:
            self._L.ferry_api_file_close(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Engine:
    """A ferry context: the workspace (home, default $FERRY_HOME or ~/.ferry) and settings
    ({"RSLEX_DOWNLOADER_THREADS": 8, ...}, over the environment). Every method takes any
    path form ferry knows and may be called from many threads at once."""

    def __init__(self, home=None, settings=None):
        self.home = home
        self.settings = dict(settings or {})
        self._h, self._pid = None, None
        self._lock = threading.Lock()

    def _handle(self):
        with self._lock:
            if self._h is None or self._pid != os.getpid():  # a forked child opens its own
                L = lib()
                kv = [_b("%s=%s" % (k, v)) for k, v in self.settings.items()]
                arr = (ctypes.c_char_p * (len(kv) + 1))(*kv, None)
                err = _Err()
                h = L.ferry_api_open(_b(self.home), arr, ctypes.byref(err))
                if not h:
                    _raise(err)
                self._h, self._pid = h, os.getpid()
            return self._h

    def close(self):
        with self._lock:
            h, self._h = self._h, None
            if h and self._pid == os.getpid():
                lib().ferry_api_close(h)

    def stat(self, uri):
        e, err = _Entry(), _Err()
        if lib().ferry_api_stat(self._handle(), _b(uri), ctypes.byref(e), ctypes.byref(err)) < 0:
            _raise(err, uri)
        try:
            return _entry(e)
        finally:
            lib().ferry_api_entry_clear(ctypes.byref(e))

    def list(self, uri, recursive=False):
        """[{name (relative to uri), size, type, mtime, md5, etag}, ...]"""
        arr, n, err = ctypes.POINTER(_Entry)(), ctypes.c_size_t(), _Err()
        if lib().ferry_api_list(self._handle(), _b(uri), int(bool(recursive)), ctypes.byref(arr),
                                ctypes.byref(n), ctypes.byref(err)) < 0:
            _raise(err, uri)
        try:
            return [_entry(arr[k]) for k in range(n.value)]
        finally:
            lib().ferry_api_entries_free(arr, n)

    def open(self, uri, first=0):
        return File(self, uri, first)

    def cat(self, uri, off=0, n=None, threads=0):
        """Bytes [off, off+n) of file uri (n None: to the end), no stat: one ranged GET of the
        first part (FERRY_TRANSFER_PART_SIZE) that also tells the size, then the other parts
        on `threads` C threads (0: RSLEX_DOWNLOADER_THREADS) with the GIL released, written
        straight into the bytes object returned (ferry_api_cat_open/fill): one copy of the
        data in the process. A whole file with a stored MD5 is checked."""
        if n is not None and n <= 0:
            n = 0
        L, total, err = lib(), ctypes.c_uint64(), _Err()
        h = L.ferry_api_cat_open(self._handle(), _b(uri), off, (1 << 64) - 1 if n is None else n,
                                 ctypes.byref(total), ctypes.byref(err))
        if not h:
            _raise(err, uri)
        try:
            if not total.value:
                return b""
            out = _bytes_new(total.value)
            if L.ferry_api_cat_fill(h, _bytes_data(out), threads, ctypes.byref(err)) < 0:
                _raise(err, uri)
            return out
        finally:
            L.ferry_api_cat_close(h)

    def get_many(self, uris, lpaths, threads=0):
        """Download files uris[i] to local paths lpaths[i] in one call: `threads` files at
        once on C threads (0: RSLEX_DOWNLOADER_THREADS), the GIL released, each through a
        temporary renamed into place when complete (ferry_api_get_many). Returns a list in
        the order of uris: the size downloaded, or the exception that item raised (a folder:
        IsADirectoryError); no item stops the others."""
        n = len(uris)
        if n != len(lpaths):
            raise ValueError("get_many: %d sources, %d targets" % (n, len(lpaths)))
        if n == 0:
            return []
        arr = (ctypes.c_char_p * n)(*[_b(u) for u in uris])
        larr = (ctypes.c_char_p * n)(*[_b(os.fspath(p)) for p in lpaths])
        got, errs = (ctypes.c_uint64 * n)(), (_Err * n)()
        lib().ferry_api_get_many(self._handle(), n, arr, larr, threads, got, errs)
        return [_exception(errs[k], uris[k]) if errs[k].code else int(got[k]) for k in range(n)]

    def cat_many(self, uris, starts=None, lengths=None, threads=0):
        """Many files (or ranges) in one call: the reads run on `threads` C threads (0: the
        RSLEX_DOWNLOADER_THREADS setting) with the GIL released, no stat: each item opens with
        one ranged GET (a small file: its only request; ferry_api_cat_open_many), then each
        item is filled into the bytes object returned and its handle closed in turn (a large
        file's other parts fetched in parallel straight into it: one copy of the data).
        starts/lengths: None (whole files) or one int per uri (length None: to the end).
        Returns a list in the order of uris: bytes, or the exception that item's read would
        have raised (no item stops the others)."""
        n = len(uris)
        if n == 0:
            return []
        u64n = ctypes.c_uint64 * n
        arr = (ctypes.c_char_p * n)(*[_b(u) for u in uris])
        offs = u64n(*starts) if starts is not None else None
        lens = u64n(*[(1 << 64) - 1 if x is None else max(0, x) for x in lengths]) if lengths is not None else None
        cats, ns, errs = (ctypes.c_void_p * n)(), u64n(), (_Err * n)()
        L = lib()
        L.ferry_api_cat_open_many(self._handle(), n, arr, offs, lens, threads, cats, ns, errs)
        res, freed = [], 0
        try:
            for k in range(n):  # each item filled and closed in turn: one item held twice at most
                if not cats[k]:
                    res.append(_exception(errs[k], uris[k]))
                    continue
                out = _bytes_new(ns[k]) if ns[k] else b""
                if ns[k] and L.ferry_api_cat_fill(cats[k], _bytes_data(out), threads, ctypes.byref(errs[k])) < 0:
                    out = _exception(errs[k], uris[k])
                L.ferry_api_cat_close(cats[k])
                cats[k] = None
                res.append(out)
                freed += ns[k]
                if freed >= TRIM_EVERY:  # freed buffers back to the system as the results grow
                    _trim()
                    freed = 0
        finally:
            for k in range(n):
                if cats[k]:
                    L.ferry_api_cat_close(cats[k])
        if freed:
            _trim()
        return res

    def download(self, uri, dest):
        """Download a file or folder (recursively) into local folder dest; returns (bytes, files)."""
        b, f, err = ctypes.c_uint64(), ctypes.c_uint64(), _Err()
        if lib().ferry_api_download(self._handle(), _b(uri), _b(os.fspath(dest)), ctypes.byref(b),
                                    ctypes.byref(f), ctypes.byref(err)) < 0:
            _raise(err, uri)
        return b.value, f.value

    def upload(self, src, uri):
        """Upload a local file or folder; returns (bytes, files)."""
        b, f, err = ctypes.c_uint64(), ctypes.c_uint64(), _Err()
        if lib().ferry_api_upload(self._handle(), _b(os.fspath(src)), _b(uri), ctypes.byref(b),
                                  ctypes.byref(f), ctypes.byref(err)) < 0:
            _raise(err, src)
        return b.value, f.value

    def put_fd(self, fd, size, uri):
        err = _Err()
        if lib().ferry_api_put_fd(self._handle(), fd, size, _b(uri), ctypes.byref(err)) < 0:
            _raise(err, uri)

    def remove(self, uri, recursive=False):
        err = _Err()
        if lib().ferry_api_remove(self._handle(), _b(uri), int(bool(recursive)), ctypes.byref(err)) < 0:
            _raise(err, uri)

    def mkdir(self, uri):
        err = _Err()
        if lib().ferry_api_mkdir(self._handle(), _b(uri), ctypes.byref(err)) < 0:
            _raise(err, uri)

    def read_into(self, uri, buf, off=0):
        """Read bytes [off, off+len(buf)) of file uri into writable buffer buf (a bytearray,
        memoryview, ...) in one ranged read, no stat and no copy; returns the count read (less
        than len(buf) only at the end of the file)."""
        n = len(buf)
        if n == 0:
            return 0
        err = _Err()
        got = lib().ferry_api_read(self._handle(), _b(uri), off, n,
                                   (ctypes.c_char * n).from_buffer(buf), ctypes.byref(err))
        if got < 0:
            _raise(err, uri)
        return got

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
