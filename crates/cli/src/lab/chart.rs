//! `chart.svg`: grouped bars per model (one bar per connection count and size).
//!
//! Sequential runs: server CPU per request, requests/s, p99 latency and memory per idle
//! connection. Side-by-side runs: the median per-run ratio model ÷ tokio of CPU per request
//! and of p99, with a whisker from the smallest to the largest per-run ratio and a line at
//! 1 (parity with tokio).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::output::{Row, Summary};
use super::pairs::{PairRow, RatioStats};
use super::LabModel;
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

/// One bar: its height, and optionally a whisker from `low` to `high`.
#[derive(Debug, Clone, Copy)]
struct Bar {
    value: f64,
    whisker: Option<(f64, f64)>,
}

/// One panel of grouped bars: a group per model, a bar per cell.
struct Panel<'a> {
    title: &'a str,
    models: &'a [LabModel],
    cells: &'a [(u32, u32)],
    /// Label the bars by cell (false when a panel has one bar per model).
    legend: bool,
    /// A horizontal line at this value.
    reference: Option<f64>,
    value: &'a dyn Fn(LabModel, (u32, u32)) -> Option<Bar>,
}

/// The lab's cells in table order.
fn cells(summary: &Summary) -> Vec<(u32, u32)> {
    summary
        .settings
        .conns
        .iter()
        .flat_map(|&c| summary.settings.sizes.iter().map(move |&s| (c, s)))
        .collect()
}

/// Draws the chart of a sequential run into `path`.
pub(crate) fn draw(path: &Path, summary: &Summary) -> anyhow::Result<()> {
    let models: Vec<_> = summary.models.iter().map(|m| m.model).collect();
    let cells = cells(summary);
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
    for (area, (title, metric, per_cell)) in areas.iter().zip(panels) {
        // Memory is one figure per model: one bar, not one per cell.
        let bars = if per_cell {
            &cells[..]
        } else {
            &cells[..1.min(cells.len())]
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
                .map(|value| Bar {
                    value,
                    whisker: None,
                })
        };
        panel(
            area,
            Panel {
                title,
                models: &models,
                cells: bars,
                legend: per_cell,
                reference: None,
                value: &value,
            },
        )?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Draws the chart of a side-by-side run into `path`: median per-run ratios against tokio.
pub(crate) fn draw_ratios(path: &Path, summary: &Summary) -> anyhow::Result<()> {
    let models: Vec<_> = summary
        .models
        .iter()
        .map(|m| m.model)
        .filter(|&m| m != LabModel::Tokio)
        .collect();
    let cells = cells(summary);
    type Metric = (&'static str, fn(&PairRow) -> Option<RatioStats>);
    let panels: [Metric; 2] = [
        (
            "server CPU per request, model ÷ tokio side by side (median of runs, min–max; lower is better)",
            |r| r.cpu_per_request,
        ),
        (
            "p99 latency, model ÷ tokio side by side (median of runs, min–max; lower is better)",
            |r| r.p99,
        ),
    ];
    let root = SVGBackend::new(path, (1200, 800)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let areas = root.split_evenly((panels.len(), 1));
    for (area, (title, metric)) in areas.iter().zip(panels) {
        let value = |model, cell: (u32, u32)| {
            let stats = summary
                .pairs
                .iter()
                .find(|r| {
                    r.model == model && r.conns == cell.0 && r.size == cell.1 && r.status == "ok"
                })
                .and_then(metric)?;
            (stats.min >= 0.0 && stats.max.is_finite()).then_some(Bar {
                value: stats.median,
                whisker: Some((stats.min, stats.max)),
            })
        };
        panel(
            area,
            Panel {
                title,
                models: &models,
                cells: &cells,
                legend: true,
                reference: Some(1.0),
                value: &value,
            },
        )?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Draws one panel into `area`.
fn panel(area: &DrawingArea<SVGBackend<'_>, Shift>, p: Panel<'_>) -> anyhow::Result<()> {
    let Panel {
        title,
        models,
        cells,
        legend,
        reference,
        value,
    } = p;
    let n = models.len().max(1) as f64;
    let top = models
        .iter()
        .flat_map(|&m| cells.iter().filter_map(move |&c| value(m, c)))
        .map(|b| b.whisker.map_or(b.value, |w| w.1.max(b.value)))
        .chain(reference)
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
            if cells.iter().any(|&c| value(m, c).is_some()) {
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
    let width = 0.8 / cells.len().max(1) as f64;
    for (k, &cell) in cells.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let placed: Vec<(f64, Bar)> = models
            .iter()
            .enumerate()
            .filter_map(|(i, &m)| Some((i as f64 + 0.1 + k as f64 * width, value(m, cell)?)))
            .collect();
        let rects = placed.iter().map(|&(x0, bar)| {
            Rectangle::new([(x0, 0.0), (x0 + width * 0.9, bar.value)], color.filled())
        });
        let series = chart.draw_series(rects).map_err(err)?;
        if legend {
            series
                .label(format!("{} conns, {} B", cell.0, cell.1))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        let whiskers = placed.iter().filter_map(|&(x0, bar)| {
            let (low, high) = bar.whisker?;
            let x = x0 + width * 0.45;
            Some(PathElement::new(
                vec![(x, low), (x, high)],
                BLACK.stroke_width(2),
            ))
        });
        chart.draw_series(whiskers).map_err(err)?;
    }
    if let Some(level) = reference {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, level), (n, level)],
                BLACK.stroke_width(1),
            )))
            .map_err(err)?;
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}
