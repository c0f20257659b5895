//! `perfledger exec [options] -- TOOL ARGS...`: runs a load tool and records everything as one
//! run: the outputs it writes (flags added where needed), git labels, the host's resources
//! while it ran (/proc, and Prometheus when given), database snapshots before and after. The
//! tool's exit code is perfledger's; a health source that fails is named and skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cli::ExecArgs;
use crate::error::{Error, Result};
use crate::import::{host, pg_live, prometheus, ImportOptions};
use crate::model::parse_label;
use crate::output::{emit, emit_err, Format};
use crate::store::{Location, Outcome, Warehouse};

pub struct Request {
    pub labels: BTreeMap<String, String>,
    pub scenario: Option<String>,
    pub pg: Option<String>,
    pub explain: Vec<String>,
    pub pg_log: Option<PathBuf>,
    pub prometheus: Option<String>,
    /// None: no host sampling.
    pub step: Option<Duration>,
    /// Processes sampled with the host.
    pub pids: Vec<u32>,
    /// Control groups sampled with the host.
    pub cgroups: Vec<String>,
    pub keep: Option<PathBuf>,
    pub format: Format,
    pub command: Vec<String>,
}

impl TryFrom<&ExecArgs> for Request {
    type Error = Error;
    fn try_from(a: &ExecArgs) -> Result<Self> {
        let step = prometheus::parse_duration(&a.step)
            .filter(|s| *s >= 0.1)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--step {}: expected a duration of at least 100ms, like 1s",
                    a.step
                ))
            })?;
        Ok(Request {
            labels: a
                .labels
                .iter()
                .map(|l| parse_label(l))
                .collect::<Result<_>>()?,
            scenario: a.scenario.clone(),
            pg: a.pg.clone(),
            explain: a.explain.clone(),
            pg_log: a.pg_log.clone(),
            prometheus: a.prometheus.clone(),
            step: (!a.no_sample).then(|| Duration::from_secs_f64(step)),
            pids: a.pid.clone(),
            cgroups: a.cgroup.clone(),
            keep: a.keep.clone(),
            format: super::format(a.format)?,
            command: a.command.clone(),
        })
    }
}

/// What the tool's console is kept as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Console {
    /// Its results are files of its own: the console is only shown.
    Shown,
    /// Its results are on stdout (wrk, ab, hey, oha, h2load).
    Stdout,
    /// On stdout and stderr, in the order a terminal shows them (pgbench's progress is on
    /// stderr, siege's summary too).
    Both,
}

/// How to run the tool: its arguments with the output flags added, the files it will write.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    tool: String,
    program: String,
    args: Vec<String>,
    console: Console,
    outputs: Vec<PathBuf>,
}

/// The value of a flag (`--f v` or `--f=v`).
fn value_of(args: &[String], flags: &[&str]) -> Option<String> {
    for (i, a) in args.iter().enumerate() {
        for f in flags {
            if a == f {
                return args.get(i + 1).cloned();
            }
            if let Some(v) = a.strip_prefix(&format!("{f}=")) {
                return Some(v.to_string());
            }
        }
    }
    None
}

