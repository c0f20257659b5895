//! `perfledger annotate (--at TIME | --run ID) [--kind deploy|config|ack] TEXT`.

use chrono::NaiveDateTime;

use crate::cli::{AnnotateArgs, AnnotationKind as KindArg};
use crate::error::{Error, Result};
use crate::output::emit;
use crate::store::meta::AnnotationKind;
use crate::store::Location;
use crate::store::Warehouse;

pub struct Request {
    pub at: Option<NaiveDateTime>,
    pub run: Option<i64>,
    pub kind: AnnotationKind,
    pub text: String,
}

impl TryFrom<&AnnotateArgs> for Request {
    type Error = Error;
    fn try_from(a: &AnnotateArgs) -> Result<Self> {
        if a.text.trim().is_empty() {
            return Err(Error::Usage("the annotation text is empty".into()));
        }
        Ok(Request {
            at: super::opt_time("--at", a.at.as_deref())?,
            run: a.run,
            kind: match a.kind {
                KindArg::Deploy => AnnotationKind::Deploy,
                KindArg::Config => AnnotationKind::Config,
                KindArg::Ack => AnnotationKind::Ack,
            },
            text: a.text.clone(),
        })
    }
}

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    let mut wh = Warehouse::open_write_synced(loc)?;
    let id = wh.annotate(r.at, r.run, r.kind, &r.text)?;
    emit(&format!("annotation {id} ({}) recorded\n", r.kind.as_str()))
}
