"""Builds the tutorial notebooks from examples/*.tl and runs notebooks headless with the tlsh kernel.

    python tools/notebooks/notebooks.py build --tlsh .build/release/tlsh   # regenerate examples/notebooks/*.ipynb with outputs
    python tools/notebooks/notebooks.py check --tlsh .build/release/tlsh   # execute them fresh; fail on any error

`check` verifies that every cell ran without error and that every cell whose code draws a picture
(show, patch, dla, lens, induction, detect, norms) produced image/png and the interactive text/html view
(an <img> of the PNG with alt text, the hover data as JSON, the hover script; see check_view). The view
itself is tried in a real browser by tools/notebooks/browser_check.py (needs Chromium; not run in CI). Both install the kernelspec
into a temporary prefix, so nothing outside the repo changes. Needs nbformat and nbclient (PyPI).
"""
import argparse
import json
import os
import re
import pathlib
import subprocess
import sys
import tempfile

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = EXAMPLES / "notebooks"
PICTURE_VERBS = ("show", "patch", "attrib", "dla", "lens", "induction", "detect", "norms")
KERNEL = "tlsh-notebooks"


def cells_from_script(path):
    """The leading comment block becomes a markdown cell; every statement becomes a code cell."""
    lines = path.read_text().splitlines()
    header = []
    while lines and lines[0].startswith("#"):
        header.append(lines.pop(0).lstrip("# ").rstrip())
    cells = []
    if header:
        title, *rest = header
        cells.append(nbformat.v4.new_markdown_cell("# " + title + ("\n\n" + "\n".join(rest) if rest else "")))
    for line in lines:
        if line.strip():
            cells.append(nbformat.v4.new_code_cell(line.rstrip()))
    return cells


def new_notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "tlsh", "display_name": "tlsh", "language": "tlsh"}
    nb.metadata["language_info"] = {"name": "tlsh", "file_extension": ".tl", "mimetype": "text/x-tlsh"}
    return nb


def install_kernel(tlsh, prefix):
    subprocess.run([tlsh, "kernel", "install", "--prefix", prefix, "--name", KERNEL], check=True,
                   stdout=subprocess.DEVNULL)
    os.environ["JUPYTER_PATH"] = os.path.join(prefix, "share", "jupyter")


def execute(nb, cwd):
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": str(cwd)}})
    client.execute()
    nb.metadata["kernelspec"] = {"name": "tlsh", "display_name": "tlsh", "language": "tlsh"}
    return nb


def check_view(html):
    """Problems with one picture's text/html view (empty when it is well formed)."""
    problems = []
    if 'class="tlsh-view"' not in html:
        problems.append("no tlsh-view element")
    img = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" width="(\d+)" height="(\d+)" alt="([^"]*)"', html)
    if not img:
        problems.append("no embedded PNG <img> with size and alt text")
    elif not img.group(4):
        problems.append("empty alt text")
    data = re.search(r'<script type="application/json" class="tlsh-data">(.*?)</script>', html, re.S)
    try:
        hover = json.loads(data.group(1).replace("<\\/", "</")) if data else None
    except ValueError as e:
        hover, problems = None, problems + [f"hover data is not JSON: {e}"]
    if not hover or not (hover.get("grids") or hover.get("boxes")):
        problems.append("no hover regions")
    elif img and (hover["width"], hover["height"]) != (int(img.group(2)), int(img.group(3))):
        problems.append("hover data and image differ in size")
    if "addEventListener(\"mousemove\"" not in html:
        problems.append("no hover script")
    return problems


def check(nb, name):
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        for out in outputs:
            if out.get("output_type") == "error":
                problems.append(f"{name} cell {i}: {out.get('ename')}: {out.get('evalue')}")
        verb = cell.source.strip().split(" ", 1)[0]
        if verb in PICTURE_VERBS and not any("image/png" in out.get("data", {}) for out in outputs):
            problems.append(f"{name} cell {i} ({cell.source.strip()[:40]}): no image/png output")
        for out in outputs:
            data = out.get("data", {})
            if "image/png" in data:
                if "text/html" not in data:
                    problems.append(f"{name} cell {i}: a picture without its interactive text/html view")
                else:
                    problems += [f"{name} cell {i}: {p}" for p in check_view(data["text/html"])]
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["build", "check"])
    parser.add_argument("--tlsh", required=True)
    args = parser.parse_args()
    tlsh = str(pathlib.Path(args.tlsh).resolve())
    scripts = sorted(EXAMPLES.glob("0*.tl"))
    problems = []
    with tempfile.TemporaryDirectory() as prefix:
        install_kernel(tlsh, prefix)
        NOTEBOOKS.mkdir(exist_ok=True)
        for script in scripts:
            path = NOTEBOOKS / (script.stem + ".ipynb")
            if args.action == "build":
                nb = new_notebook(cells_from_script(script))
            else:
                nb = nbformat.read(path, as_version=4)
                for cell in nb.cells:
                    if cell.cell_type == "code":
                        cell.outputs = []
            nb = execute(nb, ROOT)
            found = check(nb, path.name)
            problems += found
            if args.action == "build":
                nbformat.write(nb, path)
            print(f"{path.name}: {sum(c.cell_type == 'code' for c in nb.cells)} code cells, "
                  f"{'ok' if not found else str(len(found)) + ' problems'}", flush=True)
    for p in problems:
        print("problem:", p, file=sys.stderr)
    print(f"{len(scripts) - len({p.split(' ')[0] for p in problems})} passed, {len({p.split(' ')[0] for p in problems})} failed")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