fn plan(command: &[String], dir: &Path) -> Plan {
    let program = command[0].clone();
    let tool = Path::new(&program)
        .file_name()
        .map_or(program.clone(), |n| n.to_string_lossy().to_string());
    let mut args: Vec<String> = command[1..].to_vec();
    let mut outputs = Vec::new();
    let at = |name: &str| dir.join(name);
    let console = match tool.as_str() {
        "k6" if args.first().is_some_and(|a| a == "run") => {
            let mut extra = Vec::new();
            match value_of(&args, &["--summary-export"]) {
                Some(f) => outputs.push(PathBuf::from(f)),
                None => {
                    let f = at("k6-summary.json");
                    extra.push(format!("--summary-export={}", f.display()));
                    outputs.push(f);
                }
            }
            let json_out = args
                .iter()
                .enumerate()
                .filter(|(_, a)| *a == "--out" || *a == "-o")
                .filter_map(|(i, _)| args.get(i + 1).map(String::as_str))
                .chain(args.iter().filter_map(|a| a.strip_prefix("--out=")))
                .find_map(|v| v.strip_prefix("json=").map(str::to_string));
            match json_out {
                Some(f) => outputs.push(PathBuf::from(f)),
                None => {
                    let f = at("k6-points.json.gz");
                    extra.push("--out".into());
                    extra.push(format!("json={}", f.display()));
                    outputs.push(f);
                }
            }
            args.splice(1..1, extra);
            Console::Shown
        }
        "locust" => {
            let prefix = match value_of(&args, &["--csv"]) {
                Some(p) => p,
                None => {
                    let p = at("locust").display().to_string();
                    args.extend(["--csv".into(), p.clone(), "--csv-full-history".into()]);
                    p
                }
            };
            for s in ["stats", "stats_history", "failures", "exceptions"] {
                outputs.push(PathBuf::from(format!("{prefix}_{s}.csv")));
            }
            Console::Shown
        }
        "artillery" if args.first().is_some_and(|a| a == "run") => {
            match value_of(&args, &["--output", "-o"]) {
                Some(f) => outputs.push(PathBuf::from(f)),
                None => {
                    let f = at("artillery.json");
                    args.extend(["--output".into(), f.display().to_string()]);
                    outputs.push(f);
                }
            }
            Console::Shown
        }
        "jmeter" => {
            match value_of(&args, &["-l"]) {
                Some(f) => outputs.push(PathBuf::from(f)),
                None => {
                    let f = at("results.jtl");
                    args.extend(["-l".into(), f.display().to_string()]);
                    outputs.push(f);
                }
            }
            Console::Shown
        }
        "pgbench" | "siege" => Console::Both,
        _ => Console::Stdout,
    };
    if console != Console::Shown {
        outputs.push(at("output.txt"));
    }
    Plan {
        tool,
        program,
        args,
        console,
        outputs,
    }
}

/// commit, branch and dirty of the working directory's git repository, if it is one.
fn git_labels() -> BTreeMap<String, String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let mut out = BTreeMap::new();
    if let Some(commit) = git(&["rev-parse", "HEAD"]) {
        out.insert("commit".into(), commit);
        if let Some(b) = git(&["rev-parse", "--abbrev-ref", "HEAD"]).filter(|b| b != "HEAD") {
            out.insert("branch".into(), b);
        }
        if let Some(s) = git(&["status", "--porcelain", "--untracked-files=no"]) {
            out.insert("dirty".into(), (!s.is_empty()).to_string());
        }
    }
    out
}

/// Runs the tool, its console copied as the plan says; its exit code (128 + signal when a
/// signal ended it).
fn execute(p: &Plan, dir: &Path, console_to_stderr: bool) -> Result<u8> {
    let mut cmd = Command::new(&p.program);
    cmd.args(&p.args).stdin(Stdio::inherit());
    let spawn_err = |e: std::io::Error| {
        Error::Usage(format!(
            "cannot run {}: {e}{}",
            p.program,
            if e.kind() == std::io::ErrorKind::NotFound {
                " (is it installed and on PATH?)"
            } else {
                ""
            }
        ))
    };
    let file = dir.join("output.txt");
    let status = match p.console {
        Console::Shown => {
            if console_to_stderr {
                cmd.stdout(Stdio::from(std::io::stderr()));
            }
            cmd.status().map_err(spawn_err)?
        }
        Console::Stdout | Console::Both => {
            let (reader, writer) =
                std::io::pipe().map_err(|e| Error::Internal(format!("pipe: {e}")))?;
            if p.console == Console::Both {
                let w2 = writer
                    .try_clone()
                    .map_err(|e| Error::Internal(format!("pipe: {e}")))?;
                cmd.stderr(w2);
            }
            cmd.stdout(writer);
            let mut child = cmd.spawn().map_err(spawn_err)?;
            // the child holds the write ends now: ours must go for the copy to see its end
            drop(cmd);
            let copied = crate::output::tee(reader, &file, console_to_stderr);
            let status = child
                .wait()
                .map_err(|e| Error::Internal(format!("waiting for {}: {e}", p.program)))?;
            copied?;
            status
        }
    };
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c).unwrap_or(1),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(1),
        _ => 1,
    })
}

fn default_dir() -> PathBuf {
    PathBuf::from("perfledger-exec").join(chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string())
}

