// Sign-in: the key as id.secret, checked with GET /v1/whoami before anything else is shown.
import { useEffect, useRef, useState } from 'preact/hooks';

interface Props {
    notice: string | null;
    onSignIn: (key: string, remember: boolean) => Promise<string | null>;
}

export function SignInPage({ notice, onSignIn }: Props) {
    const [key, setKey] = useState('');
    const [remember, setRemember] = useState(false);
    const [error, setError] = useState<string | null>(null);
    const [busy, setBusy] = useState(false);
    const field = useRef<HTMLInputElement>(null);
    // The key field has the focus from the start, so that typing the key and Enter sign in.
    useEffect(() => field.current?.focus(), []);

    return (
        <main class="centered">
            <form
                class="card sign-in"
                onSubmit={async (event) => {
                    event.preventDefault();
                    setBusy(true);
                    setError(await onSignIn(key, remember));
                    setBusy(false);
                }}
            >
                <h1>reqstore console</h1>
                {notice && <p class="notice">{notice}</p>}
                <label>
                    API key
                    <input
                        name="key"
                        type="password"
                        autoComplete="off"
                        placeholder="id.secret"
                        value={key}
                        onInput={(e) => setKey(e.currentTarget.value)}
                        required
                        ref={field}
                    />
                </label>
                <label class="inline">
                    <input type="checkbox" name="remember" checked={remember} onChange={(e) => setRemember(e.currentTarget.checked)} />
                    Remember in this tab (sessionStorage; gone when the tab closes)
                </label>
                {error && (
                    <p class="error" role="alert">
                        {error}
                    </p>
                )}
                <button type="submit" disabled={busy}>
                    Sign in
                </button>
                <p class="hint">The key stays in this page's memory and is sent only to this server.</p>
            </form>
        </main>
    );
}
