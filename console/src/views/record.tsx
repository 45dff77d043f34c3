// One record: its current version and ETag, an editor whose saves are compare-and-swap writes
// (If-Match, always), the three-way merge a 412 leads to, and the history with a diff between any
// two versions and "restore this version".
import { useEffect, useState } from 'preact/hooks';
import { followFeed, lastSequence } from '../api/events';
import type { components } from '../api/schema';
import { can, describeProblem, type Problem, type Session } from '../api/session';
import { JsonDiff } from '../components/json-diff';
import {
    editable,
    patchBetween,
    resolve,
    show,
    threeWay,
    type Conflict,
    type Members,
    type Merge,
    type PatchOperation,
} from '../lib/records';
import { href } from '../lib/route';

type RecordBody = components['schemas']['Record'];
type Version = components['schemas']['Version'];

interface Loaded {
    record: RecordBody;
    deleted: boolean; // a tombstone: 410 on read
}

// The outcome of one compare-and-swap write, for the page to act on.
type WriteOutcome =
    | { ok: true; record: RecordBody }
    | { ok: false; status: number; problem: Partial<Problem> & { errors?: Record<string, string> } };

async function writePatch(session: Session, id: string, version: number, ops: PatchOperation[]): Promise<WriteOutcome> {
    const answer = await session.client.PATCH('/v1/requests/{id}', {
        params: { path: { id }, header: { 'If-Match': `"${version}"` } },
        headers: { 'Content-Type': 'application/json-patch+json' },
        body: ops,
    });
    if (answer.data) return { ok: true, record: answer.data };
    return { ok: false, status: answer.response.status, problem: (answer.error ?? {}) as Partial<Problem> };
}

function problemText(outcome: Extract<WriteOutcome, { ok: false }>): string {
    const { status, problem } = outcome;
    let text = describeProblem(status, problem);
    if (problem.allowed) text += ` (allowed from here: ${problem.allowed.join(', ') || 'none'})`;
    return text;
}

export function RecordPage({ session, id }: { session: Session; id: string }) {
    const [loaded, setLoaded] = useState<Loaded | null>(null);
    const [error, setError] = useState<string | null>(null);
    const [refresh, setRefresh] = useState(0);
    const writable = can(session.who, 'requests:write');

    useEffect(() => {
        let cancelled = false;
        (async () => {
            const answer = await session.client.GET('/v1/requests/{id}', { params: { path: { id } } });
            if (cancelled) return;
            if (answer.data) {
                setLoaded({ record: answer.data, deleted: false });
                setError(null);
                return;
            }
            if (answer.response.status === 410) {
                // The tombstone's last version is in the history: show it as it was deleted.
                const versions = await session.client.GET('/v1/requests/{id}/versions', { params: { path: { id }, query: { limit: 1 } } });
                const newest = versions.data?.data[0];
                if (newest) {
                    const at = await session.client.GET('/v1/requests/{id}/versions/{n}', {
                        params: { path: { id, n: newest.version } },
                    });
                    if (at.data && !cancelled) {
                        setLoaded({ record: at.data, deleted: true });
                        return;
                    }
                }
            }
            setError(describeProblem(answer.response.status, answer.error));
        })();
        return () => {
            cancelled = true;
        };
    }, [id, refresh]);

    if (error)
        return (
            <section>
                <p class="error" role="alert">{error}</p>
                <a href={href({ page: 'requests' })}>Back to the list</a>
            </section>
        );
    if (!loaded) return <p aria-busy="true">Loading {id}…</p>;
    const { record, deleted } = loaded;
    return (
        <section>
            <div class="title-row">
                <h1>{record.id}</h1>
                <span class="status">{record.status}</span>
                {deleted && <span class="badge danger">deleted</span>}
            </div>
            <dl class="facts">
                <dt>Type</dt>
                <dd>{record.type}</dd>
                <dt>Version</dt>
                <dd data-testid="version">{record.version}</dd>
                <dt>ETag</dt>
                <dd>
                    <code data-testid="etag">{record.etag}</code>
                </dd>
                <dt>Updated</dt>
                <dd>
                    {new Date(record.updated_at).toLocaleString()} by {record.updated_by ?? '—'}
                </dd>
            </dl>
            {deleted ? (
                <pre class="json">{JSON.stringify(record, null, 2)}</pre>
            ) : (
                <Editor
                    key={record.etag}
                    session={session}
                    record={record}
                    writable={writable}
                    onSaved={(saved) => setLoaded({ record: saved, deleted: false })}
                    onGone={() => setRefresh((n) => n + 1)}
                />
            )}
            <History session={session} id={id} current={record} deleted={deleted} writable={writable} onRestored={() => setRefresh((n) => n + 1)} />
        </section>
    );
}

