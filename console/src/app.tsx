// The console's shell: sign-in until a key is checked, then the navigation and the page of the
// route. What a key's scopes do not allow is not offered.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { can, forget, rememberedSecret, signIn, type Session } from './api/session';
import { href, useRoute } from './lib/route';
import { FeedPage } from './views/feed';
import { HealthPage } from './views/health';
import { RecordPage } from './views/record';
import { RequestsPage } from './views/requests';
import { SignInPage } from './views/sign-in';
import { WebhooksPage } from './views/webhooks';

export function App() {
    const [session, setSession] = useState<Session | null>(null);
    const [notice, setNotice] = useState<string | null>(null);
    const [restoring, setRestoring] = useState(() => rememberedSecret() !== null);
    const route = useRoute();

    const signOut = useCallback((why?: string) => {
        forget();
        setSession(null);
        setNotice(why ?? null);
    }, []);
    const expired = useCallback(() => signOut('The server no longer accepts this key: sign in again.'), [signOut]);

    // A key remembered in this tab (sessionStorage) signs in again after a reload.
    useEffect(() => {
        const remembered = rememberedSecret();
        if (!remembered) return;
        signIn(remembered, true, expired).then((result) => {
            if ('session' in result) setSession(result.session);
            else forget();
            setRestoring(false);
        });
    }, [expired]);

    if (!session) {
        if (restoring) return <main class="centered" aria-busy="true">Signing in…</main>;
        return (
            <SignInPage
                notice={notice}
                onSignIn={async (key, remember) => {
                    const result = await signIn(key, remember, expired);
                    if ('error' in result) return result.error;
                    setNotice(null);
                    setSession(result.session);
                    return null;
                }}
            />
        );
    }

    const who = session.who;
    const links = [
        { page: 'requests', label: 'Requests', allowed: can(who, 'requests:read') },
        { page: 'feed', label: 'Live feed', allowed: can(who, 'requests:read') },
        { page: 'webhooks', label: 'Webhooks', allowed: can(who, 'webhooks:manage') },
        { page: 'health', label: 'Health', allowed: true },
    ] as const;
    const current = route.page === 'record' ? 'requests' : route.page;

    let page;
    if (route.page === 'health') page = <HealthPage />;
    else if (route.page === 'webhooks' && can(who, 'webhooks:manage')) page = <WebhooksPage session={session} selected={route.id} />;
    else if (route.page === 'feed' && can(who, 'requests:read')) page = <FeedPage session={session} />;
    else if (route.page === 'record' && can(who, 'requests:read')) page = <RecordPage session={session} id={route.id} />;
    else if (route.page === 'requests' && can(who, 'requests:read')) page = <RequestsPage session={session} />;
    else page = <p class="notice">The key {who.id} has no scope for this page.</p>;

    return (
        <>
            <header class="top">
                <strong class="brand">reqstore</strong>
                <nav aria-label="Pages">
                    {links
                        .filter((l) => l.allowed)
                        .map((l) => (
                            <a key={l.page} href={href({ page: l.page })} aria-current={current === l.page ? 'page' : undefined}>
                                {l.label}
                            </a>
                        ))}
                </nav>
                <span class="who" data-testid="who">
                    {who.id} · {who.scopes.length ? who.scopes.join(', ') : 'no scope'}
                </span>
                <button type="button" class="secondary" onClick={() => signOut()}>
                    Sign out
                </button>
            </header>
            <main>{page}</main>
        </>
    );
}
