//! System resources without Prometheus (`perfledger exec`): the host sampled from /proc once a
//! step while the load tool runs, with the same metric names and the same definitions as the
//! node_exporter queries of `import prometheus` (see `prometheus`): CPU busy = 1 - the idle
//! share of `/proc/stat`'s time, overall and per core; memory used = 1 - MemAvailable /
//! MemTotal; disk bytes (512-byte sectors) and operations of `/proc/diskstats` per second, whole
//! disks only (partitions, loop, ram and device-mapper devices left out, as node_exporter
//! does); network bytes of `/proc/net/dev` per second, loopback and container interfaces left
//! out. A point at t measures the step that ends at t. With `--pid`, each process' CPU in
//! cores (its utime + stime ticks against the host's ticks per core, so no clock-tick rate is
//! assumed) and its resident memory (VmRSS), target `<host> pid=<pid> (<command>)`. With
//! `--cgroup`, a control group's CPU in cores (cgroup v2 `cpu.stat` usage_usec, or v1
//! `cpuacct.usage` in ns, against the wall time of the step) and its memory (v2
//! `memory.current`, v1 `memory.usage_in_bytes`: page cache included, as the kernel charges
//! it), target `<host> cgroup=<path>`: a service and every process it starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::model::{ResourceCapture, ResourceSeries};

/// One reading of the counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// microseconds since the epoch
    pub at_us: i64,
    /// "cpu" and "cpu0".. -> (idle ticks, total ticks)
    pub cpu: BTreeMap<String, (u64, u64)>,
    pub mem_total_kb: Option<u64>,
    pub mem_available_kb: Option<u64>,
    /// (reads, sectors read, writes, sectors written), summed over whole disks
    pub disk: (u64, u64, u64, u64),
    /// (rx bytes, tx bytes), summed over interfaces that leave the host
    pub net: (u64, u64),
    /// pid -> (command name, utime + stime ticks, resident bytes) of the processes watched
    pub procs: BTreeMap<u32, (String, u64, u64)>,
    /// cgroup path -> (CPU microseconds, memory bytes) of the control groups watched
    pub cgroups: BTreeMap<String, (Option<u64>, Option<u64>)>,
}

/// Where a control group's counters are, found once before sampling starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Cgroup {
    /// As given, `/system.slice/postgresql.service` (a line of `/proc/<pid>/cgroup`).
    pub path: String,
    /// The CPU usage file and how many of its units make a microsecond.
    cpu: Option<(PathBuf, CpuFile)>,
    memory: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CpuFile {
    /// v2 `cpu.stat`: a `usage_usec` line.
    Stat,
    /// v1 `cpuacct.usage`: nanoseconds.
    Nanos,
}

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

impl Cgroup {
    /// Finds the counters of `path` under `root` (`/sys/fs/cgroup`): the unified (v2)
    /// hierarchy, at the root or under `unified/` on a hybrid system, then the v1
    /// controllers (`cpuacct`, `cpu,cpuacct`, `memory`).
    pub fn find(root: &Path, path: &str) -> Result<Cgroup> {
        let rel = path.trim_start_matches(CGROUP_ROOT).trim_matches('/');
        let under = |dir: &str| root.join(dir).join(rel);
        let first = |candidates: &[PathBuf]| candidates.iter().find(|p| p.is_file()).cloned();
        let cpu = first(&[
            under("").join("cpu.stat"),
            under("unified").join("cpu.stat"),
        ])
        .map(|p| (p, CpuFile::Stat))
        .or_else(|| {
            first(&[
                under("cpuacct").join("cpuacct.usage"),
                under("cpu,cpuacct").join("cpuacct.usage"),
            ])
            .map(|p| (p, CpuFile::Nanos))
        });
        let memory = first(&[
            under("").join("memory.current"),
            under("unified").join("memory.current"),
            under("memory").join("memory.usage_in_bytes"),
        ]);
        if cpu.is_none() && memory.is_none() {
            return Err(Error::Usage(format!(
                "--cgroup {path}: no such control group under {} (give a path as /proc/<pid>/cgroup shows it, e.g. /system.slice/postgresql.service)",
                root.display()
            )));
        }
        Ok(Cgroup {
            path: format!("/{rel}"),
            cpu,
            memory,
        })
    }

