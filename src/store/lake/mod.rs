//! The lake: one history shared by any number of writers on any number of machines, as
//! immutable, hive-partitioned Parquet files in a folder or an object store (the Apache Arrow
//! project's `object_store` crate does the listing, uploads, multipart and request signing).
//!
//! Protocol (the README, "Team history", has the user's view):
//! - an import writes its run as one Parquet file per table it has rows in, named by the run's
//!   content key, the `run` file last; a run is visible only once its `run` file exists, so a
//!   killed import leaves nothing visible (`lake vacuum` removes what it left);
//! - the same content always gets the same names, so a retried or duplicated import needs no
//!   coordination: there are no read-modify-write cycles and no conditional requests;
//! - readers deduplicate by run key, so a compacted file and the small files it replaces can
//!   coexist;
//! - baselines and annotations are append-only event files folded last-writer-wins.

pub mod compact;
pub mod events;
pub mod layout;
pub mod publish;
mod read;
pub mod sync;

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::NaiveDateTime;
use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, RetryConfig};

use crate::error::{Error, Result};

pub use layout::LAYOUT_VERSION;

/// Where a warehouse's shared history lives, and how to reach it.
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    /// The prefix inside the store (empty for a folder lake: the store is rooted there).
    root: Path,
    /// The folder of a folder lake: DuckDB reads its files in place.
    local: Option<PathBuf>,
    url: String,
    rt: tokio::runtime::Runtime,
    /// Set once the layout marker was found compatible (or written) by this process.
    marker_checked: std::sync::OnceLock<()>,
}

/// One object of the lake, relative to its root.
#[derive(Debug, Clone)]
pub struct Entry {
    pub rel: String,
    pub bytes: u64,
    pub modified: NaiveDateTime,
}

impl Entry {
    /// A file written by `lake compact` (many units), not by one import.
    pub fn is_compacted(&self) -> bool {
        self.rel.contains("/compact-")
    }
}

/// A lake command without a lake.
pub fn no_lake() -> Error {
    Error::Usage("no lake: pass --lake URL (or set PERFLEDGER_LAKE)".into())
}

/// An error of the lake: exit code 4, naming the URL and what to do.
pub fn lake_err(url: &str, msg: impl std::fmt::Display) -> Error {
    Error::Lake {
        url: url.to_string(),
        msg: msg.to_string(),
    }
}

