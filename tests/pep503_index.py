"""A PEP 503 simple index on loopback, serving the files a test gives it (one project page each), recording
which paths were requested."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

from rocm_images.host import sdist


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        self.server.requested.append(self.path)  # type: ignore[attr-defined]


@contextmanager
def serve(root: Path, project: str, files: list[Path], sha256: dict[str, str] | None = None) -> Iterator[
        tuple[str, list[str]]]:
    """(index URL, requested paths) of an index whose `project` page links each file by its sha256 (or the
    sha256 a test gives for a file name, to serve a wrong one)."""
    page = root / "simple" / project
    page.mkdir(parents=True)
    links = []
    for f in files:
        (page / f.name).symlink_to(f)
        digest = (sha256 or {}).get(f.name) or sdist.sha256_of(f)
        links.append(f'<a href="{quote(f.name)}#sha256={digest}">{f.name}</a><br/>')
    (page / "index.html").write_text("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    server.requested = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/simple", server.requested  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def hidden_local_sources(environ: dict[str, str], cache: Path, index: str) -> dict[str, str]:
    """The environment of a machine whose pip names no wheel directory (a newcomer's): pip's configuration
    files and PIP_FIND_LINKS hidden, an empty download cache, the torch index given."""
    env = {k: v for k, v in environ.items() if k != "PIP_FIND_LINKS"}
    return {**env, "PIP_CONFIG_FILE": "/dev/null", "ROCM_IMAGES_CACHE": str(cache), "SANDBOX_TORCH_INDEX": index}