    fn read(&self) -> (Option<u64>, Option<u64>) {
        let cpu = self.cpu.as_ref().and_then(|(p, kind)| {
            let text = read(&p.to_string_lossy());
            match kind {
                CpuFile::Stat => meminfo_like(&text, "usage_usec"),
                CpuFile::Nanos => text.trim().parse::<u64>().ok().map(|ns| ns / 1000),
            }
        });
        let mem = self
            .memory
            .as_ref()
            .and_then(|p| read(&p.to_string_lossy()).trim().parse().ok());
        (cpu, mem)
    }
}

/// A `key value` line's number (cpu.stat).
fn meminfo_like(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// What is sampled besides the host: processes and control groups, checked before the tool
/// starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Watch {
    pub pids: Vec<u32>,
    pub cgroups: Vec<Cgroup>,
}

impl Watch {
    pub fn new(pids: &[u32], cgroups: &[String]) -> Result<Watch> {
        if let Some(pid) = pids
            .iter()
            .find(|p| !Path::new(&format!("/proc/{p}/stat")).exists())
        {
            return Err(Error::Usage(format!("--pid {pid}: no such process")));
        }
        Ok(Watch {
            pids: pids.to_vec(),
            cgroups: cgroups
                .iter()
                .map(|c| Cgroup::find(Path::new(CGROUP_ROOT), c))
                .collect::<Result<_>>()?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.pids.is_empty() && self.cgroups.is_empty()
    }
}

/// `/proc/stat`'s cpu lines: idle and total ticks (user..steal; guest time is in user).
pub fn parse_stat(text: &str) -> BTreeMap<String, (u64, u64)> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("cpu")) {
        let mut f = line.split_whitespace();
        let Some(name) = f.next() else { continue };
        let v: Vec<u64> = f.take(8).filter_map(|x| x.parse().ok()).collect();
        if v.len() == 8 {
            out.insert(name.to_string(), (v[3], v.iter().sum()));
        }
    }
    out
}

fn meminfo(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// Whole disks, as node_exporter's default device filter keeps them.
fn whole_disk(name: &str) -> bool {
    let strip_digits = |s: &str| s.trim_end_matches(|c: char| c.is_ascii_digit()).len() < s.len();
    let virtual_dev = ["loop", "ram", "zram", "dm-", "sr", "fd", "md"]
        .iter()
        .any(|p| name.starts_with(p));
    let partition = ["sd", "hd", "vd", "xvd"]
        .iter()
        .any(|p| name.starts_with(p) && strip_digits(name))
        || ((name.starts_with("nvme") || name.starts_with("mmcblk")) && name.contains('p') && {
            let after = name.rsplit('p').next().unwrap_or("");
            !after.is_empty() && after.bytes().all(|b| b.is_ascii_digit())
        });
    !virtual_dev && !partition
}

pub fn parse_diskstats(text: &str) -> (u64, u64, u64, u64) {
    let mut sum = (0, 0, 0, 0);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 || !whole_disk(f[2]) {
            continue;
        }
        let n = |i: usize| f[i].parse::<u64>().unwrap_or(0);
        sum.0 += n(3);
        sum.1 += n(5);
        sum.2 += n(7);
        sum.3 += n(9);
    }
    sum
}

fn leaves_host(iface: &str) -> bool {
    !(iface == "lo"
        || ["veth", "docker", "br-", "virbr", "cni", "flannel"]
            .iter()
            .any(|p| iface.starts_with(p)))
}

