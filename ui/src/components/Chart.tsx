// Time series and stacked bars on uPlot (about 50 kB, canvas, fast with
// many points). Dragging across a chart selects a range to zoom into.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** One drawn series. */
export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
}

interface Props {
  times: number[]; // seconds
  series: ChartSeries[];
  bars?: boolean;
  height?: number;
  utc: boolean;
  label: string;
  /** The x range to show, in seconds: the query's range, so sparse data is not stretched. */
  xRange?: [number, number];
  onZoom?: (fromMs: number, toMs: number) => void;
}

/** Running sums, so bars stack. */
function stacked(series: ChartSeries[]): (number | null)[][] {
  const acc: number[] = [];
  return series.map((s) =>
    s.values.map((v, i) => {
      acc[i] = (acc[i] ?? 0) + (v ?? 0);
      return acc[i];
    }),
  );
}

/** A chart of `series` over `times`. */
export function Chart({ times, series, bars, height = 160, utc, label, xRange, onZoom }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ys = bars ? stacked(series) : series.map((s) => s.values);
    // Canvas cannot read CSS custom properties, so resolve the theme's now.
    const css = getComputedStyle(document.documentElement);
    const muted = css.getPropertyValue("--muted").trim() || "#4b5563";
    const grid = css.getPropertyValue("--grid").trim() || "#e5e7eb";
    // Stacked bars are drawn top series first so each shows above the one below.
    const order = bars ? [...series.keys()].reverse() : [...series.keys()];
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      tzDate: utc ? (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC") : undefined,
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { show: !bars },
      scales: { x: { time: true, range: xRange ? () => xRange : undefined } },
      axes: [
        { stroke: muted, grid: { stroke: grid }, ticks: { stroke: grid } },
        { stroke: muted, grid: { stroke: grid }, ticks: { stroke: grid }, size: 50 },
      ],
      series: [
        {},
        ...order.map((i) => ({
          label: series[i].label,
          stroke: series[i].color,
          fill: bars ? series[i].color : undefined,
          width: bars ? 0 : 1.5,
          paths: bars ? uPlot.paths.bars!({ size: [0.9, 40] }) : undefined,
          // Few points (a sparse series) are drawn as dots, or a lone one would not show.
          points: { show: !bars && times.length < 40 },
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const a = u.posToVal(u.select.left, "x");
            const b = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoom.current?.(a * 1e3, b * 1e3);
          },
        ],
      },
    };
    const plot = new uPlot(opts, [times, ...order.map((i) => ys[i])] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series, bars, height, utc, xRange?.[0], xRange?.[1]]);

  return <div ref={box} class="chart" role="img" aria-label={label} />;
}
