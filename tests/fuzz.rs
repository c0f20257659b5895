//! Fuzzing every importer with mutations of its real fixtures, for a bounded time.
//!
//! CI runs it for FUZZ_SECONDS (default 1) per importer; by hand, longer:
//!
//! ```text
//! FUZZ_SECONDS=300 cargo test --release --test fuzz -- --nocapture
//! FUZZ_SEED=1234 ...      (replay a reported run)
//! ```
//!
//! Each input is parsed by its importer on a watchdog thread. A panic, a parse that takes
//! longer than 20 s or a process peak above 1 GiB resident fails the test and saves the input
//! as `fixtures/fuzz/<importer>-<hash>.<ext>`; every file there is replayed first, so a crash
//! once found stays a regression test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use perfledger::import::{self, ImportOptions, Importer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const HANG: Duration = Duration::from_secs(20);
const MAX_RSS_KB: u64 = 1 << 20;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::path);
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Real fixtures by the importer that recognises them (hand-made broken ones left out).
fn seeds() -> BTreeMap<&'static str, Vec<PathBuf>> {
    let mut all = Vec::new();
    for d in std::fs::read_dir(fixtures()).unwrap().flatten() {
        let name = d.file_name().to_string_lossy().to_string();
        if d.path().is_dir() && !["broken", "fuzz", "capture"].contains(&name.as_str()) {
            files(&d.path(), &mut all);
        }
    }
    let mut by: BTreeMap<&'static str, Vec<PathBuf>> = BTreeMap::new();
    for p in all {
        let Ok(units) = import::collect_units(std::slice::from_ref(&p)) else {
            continue;
        };
        for (u, _) in units {
            if let Ok(imp) = import::detect(&u, None) {
                by.entry(imp.name()).or_default().push(u.primary.clone());
            }
        }
    }
    by
}

fn importer(name: &str) -> &'static dyn Importer {
    *import::importers()
        .iter()
        .find(|i| i.name() == name)
        .expect("known importer")
}

const INTERESTING: [&[u8]; 14] = [
    b"0",
    b"-1",
    b"1e308",
    b"-1e308",
    b"1e-320",
    b"NaN",
    b"inf",
    b"99999999999999999999999",
    b"\"",
    b"\n",
    b"{",
    b"}",
    b",",
    b"\xff\xfe",
];

fn mutate(rng: &mut StdRng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let len = b.len().max(1);
        let at = rng.gen_range(0..len).min(b.len());
        let last = b.len().saturating_sub(1);
        match rng.gen_range(0..9) {
            0 if !b.is_empty() => b[at.min(last)] ^= 1 << rng.gen_range(0..8),
            1 if !b.is_empty() => b[at.min(last)] = rng.gen(),
            2 => {
                let end = (at + rng.gen_range(0..64)).min(b.len());
                b.drain(at..end);
            }
            3 => {
                let end = (at + rng.gen_range(1..256)).min(b.len());
                let copy = b[at..end].to_vec();
                b.splice(at..at, copy);
            }
            4 => b.truncate(at),
            5 => {
                // a number where a number was
                if let Some(start) = b[at..].iter().position(u8::is_ascii_digit) {
                    let s = at + start;
                    let e = b[s..]
                        .iter()
                        .position(|c| !(c.is_ascii_digit() || *c == b'.'))
                        .map_or(b.len(), |x| s + x);
                    let v = INTERESTING[rng.gen_range(0..8)];
                    b.splice(s..e, v.iter().copied());
                }
            }
            6 => {
                let v = INTERESTING[rng.gen_range(0..INTERESTING.len())];
                b.splice(at..at, v.iter().copied());
            }
            7 if !other.is_empty() => {
                let s = rng.gen_range(0..other.len());
                let e = (s + rng.gen_range(1..512)).min(other.len());
                b.splice(at..at, other[s..e].iter().copied());
            }
            _ => {
                // one line many times over
                let s = b[..at]
                    .iter()
                    .rposition(|c| *c == b'\n')
                    .map_or(0, |x| x + 1);
                let e = b[at..]
                    .iter()
                    .position(|c| *c == b'\n')
                    .map_or(b.len(), |x| at + x + 1);
                let line = b[s..e].to_vec();
                // at most ~1 MB more: big enough for quadratic paths to show, small enough to be quick
                let times = rng
                    .gen_range(2..2000)
                    .min(1_000_000 / line.len().max(1) + 1);
                let rep: Vec<u8> = line
                    .iter()
                    .copied()
                    .cycle()
                    .take(line.len() * times)
                    .collect();
                b.splice(e..e, rep);
            }
        }
    }
    b
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Saves a failing input where the next run replays it, and says where.
fn keep(imp: &str, name: &Path, bytes: &[u8]) -> PathBuf {
    let dir = fixtures().join("fuzz");
    std::fs::create_dir_all(&dir).unwrap();
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let ext = name
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let p = dir.join(format!("{imp}-{hash:016x}-{ext}"));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Parses `bytes` as a file named like `name` with `imp` on a watchdog thread; Err says why
/// the input is a finding.
fn run_one(imp: &'static dyn Importer, name: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name.file_name().unwrap());
    std::fs::write(&p, bytes).unwrap();
    // reset the peak-RSS mark so each input is judged on its own (Linux: clear_refs 5)
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Ok(units) = import::collect_units(std::slice::from_ref(&p)) {
                for (u, _) in units {
                    let _ = imp.parse(&u, &ImportOptions::default());
                    let _ = import::detect(&u, None);
                }
            }
        }));
        let _ = tx.send(r.is_ok());
    });
    match rx.recv_timeout(HANG) {
        Ok(true) => {
            worker.join().unwrap();
        }
        Ok(false) => return Err("panicked".into()),
        Err(_) => return Err(format!("did not finish in {} s", HANG.as_secs())),
    }
    if peak_rss_kb() > MAX_RSS_KB {
        return Err(format!("peak RSS {} MB", peak_rss_kb() / 1024));
    }
    Ok(())
}

