from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("amd-aiter")
except PackageNotFoundError:  # running from the source tree
    __version__ = "0.0.0+sandbox.standin"
