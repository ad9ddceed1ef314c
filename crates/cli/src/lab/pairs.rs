//! Side-by-side results: the per-run ratios of a model against tokio measured at the same
//! time, and their statistics per cell.
//!
//! Each run of a pair gives one ratio per figure (model ÷ tokio, from the two samples of
//! that run). A cell's figure is the median of those per-run ratios, not the ratio of the
//! two medians: drift that hits both servers in a run cancels inside that run's ratio, and
//! the median then discards the runs where it did not (a stall that hit one server only).
//! The min and max of the per-run ratios show the spread.

use serde::Serialize;

use super::output::median;
use super::{LabModel, ModelInfo, Sample, Settings};

/// The figures of one run of a pair as ratios model ÷ tokio (`> 1` means more).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct PairRatios {
    pub(crate) cpu_per_request: Option<f64>,
    pub(crate) p99: Option<f64>,
    pub(crate) p50: Option<f64>,
    pub(crate) requests_per_sec: Option<f64>,
}

/// One run of a model and tokio side by side.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Pair {
    pub(crate) model: LabModel,
    pub(crate) conns: u32,
    pub(crate) size: u32,
    pub(crate) run: u32,
    /// `ok`, or why the pair has no ratios (either server's failure).
    pub(crate) status: String,
    /// The server whose load generator was spawned first.
    pub(crate) first: LabModel,
    pub(crate) ratios: PairRatios,
}

impl Pair {
    /// The pair of `model` (its sample) and tokio (`reference`) in one run.
    pub(crate) fn new(model: &Sample, reference: &Sample, first: LabModel) -> Pair {
        let status = [model, reference].iter().find(|s| !usable(s)).map_or_else(
            || "ok".to_owned(),
            |s| {
                let why = match s.status.as_str() {
                    "ok" => "failed: no request completed",
                    why => why,
                };
                // The row is the model's: only the reference's failure is named.
                if s.model == LabModel::Tokio && model.model != LabModel::Tokio {
                    format!("tokio: {why}")
                } else {
                    why.to_owned()
                }
            },
        );
        Pair {
            model: model.model,
            conns: model.conns,
            size: model.size,
            run: model.run,
            ratios: if status == "ok" {
                pair_ratios(model, reference)
            } else {
                PairRatios::default()
            },
            status,
            first,
        }
    }
}

fn usable(sample: &Sample) -> bool {
    sample.status == "ok" && sample.requests > 0
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    let r = a / b;
    (b > 0.0 && r.is_finite()).then_some(r)
}

/// The ratios `model ÷ reference` of two samples taken in the same run; a figure whose
/// reference is zero (no CPU time counted, say) has no ratio.
pub(crate) fn pair_ratios(model: &Sample, reference: &Sample) -> PairRatios {
    PairRatios {
        cpu_per_request: ratio(model.cpu_us_per_request, reference.cpu_us_per_request),
        p99: ratio(model.p99_us, reference.p99_us),
        p50: ratio(model.p50_us, reference.p50_us),
        requests_per_sec: ratio(model.requests_per_sec, reference.requests_per_sec),
    }
}

/// Median, min and max of per-run ratios.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct RatioStats {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

/// The statistics of `ratios` (non-finite values ignored), `None` when there is none.
pub(crate) fn ratio_stats(ratios: impl IntoIterator<Item = f64>) -> Option<RatioStats> {
    let values: Vec<f64> = ratios.into_iter().filter(|r| r.is_finite()).collect();
    let min = values.iter().copied().reduce(f64::min)?;
    let max = values.iter().copied().reduce(f64::max)?;
    Some(RatioStats {
        median: median(values)?,
        min,
        max,
    })
}

/// Medians over a cell's usable runs of one server, measured side by side (so about half
/// of what the server does alone).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Figures {
    pub(crate) requests_per_sec: Option<f64>,
    pub(crate) p50_us: Option<f64>,
    pub(crate) p99_us: Option<f64>,
    pub(crate) cpu_us_per_request: Option<f64>,
}

