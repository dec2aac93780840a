// Who is signed in (GET /auth/whoami) and what the console shows them: each page needs one
// permission; pages and write buttons follow the caller's permissions.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { grants, type Whoami } from './api';

export interface Session {
  me: Whoami;
  signedIn: boolean;  // credentials were given (not the anonymous or loopback identity)
  can: (permission: string) => boolean;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}

export function makeSession(me: Whoami, signedIn: boolean, signOut: () => void): Session {
  return { me, signedIn, signOut, can: (p) => grants(me.permissions, p) };
}

export interface PageInfo {
  path: string;
  label: string;
  need: string;
}

// The navigation, in order. `need` is the permission the page's data needs (docs/security.md).
export const PAGES: PageInfo[] = [
  { path: '/streams', label: 'Streams', need: 'streams_r' },
  { path: '/sessions', label: 'Sessions', need: 'sessions_r' },
  { path: '/channels', label: 'Channels', need: 'channels_r' },
  { path: '/media', label: 'Media', need: 'media_r' },
  { path: '/pipelines', label: 'Pipelines', need: 'media_r' },
  { path: '/recordings', label: 'Recordings', need: 'media_r' },
  { path: '/keys', label: 'Keys', need: 'keys_rw' },
  { path: '/users', label: 'Users & tokens', need: 'users_rw' },
  { path: '/settings', label: 'Settings', need: 'settings_r' },
  { path: '/metrics', label: 'Metrics', need: 'metrics_r' },
];
