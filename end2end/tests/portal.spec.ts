import { test, expect, type Page } from '@playwright/test';
import {
  ADMIN, PASSWORD, logIn, open, publish, screenshot, signUp, signatureValid, startReceiver, uniqueEmail,
} from './fixtures';

/** Adds an endpoint through the form; answers its page's path. */
async function addEndpoint(page: Page, url: string, types: string[]) {
  await open(page, '/endpoints/new');
  await page.getByLabel('Endpoint URL').fill(url);
  for (const t of types) await page.locator(`#type-${t.replace('.', '-')}`).check();
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(page).toHaveURL(/\/endpoints\/ep_/);
  await page.waitForSelector('body[data-hydrated]');
  return new URL(page.url()).pathname;
}

async function merchantId(page: Page) {
  await open(page, '/');
  return (await page.locator('.facts dd code').first().textContent())!.trim();
}

test('adding an endpoint shows each problem beside its field and keeps what was typed', async ({ page }) => {
  await signUp(page, 'Form Check Ltd', uniqueEmail('form'));
  await open(page, '/endpoints');
  await expect(page.getByText('No endpoints in sandbox mode yet')).toBeVisible();
  await page.getByRole('link', { name: 'Add an endpoint' }).click();
  await page.waitForSelector('body[data-hydrated]');
  await page.getByLabel('Endpoint URL').fill('ftp://hooks.example/in');
  await page.getByLabel('Destination allowlist').fill('203.0.113.5/24');
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(page.locator('#field-url-message')).toContainText('https://');
  await expect(page.locator('#field-event_types-message')).toContainText('at least one');
  await expect(page.locator('#field-allowlist-message')).toContainText('203.0.113.0/24');
  await expect(page.getByLabel('Endpoint URL')).toHaveValue('ftp://hooks.example/in');
  await expect(page).toHaveURL(/\/endpoints\/new$/);
  await open(page, '/endpoints');
  await expect(page.getByText('No endpoints in sandbox mode yet')).toBeVisible();
});

