//! Runs pushed to Prometheus (or Mimir, Thanos, Grafana Cloud...) by the remote-write
//! protocol 1.0 (<https://prometheus.io/docs/specs/prw/remote_write_spec/>): a snappy-compressed
//! protobuf `WriteRequest` per batch, POSTed. Unlike the text formats it carries **native
//! histograms**: a run's latency histogram becomes one exponential histogram sample
//! (`perfledger_latency_ms`, schema [`SCHEMA`]: 2^8 buckets per doubling, each 0.27% wide,
//! so `histogram_quantile` agrees with the stored HdrHistogram within its own 1%), as k6's
//! `experimental-prometheus-rw` output does for trends. The gauges are those of the
//! OpenMetrics export, with the same labels.
//!
//! Prometheus appends to a series only in time order and rejects samples older than about an
//! hour before its newest: the series are sent oldest first, which a fresh Prometheus accepts
//! however old the runs are.

use hdrhistogram::Histogram as Hdr;

use super::openmetrics::{label_pairs, prom_name, run_time, RunMetrics, LATENCY_FAMILY};
use crate::error::{Error, Result};

/// The finest resolution Prometheus accepts: bucket i is (2^((i-1)/256), 2^(i/256)] ms.
pub const SCHEMA: i32 = 8;
/// Prometheus's default zero bucket: values at or below it are counted as zero.
const ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;
/// Series per request: well under the receivers' usual limits.
const BATCH: usize = 2000;

#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Histogram>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// prompb.Histogram, integer-count form (the oneof members as plain fields: same wire bytes).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    #[prost(uint64, tag = "1")]
    pub count_int: u64,
    #[prost(double, tag = "3")]
    pub sum: f64,
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    #[prost(uint64, tag = "6")]
    pub zero_count_int: u64,
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    /// 3 = GAUGE: a run's histogram is a snapshot, not a counter that only grows.
    #[prost(int32, tag = "14")]
    pub reset_hint: i32,
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

/// The exponential bucket of a value in ms (its upper bound is 2^(i/2^SCHEMA)).
fn bucket_index(ms: f64) -> i32 {
    let scale = f64::from(1 << SCHEMA);
    // a hair below the exact power keeps a value on a bound in the bucket it closes
    (ms.log2() * scale - 1e-9).ceil() as i32
}

/// An HdrHistogram (microseconds) as a native histogram in milliseconds.
pub fn native(h: &Hdr<u64>, timestamp_ms: i64) -> Histogram {
    let mut zero = 0;
    let mut buckets: std::collections::BTreeMap<i32, u64> = std::collections::BTreeMap::new();
    for v in h.iter_recorded() {
        let us = h.highest_equivalent(v.value_iterated_to());
        if us == 0 {
            zero += v.count_at_value();
        } else {
            *buckets.entry(bucket_index(us as f64 / 1000.0)).or_default() += v.count_at_value();
        }
    }
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::with_capacity(buckets.len());
    let (mut prev_index, mut prev_count) = (None::<i32>, 0i64);
    for (i, n) in buckets {
        match prev_index {
            Some(p) if i == p + 1 => {
                if let Some(s) = spans.last_mut() {
                    s.length += 1;
                }
            }
            // the first span's offset is its index; a later one's is the gap after the last
            Some(p) => spans.push(BucketSpan {
                offset: i - p - 1,
                length: 1,
            }),
            None => spans.push(BucketSpan {
                offset: i,
                length: 1,
            }),
        }
        let n = n as i64;
        deltas.push(n - prev_count);
        prev_count = n;
        prev_index = Some(i);
    }
    Histogram {
        count_int: h.len(),
        sum: h.mean() * h.len() as f64 / 1000.0,
        schema: SCHEMA,
        zero_threshold: ZERO_THRESHOLD,
        zero_count_int: zero,
        positive_spans: spans,
        positive_deltas: deltas,
        reset_hint: 3,
        timestamp: timestamp_ms,
    }
}

fn series_labels(name: &str, pairs: Vec<(String, String)>) -> Vec<Label> {
    // labels sorted by name, __name__ first (it sorts before every lower-case name)
    std::iter::once(Label {
        name: "__name__".into(),
        value: name.to_string(),
    })
    .chain(pairs.into_iter().map(|(name, value)| Label { name, value }))
    .collect()
}