interface EditorProps {
    session: Session;
    record: RecordBody;
    writable: boolean;
    onSaved: (record: RecordBody) => void;
    onGone: () => void;
}

// The editor starts from `record` (the base of a merge) and saves with If-Match: its version.
function Editor({ session, record, writable, onSaved, onGone }: EditorProps) {
    const base = editable(record as Members);
    const [text, setText] = useState(() => JSON.stringify(base, null, 2));
    const [error, setError] = useState<string | null>(null);
    const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
    const [merge, setMerge] = useState<{ theirs: RecordBody; mine: Members; state: Merge } | null>(null);
    const [changedBehind, setChangedBehind] = useState<number | null>(null);
    const [busy, setBusy] = useState(false);
    const [confirmDelete, setConfirmDelete] = useState(false);

    // While the page is open, a write by someone else is announced at once: the feed from its newest
    // entry on, and, once the stream is open, one read of the record for a write that came between
    // the page's read and the stream's start.
    useEffect(() => {
        let close = () => {};
        let cancelled = false;
        const newer = (version: number) => {
            if (!cancelled && version > record.version) setChangedBehind((seen) => Math.max(seen ?? 0, version));
        };
        lastSequence(session.client).then((head) => {
            if (cancelled) return;
            close = followFeed(session, head, {
                onEntry: (entry) => {
                    if (entry.id === record.id) newer(entry.version);
                },
                onState: (state) => {
                    if (state !== 'open') return;
                    session.client
                        .GET('/v1/requests/{id}', { params: { path: { id: record.id } } })
                        .then((current) => current.data && newer(current.data.version));
                },
            });
        });
        return () => {
            cancelled = true;
            close();
        };
    }, [record.id, record.version]);

    // Handles an answer that is not a success; a 412 opens the merge of `mine` with the current
    // version, against `from`, the state `mine` was made from.
    async function failed(outcome: Extract<WriteOutcome, { ok: false }>, mine: Members, from: Members) {
        if (outcome.status === 412) {
            const current = await session.client.GET('/v1/requests/{id}', { params: { path: { id: record.id } } });
            if (!current.data) {
                setError(describeProblem(current.response.status, current.error));
                return;
            }
            setMerge({ theirs: current.data, mine, state: threeWay(from, editable(current.data as Members), mine) });
            setError(null);
            return;
        }
        if (outcome.status === 410) onGone();
        setFieldErrors(outcome.problem.errors ?? {});
        setError(problemText(outcome));
    }

    async function save() {
        let mine: Members;
        try {
            const parsed = JSON.parse(text);
            if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the record is a JSON object');
            mine = parsed;
        } catch (e) {
            setError(`Not saved: ${(e as Error).message}`);
            return;
        }
        const ops = patchBetween(base, mine);
        if (ops.length === 0) {
            setError('Nothing changed.');
            return;
        }
        setBusy(true);
        const outcome = await writePatch(session, record.id, record.version, ops);
        setBusy(false);
        if (outcome.ok) onSaved(outcome.record);
        else await failed(outcome, mine, base);
    }

    async function saveMerged() {
        if (!merge) return;
        setBusy(true);
        const theirs = editable(merge.theirs as Members);
        const outcome = await writePatch(session, record.id, merge.theirs.version, patchBetween(theirs, merge.state.merged));
        setBusy(false);
        if (outcome.ok) {
            setMerge(null);
            onSaved(outcome.record);
            return;
        }
        // Another 412: yet another write came first; the merge is made again against the newest.
        await failed(outcome, merge.state.merged, theirs);
    }

    async function remove() {
        const answer = await session.client.DELETE('/v1/requests/{id}', {
            params: { path: { id: record.id }, header: { 'If-Match': `"${record.version}"` } },
        });
        if (answer.response.status === 204) onGone();
        else setError(describeProblem(answer.response.status, answer.error));
    }

    return (
        <div class="editor">
            {changedBehind !== null && !merge && (
                <p class="notice" role="status" data-testid="changed-behind">
                    Changed to version {changedBehind} since this page read version {record.version}: saving will show what changed.
                </p>
            )}
            <label>
                Members {writable ? '(edit, then save: the write carries If-Match: "' + record.version + '")' : '(read only)'}
                <textarea
                    name="record"
                    rows={Math.min(30, text.split('\n').length + 2)}
                    value={text}
                    readOnly={!writable || merge !== null}
                    spellcheck={false}
                    onInput={(e) => setText(e.currentTarget.value)}
                />
            </label>
            {Object.keys(fieldErrors).length > 0 && (
                <ul class="field-errors" data-testid="field-errors">
                    {Object.entries(fieldErrors).map(([pointer, message]) => (
                        <li key={pointer}>
                            <code>{pointer}</code>: {message}
                        </li>
                    ))}
                </ul>
            )}
            {error && <p class="error" role="alert">{error}</p>}
            {writable && !merge && (
                <div class="actions">
                    <button type="button" onClick={save} disabled={busy}>
                        Save
                    </button>
                    <button type="button" class="secondary" onClick={() => setText(JSON.stringify(base, null, 2))}>
                        Revert edits
                    </button>
                    {confirmDelete ? (
                        <button type="button" class="danger" onClick={remove}>
                            Confirm delete
                        </button>
                    ) : (
                        <button type="button" class="secondary" onClick={() => setConfirmDelete(true)}>
                            Delete…
                        </button>
                    )}
                </div>
            )}
            {merge && (
                <MergePanel
                    merge={merge}
                    busy={busy}
                    onPick={(conflict, pick) =>
                        setMerge({
                            ...merge,
                            state: {
                                ...merge.state,
                                merged: resolve(merge.state.merged, conflict, pick),
                                conflicts: merge.state.conflicts.map((c) => (c === conflict ? { ...c, picked: pick } : c)),
                            },
                        })
                    }
                    onSave={saveMerged}
                    onCancel={() => {
                        setMerge(null);
                        onSaved(merge.theirs);
                    }}
                />
            )}
        </div>
    );
}

