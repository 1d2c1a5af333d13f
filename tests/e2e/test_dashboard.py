"""End to end: the dashboard in Debian's headless Chromium, driven by Playwright, on live workers.

Screenshots go to `$ORDERHUB_TEST_ARTIFACTS` (default `artifacts/`) as test artifacts.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.async_api import Page, async_playwright

from app.demo_data import generate
from tests.integration.console_fixture import Hub, hub  # noqa: F401  (module fixture)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("ORDERHUB_TEST_ARTIFACTS", "artifacts")) / "screenshots"


async def _number(page: Page, selector: str) -> int:
    text = (await page.text_content(selector)) or ""
    return int(text) if text.strip().isdigit() else -1


def _events_shown(page: Page):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return await _number(page, "#events-total") > 0
    return check


async def _until(check, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.3)


@pytest.fixture
def screenshots() -> Path:
    assert Path(CHROMIUM).exists(), "install Debian's chromium: make browser"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


async def test_dashboard_live_numbers_search_timeline_and_approval(hub: Hub, screenshots: Path) -> None:  # noqa: F811
    oli = hub.paid[7]
    status, body = await hub.call("POST", f"/api/orders/{quote(oli, safe='')}/commands", "olga",
                                  body={"command": "set_carrier", "params": {"carrier": "ZTO"}, "reason": "SF full"})
    assert status == 202, body
    view = await hub.wait_for(f"/api/orders/{quote(oli, safe='')}", lambda b: bool(b["approvals"]))
    approval_id = view["approvals"][0]["approval_id"]
    status, _ = await hub.call("POST", f"/api/approvals/{quote(approval_id, safe='')}/approve", "bob",
                               body={"reason": "first level"})
    assert status == 202

    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1100})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(hub.urls[0] + "/")
            await page.fill("#token", hub.tokens["amy"])
            await page.click("#login button")
            await page.wait_for_function("document.querySelector('#who').textContent.includes('amy')")
            await _until(_events_shown(page), timeout=20)  # the first stats answer can take a moment
            before = await _number(page, "#events-total")
            assert before > 0
            await page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)

            # live numbers move as orders flow
            p = hub.pipeline
            stories = generate(15, seed=99, shops=1)
            topic = {"channel_order": p.names.channel_orders, "payment": p.names.payments}
            await p.produce([(topic[s.kind], s.key, s.value) for st in stories for s in st.sends])

            async def grew() -> bool:
                return await _number(page, "#events-total") > before
            await _until(grew)
            assert "%" in ((await page.text_content("#intervention-rate")) or "")
            await page.screenshot(path=str(screenshots / "dashboard-live.png"), full_page=True)

            # search finds the order and shows its timeline
            await page.fill("#q", oli)
            await page.click("#search button")
            await page.click(f"#results a[data-oli='{oli}']")
            await page.wait_for_selector("#timeline li")
            timeline = (await page.text_content("#timeline")) or ""
            assert "OrderCreated" in timeline and "FulfillmentRequested" in timeline
            assert "approval_requested" in timeline and "olga" in timeline
            await page.screenshot(path=str(screenshots / "order-timeline.png"), full_page=True)

            # the second approver approves in the UI
            row = page.locator(f"tr[data-approval='{approval_id}']")
            await row.wait_for()
            await row.locator(".reason").fill("carrier contract checked")
            await row.locator("button.approve").click()
            done = await hub.wait_for(f"/api/orders/{quote(oli, safe='')}",
                                      lambda b: b["order"]["fulfillment"]["carrier"] == "ZTO")
            assert done["approvals"][0]["approvers"] == ["bob", "amy"]
            await page.click(f"#results a[data-oli='{oli}']")
            await page.wait_for_function("document.querySelector('#timeline').textContent.includes('command_applied')")
            await page.screenshot(path=str(screenshots / "approved.png"), full_page=True)
        finally:
            await browser.close()
    assert not errors, errors
