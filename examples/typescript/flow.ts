// The wallet API's happy path in TypeScript with plain fetch (Node 18+ or a browser; no
// dependencies): create two wallets, fund one, transfer with an idempotency key (and retry it
// safely), page through the ledger, and catch a refusal as an exception.
//
//   cd examples/typescript && npm ci && npm run build
//   WALLET_API_URL=http://127.0.0.1:3000 WALLET_TOKEN=<an operator's key> npm start
//
// (typescript, pinned in package.json, only compiles it). An operator's token (`manage.py issue_token <name> --operator`), as
// funding is staff-only. The shapes below are the OpenAPI document's (clients/openapi.yaml).

declare const process: { env: Record<string, string | undefined> };

const BASE = process.env.WALLET_API_URL ?? "http://127.0.0.1:3000";
const TOKEN = process.env.WALLET_TOKEN ?? "";

interface Wallet {
  id: string;
  user_id: string;
  currency: string;
  balance: string; // money is a decimal string: "100.0000"
  held: string;
  available: string;
  version: number;
  status: "active" | "frozen";
}
interface Entry {
  transaction_id: string;
  wallet_id: string;
  amount: string;
  type: string;
  reference_id: string;
  balance_after: string | null;
}
interface Page<T> {
  success: true;
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

// Every error answer is an envelope: {"success": false, "error": "...", "code": "...", "details"?: {...}}.
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly retryAfter: number | null = null,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

async function call<T>(
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  idempotencyKey?: string,
): Promise<T> {
  const headers: Record<string, string> = {
    Authorization: `Token ${TOKEN}`, // the scheme word is Token, not Bearer
    Accept: "application/json",
  };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  const response = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const envelope = text ? JSON.parse(text) : null;
  if (response.status === 202) {
    // a staff movement held back for a second operator: nothing moved yet
    throw new ApiError(202, "approval_pending", `approval ${envelope.data.approval_id}`);
  }
  if (!response.ok || !envelope?.success) {
    const retry = response.headers.get("Retry-After");
    throw new ApiError(
      response.status,
      envelope?.code ?? "unexpected_response",
      envelope?.error ?? text,
      envelope?.details ?? {},
      retry ? Number(retry) : null,
    );
  }
  // a page keeps its has_more and next_cursor; anything else is its data
  return ("has_more" in envelope ? envelope : envelope.data) as T;
}

async function main(): Promise<void> {
  const alice = await call<Wallet>("POST", `/wallets`, { user_id: "alice", currency: "USD" });
  const bob = await call<Wallet>("POST", `/wallets`, { user_id: "bob", currency: "USD" });
  const funded = await call<Wallet>("POST", `/wallets/${alice.id}/fund`, { amount: "100.00" });
  console.log("funded:", funded.balance);

  // The same key again answers the first answer (header Idempotent-Replayed: true): a retry after
  // a timeout never pays twice.
  const key = `invoice-1001-${Date.now()}`;
  const payment = { to_wallet_id: bob.id, amount: "30.00", description: "Invoice 1001" };
  const [out] = await call<Entry[]>("POST", `/wallets/${alice.id}/transfer`, payment, key);
  const [again] = await call<Entry[]>("POST", `/wallets/${alice.id}/transfer`, payment, key);
  console.log("transferred:", out.amount, "once:", again.reference_id === out.reference_id);

  // Pagination: newest first; pass next_cursor as cursor while has_more.
  const entries: Entry[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page: Page<Entry> = await call<Page<Entry>>("GET", `/wallets/${alice.id}/transactions?limit=1${query}`);
    entries.push(...page.data);
    cursor = page.has_more ? page.next_cursor : null;
  } while (cursor);
  console.log("entries:", entries.map((e) => `${e.type} ${e.amount}`));

  // Errors are exceptions: more than the balance is 400 insufficient_funds.
  try {
    await call<Entry[]>("POST", `/wallets/${alice.id}/transfer`, { to_wallet_id: bob.id, amount: "1000.00" });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    console.log("refused:", error.status, error.code);
  }
  const after = await call<Wallet>("GET", `/wallets/${alice.id}`);
  console.log("balance:", after.balance);
}

main().catch((error) => {
  console.error(error);
  throw error;
});