test('a test event arrives signed with the secret the portal reveals, and rotation signs with both', async ({ page }) => {
  const receiver = await startReceiver();
  try {
    await signUp(page, 'Signed Goods Ltd', uniqueEmail('signed'));
    const path = await addEndpoint(page, receiver.url, ['payin.succeeded', 'refund.updated']);
    await expect(page.getByTestId('endpoint-url')).toHaveText(receiver.url);
    await expect(page.getByTestId('endpoint-status')).toHaveText('Enabled');

    await page.getByLabel('Event type').selectOption('refund.updated');
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect(page.getByTestId('test-outcome')).toHaveText('Delivered: HTTP 200');
    await expect(page.getByTestId('test-response-body')).toHaveText('receiver says hello');
    await expect(page.getByTestId('test-result')).toContainText('webhook-signature');
    expect(receiver.received).toHaveLength(1);
    expect(JSON.parse(receiver.received[0].body).type).toBe('refund.updated');
    await screenshot(page, 'endpoint');

    // The secret is shown only after the password.
    const reveal = page.locator('#field-reveal-password');
    await reveal.fill('not my password');
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    await expect(page.locator('#field-reveal-password-message')).toContainText('not correct');
    await reveal.fill(PASSWORD);
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    const first = (await page.getByTestId('revealed-secret').textContent())!.trim();
    expect(first).toMatch(/^whsec_/);
    expect(signatureValid(first, receiver.received[0])).toBe(true);

    // Rotate with a day's grace: both secrets sign the next delivery.
    await page.getByLabel('Keep the old secret signing for').selectOption('one_day');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await expect(page.getByTestId('secret-state')).toHaveCount(2);
    await expect(page.getByTestId('secret-state').nth(1)).toContainText('Also signs until');
    await open(page, path);
    await page.locator('#field-reveal-password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    const second = (await page.getByTestId('revealed-secret').textContent())!.trim();
    expect(second).not.toBe(first);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect(page.getByTestId('test-outcome')).toHaveText('Delivered: HTTP 200');
    const latest = receiver.received[1];
    expect(latest.headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(signatureValid(first, latest)).toBe(true);
    expect(signatureValid(second, latest)).toBe(true);

    await open(page, '/endpoints');
    await expect(page.getByTestId('endpoint-table')).toContainText(receiver.url);
    await expect(page.getByTestId('endpoint-table')).toContainText('100.0 % of 2');
    await screenshot(page, 'endpoints');
  } finally {
    await receiver.close();
  }
});

test('the delivery log filters from the URL, opens an event, resends and recovers', async ({ page, baseURL }) => {
  // Events the merchant's server has been fixed for; the rest get a 500.
  const fixed = new Set<string>();
  const receiver = await startReceiver((r) => (fixed.has(JSON.parse(r.body).id) ? 200 : 500));
  try {
    await signUp(page, 'Outage Recovery Ltd', uniqueEmail('logs'));
    const merchant = await merchantId(page);
    const path = await addEndpoint(page, receiver.url, ['payin.succeeded', 'payout.updated']);
    const now = new Date().toISOString();
    const payin = {
      transaction_id: 'txn_e2e_0001', status: 'succeeded', amount: { value: 1250, currency: 'EUR' },
      payment_method: 'card', response: { code: '00', message: 'Approved' },
      merchant_reference: 'order-1', created_at: now, updated_at: now,
    };
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await publish(baseURL!, merchant, 'payin.succeeded', payin));
    await expect.poll(() => receiver.received.length).toBeGreaterThanOrEqual(3);

    // Filters live in the URL: a reload keeps them.
    await open(page, '/deliveries');
    await expect(page.getByTestId('log-row')).toHaveCount(3);
    await page.getByLabel('Event or transaction id').fill(ids[1]);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect(page).toHaveURL(new RegExp(`search=${ids[1]}`));
    await expect(page.getByTestId('log-row')).toHaveCount(1);
    await page.reload();
    await expect(page.getByTestId('log-row')).toHaveCount(1);
    await expect(page.getByLabel('Event or transaction id')).toHaveValue(ids[1]);
    await open(page, '/deliveries?status=succeeded');
    await expect(page.getByTestId('log-empty')).toBeVisible();
    // What no filter field shows (a page size in the URL) is named in the error.
    await open(page, '/deliveries?limit=0');
    await expect(page.locator('[data-testid="error-field"][data-field="limit"]')).toContainText('1 to');
    await open(page, '/deliveries?search=txn_e2e_0001');
    await expect(page.getByTestId('log-row')).toHaveCount(3);
    await screenshot(page, 'deliveries');

    // The event page shows the payload and the failed attempt; resend it once the receiver is back.
    await page.getByRole('link', { name: ids[0] }).click();
    await expect(page.getByTestId('event-id')).toHaveText(ids[0]);
    await expect(page.getByTestId('payload')).toContainText('"transaction_id": "txn_e2e_0001"');
    await expect(page.getByTestId('attempt-outcome').first()).toHaveText('HTTP 500');
    await expect(page.getByTestId('attempt-version').first()).toHaveText(/^\d{4}-\d{2}-\d{2}$/);
    await screenshot(page, 'event');
    fixed.add(ids[0]);
    await page.waitForSelector('body[data-hydrated]');
    await page.getByRole('button', { name: 'Resend event' }).click();
    await expect(page.getByTestId('resend-done')).toContainText('Queued 1');
    // Where the breaker has paused the endpoint, the resent event is its
    // probe and goes at once, ahead of the other events' refused retries.
    await expect.poll(async () => {
      await page.reload();
      return page.getByTestId('attempt-outcome').allTextContents();
    }).toContain('HTTP 200');

    // An outage: the endpoint is turned off and back on, discarding what was held.
    await open(page, path);
    await page.getByRole('button', { name: 'Disable endpoint' }).click();
    await expect(page.getByTestId('endpoint-status')).toHaveText('Disabled');
    await expect(page.getByTestId('held-count')).toHaveText('2');
    await page.getByLabel('Discard them').check();
    await page.getByRole('button', { name: 'Enable endpoint' }).click();
    await expect(page.getByTestId('endpoint-status')).toHaveText('Enabled');

    // Recover sends the two failed events again.
    ids.forEach((id) => fixed.add(id));
    const before = receiver.received.length;
    await open(page, '/deliveries/recover');
    await page.getByLabel('Endpoint').selectOption({ label: receiver.url });
    const hour = 3_600_000;
    const local = (ms: number) => new Date(ms).toISOString().slice(0, 16);
    await page.getByLabel('From (UTC)').fill(local(Date.now() - hour));
    await page.getByLabel('To (UTC)').fill(local(Date.now() + hour));
    await page.getByRole('button', { name: 'Count failed events' }).click();
    await expect(page.getByTestId('recover-summary')).toContainText('2 failed event(s)');
    await page.getByRole('button', { name: 'Resend 2 event(s)' }).click();
    await expect(page.getByTestId('recover-done')).toContainText('Queued 2');
    await expect.poll(() => receiver.received.length).toBe(before + 2);
    await open(page, '/deliveries?status=succeeded');
    await expect(page.getByTestId('log-row')).toHaveCount(3);
  } finally {
    await receiver.close();
  }
});

test('an endpoint can be deleted and its logs stay', async ({ page }) => {
  const receiver = await startReceiver();
  try {
    await signUp(page, 'Delete Me Ltd', uniqueEmail('delete'));
    await addEndpoint(page, receiver.url, ['payin.failed']);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect(page.getByTestId('test-outcome')).toHaveText('Delivered: HTTP 200');
    // Not without the confirmation box: the browser keeps the form back.
    const confirm = page.getByTestId('confirm-delete');
    expect(await confirm.evaluate((box: HTMLInputElement) => box.form?.checkValidity())).toBe(false);
    await page.getByTestId('confirm-delete').check();
    await page.getByRole('button', { name: 'Delete endpoint' }).click();
    await expect(page).toHaveURL(/\/endpoints$/);
    await expect(page.getByText('No endpoints in sandbox mode yet')).toBeVisible();
    await open(page, '/deliveries');
    await expect(page.getByTestId('log-row')).toHaveCount(1);
  } finally {
    await receiver.close();
  }
});

test('the endpoint pages work at 375 px wide', async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 800 });
  await signUp(page, 'Narrow Screen Ltd', uniqueEmail('narrow'));
  await open(page, '/endpoints/new');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(375);
  await expect(page.getByRole('button', { name: 'Add endpoint' })).toBeVisible();
});

