import { test, expect } from '@playwright/test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { PASSWORD, open, screenshot, signUp, uniqueEmail } from './fixtures';

test('a merchant creates an API key, sees it once, uses it, and revokes it', async ({ page, baseURL }) => {
  await signUp(page, `API Shop ${Date.now()}`, uniqueEmail('api'));
  await open(page, '/api-keys');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.locator('#field-name-message')).toContainText('Name the key');
  await page.getByLabel('Name').fill('CI deploys');
  await page.getByLabel('Allowed source addresses').fill('not-a-network');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.locator('#field-allowlist-message')).toContainText('not an IP network');
  await expect(page.getByLabel('Name')).toHaveValue('CI deploys');
  await page.getByLabel('Allowed source addresses').fill('127.0.0.1/32');
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = (await page.getByTestId('new-api-key').textContent())!.trim();
  expect(key).toMatch(/^hk_test_/);
  const row = page.getByTestId('api-key').filter({ hasText: 'CI deploys' });
  await expect(row).toContainText('Active');
  await expect(row).toContainText('127.0.0.1/32');
  await screenshot(page, 'api-keys');

  const created = await fetch(`${baseURL}/v1/endpoints`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'e2e-1' },
    body: JSON.stringify({ url: 'https://hooks.api-shop.test/in', event_types: ['payin.succeeded'] }),
  });
  expect(created.status).toBe(201);
  await open(page, '/endpoints');
  await expect(page.getByText('https://hooks.api-shop.test/in')).toBeVisible();

  await open(page, '/api-keys');
  await expect(page.getByTestId('api-key').filter({ hasText: 'CI deploys' })).not.toContainText('Never');
  await expect(page.locator('body')).not.toContainText(key);
  await expect(row.getByRole('button', { name: 'Revoke now' })).toBeHidden();
  await row.getByText('Revoke…').click();
  await row.getByRole('button', { name: 'Revoke now' }).click();
  await expect(page.getByTestId('api-key').filter({ hasText: 'CI deploys' })).toContainText('Revoked');
  const refused = await fetch(`${baseURL}/v1/endpoints`, { headers: { authorization: `Bearer ${key}` } });
  expect(refused.status).toBe(401);
  expect(refused.headers.get('content-type')).toBe('application/problem+json');
});

test('a key that may read signing secrets asks for the password again', async ({ page }) => {
  await signUp(page, `Reader Shop ${Date.now()}`, uniqueEmail('reader'));
  await open(page, '/api-keys');
  await page.getByLabel('Name').fill('Secret reader');
  await page.getByLabel("May read endpoints' signing secrets").check();
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.locator('#field-password-message')).toContainText('Enter your password');
  await page.getByLabel('Your password').fill('not my password');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.locator('#field-password-message')).toContainText('not correct');
  await expect(page.getByTestId('new-api-key')).toHaveCount(0);
  await page.getByLabel('Your password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByTestId('new-api-key')).toBeVisible();
  await expect(page.getByTestId('api-key').filter({ hasText: 'Secret reader' })).toContainText('Reads secrets');
});

test('the served OpenAPI document is a valid OpenAPI 3.1 description', async ({ baseURL }) => {
  const res = await fetch(`${baseURL}/v1/openapi.json`);
  expect(res.status).toBe(200);
  const doc = await res.json();
  expect(doc.openapi).toBe('3.1.0');
  // Throws, naming the problem, if the document is not valid.
  await SwaggerParser.validate(structuredClone(doc));
  expect(Object.keys(doc.paths)).toContain('/v1/events');
});
