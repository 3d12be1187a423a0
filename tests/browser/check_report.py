#!/usr/bin/env python3
"""Load amine's report.html pages in headless Chromium and check that they render.

Usage: check_report.py REPORT.html [REPORT.html ...]

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe), so
nothing but the Python standard library is needed. A page fails when it logs a console
error or warning, throws, fails to load a resource, requests anything that is not part
of the file (a report must be self-contained), or when a picture does not lay out
(every <svg> must have a positive size) or the page has no title heading. Exit code 0
when every page passes, 1 otherwise (each problem is printed).
"""
import json
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import time

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-debugging-pipe",
]
TIMEOUT_S = 60

CHECK = """JSON.stringify({
  h1: (document.querySelector('h1') || {}).textContent || '',
  svgs: [...document.querySelectorAll('svg')].map(s => {
    const r = s.getBoundingClientRect(); return [r.width, r.height]; }),
  figures: document.querySelectorAll('figure').length,
  scripts: document.querySelectorAll('script').length,
})"""


class Browser:
    def __init__(self, exe):
        self.to_r, self.to_w = os.pipe()
        self.from_r, self.from_w = os.pipe()
        self.profile = tempfile.mkdtemp(prefix="amine-chromium-")
        to_r, from_w = self.to_r, self.from_w

        def fds():
            # Chromium reads commands on fd 3 and writes answers on fd 4; copy first,
            # so neither end is overwritten, and let both survive exec.
            a, b = os.dup(to_r), os.dup(from_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(self.to_r)
        os.close(self.from_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        return self.wait(lambda m: m.get("id") == self.next_id)

    def wait(self, want, deadline=None):
        deadline = deadline or time.monotonic() + TIMEOUT_S
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                m = json.loads(raw)
                if "method" in m:
                    self.events.append(m)
                if want(m):
                    if "error" in m:
                        raise RuntimeError(m["error"])
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.from_r], [], [], left)
            if ready:
                chunk = os.read(self.from_r, 1 << 16)
                if not chunk:
                    raise RuntimeError("Chromium closed the pipe")
                self.buf += chunk

    def close(self):
        try:
            os.write(self.to_w, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def check(browser, path):
    url = pathlib.Path(path).resolve().as_uri()
    target = browser.send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
    for domain in ("Runtime", "Log", "Page", "Network"):
        browser.send(f"{domain}.enable", session=session)
    browser.events.clear()
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session)
    page = json.loads(browser.send("Runtime.evaluate", {"expression": CHECK, "returnByValue": True},
                                   session=session)["result"]["result"]["value"])
    problems = []
    for e in browser.events:
        if e.get("sessionId") != session:
            continue
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            problems.append(f"console {p['type']}: {text}")
        elif m == "Runtime.exceptionThrown":
            problems.append(f"exception: {p['exceptionDetails'].get('text')}")
        elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
            problems.append(f"log {p['entry']['level']}: {p['entry']['text']}")
        elif m == "Network.requestWillBeSent" and not p["request"]["url"].startswith(("file:", "data:", "about:")):
            problems.append(f"not self-contained: requests {p['request']['url']}")
        elif m == "Network.loadingFailed":
            problems.append(f"failed to load: {p.get('errorText')}")
    if not page["h1"].strip():
        problems.append("no title heading")
    bad = [i for i, (w, h) in enumerate(page["svgs"]) if not (w > 0 and h > 0)]
    if bad:
        problems.append(f"pictures with no size: {bad}")
    browser.send("Target.closeTarget", {"targetId": target})
    return page, problems


def main(paths):
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("chromium not found", file=sys.stderr)
        return 2
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    browser = Browser(exe)
    failed = 0
    try:
        for path in paths:
            page, problems = check(browser, path)
            status = "ok" if not problems else "FAILED"
            print(f"{status}: {path}: {len(page['svgs'])} pictures, {page['figures']} figures — {page['h1']}")
            for p in problems:
                print(f"  - {p}")
            failed += bool(problems)
    finally:
        browser.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
