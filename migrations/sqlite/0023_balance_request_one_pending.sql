-- At most one balance warning request waits for review per merchant and
-- mode. The check before the insert alone let two requests sent at once
-- both pass. Any such pair filed before this index is settled first: the
-- later ones are denied, the earliest stays for review.
UPDATE balance_requests SET status = 'denied', decided_ms = requested_ms,
    note = 'Filed while an earlier request was still waiting for review.'
WHERE status = 'pending' AND EXISTS (
    SELECT 1 FROM balance_requests earlier
    WHERE earlier.merchant_id = balance_requests.merchant_id
      AND earlier.mode = balance_requests.mode
      AND earlier.status = 'pending'
      AND (earlier.requested_ms, earlier.id) < (balance_requests.requested_ms, balance_requests.id)
);
CREATE UNIQUE INDEX balance_requests_one_pending ON balance_requests (merchant_id, mode)
    WHERE status = 'pending';
