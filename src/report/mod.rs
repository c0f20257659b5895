//! HTML reports with PNG charts: templates from `reports/` compiled in (minijinja, HTML
//! auto-escaping, so every user string shows as text), one serialisable context per page,
//! charts drawn with plotters. Output: DIR/index.html plus PNGs, or with `--self-contained`
//! one HTML file with the images inlined as data URIs.

pub mod charts;
pub mod compare_page;
pub mod period_page;
pub mod recommend_section;
pub mod resources_section;
pub mod run_page;

use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::grid::{fmt_float, Grid};
use crate::store::Warehouse;

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub text: String,
    pub numeric: bool,
    pub class: Option<String>,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell {
            text: s.into(),
            numeric: false,
            class: None,
        }
    }
    pub fn num(v: Option<f64>) -> Cell {
        Cell {
            text: v.map(fmt_float).unwrap_or_default(),
            numeric: true,
            class: None,
        }
    }
    pub fn status(s: &str) -> Cell {
        Cell {
            text: s.to_string(),
            numeric: false,
            class: Some(s.split_whitespace().next().unwrap_or("").to_string()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn from_grid(g: &Grid) -> Table {
        let rows = g
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|d| Cell {
                        text: d.text(),
                        numeric: d.is_numeric(),
                        class: None,
                    })
                    .collect()
            })
            .collect();
        Table {
            header: g.columns.clone(),
            rows,
        }
    }

    pub fn new(header: &[&str], rows: Vec<Vec<Cell>>) -> Table {
        Table {
            header: header
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            rows,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub src: String,
    pub alt: String,
    pub caption: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Card {
    pub label: String,
    pub value: String,
    pub class: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    pub id: i64,
    pub started_at: String,
    pub tool: String,
    pub labels: String,
    pub sources: String,
}

/// What every page shows: header, methods and the runs it covers.
#[derive(Debug, Clone, Serialize)]
pub struct Common {
    pub title: String,
    pub subtitle: String,
    pub methods: Vec<String>,
    pub provenance: Vec<Provenance>,
    pub version: &'static str,
    pub generated_at: String,
}

impl Common {
    pub fn new(
        title: String,
        subtitle: String,
        methods: Vec<String>,
        provenance: Vec<Provenance>,
    ) -> Common {
        Common {
            title,
            subtitle,
            methods,
            provenance,
            version: env!("CARGO_PKG_VERSION"),
            generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }
}

/// Where a report goes; computes chart paths in one place.
pub struct Out {
    pub dir: PathBuf,
    pub self_contained: bool,
}

impl Out {
    pub fn new(dir: &Path, self_contained: bool) -> Result<Out> {
        std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
        Ok(Out {
            dir: dir.to_path_buf(),
            self_contained,
        })
    }

    /// Draws a chart with `draw(path)` and returns how the page refers to it.
    pub fn chart(
        &self,
        name: &str,
        alt: &str,
        caption: &str,
        draw: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<Chart> {
        let file = format!("{}.png", sanitize(name));
        let path = self.dir.join(&file);
        crate::progress::stage(&format!("report: drawing {file}"));
        draw(&path)?;
        // `src` is only ever a sanitised file name or base64: the template marks it safe.
        let src = if self.self_contained {
            let bytes = std::fs::read(&path).map_err(|e| Error::output(&path, e))?;
            let _ = std::fs::remove_file(&path);
            format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            )
        } else {
            file
        };
        Ok(Chart {
            src,
            alt: alt.to_string(),
            caption: caption.to_string(),
        })
    }

    pub fn write_page(&self, template: &str, ctx: &impl Serialize) -> Result<PathBuf> {
        crate::progress::stage("report: writing the page");
        let html = render(template, ctx)?;
        let path = self.dir.join("index.html");
        std::fs::write(&path, html).map_err(|e| Error::output(&path, e))?;
        Ok(path)
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .chars()
        .take(80)
        .collect()
}

const TEMPLATES: [(&str, &str); 6] = [
    ("base.html", include_str!("../../reports/base.html")),
    ("macros.html", include_str!("../../reports/macros.html")),
    ("run.html", include_str!("../../reports/run.html")),
    ("compare.html", include_str!("../../reports/compare.html")),
    ("period.html", include_str!("../../reports/period.html")),
    ("empty.html", "{% extends \"base.html\" %}"),
];

pub fn render(template: &str, ctx: &impl Serialize) -> Result<String> {
    let mut env = minijinja::Environment::new();
    for (name, src) in TEMPLATES {
        env.add_template(name, src)
            .map_err(|e| Error::Internal(format!("template {name}: {e}")))?;
    }
    env.get_template(template)
        .and_then(|t| t.render(ctx))
        .map_err(|e| Error::Internal(format!("rendering {template}: {e}")))
}

/// Provenance rows for runs: id, time, tool, labels, source files with their digests.
pub fn provenance(wh: &Warehouse, runs: &[i64]) -> Result<Vec<Provenance>> {
    Ok(wh
        .run_headers(runs)?
        .into_iter()
        .map(|h| Provenance {
            id: h.id,
            started_at: crate::time::display_opt(h.started_at),
            tool: h.tool,
            labels: h
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            sources: h
                .sources
                .iter()
                .map(|s| format!("{} ({})", s.path, s.digest))
                .collect::<Vec<_>>()
                .join("; "),
        })
        .collect())
}
