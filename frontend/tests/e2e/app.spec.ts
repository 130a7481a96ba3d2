import type { Page } from "@playwright/test";
import { expect, test, watch } from "./fixtures";

const password = "correct horse battery";
let counter = 0;
const newEmail = (who: string) => `${who}-${Date.now()}-${counter++}@example.com`;

async function signUp(page: Page, email: string, name = "Test User") {
  await page.goto("/signup");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "Tasks" })).toBeVisible();
}

async function signIn(page: Page, email: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Tasks" })).toBeVisible();
}

const taskList = (page: Page) => page.getByRole("list", { name: "Task list" });

async function chat(page: Page, message: string) {
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  await box.fill(message);
  await box.press("Enter");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible(); // not "Sending…"
  await expect(box).toHaveValue("");
}

test("signed-out visitors are sent to sign in", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await page.screenshot({ path: "test-results/screens/login.png", fullPage: true });
});

test("sign up, sign out and sign in again", async ({ page }) => {
  const email = newEmail("ann");
  await signUp(page, email, "Ann");
  await expect(page.getByText("Signed in as Ann")).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await signIn(page, email);
  await expect(page.getByText("Signed in as Ann")).toBeVisible();
});

test("wrong password is refused with a message", async ({ page }) => {
  const email = newEmail("bob");
  await signUp(page, email);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  // The form's alert, not Next's route announcer (also role=alert, filled after a navigation).
  await expect(page.getByRole("alert").filter({ hasText: "Invalid email or password" })).toBeVisible();
  await expect(page).toHaveURL(/\/login$/);
});

test("add, edit, complete and delete a task; reload keeps them", async ({ page }) => {
  await signUp(page, newEmail("tasks"));
  await expect(page.getByText("No tasks yet")).toBeVisible();

  await page.getByLabel("New task title").fill("water the plants");
  await page.getByLabel("Description (optional)").fill("balcony too");
  await page.getByRole("button", { name: "Add task" }).click();
  await expect(taskList(page).getByText("water the plants")).toBeVisible();
  await expect(taskList(page).getByText("balcony too")).toBeVisible();

  await page.getByRole("button", { name: "Edit water the plants" }).click();
  await page.getByLabel("Title", { exact: true }).fill("water all plants");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(taskList(page).getByText("water all plants")).toBeVisible();

  await page.getByRole("checkbox", { name: /water all plants/ }).check();
  await page.reload();
  await expect(page.getByRole("checkbox", { name: /water all plants/ })).toBeChecked();
  await page.getByRole("button", { name: "Completed" }).click();
  await expect(taskList(page).getByText("water all plants")).toBeVisible();
  await page.getByRole("button", { name: "Pending" }).click();
  await expect(page.getByText("No pending tasks.")).toBeVisible();
  await page.getByRole("button", { name: "All" }).click();

  await page.getByRole("button", { name: "Delete water all plants" }).click();
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  await expect(page.getByText("No tasks yet")).toBeVisible();
  await page.reload();
  await expect(page.getByText("No tasks yet")).toBeVisible();
});

test("the assistant adds and completes tasks, and the list follows", async ({ page }) => {
  await signUp(page, newEmail("chat"));
  await chat(page, "add buy milk");
  const log = page.getByRole("log", { name: "Messages" });
  await expect(log.getByText("Added task 'buy milk'")).toBeVisible();
  await expect(taskList(page).getByText("buy milk")).toBeVisible();

  await chat(page, "mark buy milk done");
  await expect(log.getByText("Completed task 'buy milk'")).toBeVisible();
  await expect(page.getByRole("checkbox", { name: /buy milk/ })).toBeChecked();
  await page.screenshot({ path: "test-results/screens/app.png", fullPage: true });

  await page.reload();
  await expect(page.getByRole("checkbox", { name: /buy milk/ })).toBeChecked();
  await page.getByLabel("Conversation").selectOption({ label: "add buy milk" });
  await expect(log.getByText("mark buy milk done")).toBeVisible();
});

test("a second user sees none of the first user's tasks", async ({ browser }) => {
  const first = await browser.newPage();
  const firstProblems = watch(first);
  await signUp(first, newEmail("first"));
  await first.getByLabel("New task title").fill("first user's secret");
  await first.getByRole("button", { name: "Add task" }).click();
  await expect(taskList(first).getByText("first user's secret")).toBeVisible();

  const context = await browser.newContext(); // separate cookies
  const second = await context.newPage();
  const secondProblems = watch(second);
  await signUp(second, newEmail("second"));
  await expect(second.getByText("No tasks yet")).toBeVisible();
  await chat(second, "show my tasks");
  await expect(second.getByRole("log", { name: "Messages" }).getByText("You have no tasks.")).toBeVisible();
  await expect(second.getByText("first user's secret")).toHaveCount(0);
  await context.close();
  expect([...firstProblems, ...secondProblems], "console errors and failed page assets").toEqual([]);
});

test("every page has an icon: no request for one fails", async ({ page, request }) => {
  await page.goto("/login");
  const icon = page.locator('link[rel="icon"]').first();
  await expect(icon).toHaveAttribute("href", /.+/);
  for (const path of [(await icon.getAttribute("href")) ?? "", "/favicon.ico"]) {
    const res = await request.get(path);
    expect(res.status(), path).toBe(200);
    expect(res.headers()["content-type"], path).toMatch(/^image\//);
  }
});

// Presses Tab from the top of the page until the labelled field has the focus.
async function tabTo(page: Page, label: string) {
  await page.locator("body").focus();
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    if (await page.getByLabel(label, { exact: true }).evaluate((el) => el === document.activeElement)) break;
  }
  await expect(page.getByLabel(label, { exact: true })).toBeFocused();
}

test("the sign-in and sign-up forms are in the page's HTML, before any script runs", async ({ request }) => {
  for (const path of ["/login", "/signup"]) {
    const html = await (await request.get(path)).text();
    expect(html).toMatch(/<form[^>]*method="post"/);
    for (const field of ["email", "password"]) expect(html).toContain(`name="${field}"`);
  }
});

test("keyboard only: sign up and add a task", async ({ page }) => {
  await page.goto("/signup");
  // Keystrokes are not auto-waited like clicks: start once React owns the form
  // (it marks the DOM nodes it hydrated), so Enter runs the app's submit.
  await page.waitForFunction(() => Object.keys(document.querySelector("form") ?? {}).some((k) => k.startsWith("__react")));
  await tabTo(page, "Name");
  await page.keyboard.type("Kim");
  await page.keyboard.press("Tab");
  await page.keyboard.type(newEmail("keys"));
  await page.keyboard.press("Tab");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Tasks" })).toBeVisible();

  // Tab from the top of the page to the new-task field, then type and press Enter.
  await tabTo(page, "New task title");
  await page.keyboard.type("typed without a mouse");
  await page.keyboard.press("Enter");
  await expect(taskList(page).getByText("typed without a mouse")).toBeVisible();
  await expect(page.getByLabel("New task title")).toBeFocused();
});

test("works on a phone-sized screen @phone", async ({ page }) => {
  await signUp(page, newEmail("phone"));
  await page.getByLabel("New task title").fill("from my phone");
  await page.getByRole("button", { name: "Add task" }).click();
  await expect(taskList(page).getByText("from my phone")).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: "test-results/screens/phone.png", fullPage: true });
});
