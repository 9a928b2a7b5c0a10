"""What every RUN of a Dockerfile installs, per stage: apt packages, pip packages, pip requirement files, git
repositories cloned and the refs checked out. Dockerfiles are read with dockerfile-parse and shell with shlex (a
real shell lexer: quotes, escapes and operators), never with regular expressions over whole files.

A script a RUN calls that the Dockerfile COPYs from this repository is read too, with its arguments bound to
"$1".. and "$@", so wrappers such as images/rocm_base/host-ca count as what they run. Branches are not evaluated:
every command of every branch counts, in our files and in upstream's alike.
"""

from __future__ import annotations

import functools
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from dockerfile_parse import DockerfileParser

KINDS = ("apt", "pip", "requirements", "clone", "checkout")
# words that end one simple command and start the next
_SEPARATORS = {"&&", "||", ";", ";;", "|", "&", "\n", "(", ")", "{", "}", "then", "do", "else", "elif", "if", "fi",
               "done", "while", "until", "!", "esac"}
_OPERATOR_CHARS = set(";&|()\n")
_PREFIXES = {"exec", "env", "sudo", "command", "nohup", "time"}
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*|[0-9@])(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*|[0-9@]))")
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# pip install / apt-get install / git clone options that take a value as the next word
_PIP_VALUE_OPTS = {"-r", "--requirement", "-e", "--editable", "-c", "--constraint", "-i", "--index-url",
                   "--extra-index-url", "-f", "--find-links", "-t",
                   "--target", "--prefix", "--root", "--cache-dir", "--python-version", "--platform", "--src",
                   "--upgrade-strategy", "--progress-bar", "--timeout", "--retries", "--cert", "--python"}
_APT_VALUE_OPTS = {"-o", "-t", "--target-release", "-c", "--config-file"}
_GIT_VALUE_OPTS = {"-b", "--branch", "--depth", "-o", "--origin", "--reference", "-c", "--config", "-j",
                   "--jobs", "--template", "--separate-git-dir"}


@dataclass
class Installs:
    """What one stage's RUNs install, by kind."""
    items: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})

    def add(self, kind: str, item: str) -> None:
        self.items[kind].add(item)

    def merge(self, other: Installs) -> None:
        for kind in KINDS:
            self.items[kind] |= other.items[kind]


def expand(word: str, env: dict[str, str], args: list[str]) -> str:
    def one(m: re.Match) -> str:
        name, default = m.group(1) or m.group(3), m.group(2)
        if name == "@":
            return " ".join(args)
        if name.isdigit():
            i = int(name)
            return args[i - 1] if 0 < i <= len(args) else (default or "")
        value = env.get(name)
        return value if value not in (None, "") else (default if default is not None else m.group(0))

    return _VAR.sub(one, word)


