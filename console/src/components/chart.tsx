// A time series chart (uPlot on a canvas): x is seconds since the epoch, one line per series.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartProps {
    title: string;
    series: string[];
    unit: string;
    data: [number[], ...(number | null)[][]];
}

const palette = ['#2f7ed8', '#2ca02c', '#ff7f0e', '#d62728', '#9467bd', '#8c564b'];

export function Chart({ title, series, unit, data }: ChartProps) {
    const holder = useRef<HTMLDivElement>(null);
    const plot = useRef<uPlot | null>(null);

    useEffect(() => {
        const element = holder.current!;
        const options: uPlot.Options = {
            width: Math.max(280, element.clientWidth),
            height: 180,
            series: [
                {},
                ...series.map((label, i) => ({
                    label,
                    stroke: palette[i % palette.length],
                    width: 2,
                    value: (_: uPlot, v: number | null) => (v === null || Number.isNaN(v) ? '—' : `${+v.toFixed(3)} ${unit}`),
                })),
            ],
            axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor', size: 60 }],
            legend: { live: false },
            cursor: { show: false },
        };
        plot.current = new uPlot(options, data, element);
        const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(280, element.clientWidth), height: 180 }));
        resize.observe(element);
        return () => {
            resize.disconnect();
            plot.current?.destroy();
            plot.current = null;
        };
    }, [series.join('\n')]);

    useEffect(() => {
        plot.current?.setData(data);
    }, [data]);

    return (
        <figure class="chart card" data-testid="chart">
            <figcaption>{title}</figcaption>
            <div ref={holder} />
        </figure>
    );
}
