//! `chart.svg`: every figure as a ratio against tokio, grouped bars per model (one bar per
//! connection count and size), with tokio drawn as the line at 1 on every panel.
//!
//! Side-by-side runs: the median per-run ratio model ÷ tokio of CPU per request and of p99,
//! each bar with a whisker from the smallest to the largest per-run ratio (the noise of one
//! run). Sequential runs: the ratios of medians for CPU per request, p99 and req/s, and the
//! legend gives tokio's own value per cell. Both: memory per idle connection ÷ tokio's (one
//! bar per model). The y axis stops at [`CAP`] so that one starved model does not flatten
//! the others; a bar past it is cut there and labelled with its value.

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

/// Highest ratio the y axis shows; taller bars are cut and labelled.
const CAP: f64 = 4.0;

/// Size of one panel.
const PANEL: (u32, u32) = (1200, 420);

fn err(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {e:?}")
}

/// One bar: its height, and optionally a whisker from `low` to `high`.
#[derive(Debug, Clone, Copy)]
struct Bar {
    value: f64,
    whisker: Option<(f64, f64)>,
}

/// Which way is better, for the axis label.
#[derive(Debug, Clone, Copy)]
enum Better {
    Lower,
    Higher,
}

/// A panel's figures: `value(model, series index)`.
type ValueFn<'a> = dyn Fn(LabModel, usize) -> Option<Bar> + 'a;

/// One panel of grouped bars: a group per model, a bar per series.
struct Panel<'a> {
    title: String,
    better: Better,
    models: &'a [LabModel],
    /// The legend of each series (one bar per model each).
    series: Vec<String>,
    value: &'a ValueFn<'a>,
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

fn cell_label(cell: (u32, u32)) -> String {
    format!("{} conns × {} B", cell.0, cell.1)
}

/// Memory per idle connection ÷ tokio's, one bar per model.
fn memory_ratio(summary: &Summary, model: LabModel) -> Option<Bar> {
    let of = |m: LabModel| {
        summary
            .models
            .iter()
            .find(|i| i.model == m && i.status == "ok")
            .and_then(|i| i.bytes_per_idle_conn)
    };
    let (m, t) = (of(model)?, of(LabModel::Tokio)?);
    let value = m / t;
    (t > 0.0 && value.is_finite() && value >= 0.0).then_some(Bar {
        value,
        whisker: None,
    })
}

