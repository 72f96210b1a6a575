/**
 * Apache ECharts, only the parts the console draws (tree-shaken through echarts/core), rendered
 * as SVG: its text is ordinary DOM text, so the web font applies and screen readers get the
 * chart's generated description (the aria component).
 */
import { BarChart, GaugeChart, LineChart, PieChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';
import { h } from './dom';

echarts.use([BarChart, LineChart, PieChart, GaugeChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, SVGRenderer]);

export const palette = ['#1f5fa8', '#d9822b', '#2a9d8f', '#c23b3b', '#7b5ea7', '#5c7080', '#e0b400'];
export const severityColors: Record<string, string> = { low: '#5c7080', medium: '#d9822b', high: '#c23b3b', critical: '#7a1010' };

const live = new Set<echarts.ECharts>();

/** A chart in a labelled figure; `label` is also what a screen reader hears before the generated description. */
export function chart(label: string, option: EChartsCoreOption, height = 260): HTMLElement {
  const canvas = h('div', { class: 'chart', style: `height:${height}px`, role: 'img', 'aria-label': label });
  const figure = h('figure', { class: 'chart-figure' }, canvas);
  // Drawn once the element is in the document and has a width.
  requestAnimationFrame(() => {
    if (!canvas.isConnected) return;
    // Charts replaced by a refresh are gone from the document: free them.
    for (const instance of live) {
      if (!instance.getDom()?.isConnected) {
        instance.dispose();
        live.delete(instance);
      }
    }
    const instance = echarts.init(canvas, undefined, { renderer: 'svg' });
    instance.setOption({
      color: palette,
      aria: { enabled: true, label: { description: label } },
      textStyle: { fontFamily: "'Noto Sans SC', system-ui, sans-serif", color: '#1b2a3a' },
      animationDuration: 400,
      ...option,
    });
    live.add(instance);
  });
  return figure;
}

/** Frees every chart (before a view is drawn again). */
export function disposeCharts(): void {
  for (const instance of live) instance.dispose();
  live.clear();
}

window.addEventListener('resize', () => {
  for (const instance of live) instance.resize();
});
