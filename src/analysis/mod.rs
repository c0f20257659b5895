//! Regression analysis on the store's typed rows: run selection, comparisons, goals and
//! trends. Nothing here runs SQL; everything it reads comes through `store::Warehouse`.

pub mod compare;
pub mod goals;
pub mod plans;
pub mod recommend;
pub mod selection;
pub mod trend;

use hdrhistogram::Histogram;

/// Histogram buckets as (milliseconds, count).
pub fn buckets_ms(h: &Histogram<u64>) -> Vec<(f64, u64)> {
    h.iter_recorded()
        .map(|v| {
            (
                h.highest_equivalent(v.value_iterated_to()) as f64 / 1000.0,
                v.count_at_value(),
            )
        })
        .collect()
}