fn figures<'a>(samples: impl Iterator<Item = &'a Sample> + Clone) -> Figures {
    let of = |f: fn(&Sample) -> f64| median(samples.clone().filter(|s| usable(s)).map(f).collect());
    Figures {
        requests_per_sec: of(|s| s.requests_per_sec),
        p50_us: of(|s| s.p50_us),
        p99_us: of(|s| s.p99_us),
        cpu_us_per_request: of(|s| s.cpu_us_per_request),
    }
}

/// One line of the side-by-side table: a model against tokio in one cell.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PairRow {
    pub(crate) model: LabModel,
    pub(crate) conns: u32,
    pub(crate) size: u32,
    pub(crate) status: String,
    /// Pairs with both samples usable: the runs the ratios are taken over.
    pub(crate) runs: usize,
    pub(crate) cpu_per_request: Option<RatioStats>,
    pub(crate) p99: Option<RatioStats>,
    pub(crate) p50: Option<RatioStats>,
    pub(crate) requests_per_sec: Option<RatioStats>,
    /// Memory per idle connection ÷ tokio's (measured alone, at startup).
    pub(crate) memory_per_conn: Option<f64>,
    pub(crate) model_figures: Figures,
    pub(crate) tokio_figures: Figures,
    /// Load generator errors of both servers over the cell's runs.
    pub(crate) errors: u64,
}

