"""The web pages end to end in headless Chromium (Debian chromium + chromium-driver via
Selenium), against a real server process: log in, enroll and randomize with the
eligibility checklist, see the patient list, the statistician's balance dashboard,
HttpOnly cookies, and CSRF refusal. Skipped only when the browser is not installed."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from oncotrial.irt.db.engine import make_engine
from oncotrial.irt.testing import ServerProcess, prepare_trial
from oncotrial.irt.services.setup import add_user

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
PASSWORD = "web-pass-1234"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    # One server per test: each test's randomization numbers and dashboard counts are its
    # own, whatever order the tests run in.
    db_url = "sqlite:///" + str(tmp_path / "web.sqlite")
    prepare_trial(db_url, n_sites=2, per_stratum=20)
    engine = make_engine(db_url)
    add_user(engine, "carol", "site_coordinator", site="S01", password=PASSWORD, actor="test")
    add_user(engine, "dave", "site_coordinator", site="S02", password=PASSWORD, actor="test")
    add_user(engine, "stella", "statistician", password=PASSWORD, actor="test")
    add_user(engine, "mona", "monitor", site="S01", password=PASSWORD, actor="test")
    engine.dispose()
    with ServerProcess(db_url) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(f"headless Chromium not installed ({CHROMIUM}, {CHROMEDRIVER})")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="oncotrial-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _submit(driver, button_id: str) -> None:
    """Click a submit button and wait until the next page has replaced this one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # Mark this document; the next page is there when the mark is gone and it has loaded.
    # (Waiting for the old element to go stale races with Chromium's inspector.)
    driver.execute_script("window.__oncotrial_old_page = true")
    driver.find_element(By.ID, button_id).click()

    def next_page_loaded(d) -> bool:
        try:
            return bool(d.execute_script(
                "return window.__oncotrial_old_page === undefined && document.readyState === 'complete'"))
        except WebDriverException:  # the page is being replaced right now
            return False

    WebDriverWait(driver, 20).until(next_page_loaded)


def _login(driver, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    _submit(driver, "submit")


def _randomize(driver, base: str, subject: str, strata: dict[str, str], confirm_all: bool = True) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(base + "/randomize")
    driver.find_element(By.ID, "subject_id").send_keys(subject)
    boxes = driver.find_elements(By.CSS_SELECTOR, "input[type=checkbox][name^=elig_]")
    assert len(boxes) == 6  # PATINA's eligibility checklist
    for box in boxes if confirm_all else boxes[:-1]:
        box.click()
    for factor, level in strata.items():
        Select(driver.find_element(By.ID, f"strata_{factor}")).select_by_value(level)
    _submit(driver, "randomize")


STRATA = {"induction_response": "SD", "prior_antiher2": "YES", "endocrine_therapy": "FULV", "her2_blockade": "DUAL"}


@pytest.mark.slow
def test_coordinator_randomizes_in_the_browser(server, browser):
    from selenium.webdriver.common.by import By

    base = server.base_url
    _login(browser, base, "carol")
    assert browser.current_url.endswith("/patients"), browser.page_source[:3000]
    assert "carol (site_coordinator, site S01)" in browser.find_element(By.ID, "whoami").text
    session = browser.get_cookie("ot_session")
    assert session is not None and session["httpOnly"] is True
    assert browser.get_cookie("ot_csrf")["httpOnly"] is True

    # An unconfirmed eligibility criterion is refused, naming it, and nothing is randomized.
    _randomize(browser, base, "W-001", STRATA, confirm_all=False)
    assert "eligibility EX01" in browser.find_element(By.ID, "error").text

    _randomize(browser, base, "W-001", STRATA)
    assert browser.find_element(By.ID, "randomization_number").text == "1"
    arm = browser.find_element(By.ID, "arm").text
    assert arm[0] in "AB"

    _randomize(browser, base, "W-001", STRATA)  # a new form for the same subject
    assert "already randomized" in browser.find_element(By.ID, "error").text

    browser.get(base + "/patients")
    subjects = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "tr.patient td.subject")]
    assert subjects == ["W-001"]

    # Another site's coordinator does not see it.
    _login(browser, base, "dave")
    _randomize(browser, base, "W-002", {**STRATA, "her2_blockade": "SINGLE"})
    assert browser.find_element(By.ID, "randomization_number").text == "2"
    browser.get(base + "/patients")
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, "tr.patient td.subject")] == ["W-002"]
    browser.get(base + "/dashboard")
    assert "does not see the balance dashboard" in browser.find_element(By.ID, "error").text

    # The statistician's dashboard shows both, by stratum.
    _login(browser, base, "stella")
    assert browser.current_url.endswith("/dashboard")
    assert browser.find_element(By.ID, "total").text == "2"
    rows = {e.get_attribute("data-stratum"): e.find_element(By.CSS_SELECTOR, ".stratum-total").text
            for e in browser.find_elements(By.CSS_SELECTOR, "tr.stratum")}
    assert rows["induction_response=SD|prior_antiher2=YES|endocrine_therapy=FULV|her2_blockade=DUAL"] == "1"
    assert rows["induction_response=SD|prior_antiher2=YES|endocrine_therapy=FULV|her2_blockade=SINGLE"] == "1"
    _submit(browser, "logout")
    assert browser.current_url.endswith("/login")
    browser.get(base + "/dashboard")
    assert browser.current_url.endswith("/login")


