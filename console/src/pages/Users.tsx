// Users and API tokens (needs users_rw): create, change a user's role or password, delete; a new
// token is shown once, with a copy button.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { usePoll } from '../hooks';
import { Card, CopyButton, Empty, ErrorBox, Field, Page, useAction } from '../components/ui';

interface User { name: string; role: string; created_at: string }
interface Token { id: string; name: string; role: string; created_at: string; expires_at: string | null; token?: string }
interface Roles { roles: { name: string; description: string }[] }

function RoleSelect({ roles, value, onChange, label = 'Role' }: {
  roles: string[]; value: string; onChange: (v: string) => void; label?: string;
}) {
  return (
    <Field label={label}>
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {roles.map((r) => <option key={r}>{r}</option>)}
      </select>
    </Field>
  );
}

export function Users() {
  const users = usePoll<User[]>('/auth/users');
  const tokens = usePoll<Token[]>('/auth/tokens');
  const rolesPoll = usePoll<Roles>('/auth/roles');
  const roles = (rolesPoll.data?.roles || []).map((r) => r.name);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('viewer');
  const [tokenName, setTokenName] = useState('');
  const [tokenRole, setTokenRole] = useState('viewer');
  const [tokenDays, setTokenDays] = useState('');
  const [newToken, setNewToken] = useState<Token | null>(null);
  const addUser = useAction();
  const addToken = useAction();
  const act = useAction();

  return (
    <Page title="Users & tokens">
      <ErrorBox error={users.error || tokens.error || act.error} />
      <div class="grid2">
        <Card title="Users">
          {!users.data?.length ? <Empty>No users yet.</Empty> : (
            <div class="table-wrap">
              <table>
                <thead><tr><th>Name</th><th>Role</th><th>Created</th><th /></tr></thead>
                <tbody>
                  {users.data.map((u) => (
                    <tr key={u.name}>
                      <td>{u.name}</td>
                      <td>
                        <select aria-label={`Role of ${u.name}`} value={u.role} onChange={(e) => {
                          const r = e.currentTarget.value;
                          act.run(async () => { await api('PATCH', `/auth/users/${encodeURIComponent(u.name)}`, { role: r }); users.reload(); });
                        }}>
                          {roles.map((r) => <option key={r}>{r}</option>)}
                        </select>
                      </td>
                      <td>{new Date(u.created_at).toLocaleDateString()}</td>
                      <td class="buttons">
                        <button type="button" class="small" onClick={() => {
                          const p = prompt(`New password for ${u.name} (8 characters or more)`);
                          if (p) act.run(async () => { await api('PATCH', `/auth/users/${encodeURIComponent(u.name)}`, { password: p }); });
                        }}>Password</button>
                        <button type="button" class="small danger" onClick={() => confirm(`Delete the user ${u.name}?`) &&
                          act.run(async () => { await api('DELETE', `/auth/users/${encodeURIComponent(u.name)}`); users.reload(); })}>Delete</button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <form class="stack" noValidate onSubmit={(e) => {
            e.preventDefault();
            addUser.run(async () => {
              await api('POST', '/auth/users', { name, password, role });
              setName('');
              setPassword('');
              users.reload();
            });
          }}>
            <h3>New user</h3>
            <div class="row wrap">
              <Field label="Name"><input name="user-name" autocomplete="off" value={name} onInput={(e) => setName(e.currentTarget.value)} /></Field>
              <Field label="Password" hint="8 characters or more">
                <input name="user-password" type="password" autocomplete="new-password" value={password}
                       onInput={(e) => setPassword(e.currentTarget.value)} />
              </Field>
              <RoleSelect roles={roles} value={role} onChange={setRole} />
            </div>
            <ErrorBox error={addUser.error} />
            <button type="submit" class="primary" disabled={addUser.busy}>Create user</button>
          </form>
        </Card>
        <Card title="API tokens">
          {newToken && (
            <div class="secret">
              <p>The token <b>{newToken.name}</b>, shown this once:</p>
              <p><code data-testid="api-token">{newToken.token}</code> <CopyButton text={newToken.token || ''} label="token" /></p>
              <button type="button" class="small" onClick={() => setNewToken(null)}>I have copied it</button>
            </div>
          )}
          {!tokens.data?.length ? <Empty>No API tokens yet.</Empty> : (
            <div class="table-wrap">
              <table>
                <thead><tr><th>Name</th><th>Role</th><th>Expires</th><th /></tr></thead>
                <tbody>
                  {tokens.data.map((t) => (
                    <tr key={t.id}>
                      <td>{t.name}<div class="sub mono">{t.id}</div></td>
                      <td>{t.role}</td>
                      <td>{t.expires_at ? new Date(t.expires_at).toLocaleDateString() : 'never'}</td>
                      <td><button type="button" class="small danger" onClick={() => confirm(`Delete the token ${t.name}?`) &&
                        act.run(async () => { await api('DELETE', `/auth/tokens/${t.id}`); tokens.reload(); })}>Delete</button></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <form class="stack" noValidate onSubmit={(e) => {
            e.preventDefault();
            addToken.run(async () => {
              const body: Record<string, unknown> = { name: tokenName, role: tokenRole };
              if (tokenDays) body.expires_in = Math.round(Number(tokenDays) * 86400);
              setNewToken(await api<Token>('POST', '/auth/tokens', body));
              setTokenName('');
              tokens.reload();
            });
          }}>
            <h3>New token</h3>
            <div class="row wrap">
              <Field label="Name"><input name="token-name" value={tokenName} onInput={(e) => setTokenName(e.currentTarget.value)} /></Field>
              <RoleSelect roles={roles} value={tokenRole} onChange={setTokenRole} />
              <Field label="Expires in (days)" hint="empty: never">
                <input type="number" min="0" value={tokenDays} onInput={(e) => setTokenDays(e.currentTarget.value)} />
              </Field>
            </div>
            <ErrorBox error={addToken.error} />
            <button type="submit" class="primary" disabled={addToken.busy}>Create token</button>
          </form>
        </Card>
      </div>
    </Page>
  );
}