use crate::output::exec::ExecReport;

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    // what is refused is refused before anything is written or run
    let watch = host::Watch::new(&r.pids, &r.cgroups)?;
    if r.step.is_none() && !watch.is_empty() {
        return Err(Error::Usage(
            "--pid and --cgroup need the host sampler: leave out --no-sample".into(),
        ));
    }
    let dir = r.keep.clone().unwrap_or_else(default_dir);
    std::fs::create_dir_all(&dir).map_err(|e| Error::output(&dir, e))?;
    let p = plan(&r.command, &dir);
    let mut labels = git_labels();
    labels.extend(r.labels.clone());
    // a warehouse that cannot be written fails before the test runs, not after
    let mut wh = Warehouse::open_write_synced(loc)?;
    let mut rep = ExecReport {
        tool: p.tool.clone(),
        dir: dir.display().to_string(),
        ..Default::default()
    };
    let before = r.pg.as_deref().and_then(|dsn| {
        match pg_live::take(dsn, None, &[])
            .and_then(|s| wh.ingest_snapshot(&s, None).map(|x| (s, x)))
        {
            Ok((s, (id, _))) => {
                rep.snapshots.push(id);
                rep.notes
                    .extend(s.notes.iter().map(|n| format!("database: {n}")));
                Some(s.server)
            }
            Err(e) => {
                rep.notes
                    .push(format!("database snapshot before the run skipped: {e}"));
                None
            }
        }
    });
    let sampler = match r.step.map(|s| host::Sampler::start(s, watch)).transpose() {
        Ok(s) => s,
        Err(e) => {
            rep.notes.push(format!("host sampling skipped: {e}"));
            None
        }
    };
    // the log's length now: what is written after it is the run's
    let log_from = r
        .pg_log
        .as_deref()
        .and_then(|p| match std::fs::metadata(p) {
            Ok(m) => Some(m.len()),
            Err(e) => {
                rep.notes
                    .push(format!("statement log {} skipped: {e}", p.display()));
                None
            }
        });
    let started = chrono::Utc::now().naive_utc();
    let code = execute(&p, &dir, r.format != Format::Table)?;
    rep.exit_code = code;
    let capture = sampler.map(host::Sampler::finish).transpose();
    let files: Vec<PathBuf> = p.outputs.iter().filter(|f| f.exists()).cloned().collect();
    let statements = match (r.pg_log.as_deref(), log_from) {
        (Some(log), Some(from)) => match statement_log(log, from, &dir) {
            Ok(run) => Some(run),
            Err(e) => {
                rep.notes.push(format!("statement log skipped: {e}"));
                None
            }
        },
        _ => None,
    };
    let opts = ImportOptions {
        statements,
        labels,
        scenario: r.scenario.clone(),
        at: Some(started),
        run_group: true,
        ..Default::default()
    };
    let imported = if files.is_empty() {
        None
    } else {
        let report = super::import::import_paths(
            Some(&mut wh),
            &files,
            Some(&p.tool)
                .filter(|t| crate::import::tool_names().contains(&t.as_str()))
                .map(String::as_str),
            &opts,
        )?;
        rep.imports = report.results;
        rep.imports.iter().find_map(|f| f.run_id)
    };
    let Some(run_id) = imported else {
        let why = format!(
            "; it left no output perfledger recognises (kept in {})",
            dir.display()
        );
        return Err(if code != 0 {
            Error::ToolExit {
                tool: p.tool,
                code,
                note: why,
            }
        } else {
            Error::NoResults {
                path: dir,
                reason: format!("{} wrote nothing perfledger recognises", p.tool),
            }
        });
    };
    rep.run_id = Some(run_id);
    if let (Some(dsn), Some(_)) = (r.pg.as_deref(), before) {
        match pg_live::take(dsn, None, &r.explain)
            .and_then(|s| wh.ingest_snapshot(&s, Some(run_id)))
        {
            Ok((id, _)) => {
                rep.snapshots.push(id);
                // a restart or a reset during the run: its interval counts from the reset
                match wh.reset_notes(id) {
                    Ok(n) => rep.notes.extend(n.iter().map(|n| format!("database: {n}"))),
                    Err(e) => rep.notes.push(format!("database: {e}")),
                }
            }
            Err(e) => rep
                .notes
                .push(format!("database snapshot after the run skipped: {e}")),
        }
    }
    match capture {
        Ok(Some(c)) => match wh.ingest_resources(&c, run_id) {
            Ok((id, o)) => {
                rep.captures
                    .push((id, c.source.clone(), c.series.len(), o == Outcome::Imported));
                rep.notes
                    .extend(c.notes.iter().map(|n| format!("host sampling: {n}")));
            }
            Err(e) => rep.notes.push(format!("host resources not stored: {e}")),
        },
        Ok(None) => {}
        Err(e) => rep.notes.push(format!("host sampling failed: {e}")),
    }
    if let Some(url) = &r.prometheus {
        match prometheus_capture(&wh, url, run_id) {
            Ok(c) => match wh.ingest_resources(&c, run_id) {
                Ok((id, o)) => {
                    rep.captures.push((
                        id,
                        c.source.clone(),
                        c.series.len(),
                        o == Outcome::Imported,
                    ));
                }
                Err(e) => rep
                    .notes
                    .push(format!("Prometheus resources not stored: {e}")),
            },
            Err(e) => rep.notes.push(format!("Prometheus resources skipped: {e}")),
        }
    }
    for n in &rep.notes {
        emit_err(&format!("warning: {n}\n"));
    }
    emit(&crate::output::exec::render(&rep, r.format))?;
    if code != 0 {
        return Err(Error::ToolExit {
            tool: p.tool,
            code,
            note: format!(" (run {run_id} stored)"),
        });
    }
    Ok(())
}