pub fn parse_net_dev(text: &str) -> (u64, u64) {
    let mut sum = (0, 0);
    for line in text.lines().skip(2) {
        let Some((iface, rest)) = line.split_once(':') else {
            continue;
        };
        if !leaves_host(iface.trim()) {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() >= 9 {
            sum.0 += f[0];
            sum.1 += f[8];
        }
    }
    sum
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `/proc/<pid>/stat` and `status`: (command, utime + stime ticks, VmRSS bytes); None when
/// the process is gone.
pub fn parse_proc(stat: &str, status: &str) -> Option<(String, u64, u64)> {
    // the command is in parentheses and may hold spaces: the fields follow the last ')'
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat[open + 1..close].to_string();
    let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    // after the command: state (the line's 3rd field) ... utime (14th), stime (15th)
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let rss_kb = meminfo(status, "VmRSS").unwrap_or(0);
    Some((name, ticks, rss_kb * 1024))
}

/// The counters now, with the processes and control groups watched.
pub fn reading_of(watch: &Watch) -> Reading {
    let mut r = reading();
    for pid in &watch.pids {
        let (stat, status) = (
            read(&format!("/proc/{pid}/stat")),
            read(&format!("/proc/{pid}/status")),
        );
        if let Some(p) = parse_proc(&stat, &status) {
            r.procs.insert(*pid, p);
        }
    }
    for c in &watch.cgroups {
        r.cgroups.insert(c.path.clone(), c.read());
    }
    r
}

/// The counters now.
pub fn reading() -> Reading {
    let mem = read("/proc/meminfo");
    Reading {
        at_us: crate::time::micros(chrono::Utc::now().naive_utc()),
        cpu: parse_stat(&read("/proc/stat")),
        mem_total_kb: meminfo(&mem, "MemTotal"),
        mem_available_kb: meminfo(&mem, "MemAvailable"),
        disk: parse_diskstats(&read("/proc/diskstats")),
        net: parse_net_dev(&read("/proc/net/dev")),
        procs: BTreeMap::new(),
        cgroups: BTreeMap::new(),
    }
}

/// The series of consecutive readings (each pair gives one point at the later one's time), and
/// what went down between two readings and so gave that step no point: a sum
/// of disk or network counters (a device removed), a process' CPU ticks (its pid reused), a
/// control group's CPU (the group made anew). One line per counter: its steps and the first.
pub fn series(host: &str, readings: &[Reading]) -> (Vec<ResourceSeries>, Vec<String>) {
    // (target, metric) -> (unit, query, points)
    type Acc = (&'static str, &'static str, Vec<(i64, f64)>);
    let mut by: BTreeMap<(String, &'static str), Acc> = BTreeMap::new();
    // counter -> (steps, first step, last step counted)
    let mut downs: BTreeMap<String, (usize, i64, i64)> = BTreeMap::new();
    let mut went_down = |what: String, at: i64| {
        let e = downs.entry(what).or_insert((0, at, i64::MIN));
        if e.2 != at {
            (e.0, e.2) = (e.0 + 1, at);
        }
    };
    let mut push = |target: String, metric: &'static str, unit, query, t, v: f64| {
        if v.is_finite() {
            by.entry((target, metric))
                .or_insert((unit, query, Vec::new()))
                .2
                .push((t, v));
        }
    };
    for w in readings.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let secs = (b.at_us - a.at_us) as f64 / 1e6;
        if secs <= 0.0 {
            continue;
        }
        for (name, (idle1, total1)) in &b.cpu {
            let Some((idle0, total0)) = a.cpu.get(name) else {
                continue;
            };
            let total = total1.saturating_sub(*total0) as f64;
            if total <= 0.0 {
                continue;
            }
            let busy = 1.0 - idle1.saturating_sub(*idle0) as f64 / total;
            let (target, metric) = match name.strip_prefix("cpu").filter(|n| !n.is_empty()) {
                Some(n) => (format!("{host} cpu={n}"), "cpu_core_busy_ratio"),
                None => (host.to_string(), "cpu_busy_ratio"),
            };
            push(
                target,
                metric,
                "ratio",
                "/proc/stat: 1 - idle share",
                b.at_us,
                busy,
            );
        }
        if let (Some(t), Some(av)) = (b.mem_total_kb, b.mem_available_kb) {
            if t > 0 {
                push(
                    host.into(),
                    "mem_used_ratio",
                    "ratio",
                    "/proc/meminfo: 1 - MemAvailable / MemTotal",
                    b.at_us,
                    1.0 - av as f64 / t as f64,
                );
            }
        }
        // a sum that went down (a device gone, a counter reset) gives no point
        let rate = |x1: u64, x0: u64| (x1 >= x0).then(|| (x1 - x0) as f64 / secs);
        let (d0, d1) = (&a.disk, &b.disk);
        // (metric, unit, where it comes from, the step's value)
        let counters = [
            (
                "disk_read_bps",
                "bytes/s",
                "/proc/diskstats: sectors read x 512",
                rate(d1.1, d0.1).map(|v| v * 512.0),
            ),
            (
                "disk_write_bps",
                "bytes/s",
                "/proc/diskstats: sectors written x 512",
                rate(d1.3, d0.3).map(|v| v * 512.0),
            ),
            (
                "disk_read_iops",
                "ops/s",
                "/proc/diskstats: reads completed",
                rate(d1.0, d0.0),
            ),
            (
                "disk_write_iops",
                "ops/s",
                "/proc/diskstats: writes completed",
                rate(d1.2, d0.2),
            ),
            (
                "net_rx_bps",
                "bytes/s",
                "/proc/net/dev: receive bytes",
                rate(b.net.0, a.net.0),
            ),
            (
                "net_tx_bps",
                "bytes/s",
                "/proc/net/dev: transmit bytes",
                rate(b.net.1, a.net.1),
            ),
        ];
        for (metric, unit, query, v) in counters {
            match v {
                Some(v) => push(host.into(), metric, unit, query, b.at_us, v),
                None if metric.starts_with("disk") => {
                    went_down("the disks' counters (a disk removed?)".into(), b.at_us);
                }
                None => went_down(
                    "the network counters (an interface removed?)".into(),
                    b.at_us,
                ),
            }
        }
        // a process' CPU in cores: its ticks against the host's ticks per core (no CLK_TCK)
        let (cores, host_ticks) = (
            b.cpu.keys().filter(|k| *k != "cpu").count().max(1) as f64,
            match (a.cpu.get("cpu"), b.cpu.get("cpu")) {
                (Some(x), Some(y)) => y.1.saturating_sub(x.1) as f64,
                _ => 0.0,
            },
        );
        for (pid, (name, ticks1, rss)) in &b.procs {
            let target = format!("{host} pid={pid} ({name})");
            let before = a.procs.get(pid);
            if before.is_some_and(|p| p.1 > *ticks1) {
                went_down(
                    format!("pid {pid} ({name}): its CPU ticks (another process with that pid?)"),
                    b.at_us,
                );
            }
            if let (Some((_, ticks0, _)), true) =
                (before.filter(|p| p.1 <= *ticks1), host_ticks > 0.0)
            {
                let used = (ticks1 - ticks0) as f64 / (host_ticks / cores);
                push(
                    target.clone(),
                    "process_cpu_cores",
                    "cores",
                    "/proc/<pid>/stat: utime + stime per core's ticks",
                    b.at_us,
                    used,
                );
            }
            push(
                target,
                "process_rss_bytes",
                "bytes",
                "/proc/<pid>/status: VmRSS",
                b.at_us,
                *rss as f64,
            );
        }
        for (path, (cpu1, mem)) in &b.cgroups {
            let target = format!("{host} cgroup={path}");
            // a counter that went down is a group made anew: that step has no point
            let step = match (cpu1, a.cgroups.get(path)) {
                (Some(c1), Some((Some(c0), _))) if c1 >= c0 => Some(c1 - c0),
                (Some(_), Some((Some(_), _))) => {
                    went_down(
                        format!("cgroup {path}: its CPU usage (the group made anew?)"),
                        b.at_us,
                    );
                    None
                }
                _ => None,
            };
            if let Some(used) = step {
                push(
                    target.clone(),
                    "cgroup_cpu_cores",
                    "cores",
                    "cgroup cpu.stat usage_usec (v1: cpuacct.usage) per wall-clock second",
                    b.at_us,
                    used as f64 / (secs * 1e6),
                );
            }
            if let Some(m) = mem {
                push(
                    target,
                    "cgroup_mem_bytes",
                    "bytes",
                    "cgroup memory.current (v1: memory.usage_in_bytes)",
                    b.at_us,
                    *m as f64,
                );
            }
        }
    }
    // in the order of the Prometheus defaults: CPU, cores, memory, disk, network
    let order = crate::metrics::rank;
    let mut out: Vec<ResourceSeries> = by
        .into_iter()
        .map(|((target, metric), (unit, query, points))| ResourceSeries {
            target,
            metric: metric.into(),
            unit: unit.into(),
            query: query.into(),
            points,
        })
        .collect();
    out.sort_by(|a, b| {
        order(&a.metric)
            .cmp(&order(&b.metric))
            .then(a.target.cmp(&b.target))
    });
    let said = downs
        .into_iter()
        .map(|(what, (n, at, _))| {
            format!(
                "{what} went down {n} time(s), first at {}: no point for those steps",
                crate::time::from_micros(at).map_or_else(|| at.to_string(), crate::time::display)
            )
        })
        .collect();
    (out, said)
}

/// The host's name, as the target of its series.
pub fn host_name() -> String {
    let h = read("/proc/sys/kernel/hostname");
    let h = h.trim();
    if h.is_empty() {
        "localhost".into()
    } else {
        h.to_string()
    }
}

/// Samples in a thread until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<Reading>>,
    step: Duration,
    watch: Watch,
}

