"""The HTML report in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by selenium.

Set ``BCHOOK_DOCS_SCREENSHOTS=docs/images`` to refresh the screenshots of the docs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from importlib import resources

import pytest

from bchook.passes.trace.runtime import _html
from bchook.passes.trace.runtime import _readers
from bchook.passes.trace.runtime import _runtime
from bchook.passes.trace.runtime import _writers
from bchook.passes.trace.runtime._profile import Event, Function, Node, Profile, Thread

APP = """\
import threading

def leaf(n):
    return sum(range(n))

def mid(n):
    return leaf(n) + leaf(n // 2)

def other(n):
    return [leaf(i) for i in range(n)]

def main():
    for _ in range(30):
        mid(20000)
    other(200)
    t = threading.Thread(target=other, args=(100,), name="helper")
    t.start()
    t.join()

main()
"""

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,900")


def _find(*names):
    for name in names:
        path = shutil.which(name) or (name if os.path.exists(name) else None)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    binary = _find("chromium", "chromium-browser", "/usr/lib/chromium/chromium")
    driver_path = _find("chromedriver", "/usr/lib/chromium/chromedriver")
    if not binary or not driver_path:
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them "
                    "with apt-get when it can)")
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    profile_dir = tempfile.mkdtemp(prefix="bchook-chromium-")
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)


def open_page(driver, path, timeout=10.0) -> float:
    """Load the page, wait until it has drawn; seconds taken. Fails on console errors."""
    driver.get_log("browser")  # forget what earlier pages said
    t0 = time.perf_counter()
    driver.get("file://" + str(path))
    while not driver.execute_script("return window.bchookReady === true"):
        if time.perf_counter() - t0 > timeout:
            raise AssertionError(f"the page did not get ready: {driver.get_log('browser')}")
        time.sleep(0.02)
    took = time.perf_counter() - t0
    assert_no_errors(driver)
    return took


def assert_no_errors(driver):
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []


def frame_widths(driver) -> dict:
    """{frame name: widest rect} of the flame graph as drawn."""
    return driver.execute_script("""
        const out = {};
        for (const g of document.querySelectorAll('#chart g.frame')) {
          const w = parseFloat(g.querySelector('rect').getAttribute('width') || 0);
          const n = g.getAttribute('name');
          out[n] = Math.max(out[n] || 0, w);
        }
        return out;""")


def settle(driver, seconds=0.6):
    time.sleep(seconds)  # d3 transitions (150 ms) and the delayed label texts


def screenshot(driver, tmp_path, name):
    driver.save_screenshot(str(tmp_path / name))
    folder = os.environ.get("BCHOOK_DOCS_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        driver.save_screenshot(os.path.join(folder, name))


@pytest.fixture(scope="module")
def report(tmp_path_factory, run_python_module):
    folder = tmp_path_factory.mktemp("html")
    (folder / "app.py").write_text(APP)
    rc, _, err = run_python_module(
        ["-m", "bchook", "-p", "trace", "-o", "trace.mode=timeline", "-o", "trace.lines=count",
         "-o", "trace.output=profile.html", "-o", "trace.output=profile.prof", "app.py"],
        cwd=folder)
    assert rc == 0, err
    return folder


@pytest.fixture(scope="module")
def run_python_module():
    import subprocess
    import sys

    def run(args, cwd):
        env = {k: v for k, v in os.environ.items() if not k.startswith("BCHOOK_")}
        p = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=300)
        return p.returncode, p.stdout, p.stderr
    return run


# -- the page as a file ---------------------------------------------------------------------

def test_page_is_one_self_contained_file(report):
    text = (report / "profile.html").read_text()
    assert not re.search(r"<(script|img|iframe)[^>]*\bsrc=|<link\b", text, re.I)
    assert text.count("<script") == 5  # views, profile, d3, d3-flame-graph, the app
    assert "d3-flame-graph" in text


def test_renderer_is_installed_as_package_data():
    vendor = resources.files("bchook.passes.trace.runtime").joinpath("vendor")
    for name in ("d3.min.js", "d3-flamegraph.min.js", "d3-flamegraph.css", "LICENSE.d3",
                 "LICENSE.d3-flame-graph", "VERSIONS"):
        assert vendor.joinpath(name).is_file(), name


# -- in the browser -------------------------------------------------------------------------

def test_flame_graph_has_the_frames_and_zooms_on_click(browser, report, tmp_path):
    open_page(browser, report / "profile.html")
    settle(browser)
    widths = frame_widths(browser)
    assert {"all", "<module>", "main", "mid", "leaf", "other", "<listcomp>"} <= set(widths) \
        or {"all", "<module>", "main", "mid", "leaf", "other"} <= set(widths)
    full = widths["all"]
    assert widths["main"] < full and widths["mid"] < widths["main"]
    screenshot(browser, tmp_path, "trace-report-flamegraph.png")
    [mid] = [g for g in browser.find_elements("css selector", "#chart g.frame")
             if g.get_attribute("name") == "mid"]
    mid.click()
    settle(browser)
    zoomed = frame_widths(browser)
    assert zoomed["mid"] == pytest.approx(full, rel=0.01)  # the clicked frame fills the width
    assert_no_errors(browser)
    browser.find_element("id", "reset").click()
    settle(browser)
    assert frame_widths(browser)["mid"] == pytest.approx(widths["mid"], rel=0.01)


def test_search_highlights_frames(browser, report):
    open_page(browser, report / "profile.html")
    settle(browser)
    browser.find_element("id", "search").send_keys("^leaf$")
    settle(browser, 0.3)
    fills = browser.execute_script("""
        return [...document.querySelectorAll('#chart g.frame')].map(
          g => [g.getAttribute('name'), g.querySelector('rect').getAttribute('fill')]);""")
    highlighted = {name for name, fill in fills if fill.lower() == "#e600e6"}
    assert highlighted == {"leaf"}
    details = browser.find_element("id", "details").text  # in time, not "samples"
    assert re.match(r"search: [\d.]+ (ns|µs|ms|s) of [\d.]+ (ns|µs|ms|s) \([\d.]+%\)$",
                    details), details


def test_function_table_sorts(browser, report, tmp_path):
    open_page(browser, report / "profile.html")
    browser.find_element("id", "tab-table").click()

    def first_column(n):
        return [td.text for td in browser.find_elements(
            "css selector", f"#functions tbody tr td:nth-child({n})")]

    names = first_column(1)
    assert names[0] == "<module>" and {"main", "mid", "leaf", "other"} <= set(names)
    headers = browser.find_elements("css selector", "#functions th")
    calls = [h for h in headers if h.text.startswith("calls")][0]
    calls.click()
    assert first_column(1)[0] == "leaf"  # most calls first
    counts = [int(c.split("/")[0]) for c in first_column(headers.index(calls) + 1)]
    assert counts == sorted(counts, reverse=True)
    calls.click()
    counts = [int(c.split("/")[0]) for c in first_column(headers.index(calls) + 1)]
    assert counts == sorted(counts)
    [h for h in headers if h.text.startswith("function")][0].click()
    assert first_column(1) == sorted(first_column(1))
    screenshot(browser, tmp_path, "trace-report-table.png")
    assert_no_errors(browser)


def test_call_tree_with_percentages(browser, report):
    open_page(browser, report / "profile.html")
    browser.find_element("id", "tab-tree").click()
    rows = [r.text for r in browser.find_elements("css selector", "#calltree .tree-row")]
    assert re.match(r"▾ *\d+\.\d% .*<module> *app\.py:1$", rows[0].replace("\n", " "))
    assert any(" main" in r and "%" in r for r in rows)
    assert any(" mid" in r for r in rows)  # the hot path is open


def test_timeline_per_thread(browser, report, tmp_path):
    open_page(browser, report / "profile.html")
    browser.find_element("id", "tab-timeline").click()
    settle(browser, 0.3)
    names = [h.text for h in browser.find_elements("css selector", "#timelines h3")]
    assert len(names) == 2 and names[0].startswith("MainThread") and \
        names[1].startswith("helper")
    painted = browser.execute_script("""
        return [...document.querySelectorAll('canvas.timeline')].map(c => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; });""")
    assert len(painted) == 2 and all(n > 10 for n in painted), painted
    screenshot(browser, tmp_path, "trace-report-timeline.png")
    assert_no_errors(browser)


def test_line_heat_view(browser, report):
    open_page(browser, report / "profile.html")
    browser.find_element("id", "tab-heat").click()
    text = browser.find_element("id", "heat").text
    assert "app.py" in text and "return sum(range(n))" in text


def test_diff_page(browser, report, tmp_path, run_python_module):
    (tmp_path / "app.py").write_text(APP.replace("range(30)", "range(3)"))
    rc, _, err = run_python_module(["-m", "bchook", "-p", "trace", "-o",
                                    "trace.output=after.prof", "app.py"], cwd=tmp_path)
    assert rc == 0, err
    rc, _, err = run_python_module(["-m", "bchook", "trace", "diff",
                                    str(report / "profile.prof"), "after.prof",
                                    "-o", "diff.html"], cwd=tmp_path)
    assert rc == 0, err
    open_page(browser, tmp_path / "diff.html")
    settle(browser)
    fills = dict(browser.execute_script("""
        return [...document.querySelectorAll('#chart g.frame')].map(
          g => [g.getAttribute('name'), g.querySelector('rect').getAttribute('fill')]);"""))
    r, g, b = map(int, re.findall(r"\d+", fills["mid"]))
    assert b > r  # blue: mid took less time than before
    assert "before" in browser.find_element("id", "headline").text
    screenshot(browser, tmp_path, "trace-report-diff.png")
    browser.find_element("id", "tab-table").click()
    heads = [h.text for h in browser.find_elements("css selector", "#functions th")]
    assert heads[:5] == ["function", "location", "cumtime", "before", "change"]
    assert_no_errors(browser)


# -- big profiles -------------------------------------------------------------------------

def big_profile(functions=20_000, events=1_000_000) -> Profile:
    """20,000 functions called in chains of 4 under main, and a timeline of 1 M events."""
    funcs = [Function(f"/big/pkg/mod{i // 100}.py", 1 + i % 100 * 10, f"f{i}",
                      f"Mod{i // 100}.f{i}") for i in range(functions)]
    nodes = [Node(-1, -1, 0, 0, 0), Node(0, 0, 1, 1000, 0)]
    total = 0
    for chain, i in enumerate(range(1, functions, 4)):
        parent = 1
        for j in range(i, min(i + 4, functions)):
            ns = 10_000_000 // (chain + 1)  # a few wide chains, thousands of thin ones
            nodes.append(Node(parent, j, 3, ns, 0))
            parent = len(nodes) - 1
    # totals: own plus the children (parents come first)
    acc = [n.own_ns for n in nodes]
    for k in range(len(nodes) - 1, 0, -1):
        if nodes[k].parent > 0:
            acc[nodes[k].parent] += acc[k]
    nodes = [n._replace(total_ns=acc[k]) for k, n in enumerate(nodes)]
    total = acc[1]
    evs = []
    t = 0
    leaves = range(2, len(nodes))
    pairs = events // 2
    for k in range(pairs):
        node = leaves[k % len(leaves)]
        evs.append(Event(t, node, 0, True))
        t += 70
        evs.append(Event(t, node, 0, False))
        t += 30
    del total
    return Profile(functions=funcs, nodes=nodes, threads=[Thread(1, "MainThread", 0)],
                   events=evs, timeline=True)


@pytest.mark.slow
def test_big_profile_opens_in_under_3_seconds(browser, tmp_path):
    prof = big_profile()
    path = tmp_path / "big.html"
    _writers.write(prof, str(path), ".html")
    # best of three: the machine is shared, a timing is disturbed only upwards
    opened, drawn, tree = [], [], []

    def click_time(tab):
        t0 = time.perf_counter()
        browser.find_element("id", tab).click()
        browser.execute_script("return 1")  # the click's drawing is done by then
        return time.perf_counter() - t0

    for _ in range(3):
        opened.append(open_page(browser, path, timeout=30))
        drawn.append(click_time("tab-timeline"))
        tree.append(click_time("tab-tree"))
        if max(opened[-1], drawn[-1], tree[-1]) < 3.0:
            break
    print(f"the big page opened in {min(opened):.2f} s, drew its timeline in "
          f"{min(drawn):.2f} s, its call tree in {min(tree):.2f} s")
    assert min(opened) < 3.0 and min(drawn) < 3.0 and min(tree) < 3.0, (opened, drawn, tree)
    # main's 5,000 children: the 200 that take longest, the rest a click away
    (more,) = browser.find_elements("css selector", "#calltree .tree-more")
    assert more.text.startswith("… 4,800 more (")
    shown = len(browser.find_elements("css selector", "#calltree .tree-row"))
    more.click()
    assert len(browser.find_elements("css selector", "#calltree .tree-row")) == shown + 200
    browser.find_element("id", "tab-flame").click()
    settle(browser, 0.3)
    assert len(frame_widths(browser)) > 100
    browser.find_element("id", "tab-table").click()
    assert "showing 500 of 20000 functions" in browser.find_element("id", "table-note").text
    assert_no_errors(browser)
    back = _readers.read(str(path))
    assert len(back.functions) == 20_000 and len(back.events) == 1_000_000


def test_views_of_the_page():
    prof = Profile(functions=[Function("/x/a.py", 1, "f", "f"), Function("/x/a.py", 5, "g",
                                                                         "C.g")],
                   nodes=[Node(-1, -1, 0, 0, 0), Node(0, 0, 1, 10, 30), Node(1, 1, 2, 20, 20)],
                   threads=[Thread(1, "MainThread", 0)])
    text = _html.page(prof, "t.html")
    views = json.loads(re.search(r'id="bchook-views">(.*?)</script>', text, re.S).group(1))
    assert views["flame"] == {"n": "all", "v": 30, "o": 0, "k": 0, "l": "", "c": [
        {"n": "f", "v": 30, "o": 10, "k": 1, "l": "a.py:1", "c": [
            {"n": "C.g", "v": 20, "o": 20, "k": 2, "l": "a.py:5"}]}]}
    assert views["table"][0] == ["a.py:1", "f", 1, 1, 10, 30]


def test_script_data_cannot_close_its_tag(tmp_path):
    prof = Profile(functions=[Function("</script><b>x.py", 1, "f", "f")],
                   nodes=[Node(-1, -1, 0, 0, 0), Node(0, 0, 1, 1, 1)],
                   threads=[Thread(1, "</script>", 0)])
    path = tmp_path / "x.html"
    _writers.write(prof, str(path), ".html")
    text = path.read_text()
    assert text.count("</script>") == 5
    assert _readers.read(str(path)).functions == prof.functions


@pytest.fixture(autouse=True)
def fresh_tracer():
    _runtime.discard()
    yield
    _runtime.discard()


def test_lines_page_opens_on_the_lines_table(browser, tmp_path, run_python_module):
    (tmp_path / "app.py").write_text("x = 0\nif x:\n    y = 1\nz = 2\n")
    rc, _, err = run_python_module(["-m", "bchook", "-p", "trace", "-o", "trace.lines=1",
                                    "-o", "trace.output=l.html", "app.py"], cwd=tmp_path)
    assert rc == 0, err
    open_page(browser, tmp_path / "l.html")
    assert browser.find_element("id", "view-heat").is_displayed()
    assert [b.text for b in browser.find_elements("css selector", "#tabs button")] == ["Lines"]
    rows = [r.text for r in browser.find_elements("css selector", "#line-table tbody tr")]
    assert rows == ["app.py 4 3 1 75% 3"]
    assert "3 lines run in 1 file (flags)" in browser.find_element("id", "headline").text


def test_a_page_from_a_folded_file_shows_no_call_counts(browser, tmp_path, run_python_module):
    (tmp_path / "x.folded").write_text("main (a.py:1);leaf (a.py:5) 300\nmain (a.py:1) 100\n")
    rc, _, err = run_python_module(["-m", "bchook", "trace", "merge", "x.folded", "-o",
                                    "x.html"], cwd=tmp_path)
    assert rc == 0, err
    open_page(browser, tmp_path / "x.html")
    browser.find_element("id", "tab-table").click()
    headers = [h.text for h in browser.find_elements("css selector", "#functions th")]
    column = [h.startswith("calls") for h in headers].index(True) + 1
    calls = [td.text for td in browser.find_elements(
        "css selector", f"#functions tbody tr td:nth-child({column})")]
    assert calls == ["-", "-"]
    assert_no_errors(browser)
