// Health: /healthz and /readyz, and charts of the key metrics from /metrics, scraped every 5 s into
// a ring of 15 minutes kept in the page.
import { useEffect, useState } from 'preact/hooks';
import { Chart } from '../components/chart';
import { parseExposition, quantileBetween, sum, type Sample } from '../lib/metrics';

const everyMs = 5000;
const keptPoints = (15 * 60 * 1000) / everyMs;

interface Point {
    at: number; // seconds since the epoch
    requests: [number, number, number, number]; // 2xx..5xx per second
    latency: [number, number]; // p50, p99 in ms
    conflicts: number; // 412s per second
    commits: number; // versions committed per second
    outboxDepth: number;
    connections: number;
    deliveries: Record<string, number>; // per second, by outcome
    lagP99: number; // seconds
}

function pointBetween(before: { at: number; samples: Sample[] }, after: { at: number; samples: Sample[] }): Point {
    const seconds = Math.max(0.001, after.at - before.at);
    const rate = (name: string, where?: (l: Record<string, string>) => boolean) =>
        Math.max(0, sum(after.samples, name, where) - sum(before.samples, name, where)) / seconds;
    const byClass = (digit: string) => rate('reqstore_http_requests_total', (l) => (l.status ?? '').startsWith(digit));
    const outcomes = new Set(after.samples.filter((s) => s.name === 'reqstore_webhook_deliveries_total').map((s) => s.labels.outcome));
    const deliveries: Record<string, number> = {};
    for (const outcome of outcomes) deliveries[outcome] = rate('reqstore_webhook_deliveries_total', (l) => l.outcome === outcome);
    const latency = 'reqstore_http_request_duration_seconds';
    return {
        at: after.at,
        requests: [byClass('2'), byClass('3'), byClass('4'), byClass('5')],
        latency: [quantileBetween(before.samples, after.samples, latency, 0.5) * 1000, quantileBetween(before.samples, after.samples, latency, 0.99) * 1000],
        conflicts: rate('reqstore_cas_conflicts_total'),
        commits: rate('reqstore_commits_total'),
        outboxDepth: sum(after.samples, 'reqstore_outbox_depth'),
        connections: sum(after.samples, 'reqstore_open_connections'),
        deliveries,
        lagP99: quantileBetween(before.samples, after.samples, 'reqstore_webhook_delivery_lag_seconds', 0.99),
    };
}

function useProbe(path: string): number | null {
    const [status, setStatus] = useState<number | null>(null);
    useEffect(() => {
        const probe = () => fetch(path).then((r) => setStatus(r.status), () => setStatus(0));
        probe();
        const timer = setInterval(probe, everyMs);
        return () => clearInterval(timer);
    }, [path]);
    return status;
}

function Probe({ name, status }: { name: string; status: number | null }) {
    const ok = status !== null && status >= 200 && status < 300;
    return (
        <span class={`badge ${ok ? 'ok' : 'danger'}`} data-testid={`probe-${name}`}>
            {name}: {status === null ? '…' : status === 0 ? 'unreachable' : status}
        </span>
    );
}

export function HealthPage() {
    const live = useProbe('/healthz');
    const ready = useProbe('/readyz');
    const [points, setPoints] = useState<Point[]>([]);
    const [error, setError] = useState<string | null>(null);

    useEffect(() => {
        let previous: { at: number; samples: Sample[] } | null = null;
        let timer: ReturnType<typeof setTimeout>;
        let stopped = false;
        let scrapes = 0;
        const scrape = async () => {
            try {
                const answer = await fetch('/metrics');
                const scraped = { at: Date.now() / 1000, samples: parseExposition(await answer.text()) };
                if (previous) {
                    const point = pointBetween(previous, scraped);
                    setPoints((old) => [...old, point].slice(-keptPoints));
                }
                previous = scraped;
                setError(null);
            } catch (e) {
                setError(`GET /metrics failed: ${(e as Error).message}`);
            }
            // A rate needs two scrapes, a line two rates: the first three scrapes come a second apart,
            // then one every 5 s.
            if (!stopped) timer = setTimeout(scrape, ++scrapes < 3 ? 1000 : everyMs);
        };
        scrape();
        return () => {
            stopped = true;
            clearTimeout(timer);
        };
    }, []);

    const at = points.map((p) => p.at);
    const latest = points[points.length - 1];
    const outcomes = [...new Set(points.flatMap((p) => Object.keys(p.deliveries)))].sort();
    const nan = (v: number) => (Number.isNaN(v) ? null : v);
    return (
        <section>
            <div class="title-row">
                <h1>Health</h1>
                <Probe name="healthz" status={live} />
                <Probe name="readyz" status={ready} />
            </div>
            {error && <p class="error" role="alert">{error}</p>}
            <p class="hint" data-testid="request-rate">
                {latest
                    ? `${latest.requests.reduce((a, b) => a + b, 0).toFixed(1)} requests/s now (${points.length} points); `
                    : 'The first rates come with the second scrape; '}
                from /metrics every 5 s, the last 15 minutes kept in this page.
            </p>
            <div class="charts">
                <Chart title="Requests per second by status class" unit="/s" series={['2xx', '3xx', '4xx', '5xx']} data={[at, ...[0, 1, 2, 3].map((i) => points.map((p) => p.requests[i]))]} />
                <Chart title="Latency (all routes)" unit="ms" series={['p50', 'p99']} data={[at, points.map((p) => nan(p.latency[0])), points.map((p) => nan(p.latency[1]))]} />
                <Chart title="Commits and 412 conflicts per second" unit="/s" series={['commits', '412']} data={[at, points.map((p) => p.commits), points.map((p) => p.conflicts)]} />
                <Chart title="Outbox depth and open connections" unit="" series={['outbox depth', 'connections']} data={[at, points.map((p) => p.outboxDepth), points.map((p) => p.connections)]} />
                <Chart title="Webhook attempts per second by outcome" unit="/s" series={outcomes.length ? outcomes : ['none yet']} data={[at, ...(outcomes.length ? outcomes.map((o) => points.map((p) => p.deliveries[o] ?? 0)) : [points.map(() => 0)])]} />
                <Chart title="Delivery lag p99" unit="s" series={['p99']} data={[at, points.map((p) => nan(p.lagP99))]} />
            </div>
        </section>
    );
}
