"""The operator console in a real browser (headless Debian Chromium via Playwright).

Starts a small recording upstream and `toolgate serve` on loopback ports, then as an operator:
logs in with the admin key, searches the tools, opens one, fills its generated form, renders
(secrets masked, nothing sent) and calls it (one real call), reads the health page, and breaks
the config file: the reload problem must show on the open health page within 2 s. Screenshots
at 1280 and 390 px go to the output directory. Ends with `console: N passed, M failed`.

Usage: console_browser.py path/to/toolgate OUTPUT_DIR
"""

import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from playwright.sync_api import expect, sync_playwright

ADMIN_KEY = "console-admin-key-0123456789"
SECRET = "upstream-secret-never-shown"
RESULTS = []


def check(name, condition, detail=""):
    RESULTS.append(bool(condition))
    print(("PASS " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)


class Upstream(http.server.BaseHTTPRequestHandler):
    received = []

    def do_GET(self):
        self.answer()

    def do_POST(self):
        self.answer()

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        Upstream.received.append((self.command, self.path, dict(self.headers), body))
        reply = json.dumps({"order": self.path, "status": "shipped", "echo": json.loads(body or "null")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


CONFIG = """admin:
  key: "${ADMIN_KEY}"
server:
  reload: { debounce: 50ms }
auth:
  api_keys:
    - { id: support, key: "support-key-0123456789abcd", org: acme }
upstreams:
  shop:
    base_url: "%(upstream)s"
    headers: { Authorization: "Bearer ${SHOP_SECRET}" }
tools:
  - name: find_order
    description: Find an order by number and return its status.
    input_schema:
      type: object
      required: [ order_id, channel ]
      properties:
        order_id: { type: string, description: "Order number, e.g. A-1001" }
        channel: { type: string, enum: [ web, phone, store ] }
        limit: { type: integer, minimum: 1, maximum: 50 }
        express: { type: boolean }
        address:
          type: object
          properties:
            city: { type: string }
            zip: { type: string }
    request:
      upstream: shop
      method: POST
      path: "/orders/{{args.order_id}}"
      query: { channel: "{{args.channel}}" }
      body: { limit: "{{args.limit}}", express: "{{args.express}}", address: "{{args.address}}" }
  - name: list_customers
    description: List customers of the caller's organisation.
    input_schema: { type: object, properties: { page: { type: integer } } }
    request:
      upstream: shop
      path: /customers
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, deadline=20):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with urllib.request.urlopen(url + "/ready", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def main():
    binary, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    work = tempfile.mkdtemp(prefix="toolgate-console.")
    config_path = os.path.join(work, "gateway.yaml")
    good = CONFIG % {"upstream": f"http://127.0.0.1:{upstream.server_address[1]}"}
    with open(config_path, "w") as f:
        f.write(good)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, ADMIN_KEY=ADMIN_KEY, SHOP_SECRET=SECRET, RUST_LOG="warn")
    log = open(os.path.join(out, "gateway.log"), "w")
    gateway = subprocess.Popen(
        [binary, "serve", "--config", config_path, "--listen", f"127.0.0.1:{port}", "--workers", "2"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        check("gateway starts", wait_ready(url))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            try:
                desktop(browser, url, out, config_path)
                phone(browser, url, out)
            finally:
                browser.close()
    finally:
        gateway.terminate()
        gateway.wait(timeout=15)
        upstream.shutdown()
    failed = RESULTS.count(False)
    print(f"console: {len(RESULTS) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def login(browser, url, width, height):
    context = browser.new_context(
        viewport={"width": width, "height": height},
        http_credentials={"username": "admin", "password": ADMIN_KEY},
    )
    return context, context.new_page()


def desktop(browser, url, out, config_path):
    anonymous = browser.new_context()
    response = anonymous.request.get(url + "/admin/")
    check("the console asks for the admin key",
          response.status == 401 and response.headers.get("www-authenticate", "").startswith("Basic"),
          response.status)
    anonymous.close()

    context, page = login(browser, url, 1280, 900)
    page.goto(url + "/admin/")
    check("tools list shows every tool", page.locator("#tool-rows tr").count() == 2)
    page.get_by_label("Search tools").fill("order")
    expect(page.locator("#tool-count")).to_have_text("1 shown")
    check("live search filters", page.locator("#tool-rows tr:visible").count() == 1)
    text = page.inner_text("main")
    check("list shows upstream, method, path and visibility",
          all(s in text for s in ["shop", "POST", "/orders/{{args.order_id}}", "every API key"]), text)
    page.screenshot(path=os.path.join(out, "tools-1280.png"), full_page=True)

    page.get_by_role("link", name="find_order").click()
    page.get_by_label("Admin key").fill(ADMIN_KEY)
    page.get_by_label("order_id").fill("A-1001")
    page.get_by_label("channel").select_option("phone")
    page.get_by_label("limit").fill("5")
    page.get_by_label("express").check()
    page.get_by_label("city").fill("Lyon")
    before = len(Upstream.received)
    page.get_by_role("button", name="Render").click()
    expect(page.locator("#result-meta")).to_contain_text("ok")
    rendered = page.inner_text("#result-body")
    check("render shows the exact request",
          "POST http://127.0.0.1:" in rendered and "/orders/A-1001?channel=phone" in rendered
          and '"limit": 5' in rendered and '"city": "Lyon"' in rendered, rendered)
    check("render masks secrets", "authorization: ***" in rendered and SECRET not in page.content(), rendered)
    check("render sends nothing", len(Upstream.received) == before)

    page.get_by_role("button", name="Call").click()
    expect(page.locator("#result-meta")).to_contain_text("ms")
    meta, result = page.inner_text("#result-meta"), page.inner_text("#result-body")
    check("call shows the shaped result and timing",
          meta.startswith("ok") and '"status": "shipped"' in result, f"{meta} {result}")
    check("call made one real call", len(Upstream.received) == before + 1)
    sent = Upstream.received[-1]
    check("the upstream got the secret, the page did not",
          {k.lower(): v for k, v in sent[2].items()}.get("authorization") == f"Bearer {SECRET}" and SECRET not in page.content())
    page.screenshot(path=os.path.join(out, "tool-1280.png"), full_page=True)
    page.screenshot(path=os.path.join(out, "console-readme.png"))

    page.get_by_label("order_id").fill("")
    page.get_by_label("order_id").evaluate("el => el.removeAttribute('required')")
    page.get_by_role("button", name="Call").click()
    expect(page.locator("#result-meta")).to_contain_text("error")
    check("a failed call shows its error code", "invalid_parameters" in page.inner_text("#result-meta"),
          page.inner_text("#result-meta"))

    page.get_by_role("link", name="Health").click()
    text = page.inner_text("main")
    check("health shows config, upstream breaker and tool figures",
          "Version" in text and "closed" in text and "find_order" in text and "≤" in text, text)
    page.screenshot(path=os.path.join(out, "health-1280.png"), full_page=True)

    broken = open(config_path).read().replace("method: POST", "method: TELEPORT")
    started = time.time()
    with open(config_path, "w") as f:
        f.write(broken)
    problem = page.locator("#problems li").first
    try:
        expect(problem).to_contain_text("gateway.yaml:", timeout=2000)
        shown = time.time() - started
        check(f"an invalid reload shows on the health page within 2 s ({shown:.2f} s)", shown <= 2.0)
    except AssertionError as error:
        check("an invalid reload shows on the health page within 2 s", False, str(error)[:300])
    text = page.inner_text("main")
    check("the problem has file:line:col", any(
        part.count(":") >= 3 and "gateway.yaml" in part for part in text.splitlines()), text)
    check("the outcome says failed", "failed" in page.inner_text("#reload-outcome"))
    page.screenshot(path=os.path.join(out, "health-failed-1280.png"), full_page=True)
    context.close()


def phone(browser, url, out):
    context, page = login(browser, url, 390, 844)
    page.goto(url + "/admin/")
    width = page.evaluate("document.documentElement.scrollWidth")
    check("tools list fits 390 px", width <= 390, width)
    page.screenshot(path=os.path.join(out, "tools-390.png"), full_page=True)
    page.goto(url + "/admin/tool/find_order")
    width = page.evaluate("document.documentElement.scrollWidth")
    check("tool page fits 390 px", width <= 390, width)
    page.screenshot(path=os.path.join(out, "tool-390.png"), full_page=True)
    page.goto(url + "/admin/health")
    page.screenshot(path=os.path.join(out, "health-390.png"), full_page=True)
    context.close()


if __name__ == "__main__":
    main()
