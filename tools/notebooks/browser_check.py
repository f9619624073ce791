"""Tries tlsh's notebook pictures in a real JupyterLab in headless Chromium: hover values on a
heatmap, the attention token view, wide figures fitting the output area, text and tables.

    python tools/notebooks/browser_check.py --tlsh .build/release/tlsh --out /tmp/tlsh-browser

Needs jupyterlab, nbclient and playwright (PyPI) and Chromium (Debian: apt-get install chromium);
playwright drives the system Chromium (--chromium, default /usr/bin/chromium), so it downloads
nothing. Lab listens on 127.0.0.1 only. Writes screenshots to --out and exits 1 on a failed check.
Not part of CI (a browser is a large install); run it after changing TLRender's HTMLView or
the kernel's MIME bundles.
"""
import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import nbformat
from nbclient import NotebookClient

PROMPT = "When John and Mary went to the store, John gave a drink to"
CELLS = [
    f'c = run "{PROMPT}"',
    "show c.pattern[0]",
    "norms c resid_post pos=*",
    'clean = c\ncorrupt = run "When John and Mary went to the store, Mary gave a drink to"\nmetric = logit_diff " Mary" " John"',
    "patch resid_post layer=* pos=*",
    "help patch",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tlsh", required=True)
    parser.add_argument("--out", default="/tmp/tlsh-browser")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tlsh = str(pathlib.Path(args.tlsh).resolve())
    failures = []

    def expect(ok, what):
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        if not ok:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        prefix, work = os.path.join(tmp, "prefix"), os.path.join(tmp, "work")
        os.makedirs(work)
        subprocess.run([tlsh, "kernel", "install", "--prefix", prefix, "--name", "tlsh"], check=True, stdout=subprocess.DEVNULL)
        env = dict(os.environ, JUPYTER_PATH=os.path.join(prefix, "share", "jupyter"), JUPYTER_DATA_DIR=os.path.join(tmp, "data"),
                   JUPYTER_CONFIG_DIR=os.path.join(tmp, "config"), JUPYTER_RUNTIME_DIR=os.path.join(tmp, "runtime"))
        os.environ.update(env)
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
        nb.metadata["kernelspec"] = {"name": "tlsh", "display_name": "tlsh", "language": "tlsh"}
        NotebookClient(nb, kernel_name="tlsh", timeout=600).execute()
        path = os.path.join(work, "views.ipynb")
        nbformat.write(nb, path)
        # Signed: opened as trusted, as right after running it (scripts run).
        subprocess.run([sys.executable, "-m", "jupyter", "trust", path], check=True, env=env, stdout=subprocess.DEVNULL)
        untrusted = os.path.join(work, "untrusted.ipynb")
        nbformat.write(nb, untrusted)  # written again: no signature, like a notebook from elsewhere

        port = free_port()
        lab = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                                "--allow-root", "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
                                f"--ServerApp.root_dir={work}", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                               env=env, stdout=subprocess.DEVNULL, stderr=open(out / "lab.log", "w"))
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(120):
                try:
                    urllib.request.urlopen(base + "/api/status", timeout=1)
                    break
                except OSError:
                    time.sleep(0.5)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1000, "height": 1400})
                page.goto(f"{base}/lab/tree/views.ipynb")
                page.wait_for_selector(".tlsh-view img", timeout=60000)
                time.sleep(3)
                views = page.locator(".tlsh-view")
                expect(views.count() >= 3, f"interactive views rendered ({views.count()})")

                # 1. The attention pattern: fits the output area, hover a cell, then the token view.
                first = views.nth(0)
                first.scroll_into_view_if_needed()
                img = first.locator("img")
                box = img.bounding_box()
                area = first.evaluate("e => e.closest('.jp-OutputArea-output').getBoundingClientRect().width")
                expect(box["width"] <= area + 1, f"pattern figure fits the output area ({box['width']:.0f} ≤ {area:.0f} px)")
                expect(bool(img.get_attribute("alt")), f"image has alt text ({img.get_attribute('alt')!r})")
                data = json.loads(first.locator(".tlsh-data").text_content())
                g = data["grids"][0]
                scale = box["width"] / data["width"]
                page.mouse.move(box["x"] + (g["x"] + 2.5 * g["cw"]) * scale, box["y"] + (g["y"] + 3.5 * g["ch"]) * scale)
                time.sleep(0.3)
                tip = first.locator(".tlsh-tip")
                text = tip.text_content() if tip.is_visible() else ""
                expect("query" in text and "key" in text and "value:" in text, f"hover tooltip on a pattern cell: {text!r}")
                page.screenshot(path=str(out / "1-pattern-hover.png"))
                tokens = first.locator(".tlsh-tokens span[title]")
                expect(tokens.count() > 10, f"token view has one span per token ({tokens.count()})")
                tokens.nth(8).hover()
                time.sleep(0.3)
                colours = [tokens.nth(k).evaluate("e => getComputedStyle(e).backgroundColor") for k in range(tokens.count())]
                def alpha(c):
                    parts = c[c.find("(") + 1:-1].split(",")
                    return float(parts[3]) if len(parts) == 4 else (0.0 if c == "transparent" else 1.0)
                coloured = [c for c in colours if alpha(c) > 0.05]
                expect(len(coloured) >= 2, f"hovering token 8 colours what it attends to ({len(coloured)} coloured)")
                hint = first.locator(".tlsh-tokens > div").nth(1).text_content()
                expect("attends most to" in hint, f"token view names the top keys: {hint!r}")
                first.screenshot(path=str(out / "2-token-view.png"))
                first.locator(".tlsh-tokens button").nth(3).click()
                time.sleep(0.2)
                first.screenshot(path=str(out / "3-token-view-head2.png"))

                # 2. Tables: text cells left-aligned (numbers right), captions on one line.
                misaligned = page.evaluate("""() => {
                  const bad = [];
                  for (const td of document.querySelectorAll('.jp-RenderedHTMLCommon td')) {
                    const text = td.textContent.trim();
                    const numeric = /^[-+]?[0-9.]+(e[-+]?[0-9]+)?$/i.test(text);
                    const align = getComputedStyle(td).textAlign;
                    if (!numeric && text && align !== 'left' && align !== 'start') bad.push(text + ':' + align);
                  }
                  return bad;
                }""")
                expect(not misaligned, f"text cells are left-aligned ({misaligned[:5]})")
                heights = page.evaluate("() => [...document.querySelectorAll('.jp-RenderedHTMLCommon caption')].map(c => c.getBoundingClientRect().height)")
                expect(heights and max(heights) < 30, f"captions on one line (heights {heights})")
                effects = page.locator(".jp-RenderedHTMLCommon table", has_text="largest effects").first
                effects.scroll_into_view_if_needed()
                time.sleep(0.3)
                page.screenshot(path=str(out / "4-patch-tables.png"))

                # 3. Text in <pre> does not break inside words (the help text, result lines).
                pres = page.locator(".jp-RenderedHTMLCommon pre")
                expect(pres.count() >= 2, f"result text as <pre> ({pres.count()})")
                styles = [pres.nth(i).evaluate("e => [getComputedStyle(e).whiteSpace, getComputedStyle(e).wordBreak]") for i in range(pres.count())]
                expect(all(w == ["pre-wrap", "normal"] for w in styles), f"result text wraps between words only (white-space, word-break: {styles})")
                pres.last.scroll_into_view_if_needed()
                time.sleep(0.3)
                page.screenshot(path=str(out / "5-help.png"))

                # 4. The same notebook untrusted: the sanitiser drops the scripts, the PNG stays.
                page.goto(f"{base}/lab/tree/untrusted.ipynb")
                page.wait_for_selector(".jp-OutputArea-output img", timeout=60000)
                time.sleep(3)
                imgs = page.locator(".jp-OutputArea-output img")
                expect(imgs.count() >= 3, f"untrusted notebook still shows the pictures ({imgs.count()} images)")
                page.screenshot(path=str(out / "6-untrusted.png"))
                browser.close()
        finally:
            lab.terminate()
            lab.wait(timeout=20)
    print(f"{len(failures)} failed" if failures else "all browser checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
