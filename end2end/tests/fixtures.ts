import { expect, type Page } from '@playwright/test';
import crypto from 'node:crypto';

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

/** The ingest token the test server runs with (see serve.sh). */
export const INGEST_TOKEN = 'e2e-ingest-token-0123456789abcdefghijklmnopqrstuvwxyz';

export type Received = { headers: Record<string, string>; body: string };

/** A merchant server on loopback: records each delivery and answers `status(delivery)`. */
export async function startReceiver(status: (r: Received) => number = () => 200) {
  const http = await import('node:http');
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = String(v);
      const delivery = { headers, body };
      received.push(delivery);
      res.writeHead(status(delivery), { 'content-type': 'text/plain' });
      res.end('receiver says hello');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('receiver has no port');
  return {
    url: `http://127.0.0.1:${address.port}/hook`,
    received,
    // Drops kept-alive connections too: Hookline's delivery client may still
    // hold one open, and close() alone would wait for it.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Checks a Standard Webhooks signature header against a `whsec_` secret. */
export function signatureValid(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signed = `${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`;
  const expected = crypto.createHmac('sha256', key).update(signed).digest('base64');
  return (r.headers['webhook-signature'] ?? '').split(' ').some((s) => s === `v1,${expected}`);
}

/** Publishes an event as the platform's services do. */
export async function publish(baseURL: string, merchantId: string, type: string, data: unknown) {
  const res = await fetch(`${baseURL}/internal/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ merchant_id: merchantId, mode: 'sandbox', type, data }),
  });
  if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
  return (await res.json()).id as string;
}

/** Saves a screenshot for the README. */
export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: `../docs/screenshots/${name}.png`, fullPage: true });
}
