// Hash routes (#/requests/req_1), so that the server serves one page and needs no fallback.
import { useEffect, useState } from 'preact/hooks';

export type Route =
    | { page: 'requests' }
    | { page: 'record'; id: string }
    | { page: 'feed' }
    | { page: 'webhooks'; id?: string }
    | { page: 'health' };

export function parseRoute(hash: string): Route {
    const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
    switch (parts[0]) {
        case 'requests':
            return parts[1] ? { page: 'record', id: parts[1] } : { page: 'requests' };
        case 'feed':
            return { page: 'feed' };
        case 'webhooks':
            return { page: 'webhooks', id: parts[1] };
        case 'health':
            return { page: 'health' };
        default:
            return { page: 'requests' };
    }
}

export function href(route: Route): string {
    switch (route.page) {
        case 'record':
            return `#/requests/${encodeURIComponent(route.id)}`;
        case 'webhooks':
            return route.id ? `#/webhooks/${encodeURIComponent(route.id)}` : '#/webhooks';
        default:
            return `#/${route.page}`;
    }
}

export function useRoute(): Route {
    const [route, setRoute] = useState(() => parseRoute(window.location.hash));
    useEffect(() => {
        const follow = () => setRoute(parseRoute(window.location.hash));
        window.addEventListener('hashchange', follow);
        return () => window.removeEventListener('hashchange', follow);
    }, []);
    return route;
}