@pytest.mark.slow
def test_a_site_enters_a_form_and_sees_the_monitors_query_beside_its_field(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base = server.base_url
    _login(browser, base, "carol")
    _randomize(browser, base, "W-010", STRATA)
    browser.get(base + "/patients")
    factors = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "tr.patient td.factor")]
    assert factors[0] == "SD" and "Fulvestrant" in factors  # labels, not codes
    browser.find_element(By.LINK_TEXT, "W-010").click()
    assert browser.find_element(By.ID, "subject").text == "W-010"
    Select(browser.find_element(By.ID, "new-visit")).select_by_value("LOG")
    Select(browser.find_element(By.ID, "new-form")).select_by_value("AE")
    browser.find_element(By.ID, "new-seq").send_keys("1")
    _submit(browser, "new-entry")
    assert browser.find_element(By.ID, "new").text == "not entered yet"

    browser.find_element(By.ID, "f_AETERM").send_keys("Nausea")
    for code_field, code in (("AETOXGR", "2"), ("AESER", "N"), ("AEREL", "Y"), ("AEACN", "DOSE NOT CHANGED"),
                             ("AEOUT", "RECOVERED/RESOLVED")):
        Select(browser.find_element(By.ID, f"f_{code_field}")).select_by_value(code)
    browser.find_element(By.ID, "f_AESTDTC").send_keys("2026-02-30")
    _submit(browser, "save")
    assert "AESTDTC" in browser.find_element(By.ID, "error").text  # refused, what was typed kept
    assert browser.find_element(By.ID, "f_AETERM").get_attribute("value") == "Nausea"
    date = browser.find_element(By.ID, "f_AESTDTC")
    date.clear()
    date.send_keys("2026-02-03")
    _submit(browser, "save")
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, "tr.record td.revision")] == ["1"]

    _login(browser, base, "mona")
    browser.get(base + "/patients/W-010")
    Select(browser.find_element(By.ID, "query-record")).select_by_value("LOG|AE|1")
    browser.find_element(By.ID, "query-field").send_keys("AETOXGR")
    browser.find_element(By.ID, "query-text").send_keys("Grade 2 in the source?")
    _submit(browser, "raise-query")
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, "tr.record td.open-queries")] == ["1"]

    _login(browser, base, "carol")
    browser.get(base + "/patients/W-010/entry?visit=LOG&form=AE&seq=1")
    beside = browser.find_element(By.CSS_SELECTOR, "tr.field[data-field=AETOXGR] td.beside").text
    assert "Grade 2 in the source?" in beside


def test_forms_refuse_a_missing_or_forged_csrf_token(server):
    with httpx.Client(base_url=server.base_url) as client:
        page = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = client.post("/login", data={"name": "carol", "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 403 and "csrf" in r.text
        r = client.post("/login", data={"name": "carol", "password": PASSWORD, "csrf": "forged" * 5},
                        follow_redirects=False)
        assert r.status_code == 403
        r = client.post("/login", data={"name": "carol", "password": "wrong-password", "csrf": csrf})
        assert r.status_code == 401 and "wrong password" in r.text
        r = client.post("/login", data={"name": "carol", "password": PASSWORD, "csrf": csrf},
                        follow_redirects=False)
        assert r.status_code == 303
        assert "httponly" in r.headers.get("set-cookie", "").lower()
        # Signed in, but a cross-site form post carries the cookie without the token: refused.
        form = {"subject_id": "X-1", **{f"strata_{k}": v for k, v in STRATA.items()},
                **{f"elig_{c}": "yes" for c in ("IN01", "IN02", "IN03", "IN04", "IN05", "EX01")}}
        r = client.post("/randomize", data=form, follow_redirects=False)
        assert r.status_code == 403 and "csrf" in r.text
        # The same form submitted twice (double click) gives one randomization, shown twice.
        page = client.get("/randomize")
        form_key = re.search(r'name="form_key" value="([^"]+)"', page.text).group(1)
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        # The token belongs to this session: the double-submit cookie alone no longer passes,
        # and a foreign Origin is refused even with the right token.
        r = client.post("/randomize", data={**form, "csrf": client.cookies.get("ot_csrf"), "form_key": form_key})
        assert r.status_code == 403 and "csrf" in r.text
        r = client.post("/randomize", data={**form, "csrf": token, "form_key": form_key},
                        headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and "another site" in r.text
        first = client.post("/randomize", data={**form, "csrf": token, "form_key": form_key})
        second = client.post("/randomize", data={**form, "csrf": token, "form_key": form_key})
        number = re.compile(r'id="randomization_number">(\d+)<')
        assert first.status_code == second.status_code == 200
        assert number.search(first.text).group(1) == number.search(second.text).group(1)