/// Every series of the runs, oldest first, and how many runs had no time.
pub fn series(runs: &[RunMetrics]) -> (Vec<TimeSeries>, usize) {
    let mut out: Vec<(i64, TimeSeries)> = Vec::new();
    let mut untimed = 0;
    for r in runs {
        let Some(t) = run_time(&r.header) else {
            untimed += 1;
            continue;
        };
        let ms = (t * 1000.0).round() as i64;
        for (target, metric, value, _) in &r.values {
            out.push((
                ms,
                TimeSeries {
                    labels: series_labels(
                        &format!("perfledger_{}", prom_name(metric)),
                        label_pairs(&r.header, target),
                    ),
                    samples: vec![Sample {
                        value: *value,
                        timestamp: ms,
                    }],
                    histograms: Vec::new(),
                },
            ));
        }
        for (target, h) in &r.histograms {
            out.push((
                ms,
                TimeSeries {
                    labels: series_labels(LATENCY_FAMILY, label_pairs(&r.header, target)),
                    samples: Vec::new(),
                    histograms: vec![native(h, ms)],
                },
            ));
        }
    }
    out.sort_by_key(|(t, _)| *t);
    (out.into_iter().map(|(_, s)| s).collect(), untimed)
}

fn send_err(url: &str, msg: impl std::fmt::Display) -> Error {
    Error::Source {
        what: format!("remote write {url}"),
        msg: msg.to_string(),
    }
}

/// POSTs the series in batches, oldest first; a refused batch stops the push and says why.
pub fn push(url: &str, all: &[TimeSeries]) -> Result<usize> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| send_err(url, format!("cannot start the I/O runtime: {e}")))?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| send_err(url, e))?;
    let mut sent = 0;
    for batch in all.chunks(BATCH) {
        let body = prost::Message::encode_to_vec(&WriteRequest {
            timeseries: batch.to_vec(),
        });
        let body = snap::raw::Encoder::new()
            .compress_vec(&body)
            .map_err(|e| send_err(url, e))?;
        rt.block_on(async {
            let resp = client
                .post(url)
                .header("Content-Type", "application/x-protobuf")
                .header("Content-Encoding", "snappy")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                .header("User-Agent", concat!("perfledger/", env!("CARGO_PKG_VERSION")))
                .body(body)
                .send()
                .await
                .map_err(|e| send_err(url, format!("{e} (is the receiver running? Prometheus needs --web.enable-remote-write-receiver)")))?;
            let status = resp.status();
            if status.is_success() {
                return Ok(());
            }
            let text = resp.text().await.unwrap_or_default();
            Err(send_err(
                url,
                format!(
                    "refused with {status} after {sent} of {} series: {}",
                    all.len(),
                    text.trim()
                ),
            ))
        })?;
        sent += batch.len();
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_exponential_schema() {
        // 1 ms closes bucket 0; 2 ms closes bucket 256 (one doubling later)
        assert_eq!(bucket_index(1.0), 0);
        assert_eq!(bucket_index(2.0), 256);
        assert_eq!(bucket_index(2.001), 257);
        assert_eq!(bucket_index(0.5), -256);
    }

    #[test]
    fn spans_and_deltas_rebuild_the_counts() {
        let mut h = Hdr::<u64>::new_with_bounds(1, 3_600_000_000, 2).unwrap();
        for (v, n) in [(0u64, 2u64), (1000, 3), (1004, 1), (4000, 5)] {
            h.record_n(v, n).unwrap();
        }
        let n = native(&h, 0);
        assert_eq!(n.count_int, 11);
        assert_eq!(n.zero_count_int, 2);
        // rebuild absolute (index, count) pairs from spans and deltas
        let mut idx = 0;
        let mut counts = Vec::new();
        let mut d = n.positive_deltas.iter();
        let mut c = 0i64;
        for s in &n.positive_spans {
            // the first offset is an index, a later one the gap after the previous span
            idx += s.offset;
            for _ in 0..s.length {
                c += d.next().unwrap();
                counts.push((idx, c));
                idx += 1;
            }
        }
        let total: i64 = counts.iter().map(|x| x.1).sum();
        assert_eq!(total, 9);
        // 4000 µs stands for its HDR bucket, up to the bucket's highest equivalent value
        let top = h.highest_equivalent(4000) as f64 / 1000.0;
        assert_eq!(counts.last().unwrap(), &(bucket_index(top), 5));
    }
}
