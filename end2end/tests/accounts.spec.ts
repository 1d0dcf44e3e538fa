import { test, expect } from '@playwright/test';
import { ADMIN, PASSWORD, logIn, open, signUp, uniqueEmail } from './fixtures';

test('a merchant signs up, logs out and logs back in', async ({ page }) => {
  const email = uniqueEmail('flow');
  await signUp(page, 'Playwright Coffee', email);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByText('Sandbox mode', { exact: false }).first()).toBeVisible();

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('heading', { name: 'Log in to Hookline' })).toBeVisible();

  await logIn(page, email, PASSWORD);
  await expect(page.getByTestId('business-name')).toHaveText('Playwright Coffee');
});

test('sign-up shows each problem next to its field and keeps what was typed', async ({ page }) => {
  await open(page, '/signup');
  await page.getByLabel('Business name').fill('Short Password Ltd');
  await page.getByLabel('Work email').fill('not-an-email');
  await page.getByLabel('Password').fill('tooshort');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('#field-email-message')).toContainText('email address like');
  await expect(page.locator('#field-password-message')).toContainText('at least 12 characters');
  await expect(page.getByLabel('Work email')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Business name')).toHaveValue('Short Password Ltd');
  await expect(page).toHaveURL(/\/signup$/);
});

test('a wrong password gets one clear message', async ({ page }) => {
  await logIn(page, 'nobody@shop.test', 'not the right password');
  await expect(page.getByRole('alert')).toContainText('email or password is not correct');
});

test('the mode switch moves the merchant between sandbox and live', async ({ page }) => {
  await signUp(page, 'Mode Switch Ltd', uniqueEmail('mode'));
  await page.getByRole('button', { name: 'Live' }).click();
  await expect(page.locator('.mode-banner h2')).toContainText('Live');
  await expect(page.getByRole('button', { name: 'Live' })).toHaveAttribute('aria-pressed', 'true');
  await page.getByRole('button', { name: 'Sandbox' }).click();
  await expect(page.locator('.mode-banner h2')).toContainText('Sandbox');
});

test('an admin reaches /admin and finds merchants', async ({ page, browser }) => {
  const merchant = await browser.newPage();
  await signUp(merchant, 'Directory Bakery', uniqueEmail('dir'));
  await merchant.close();

  await logIn(page, ADMIN.email, ADMIN.password);
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByRole('heading', { name: 'Merchants' })).toBeVisible();
  await page.getByLabel('Search by business name').fill('Directory Bakery');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('cell', { name: 'Directory Bakery' })).toBeVisible();
});

test('a merchant gets a 403 page at /admin', async ({ page }) => {
  await signUp(page, 'Curious Merchant', uniqueEmail('curious'));
  const response = await page.goto('/admin');
  expect(response?.status()).toBe(403);
  await expect(page.getByRole('heading', { name: "You don't have access to this page" })).toBeVisible();
});

test('a visitor is sent to log in and comes back after', async ({ page }) => {
  await page.goto('/admin');
  await expect(page).toHaveURL(/\/login\?next=\/admin$/);
  await logIn(page, ADMIN.email, ADMIN.password, '/login?next=/admin');
  // The sign-in page's own address ends in /admin too: match the path alone.
  await expect(page).toHaveURL(/^[^?]*\/admin$/);
  await expect(page.getByRole('heading', { name: 'Merchants' })).toBeVisible();
});

test('a session that ends while the portal is open offers a way back through sign-in', async ({ page, context }) => {
  const email = uniqueEmail('ended');
  await signUp(page, 'Ended Session Ltd', email);
  // Signed out elsewhere: the open page still shows the merchant, its next call is refused.
  await context.clearCookies();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Endpoints', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText('You are signed out');
  await page.getByTestId('sign-in-again').click();
  await expect(page).toHaveURL(/\/login\?next=\/endpoints$/);
  await logIn(page, email, PASSWORD, '/login?next=/endpoints');
  await expect(page).toHaveURL(/^[^?]*\/endpoints$/);
  await expect(page.getByRole('heading', { name: 'Endpoints' })).toBeVisible();
});

test('a form sent after the session ended says so, keeps what was typed and offers sign-in', async ({ page, context }) => {
  const email = uniqueEmail('ended-form');
  await signUp(page, 'Ended Form Ltd', email);
  await open(page, '/endpoints/new');
  await context.clearCookies();
  await page.getByLabel('Endpoint URL').fill('https://hooks.example/in');
  await page.locator('#type-payin-succeeded').check();
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  const refusal = page.locator('.form-error');
  await expect(refusal).toContainText('You are signed out');
  await expect(page.getByLabel('Endpoint URL')).toHaveValue('https://hooks.example/in');
  await refusal.getByTestId('sign-in-again').click();
  await expect(page).toHaveURL(/\/login\?next=\/endpoints\/new$/);
  await logIn(page, email, PASSWORD, '/login?next=/endpoints/new');
  await expect(page.getByRole('heading', { name: 'Add an endpoint' })).toBeVisible();
  await expect(page).toHaveURL(/^[^?]*\/endpoints\/new$/);
  // Nothing was stored by the refused submission.
  await open(page, '/endpoints');
  await expect(page.getByText('No endpoints in sandbox mode yet')).toBeVisible();
});

test('unknown pages are a 404', async ({ page }) => {
  const response = await page.goto('/does-not-exist');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});

test('the portal fits a 375 px screen and works by keyboard', async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 740 });
  await signUp(page, 'Small Screen Shop', uniqueEmail('small'));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await open(page, '/login');
  // Signed in, /login sends the merchant home; tab to the first control and see focus.
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement?.textContent ?? '');
  expect(focused).toContain('Skip to content');
});
