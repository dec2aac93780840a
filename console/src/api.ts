// Talking to sluiced: every request carries the signed-in credentials (HTTP Basic or a Bearer
// token, kept in sessionStorage for this tab only) and `X-Sluice-Console: 1`, which makes a 401
// carry only a Bearer challenge — a Basic one would make the browser pop its own login dialog.

export type Credentials =
  | { kind: 'basic'; user: string; header: string }
  | { kind: 'token'; token: string };

const STORAGE_KEY = 'sluice.credentials';

export function loadCredentials(): Credentials | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Credentials) : null;
  } catch {
    return null;
  }
}

let credentials: Credentials | null = loadCredentials();

export function setCredentials(c: Credentials | null) {
  credentials = c;
  if (c) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(c));
  else sessionStorage.removeItem(STORAGE_KEY);
}

export function getCredentials() {
  return credentials;
}

export function basicCredentials(user: string, password: string): Credentials {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = '';
  bytes.forEach((b) => { bin += String.fromCharCode(b); });
  return { kind: 'basic', user, header: 'Basic ' + btoa(bin) };
}

export function authHeaders(c: Credentials | null = credentials): Record<string, string> {
  const h: Record<string, string> = { 'X-Sluice-Console': '1' };
  if (c?.kind === 'basic') h.Authorization = c.header;
  if (c?.kind === 'token') h.Authorization = 'Bearer ' + c.token;
  return h;
}

// An answer that was not 2xx: its status and the server's `detail` as one readable line.
export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

// `{"detail": "…"}` or FastAPI's `{"detail": [{"loc", "msg"}]}` as text.
export function detailText(body: unknown, status: number): string {
  const d = (body as { detail?: unknown } | null)?.detail;
  if (typeof d === 'string') return d;
  if (Array.isArray(d)) {
    return d.map((e: { msg?: string; loc?: unknown[] }) => e.msg || JSON.stringify(e)).join('; ');
  }
  return `HTTP ${status}`;
}

let onUnauthorized: (() => void) | null = null;
// Called when a request with credentials is refused with 401 (they expired or were revoked).
export function setUnauthorizedHandler(f: () => void) {
  onUnauthorized = f;
}

export async function request(method: string, path: string, body?: unknown,
                              c: Credentials | null = credentials): Promise<Response> {
  const headers = authHeaders(c);
  const init: RequestInit = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetch(path, init);
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(method, path, body);
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (!res.ok) {
    if (res.status === 401 && credentials && onUnauthorized) onUnauthorized();
    throw new ApiError(res.status, detailText(parsed, res.status));
  }
  return parsed as T;
}

export const get = <T = unknown>(path: string) => api<T>('GET', path);

export async function getText(path: string): Promise<string> {
  const res = await request('GET', path);
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, `HTTP ${res.status}`);
  return text;
}

export interface Whoami {
  kind: string;
  name: string;
  owner: string;
  address: string;
  role: string;
  permissions: string[];
  manages_all: boolean;
  mode: string;
}

// Whether `perms` grant `need` ("streams_r", "media_rw", …): the same permission, possibly narrowed
// to paths or subjects ("media_r:stage*"), or its `_rw` form for an `_r` one.
export function grants(perms: string[], need: string): boolean {
  return perms.some((p) => {
    const base = p.split(':')[0];
    return base === need || (need.endsWith('_r') && base === need + 'w');
  });
}

export function whoami(c: Credentials | null = credentials): Promise<Response> {
  return request('GET', '/auth/whoami', undefined, c);
}
