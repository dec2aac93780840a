// Sign-in: a user and password (sent as HTTP Basic with every request) or an API token (Bearer),
// checked with GET /auth/whoami and kept in sessionStorage for this tab.
import { useState } from 'preact/hooks';
import { basicCredentials, setCredentials, whoami, type Credentials, type Whoami } from '../api';
import { ErrorBox, Field } from '../components/ui';

export function SignIn({ anonymous, error, onSignedIn, onGuest }: {
  anonymous: Whoami | null; error?: string; onSignedIn: () => void; onGuest: () => void;
}) {
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const creds: Credentials = mode === 'password'
      ? basicCredentials(user.trim(), password) : { kind: 'token', token: token.trim() };
    setBusy(true);
    setFailed(null);
    try {
      const res = await whoami(creds);
      if (res.status === 401) throw new Error('Invalid or expired credentials');
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const me = (await res.json()) as Whoami;
      if (me.kind === 'anonymous') throw new Error('Invalid or expired credentials');
      setCredentials(creds);
      onSignedIn();
    } catch (err) {
      setFailed((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form class="card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title"><span class="brand">sluice</span> console</h1>
        <div class="tabs" role="tablist">
          <button type="button" role="tab" aria-selected={mode === 'password'}
                  onClick={() => setMode('password')}>User &amp; password</button>
          <button type="button" role="tab" aria-selected={mode === 'token'}
                  onClick={() => setMode('token')}>API token</button>
        </div>
        {mode === 'password' ? (
          <>
            <Field label="User">
              <input name="user" autocomplete="username" required value={user}
                     onInput={(e) => setUser(e.currentTarget.value)} />
            </Field>
            <Field label="Password">
              <input name="password" type="password" autocomplete="current-password" required
                     value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </Field>
          </>
        ) : (
          <Field label="API token" hint="st_… from `sluice tokens create` or Users & tokens">
            <input name="token" autocomplete="off" spellcheck={false} required value={token}
                   onInput={(e) => setToken(e.currentTarget.value)} />
          </Field>
        )}
        <ErrorBox error={failed || error} />
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        {anonymous && anonymous.permissions.length > 0 && (
          <p class="hint">
            Or <button type="button" class="link" onClick={onGuest}>continue without signing in</button>{' '}
            (as {anonymous.kind === 'anonymous' ? 'anonymous' : anonymous.name} from {anonymous.address}:{' '}
            {anonymous.permissions.join(', ')}).
          </p>
        )}
      </form>
    </main>
  );
}