test('in live mode the inbox page explains that the inbox takes sandbox deliveries only', async ({ page }) => {
  await signUp(page, 'Live Inbox Ltd', uniqueEmail('live-inbox'));
  await open(page, '/inbox');
  await expect(page.getByTestId('inbox-url')).toBeVisible();
  await page.locator('.mode-switch .mode-live').click();
  await expect(page.locator('.mode-switch .mode-live')).toHaveAttribute('aria-pressed', 'true');
  await open(page, '/inbox');
  await expect(page.getByTestId('inbox-live')).toContainText('sandbox deliveries only');
  await expect(page.getByTestId('inbox-url')).toHaveCount(0);
});

test('the sandbox inbox shows a test event with a valid signature, and both signatures after a rotation', async ({ page }) => {
  await signUp(page, 'Inbox First Ltd', uniqueEmail('inbox'));
  await open(page, '/inbox');
  await expect(page.getByTestId('inbox-empty')).toBeVisible();
  const inboxUrl = (await page.getByTestId('inbox-url').textContent())!.trim();
  await page.getByRole('link', { name: 'Add an endpoint that delivers here' }).click();
  await page.waitForSelector('body[data-hydrated]');
  await expect(page.getByLabel('Endpoint URL')).toHaveValue(inboxUrl);
  await page.locator('#type-payin-succeeded').check();
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(page).toHaveURL(/\/endpoints\/ep_/);
  await page.waitForSelector('body[data-hydrated]');
  const endpointPath = new URL(page.url()).pathname;

  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByTestId('test-outcome')).toHaveText('Delivered: HTTP 200');
  await expect(page.getByTestId('test-response-body')).toContainText('Signature valid.');

  await open(page, '/inbox');
  await expect(page.getByTestId('inbox-message')).toHaveCount(1);
  await expect(page.getByTestId('inbox-message').first()).toContainText('Signature valid');
  await expect(page.getByTestId('inbox-body').first()).toContainText('"type": "payin.succeeded"');

  await open(page, endpointPath);
  await page.getByLabel('Keep the old secret signing for').selectOption('one_day');
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await expect(page.getByTestId('secret-state')).toHaveCount(2);
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByTestId('test-outcome')).toHaveText('Delivered: HTTP 200');

  await open(page, '/inbox');
  await expect(page.getByTestId('inbox-message')).toHaveCount(2);
  const latest = page.getByTestId('inbox-message').first();
  await expect(latest.getByTestId('inbox-verdict')).toHaveText('Signature valid.');
  await latest.getByText('Headers').click();
  const signature = latest.locator('tr', { hasText: 'webhook-signature' }).locator('td');
  await expect(signature).toHaveText(/^v1,\S+ v1,\S+$/);
  await screenshot(page, 'inbox');

  // The dashboard counts both attempts and draws them.
  await open(page, '/');
  await expect(page.getByTestId('stats-day')).toContainText('100.0 %');
  const bars = page.locator('[data-testid="attempts-chart"] rect.chart-delivered');
  await expect(bars).toHaveCount(24);
  const heights = await bars.evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('height'))));
  expect(heights.some((h) => h > 0)).toBe(true);
  await screenshot(page, 'dashboard');
});