type PickedConflict = Conflict & { picked?: 'base' | 'theirs' | 'mine' };

interface MergePanelProps {
    merge: { theirs: RecordBody; mine: Members; state: Merge };
    busy: boolean;
    onPick: (conflict: Conflict, pick: 'base' | 'theirs' | 'mine') => void;
    onSave: () => void;
    onCancel: () => void;
}

function MergePanel({ merge, busy, onPick, onSave, onCancel }: MergePanelProps) {
    const { theirs, state } = merge;
    const conflicts = state.conflicts as PickedConflict[];
    return (
        <section class="merge card" aria-labelledby="merge-title" data-testid="merge">
            <h2 id="merge-title">
                412: version {theirs.version} was written since you started ({theirs.updated_by ?? 'someone'})
            </h2>
            <p>
                Your changes were not saved. Members they changed and you did not are taken as they are
                {state.theirsChanged.length ? `: ${state.theirsChanged.join(', ')}` : ' (none)'}.
                {conflicts.length
                    ? ' Members you both changed are below: pick one for each, then save the merge.'
                    : ' No member was changed by both: save the merge.'}
            </p>
            {conflicts.length > 0 && (
                <table class="conflicts">
                    <thead>
                        <tr>
                            <th scope="col">Member</th>
                            <th scope="col">Base (when you started)</th>
                            <th scope="col">Theirs (version {theirs.version})</th>
                            <th scope="col">Mine</th>
                        </tr>
                    </thead>
                    <tbody>
                        {conflicts.map((c) => (
                            <tr key={c.member} data-testid={`conflict-${c.member}`}>
                                <th scope="row">{c.member}</th>
                                {(['base', 'theirs', 'mine'] as const).map((side) => (
                                    <td key={side} class={c.picked === side || (!c.picked && side === 'mine') ? 'picked' : ''}>
                                        <pre>{show(c[side])}</pre>
                                        <button type="button" class="secondary" aria-pressed={c.picked === side} onClick={() => onPick(c, side)}>
                                            Use {side}
                                        </button>
                                    </td>
                                ))}
                            </tr>
                        ))}
                    </tbody>
                </table>
            )}
            <JsonDiff label={`Version ${theirs.version} → the merge`} before={editable(theirs as Members)} after={state.merged} />
            <div class="actions">
                <button type="button" onClick={onSave} disabled={busy}>
                    Save merge (If-Match: "{theirs.version}")
                </button>
                <button type="button" class="secondary" onClick={onCancel}>
                    Discard mine, show theirs
                </button>
            </div>
        </section>
    );
}

