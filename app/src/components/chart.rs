//! The dashboard's chart of attempts per hour, drawn as SVG on the server (no
//! script, no chart library) and left alone by hydration.

use hookline::dashboard::Bar;
use leptos::prelude::*;

const WIDTH: f64 = 720.0;
const PLOT_HEIGHT: f64 = 180.0;
const TOP: f64 = 10.0;

fn hour_label(ms: i64) -> String {
    format!("{:02}:00", ms.div_euclid(3_600_000).rem_euclid(24))
}

#[component]
pub fn AttemptsChart(bars: Vec<Bar>) -> impl IntoView {
    let max = bars.iter().map(Bar::total).max().unwrap_or(0).max(1) as f64;
    let total: i64 = bars.iter().map(Bar::total).sum();
    let slot = WIDTH / bars.len().max(1) as f64;
    let bar_width = slot * 0.7;
    let scale = |n: i64| n as f64 / max * PLOT_HEIGHT;
    let base = TOP + PLOT_HEIGHT;
    let label = format!(
        "Attempts per hour over the last {} hours: {total} in all, at most {} in one hour.",
        bars.len(),
        max as i64
    );
    let columns = bars
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            let x = i as f64 * slot + (slot - bar_width) / 2.0;
            let delivered = scale(bar.delivered);
            let rejected = scale(bar.rejected);
            let unreachable = scale(bar.unreachable);
            let tip = format!(
                "{}: {} delivered, {} rejected, {} unreachable",
                hour_label(bar.start_ms),
                bar.delivered,
                bar.rejected,
                bar.unreachable
            );
            let tick = (i % 6 == 0).then(|| {
                view! {
                    <text x=format!("{:.1}", x + bar_width / 2.0) y=format!("{:.1}", base + 16.0) class="chart-tick" text-anchor="middle">
                        {hour_label(bar.start_ms)}
                    </text>
                }
            });
            view! {
                <g>
                    <title>{tip}</title>
                    <rect class="chart-delivered" x=format!("{x:.1}") y=format!("{:.1}", base - delivered) width=format!("{bar_width:.1}") height=format!("{delivered:.1}")/>
                    <rect class="chart-rejected" x=format!("{x:.1}") y=format!("{:.1}", base - delivered - rejected) width=format!("{bar_width:.1}") height=format!("{rejected:.1}")/>
                    <rect class="chart-unreachable" x=format!("{x:.1}") y=format!("{:.1}", base - delivered - rejected - unreachable) width=format!("{bar_width:.1}") height=format!("{unreachable:.1}")/>
                    {tick}
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-testid="attempts-chart">
            <svg viewBox=format!("0 0 {WIDTH} {}", base + 24.0) role="img" aria-label=label.clone()>
                <line x1="0" y1=format!("{base}") x2=format!("{WIDTH}") y2=format!("{base}") class="chart-axis"/>
                {columns}
            </svg>
            <figcaption class="chart-legend">
                <span class="key key-delivered">"Delivered"</span>
                <span class="key key-rejected">"Rejected (non-2xx)"</span>
                <span class="key key-unreachable">"Unreachable"</span>
                <span class="muted small">"Hours in UTC."</span>
            </figcaption>
        </figure>
    }
}
