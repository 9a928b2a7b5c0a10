"""Provide a Docker Engine >= 25 and buildx >= 0.13 from Debian packages, start dockerd, wait for it.

Idempotent: when a suitable engine already answers, nothing is touched. The Debian mirror is read from the
machine's own apt sources; the system's apt configuration is never changed (newer suites go through a private
apt state directory).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from .. import UserError

MIN_ENGINE = (25, 0)
MIN_BUILDX = (0, 13)
ENGINE_SUITE = os.environ.get("ENGINE_SUITE", "trixie")
BIN_DIR = Path(os.environ.get("ENGINE_BIN_DIR", "/usr/local/bin"))
PLUGIN_DIR = Path(os.environ.get("BUILDX_PLUGIN_DIR", "/usr/local/lib/docker/cli-plugins"))
WORK = Path(os.environ.get("ENGINE_WORK_DIR", "/var/cache/rocm-images-engine"))
LOG = Path(os.environ.get("DOCKERD_LOG", "/var/log/dockerd.log"))
DAEMON_JSON = Path("/etc/docker/daemon.json")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
HOST_DEPS = ("containerd", "runc", "iptables", "tini", "ca-certificates", "xz-utils", "pigz", "git", "procps",
             "debootstrap")
# containerd image store: needed for cache export and attestations with the docker driver
DAEMON_CONFIG = '{"features": {"containerd-snapshotter": true}}\n'


def _run(*cmd: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check)


def _version(text: str) -> tuple[int, ...]:
    digits = text.strip().lstrip("v").split("+")[0].split("-")[0]
    try:
        return tuple(int(p) for p in digits.split(".")[:3])
    except ValueError:
        return ()


def server_version() -> tuple[int, ...]:
    if not shutil.which("docker"):
        return ()
    try:
        out = _run("docker", "version", "--format", "{{.Server.Version}}", timeout=15, check=False)
    except subprocess.TimeoutExpired:
        return ()
    return _version(out.stdout) if out.returncode == 0 else ()


def buildx_version() -> tuple[int, ...]:
    try:
        out = _run("docker", "buildx", "version", timeout=15, check=False)
    except (subprocess.TimeoutExpired, FileNotFoundError):
        return ()
    parts = out.stdout.split()
    return _version(parts[1]) if out.returncode == 0 and len(parts) > 1 else ()


def status() -> str:
    """One line describing what is wrong, or '' when a suitable engine answers."""
    if not shutil.which("docker"):
        return "docker CLI not found; install the docker.io or docker-ce-cli package, then run `make engine`"
    sv = server_version()
    if not sv and not (shutil.which("dockerd") or (BIN_DIR / "dockerd").is_file()):
        return "Docker engine (dockerd) is not installed; run `make engine` (as root) to install and start it"
    if not sv:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return f"Docker engine is installed but not running (no answer on {where}); run `make engine` to start it"
    if sv < MIN_ENGINE:
        return f"Docker engine {'.'.join(map(str, sv))} < 25 lacks bake named contexts; run `make engine`"
    bv = buildx_version()
    if not bv:
        return "docker buildx plugin is missing; run `make engine` to install it"
    if bv < MIN_BUILDX:
        return f"docker buildx {'.'.join(map(str, bv))} is older than 0.13; run `make engine` to upgrade it"
    return ""


def require() -> None:
    problem = status()
    if problem:
        raise UserError(problem)


def require_image_store(driver_status: str | None = None,
                        why: str = "production builds attach SBOM/provenance attestations, which need") -> None:
    """Preflight for what needs the containerd image store (with the default docker driver): production's
    attestations and CACHE=registry, and zstd layers; a classic-store engine would fail mid-bake or quietly
    recompress instead."""
    if driver_status is None:
        out = subprocess.run(["docker", "info", "--format", "{{json .DriverStatus}}"], capture_output=True, text=True)
        driver_status = out.stdout
    try:
        pairs = dict(json.loads(driver_status or "null") or [])
    except (ValueError, TypeError):
        pairs = {}
    if pairs.get("driver-type") != "io.containerd.snapshotter.v1":
        raise UserError(f"this Docker engine uses the classic image store; {why} the containerd image store: set "
                        '{"features": {"containerd-snapshotter": true}} in /etc/docker/daemon.json and restart '
                        "dockerd (or run `make engine` on a machine it manages)")


def mirror_uri(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror the engine install and the sandbox base use: MIRROR_URI when set (a local mirror), else
    the URI of the first enabled deb source for this machine's suite (deb822 or one-line format)."""
    if os.environ.get("MIRROR_URI"):
        return os.environ["MIRROR_URI"].rstrip("/")
    codename = _os_codename()
    sources = sorted((apt_dir / "sources.list.d").glob("*.sources"))
    for f in sources:
        for stanza in f.read_text().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.lstrip().startswith("#"):
                    k, v = line.split(":", 1)
                    fields[k.strip().lower()] = v.strip()
            if ("deb" in fields.get("types", "").split() and codename in fields.get("suites", "").split()
                    and fields.get("enabled", "yes").lower() != "no"):
                return fields["uris"].split()[0].rstrip("/")
    for f in [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]:
        if not f.is_file():
            continue
        for line in f.read_text().splitlines():
            words = [w for w in line.split() if not w.startswith("[") and not w.endswith("]")]
            if len(words) >= 3 and words[0] == "deb" and words[2] == codename:
                return words[1].rstrip("/")
    raise UserError(f"no enabled apt source for suite {codename} in {apt_dir}; set MIRROR_URI=<a Debian mirror URL> "
                    "and retry")