impl Sampler {
    /// Takes a first reading now, then one every `step`.
    pub fn start(step: Duration, watch: Watch) -> Result<Sampler> {
        if !Path::new("/proc/stat").exists() {
            return Err(Error::Source {
                what: "host sampler".into(),
                msg:
                    "/proc/stat is not readable: this system has no Linux /proc (use --prometheus)"
                        .into(),
            });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let watched = watch.clone();
        let handle = std::thread::spawn(move || {
            let mut out = vec![reading_of(&watched)];
            let start = Instant::now();
            let mut k = 1u32;
            while !flag.load(Ordering::Relaxed) {
                // on the step's grid, not drifting with the time a reading takes
                let next = start + step * k;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep((next - now).min(Duration::from_millis(50)));
                    if Instant::now() < next {
                        continue;
                    }
                }
                out.push(reading_of(&watched));
                k += 1;
            }
            out
        });
        Ok(Sampler {
            stop,
            handle,
            step,
            watch,
        })
    }

    /// Stops, with a last reading, and gives the capture.
    pub fn finish(self) -> Result<ResourceCapture> {
        self.stop.store(true, Ordering::Relaxed);
        let mut readings = self
            .handle
            .join()
            .map_err(|_| Error::Internal("the host sampler thread panicked".into()))?;
        readings.push(reading_of(&self.watch));
        let host = host_name();
        let at = |us: i64| crate::time::from_micros(us).unwrap_or_default();
        let (first, last) = (
            readings.first().map_or(0, |r| r.at_us),
            readings.last().map_or(0, |r| r.at_us),
        );
        let (series, notes) = series(&host, &readings);
        Ok(ResourceCapture {
            source: format!("host sampler ({host}, /proc)"),
            started_at: at(first),
            ended_at: at(last),
            step_s: self.step.as_secs_f64(),
            series,
            sources: Vec::new(),
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_busy_is_one_minus_the_idle_share_of_the_step() {
        let a = Reading {
            at_us: 0,
            cpu: parse_stat("cpu  100 0 50 800 10 0 0 0 0 0\ncpu0 50 0 25 400 5 0 0 0 0 0\n"),
            ..Default::default()
        };
        let b = Reading {
            at_us: 1_000_000,
            cpu: parse_stat("cpu  160 0 80 900 10 0 0 0 0 0\ncpu0 110 0 40 430 5 0 0 0 0 0\n"),
            ..Default::default()
        };
        let (s, _) = series("h", &[a, b]);
        let cpu = s.iter().find(|s| s.metric == "cpu_busy_ratio").unwrap();
        // 190 ticks, 100 of them idle
        assert!((cpu.points[0].1 - (1.0 - 100.0 / 190.0)).abs() < 1e-12);
        let core = s
            .iter()
            .find(|s| s.metric == "cpu_core_busy_ratio")
            .unwrap();
        assert_eq!(core.target, "h cpu=0");
        assert!((core.points[0].1 - (1.0 - 30.0 / 105.0)).abs() < 1e-12);
    }

    #[test]
    fn a_process_in_cores_of_the_host() {
        let stat =
            "4242 (post gres) S 1 2 3 0 -1 4194560 10 0 0 0 150 50 0 0 20 0 1 0 100 1000 200";
        assert_eq!(
            parse_proc(stat, "VmRSS:\t  2048 kB\n"),
            Some(("post gres".into(), 200, 2048 * 1024))
        );
        let at = |t, total, ticks| Reading {
            at_us: t,
            cpu: BTreeMap::from([
                ("cpu".to_string(), (0, total)),
                ("cpu0".to_string(), (0, total / 2)),
                ("cpu1".to_string(), (0, total / 2)),
            ]),
            procs: BTreeMap::from([(7u32, ("x".to_string(), ticks, 1024))]),
            ..Default::default()
        };
        // 200 host ticks over 2 cores = 100 per core; the process used 50: half a core
        let (s, _) = series("h", &[at(0, 1000, 10), at(1_000_000, 1200, 60)]);
        let p = s.iter().find(|s| s.metric == "process_cpu_cores").unwrap();
        assert_eq!(p.target, "h pid=7 (x)");
        assert!((p.points[0].1 - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_control_group_in_cores_and_a_group_made_anew_gives_no_point() {
        let at = |t, usec| Reading {
            at_us: t,
            cgroups: BTreeMap::from([("/svc".to_string(), (Some(usec), Some(4096)))]),
            ..Default::default()
        };
        // 1.5 s of CPU in 1 s of wall time: one and a half cores
        let (s, said) = series(
            "h",
            &[
                at(0, 1_000_000),
                at(1_000_000, 2_500_000),
                at(2_000_000, 10),
            ],
        );
        let cpu = s.iter().find(|s| s.metric == "cgroup_cpu_cores").unwrap();
        assert_eq!(cpu.target, "h cgroup=/svc");
        assert_eq!(cpu.points, vec![(1_000_000, 1.5)]);
        let mem = s.iter().find(|s| s.metric == "cgroup_mem_bytes").unwrap();
        assert_eq!(mem.points.len(), 2);
        assert_eq!(
            said,
            ["cgroup /svc: its CPU usage (the group made anew?) went down 1 time(s), first at 1970-01-01 00:00:02: no point for those steps"]
        );
    }

    #[test]
    fn sums_that_go_down_and_reused_pids_give_no_point_and_are_said() {
        let at = |t: i64, sectors: u64, rx: u64, ticks: u64| Reading {
            at_us: t,
            disk: (10, sectors, 10, sectors),
            net: (rx, rx),
            procs: BTreeMap::from([(7, ("svc".to_string(), ticks, 4096))]),
            cpu: BTreeMap::from([("cpu".to_string(), (0, t as u64 / 10_000))]),
            ..Default::default()
        };
        let readings = [
            at(0, 1000, 5000, 50),
            at(1_000_000, 3000, 9000, 100),
            at(2_000_000, 100, 100, 3),
        ];
        let (s, said) = series("h", &readings);
        let points = |m: &str| {
            s.iter()
                .find(|s| s.metric == m)
                .map(|s| s.points.clone())
                .unwrap_or_default()
        };
        // 2000 sectors x 512 bytes in the first second, then no point (not a false 0)
        assert_eq!(points("disk_read_bps"), vec![(1_000_000, 1_024_000.0)]);
        assert_eq!(points("net_rx_bps"), vec![(1_000_000, 4000.0)]);
        assert_eq!(points("process_cpu_cores").len(), 1);
        assert_eq!(said.len(), 3, "{said:?}");
        assert!(said.iter().any(|l| l.starts_with("the disks' counters")));
        assert!(said.iter().any(|l| l.starts_with("the network counters")));
        assert!(said
            .iter()
            .any(|l| l.starts_with("pid 7 (svc): its CPU ticks")));
    }

    #[test]
    fn cgroup_counters_of_v2_then_v1() {
        let root = tempfile::tempdir().unwrap();
        let v2 = root.path().join("unified/svc");
        let v1 = root.path().join("memory/svc");
        std::fs::create_dir_all(&v2).unwrap();
        std::fs::create_dir_all(&v1).unwrap();
        std::fs::write(v2.join("cpu.stat"), "usage_usec 1234\nuser_usec 1000\n").unwrap();
        std::fs::write(v1.join("memory.usage_in_bytes"), "8192\n").unwrap();
        let c = Cgroup::find(root.path(), "/svc").unwrap();
        assert_eq!(c.read(), (Some(1234), Some(8192)));
        let e = Cgroup::find(root.path(), "/other").unwrap_err().to_string();
        assert!(e.contains("--cgroup /other: no such control group"), "{e}");
    }

    #[test]
    fn whole_disks_and_outside_interfaces_only() {
        for (d, keep) in [
            ("sda", true),
            ("sda1", false),
            ("nvme0n1", true),
            ("nvme0n1p2", false),
            ("vdb", true),
            ("loop3", false),
            ("dm-0", false),
            ("mmcblk0p1", false),
        ] {
            assert_eq!(whole_disk(d), keep, "{d}");
        }
        let net = "h1\nh2\n    lo: 10 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n  eth0: 300 3 0 0 0 0 0 0 200 2 0 0 0 0 0 0\n";
        assert_eq!(parse_net_dev(net), (300, 200));
        let disk = "   8 0 sda 5 0 40 0 7 0 80 0 0 0 0\n   8 1 sda1 5 0 40 0 7 0 80 0 0 0 0\n";
        assert_eq!(parse_diskstats(disk), (5, 40, 7, 80));
    }
}
