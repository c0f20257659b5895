//! A table of typed cells: what `perfledger sql` returns and what the list-like commands
//! (`runs`, `baseline list`, `show`) hand to the output layer. Numbers stay numbers until a
//! renderer formats them.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Datum {
    pub fn is_numeric(&self) -> bool {
        matches!(self, Datum::Int(_) | Datum::Float(_))
    }

    /// As JSON: numbers stay numbers, NULL (and a non-finite float) is null.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Datum::Null => J::Null,
            Datum::Bool(b) => J::Bool(*b),
            Datum::Int(i) => J::from(*i),
            Datum::Float(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
            Datum::Text(s) => J::String(s.clone()),
        }
    }

    /// As text for tables and CSV: floats with up to 6 significant decimals, NULL empty.
    pub fn text(&self) -> String {
        match self {
            Datum::Null => String::new(),
            Datum::Bool(b) => b.to_string(),
            Datum::Int(i) => i.to_string(),
            Datum::Float(x) => fmt_float(*x),
            Datum::Text(s) => s.clone(),
        }
    }
}

impl From<Option<f64>> for Datum {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Datum::Null, Datum::Float)
    }
}

impl From<Option<i64>> for Datum {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Datum::Null, Datum::Int)
    }
}

impl From<i64> for Datum {
    fn from(v: i64) -> Self {
        Datum::Int(v)
    }
}

impl From<Option<String>> for Datum {
    fn from(v: Option<String>) -> Self {
        v.map_or(Datum::Null, Datum::Text)
    }
}

impl From<String> for Datum {
    fn from(v: String) -> Self {
        Datum::Text(v)
    }
}

impl From<&str> for Datum {
    fn from(v: &str) -> Self {
        Datum::Text(v.to_string())
    }
}

impl From<bool> for Datum {
    fn from(v: bool) -> Self {
        Datum::Bool(v)
    }
}

/// Column names and rows of cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Datum>>,
}

impl Grid {
    pub fn new(columns: &[&str]) -> Grid {
        Grid {
            columns: columns
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Datum>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// JSON array of row objects.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(self.rows.iter().map(|r| self.row_json(r)).collect())
    }

    /// One row as a JSON object.
    pub fn row_json(&self, row: &[Datum]) -> serde_json::Value {
        serde_json::Value::Object(
            self.columns
                .iter()
                .cloned()
                .zip(row.iter().map(Datum::to_json))
                .collect(),
        )
    }
}

impl Serialize for Grid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// `v` rounded to `digits` significant digits (for figures read in a sentence or a title).
pub fn round_sig(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// A number as people read it: integers without a fraction, large values with 2 decimals,
/// small ones with up to 6 significant decimals.
pub fn fmt_float(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.0}")
    } else if x.abs() >= 100.0 {
        format!("{x:.2}")
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A value in the unit a person reads it in: a ratio as a percentage (`%`), others as stored.
pub fn displayed(unit: &str, v: f64) -> (f64, &str) {
    if unit == "ratio" {
        (v * 100.0, "%")
    } else {
        (v, unit)
    }
}
