//! A small HTTP shop service backed by PostgreSQL, the system under test of the `fixtures/quarter`
//! captures (`fixtures/capture/capture_quarter.sh`: a quarter of nightly k6 and Locust runs) and
//! of a live test of `perfledger exec`.
//!
//! ```text
//! cargo build --release --example shop_service
//! shop_service --dsn 'host=127.0.0.1 port=5432 user=postgres dbname=postgres' --init
//! shop_service --dsn '...' [--port 0] [--pool 4] [--config FILE]
//! ```
//!
//! `--init` (re)creates the schema and exits: `items` (200,000 deterministic rows, ~30 MB: codes
//! `C000001`..`C200000` in a permuted order, 12 categories, a btree index `items_code` on
//! `code`), an empty `orders`, then ANALYZE. Without `--init` it serves HTTP/1.1 (keep-alive,
//! one thread per connection) on 127.0.0.1 only (`--port 0`: a free port) and prints
//! `listening on 127.0.0.1:PORT` as its first line of stdout. Requests wait for one of `--pool`
//! database connections (so `pg_stat_activity` shows active and idle client sessions under load).
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /api/items/{id}` | one item by primary key (404 if none) |
//! | `GET /api/search?code=C` | items by code: `code = $1` (`search = exact`, index scan on `items_code`) or `lower(code) = lower($1)` (`search = lower`: a Seq Scan, unless an index on `lower(code)` exists) |
//! | `POST /api/orders` | body `{"item": N, "qty": M}`: one order inserted, 201 `{"id": ...}` |
//! | `GET /api/report` | orders per item category (a join and a GROUP BY) |
//! | `GET /stats` | requests and errors (status >= 500) per endpoint since start |
//! | `GET /health` | 200, no database |
//! | `POST /admin/pool-check` | waits for every pool connection, runs `SELECT 1` on each: 200 `{"connections": N}` |
//!
//! `/admin/pool-check` is there for captures: PostgreSQL 15 writes a backend's cumulative
//! statistics (`pg_stat_database`, `pg_stat_user_tables`) at most once a second, and those of a
//! backend gone idle within a second of its last write only 10 s later. Called a second or
//! more after a run, it makes every connection's backend write what it still holds, so a
//! snapshot taken right after counts the whole run (`pg_stat_statements` needs no help).
//!
//! Anything else answers 404; database errors answer 500 (and count as errors). `--config FILE`
//! holds `key = value` lines: `search = exact|lower` and `delay_ms = N` (extra application delay
//! of each `/api/` request, default 0). The file is re-read whenever its modification time or
//! size changes, so a capture script can change a running service between runs; a missing or
//! unreadable file means the defaults.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime};

use clap::Parser;
use postgres::{Client, NoTls, Statement};
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(about = "A small HTTP shop service backed by PostgreSQL (perfledger's fixtures)")]
struct Args {
    /// libpq-style connection string, e.g. "host=127.0.0.1 port=5432 user=postgres dbname=postgres".
    #[arg(long)]
    dsn: String,
    /// Port on 127.0.0.1 (0: a free port, printed on the first line).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Database connections the requests share.
    #[arg(long, default_value_t = 4)]
    pool: usize,
    /// `key = value` file (search = exact|lower, delay_ms = N), re-read when it changes.
    #[arg(long)]
    config: Option<PathBuf>,
    /// (Re)create and fill the tables, ANALYZE, then exit.
    #[arg(long)]
    init: bool,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// ---------------------------------------------------------------------------------------------
// configuration, re-read when the file changes

#[derive(Debug, Clone, Copy, PartialEq)]
enum Search {
    Exact,
    Lower,
}

#[derive(Debug, Clone, Copy)]
struct Config {
    search: Search,
    delay_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            search: Search::Exact,
            delay_ms: 0,
        }
    }
}

fn parse_config(text: &str) -> Config {
    let mut c = Config::default();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match (k.trim(), v.trim()) {
            ("search", "lower") => c.search = Search::Lower,
            ("search", _) => c.search = Search::Exact,
            ("delay_ms", n) => c.delay_ms = n.parse().unwrap_or(0),
            _ => {}
        }
    }
    c
}

struct ConfigFile {
    path: Option<PathBuf>,
    /// (modification time, size) of the last read, and what it said
    state: Mutex<(Option<(SystemTime, u64)>, Config)>,
}

impl ConfigFile {
    fn current(&self) -> Config {
        let Some(path) = &self.path else {
            return Config::default();
        };
        let key = std::fs::metadata(path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        let mut st = lock(&self.state);
        if st.0 != key || key.is_none() {
            let cfg = std::fs::read_to_string(path)
                .map(|t| parse_config(&t))
                .unwrap_or_default();
            if st.1.search != cfg.search || st.1.delay_ms != cfg.delay_ms {
                eprintln!(
                    "config: search = {:?}, delay_ms = {}",
                    cfg.search, cfg.delay_ms
                );
            }
            *st = (key, cfg);
        }
        st.1
    }
}

/// A poisoned lock only means another request panicked: its data is still counters and clients.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// the connection pool

struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    fn prepared(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

struct Pool {
    dsn: String,
    size: usize,
    idle: Mutex<Vec<Conn>>,
    freed: Condvar,
}

impl Pool {
    fn connect(dsn: &str) -> Result<Conn, postgres::Error> {
        Ok(Conn {
            client: Client::connect(dsn, NoTls)?,
            statements: HashMap::new(),
        })
    }

    fn new(dsn: &str, size: usize) -> Result<Pool, postgres::Error> {
        let conns = (0..size.max(1))
            .map(|_| Pool::connect(dsn))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pool {
            dsn: dsn.to_string(),
            size: conns.len(),
            idle: Mutex::new(conns),
            freed: Condvar::new(),
        })
    }

    /// Waits until every connection is idle, runs `SELECT 1` on each, returns how many.
    fn check_all(&self) -> Result<usize, BoxError> {
        let mut idle = lock(&self.idle);
        while idle.len() < self.size {
            idle = self
                .freed
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let mut n = 0;
        let mut first_error = None;
        for c in idle.iter_mut() {
            match c.client.simple_query("SELECT 1") {
                Ok(_) => n += 1,
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        drop(idle);
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(n),
        }
    }

    /// Waits for a free connection.
    fn get(&self) -> Pooled<'_> {
        let mut idle = lock(&self.idle);
        loop {
            if let Some(c) = idle.pop() {
                return Pooled {
                    pool: self,
                    conn: Some(c),
                };
            }
            idle = self
                .freed
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A connection taken from the pool, returned when dropped (a broken one is replaced).
struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
}

impl Pooled<'_> {
    fn conn(&mut self) -> Result<&mut Conn, BoxError> {
        self.conn.as_mut().ok_or_else(|| "no connection".into())
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(mut c) = self.conn.take() else {
            return;
        };
        if c.client.is_closed() {
            match Pool::connect(&self.pool.dsn) {
                Ok(fresh) => c = fresh,
                Err(e) => {
                    eprintln!("reconnect failed: {e}");
                    // the pool keeps the broken client: the next request answers 500 and tries again
                }
            }
        }
        lock(&self.pool.idle).push(c);
        // all: a pool check waits for every connection, requests for one
        self.pool.freed.notify_all();
    }
}

// ---------------------------------------------------------------------------------------------
// the endpoints

const ITEM: &str = "SELECT id, code, name, price::float8, category FROM items WHERE id = $1";
const SEARCH_EXACT: &str =
    "SELECT id, code, name, price::float8, category FROM items WHERE code = $1";
const SEARCH_LOWER: &str =
    "SELECT id, code, name, price::float8, category FROM items WHERE lower(code) = lower($1)";
const ORDER: &str = "INSERT INTO orders(item_id, qty) VALUES ($1, $2) RETURNING id";
const REPORT: &str = "SELECT i.category, count(*), sum(o.qty) FROM orders o \
                      JOIN items i ON i.id = o.item_id GROUP BY i.category";

/// Endpoint names of /stats, in the load scripts' naming.
const ENDPOINTS: [&str; 8] = [
    "GET /api/items/{id}",
    "GET /api/search",
    "POST /api/orders",
    "GET /api/report",
    "GET /stats",
    "GET /health",
    "POST /admin/pool-check",
    "not found",
];

#[derive(Default, Clone, Copy)]
struct Counts {
    requests: u64,
    errors: u64,
}

struct App {
    pool: Pool,
    config: ConfigFile,
    stats: Mutex<BTreeMap<&'static str, Counts>>,
    started: SystemTime,
}

struct Request {
    method: String,
    target: String,
    body: Vec<u8>,
}

struct Response {
    status: u16,
    body: Value,
}

fn reply(status: u16, body: Value) -> Response {
    Response { status, body }
}

fn item_json(r: &postgres::Row) -> Result<Value, postgres::Error> {
    Ok(json!({
        "id": r.try_get::<_, i32>(0)?,
        "code": r.try_get::<_, String>(1)?,
        "name": r.try_get::<_, Option<String>>(2)?,
        "price": r.try_get::<_, Option<f64>>(3)?,
        "category": r.try_get::<_, Option<String>>(4)?,
    }))
}

/// The value of `key` in a query string, percent-decoded.
fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl App {
    fn count(&self, endpoint: &'static str, status: u16) {
        let mut s = lock(&self.stats);
        let c = s.entry(endpoint).or_default();
        c.requests += 1;
        if status >= 500 {
            c.errors += 1;
        }
    }

    fn handle(&self, req: &Request) -> Response {
        let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
        let endpoint = match (req.method.as_str(), path) {
            ("GET", "/health") => "GET /health",
            ("GET", "/stats") => "GET /stats",
            ("GET", "/api/search") => "GET /api/search",
            ("POST", "/api/orders") => "POST /api/orders",
            ("GET", "/api/report") => "GET /api/report",
            ("POST", "/admin/pool-check") => "POST /admin/pool-check",
            ("GET", p) if p.starts_with("/api/items/") => "GET /api/items/{id}",
            _ => "not found",
        };
        let resp = match endpoint {
            "GET /health" => reply(200, json!({"ok": true})),
            "GET /stats" => self.stats_json(),
            "not found" => reply(404, json!({"error": "not found"})),
            "POST /admin/pool-check" => match self.pool.check_all() {
                Ok(n) => reply(200, json!({"connections": n})),
                Err(e) => {
                    eprintln!("pool check: {e}");
                    reply(500, json!({"error": e.to_string()}))
                }
            },
            _ => {
                let cfg = self.config.current();
                if cfg.delay_ms > 0 {
                    thread::sleep(Duration::from_millis(cfg.delay_ms));
                }
                match self.api(endpoint, path, query, &req.body, cfg) {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("{endpoint}: {e}");
                        reply(500, json!({"error": e.to_string()}))
                    }
                }
            }
        };
        self.count(endpoint, resp.status);
        resp
    }

    fn api(
        &self,
        endpoint: &str,
        path: &str,
        query: &str,
        body: &[u8],
        cfg: Config,
    ) -> Result<Response, BoxError> {
        match endpoint {
            "GET /api/items/{id}" => {
                let Ok(id) = path["/api/items/".len()..].parse::<i32>() else {
                    return Ok(reply(404, json!({"error": "no such item"})));
                };
                let mut pooled = self.pool.get();
                let c = pooled.conn()?;
                let st = c.prepared(ITEM)?;
                match c.client.query_opt(&st, &[&id])? {
                    Some(row) => Ok(reply(200, item_json(&row)?)),
                    None => Ok(reply(404, json!({"error": "no such item"}))),
                }
            }
            "GET /api/search" => {
                let Some(code) = query_param(query, "code") else {
                    return Ok(reply(400, json!({"error": "expected ?code="})));
                };
                let sql = match cfg.search {
                    Search::Exact => SEARCH_EXACT,
                    Search::Lower => SEARCH_LOWER,
                };
                let mut pooled = self.pool.get();
                let c = pooled.conn()?;
                let st = c.prepared(sql)?;
                let rows = c.client.query(&st, &[&code])?;
                let items = rows.iter().map(item_json).collect::<Result<Vec<_>, _>>()?;
                Ok(reply(200, json!({"items": items})))
            }
            "POST /api/orders" => {
                let v: Value = match serde_json::from_slice(body) {
                    Ok(v) => v,
                    Err(e) => return Ok(reply(400, json!({"error": e.to_string()}))),
                };
                let field = |k: &str| {
                    v.get(k)
                        .and_then(Value::as_i64)
                        .and_then(|n| i32::try_from(n).ok())
                };
                let (Some(item), Some(qty)) = (field("item"), field("qty")) else {
                    return Ok(reply(
                        400,
                        json!({"error": "expected {\"item\": N, \"qty\": M}"}),
                    ));
                };
                let mut pooled = self.pool.get();
                let c = pooled.conn()?;
                let st = c.prepared(ORDER)?;
                let row = c.client.query_one(&st, &[&item, &qty])?;
                Ok(reply(201, json!({"id": row.try_get::<_, i64>(0)?})))
            }
            "GET /api/report" => {
                let mut pooled = self.pool.get();
                let c = pooled.conn()?;
                let st = c.prepared(REPORT)?;
                let rows = c.client.query(&st, &[])?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(json!({
                        "category": r.try_get::<_, Option<String>>(0)?,
                        "orders": r.try_get::<_, i64>(1)?,
                        "qty": r.try_get::<_, Option<i64>>(2)?,
                    }));
                }
                Ok(reply(200, json!({"categories": out})))
            }
            _ => Ok(reply(404, json!({"error": "not found"}))),
        }
    }

    fn stats_json(&self) -> Response {
        let s = lock(&self.stats);
        let mut endpoints = serde_json::Map::new();
        for name in ENDPOINTS {
            let c = s.get(name).copied().unwrap_or_default();
            endpoints.insert(
                name.to_string(),
                json!({"requests": c.requests, "errors": c.errors}),
            );
        }
        let since = self
            .started
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        reply(200, json!({"since": since, "endpoints": endpoints}))
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        413 => "Payload Too Large",
        _ => "Internal Server Error",
    }
}

/// Reads one request; None at a clean end of the connection.
fn read_request(r: &mut BufReader<TcpStream>) -> io::Result<Option<(Request, bool)>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    if line.trim().is_empty() {
        // a stray CRLF between requests
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let version = parts.next().unwrap_or("HTTP/1.1").to_string();
    let mut keep_alive = version != "HTTP/1.0";
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                length = v
                    .parse()
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "content-length"))?;
            } else if k == "connection" {
                let v = v.to_ascii_lowercase();
                if v.contains("close") {
                    keep_alive = false;
                } else if v.contains("keep-alive") {
                    keep_alive = true;
                }
            }
        }
    }
    if length > 1 << 20 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "body too large"));
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body)?;
    Ok(Some((
        Request {
            method,
            target,
            body,
        },
        keep_alive,
    )))
}

fn write_response(w: &mut TcpStream, resp: &Response, keep_alive: bool) -> io::Result<()> {
    let body = resp.body.to_string();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
        resp.status,
        status_text(resp.status),
        body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    // one write per response (and no Nagle): no delayed-ACK stalls
    w.write_all(&out)
}

fn serve(app: &App, stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some((req, keep_alive)) = read_request(&mut reader)? {
        let resp = app.handle(&req);
        write_response(&mut writer, &resp, keep_alive)?;
        if !keep_alive {
            break;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// --init

const INIT: &str = "
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS items;
CREATE TABLE items (id int PRIMARY KEY, code text NOT NULL, name text, price numeric(10,2), category text);
-- codes C000001..C200000, a permutation of the ids (7919 is prime to 200000), so the code
-- index is not in heap order; names long enough for ~30 MB of heap
INSERT INTO items
SELECT g,
       'C' || lpad(((g::bigint * 7919) % 200000 + 1)::text, 6, '0'),
       'Item ' || g || ' ' || md5(g::text) || md5((g * 31)::text),
       ((g::bigint * 104729) % 100000) / 100.0 + 0.99,
       (ARRAY['books', 'music', 'garden', 'toys', 'kitchen', 'sports', 'office', 'pets',
              'tools', 'beauty', 'grocery', 'outdoor'])[1 + g % 12]
FROM generate_series(1, 200000) g;
CREATE INDEX items_code ON items (code);
CREATE TABLE orders (id bigserial PRIMARY KEY, item_id int, qty int, created_at timestamptz DEFAULT now());
ANALYZE items;
ANALYZE orders;
";

fn init(dsn: &str) -> Result<(), BoxError> {
    let mut c = Client::connect(dsn, NoTls)?;
    c.batch_execute(INIT)?;
    let row = c.query_one("SELECT count(*), pg_relation_size('items') FROM items", &[])?;
    println!(
        "init: items {} rows, {} bytes; orders empty; analyzed",
        row.try_get::<_, i64>(0)?,
        row.try_get::<_, i64>(1)?
    );
    Ok(())
}

fn run(args: &Args) -> Result<(), BoxError> {
    if args.init {
        return init(&args.dsn);
    }
    let app = Arc::new(App {
        pool: Pool::new(&args.dsn, args.pool)?,
        config: ConfigFile {
            path: args.config.clone(),
            state: Mutex::new((None, Config::default())),
        },
        stats: Mutex::new(BTreeMap::new()),
        started: SystemTime::now(),
    });
    let cfg = app.config.current();
    let listener = TcpListener::bind(("127.0.0.1", args.port))?;
    let addr = listener.local_addr()?;
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()?;
    drop(out);
    eprintln!(
        "pool {}, search = {:?}, delay_ms = {}",
        args.pool, cfg.search, cfg.delay_ms
    );
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let app = Arc::clone(&app);
        thread::spawn(move || {
            // a client that goes away mid-request is not the service's error
            let _ = serve(&app, stream);
        });
    }
    Ok(())
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("shop_service: {e}");
        std::process::exit(1);
    }
}
