// Webhook subscriptions (the secret shown once, at creation), and one subscription's deliveries by
// state, each with its attempts, with Retry and "recover since".
import { useEffect, useState } from 'preact/hooks';
import type { components } from '../api/schema';
import { describeProblem, type Session } from '../api/session';
import { href } from '../lib/route';

type Subscription = components['schemas']['Subscription'];
type Delivery = components['schemas']['Delivery'];
const deliveryStates = ['pending', 'failed', 'dead', 'succeeded'] as const;
type DeliveryState = (typeof deliveryStates)[number];

function list(text: string): string[] {
    return text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}

export function WebhooksPage({ session, selected }: { session: Session; selected?: string }) {
    const [subscriptions, setSubscriptions] = useState<Subscription[]>([]);
    const [error, setError] = useState<string | null>(null);
    const [revealed, setRevealed] = useState<{ id: string; secret: string } | null>(null);
    const [generation, setGeneration] = useState(0);

    useEffect(() => {
        session.client.GET('/v1/webhooks').then((answer) => {
            if (answer.data) setSubscriptions(answer.data.data);
            else setError(describeProblem(answer.response.status, answer.error));
        });
    }, [generation]);

    async function setEnabled(subscription: Subscription, enabled: boolean) {
        const answer = await session.client.PATCH('/v1/webhooks/{wid}', { params: { path: { wid: subscription.id } }, body: { enabled } });
        if (!answer.data) setError(describeProblem(answer.response.status, answer.error));
        setGeneration((g) => g + 1);
    }

    async function remove(subscription: Subscription) {
        const answer = await session.client.DELETE('/v1/webhooks/{wid}', { params: { path: { wid: subscription.id } } });
        if (answer.response.status !== 204) setError(describeProblem(answer.response.status, answer.error));
        if (selected === subscription.id) window.location.hash = href({ page: 'webhooks' });
        setGeneration((g) => g + 1);
    }

    const current = subscriptions.find((s) => s.id === selected);
    return (
        <section>
            <h1>Webhooks</h1>
            <NewSubscription
                session={session}
                onCreated={(id, secret) => {
                    setRevealed({ id, secret });
                    setGeneration((g) => g + 1);
                }}
            />
            {revealed && (
                <div class="notice" role="status" data-testid="secret">
                    <p>
                        The signing secret of {revealed.id}. It is shown this once: copy it now.
                    </p>
                    <code>{revealed.secret}</code>{' '}
                    <button type="button" class="secondary" onClick={() => navigator.clipboard?.writeText(revealed.secret)}>
                        Copy
                    </button>{' '}
                    <button type="button" class="secondary" onClick={() => setRevealed(null)}>
                        Done
                    </button>
                </div>
            )}
            {error && <p class="error" role="alert">{error}</p>}
            <table class="list" data-testid="subscriptions">
                <thead>
                    <tr>
                        <th scope="col">Id</th>
                        <th scope="col">URL</th>
                        <th scope="col">Events</th>
                        <th scope="col">Types</th>
                        <th scope="col">State</th>
                        <th scope="col" />
                    </tr>
                </thead>
                <tbody>
                    {subscriptions.map((s) => (
                        <tr key={s.id} aria-selected={s.id === selected}>
                            <td>
                                <a href={href({ page: 'webhooks', id: s.id })}>{s.id}</a>
                            </td>
                            <td class="url">{s.url}</td>
                            <td>{s.events.join(', ')}</td>
                            <td>{s.types.length ? s.types.join(', ') : 'all'}</td>
                            <td>
                                {s.enabled ? (
                                    <span class="badge ok">enabled</span>
                                ) : (
                                    <span class="badge danger" title={s.disabled_reason ?? ''}>
                                        disabled{s.disabled_reason ? `: ${s.disabled_reason}` : ''}
                                    </span>
                                )}
                                {s.failing_since && <span class="hint"> failing since {new Date(s.failing_since).toLocaleString()}</span>}
                            </td>
                            <td class="actions">
                                <button type="button" class="secondary" onClick={() => setEnabled(s, !s.enabled)}>
                                    {s.enabled ? 'Disable' : 'Enable'}
                                </button>
                                <button type="button" class="secondary" onClick={() => remove(s)}>
                                    Delete
                                </button>
                            </td>
                        </tr>
                    ))}
                </tbody>
            </table>
            {current && <Deliveries key={current.id} session={session} subscription={current} />}
        </section>
    );
}

