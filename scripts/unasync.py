"""Generate the sync twins of the async sources (the httpcore/psycopg approach).

Every ``<dir>/_async/<name>.py`` under ``src/sessionware`` and ``tests`` is a source;
its twin ``<dir>/_sync/<name>.py`` is generated, ``__init__.py`` included, and a
``_sync/`` folder holds nothing else. Per-flavour code that cannot be generated lives
outside these folders, both flavours side by side (``sessionware/_synchronization.py``,
``tests/flavours.py``): sources import its ``Async`` names and the renaming below
points their twins at the sync ones.

The rewrite works on tokens (``tokenize``). Rules match NAME/OP token sequences, so
comments and prose are never edited. Two rules say which strings they edit: the
names listed in ``__all__``, and the double-backtick inline literals of a string,
which are code (``AsyncFoo.open()`` in a docstring reads ``Foo.open()`` in the
twin; no rule renames the folders, so ``_async`` and ``_sync`` stay). Prose about
the flavours is the same in both files, under a header saying the twin is generated.
A line ending in the comment ``# unasync: remove`` is dropped.

The run fails (exit status 1, one line per problem) when a rule matched nothing in
any source, when a generated file would still hold an ``async``, ``await`` or
``asyncio`` name or would not compile, when a ``_sync/`` folder holds a ``.py`` file
that no source generates, and, with ``--check``, when a generated file is missing,
stale or hand-edited.
"""

from __future__ import annotations

import argparse
import difflib
import io
import re
import sys
import tokenize
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
ROOTS = (BASE / "src" / "sessionware", BASE / "tests")
REMOVE_MARK = "# unasync: remove"
#: Names that must not survive in generated code.
FORBIDDEN = frozenset({"async", "await", "asyncio"})


# -- tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # "NAME", "OP", "STRING", "COMMENT", "NEWLINE" or "OTHER"
    text: str
    start: int  # offsets into the text the token came from
    end: int


KINDS = {
    tokenize.NAME: "NAME",
    tokenize.OP: "OP",
    tokenize.STRING: "STRING",
    tokenize.COMMENT: "COMMENT",
    tokenize.NEWLINE: "NEWLINE",
}
FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
FSTRING_END = getattr(tokenize, "FSTRING_END", None)


def python_tokens(text: str) -> list[Token]:
    """The tokens of a module, positioned by offset. An f-string is one STRING token
    on every Python version (3.12 splits it), so output does not depend on it."""
    line_starts = [0]
    for line in text.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))

    def offset(position: tuple[int, int]) -> int:
        return line_starts[position[0] - 1] + position[1]

    tokens: list[Token] = []
    depth, fstring_start = 0, 0
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == FSTRING_START:
            if depth == 0:
                fstring_start = offset(tok.start)
            depth += 1
        elif tok.type == FSTRING_END:
            depth -= 1
            if depth == 0:
                end = offset(tok.end)
                tokens.append(Token("STRING", text[fstring_start:end], fstring_start, end))
        elif depth == 0 and tok.type not in (tokenize.ENCODING, tokenize.ENDMARKER):
            kind = KINDS.get(tok.type, "OTHER")
            tokens.append(Token(kind, tok.string, offset(tok.start), offset(tok.end)))
    return tokens


CODE_TOKEN = re.compile(r"""(?P<NAME>[A-Za-z_]\w*)|(?P<STRING>"[^"]*"|'[^']*')|(?P<OP>\S)""")


def literal_tokens(text: str) -> list[Token]:
    """The tokens of the code in an inline literal (a fragment: no tokenizer)."""
    return [
        Token(match.lastgroup or "OP", match.group(), match.start(), match.end())
        for match in CODE_TOKEN.finditer(text)
    ]


# -- rules -------------------------------------------------------------------------


class Rule:
    """One rewrite; ``describe`` names it in the unused-rule message."""

    describe = ""