/// Uploads above this size go in parts of this size; `PERFLEDGER_LAKE_PART_BYTES` sets it, no
/// lower than S3's minimum part of 5 MiB (s3s-fs refuses smaller parts with EntityTooSmall,
/// as S3 does).
fn part_size() -> usize {
    std::env::var("PERFLEDGER_LAKE_PART_BYTES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(8 << 20, |v| v.max(5 << 20))
}

fn retry_timeout() -> Duration {
    let s = std::env::var("PERFLEDGER_LAKE_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
        .unwrap_or(30.0);
    Duration::from_secs_f64(s)
}

impl Lake {
    /// Opens a lake from `--lake`: a folder (`/mnt/perf`, `file:///mnt/perf`) or `s3://bucket/prefix`
    /// (credentials, region and endpoint from the usual `AWS_*` variables).
    pub fn open(url: &str) -> Result<Lake> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| lake_err(url, format!("cannot start the I/O runtime: {e}")))?;
        if let Some(rest) = url.strip_prefix("s3://") {
            let (store, root) = s3_store(url, rest)?;
            return Ok(Lake {
                store,
                root,
                local: None,
                url: url.to_string(),
                rt,
                marker_checked: std::sync::OnceLock::new(),
            });
        }
        if url.contains("://") && !url.starts_with("file://") {
            return Err(lake_err(
                url,
                "unsupported lake URL: use a folder (/mnt/perf or file:///mnt/perf) or s3://bucket/prefix",
            ));
        }
        let dir = PathBuf::from(url.strip_prefix("file://").unwrap_or(url));
        if dir.exists() && !dir.is_dir() {
            return Err(lake_err(
                url,
                "this is a file, not a folder: a folder lake is a directory",
            ));
        }
        std::fs::create_dir_all(&dir).map_err(|e| {
            lake_err(
                url,
                format!("cannot create the lake folder: {e}; create it or check permissions"),
            )
        })?;
        let dir = dir
            .canonicalize()
            .map_err(|e| lake_err(url, format!("cannot resolve the lake folder: {e}")))?;
        let store = LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| lake_err(url, format!("cannot open the lake folder: {e}")))?;
        Ok(Lake {
            store: Arc::new(store),
            root: Path::default(),
            local: Some(dir),
            url: url.to_string(),
            rt,
            marker_checked: std::sync::OnceLock::new(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The lake's identity for the index's binding: the folder's canonical path or the URL.
    pub fn id(&self) -> String {
        match &self.local {
            Some(d) => format!("file://{}", d.display()),
            None => self.url.trim_end_matches('/').to_string(),
        }
    }

    /// What killed uploads left in a folder lake (`name#N`: never listed, never read).
    pub fn staging_files(&self) -> Vec<Entry> {
        let Some(root) = &self.local else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if e.file_name().to_string_lossy().contains('#') {
                    let meta = e.metadata().ok();
                    let modified = meta.as_ref().and_then(|m| m.modified().ok()).map_or_else(
                        || chrono::Utc::now().naive_utc(),
                        |t| chrono::DateTime::<chrono::Utc>::from(t).naive_utc(),
                    );
                    out.push(Entry {
                        rel: p.strip_prefix(root).unwrap_or(&p).display().to_string(),
                        bytes: meta.map_or(0, |m| m.len()),
                        modified,
                    });
                }
            }
        }
        out
    }

    /// Removes a staging file of a folder lake (object_store does not address them).
    pub fn delete_staging(&self, rel: &str) -> Result<()> {
        match self.local_file(rel) {
            Some(p) => std::fs::remove_file(&p)
                .or_else(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .map_err(|e| lake_err(&self.url, format!("cannot delete {rel}: {e}"))),
            None => self.delete(rel),
        }
    }

    fn path(&self, rel: &str) -> Path {
        let mut p = self.root.clone();
        for part in rel.split('/') {
            p = p.child(part);
        }
        p
    }

    fn err(&self, what: &str, e: &object_store::Error) -> Error {
        lake_err(&self.url, format!("{what}: {}", explain(e)))
    }

    /// The file of a folder lake, for DuckDB to read in place.
    pub fn local_file(&self, rel: &str) -> Option<PathBuf> {
        self.local.as_ref().map(|d| d.join(rel))
    }

    pub fn put(&self, rel: &str, data: Vec<u8>) -> Result<()> {
        let p = self.path(rel);
        self.rt
            .block_on(self.store.put(&p, Bytes::from(data).into()))
            .map_err(|e| self.err(&format!("cannot write {rel}"), &e))?;
        Ok(())
    }

    /// Uploads a local file; above 8 MiB in parts (multipart upload), so a large series table
    /// neither sits in memory whole nor restarts from zero on one failed request.
    pub fn put_file(&self, rel: &str, file: &FsPath) -> Result<()> {
        let len = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        let part = part_size();
        if len <= part as u64 {
            let data = std::fs::read(file)
                .map_err(|e| Error::Store(format!("{}: {e}", file.display())))?;
            return self.put(rel, data);
        }
        let p = self.path(rel);
        let up = async {
            use tokio::io::AsyncWriteExt;
            let mut w =
                object_store::buffered::BufWriter::with_capacity(Arc::clone(&self.store), p, part);
            let sent: std::io::Result<()> = async {
                let mut f = std::fs::File::open(file)?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = std::io::Read::read(&mut f, &mut buf)?;
                    if n == 0 {
                        break;
                    }
                    w.write_all(&buf[..n]).await?;
                }
                w.shutdown().await
            }
            .await;
            if sent.is_err() {
                // the parts sent so far stay on the server (unlisted, billed) until aborted; a
                // server that is gone cannot be told, nor can a killed import tell it: the
                // README's lifecycle rule removes those
                let _ = w.abort().await;
            }
            sent
        };
        self.rt
            .block_on(up)
            .map_err(|e| lake_err(&self.url, format!("cannot write {rel}: {}", explain_io(&e))))
    }

    pub fn get(&self, rel: &str) -> Result<Vec<u8>> {
        let p = self.path(rel);
        self.rt
            .block_on(async { self.store.get(&p).await?.bytes().await })
            .map(|b| b.to_vec())
            .map_err(|e| self.err(&format!("cannot read {rel}"), &e))
    }

    /// Downloads many files into `dir` (16 at a time), each as `dir/<index>.parquet`.
    pub fn get_many(&self, rels: &[String], dir: &FsPath) -> Result<Vec<PathBuf>> {
        let jobs = rels.iter().enumerate().map(|(i, rel)| {
            let p = self.path(rel);
            let dest = dir.join(format!("{i}.parquet"));
            let store = Arc::clone(&self.store);
            async move {
                let b = store.get(&p).await?.bytes().await?;
                std::fs::write(&dest, &b).map_err(|e| object_store::Error::Generic {
                    store: "local",
                    source: Box::new(e),
                })?;
                Ok::<_, object_store::Error>(dest)
            }
        });
        self.rt
            .block_on(
                futures::stream::iter(jobs)
                    .buffered(16)
                    .try_collect::<Vec<_>>(),
            )
            .map_err(|e| self.err("cannot read the lake", &e))
    }

    /// Local paths DuckDB can read: the files themselves in a folder lake, downloads into
    /// `tmp/tag/` otherwise.
    pub fn readable(
        &self,
        rels: &[String],
        tmp: &tempfile::TempDir,
        tag: &str,
    ) -> Result<Vec<String>> {
        if let Some(root) = &self.local {
            return Ok(rels
                .iter()
                .map(|r| root.join(r).display().to_string())
                .collect());
        }
        let dir = tmp.path().join(tag);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Store(format!("temporary folder: {e}")))?;
        Ok(self
            .get_many(rels, &dir)?
            .iter()
            .map(|p| p.display().to_string())
            .collect())
    }

    pub fn exists(&self, rel: &str) -> Result<bool> {
        let p = self.path(rel);
        match self.rt.block_on(self.store.head(&p)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.err(&format!("cannot look up {rel}"), &e)),
        }
    }

    pub fn delete(&self, rel: &str) -> Result<()> {
        let p = self.path(rel);
        match self.rt.block_on(self.store.delete(&p)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(&format!("cannot delete {rel}"), &e)),
        }
    }

    /// Every object under the root, relative to it.
    pub fn list(&self) -> Result<Vec<Entry>> {
        self.list_under("")
    }

    /// The objects under `sub` (relative to the root, e.g. `v1/run/`).
    pub fn list_under(&self, sub: &str) -> Result<Vec<Entry>> {
        let prefix = if sub.is_empty() {
            self.root.clone()
        } else {
            self.path(sub.trim_end_matches('/'))
        };
        let prefix = (!prefix.as_ref().is_empty()).then_some(prefix);
        let root = self.root.as_ref().to_string();
        let metas = self
            .rt
            .block_on(self.store.list(prefix.as_ref()).try_collect::<Vec<_>>())
            .map_err(|e| self.err("cannot list the lake", &e))?;
        Ok(metas
            .into_iter()
            .map(|m| {
                let full = m.location.as_ref();
                let rel = full
                    .strip_prefix(root.as_str())
                    .unwrap_or(full)
                    .trim_start_matches('/')
                    .to_string();
                Entry {
                    rel,
                    bytes: m.size,
                    modified: m.last_modified.naive_utc(),
                }
            })
            .collect())
    }

    /// The lake's objects, head files listed first. A listing is not a snapshot (an S3
    /// listing comes in pages, a folder is walked): objects written during it may or may not
    /// appear. A unit's parts are written before its head, so a listing begun after the heads
    /// were listed holds the parts of every head it found.
    pub fn list_heads_first(&self) -> Result<Vec<Entry>> {
        let dirs: Vec<String> = layout::UNIT_KINDS
            .iter()
            .map(|k| format!("v1/{}/", k.head.name))
            .collect();
        let mut out = Vec::new();
        for d in &dirs {
            out.extend(self.list_under(d)?);
        }
        let is_head = |rel: &str| dirs.iter().any(|d| rel.starts_with(d.as_str()));
        // heads that appeared since are left for the next listing: their parts may be missing
        out.extend(self.list()?.into_iter().filter(|e| !is_head(&e.rel)));
        Ok(out)
    }
}