function NewSubscription({ session, onCreated }: { session: Session; onCreated: (id: string, secret: string) => void }) {
    const [url, setUrl] = useState('');
    const [events, setEvents] = useState('*');
    const [types, setTypes] = useState('');
    const [error, setError] = useState<string | null>(null);
    return (
        <form
            class="filters"
            aria-label="New subscription"
            onSubmit={async (event) => {
                event.preventDefault();
                const body: components['schemas']['SubscriptionCreate'] = { url, events: list(events) };
                if (types.trim()) body.types = list(types);
                const answer = await session.client.POST('/v1/webhooks', { body });
                if (!answer.data) {
                    setError(describeProblem(answer.response.status, answer.error));
                    return;
                }
                setError(null);
                setUrl('');
                onCreated(answer.data.id, answer.data.secret);
            }}
        >
            <label>
                URL
                <input name="url" type="url" required placeholder="https://hooks.example.com/reqstore" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
            </label>
            <label>
                Events
                <input name="events" value={events} onInput={(e) => setEvents(e.currentTarget.value)} />
            </label>
            <label>
                Types (empty: all)
                <input name="types" value={types} onInput={(e) => setTypes(e.currentTarget.value)} />
            </label>
            <button type="submit">Subscribe</button>
            {error && <p class="error" role="alert">{error}</p>}
        </form>
    );
}

function Deliveries({ session, subscription }: { session: Session; subscription: Subscription }) {
    const [state, setState] = useState<DeliveryState>('dead');
    const [rows, setRows] = useState<Delivery[]>([]);
    const [cursor, setCursor] = useState<string | null>(null);
    const [since, setSince] = useState('');
    const [message, setMessage] = useState<string | null>(null);
    const [generation, setGeneration] = useState(0);

    async function load(after: string | null) {
        const query = after ? { status: state, limit: 50, cursor: after } : { status: state, limit: 50 };
        const answer = await session.client.GET('/v1/webhooks/{wid}/deliveries', { params: { path: { wid: subscription.id }, query } });
        if (!answer.data) {
            setMessage(describeProblem(answer.response.status, answer.error));
            return;
        }
        setRows((old) => (after ? [...old, ...answer.data.data] : answer.data.data));
        setCursor(answer.data.next_cursor);
    }

    useEffect(() => {
        load(null);
    }, [state, generation]);

    async function retry(delivery: Delivery) {
        const answer = await session.client.POST('/v1/deliveries/{did}/retry', { params: { path: { did: delivery.id } } });
        setMessage(answer.response.status === 202 ? `${delivery.id} is queued again.` : describeProblem(answer.response.status, answer.error));
        setGeneration((g) => g + 1);
    }

    async function recover(event: Event) {
        event.preventDefault();
        const answer = await session.client.POST('/v1/webhooks/{wid}/recover', {
            params: { path: { wid: subscription.id } },
            body: { since: new Date(since).toISOString() },
        });
        setMessage(answer.data ? `${answer.data.queued} deliveries queued again.` : describeProblem(answer.response.status, answer.error));
        setGeneration((g) => g + 1);
    }

    return (
        <section aria-labelledby="deliveries-title">
            <h2 id="deliveries-title">Deliveries of {subscription.id}</h2>
            <div role="tablist" class="tabs">
                {deliveryStates.map((s) => (
                    <button key={s} type="button" role="tab" aria-selected={s === state} onClick={() => setState(s)}>
                        {s}
                    </button>
                ))}
                <button type="button" class="secondary" onClick={() => setGeneration((g) => g + 1)}>
                    Refresh
                </button>
            </div>
            <form class="filters" onSubmit={recover} aria-label="Recover failed and dead deliveries">
                <label>
                    Queue again every failed or dead delivery since
                    <input name="since" type="datetime-local" step="1" required value={since} onInput={(e) => setSince(e.currentTarget.value)} />
                </label>
                <button type="submit">Recover</button>
            </form>
            {message && <p class="notice" role="status">{message}</p>}
            {rows.length === 0 && <p class="hint">No {state} delivery.</p>}
            <ul class="deliveries" data-testid="deliveries">
                {rows.map((d) => (
                    <li key={d.id} class="card" data-delivery={d.id}>
                        <div class="title-row">
                            <strong>{d.id}</strong>
                            <span class="status">{d.status}</span>
                            <span>
                                {d.event} · <a href={href({ page: 'record', id: d.record_id })}>{d.record_id}</a> v{d.version}
                            </span>
                            {(d.status === 'dead' || d.status === 'failed') && (
                                <button type="button" onClick={() => retry(d)}>
                                    Retry
                                </button>
                            )}
                        </div>
                        <ol class="attempts">
                            {d.attempts.map((a, i) => (
                                <li key={i}>
                                    {new Date(a.at).toLocaleString()} · {a.status ?? 'no answer'} · {(a.latency_us / 1000).toFixed(1)} ms
                                    {a.error ? ` · ${a.error}` : ''}
                                </li>
                            ))}
                        </ol>
                        {d.next_attempt_at && <p class="hint">next attempt {new Date(d.next_attempt_at).toLocaleString()}</p>}
                    </li>
                ))}
            </ul>
            {cursor && (
                <button type="button" class="secondary" onClick={() => load(cursor)}>
                    More
                </button>
            )}
        </section>
    );
}