@dataclass(eq=False)
class Rename(Rule):
    """A NAME token matching ``pattern`` (whole name) becomes ``replacement``."""

    pattern: str
    replacement: str

    def __post_init__(self) -> None:
        self._regex = re.compile(self.pattern)
        self.describe = f"name {self.pattern} -> {self.replacement}"

    def apply(self, name: str) -> str | None:
        match = self._regex.fullmatch(name)
        return match.expand(self.replacement) if match else None


@dataclass(eq=False)
class Replace(Rule):
    """Consecutive tokens matching ``pattern`` (space-separated token texts;
    ``{x}`` captures one name, ``{x:dotted}`` a dotted name) become ``replacement``
    (a template of the same captures). ``eat_space``: the blanks after the match go
    too. A match never starts in the middle of a dotted name."""

    pattern: str
    replacement: str
    eat_space: bool = False
    parts: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.parts = self.pattern.split()
        self.describe = f"tokens {self.pattern!r} -> {self.replacement!r}"

    def match(self, tokens: Sequence[Token], i: int) -> tuple[int, dict[str, list[Token]]] | None:
        if self.parts[0].startswith("{") and i > 0 and tokens[i - 1].text == ".":
            return None
        captures: dict[str, list[Token]] = {}
        for part in self.parts:
            if i >= len(tokens):
                return None
            if part.startswith("{"):
                name, _, form = part[1:-1].partition(":")
                if tokens[i].kind != "NAME":
                    return None
                taken = [tokens[i]]
                i += 1
                while form == "dotted" and i + 1 < len(tokens) and tokens[i].text == ".":
                    if tokens[i + 1].kind != "NAME":
                        break
                    taken += tokens[i : i + 2]
                    i += 2
                captures[name] = taken
            elif tokens[i].text == part and tokens[i].kind in ("NAME", "OP"):
                i += 1
            else:
                return None
        return i, captures


class AllNames(Rule):
    """The strings of an ``__all__ = [...]`` assignment are names: renamed as names."""

    describe = "strings of __all__ renamed as names"


class InlineLiterals(Rule):
    """````code```` in a string (a docstring's inline literal) is code: rewritten by
    the rules above. The prose around it is not touched."""

    describe = "``inline literals`` in strings rewritten as code"


RULES: list[Rule] = [
    Replace("async def", "def"),
    Replace("async with", "with"),
    Replace("async for", "for"),
    Replace("await", "", eat_space=True),
    Replace("IS_ASYNC = True", "IS_ASYNC = False"),
    Replace("import asyncio", "import time"),
    Replace("asyncio . sleep", "time.sleep"),
    # redis-py: redis.asyncio(.cluster/.sentinel/.retry) -> redis(.cluster/...)
    Replace("redis . asyncio", "redis"),
    # SQLAlchemy: the asyncio extension's names are exported by the top-level
    # package; ``conn.run_sync(f, x)`` becomes ``f(conn, x)``.
    Replace("from sqlalchemy . ext . asyncio import", "from sqlalchemy import"),
    Replace("{conn} . run_sync ( {func:dotted} ,", "{func}({conn},"),
    Rename("__aenter__", "__enter__"),
    Rename("__aexit__", "__exit__"),
    Rename("aclose", "close"),
    Rename("create_async_engine", "create_engine"),
    Rename("open_async_store", "open_store"),
    Rename(r"Async([A-Z]\w*)", r"\1"),
    Rename(r"async_(\w+)", r"\1"),
    AllNames(),
    InlineLiterals(),
]

INLINE_LITERAL = re.compile(r"``([^`\n]+)``")
IDENTIFIER_STRING = re.compile(r"""(?P<quote>["'])(?P<name>[A-Za-z_]\w*)(?P=quote)""")