/// The side-by-side table: for every model but tokio and every cell, the statistics of
/// the per-run ratios.
pub(crate) fn summarize_pairs(
    settings: &Settings,
    infos: &[ModelInfo],
    samples: &[Sample],
    pairs: &[Pair],
) -> Vec<PairRow> {
    let tokio_memory = infos
        .iter()
        .find(|i| i.model == LabModel::Tokio)
        .and_then(|i| i.bytes_per_idle_conn);
    let mut rows = Vec::new();
    for info in infos.iter().filter(|i| i.model != LabModel::Tokio) {
        for &conns in &settings.conns {
            for &size in &settings.sizes {
                let cell: Vec<&Pair> = pairs
                    .iter()
                    .filter(|p| p.model == info.model && p.conns == conns && p.size == size)
                    .collect();
                let ok: Vec<&&Pair> = cell.iter().filter(|p| p.status == "ok").collect();
                let stats = |f: fn(&PairRatios) -> Option<f64>| {
                    ratio_stats(ok.iter().filter_map(|p| f(&p.ratios)))
                };
                let status = if ok.is_empty() {
                    cell.first()
                        .map_or_else(|| "failed: not measured".to_owned(), |p| p.status.clone())
                } else {
                    "ok".into()
                };
                let of_pair = |server: LabModel| {
                    samples.iter().filter(move |s| {
                        s.pair == Some(info.model)
                            && s.model == server
                            && s.conns == conns
                            && s.size == size
                    })
                };
                rows.push(PairRow {
                    model: info.model,
                    conns,
                    size,
                    status,
                    runs: ok.len(),
                    cpu_per_request: stats(|r| r.cpu_per_request),
                    p99: stats(|r| r.p99),
                    p50: stats(|r| r.p50),
                    requests_per_sec: stats(|r| r.requests_per_sec),
                    memory_per_conn: match (info.bytes_per_idle_conn, tokio_memory) {
                        (Some(a), Some(b)) => ratio(a, b),
                        _ => None,
                    },
                    model_figures: figures(of_pair(info.model)),
                    tokio_figures: figures(of_pair(LabModel::Tokio)),
                    errors: of_pair(info.model)
                        .chain(of_pair(LabModel::Tokio))
                        .map(|s| s.errors)
                        .sum(),
                });
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IoModel;

    fn sample(model: LabModel, cpu: f64, p99: f64, p50: f64, rps: f64) -> Sample {
        let mut s = super::super::empty_sample(model, 100, 64, 1, "ok".into());
        s.requests = 1000;
        s.cpu_us_per_request = cpu;
        s.p99_us = p99;
        s.p50_us = p50;
        s.requests_per_sec = rps;
        s
    }

    #[test]
    fn stats_are_the_median_min_and_max_of_the_ratios() {
        let s = ratio_stats([1.02, 0.98, 1.10, 0.99]).unwrap();
        assert_eq!(s.min, 0.98);
        assert_eq!(s.max, 1.10);
        assert!((s.median - 1.005).abs() < 1e-12, "{}", s.median);
        let odd = ratio_stats([3.0, 1.0, 2.0]).unwrap();
        assert_eq!((odd.median, odd.min, odd.max), (2.0, 1.0, 3.0));
        let one = ratio_stats([0.5, f64::NAN, f64::INFINITY]).unwrap();
        assert_eq!((one.median, one.min, one.max), (0.5, 0.5, 0.5));
        assert_eq!(ratio_stats([]), None);
        assert_eq!(ratio_stats([f64::NAN]), None);
    }

    #[test]
    fn the_median_of_ratios_differs_from_the_ratio_of_medians() {
        // Run 2 is slow for both servers (drift): its ratio is 1.0 like the others, while
        // the medians of each server's own runs would mix the slow run with the fast ones.
        let runs = [
            (
                sample(LabModel::Io(IoModel::Epoll), 5.0, 100.0, 50.0, 10.0),
                5.0,
            ),
            (
                sample(LabModel::Io(IoModel::Epoll), 9.0, 180.0, 90.0, 6.0),
                9.0,
            ),
            (
                sample(LabModel::Io(IoModel::Epoll), 6.0, 120.0, 60.0, 9.0),
                4.0,
            ),
        ];
        let ratios: Vec<PairRatios> = runs
            .iter()
            .map(|(m, tokio_cpu)| {
                let t = sample(LabModel::Tokio, *tokio_cpu, 100.0, 50.0, 10.0);
                pair_ratios(m, &t)
            })
            .collect();
        assert_eq!(ratios[0].cpu_per_request, Some(1.0));
        assert_eq!(ratios[1].cpu_per_request, Some(1.0));
        assert_eq!(ratios[2].cpu_per_request, Some(1.5));
        assert_eq!(ratios[1].p99, Some(1.8));
        assert_eq!(ratios[2].requests_per_sec, Some(0.9));
        let cpu = ratio_stats(ratios.iter().filter_map(|r| r.cpu_per_request)).unwrap();
        assert_eq!((cpu.median, cpu.min, cpu.max), (1.0, 1.0, 1.5));
        // Ratio of medians: 6.0 / 5.0.
        assert_ne!(cpu.median, 6.0 / 5.0);
    }

    #[test]
    fn a_zero_reference_or_a_failed_sample_gives_no_ratio() {
        let m = sample(LabModel::Io(IoModel::Epoll), 5.0, 100.0, 50.0, 10.0);
        let zero = sample(LabModel::Tokio, 0.0, 100.0, 50.0, 10.0);
        let r = pair_ratios(&m, &zero);
        assert_eq!(r.cpu_per_request, None);
        assert_eq!(r.p99, Some(1.0));

        let mut failed = sample(LabModel::Tokio, 5.0, 100.0, 50.0, 10.0);
        failed.status = "failed: did not finish within 33 s".into();
        let pair = Pair::new(&m, &failed, LabModel::Io(IoModel::Epoll));
        assert_eq!(pair.status, "tokio: failed: did not finish within 33 s");
        assert_eq!(pair.ratios, PairRatios::default());

        let mut idle = sample(LabModel::Io(IoModel::Epoll), 5.0, 100.0, 50.0, 10.0);
        idle.requests = 0;
        let t = sample(LabModel::Tokio, 5.0, 100.0, 50.0, 10.0);
        assert_eq!(
            Pair::new(&idle, &t, LabModel::Tokio).status,
            "failed: no request completed"
        );
        assert_eq!(Pair::new(&m, &t, LabModel::Tokio).status, "ok");
    }
}
