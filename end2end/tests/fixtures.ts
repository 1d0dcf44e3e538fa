import { expect, type Page } from '@playwright/test';

export const ADMIN = { email: 'admin@e2e.test', password: 'e2e admin password' };
export const PASSWORD = 'a long merchant password';

/** Opens a page and waits until the WebAssembly has hydrated it. */
export async function open(page: Page, path: string) {
  await page.goto(path);
  await page.waitForSelector('body[data-hydrated]');
}

export function uniqueEmail(prefix: string) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@shop.test`;
}

export async function signUp(page: Page, business: string, email: string) {
  await open(page, '/signup');
  await page.getByLabel('Business name').fill(business);
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByTestId('business-name')).toHaveText(business);
}

export async function logIn(page: Page, email: string, password: string, path = '/login') {
  await open(page, path);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}
