//! `chart.svg`: grouped bars per model (one bar per connection count and size) for server
//! CPU per request, requests/s, p99 latency and memory per idle connection.

use std::path::Path;

use plotters::prelude::*;

use super::output::{Row, Summary};

const COLORS: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
];

fn err(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {e:?}")
}

/// Draws the chart into `path`.
pub(crate) fn draw(path: &Path, summary: &Summary) -> anyhow::Result<()> {
    let models: Vec<_> = summary.models.iter().map(|m| m.model).collect();
    let cells: Vec<(u32, u32)> = summary
        .settings
        .conns
        .iter()
        .flat_map(|&c| summary.settings.sizes.iter().map(move |&s| (c, s)))
        .collect();
    type Metric = (&'static str, fn(&Row) -> Option<f64>, bool);
    let panels: [Metric; 4] = [
        (
            "server CPU per request (µs, lower is better)",
            |r| r.cpu_us_per_request,
            true,
        ),
        (
            "requests per second (higher is better)",
            |r| r.requests_per_sec,
            true,
        ),
        ("p99 latency (µs, lower is better)", |r| r.p99_us, true),
        (
            "server memory per idle connection (KiB, lower is better)",
            |r| r.bytes_per_idle_conn.map(|b| b / 1024.0),
            false,
        ),
    ];
    let root = SVGBackend::new(path, (1200, 1500)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let areas = root.split_evenly((panels.len(), 1));
    let n = models.len().max(1) as f64;
    for (area, (title, metric, per_cell)) in areas.iter().zip(panels) {
        // Memory is one figure per model: one bar, not one per cell.
        let bars: Vec<(u32, u32)> = if per_cell {
            cells.clone()
        } else {
            cells.iter().take(1).copied().collect()
        };
        let value = |model, cell: (u32, u32)| {
            summary
                .rows
                .iter()
                .find(|r| {
                    r.model == model && r.conns == cell.0 && r.size == cell.1 && r.status == "ok"
                })
                .and_then(metric)
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let top = models
            .iter()
            .flat_map(|&m| bars.iter().filter_map(move |&c| value(m, c)))
            .fold(0.0f64, f64::max);
        // Headroom above the tallest bar for the legend.
        let top = if top > 0.0 { top * 1.45 } else { 1.0 };
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..n, 0.0..top)
            .map_err(err)?;
        // Model names as x labels at the centre of each group (x = i + 0.5); groups whose
        // model has no figure say so.
        let names: Vec<String> = models
            .iter()
            .map(|&m| {
                if bars.iter().any(|&c| value(m, c).is_some()) {
                    m.name().to_owned()
                } else {
                    format!("{} (unavailable)", m.name())
                }
            })
            .collect();
        let name_at = |x: &f64| {
            let i = (x - 0.5).round();
            if (x - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(models.len() * 2 + 1)
            .x_label_formatter(&name_at)
            .x_label_style(("sans-serif", 14))
            .y_labels(6)
            .draw()
            .map_err(err)?;
        let width = 0.8 / bars.len() as f64;
        for (k, &cell) in bars.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let rects: Vec<_> = models
                .iter()
                .enumerate()
                .filter_map(|(i, &m)| {
                    let v = value(m, cell)?;
                    let x0 = i as f64 + 0.1 + k as f64 * width;
                    Some(Rectangle::new(
                        [(x0, 0.0), (x0 + width * 0.9, v)],
                        color.filled(),
                    ))
                })
                .collect();
            let series = chart.draw_series(rects).map_err(err)?;
            if per_cell {
                series
                    .label(format!("{} conns, {} B", cell.0, cell.1))
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                    });
            }
        }
        if per_cell {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 12))
                .draw()
                .map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}