def _os_id(os_release: Path = Path("/etc/os-release")) -> str:
    for line in os_release.read_text().splitlines():
        if line.startswith("ID="):
            return line.split("=", 1)[1].strip('"')
    return "debian"


def require_debian(os_release: Path = Path("/etc/os-release")) -> None:
    """The engine comes from Debian's packages; on another distribution (an Ubuntu AMD host) say what to do."""
    found = _os_id(os_release)
    if found != "debian":
        raise UserError(f"`make engine` installs Docker from Debian's packages and this host runs {found}; install "
                        f"Docker Engine >= {'.'.join(map(str, MIN_ENGINE))} with buildx >= "
                        f"{'.'.join(map(str, MIN_BUILDX))} from your distribution's or Docker's packages, then rerun")


def _os_codename() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip('"')
    return "bookworm"


def _private_apt(mirror: str) -> list[str]:
    for d in ("lists/partial", "cache/archives/partial", "debs"):
        (WORK / d).mkdir(parents=True, exist_ok=True)
    src = WORK / "sources.list"
    src.write_text(f"deb [signed-by={KEYRING}] {mirror} {ENGINE_SUITE} main\n")
    opts = ["-o", f"Dir::Etc::SourceList={src}", "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={WORK / 'lists'}", "-o", f"Dir::Cache={WORK / 'cache'}",
            "-o", "APT::Sandbox::User=root"]
    _run("apt-get", *opts, "-qq", "update")
    return opts


def _extract(opts: list[str], pkg: str) -> Path:
    debs = WORK / "debs"
    for old in debs.glob(f"{pkg}_*.deb"):
        old.unlink()
    subprocess.run(["apt-get", *opts, "-qq", "download", pkg], cwd=debs, check=True, capture_output=True)
    (deb,) = debs.glob(f"{pkg}_*.deb")
    out = WORK / "extract" / pkg
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    _run("dpkg-deb", "-x", str(deb), str(out))
    return out


def _install_file(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".new")
    shutil.copy2(src, tmp)
    tmp.chmod(0o755)
    tmp.replace(dest)


def install() -> list[str]:
    """Install the missing pieces; return what was done."""
    if os.geteuid() != 0:
        raise UserError("installing the Docker engine needs root; rerun `sudo make engine`")
    done: list[str] = []
    missing = [p for p in HOST_DEPS if _run("dpkg", "-s", p, check=False).returncode != 0]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "-qq", "update"], env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                       env=env, check=True, capture_output=True)
        done.append("apt: " + " ".join(missing))
    need_engine = not (BIN_DIR / "dockerd").exists() or _dockerd_version() < MIN_ENGINE
    need_buildx = buildx_version() < MIN_BUILDX
    if need_engine or need_buildx:
        require_debian()
        opts = _private_apt(mirror_uri())
        if need_engine:
            root = _extract(opts, "docker.io")
            for name in ("dockerd", "docker-proxy"):
                (src,) = [p for p in root.rglob(name) if p.is_file() and p.parent.name.endswith("bin")]
                _install_file(src, BIN_DIR / name)
            _install_file(Path(shutil.which("tini-static") or "/usr/bin/tini-static"), BIN_DIR / "docker-init")
            done.append(f"dockerd from {ENGINE_SUITE}")
        if need_buildx:
            root = _extract(opts, "docker-buildx")
            (src,) = [p for p in root.rglob("docker-buildx") if p.is_file() and p.parent.name == "cli-plugins"]
            _install_file(src, PLUGIN_DIR / "docker-buildx")
            done.append(f"buildx from {ENGINE_SUITE}")
    if not DAEMON_JSON.is_file():
        DAEMON_JSON.parent.mkdir(parents=True, exist_ok=True)
        DAEMON_JSON.write_text(DAEMON_CONFIG)
        done.append(f"wrote {DAEMON_JSON}")
    return done


def _dockerd_version() -> tuple[int, ...]:
    out = _run(str(BIN_DIR / "dockerd"), "--version", check=False)
    words = out.stdout.replace(",", " ").split()
    return _version(words[2]) if len(words) > 2 else ()


def start(wait_s: int = 60) -> bool:
    """Start dockerd unless it answers; return True when it had to be started."""
    if server_version():
        return False
    pidfile = Path("/var/run/docker.pid")
    if pidfile.is_file():
        try:
            os.kill(int(pidfile.read_text()), 0)
        except (ProcessLookupError, ValueError):
            pidfile.unlink()
    if not pidfile.is_file():
        LOG.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PATH=f"{BIN_DIR}:{os.environ['PATH']}")
        with LOG.open("ab") as log:
            subprocess.Popen([str(BIN_DIR / "dockerd")], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                             start_new_session=True, env=env)
    for _ in range(wait_s):
        if server_version():
            return True
        time.sleep(1)
    raise UserError(f"dockerd did not answer within {wait_s}s; see {LOG}")


def ensure() -> list[str]:
    """Make a suitable engine answer. Returns the actions taken ([] when nothing was needed)."""
    if not status():
        return []
    actions = install()
    if start():
        actions.append("started dockerd")
    require()
    return actions
