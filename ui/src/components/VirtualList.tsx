// A list that renders only the rows in view, so 100,000 entries scroll
// smoothly. Rows may differ in height (wrapped or expanded lines): each is
// measured once shown, and unmeasured rows count as `estimate` pixels.
import type { ComponentChildren } from "preact";
import { useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";

interface Props {
  count: number;
  estimate: number;
  /** Changes when the data or layout changes, forgetting measured heights. */
  layoutKey: string;
  render: (index: number) => ComponentChildren;
  label: string;
}

/** The first index whose row ends below `y`. */
function firstBelow(offsets: Float64Array, y: number): number {
  let lo = 0;
  let hi = offsets.length - 2;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid + 1] <= y) lo = mid + 1;
    else hi = mid;
  }
  return Math.max(0, lo);
}

/** A scrolling, virtualised list of `count` rows. */
export function VirtualList({ count, estimate, layoutKey, render, label }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<number, number>());
  const [version, setVersion] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(800);

  useMemo(() => heights.current.clear(), [layoutKey]);

  const offsets = useMemo(() => {
    const o = new Float64Array(count + 1);
    const h = heights.current;
    for (let i = 0; i < count; i++) o[i + 1] = o[i] + (h.get(i) ?? estimate);
    return o;
  }, [count, estimate, version, layoutKey]);

  const first = count ? firstBelow(offsets, scrollTop) : 0;
  let last = first;
  while (last < count && offsets[last] < scrollTop + viewport) last++;
  const start = Math.max(0, first - 5);
  const end = Math.min(count, last + 5);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setViewport(el.clientHeight);
    let changed = false;
    for (const row of Array.from(el.querySelectorAll<HTMLElement>("[data-index]"))) {
      const i = Number(row.dataset.index);
      const h = row.offsetHeight;
      if (heights.current.get(i) !== h) {
        heights.current.set(i, h);
        changed = true;
      }
    }
    if (changed) setVersion((v) => v + 1);
  });

  const rows = [];
  for (let i = start; i < end; i++) {
    rows.push(
      <div key={`${layoutKey}:${i}`} data-index={i} role="listitem">
        {render(i)}
      </div>,
    );
  }
  return (
    <div
      ref={scroller}
      class="vlist"
      tabIndex={0}
      aria-label={label}
      onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}
    >
      <div style={{ height: `${offsets[count]}px`, position: "relative" }}>
        <div role="list" style={{ transform: `translateY(${offsets[start]}px)` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
