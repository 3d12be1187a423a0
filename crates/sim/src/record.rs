//! What a run records, in memory bounded by the network rather than by the step count.
//!
//! A [`Recorder`] takes each step's timing and spikes as they happen and keeps:
//! - [`LatencyStats`]: exact count, sum, maximum (with its step and critical core), how
//!   often each core was critical, the 99th percentile — exact while the run has seen at
//!   most [`EXACT_DISTINCT`] distinct step latencies, then from an HDR histogram with
//!   3 significant digits (within 0.1 %; the report says which) — and a latency series
//!   of at most [`SERIES_MAX`] points: every step's latency while the run is no longer,
//!   then the largest latency of each run of 2, 4, 8, … consecutive steps;
//! - spikes per population (exact);
//! - the raster (every spike of a population neuron) of the steps below a window, and
//!   never more than [`RASTER_MAX_SPIKES`] spikes: the raster ends before the first step
//!   that would pass the limit (the report says which steps it covers).
//!
//! Everything here is plain data and serialisable, so a checkpoint can carry it and a
//! resumed run's report equals an uninterrupted one's.

use crate::engine::{Spike, StepTiming};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Distinct step latencies kept exactly before the percentiles switch to a histogram.
pub const EXACT_DISTINCT: usize = 65_536;
/// Most points of the latency series (even, so pairs merge cleanly).
pub const SERIES_MAX: usize = 131_072;
/// Most spikes a raster holds (12 bytes each in memory, about 16 in `raster.csv`).
pub const RASTER_MAX_SPIKES: usize = 4 << 20;
/// Significant digits of the HDR histogram.
const HDR_DIGITS: u8 = 3;

/// Step-latency percentiles: exact counts per value, or an HDR histogram once the
/// values are too many. Serialised as `(value, count)` pairs either way.
#[derive(Debug, Clone)]
enum Percentiles {
    Exact(BTreeMap<u64, u64>),
    Hdr(Histogram<u64>),
}

impl PartialEq for Percentiles {
    fn eq(&self, o: &Percentiles) -> bool {
        self.to_data() == o.to_data()
    }
}

#[derive(PartialEq, Serialize, Deserialize)]
struct PercentileData {
    exact: bool,
    counts: Vec<(u64, u64)>,
}

impl Percentiles {
    fn new_hdr() -> Histogram<u64> {
        // Auto-resizing from a 2-value range: valid arguments cannot fail.
        let mut h = Histogram::new(HDR_DIGITS).expect("3 significant digits are valid");
        h.auto(true);
        h
    }

    fn record(&mut self, v: u64) {
        match self {
            Percentiles::Exact(map) => {
                *map.entry(v).or_default() += 1;
                if map.len() > EXACT_DISTINCT {
                    let mut h = Percentiles::new_hdr();
                    for (&v, &n) in map.iter() {
                        // Auto-resize takes any u64 value.
                        let _ = h.record_n(v, n);
                    }
                    *self = Percentiles::Hdr(h);
                }
            }
            Percentiles::Hdr(h) => {
                let _ = h.record(v);
            }
        }
    }

    /// The smallest recorded value with at least `q` of the values at or below it
    /// (the nearest-rank percentile), 0 with no values.
    fn quantile(&self, q: f64) -> u64 {
        match self {
            Percentiles::Exact(map) => {
                let total: u64 = map.values().sum();
                if total == 0 {
                    return 0;
                }
                let rank = ((total as f64 * q).ceil() as u64).clamp(1, total);
                let mut seen = 0;
                for (&v, &n) in map {
                    seen += n;
                    if seen >= rank {
                        return v;
                    }
                }
                0
            }
            Percentiles::Hdr(h) => h.value_at_quantile(q),
        }
    }

    fn is_exact(&self) -> bool {
        matches!(self, Percentiles::Exact(_))
    }

    fn to_data(&self) -> PercentileData {
        match self {
            Percentiles::Exact(map) => PercentileData {
                exact: true,
                counts: map.iter().map(|(&v, &n)| (v, n)).collect(),
            },
            Percentiles::Hdr(h) => PercentileData {
                exact: false,
                counts: h
                    .iter_recorded()
                    .map(|x| (x.value_iterated_to(), x.count_at_value()))
                    .collect(),
            },
        }
    }

    fn from_data(d: PercentileData) -> Percentiles {
        if d.exact {
            Percentiles::Exact(d.counts.into_iter().collect())
        } else {
            // A bucket's highest equivalent value falls in the same bucket again.
            let mut h = Percentiles::new_hdr();
            for (v, n) in d.counts {
                let _ = h.record_n(v, n);
            }
            Percentiles::Hdr(h)
        }
    }
}

