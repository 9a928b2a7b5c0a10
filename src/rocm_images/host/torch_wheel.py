"""The sandbox's torch: one CPU wheel of SANDBOX_TORCH_VERSION for the sandbox's Python and this machine's arch.

Taken, in this order, from a wheel directory pip's configuration names (find-links), else from a PEP 503 index
(SANDBOX_TORCH_INDEX, default in versions.env: PyTorch's CPU wheel index), downloaded once into the download
cache under build/. The chosen wheel is the only file of the directory bake hands the sandbox as its
`torch-wheels` context; its sha256 and source go into the images' labels (and so their build-info), and the
sandbox build checks the wheel against that sha256.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .. import REPO_ROOT, UserError
from . import sdist

CONTEXT_DIR = REPO_ROOT / "build" / "torch-wheel"  # the named context: exactly one wheel
RECORD = REPO_ROOT / "build" / "torch-wheel.json"  # which wheel is in it, its sha256 and source
_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"


@dataclass(frozen=True)
class Wheel:
    file: str
    sha256: str
    source: str


def index_url(pin: dict[str, str]) -> str:
    """SANDBOX_TORCH_INDEX from the environment (a mirror), else versions.env's."""
    return (os.environ.get("SANDBOX_TORCH_INDEX") or pin["SANDBOX_TORCH_INDEX"]).rstrip("/")


def fits(name: str, version: str, python: str, machine: str | None = None) -> bool:
    """A torch wheel of that public version (a release matches its +cpu build) for CPython `python` on this arch."""
    try:
        project, ver, _, tags = parse_wheel_filename(name)
    except InvalidWheelFilename:
        return False
    cp, arch = "cp" + python.replace(".", ""), machine or platform.machine()
    return project == "torch" and ver.public == version and any(
        t.interpreter == cp and t.abi == cp and t.platform.endswith("_" + arch)
        and t.platform.startswith(("manylinux", "linux")) for t in tags)


def find_links_dirs() -> list[Path]:
    """The local directories pip's configuration (files and PIP_* environment) names as find-links."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    dirs: list[Path] = []
    for line in out.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.endswith(".find-links"):
            for cand in value.strip("'\" ").split():
                path = Path(cand.removeprefix("file://"))
                if path.is_dir() and path not in dirs:
                    dirs.append(path)
    return dirs


class _Links(HTMLParser):
    """The anchors of a PEP 503 project page: (file name, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_data(self, data: str) -> None:
        if self._href is not None and data.strip():
            self.links.append((data.strip(), self._href))
            self._href = None


def index_files(index: str) -> list[tuple[str, str, str]]:
    """(file name, absolute URL, sha256 or "") of torch's files on a PEP 503 (HTML) or PEP 691 (JSON) index."""
    import requests

    page = f"{index}/torch/"
    resp = requests.get(page, headers={"Accept": _ACCEPT}, timeout=60)
    resp.raise_for_status()
    if "json" in resp.headers.get("Content-Type", ""):
        return [(f["filename"], urljoin(page, f["url"]), f.get("hashes", {}).get("sha256", ""))
                for f in resp.json()["files"]]
    parser = _Links()
    parser.feed(resp.text)
    files = []
    for text, href in parser.links:
        url, _, fragment = urljoin(page, href).partition("#")
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or text
        files.append((name, url, fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else ""))
    return files


def _download(url: str, sha256: str, dest: Path) -> None:
    """Into dest atomically; a checksum mismatch leaves nothing behind."""
    import requests

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with requests.get(url, stream=True, timeout=600) as r:
            r.raise_for_status()
            with part.open("wb") as f:
                shutil.copyfileobj(r.raw, f, 1 << 20)
        if sha256 and sdist.sha256_of(part) != sha256:
            raise UserError(f"{dest.name} from {url}: sha256 differs from what the index publishes; download "
                            "discarded, check the index (SANDBOX_TORCH_INDEX)")
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)


def resolve(pin: dict[str, str]) -> Wheel:
    """The wheel the sandbox installs as its torch, downloading it once if no local directory has it."""
    version, python = pin["SANDBOX_TORCH_VERSION"], pin["SANDBOX_PYTHON_VERSION"]
    what = f"torch=={version} (cp{python.replace('.', '')}, {platform.machine()})"
    dirs = find_links_dirs()
    for d in dirs:
        for f in sorted(d.glob("torch-*.whl")):
            if fits(f.name, version, python):
                return Wheel(str(f), sdist.sha256_of(f), f"pip find-links {d}")
    index = index_url(pin)
    cache = sdist.CACHE_DIR / "torch"
    for f in sorted(cache.glob("torch-*.whl")):
        meta = f.with_name(f.name + ".json")
        if fits(f.name, version, python) and meta.is_file():
            return Wheel(str(f), sdist.sha256_of(f), json.loads(meta.read_text())["source"])
    import requests

    where = f"pip's find-links ({' '.join(map(str, dirs)) or 'none configured'})"
    hint = ("set SANDBOX_TORCH_INDEX=<a PEP 503 index that has it> (e.g. a mirror of PyTorch's CPU index), or "
            "add a directory holding the wheel to pip's find-links")
    try:
        found = [f for f in index_files(index) if fits(f[0], version, python)]
    except (requests.RequestException, ValueError, KeyError) as e:
        raise UserError(f"no {what} wheel: none in {where}, and index {index} failed "
                        f"({type(e).__name__}); {hint}") from None
    if not found:
        raise UserError(f"no {what} wheel: none in {where} or on index {index}; {hint}")
    name, url, sha = found[0]
    dest = cache / name
    try:
        _download(url, sha, dest)
    except requests.RequestException as e:
        raise UserError(f"no {what} wheel: download of {name} from {index} failed ({type(e).__name__}); "
                        f"{hint}") from None
    source = f"index {index}"
    dest.with_name(name + ".json").write_text(json.dumps({"source": source, "url": url}) + "\n")
    return Wheel(str(dest), sdist.sha256_of(dest), source)


def _bake_env(wheel: Wheel | None) -> dict[str, str]:
    return {"TORCH_WHEELS_DIR": os.path.relpath(CONTEXT_DIR, REPO_ROOT),
            "SANDBOX_TORCH_SHA256": wheel.sha256 if wheel else "",
            "SANDBOX_TORCH_SOURCE": wheel.source if wheel else ""}


def prepare(pin: dict[str, str]) -> dict[str, str]:
    """Resolve the wheel, make it the context directory's only file, record it; bake's variables for it."""
    wheel = resolve(pin)
    src = Path(wheel.file)
    CONTEXT_DIR.mkdir(parents=True, exist_ok=True)
    dest = CONTEXT_DIR / src.name
    for f in CONTEXT_DIR.iterdir():
        if f.name != src.name:
            f.unlink()
    linked = dest.is_file() and os.path.samefile(dest, src)  # hard link of the source: no second hash
    if not linked and (not dest.is_file() or sdist.sha256_of(dest) != wheel.sha256):
        part = dest.with_name(dest.name + ".part")
        part.unlink(missing_ok=True)
        try:
            os.link(src, part)  # no copy where the source is on the same file system
        except OSError:
            shutil.copyfile(src, part)
        part.replace(dest)
    RECORD.write_text(json.dumps(asdict(wheel), indent=1) + "\n")
    return _bake_env(wheel)


def named() -> dict[str, str]:
    """bake's variables for the wheel last prepared, without resolving anything (for --print)."""
    return _bake_env(Wheel(**json.loads(RECORD.read_text())) if RECORD.is_file() else None)
