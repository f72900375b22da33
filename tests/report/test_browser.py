"""The site in a real browser: headless Chromium via selenium, loaded from file://.

Skipped (with the reason) when Chromium, chromedriver or selenium is missing, except under CI
(``CI`` set), where a missing browser is a failure: ``.ci/run`` installs ``chromium chromium-driver``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SRBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SRBENCH_CHROMEDRIVER", "/usr/bin/chromedriver")


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} not found (apt-get install -y {pkg})"
    return None


@pytest.fixture
def driver(tmp_path):
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run under CI: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_path / 'chrome-profile'}", "--window-size=1280,1400"):
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(30)
    try:
        yield d
    finally:
        d.quit()


def _methods(table) -> list[str]:
    from selenium.webdriver.common.by import By

    return [row.find_element(By.CSS_SELECTOR, "th").text.split(" stoch.")[0]
            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def test_sort_by_clicking_header(site, driver, tmp_path):
    from selenium.webdriver.common.by import By

    driver.get((site / "index.html").as_uri())
    table = driver.find_element(By.ID, "table-set5_x4_rgb")
    before = _methods(table)
    assert before[0] == "edsr"  # server-side default: best PSNR first (ranked cells before stale ones)

    headers = table.find_elements(By.CSS_SELECTOR, "thead th")
    lpips = next(h for h in headers if h.text.startswith("lpips"))
    lpips.find_element(By.TAG_NAME, "button").click()
    after = _methods(table)
    assert after != before
    assert after[:2] == ["esrgan:gan", "srflow"]  # lower LPIPS is better: best first on the first click
    assert lpips.get_attribute("aria-sort") == "ascending"
    assert set(after[-2:]) == {"oldnet", "partialnet"}  # no LPIPS value: always last
    shot = tmp_path / "leaderboard.png"
    assert driver.save_screenshot(str(shot))

    lpips.find_element(By.TAG_NAME, "button").click()  # second click reverses
    assert _methods(table)[0] == "bicubic"
    assert lpips.get_attribute("aria-sort") == "descending"

    method = headers[0].find_element(By.TAG_NAME, "button")
    method.click()
    names = _methods(table)
    assert names == sorted(names, key=str.lower)

    # the escaped method name shows as text, no alert fired
    assert "<script>alert(1)</script>" in _methods(table)
    driver.get((site / "img" / "set5_x4_rgb" / "baby.html").as_uri())
    crops = driver.find_elements(By.CSS_SELECTOR, "img.crop")
    assert crops and all(driver.execute_script("return arguments[0].naturalWidth", c) > 0 for c in crops)
    shot2 = tmp_path / "image_page.png"
    assert driver.save_screenshot(str(shot2))
    extra = os.environ.get("SRBENCH_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        for s in (shot, shot2):
            shutil.copyfile(s, Path(extra) / s.name)


def test_reported_rows_stay_apart_when_sorting(fixture_runs, driver, tmp_path):
    """A paper's reported rows render in their own block below the measured rows, look different, and sorting a
    column never mixes them into the ranking."""
    from selenium.webdriver.common.by import By

    from srbench.report import build_site

    reported = Path(__file__).resolve().parents[2] / "leaderboards" / "reported" / "dsrvae.yaml"
    site = build_site(list(fixture_runs) + [reported], tmp_path / "site").parent
    driver.get((site / "index.html").as_uri())
    table = driver.find_element(By.ID, "table-set5_x4_rgb")
    bodies = table.find_elements(By.TAG_NAME, "tbody")
    assert len(bodies) == 2 and "reported" in bodies[1].get_attribute("class")
    head = bodies[1].find_element(By.CSS_SELECTOR, "tr.reported-head")
    assert head.is_displayed() and "not measured by srbench" in head.text
    rows = bodies[1].find_elements(By.CSS_SELECTOR, "tr.reported")
    assert rows and all(r.is_displayed() for r in rows)
    measured_bg = bodies[0].find_element(By.CSS_SELECTOR, "tr td").value_of_css_property("background-color")
    reported_bg = rows[0].find_element(By.TAG_NAME, "td").value_of_css_property("background-color")
    assert measured_bg != reported_bg
    n_measured = len(bodies[0].find_elements(By.TAG_NAME, "tr"))
    psnr = next(h for h in table.find_elements(By.CSS_SELECTOR, "thead th") if h.text.startswith("psnr_y"))
    for _ in range(2):  # both directions
        psnr.find_element(By.TAG_NAME, "button").click()
        bodies = table.find_elements(By.TAG_NAME, "tbody")
        assert len(bodies[0].find_elements(By.TAG_NAME, "tr")) == n_measured
        assert all("reported" not in r.get_attribute("class") for r in bodies[0].find_elements(By.TAG_NAME, "tr"))
        assert len(bodies[1].find_elements(By.CSS_SELECTOR, "tr.reported")) == len(rows)
    flagged = table.find_elements(By.CSS_SELECTOR, "td.disagrees")
    assert flagged and "srbench" in flagged[0].text
    shot = tmp_path / "leaderboard_reported.png"
    assert driver.save_screenshot(str(shot))
    extra = os.environ.get("SRBENCH_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(extra) / shot.name)
