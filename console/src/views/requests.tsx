// The requests list: the server's own filters (type, status, updated_since) and its cursor paging,
// with a live count of the records created since the list was read.
import { useEffect, useState } from 'preact/hooks';
import { followFeed, lastSequence } from '../api/events';
import type { components } from '../api/schema';
import { can, describeProblem, type Session } from '../api/session';
import { href } from '../lib/route';
import { TypeFilter, useTypes } from './types';

type RecordBody = components['schemas']['Record'];

interface Filters {
    type: string;
    status: string;
    updatedSince: string; // datetime-local text, in the browser's zone
}

function queryOf(filters: Filters) {
    const query: { type?: string; status?: string; updated_since?: string; limit: number } = { limit: 50 };
    if (filters.type) query.type = filters.type;
    if (filters.status) query.status = filters.status;
    if (filters.updatedSince) query.updated_since = new Date(filters.updatedSince).toISOString();
    return query;
}

export function RequestsPage({ session }: { session: Session }) {
    const types = useTypes(session);
    const [draft, setDraft] = useState<Filters>({ type: '', status: '', updatedSince: '' });
    const [filters, setFilters] = useState<Filters>(draft);
    const [rows, setRows] = useState<RecordBody[]>([]);
    const [cursor, setCursor] = useState<string | null>(null);
    const [error, setError] = useState<string | null>(null);
    const [loading, setLoading] = useState(false);
    const [fresh, setFresh] = useState(0);
    const [generation, setGeneration] = useState(0); // bumped to read the list again

    async function load(after: string | null) {
        setLoading(true);
        const query = after ? { ...queryOf(filters), cursor: after } : queryOf(filters);
        const page = await session.client.GET('/v1/requests', { params: { query } });
        setLoading(false);
        if (!page.data) {
            setError(describeProblem(page.response.status, page.error));
            return;
        }
        setError(null);
        setRows((old) => (after ? [...old, ...page.data.data] : page.data.data));
        setCursor(page.data.next_cursor);
    }

    // Read the list, then count what the feed reports as created since (matching the filters).
    useEffect(() => {
        let close = () => {};
        let cancelled = false;
        setFresh(0);
        (async () => {
            const head = await lastSequence(session.client);
            await load(null);
            if (cancelled) return;
            close = followFeed(session, head, {
                onEntry: (entry) => {
                    if (entry.event !== 'request.created') return;
                    if (filters.type && entry.type !== filters.type) return;
                    if (filters.status && entry.status !== filters.status) return;
                    setFresh((n) => n + 1);
                },
            });
        })();
        return () => {
            cancelled = true;
            close();
        };
    }, [filters, generation]);

    return (
        <section>
            <div class="title-row">
                <h1>Requests</h1>
                {fresh > 0 && (
                    <button type="button" class="badge" data-testid="new-badge" onClick={() => setGeneration((g) => g + 1)}>
                        {fresh} new · show
                    </button>
                )}
            </div>
            <form
                class="filters"
                onSubmit={(event) => {
                    event.preventDefault();
                    setFilters({ ...draft });
                }}
            >
                <TypeFilter types={types} value={draft.type} onChange={(type) => setDraft({ ...draft, type, status: '' })} />
                <label>
                    Status
                    <select name="status" value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value })}>
                        <option value="">any</option>
                        {[...new Set(types.filter((t) => !draft.type || t.name === draft.type).flatMap((t) => t.states))].map((s) => (
                            <option key={s} value={s}>
                                {s}
                            </option>
                        ))}
                    </select>
                </label>
                <label>
                    Updated since
                    <input
                        name="updated_since"
                        type="datetime-local"
                        step="1"
                        value={draft.updatedSince}
                        onInput={(e) => setDraft({ ...draft, updatedSince: e.currentTarget.value })}
                    />
                </label>
                <button type="submit">Apply</button>
            </form>
            {can(session.who, 'requests:write') && <CreateRequest session={session} types={types.map((t) => t.name)} />}
            {error && <p class="error" role="alert">{error}</p>}
            <table class="list" data-testid="requests">
                <thead>
                    <tr>
                        <th scope="col">Id</th>
                        <th scope="col">Type</th>
                        <th scope="col">Status</th>
                        <th scope="col">Version</th>
                        <th scope="col">Updated</th>
                        <th scope="col">By</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.map((r) => (
                        <tr key={r.id}>
                            <td>
                                <a href={href({ page: 'record', id: r.id })}>{r.id}</a>
                            </td>
                            <td>{r.type}</td>
                            <td>
                                <span class="status">{r.status}</span>
                            </td>
                            <td>{r.version}</td>
                            <td>{new Date(r.updated_at).toLocaleString()}</td>
                            <td>{r.updated_by ?? ''}</td>
                        </tr>
                    ))}
                </tbody>
            </table>
            {rows.length === 0 && !loading && <p class="hint">No request matches.</p>}
            {cursor && (
                <button type="button" class="secondary" disabled={loading} onClick={() => load(cursor)}>
                    Load more
                </button>
            )}
        </section>
    );
}

function CreateRequest({ session, types }: { session: Session; types: string[] }) {
    const [open, setOpen] = useState(false);
    const [type, setType] = useState('');
    const [text, setText] = useState('{\n}');
    const [error, setError] = useState<string | null>(null);

    if (!open)
        return (
            <button type="button" class="secondary" onClick={() => setOpen(true)}>
                New request…
            </button>
        );
    return (
        <form
            class="card"
            onSubmit={async (event) => {
                event.preventDefault();
                let members: Record<string, unknown>;
                try {
                    members = JSON.parse(text);
                } catch (e) {
                    setError(`Not JSON: ${(e as Error).message}`);
                    return;
                }
                const created = await session.client.POST('/v1/requests', { body: { ...members, type: type || types[0] } });
                if (!created.data) {
                    setError(describeProblem(created.response.status, created.error));
                    return;
                }
                window.location.hash = href({ page: 'record', id: created.data.id });
            }}
        >
            <label>
                Type
                <select name="new-type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
                    {types.map((t) => (
                        <option key={t} value={t}>
                            {t}
                        </option>
                    ))}
                </select>
            </label>
            <label>
                Members (JSON)
                <textarea name="new-members" rows={6} value={text} onInput={(e) => setText(e.currentTarget.value)} />
            </label>
            {error && <p class="error" role="alert">{error}</p>}
            <div class="actions">
                <button type="submit">Create</button>
                <button type="button" class="secondary" onClick={() => setOpen(false)}>
                    Cancel
                </button>
            </div>
        </form>
    );
}
