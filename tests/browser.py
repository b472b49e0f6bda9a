"""A report page as a person sees it: headless Chromium (Debian's package) driven by Playwright.

``python -m tests.browser REPORT.html OUT.png`` saves the first screen of a report at 1,400 x 900
pixels (the README's picture of the report is made this way) and prints what fits in it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

#: Debian's Chromium (``apt-get install chromium``); Playwright drives it instead of a browser of its own.
CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")

WIDTH, HEIGHT = 1400, 900

_MEASURE = """() => {
  const box = (el) => el ? el.getBoundingClientRect().toJSON() : null;
  const tables = Array.from(document.querySelectorAll('table')).map(t => box(t));
  return {scroll_width: document.documentElement.scrollWidth, client_width: document.documentElement.clientWidth,
          summary: box(document.querySelector('#summary')),
          ranking: box(document.querySelector('section:nth-of-type(2) table')),
          tables: tables, images: Array.from(document.images).map(i => [i.naturalWidth, i.complete])};
}"""


def first_screen(html: Path, out: Path, width: int = WIDTH, height: int = HEIGHT) -> dict:
    """Open ``html`` in headless Chromium at ``width`` x ``height``, save the first screen to ``out``.

    Returns:
        The page's widths, the boxes of the summary, the ranking table and every table, and the images' sizes.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(Path(html).resolve().as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(out))
            return page.evaluate(_MEASURE)
        finally:
            browser.close()


if __name__ == "__main__":
    found = first_screen(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{sys.argv[2]}: page {found['scroll_width']} px wide in a {found['client_width']} px window; summary "
          f"ends at {found['summary']['bottom']:.0f} px, the ranking table at {found['ranking']['bottom']:.0f} px "
          f"(the first screen is {HEIGHT} px)")
