#!/usr/bin/env python3
"""The module graph is true: every target's declared dependencies equal what its files import.

Reads the package description from `swift package dump-package`, collects each target's
`import X` lines (any access modifier, @testable too), and fails when a target imports a module it
does not declare (SwiftPM builds it anyway when some other path made the module available, so the
graph silently lies) or declares one it never imports. Toolchain modules are ignored.

Usage: tools/checks/imports.py   (scripts/test.sh runs it before building; exit 1 on a mismatch)
"""
import json
import os
import re
import subprocess
import sys

TOOLCHAIN = {"Foundation", "FoundationNetworking", "FoundationEssentials", "Glibc", "Darwin", "Dispatch",
             "Synchronization", "XCTest", "Testing", "_Concurrency", "os", "Musl", "FoundationXML"}
IMPORT = re.compile(r"^\s*(?:@testable\s+|@_implementationOnly\s+|@preconcurrency\s+)?"
                    r"(?:(?:public|internal|package|private|fileprivate)\s+)?import\s+(?:(?:struct|class|enum|func|protocol|typealias|var|let)\s+)?([A-Za-z_][A-Za-z0-9_]*)")


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True,
                                        capture_output=True, text=True).stdout)
    problems = []
    for target in package["targets"]:
        if target["type"] in ("system", "binary", "plugin"):
            continue
        name = target["name"]
        path = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", name)
        declared = set()
        for dep in target["dependencies"]:
            for kind in ("byName", "target", "product"):
                if kind in dep:
                    declared.add(dep[kind][0])
        imported = set()
        for folder, _, files in os.walk(os.path.join(root, path)):
            for f in files:
                if f.endswith(".swift"):
                    with open(os.path.join(folder, f), encoding="utf-8") as handle:
                        in_string = False  # inside a multi-line string literal (Python in a test, say)
                        for line in handle:
                            if not in_string:
                                m = IMPORT.match(line)
                                if m:
                                    imported.add(m.group(1))
                            if line.count('"""') % 2 == 1:
                                in_string = not in_string
        imported -= TOOLCHAIN
        imported.discard(name)
        if not any(f.endswith(".swift") for _, _, fs in os.walk(os.path.join(root, path)) for f in fs):
            continue  # a C target: its headers say what it uses
        for module in sorted(imported - declared):
            problems.append(f"{name} imports {module} but Package.swift does not declare it")
        for module in sorted(declared - imported):
            problems.append(f"{name} declares {module} in Package.swift but never imports it")
    for p in problems:
        print("import check: " + p, file=sys.stderr)
    if problems:
        print(f"import check: {len(problems)} mismatch(es); make Package.swift's dependencies equal the imports", file=sys.stderr)
        return 1
    print(f"import check: {sum(1 for t in package['targets'] if t['type'] not in ('system', 'binary', 'plugin'))} targets, declared dependencies equal imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