/// The statements the log gained since byte `from`, as a run of its own (kept in `dir`).
fn statement_log(log: &Path, from: u64, dir: &Path) -> Result<crate::model::ParsedRun> {
    use std::io::{Read, Seek};
    // the logging collector writes what the server logged a moment ago
    std::thread::sleep(Duration::from_millis(1500));
    let mut f = std::fs::File::open(log)
        .map_err(|e| Error::input(log, None, format!("cannot read: {e}")))?;
    f.seek(std::io::SeekFrom::Start(from))
        .map_err(|e| Error::input(log, None, format!("cannot read: {e}")))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)
        .map_err(|e| Error::input(log, None, format!("cannot read: {e}")))?;
    let ext = if bytes.first() == Some(&b'{') {
        "json"
    } else {
        "csv"
    };
    let chunk = dir.join(format!("postgresql-during-run.{ext}"));
    std::fs::write(&chunk, &bytes).map_err(|e| Error::output(&chunk, e))?;
    let unit = crate::import::Unit {
        primary: chunk.clone(),
        siblings: BTreeMap::new(),
    };
    let imp = crate::import::detect(&unit, Some("postgres"))?;
    match crate::import::parse_unit(&unit, imp, &ImportOptions::default())? {
        crate::model::Parsed::Runs(mut runs) if !runs.is_empty() => Ok(runs.remove(0)),
        _ => Err(Error::input(
            &chunk,
            None,
            "not a statement log (jsonlog or csvlog)",
        )),
    }
}

/// Prometheus' node_exporter view of the run's window, once its last scrape is in.
fn prometheus_capture(
    wh: &Warehouse,
    url: &str,
    run: i64,
) -> Result<crate::model::ResourceCapture> {
    // the scrape after the run's end (one interval, a second here) holds its last seconds
    std::thread::sleep(Duration::from_secs(2));
    let live = super::resources::Live {
        url: url.to_string(),
        queries: prometheus::default_queries(),
        step_s: None,
        save: None,
    };
    Ok(super::resources::capture(wh, &live, run)?.capture)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn k6_gets_its_output_flags_unless_given() {
        let p = plan(&s(&["k6", "run", "script.js"]), Path::new("/o"));
        assert_eq!(
            p.args,
            s(&[
                "run",
                "--summary-export=/o/k6-summary.json",
                "--out",
                "json=/o/k6-points.json.gz",
                "script.js"
            ])
        );
        let p = plan(
            &s(&["k6", "run", "--out", "json=mine.json", "script.js"]),
            Path::new("/o"),
        );
        assert_eq!(
            p.outputs,
            vec![
                PathBuf::from("/o/k6-summary.json"),
                PathBuf::from("mine.json")
            ]
        );
        assert!(!p.args.iter().any(|a| a.contains("k6-points")));
    }

    #[test]
    fn console_tools_keep_their_console() {
        let p = plan(
            &s(&["/usr/bin/wrk", "-d3s", "http://127.0.0.1/"]),
            Path::new("/o"),
        );
        assert_eq!((p.tool.as_str(), p.console), ("wrk", Console::Stdout));
        assert_eq!(p.outputs, vec![PathBuf::from("/o/output.txt")]);
        assert_eq!(
            plan(&s(&["pgbench", "-T", "5"]), Path::new("/o")).console,
            Console::Both
        );
        let p = plan(
            &s(&["locust", "-f", "l.py", "--csv", "x/run"]),
            Path::new("/o"),
        );
        assert_eq!(p.outputs[0], PathBuf::from("x/run_stats.csv"));
        assert_eq!(p.args, s(&["-f", "l.py", "--csv", "x/run"]));
    }
}
