"""What the portal's browser tests share: the platform with the portal and a real
local OpenID provider as processes, headless Chromium, axe-core on every page,
screenshots under var/screenshots/."""

import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from services.portal.adapters import localidp, web
from tests.conftest import ROOT, free_port

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
AXE = ROOT / "services" / "portal" / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
READY = bool(CHROMIUM and DRIVER and web.assets_ready() and AXE.exists() and localidp.ready())
needs_browser = pytest.mark.skipif(
    not READY and not os.environ.get("CI"),
    reason="needs Debian chromium + chromium-driver, node and `make assets` (portal npm packages)")
SECRET = "test-client-secret"


def reserve_portal(platform):
    """Before platform.start(): the portal's port and PUBLIC_BASE_URL, so that notify
    builds its links (and accepts the portal's sign-in links) for this portal."""
    platform.ports["portal"] = free_port()
    platform.env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{platform.ports['portal']}"


def start_portal(platform, accounts, trust_id):
    """Add the local OpenID provider and the portal to a running e2e Platform."""
    oidc_port = free_port()
    portal_port = platform.ports.setdefault("portal", free_port())
    portal_url = f"http://127.0.0.1:{portal_port}"
    accounts_file = localidp.write_accounts(platform.tmp / "accounts.json", accounts)
    log = open(platform.logs / "oidc.log", "ab")
    platform.procs["oidc"] = subprocess.Popen(
        localidp.command(oidc_port, portal_url, accounts_file, SECRET), cwd=ROOT,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    platform.env.update(PUBLIC_BASE_URL=portal_url, TRUST_ORG_ID=trust_id,
                        **localidp.portal_settings(oidc_port, SECRET),
                        **{f"{s.upper()}_URL": platform.url(s) for s in platform.services})
    platform.senctl("migrate", "portal")
    platform.start_service("portal")
    platform.wait_ready("portal")
    return portal_url


@contextmanager
def demo_world(tmp_path, env=None):
    """The five services seeded by `senctl demo`, then the local OpenID provider and the
    portal: yields (platform, portal URL, the trust's id, senctl demo's output)."""
    from tests.e2e.conftest import Platform
    platform = Platform(tmp_path, ("pupils", "provision", "cpd", "referrals", "notify"),
                        env=env)
    reserve_portal(platform)
    platform.start()
    try:
        seeded = platform.senctl("demo")
        trust = next(line.split("\t")[1] for line in seeded.splitlines()
                     if line.startswith("trust\t"))
        yield platform, start_portal(platform, localidp.demo_accounts(), trust), trust, seeded
    finally:
        platform.stop()


def frontdoor_ready(platform):
    """pupils' sign-in lookup (the "frontdoor" branch): 401 without a token once it exists."""
    resp = requests.post(platform.url("pupils") + "/api/v1/sign-in/lookup", json={}, timeout=5)
    return resp.status_code != 404


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1600"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def axe_check(browser, name=None):
    """Run axe-core on the page; fail on any serious or critical violation; screenshot it."""
    if not browser.execute_script("return typeof window.axe !== 'undefined'"):
        browser.execute_script(AXE.read_text())
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));")
    bad = [(v["id"], v["impact"], v["help"], [n.get("target") for n in v["nodes"]][:3])
           for v in result if v["impact"] in ("serious", "critical")]
    assert bad == [], (browser.current_url, bad)
    if name:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(SCREENSHOTS) / f"{name}.png"))


def shows(browser, by, what, text, timeout=15):
    WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: text in d.find_element(by, what).text)


def fill(browser, field_id, value):
    element = browser.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(value)


def fill_date(browser, name, day):
    for part, value in (("day", day.day), ("month", day.month), ("year", day.year)):
        fill(browser, f"{name}-{part}", str(value))