test('the readiness check passes a server that verifies signatures and fails one that does not', async ({ page }) => {
  let secret = '';
  // Verifies like a careful merchant: signature, a fresh timestamp, and a repeated id is fine.
  const careful = await startReceiver((r) => {
    const age = Math.abs(Date.now() / 1000 - Number(r.headers['webhook-timestamp']));
    return secret && signatureValid(secret, r) && age <= 300 ? 200 : 401;
  });
  const naive = await startReceiver(() => 200);
  try {
    await signUp(page, 'Ready Or Not Ltd', uniqueEmail('ready'));
    const carefulPath = await addEndpoint(page, careful.url, ['payin.succeeded']);
    await page.locator('#field-reveal-password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    secret = (await page.getByTestId('revealed-secret').textContent())!.trim();
    await page.getByRole('button', { name: 'Run readiness check' }).click();
    await expect(page.getByTestId('readiness-verdict')).toContainText('Passed');
    await expect(page.getByTestId('scenario')).toHaveCount(4);
    await expect(page.getByTestId('scenario').filter({ hasText: 'Pass' })).toHaveCount(4);
    await screenshot(page, 'readiness');

    await addEndpoint(page, naive.url, ['payin.succeeded']);
    await page.getByRole('button', { name: 'Run readiness check' }).click();
    await expect(page.getByTestId('readiness-verdict')).toContainText('Not ready');
    await expect(page.getByTestId('scenario').filter({ hasText: 'Fail · Rejects a wrong signature' })).toHaveCount(1);
    await expect(page.getByTestId('scenario').filter({ hasText: 'Fail · Rejects a stale timestamp' })).toHaveCount(1);

    // In live mode the naive URL waits; the careful one starts at once.
    await page.getByRole('button', { name: 'Live' }).click();
    await expect(page.getByRole('button', { name: 'Live' })).toHaveAttribute('aria-pressed', 'true');
    await addEndpoint(page, naive.url, ['payin.succeeded']);
    await expect(page.getByTestId('endpoint-status')).toHaveText('Disabled');
    await page.getByRole('button', { name: 'Enable endpoint' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'readiness check' }).first()).toBeVisible();
    await addEndpoint(page, careful.url, ['payin.succeeded']);
    await expect(page.getByTestId('endpoint-status')).toHaveText('Enabled');
    expect(carefulPath).toMatch(/^\/endpoints\/ep_/);
  } finally {
    await careful.close();
    await naive.close();
  }
});

test('balance threshold warnings are requested from a form that explains each mistake', async ({ page }) => {
  await signUp(page, 'Treasury Watch Ltd', uniqueEmail('balance'));
  await open(page, '/endpoints/new');
  await expect(page.locator('#type-balance-threshold_warning')).toBeDisabled();
  await page.getByRole('link', { name: 'Request it' }).click();
  await page.waitForSelector('body[data-hydrated]');
  await expect(page.getByTestId('balance-state')).toContainText('Not requested yet');
  await page.getByLabel('Threshold').fill('lots');
  await page.getByLabel('Currency').fill('EURO');
  await page.getByRole('button', { name: 'Request warnings' }).click();
  await expect(page.locator('#field-threshold-message')).toContainText('such as 1000');
  await expect(page.locator('#field-currency-message')).toContainText('ISO 4217');
  await expect(page.getByLabel('Threshold')).toHaveValue('lots');
  await page.getByLabel('Threshold').fill('2500.50');
  await page.getByLabel('Currency').fill('EUR');
  await page.getByRole('button', { name: 'Request warnings' }).click();
  await expect(page.getByTestId('balance-request')).toHaveCount(1);
  await expect(page.getByTestId('balance-request')).toContainText('2500.50 EUR');
  await expect(page.getByTestId('balance-request')).toContainText('Pending review');
  await expect(page.getByTestId('balance-state')).toContainText('waiting for the onboarding team');
});

