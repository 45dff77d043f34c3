// The signed-in key and the typed client that sends it. A reqstore key never expires and its
// secret is its whole power, so the console keeps it in memory, in sessionStorage only when the
// user asks ("remember in this tab"), and never in localStorage or a cookie.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Whoami = components['schemas']['Whoami'];
export type Problem = components['schemas']['Problem'];
export type Client = ReturnType<typeof createClient<paths>>;

const rememberedKey = 'reqstore-console-key';

export interface Session {
    authorization: string;
    who: Whoami;
    client: Client;
}

// The Authorization value for what the user typed: `id.secret` as a Bearer token.
export function authorizationFor(key: string): string {
    return `Bearer ${key.trim()}`;
}

// Requests carry no cookie (credentials: 'omit'): the key is the only credential, so there is no
// CSRF surface, and a browser does not offer its own sign-in dialog for a 401 with a Basic
// challenge to a request that may not send credentials of its own.
const requestDefaults = { baseUrl: window.location.origin, credentials: 'omit' } as const;

export function makeClient(authorization: string, onUnauthorized: () => void): Client {
    const client = createClient<paths>(requestDefaults);
    const auth: Middleware = {
        onRequest({ request }) {
            request.headers.set('Authorization', authorization);
            return request;
        },
        onResponse({ response }) {
            // The key was checked at sign-in: a later 401 means it was removed from the config.
            if (response.status === 401) onUnauthorized();
            return response;
        },
    };
    client.use(auth);
    return client;
}

export type SignInResult = { session: Session } | { error: string };

// Checks the key with GET /v1/whoami and answers the session, or why not.
export async function signIn(key: string, remember: boolean, onUnauthorized: () => void): Promise<SignInResult> {
    if (!/^[^.\s]+\.\S+$/.test(key.trim())) return { error: 'A key looks like id.secret' };
    const authorization = authorizationFor(key);
    const probe = createClient<paths>({ ...requestDefaults, headers: { Authorization: authorization } });
    let answer;
    try {
        answer = await probe.GET('/v1/whoami');
    } catch {
        return { error: 'The server cannot be reached' };
    }
    if (answer.response.status === 401) return { error: 'The server does not know this key' };
    if (!answer.data) return { error: `The server answered ${answer.response.status}` };
    if (remember) sessionStorage.setItem(rememberedKey, key.trim());
    else sessionStorage.removeItem(rememberedKey);
    return { session: { authorization, who: answer.data, client: makeClient(authorization, onUnauthorized) } };
}

export function rememberedSecret(): string | null {
    return sessionStorage.getItem(rememberedKey);
}

export function forget(): void {
    sessionStorage.removeItem(rememberedKey);
}

// The route scopes of API.md section 8: admin holds them all.
export function can(who: Whoami, scope: 'requests:read' | 'requests:write' | 'webhooks:manage' | 'admin'): boolean {
    return who.scopes.includes('admin') || who.scopes.includes(scope);
}

// A problem's one-line text for a banner.
export function describeProblem(status: number, problem: unknown): string {
    const p = problem as Partial<Problem> | undefined;
    if (p && typeof p.title === 'string') return `${status} ${p.title}${p.detail ? `: ${p.detail}` : ''}`;
    return `The server answered ${status}`;
}