/// Draws `panels` one above the other into `path`.
fn draw_panels(path: &Path, panels: Vec<Panel<'_>>) -> anyhow::Result<()> {
    let height = PANEL.1 * panels.len().max(1) as u32;
    let root = SVGBackend::new(path, (PANEL.0, height)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let areas = root.split_evenly((panels.len().max(1), 1));
    for (area, p) in areas.iter().zip(panels) {
        panel(area, p)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Draws the chart of a sequential run into `path`: ratios of medians against tokio.
pub(crate) fn draw(path: &Path, summary: &Summary) -> anyhow::Result<()> {
    let models: Vec<_> = summary
        .models
        .iter()
        .map(|m| m.model)
        .filter(|&m| m != LabModel::Tokio)
        .collect();
    let cells = cells(summary);
    let row = |model: LabModel, cell: (u32, u32)| {
        summary
            .rows
            .iter()
            .find(|r| r.model == model && (r.conns, r.size) == cell && r.status == "ok")
    };
    type Metric = (&'static str, Better, fn(&Row) -> Option<f64>, &'static str);
    let metrics: [Metric; 3] = [
        (
            "server CPU per request",
            Better::Lower,
            |r| r.cpu_us_per_request,
            "µs",
        ),
        ("p99 latency", Better::Lower, |r| r.p99_us, "µs"),
        (
            "requests per second",
            Better::Higher,
            |r| r.requests_per_sec,
            "req/s",
        ),
    ];
    let mut values: Vec<Box<ValueFn<'_>>> = Vec::new();
    let mut specs = Vec::new();
    for (title, better, metric, unit) in metrics {
        let cells_of = cells.clone();
        values.push(Box::new(move |model, k| {
            let of = |m| row(m, cells_of[k]).and_then(metric);
            let (m, t) = (of(model)?, of(LabModel::Tokio)?);
            let value = m / t;
            (t > 0.0 && value.is_finite() && value >= 0.0).then_some(Bar {
                value,
                whisker: None,
            })
        }));
        let series = cells
            .iter()
            .map(|&c| {
                let tokio = row(LabModel::Tokio, c).and_then(metric);
                match tokio {
                    Some(v) if v >= 100.0 => format!("{} (tokio: {v:.0} {unit})", cell_label(c)),
                    Some(v) => format!("{} (tokio: {v:.2} {unit})", cell_label(c)),
                    None => cell_label(c),
                }
            })
            .collect();
        specs.push((
            format!(
                "{title}, model ÷ tokio (medians of {})",
                super::output::runs(summary.settings.runs, "")
            ),
            better,
            series,
        ));
    }
    let memory = |model, _| memory_ratio(summary, model);
    let mut panels: Vec<Panel<'_>> = specs
        .into_iter()
        .zip(&values)
        .map(|((title, better, series), value)| Panel {
            title,
            better,
            models: &models,
            series,
            value: value.as_ref(),
        })
        .collect();
    panels.push(Panel {
        title: "server memory per idle connection, model ÷ tokio".into(),
        better: Better::Lower,
        models: &models,
        series: vec!["memory per idle connection".into()],
        value: &memory,
    });
    draw_panels(path, panels)
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
    let stats_bar = |model: LabModel, k: usize, metric: fn(&PairRow) -> Option<RatioStats>| {
        let cell = cells[k];
        let stats = summary
            .pairs
            .iter()
            .find(|r| r.model == model && (r.conns, r.size) == cell && r.status == "ok")
            .and_then(metric)?;
        (stats.min >= 0.0 && stats.max.is_finite()).then_some(Bar {
            value: stats.median,
            whisker: Some((stats.min, stats.max)),
        })
    };
    let cpu = |model, k| stats_bar(model, k, |r| r.cpu_per_request);
    let p99 = |model, k| stats_bar(model, k, |r| r.p99);
    let memory = |model, _| memory_ratio(summary, model);
    let series: Vec<String> = cells.iter().map(|&c| cell_label(c)).collect();
    let runs = super::output::runs(summary.settings.runs, "");
    let panels = vec![
        Panel {
            title: format!(
                "server CPU per request, model ÷ tokio side by side (median of {runs}, whisker: min–max)"
            ),
            better: Better::Lower,
            models: &models,
            series: series.clone(),
            value: &cpu,
        },
        Panel {
            title: format!(
                "p99 latency, model ÷ tokio side by side (median of {runs}, whisker: min–max)"
            ),
            better: Better::Lower,
            models: &models,
            series,
            value: &p99,
        },
        Panel {
            title: "server memory per idle connection, model ÷ tokio (each alone)".into(),
            better: Better::Lower,
            models: &models,
            series: vec!["memory per idle connection".into()],
            value: &memory,
        },
    ];
    draw_panels(path, panels)
}

/// Draws one panel into `area`.
fn panel(area: &DrawingArea<SVGBackend<'_>, Shift>, p: Panel<'_>) -> anyhow::Result<()> {
    let Panel {
        title,
        better,
        models,
        series,
        value,
    } = p;
    let n = models.len().max(1) as f64;
    let highest = models
        .iter()
        .flat_map(|&m| (0..series.len()).filter_map(move |k| value(m, k)))
        .map(|b| b.whisker.map_or(b.value, |w| w.1.max(b.value)))
        .fold(1.0f64, f64::max);
    // Headroom above the tallest bar for the legend and the labels of cut bars.
    let top = highest.min(CAP) * 1.4;
    let y_desc = match better {
        Better::Lower => "model ÷ tokio (below 1: better than tokio)",
        Better::Higher => "model ÷ tokio (above 1: better than tokio)",
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 19))
        .margin(10)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..n, 0.0..top)
        .map_err(err)?;
    // Model names as x labels at the centre of each group (x = i + 0.5); groups whose
    // model has no figure say so.
    let names: Vec<String> = models
        .iter()
        .map(|&m| {
            if (0..series.len()).any(|k| value(m, k).is_some()) {
                m.name().to_owned()
            } else {
                format!("{} (not measured)", m.name())
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
        .x_label_style(("sans-serif", 16))
        .y_label_style(("sans-serif", 15))
        .y_labels(8)
        .y_label_formatter(&|y| format!("{y:.2}"))
        .x_desc("IO model")
        .y_desc(y_desc)
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    // tokio: the line at 1.
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 1.0), (n, 1.0)],
            BLACK.stroke_width(2),
        )))
        .map_err(err)?
        .label("tokio = 1")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], BLACK.stroke_width(2)));
    let width = 0.8 / series.len().max(1) as f64;
    for (k, label) in series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let placed: Vec<(f64, Bar)> = models
            .iter()
            .enumerate()
            .filter_map(|(i, &m)| Some((i as f64 + 0.1 + k as f64 * width, value(m, k)?)))
            .collect();
        let clip = |v: f64| v.min(CAP);
        let rects = placed.iter().map(|&(x0, bar)| {
            Rectangle::new(
                [(x0, 0.0), (x0 + width * 0.9, clip(bar.value))],
                color.filled(),
            )
        });
        chart
            .draw_series(rects)
            .map_err(err)?
            .label(label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
        let whiskers = placed.iter().filter_map(|&(x0, bar)| {
            let (low, high) = bar.whisker?;
            let x = x0 + width * 0.45;
            Some(PathElement::new(
                vec![(x, clip(low)), (x, clip(high))],
                BLACK.stroke_width(2),
            ))
        });
        chart.draw_series(whiskers).map_err(err)?;
        // Bars cut at CAP say how tall they are.
        let cut = placed
            .iter()
            .filter(|(_, bar)| bar.value > CAP)
            .map(|&(x0, bar)| {
                Text::new(
                    format!("{:.1}×", bar.value),
                    (x0, CAP * 1.08),
                    ("sans-serif", 13).into_font(),
                )
            });
        chart.draw_series(cut).map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    Ok(())
}
