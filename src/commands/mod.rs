//! One module per subcommand. Each turns its clap arguments into a validated request
//! (`TryFrom<&Args>`), calls the analysis or store layer, and hands the result to `output`.

pub mod annotate;
pub mod baseline;
pub mod check;
pub mod compare;
pub mod completions;
pub mod demo;
mod demo_quarter;
pub mod exec;
pub mod export;
pub mod import;
pub mod lake;
pub mod report;
pub mod resources;
pub mod runs;
pub mod show;
pub mod snapshot;
pub mod sql;
pub mod trend;

use chrono::NaiveDateTime;

use crate::cli::{Cli, Command, FormatArg, RunFilterArgs};
use crate::error::{Error, Result};
use crate::model::parse_label;
use crate::output::Format;
use crate::store::RunFilter;

/// Runs one parsed command line.
pub fn run(cli: &Cli) -> Result<()> {
    crate::output::set_quiet(cli.quiet);
    if !cli.quiet {
        crate::progress::install(Box::new(crate::output::BarSink));
    }
    let result = dispatch(cli);
    crate::output::progress_done();
    result
}

fn dispatch(cli: &Cli) -> Result<()> {
    let db = &crate::store::Location {
        db: cli.db.clone(),
        lake: cli.lake.clone().filter(|l| !l.is_empty()),
        offline: cli.offline,
    };
    match &cli.command {
        Command::Import(a) => import::run(db, &a.try_into()?),
        Command::Runs(a) => runs::run(db, &a.try_into()?),
        Command::Show(a) => show::run(db, &a.try_into()?),
        Command::Sql(a) => sql::run(db, &a.try_into()?),
        Command::Snapshot(a) => snapshot::run(db, &(&a.source).try_into()?),
        Command::Exec(a) => exec::run(db, &a.try_into()?),
        Command::Compare(a) => compare::run(db, &a.try_into()?),
        Command::Check(a) => check::run(db, &a.try_into()?),
        Command::Trend(a) => trend::run(db, &a.try_into()?),
        Command::Baseline(a) => baseline::run(db, &a.try_into()?),
        Command::Annotate(a) => annotate::run(db, &a.try_into()?),
        Command::Report(a) => report::run(db, &a.try_into()?),
        Command::Export(a) => export::run(db, &a.try_into()?),
        Command::Sync(a) => lake::run(db, &a.try_into()?),
        Command::Lake(a) => lake::run(db, &a.try_into()?),
        Command::Demo(_) if db.lake.is_some() => Err(Error::Usage(
            "demo builds its own warehouse from the bundled fixtures; --lake does not apply".into(),
        )),
        Command::Demo(a) => demo::run(a),
        Command::Completions { shell } => completions::completions(*shell),
        Command::Man => completions::man(),
    }
}

/// The candidate run as the forms of code review name it.
pub fn subject<'a>(
    h: &'a crate::store::runs::RunHeader,
    goals_file: Option<&'a std::path::Path>,
    report_url: Option<&'a str>,
) -> crate::output::ci::Subject<'a> {
    crate::output::ci::Subject {
        run_id: h.id,
        run_key: crate::store::runs::short_key(&h.content_key),
        labels: &h.labels,
        source: h.sources.first().map(|s| s.path.as_str()),
        goals_file,
        report_url,
    }
}

/// `--format` of a command without a JUnit form.
pub fn format(f: FormatArg) -> Result<Format> {
    match gate_format(f) {
        g if g.gate_only() => Err(Error::Usage(format!(
            "--format {}: only `check` and `compare` have this form; use table, json, csv or markdown",
            clap::ValueEnum::to_possible_value(&f).map_or(String::new(), |v| v.get_name().to_string())
        ))),
        f => Ok(f),
    }
}

/// `--format` of `check` and `compare`, which have every form.
pub fn gate_format(f: FormatArg) -> Format {
    match f {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Csv => Format::Csv,
        FormatArg::Markdown => Format::Markdown,
        FormatArg::Junit => Format::Junit,
        FormatArg::Comment => Format::Comment,
        FormatArg::GitlabMetrics => Format::GitlabMetrics,
        FormatArg::Codequality => Format::CodeQuality,
    }
}

pub fn parse_time_arg(flag: &str, s: &str) -> Result<NaiveDateTime> {
    crate::time::parse_time(s).ok_or_else(|| {
        Error::Usage(format!("{flag} '{s}': expected a time such as 2026-11-27, '2026-11-27 14:00:00' or 2026-11-27T14:00:00Z"))
    })
}

fn opt_time(flag: &str, s: Option<&str>) -> Result<Option<NaiveDateTime>> {
    s.map(|s| parse_time_arg(flag, s)).transpose()
}

impl TryFrom<&RunFilterArgs> for RunFilter {
    type Error = Error;
    fn try_from(a: &RunFilterArgs) -> Result<Self> {
        Ok(RunFilter {
            tool: a.tool.clone(),
            scenario: a.scenario.clone(),
            labels: a
                .labels
                .iter()
                .map(|l| parse_label(l))
                .collect::<Result<_>>()?,
            since: opt_time("--since", a.since.as_deref())?,
            until: opt_time("--until", a.until.as_deref())?,
        })
    }
}