fn s3_store(url: &str, rest: &str) -> Result<(Arc<dyn ObjectStore>, Path)> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(lake_err(url, "no bucket: expected s3://bucket/prefix"));
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let has_creds = env("AWS_ACCESS_KEY_ID").is_some() && env("AWS_SECRET_ACCESS_KEY").is_some();
    let other_source = [
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    .iter()
    .any(|k| env(k).is_some());
    let skip = env("AWS_SKIP_SIGNATURE").is_some_and(|v| v == "true" || v == "1");
    let imds = env("PERFLEDGER_LAKE_IMDS").is_some_and(|v| v == "true" || v == "1");
    if !(has_creds || other_source || skip || imds) {
        return Err(lake_err(
            url,
            "missing credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL for a server other than AWS; AWS_ALLOW_HTTP=true for plain http), or PERFLEDGER_LAKE_IMDS=true to use the instance's role",
        ));
    }
    let mut b = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(RetryConfig {
            max_retries: 4,
            retry_timeout: retry_timeout(),
            ..RetryConfig::default()
        })
        .with_client_options(
            // replaces the client options from_env read: keep AWS_ALLOW_HTTP
            ClientOptions::new()
                .with_allow_http(env("AWS_ALLOW_HTTP").is_some_and(|v| v == "true" || v == "1"))
                .with_connect_timeout(Duration::from_secs(5))
                .with_timeout(Duration::from_secs(60)),
        );
    if env("AWS_REGION").is_none() && env("AWS_DEFAULT_REGION").is_none() {
        b = b.with_region("us-east-1");
    }
    let store = b
        .build()
        .map_err(|e| lake_err(url, format!("misconfigured: {e}")))?;
    let root = Path::parse(prefix.trim_end_matches('/'))
        .map_err(|e| lake_err(url, format!("bad prefix: {e}")))?;
    Ok((Arc::new(store), root))
}