def _words(script: str) -> list[str]:
    """Shell words; a newline is an operator (it ends a command), an escaped one is a space."""
    lexer = shlex.shlex(script.replace("\\\n", " "), posix=True, punctuation_chars=";&|()\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _commands(script: str) -> list[list[str]]:
    """The simple commands of a shell text (unexpanded words)."""
    out, current = [], []
    for w in _words(script):
        if w in _SEPARATORS or set(w) <= _OPERATOR_CHARS:  # shlex joins adjacent operators: "\n\n", "()"
            if current:
                out.append(current)
            current = []
        else:
            current.append(w)
    if current:
        out.append(current)
    return out


def _positional(words: list[str], value_opts: set[str]) -> list[str]:
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
        elif w in value_opts:
            skip = True
        elif not w.startswith("-"):
            out.append(w)
    return out


def _pip(words: list[str], found: Installs) -> None:
    """words after `pip`: only `install` counts; wheel files and local paths are the build's own outputs."""
    if not words or words[0] != "install":
        return
    rest, i = words[1:], 0
    while i < len(rest):
        w = rest[i]
        if w in ("-r", "--requirement") and i + 1 < len(rest):
            found.add("requirements", normalize_requirements(rest[i + 1]))
        if w in _PIP_VALUE_OPTS:
            i += 2
            continue
        if not w.startswith("-") and not w.endswith(".whl") and "/" not in w and w != ".":
            found.add("pip", w)
        i += 1


def normalize_requirements(path: str) -> str:
    """A requirement file by what it is, not where it was mounted: from its requirements/ directory on, else its
    bare name (requirements/rocm.txt, requirements/test/rocm.txt, requirements.txt)."""
    parts = Path(path).parts
    return "/".join(parts[parts.index("requirements"):]) if "requirements" in parts[:-1] else parts[-1]


def _command(words: list[str], env: dict[str, str], args: list[str], scripts: dict[str, Path],
             found: Installs) -> None:
    words = [x for w in words for x in (args if w in ("$@", "${@}") else [expand(w, env, args)])]
    if words and all(_ASSIGN.match(w) for w in words):  # bare assignments set variables
        env.update(w.partition("=")[::2] for w in words)
        return
    while words and (words[0] in _PREFIXES or _ASSIGN.match(words[0])):
        words = words[1:]
    if not words:
        return
    cmd, rest = Path(words[0]).name, words[1:]
    if cmd in ("bash", "sh") and rest and rest[0].startswith("-") and "c" in rest[0] and len(rest) > 1:
        for sub in _commands(rest[1]):
            _command(sub, env, args, scripts, found)
    elif cmd in scripts:  # one of our scripts: read it with its arguments
        read_shell(scripts[cmd].read_text(), dict(env), rest, scripts, found)
    elif cmd in ("apt-get", "apt") and "install" in rest:
        found.items["apt"] |= set(_positional(rest[rest.index("install") + 1:], _APT_VALUE_OPTS))
    elif re.fullmatch(r"pip3?(\.\d+)?", cmd):
        _pip(rest, found)
    elif re.fullmatch(r"python3?(\.\d+)?", cmd) and rest[:2] == ["-m", "pip"]:
        _pip(rest[2:], found)
    elif cmd == "uv" and rest[:1] == ["pip"]:
        _pip([w for w in rest[1:] if w != "--system"], found)
    elif cmd == "git":
        while rest and rest[0] in ("-C", "-c"):
            rest = rest[2:]
        if rest[:1] == ["clone"]:
            pos = _positional(rest[1:], _GIT_VALUE_OPTS)
            if pos:
                found.add("clone", pos[0])
        elif rest[:1] == ["checkout"]:
            pos = _positional(rest[1:], set())
            if pos and pos[0] not in (".", "FETCH_HEAD"):
                found.add("checkout", pos[0])


def read_shell(text: str, env: dict[str, str], args: list[str], scripts: dict[str, Path], found: Installs) -> None:
    for words in _commands(text):
        _command(words, env, args, scripts, found)


def _copied_scripts(dockerfile: Path, repo: Path | None) -> dict[str, Path]:
    """Files of this repository that our Dockerfiles COPY into an image, by the name a RUN calls them (any of the
    Dockerfiles beside this one: an image carries what the layers below it copied)."""
    scripts: dict[str, Path] = {}
    if repo is None:
        return scripts
    for other in sorted(dockerfile.parent.glob("Dockerfile*")):
        for ins in (i for i in structure(other) if i["instruction"] == "COPY"):
            words = shlex.split(ins["value"])
            for src in (w for w in words[:-1] if not w.startswith("--")):
                path = repo / src
                if path.is_file():
                    scripts[path.name] = path
    return scripts


@functools.cache
def _parsed(dockerfile: Path, mtime_ns: int) -> list[dict]:
    with dockerfile.open("rb") as f:
        return DockerfileParser(fileobj=f).structure


def structure(dockerfile: Path) -> list[dict]:
    """dockerfile-parse's instructions of a file, parsed once while it is unchanged."""
    return _parsed(dockerfile, dockerfile.stat().st_mtime_ns)


def stage_installs(dockerfile: Path, variables: dict[str, str], repo: Path | None = None) -> dict[str, Installs]:
    """stage name -> what its RUNs (ONBUILD RUNs too) install. ARG defaults, ENV and `variables` expand words."""
    scripts = _copied_scripts(dockerfile, repo)
    env = dict(variables)
    out: dict[str, Installs] = {}
    stage_env: dict[str, str] = {}
    current: str | None = None
    for ins in structure(dockerfile):
        kind, value = ins["instruction"], ins["value"]
        if kind == "ONBUILD" and value.split(None, 1)[0].upper() == "RUN":
            kind, value = "RUN", value.split(None, 1)[1]
        if kind == "FROM":
            words = value.split()
            current = words[-1] if len(words) >= 3 else words[0]
            out[current] = Installs()
            stage_env = dict(env)
        elif kind in ("ARG", "ENV"):
            for word in shlex.split(value, comments=True):
                if "=" in word:
                    name, _, default = word.partition("=")
                    target = stage_env if current else env
                    if not (kind == "ARG" and target.get(name)):  # a given value beats an ARG default
                        target[name] = expand(default, target, [])
        elif kind == "RUN" and current:
            script = re.sub(r"^(--\S+\s+)+", "", value)  # RUN --mount=... flags
            read_shell(script, stage_env, [], scripts, out[current])
    return out


def parents(dockerfile: Path) -> dict[str, str]:
    """stage -> the stage or image it is FROM."""
    out: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for ins in structure(dockerfile):
        if ins["instruction"] == "ARG" and not out:  # global ARGs: a FROM may name a stage through one
            for word in shlex.split(ins["value"], comments=True):
                name, _, default = word.partition("=")
                defaults[name] = default
        elif ins["instruction"] == "FROM":
            words = ins["value"].split()
            out[words[-1] if len(words) >= 3 else words[0]] = expand(words[0], defaults, [])
    return out


def chain_installs(dockerfile: Path, stage: str, variables: dict[str, str], repo: Path | None = None) -> Installs:
    """What a stage and the stages it is FROM (in the same file) install."""
    per_stage, up = stage_installs(dockerfile, variables, repo), parents(dockerfile)
    found, seen = Installs(), set()
    while stage in per_stage and stage not in seen:
        seen.add(stage)
        found.merge(per_stage[stage])
        stage = up.get(stage, "")
    return found