test('an admin approves a balance request with a reason; the merchant subscribes and sees it in its audit log', async ({ page, browser }) => {
  const business = `Approved Treasury ${Date.now()}`;
  await signUp(page, business, uniqueEmail('approve'));
  await open(page, '/balance-warning');
  await page.getByLabel('Threshold').fill('750');
  await page.getByLabel('Currency').fill('GBP');
  await page.getByRole('button', { name: 'Request warnings' }).click();
  await expect(page.getByTestId('balance-request')).toContainText('Pending review');

  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  try {
    await logIn(admin, ADMIN.email, ADMIN.password);
    await expect(admin).toHaveURL(/\/admin$/);
    await open(admin, '/admin/balance-requests');
    const request = admin.getByTestId('pending-balance').filter({ hasText: business });
    await expect(request).toContainText('750.00 GBP');
    await request.getByRole('button', { name: 'Approve' }).click();
    await expect(request.locator('.field-error')).toContainText('Give the reason');
    // Only the request submitted shows the message, not every pending one.
    await expect(admin.locator('[data-testid="pending-balance"] .field-error', { hasText: 'Give the reason' })).toHaveCount(1);
    await request.getByLabel('Reason (the merchant sees it)').fill('Treasury alerts agreed with the finance team');
    await request.getByRole('button', { name: 'Approve' }).click();
    await expect(admin.getByTestId('pending-balance').filter({ hasText: business })).toHaveCount(0);
    await open(admin, '/admin/audit?action=balance_approved');
    await expect(admin.getByTestId('audit-row').first()).toContainText('Treasury alerts agreed with the finance team');
    await screenshot(admin, 'admin-audit');
  } finally {
    await adminContext.close();
  }

  await open(page, '/balance-warning');
  await expect(page.getByTestId('balance-request')).toContainText('Approved');
  await expect(page.getByTestId('balance-request')).toContainText('Treasury alerts agreed with the finance team');
  await open(page, '/endpoints/new');
  await expect(page.locator('#type-balance-threshold_warning')).toBeEnabled();
  await open(page, '/audit');
  await expect(page.getByTestId('audit-row').filter({ hasText: 'Balance warnings approved' })).toContainText(ADMIN.email);
  await expect(page.getByTestId('audit-row').filter({ hasText: 'Balance warnings requested' })).toContainText('750.00 GBP');
  // A filter the server refuses is marked beside its field.
  await open(page, '/audit?from=2026-13-01T00:00');
  await expect(page.locator('#audit-from-message')).toContainText('Enter a date and time');
  await expect(page.locator('#audit-from')).toHaveAttribute('aria-invalid', 'true');
});

