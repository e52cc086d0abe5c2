#!/usr/bin/env python3
"""Drives headless Chromium (Selenium) through the operator's view, as an operator would.

It logs in with HTTP Basic credentials, opens /sessions once and never reloads it, and
waits for what the live updates must show: the agent ID appearing, its row saying
"1 connected" while a session runs and that session's bytes growing, and the row going
away when the agent has left. It prints `step NAME` when the test script should do the
next thing, and one `PASS text` or `FAIL text` line per check; screenshots go to DIR.

usage: sessions_browser.py http://HOST:PORT USER PASSWORD ID DIR
"""
import base64
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

base, user, password, agent_id, shots = sys.argv[1:6]


def say(line):
    print(line, flush=True)


def check(text, ok):
    say(("PASS " if ok else "FAIL ") + text)
    return ok


def wait(seconds, condition):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception:  # an element replaced by the next update while read
            pass
        time.sleep(0.2)
    return None


options = Options()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,900"):
    options.add_argument(flag)
driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
try:
    # Basic credentials on every request of the page, the event stream's included.
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": "Basic " + token}})
    driver.get(base + "/sessions")
    check("the page opens with Basic credentials", driver.title == "Converge sessions")
    # Set once: still there at the end means the page was never reloaded.
    driver.execute_script("window.notReloaded = 'yes'")
    check("the page goes live (Server-Sent Events)", wait(10, lambda: driver.find_element(By.ID, "status").text.startswith("live")))
    say("step loaded")

    row = f'tr.agent[data-id="{agent_id}"]'
    check("the agent appears without a reload", wait(30, lambda: driver.find_elements(By.CSS_SELECTOR, row)))
    say("step appeared")

    state = lambda: driver.find_element(By.CSS_SELECTOR, row + " td.state").text
    check("its row changes to \"1 connected\" while a session runs", wait(30, lambda: state().startswith("1 connected")))
    down = lambda: int(driver.find_element(By.CSS_SELECTOR, f'tr.session[data-id="{agent_id}"] span.down').text)
    first = wait(20, lambda: down() or None) or 0
    check("the session's bytes grow on the page", wait(20, lambda: down() > first))
    driver.save_screenshot(f"{shots}/sessions-connected.png")
    say("step connected")

    check("the agent's row goes away when it has left", wait(60, lambda: not driver.find_elements(By.CSS_SELECTOR, row)))
    check("the page was never reloaded", driver.execute_script("return window.notReloaded") == "yes")
    driver.save_screenshot(f"{shots}/sessions-left.png")
finally:
    driver.quit()
say("step done")
