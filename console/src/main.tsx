// The console's shell: who is signed in, the navigation (a side bar, a menu button on narrow
// screens) and the page of the current hash route.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getCredentials, setCredentials, setUnauthorizedHandler, whoami, type Whoami } from './api';
import { useHashRoute } from './hooks';
import { makeSession, PAGES, SessionContext, type Session } from './session';
import { Forbidden } from './components/ui';
import { SignIn } from './pages/SignIn';
import { Streams } from './pages/Streams';
import { Sessions } from './pages/Sessions';
import { Channels } from './pages/Channels';
import { Media } from './pages/Media';
import { Keys } from './pages/Keys';
import { Pipelines } from './pages/Pipelines';
import { Recordings } from './pages/Recordings';
import { Settings } from './pages/Settings';
import { Users } from './pages/Users';
import { Metrics } from './pages/Metrics';
import './style.css';

const VIEWS: Record<string, () => preact.JSX.Element> = {
  '/streams': Streams, '/sessions': Sessions, '/channels': Channels, '/media': Media,
  '/keys': Keys, '/pipelines': Pipelines, '/recordings': Recordings, '/settings': Settings,
  '/users': Users, '/metrics': Metrics,
};

type Phase = { kind: 'loading' } | { kind: 'signin'; anonymous: Whoami | null; error?: string }
  | { kind: 'in'; session: Session };

function App() {
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const route = useHashRoute();

  const signOut = () => {
    setCredentials(null);
    check(false);
  };

  // Who are we? With stored credentials: that identity (or back to sign-in when refused). Without:
  // the anonymous identity — admin on loopback with --loopback-admin, straight in — else sign-in.
  const check = async (guest: boolean, error?: string) => {
    const creds = getCredentials();
    try {
      const res = await whoami();
      if (res.status === 401 && creds) {
        setCredentials(null);
        return check(false, 'Your sign-in is no longer valid; sign in again.');
      }
      if (!res.ok) throw new Error(`GET /auth/whoami: HTTP ${res.status}`);
      const me = (await res.json()) as Whoami;
      if (creds || guest || me.kind !== 'anonymous') {
        setPhase({ kind: 'in', session: makeSession(me, !!creds, signOut) });
      } else {
        setPhase({ kind: 'signin', anonymous: me, error });
      }
    } catch (e) {
      setPhase({ kind: 'signin', anonymous: null, error: String((e as Error).message) });
    }
  };

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCredentials(null);
      check(false, 'Your sign-in is no longer valid; sign in again.');
    });
    check(false);
  }, []);

  if (phase.kind === 'loading') return <p class="loading">Loading…</p>;
  if (phase.kind === 'signin' || route === '/signin') {
    return (
      <SignIn anonymous={phase.kind === 'signin' ? phase.anonymous : phase.session.me}
              error={phase.kind === 'signin' ? phase.error : undefined}
              onSignedIn={() => { location.hash = '#/streams'; check(false); }}
              onGuest={() => { if (route === '/signin') location.hash = '#/streams'; check(true); }} />
    );
  }
  return (
    <SessionContext.Provider value={phase.session}>
      <Shell route={route} session={phase.session} onSignIn={() => { location.hash = '#/signin'; }} />
    </SessionContext.Provider>
  );
}

function Shell({ route, session, onSignIn }: { route: string; session: Session; onSignIn: () => void }) {
  const [open, setOpen] = useState(false);
  const visible = PAGES.filter((p) => session.can(p.need));
  const fallback = visible[0]?.path || '/streams';
  const path = VIEWS[route] ? route : fallback;
  const page = PAGES.find((p) => p.path === path);
  const View = VIEWS[path];
  useEffect(() => setOpen(false), [route]);
  useEffect(() => {
    document.title = `${page?.label ?? 'Console'} · sluice`;
  }, [page]);
  const me = session.me;
  return (
    <div class={`shell ${open ? 'nav-open' : ''}`}>
      <header class="topbar">
        <button type="button" class="menu" aria-label="Menu" aria-expanded={open}
                aria-controls="nav" onClick={() => setOpen(!open)}>☰</button>
        <a class="brand" href="#/streams">sluice</a>
        <div class="who">
          <span class="identity" title={`${me.kind} ${me.owner} from ${me.address}, mode ${me.mode}`}>
            {me.name} <span class="role">{me.role || me.kind}</span>
          </span>
          {session.signedIn
            ? <button type="button" class="small ghost" onClick={session.signOut}>Sign out</button>
            : <button type="button" class="small ghost" onClick={onSignIn}>Sign in</button>}
        </div>
      </header>
      <nav id="nav" aria-label="Pages">
        <ul>
          {visible.map((p) => (
            <li key={p.path}>
              <a href={`#${p.path}`} aria-current={p.path === path ? 'page' : undefined}>{p.label}</a>
            </li>
          ))}
        </ul>
      </nav>
      <main>
        {page && !session.can(page.need) ? <Forbidden need={page.need} /> : <View key={path} />}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