test('an admin finds a merchant, resends a failed event with a reason, and the merchant sees the attempt and the audit entry', async ({ page, browser, baseURL }) => {
  let answer = 500;
  const receiver = await startReceiver(() => answer);
  const business = `Helped Shop ${Date.now()}`;
  try {
    await signUp(page, business, uniqueEmail('helped'));
    const merchant = await merchantId(page);
    await addEndpoint(page, receiver.url, ['refund.updated']);
    const now = new Date().toISOString();
    const refund = {
      refund_id: 're_e2e_1', transaction_id: 'txn_e2e_9', status: 'succeeded', amount: { value: 500, currency: 'EUR' },
      response: { code: '00', message: 'Refund accepted' }, merchant_reference: 'return-1', reason: 'customer_request',
      created_at: now, updated_at: now,
    };
    const eventId = await publish(baseURL!, merchant, 'refund.updated', refund);
    await expect.poll(() => receiver.received.length).toBeGreaterThanOrEqual(1);

    const adminContext = await browser.newContext();
    const admin = await adminContext.newPage();
    try {
      await logIn(admin, ADMIN.email, ADMIN.password);
      await expect(admin).toHaveURL(/\/admin$/);
      await admin.getByLabel('Search by business name').fill(business);
      await admin.getByRole('button', { name: 'Search' }).click();
      await admin.getByRole('link', { name: business }).click();
      await admin.waitForSelector('body[data-hydrated]');
      await admin.getByRole('link', { name: 'Show sandbox' }).click();
      await admin.waitForSelector('body[data-hydrated]');
      await expect(admin.getByTestId('admin-log-row').filter({ hasText: eventId })).toContainText('HTTP 500');
      await screenshot(admin, 'admin-merchant');
      await admin.getByRole('link', { name: eventId }).click();
      await expect(admin).toHaveURL(new RegExp(`/admin/merchants/${merchant}/events/${eventId}$`));
      await admin.waitForSelector('body[data-hydrated]');
      await expect(admin.getByTestId('attempt-outcome').first()).toHaveText('HTTP 500');
      await expect(admin.locator('body')).not.toContainText('whsec_');
      await admin.getByRole('button', { name: 'Resend event' }).click();
      await expect(admin.locator('#resend-reason-message')).toContainText('Give the reason');
      // The server comes back only now: an automatic retry (the first is
      // due about 5 seconds after the failure) must not succeed while the admin
      // is still looking for the failed delivery on a slow machine.
      answer = 200;
      await admin.getByLabel('Reason (goes in the merchant').fill('Merchant fixed its server; asked on the support call');
      await admin.getByRole('button', { name: 'Resend event' }).click();
      await expect(admin.getByTestId('admin-resend-done')).toContainText('Queued 1');
      await expect.poll(async () => {
        await admin.reload();
        return admin.getByTestId('attempt-outcome').allTextContents();
      }).toContain('HTTP 200');
      await screenshot(admin, 'admin-event');
    } finally {
      await adminContext.close();
    }

    await expect.poll(async () => {
      await open(page, `/events/${eventId}`);
      return page.getByTestId('attempt-outcome').allTextContents();
    }).toContain('HTTP 200');
    await open(page, '/audit?action=event_resent');
    await expect(page.getByTestId('audit-row').first()).toContainText('Merchant fixed its server; asked on the support call');
    await expect(page.getByTestId('audit-row').first()).toContainText(ADMIN.email);
  } finally {
    await receiver.close();
  }
});

test('an admin publishes a notice to a merchant, who acknowledges it on the dashboard; the team sees who did', async ({ page, browser }) => {
  const business = `Noticed Shop ${Date.now()}`;
  const email = uniqueEmail('noticed');
  await signUp(page, business, email);
  const merchant = await merchantId(page);
  const title = `Maintenance for ${business}`;

  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  try {
    await logIn(admin, ADMIN.email, ADMIN.password);
    await expect(admin).toHaveURL(/\/admin$/);
    await open(admin, '/admin/notices');
    await admin.getByRole('button', { name: 'Publish' }).click();
    await expect(admin.locator('#notice-title-message')).toContainText('Give the notice a title');
    await expect(admin.locator('#notice-date-message')).toContainText('Enter the date');
    await admin.getByLabel('Title').fill(title);
    await admin.getByLabel('What changes').fill('Deliveries pause for five minutes; nothing is lost.');
    await admin.getByLabel('Effective date').fill('2027-02-01');
    await admin.getByRole('radio', { name: 'Chosen merchants' }).check();
    await admin.getByLabel('Merchant ids').fill(merchant);
    await admin.getByRole('button', { name: 'Publish' }).click();
    await expect(admin.getByTestId('notice-published')).toContainText(title);
    await expect(admin.getByTestId('notice-row').filter({ hasText: title })).toContainText('0 of 1');

    await open(page, '/');
    const notice = page.getByTestId('announcement').filter({ hasText: title });
    await expect(notice).toContainText('Takes effect 2027-02-01');
    await notice.getByRole('button', { name: 'Acknowledge' }).click();
    await expect(page.getByTestId('announcement').filter({ hasText: title })).toHaveCount(0);

    await open(admin, '/admin/notices');
    await expect(admin.getByTestId('notice-row').filter({ hasText: title })).toContainText('1 of 1');
    await admin.getByRole('link', { name: title }).click();
    await admin.waitForSelector('body[data-hydrated]');
    await expect(admin.getByTestId('recipient').filter({ hasText: business })).toContainText(email);
    await open(admin, '/admin/operations?mode=sandbox');
    await expect(admin.getByTestId('ops-queue')).toBeVisible();
    await screenshot(admin, 'admin-operations');
  } finally {
    await adminContext.close();
  }
});
