"""ferry — Python access to ferry's C data engine (build/libferry.so, through ctypes).

    import ferry, pandas as pd
    df = pd.read_csv("azureml://datastores/workspaceblobstore/paths/iris.csv")
    fs = ferry.filesystem()            # any path form: wasbs://, abfss://, https://, s3://, azureml:a:1
    fs.get("azureml://datastores/x/paths/data/", "data/", recursive=True)

`import ferry` registers the fsspec filesystem for protocol "azureml" when fsspec is installed
and no other implementation holds that name (an existing one is kept; ferry.filesystem()
always gives ferry's). ferry.Engine is the plain binding, usable without fsspec.
"""
from ferry._lib import Engine, File  # noqa: F401

__all__ = ["Engine", "File", "filesystem", "FerryFileSystem"]

try:
    import fsspec as _fsspec
except ImportError:  # the engine works without fsspec; filesystem() says what is missing
    _fsspec = None

if _fsspec is not None:
    from ferry.fsspec import FerryFileSystem, FerryFile  # noqa: F401

    def _other_azureml_installed():
        """fsspec knows an "azureml" class by name (newer fsspec lists Azure's azureml-fsspec)
        and its module is installed: the user has one, which register_implementation's
        clobber=False would not see (it checks only classes already imported)."""
        import importlib.util
        known = getattr(_fsspec.registry, "known_implementations", {}).get("azureml")
        if not known or not isinstance(known.get("class"), str):
            return False
        try:
            return importlib.util.find_spec(known["class"].rsplit(".", 1)[0]) is not None
        except (ImportError, ValueError):
            return False

    if not _other_azureml_installed():
        try:
            _fsspec.register_implementation("azureml", FerryFileSystem, clobber=False)
        except ValueError:
            pass  # the user already has an "azureml" implementation: keep it
else:
    FerryFileSystem = None


def filesystem(home=None, settings=None, **kw):
    """ferry's fsspec filesystem (needs fsspec). home: the workspace folder; settings: a dict
    of ferry settings ({"RSLEX_DOWNLOADER_THREADS": 16})."""
    if FerryFileSystem is None:
        raise ImportError("ferry.filesystem() needs fsspec (Debian: apt-get install python3-fsspec; "
                          "in a virtualenv: pip install fsspec); ferry.Engine works without it")
    return FerryFileSystem(home=home, settings=settings, **kw)


# ferry.mltable (MLTable tables from the C evaluator) and ferry.run (jobs through the ferry program).
from ferry import mltable  # noqa: E402,F401
from ferry.jobs import run, JobError, JobRecord  # noqa: E402,F401

__all__ += ["mltable", "run", "JobError", "JobRecord"]


def __getattr__(name):
    """ferry.torch (FileDataset) is imported on first use: importing torch takes seconds, and
    `import ferry` should not."""
    if name == "torch":
        import importlib
        return importlib.import_module("ferry.torch")
    raise AttributeError("module 'ferry' has no attribute %r" % name)