/// Says what to do about an object store error.
fn explain(e: &object_store::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let m = s.to_string();
        if !msg.contains(&m) {
            msg.push_str(": ");
            msg.push_str(&m);
        }
        src = s.source();
    }
    format!("{msg}{}", hint(&msg))
}

/// What to do about a failed request, from its message.
///
/// Reachability comes first: a request that never reached the server cannot have been
/// refused by it. A status code is matched as a whole word, since ports and object keys
/// hold digit runs too (port 44035 once read as a 403).
fn hint(msg: &str) -> &'static str {
    if msg.contains("error sending request")
        || msg.contains("Connection refused")
        || msg.contains("dns error")
        || msg.contains("timed out")
    {
        "; the server could not be reached: check AWS_ENDPOINT_URL and the network, then retry"
    } else if msg.contains("InvalidAccessKeyId")
        || msg.contains("SignatureDoesNotMatch")
        || has_word(msg, "403")
        || msg.contains("Forbidden")
        || msg.contains("AccessDenied")
    {
        "; the credentials were refused or lack permission on this bucket/prefix"
    } else if msg.contains("NoSuchBucket") {
        "; the bucket does not exist: create it or fix the URL"
    } else if msg.contains("Permission denied") {
        "; no permission on the lake folder"
    } else {
        ""
    }
}

/// Whether `word` occurs in `msg` delimited by non-alphanumeric characters.
fn has_word(msg: &str, word: &str) -> bool {
    msg.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == word)
}

fn explain_io(e: &std::io::Error) -> String {
    let msg = e.to_string();
    format!("{msg}{}", hint(&msg))
}

#[cfg(test)]
mod tests {
    use super::hint;

    // The message object_store gave when s3s-fs was stopped mid-upload (CI, port 44035).
    const REFUSED: &str = "Generic S3 error: Error performing PUT http://127.0.0.1:44035/perf/team-a/v1/target/tool%3Dwrk/month%3D2026-12/8585e3cd1a20a33c3ff4285714a2f42d.parquet in 451.474805ms, after 4 retries, max_retries: 4, retry_timeout: 3s  - HTTP error: error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)";

    #[test]
    fn a_refused_connection_is_unreachable_whatever_digits_the_port_has() {
        assert!(hint(REFUSED).contains("could not be reached"));
    }

    #[test]
    fn a_403_status_is_a_credentials_problem_but_a_port_holding_403_is_not() {
        let forbidden = "Generic S3 error: Error performing PUT http://127.0.0.1:9000/b/k in 3ms - Server returned non-2xx status code: 403 Forbidden: <Error><Code>SignatureDoesNotMatch</Code></Error>";
        assert!(hint(forbidden).contains("credentials"));
        assert_eq!(
            hint("Error performing GET http://127.0.0.1:44035/b/k: 500 Internal"),
            ""
        );
    }
}