#[test]
fn importers_survive_mutated_real_inputs() {
    let seconds: f64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        });
    eprintln!("fuzz: FUZZ_SEED={seed}, {seconds} s per importer");
    // silence the default hook: panics are caught and reported with their input
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut findings = Vec::new();
    let mut regressions = Vec::new();
    if let Ok(dir) = std::fs::read_dir(fixtures().join("fuzz")) {
        for e in dir.flatten() {
            regressions.push(e.path());
        }
    }
    regressions.sort();
    for p in &regressions {
        let fname = p.file_name().unwrap().to_string_lossy().to_string();
        let imp_name = import::importers()
            .iter()
            .map(|i| i.name())
            .filter(|n| fname.starts_with(&format!("{n}-")))
            .max_by_key(|n| n.len());
        let Some(imp_name) = imp_name else { continue };
        // `<importer>-<hash>-<fixture name>`: replayed under the fixture's name
        let original = fname
            .strip_prefix(&format!("{imp_name}-"))
            .and_then(|r| r.split_once('-'))
            .map_or(fname.clone(), |(_, o)| o.to_string());
        if let Err(why) = run_one(
            importer(imp_name),
            Path::new(&original),
            &std::fs::read(p).unwrap(),
        ) {
            findings.push(format!(
                "{imp_name}: regression input {} {why}",
                p.display()
            ));
        }
    }
    let seeds = seeds();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut counts = Vec::new();
    for (name, paths) in &seeds {
        let imp = importer(name);
        let inputs: Vec<(PathBuf, Vec<u8>)> = paths
            .iter()
            .map(|p| (p.clone(), std::fs::read(p).unwrap()))
            .collect();
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_secs_f64() < seconds {
            let (path, seed_bytes) = &inputs[rng.gen_range(0..inputs.len())];
            let other = &inputs[rng.gen_range(0..inputs.len())].1;
            let bytes = mutate(&mut rng, seed_bytes, other);
            n += 1;
            if let Err(why) = run_one(imp, path, &bytes) {
                let saved = keep(name, path, &bytes);
                findings.push(format!("{name}: {why}; input saved as {}", saved.display()));
                break;
            }
        }
        counts.push(format!("{name} {n}"));
    }
    std::panic::set_hook(hook);
    eprintln!("fuzz: inputs per importer: {}", counts.join(", "));
    let missing: Vec<&str> = import::importers()
        .iter()
        .map(|i| i.name())
        .filter(|n| !seeds.contains_key(n))
        .collect();
    eprintln!("fuzz: importers without a real fixture to mutate: {missing:?}");
    assert!(
        findings.is_empty(),
        "FUZZ_SEED={seed}:\n{}",
        findings.join("\n")
    );
    assert!(seeds.len() >= 15, "fuzzed only {:?}", seeds.keys());
}
