// The Prometheus text exposition of GET /metrics, read into samples, and the few series the health
// page charts, computed from two scrapes (rates) or one (gauges).
export interface Sample {
    name: string;
    labels: Record<string, string>;
    value: number;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Sample[] {
    const samples: Sample[] = [];
    for (const line of text.split('\n')) {
        if (line.length === 0 || line.startsWith('#')) continue;
        const match = sampleLine.exec(line);
        if (!match) continue;
        const labels: Record<string, string> = {};
        for (const pair of (match[2] ?? '').matchAll(labelPair))
            labels[pair[1]] = pair[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        const value = Number(match[3]);
        if (!Number.isNaN(value)) samples.push({ name: match[1], labels, value });
    }
    return samples;
}

export function sum(samples: Sample[], name: string, where: (labels: Record<string, string>) => boolean = () => true): number {
    return samples.filter((s) => s.name === name && where(s.labels)).reduce((total, s) => total + s.value, 0);
}

// The q-quantile of a histogram's observations between two scrapes, from its cumulative buckets,
// interpolated inside the bucket it falls in (as PromQL's histogram_quantile does). NaN without
// observations.
export function quantileBetween(before: Sample[], after: Sample[], name: string, q: number): number {
    const buckets = (samples: Sample[]) => {
        const byBound = new Map<number, number>();
        for (const s of samples) {
            if (s.name !== `${name}_bucket`) continue;
            const bound = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
            byBound.set(bound, (byBound.get(bound) ?? 0) + s.value);
        }
        return byBound;
    };
    const old = buckets(before);
    const now = buckets(after);
    const bounds = [...now.keys()].sort((a, b) => a - b);
    const counts = bounds.map((b) => (now.get(b) ?? 0) - (old.get(b) ?? 0));
    const total = counts[counts.length - 1] ?? 0;
    if (total <= 0) return NaN;
    const rank = q * total;
    for (let i = 0; i < bounds.length; ++i) {
        if (counts[i] >= rank) {
            const lower = i === 0 ? 0 : bounds[i - 1];
            const below = i === 0 ? 0 : counts[i - 1];
            if (bounds[i] === Infinity) return lower;
            const inBucket = counts[i] - below;
            return inBucket > 0 ? lower + ((bounds[i] - lower) * (rank - below)) / inBucket : bounds[i];
        }
    }
    return NaN;
}
