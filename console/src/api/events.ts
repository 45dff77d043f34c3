// The change feed as Server-Sent Events with the key in the Authorization header (a browser's own
// EventSource cannot send one): the `eventsource` package over fetch. It resumes after a dropped
// connection with Last-Event-ID, which the server prefers over ?after=.
import { EventSource } from 'eventsource';
import type { Client, Session } from './session';
import type { components } from './schema';

export type FeedEntry = components['schemas']['FeedEntry'];
export const feedEvents = ['request.created', 'request.updated', 'request.status_changed', 'request.deleted'] as const;

export interface FeedHandlers {
    onEntry: (entry: FeedEntry) => void;
    onState?: (state: 'connecting' | 'open' | 'closed', detail?: string) => void;
}

// The newest sequence number the server holds now (GET /v1/events answers it as last_seq).
export async function lastSequence(client: Client): Promise<number> {
    const page = await client.GET('/v1/events', { params: { query: { limit: 1, wait: 0 } } });
    return page.data?.last_seq ?? 0;
}

// Follows the feed from after `after`; answers the function that closes it.
export function followFeed(session: Session, after: number, handlers: FeedHandlers): () => void {
    const url = new URL('/v1/events/stream', window.location.origin);
    url.searchParams.set('after', String(after));
    const source = new EventSource(url, {
        fetch: (input, init) =>
            fetch(input, { ...init, credentials: 'omit', headers: { ...init?.headers, Authorization: session.authorization } }),
    });
    handlers.onState?.('connecting');
    source.addEventListener('open', () => handlers.onState?.('open'));
    source.addEventListener('error', (event) => {
        const detail = (event as { message?: string }).message;
        handlers.onState?.(source.readyState === EventSource.CLOSED ? 'closed' : 'connecting', detail);
    });
    for (const name of feedEvents) {
        source.addEventListener(name, (event) => {
            try {
                handlers.onEntry(JSON.parse((event as MessageEvent<string>).data) as FeedEntry);
            } catch {
                // A frame that is not JSON is not an entry; the next one is.
            }
        });
    }
    return () => source.close();
}
