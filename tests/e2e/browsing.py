"""Small helpers for the browser tests: how to open a context and how to log in."""

from playwright.sync_api import Browser, BrowserContext, Page, expect

PASSWORD = "xaso-demo"


def new_context(browser: Browser, base_url: str, storage_state=None) -> BrowserContext:
    # The reference user's phone asks for Vietnamese.
    context = browser.new_context(base_url=base_url, locale="vi-VN", storage_state=storage_state)
    context.set_default_timeout(10_000)
    return context


def log_in(page: Page, username: str) -> None:
    """Log in through the real login form, as a person does."""
    page.goto("/login/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