impl Serialize for Percentiles {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_data().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Percentiles {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Percentiles, D::Error> {
        PercentileData::deserialize(d).map(Percentiles::from_data)
    }
}

/// Streaming statistics of the step latencies of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Steps recorded.
    pub steps: u64,
    /// First step recorded (the run's starting step).
    pub first_step: u32,
    /// Sum of the step latencies.
    pub sum_cycles: u128,
    /// The largest latency, its step and the core that finished last in it (the first
    /// such step on ties).
    pub max_cycles: u64,
    pub max_step: Option<u32>,
    pub max_core: Option<u32>,
    /// Steps each core was the critical one.
    pub critical: BTreeMap<u32, u64>,
    percentiles: Percentiles,
    /// The latency series: entry `i` is the largest latency of steps
    /// `first_step + i·bucket ..` (`bucket` of them; the last may hold fewer).
    pub series: Vec<u64>,
    pub bucket: u64,
    /// Steps folded into the last series entry so far.
    fill: u64,
}

impl LatencyStats {
    pub fn new(first_step: u32) -> LatencyStats {
        LatencyStats {
            steps: 0,
            first_step,
            sum_cycles: 0,
            max_cycles: 0,
            max_step: None,
            max_core: None,
            critical: BTreeMap::new(),
            percentiles: Percentiles::Exact(BTreeMap::new()),
            series: Vec::new(),
            bucket: 1,
            fill: 0,
        }
    }

    /// Add step `step`'s timing.
    pub fn record(&mut self, step: u32, t: &StepTiming) {
        let c = t.cycles;
        if self.max_step.is_none() || c > self.max_cycles {
            (self.max_cycles, self.max_step, self.max_core) = (c, Some(step), t.critical_core);
        }
        self.steps += 1;
        self.sum_cycles += u128::from(c);
        if let Some(k) = t.critical_core {
            *self.critical.entry(k).or_default() += 1;
        }
        self.percentiles.record(c);
        if self.fill == 0 || self.fill == self.bucket {
            if self.series.len() == SERIES_MAX {
                // Halve the resolution: merge neighbours, double the bucket.
                let merged: Vec<u64> = self.series.chunks(2).map(|p| p[0].max(p[1])).collect();
                self.series = merged;
                self.bucket *= 2;
                self.fill = self.bucket;
                // The last entry is full: fall through to start a new one.
            }
            if self.fill == 0 || self.fill == self.bucket {
                self.series.push(c);
                self.fill = 1;
                return;
            }
        }
        let last = self.series.len() - 1;
        self.series[last] = self.series[last].max(c);
        self.fill += 1;
    }

    /// Mean latency in cycles (0 without steps).
    pub fn mean(&self) -> f64 {
        if self.steps == 0 {
            0.0
        } else {
            self.sum_cycles as f64 / self.steps as f64
        }
    }

    /// The nearest-rank 99th percentile.
    pub fn p99(&self) -> u64 {
        self.percentiles.quantile(0.99)
    }

    /// Whether [`Self::p99`] is exact (else within 0.1 %).
    pub fn percentiles_exact(&self) -> bool {
        self.percentiles.is_exact()
    }

