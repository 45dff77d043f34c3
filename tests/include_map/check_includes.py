#!/usr/bin/env python3
# Checks every #include of the scanned folders against the module map (docs/modules.txt): an include
# that crosses from one module into another must follow an arrow of the map. Run by ctest as
# `include_map`; `include_map_negative_control` runs it on tests/include_map/fixture/, a small tree of
# forbidden includes, and passes only when it reports exactly the ones fixture/expected.txt lists.
#
#   check_includes.py [--root DIR] [--map FILE]          exit 0: every include allowed; 1: some are not,
#                                                        each reported as FILE:LINE: A -> B ...
#   check_includes.py ... --expect FILE                  exit 0 only when the report is exactly FILE's lines
#   check_includes.py ... --without-exceptions           ignore the map's temporary exceptions
#
# Includes are read line by line (`#include <...>` or `#include "..."` at the start of a line; a
# commented-out include is not one). <reqstore/M/...> names include/reqstore/M/...; a quoted include is
# the file it names next to the including file, else under include/ (and "reqstore/M/..." names
# include/reqstore/M/... even when no such file exists). Any other include (the standard library, Boost,
# a quoted name that names no file) is not checked.
import argparse
import os
import re
import sys

SOURCE_SUFFIXES = (".cpp", ".hpp", ".h", ".ipp", ".cc")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


class map_error(Exception):
    pass


class module_map:
    def __init__(self, path):
        self.path = path
        self.scan = []
        self.homes = []  # (path relative to the root, module), longest first after parsing
        self.arrows = {}  # module -> set of modules it may include
        self.exceptions = {}  # (file, module) -> line of the map that declares it
        with open(path, encoding="utf-8") as f:
            for number, raw in enumerate(f, 1):
                line = raw.split("#", 1)[0].strip()
                if line:
                    self._read(line, number)
        for module, allowed in self.arrows.items():
            for target in allowed:
                if target not in self.arrows:
                    raise map_error(f"{path}: {module} -> {target}: {target} has no arrow line")
        for name in {m for _, m in self.homes}:
            if name not in self.arrows:
                raise map_error(f"{path}: module {name} has no arrow line (write `{name} ->` for none)")
        self.homes.sort(key=lambda home: len(home[0]), reverse=True)
        if not self.scan:
            raise map_error(f"{path}: no scan line")

    def _read(self, line, number):
        words = line.split()
        where = f"{self.path}:{number}"
        if words[0] == "scan":
            self.scan += words[1:]
        elif words[0] == "module":
            if len(words) < 3:
                raise map_error(f"{where}: module NAME PATH...")
            self.homes += [(os.path.normpath(p), words[1]) for p in words[2:]]
        elif words[0] == "except":
            if len(words) != 4 or words[2] != "->":
                raise map_error(f"{where}: except FILE -> MODULE")
            self.exceptions[(os.path.normpath(words[1]), words[3])] = number
        elif len(words) >= 2 and words[1] == "->":
            if words[0] in self.arrows:
                raise map_error(f"{where}: a second arrow line for {words[0]}")
            self.arrows[words[0]] = set(words[2:])
        else:
            raise map_error(f"{where}: cannot read `{line}`")

    def module_of(self, relative):
        """The module that holds `relative` (a normalized path under the root), or None."""
        for home, module in self.homes:
            if relative == home or relative.startswith(home + os.sep):
                return module
        return None


def target_of(root, including, spelled, bracket):
    """The path under the root that an include names, or None when it names no file of the tree."""
    if bracket == "<":
        return os.path.normpath(os.path.join("include", spelled)) if spelled.startswith("reqstore/") else None
    for candidate in (os.path.join(os.path.dirname(including), spelled), os.path.join("include", spelled)):
        candidate = os.path.normpath(candidate)
        if not candidate.startswith(".." + os.sep) and os.path.isfile(os.path.join(root, candidate)):
            return candidate
    return os.path.normpath(os.path.join("include", spelled)) if spelled.startswith("reqstore/") else None


def sources(root, folders):
    for folder in folders:
        top = os.path.join(root, folder)
        if not os.path.isdir(top):
            raise map_error(f"scan {folder}: no such folder under {root}")
        for directory, subdirectories, files in os.walk(top):
            subdirectories.sort()
            for name in sorted(files):
                if name.endswith(SOURCE_SUFFIXES):
                    yield os.path.relpath(os.path.join(directory, name), root)


def check(root, modules, use_exceptions):
    """Returns (the report's lines, the number of files read)."""
    report = []
    used_exceptions = set()
    files = 0
    for relative in sources(root, modules.scan):
        files += 1
        source = modules.module_of(relative)
        if source is None:
            report.append(f"{relative}: in no module of the map")
            continue
        allowed = modules.arrows[source]
        with open(os.path.join(root, relative), encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                found = INCLUDE.match(line)
                if not found:
                    continue
                bracket, spelled = found.groups()
                shown = f"<{spelled}>" if bracket == "<" else f'"{spelled}"'
                target = target_of(root, relative, spelled, bracket)
                if target is None:
                    continue
                destination = modules.module_of(target)
                if destination is None:
                    report.append(f"{relative}:{number}: {shown} is in no module of the map")
                elif destination != source and destination not in allowed:
                    if use_exceptions and (relative, destination) in modules.exceptions:
                        used_exceptions.add((relative, destination))
                        continue
                    report.append(
                        f"{relative}:{number}: {source} -> {destination} is not an arrow of the map ({shown})"
                    )
    if use_exceptions:
        for (relative, destination), number in sorted(modules.exceptions.items()):
            if (relative, destination) not in used_exceptions:
                report.append(
                    f"{modules.path}:{number}: the exception {relative} -> {destination} is no longer "
                    "needed: remove it"
                )
    return report, files


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description="Checks #includes against the module map.")
    parser.add_argument("--root", default=os.path.normpath(os.path.join(here, "..", "..")))
    parser.add_argument("--map", help="the module map (default: ROOT/docs/modules.txt)")
    parser.add_argument("--expect", help="a file of the exact report expected (the negative control)")
    parser.add_argument("--without-exceptions", action="store_true")
    arguments = parser.parse_args()
    root = os.path.abspath(arguments.root)
    map_path = arguments.map or os.path.join(root, "docs", "modules.txt")
    try:
        modules = module_map(map_path)
        report, files = check(root, modules, not arguments.without_exceptions)
    except (map_error, OSError) as e:
        print(f"check_includes: {e}", file=sys.stderr)
        return 2

    if arguments.expect:
        with open(arguments.expect, encoding="utf-8") as f:
            expected = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]
        for line in report:
            print(line)
        if not expected:
            print(f"check_includes: {arguments.expect} expects nothing: a negative control must expect a finding")
            return 1
        if report != expected:
            missed = [line for line in expected if line not in report]
            extra = [line for line in report if line not in expected]
            for line in missed:
                print(f"check_includes: expected but not reported: {line}")
            for line in extra:
                print(f"check_includes: reported but not expected: {line}")
            if not missed and not extra:
                print("check_includes: reported in another order than expected")
            return 1
        print(f"check_includes: the {len(expected)} expected findings were reported, and nothing else")
        return 0

    for line in report:
        print(line)
    if report:
        print(f"check_includes: {len(report)} finding{'s' if len(report) != 1 else ''} against the module map ({map_path})")
        return 1
    print(f"check_includes: {files} files, every include follows the module map ({map_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