interface HistoryProps {
    session: Session;
    id: string;
    current: RecordBody;
    deleted: boolean;
    writable: boolean;
    onRestored: () => void;
}

function History({ session, id, current, deleted, writable, onRestored }: HistoryProps) {
    const [versions, setVersions] = useState<Version[]>([]);
    const [cursor, setCursor] = useState<string | null>(null);
    const [picked, setPicked] = useState<number[]>([]);
    const [compared, setCompared] = useState<{ a: RecordBody; b: RecordBody } | null>(null);
    const [error, setError] = useState<string | null>(null);

    async function load(after: string | null) {
        const page = await session.client.GET('/v1/requests/{id}/versions', {
            params: { path: { id }, query: after ? { limit: 50, cursor: after } : { limit: 50 } },
        });
        if (!page.data) {
            setError(describeProblem(page.response.status, page.error));
            return;
        }
        setVersions((old) => (after ? [...old, ...page.data.data] : page.data.data));
        setCursor(page.data.next_cursor);
    }

    useEffect(() => {
        setPicked([]);
        setCompared(null);
        load(null);
    }, [id, current.etag, deleted]);

    async function version(n: number) {
        const answer = await session.client.GET('/v1/requests/{id}/versions/{n}', { params: { path: { id, n } } });
        if (!answer.data) throw new Error(describeProblem(answer.response.status, answer.error));
        return answer.data;
    }

    // Two versions picked: compare the older with the newer.
    useEffect(() => {
        if (picked.length !== 2) {
            setCompared(null);
            return;
        }
        const [older, newer] = [...picked].sort((x, y) => x - y);
        Promise.all([version(older), version(newer)])
            .then(([a, b]) => setCompared({ a, b }))
            .catch((e: Error) => setError(e.message));
    }, [picked]);

    async function restore(n: number) {
        try {
            const target = await version(n);
            const ops = patchBetween(editable(current as Members), editable(target as Members));
            if (ops.length === 0) {
                setError(`Version ${n} has the current members already.`);
                return;
            }
            const outcome = await writePatch(session, id, current.version, ops);
            if (outcome.ok) {
                setError(null);
                onRestored();
            } else setError(problemText(outcome));
        } catch (e) {
            setError((e as Error).message);
        }
    }

    return (
        <section class="history" aria-labelledby="history-title">
            <h2 id="history-title">History</h2>
            <p class="hint">Pick two versions to compare them.</p>
            {error && <p class="error" role="alert">{error}</p>}
            <table class="list" data-testid="history">
                <thead>
                    <tr>
                        <th scope="col">Compare</th>
                        <th scope="col">Version</th>
                        <th scope="col">Status</th>
                        <th scope="col">When</th>
                        <th scope="col">By</th>
                        <th scope="col">Changed</th>
                        <th scope="col" />
                    </tr>
                </thead>
                <tbody>
                    {versions.map((v) => (
                        <tr key={v.version} data-version={v.version}>
                            <td>
                                <input
                                    type="checkbox"
                                    aria-label={`Compare version ${v.version}`}
                                    checked={picked.includes(v.version)}
                                    onChange={(e) =>
                                        setPicked((old) =>
                                            e.currentTarget.checked ? [...old, v.version].slice(-2) : old.filter((n) => n !== v.version),
                                        )
                                    }
                                />
                            </td>
                            <td>{v.version}</td>
                            <td>{v.deleted ? <span class="badge danger">deleted</span> : v.status}</td>
                            <td>{new Date(v.updated_at).toLocaleString()}</td>
                            <td>{v.updated_by ?? ''}</td>
                            <td>
                                {v.changed.map((c) => (
                                    <span key={c} class="chip">
                                        {c}
                                    </span>
                                ))}
                            </td>
                            <td>
                                {writable && !deleted && !v.deleted && v.version !== current.version && (
                                    <button type="button" class="secondary" onClick={() => restore(v.version)}>
                                        Restore version {v.version}
                                    </button>
                                )}
                            </td>
                        </tr>
                    ))}
                </tbody>
            </table>
            {cursor && (
                <button type="button" class="secondary" onClick={() => load(cursor)}>
                    Older versions
                </button>
            )}
            {compared && <JsonDiff label={`Version ${compared.a.version} → version ${compared.b.version}`} before={compared.a} after={compared.b} />}
        </section>
    );
}