class Rewriter:
    """Applies ``rules`` and counts, per rule, how often it matched."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = rules
        self.sequences = [rule for rule in rules if isinstance(rule, Replace)]
        self.renames = [rule for rule in rules if isinstance(rule, Rename)]
        self.all_names = next((rule for rule in rules if isinstance(rule, AllNames)), None)
        self.literals = next((rule for rule in rules if isinstance(rule, InlineLiterals)), None)
        self.hits: Counter[Rule] = Counter()

    def rename(self, name: str) -> str:
        for rule in self.renames:
            renamed = rule.apply(name)
            if renamed is not None:
                self.hits[rule] += 1
                return renamed
        return name

    def rewrite(self, text: str, tokens: Sequence[Token]) -> str:
        out: list[str] = []
        position = 0
        in_all = False
        i = 0
        while i < len(tokens):
            token = tokens[i]
            replaced = self._sequence(text, tokens, i)
            if replaced is not None:
                end, new_text, eat_space = replaced
                out.append(text[position : token.start] + new_text)
                position = tokens[end - 1].end
                if eat_space:
                    while position < len(text) and text[position] in " \t":
                        position += 1
                i = end
                continue
            new = token.text
            if token.kind == "NAME":
                new = self.rename(token.text)
                nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
                in_all = in_all or (token.text == "__all__" and nxt in ("=", "+=", ":"))
            elif token.kind == "NEWLINE":
                in_all = False
            elif token.kind == "STRING":
                new = self._string(token.text, in_all)
            out.append(text[position : token.start] + new)
            position = token.end
            i += 1
        out.append(text[position:])
        return "".join(out)

    def _sequence(self, text: str, tokens: Sequence[Token], i: int) -> tuple[int, str, bool] | None:
        for rule in self.sequences:
            found = rule.match(tokens, i)
            if found is None:
                continue
            end, captures = found
            self.hits[rule] += 1
            values = {name: self._render(text, taken) for name, taken in captures.items()}
            return end, rule.replacement.format(**values), rule.eat_space
        return None

    def _render(self, text: str, taken: Sequence[Token]) -> str:
        """Captured tokens as written, their names renamed."""
        parts = []
        for i, token in enumerate(taken):
            if i:
                parts.append(text[taken[i - 1].end : token.start])
            parts.append(self.rename(token.text) if token.kind == "NAME" else token.text)
        return "".join(parts)

    def _string(self, literal: str, in_all: bool) -> str:
        if in_all and self.all_names is not None:
            match = IDENTIFIER_STRING.fullmatch(literal)
            if match:
                renamed = self.rename(match["name"])
                if renamed != match["name"]:
                    self.hits[self.all_names] += 1
                    return f"{match['quote']}{renamed}{match['quote']}"
        if self.literals is None or "``" not in literal:
            return literal

        def code(match: re.Match[str]) -> str:
            inner = match.group(1)
            rewritten = self.rewrite(inner, literal_tokens(inner))
            if rewritten != inner:
                assert self.literals is not None
                self.hits[self.literals] += 1
            return f"``{rewritten}``"

        return INLINE_LITERAL.sub(code, literal)


# -- files -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    source: Path
    target: Path


def discover(roots: Iterable[Path]) -> list[Pair]:
    """Every ``<dir>/_async/<name>.py`` is the source of ``<dir>/_sync/<name>.py``:
    a new backend or test module is generated by putting it in an ``_async/`` folder."""
    return [
        Pair(source, source.parent.parent / "_sync" / source.name)
        for root in roots
        for source in sorted(root.rglob("_async/*.py"))
    ]


def orphans(roots: Iterable[Path], pairs: Iterable[Pair]) -> list[Path]:
    """``.py`` files in ``_sync/`` folders that no source generates."""
    targets = {pair.target for pair in pairs}
    return [
        path
        for root in roots
        for folder in sorted(root.rglob("_sync"))
        if folder.is_dir()
        for path in sorted(folder.glob("*.py"))
        if path not in targets
    ]


def without_removed_lines(text: str) -> str:
    marked = {
        text.count("\n", 0, token.start)
        for token in python_tokens(text)
        if token.kind == "COMMENT" and token.text.rstrip() == REMOVE_MARK
    }
    lines = text.splitlines(keepends=True)
    blank = [not line.strip() for line in lines]
    # A removed block that stood between blank lines takes one of them along, so
    # the twin keeps the source's spacing (two blank lines stay two).
    for number in sorted(marked):
        if number - 1 in marked:
            continue
        end = number
        while end + 1 in marked:
            end += 1
        if number > 0 and blank[number - 1] and (end + 1 >= len(lines) or blank[end + 1]):
            marked.add(number - 1)
    kept = "".join(line for number, line in enumerate(lines) if number not in marked)
    if lines and len(lines) - 1 in marked and kept.strip():
        kept = kept.rstrip() + "\n"  # the removed end of a file leaves no blank lines
    return kept


def header(source: Path, base: Path) -> str:
    relative = source.relative_to(base).as_posix()
    return f"# Generated from {relative} by scripts/unasync.py. Do not edit.\n"


def generate(source: Path, base: Path, rewriter: Rewriter) -> str:
    text = without_removed_lines(source.read_text())
    return header(source, base) + rewriter.rewrite(text, python_tokens(text))


def leftovers(output: str) -> Iterator[str]:
    """Why ``output`` is not finished sync code: forbidden names, syntax errors."""
    try:
        tokens = python_tokens(output)
    except (tokenize.TokenError, SyntaxError) as exc:
        yield f"does not tokenize: {exc}"
        return
    survivors = [token for token in tokens if token.kind == "NAME" and token.text in FORBIDDEN]
    for token in survivors:
        line = output.count("\n", 0, token.start) + 1
        yield f"line {line}: {token.text!r} survives (no rule rewrites it)"
    if not survivors:
        try:
            compile(output, "<generated>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            yield f"does not compile: {exc.msg} (line {exc.lineno})"


def short_diff(expected: str, actual: str, name: str) -> str:
    lines = list(
        difflib.unified_diff(
            actual.splitlines(),
            expected.splitlines(),
            f"{name} (on disk)",
            "generated",
            n=0,
            lineterm="",
        )
    )
    shown = "\n      ".join(lines[:12])
    more = f"\n      ... {len(lines) - 12} more diff lines" if len(lines) > 12 else ""
    return f"\n      {shown}{more}" if shown else ""


def run(
    roots: Sequence[Path] = ROOTS,
    *,
    base: Path = BASE,
    rules: Sequence[Rule] = RULES,
    check: bool = False,
    out: io.TextIOBase | None = None,
) -> list[str]:
    """Generate (or with ``check`` verify) every twin under ``roots``; the problems
    found, one line each (an empty list means success)."""
    write = (out or sys.stdout).write
    rewriter = Rewriter(rules)
    problems: list[str] = []
    pairs = discover(roots)
    for pair in pairs:
        name = pair.target.relative_to(base).as_posix()
        expected = generate(pair.source, base, rewriter)
        bad = list(leftovers(expected))
        if bad:
            problems += [f"{name}: {problem}" for problem in bad]
            continue
        actual = pair.target.read_text() if pair.target.exists() else None
        if actual == expected:
            continue
        if check:
            if actual is None:
                problems.append(f"{name}: missing (run python scripts/unasync.py)")
            else:
                problems.append(
                    f"{name}: stale or hand-edited: differs from what "
                    f"{pair.source.relative_to(base).as_posix()} generates "
                    f"(edit the source and run python scripts/unasync.py)"
                    + short_diff(expected, actual, name)
                )
        else:
            pair.target.parent.mkdir(parents=True, exist_ok=True)
            pair.target.write_text(expected)
            write(f"wrote {name}\n")
    for path in orphans(roots, pairs):
        problems.append(
            f"{path.relative_to(base).as_posix()}: in a _sync/ folder but generated by no "
            "_async/ source (move hand-written code out of _sync/, or delete the file)"
        )
    if pairs:
        problems += [
            f"rule matched nothing in any source (remove it): {rule.describe}"
            for rule in rules
            if not rewriter.hits[rule]
        ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; fail if any output is stale"
    )
    parser.add_argument(
        "--root",
        action="append",
        type=Path,
        help="a tree to search for _async/ folders (default: src/sessionware and tests)",
    )
    args = parser.parse_args(argv)
    roots = [path.resolve() for path in args.root] if args.root else list(ROOTS)
    base = BASE if all(root.is_relative_to(BASE) for root in roots) else Path.cwd()
    problems = run(roots, base=base, check=args.check)
    if problems:
        print("scripts/unasync.py failed:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