    /// Cores by how often they were critical, most first (ties by core id).
    pub fn critical_cores(&self) -> Vec<(u32, u64)> {
        let mut v: Vec<(u32, u64)> = self.critical.iter().map(|(&k, &n)| (k, n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

/// What a run records as it goes (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorder {
    pub latency: LatencyStats,
    /// Spikes per population.
    pub spike_counts: Vec<u64>,
    /// Every spike of a population neuron in steps below `raster_until`.
    pub raster: Vec<Spike>,
    pub raster_until: u32,
    /// The raster's length before the current step.
    raster_mark: usize,
    /// Every step's timing, when asked for (memory grows with the steps).
    pub steps: Vec<StepTiming>,
    pub keep_steps: bool,
}

impl Recorder {
    /// A recorder for a run starting at step `first_step` over `populations`
    /// populations: the raster of steps below `raster_until` (0: none), every step's
    /// timing if `keep_steps`.
    pub fn new(
        first_step: u32,
        populations: usize,
        raster_until: u32,
        keep_steps: bool,
    ) -> Recorder {
        Recorder {
            latency: LatencyStats::new(first_step),
            spike_counts: vec![0; populations],
            raster: Vec::new(),
            raster_until,
            raster_mark: 0,
            steps: Vec::new(),
            keep_steps,
        }
    }

    /// Add one step's timing.
    pub fn timing(&mut self, step: u32, t: &StepTiming) {
        self.latency.record(step, t);
        if self.keep_steps {
            self.steps.push(*t);
        }
    }

    /// Close step `step`: a raster past [`RASTER_MAX_SPIKES`] loses this step's spikes
    /// and ends before it.
    pub fn end_step(&mut self, step: u32) {
        if self.raster.len() > RASTER_MAX_SPIKES {
            self.raster.truncate(self.raster_mark);
            self.raster.shrink_to_fit();
            self.raster_until = step;
        }
        self.raster_mark = self.raster.len();
    }

    /// Whether the spikes of `step` go into the raster (else only their counts).
    pub fn wants_raster(&self, step: u32) -> bool {
        step < self.raster_until
    }

    /// Add `n` spikes of population `population` to its count (for a step whose spikes
    /// do not go into the raster; see [`Recorder::wants_raster`]).
    pub fn count_spikes(&mut self, population: u32, n: u64) {
        if let Some(c) = self.spike_counts.get_mut(population as usize) {
            *c += n;
        }
    }

    /// Add the spikes `(population, neuron)` of `step` to the raster (their counts go in
    /// apart, with [`Recorder::count_spikes`]).
    pub fn raster_spikes(&mut self, step: u32, spikes: &[(u32, u32)]) {
        if step < self.raster_until {
            self.raster
                .extend(spikes.iter().map(|&(population, neuron)| Spike {
                    step,
                    population,
                    neuron,
                }));
        }
    }

    /// Add one spike of neuron `neuron` of population `population` in `step`.
    pub fn spike(&mut self, step: u32, population: u32, neuron: u32) {
        if let Some(n) = self.spike_counts.get_mut(population as usize) {
            *n += 1;
        }
        if step < self.raster_until {
            self.raster.push(Spike {
                step,
                population,
                neuron,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raster_ends_at_a_step_boundary_below_its_limit() {
        let mut r = Recorder::new(0, 1, u32::MAX, false);
        let per_step = 1000;
        let mut step = 0;
        while r.raster_until == u32::MAX {
            for n in 0..per_step {
                r.spike(step, 0, n);
            }
            r.end_step(step);
            step += 1;
        }
        let whole = (RASTER_MAX_SPIKES / per_step as usize) as u32;
        assert_eq!(r.raster_until, whole, "ends before the step that passes");
        assert_eq!(r.raster.len(), whole as usize * per_step as usize);
        assert_eq!(r.spike_counts[0], u64::from(step) * u64::from(per_step));
        r.spike(step, 0, 0);
        r.end_step(step);
        assert_eq!(r.raster.len(), whole as usize * per_step as usize);
    }

    fn timing(cycles: u64, core: u32) -> StepTiming {
        StepTiming {
            cycles,
            critical_core: Some(core),
            stall: 0,
            packets: 0,
            learning: 0,
        }
    }

    /// The nearest-rank percentile of a sorted copy, computed independently.
    fn sorted_p99(v: &[u64]) -> u64 {
        let mut s = v.to_vec();
        s.sort_unstable();
        s[((s.len() * 99).div_ceil(100)).max(1) - 1]
    }

    #[test]
    fn exact_statistics_match_a_sorted_list() {
        let v: Vec<u64> = (0..5000u64).map(|i| (i * 7919) % 1013 + 100).collect();
        let mut st = LatencyStats::new(10);
        for (i, &c) in v.iter().enumerate() {
            st.record(10 + i as u32, &timing(c, (i % 3) as u32));
        }
        assert!(st.percentiles_exact());
        assert_eq!(st.p99(), sorted_p99(&v));
        assert_eq!(st.steps, 5000);
        assert_eq!(st.sum_cycles, v.iter().map(|&c| c as u128).sum::<u128>());
        let max = *v.iter().max().unwrap();
        let first = v.iter().position(|&c| c == max).unwrap() as u32;
        assert_eq!(
            (st.max_cycles, st.max_step),
            (max, Some(10 + first)),
            "the first step of the maximum"
        );
        assert_eq!(st.series, v, "every step while short");
        assert_eq!(st.bucket, 1);
    }

    #[test]
    fn many_distinct_values_fall_back_to_a_close_histogram() {
        let n = EXACT_DISTINCT + 10_000;
        let v: Vec<u64> = (0..n as u64).map(|i| 1_000 + i * 3).collect();
        let mut st = LatencyStats::new(0);
        for (i, &c) in v.iter().enumerate() {
            st.record(i as u32, &timing(c, 0));
        }
        assert!(!st.percentiles_exact());
        let exact = sorted_p99(&v) as f64;
        let got = st.p99() as f64;
        assert!((got - exact).abs() <= exact * 1e-3, "{got} vs {exact}");
    }

    #[test]
    fn the_series_is_bounded_and_keeps_bucket_maxima() {
        let n = SERIES_MAX * 3 + 5;
        let v: Vec<u64> = (0..n as u64)
            .map(|i| (i * 2_654_435_761) % 100_000)
            .collect();
        let mut st = LatencyStats::new(0);
        for (i, &c) in v.iter().enumerate() {
            st.record(i as u32, &timing(c, 0));
            assert!(st.series.len() <= SERIES_MAX);
        }
        assert_eq!(st.bucket, 4);
        let want: Vec<u64> = v.chunks(4).map(|c| *c.iter().max().unwrap()).collect();
        assert_eq!(st.series, want);
    }

    #[test]
    fn statistics_survive_serialisation_both_ways() {
        for n in [100, EXACT_DISTINCT + 5] {
            let mut st = LatencyStats::new(0);
            for i in 0..n as u64 {
                st.record(i as u32, &timing(500 + i * 11, (i % 5) as u32));
            }
            let bytes = postcard::to_stdvec(&st).unwrap();
            let mut back: LatencyStats = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(back, st);
            // Both go on identically.
            for i in 0..1000u64 {
                let t = timing(123_456 + i, 1);
                st.record(i as u32, &t);
                back.record(i as u32, &t);
            }
            assert_eq!(back.p99(), st.p99());
            assert_eq!(back, st);
        }
    }
}
