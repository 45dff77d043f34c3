// The live change feed: the last 50 entries, then every new one as it is committed, over SSE that
// resumes where it stopped. Pause holds new entries back; filters choose what is shown; the page
// keeps at most 1,000 entries.
import { useEffect, useRef, useState } from 'preact/hooks';
import { feedEvents, followFeed, lastSequence, type FeedEntry } from '../api/events';
import type { Session } from '../api/session';
import { href } from '../lib/route';
import { TypeFilter, useTypes } from './types';

const kept = 1000;
const backlog = 50;

export function FeedPage({ session }: { session: Session }) {
    const types = useTypes(session);
    const [entries, setEntries] = useState<FeedEntry[]>([]);
    const [held, setHeld] = useState<FeedEntry[]>([]);
    const [paused, setPaused] = useState(false);
    const [state, setState] = useState('connecting');
    const [type, setType] = useState('');
    const [event, setEvent] = useState('');
    const pausedRef = useRef(paused);
    pausedRef.current = paused;

    useEffect(() => {
        let close = () => {};
        let cancelled = false;
        lastSequence(session.client).then((head) => {
            if (cancelled) return;
            close = followFeed(session, Math.max(0, head - backlog), {
                onEntry: (entry) => {
                    if (pausedRef.current) setHeld((old) => [entry, ...old].slice(0, kept));
                    else setEntries((old) => [entry, ...old].slice(0, kept));
                },
                onState: (next, detail) => setState(detail && next === 'closed' ? `closed: ${detail}` : next),
            });
        });
        return () => {
            cancelled = true;
            close();
        };
    }, [session]);

    function resume() {
        setEntries((old) => [...held, ...old].slice(0, kept));
        setHeld([]);
        setPaused(false);
    }

    const shown = entries.filter((e) => (!type || e.type === type) && (!event || e.event === event));
    return (
        <section>
            <div class="title-row">
                <h1>Live feed</h1>
                <span class={`badge ${state === 'open' ? 'ok' : 'danger'}`} data-testid="feed-state">
                    {state}
                </span>
            </div>
            {state.startsWith('closed') && (
                <p class="notice">
                    The stream ended. If the server no longer holds these entries (410), <a href={href({ page: 'requests' })}>list the records again</a>.
                </p>
            )}
            <div class="filters">
                <TypeFilter types={types} value={type} onChange={setType} />
                <label>
                    Event
                    <select name="event" value={event} onChange={(e) => setEvent(e.currentTarget.value)}>
                        <option value="">any</option>
                        {feedEvents.map((name) => (
                            <option key={name} value={name}>
                                {name}
                            </option>
                        ))}
                    </select>
                </label>
                {paused ? (
                    <button type="button" onClick={resume}>
                        Resume ({held.length} held)
                    </button>
                ) : (
                    <button type="button" class="secondary" onClick={() => setPaused(true)}>
                        Pause
                    </button>
                )}
            </div>
            <table class="list" data-testid="feed">
                <thead>
                    <tr>
                        <th scope="col">Seq</th>
                        <th scope="col">Event</th>
                        <th scope="col">Record</th>
                        <th scope="col">Type</th>
                        <th scope="col">Version</th>
                        <th scope="col">Status</th>
                        <th scope="col">At</th>
                    </tr>
                </thead>
                <tbody>
                    {shown.map((e) => (
                        <tr key={e.seq}>
                            <td>{e.seq}</td>
                            <td>{e.event}</td>
                            <td>
                                <a href={href({ page: 'record', id: e.id })}>{e.id}</a>
                            </td>
                            <td>{e.type}</td>
                            <td>{e.version}</td>
                            <td>{e.from ? `${e.from} → ${e.status}` : e.status}</td>
                            <td>{new Date(e.at).toLocaleTimeString()}</td>
                        </tr>
                    ))}
                </tbody>
            </table>
        </section>
    );
}
