//! A small HTTP service backed by PostgreSQL, for the live test of `perfledger exec` with a
//! real load tool (tests/live_resources.rs): a load tool's requests become queries, so the
//! run's load, its database health, its statements and its plans can be checked against each
//! other and against the service's own counts.
//!
//! `pg_service --dsn DSN [--pool 4] [--init]` binds 127.0.0.1 on a free port and prints
//! `listening on 127.0.0.1:PORT` first. HTTP/1.1 with keep-alive, a thread per connection, a
//! pool of database connections that requests wait for. `--init` (re)creates the tables
//! (items with 20,000 rows and an index on code, orders) before serving.
//!   GET  /api/items/{id}    SELECT ... FROM items WHERE id = $1
//!   GET  /api/search?code=C SELECT ... FROM items WHERE code = $1 (index items_code)
//!   POST /api/orders        INSERT INTO orders ... (body: {"item": N, "qty": M})
//!   GET  /stats             the service's own counts per endpoint {requests, errors}
//!   GET  /health            no database

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};

use postgres::{Client, NoTls};

type Counts = Mutex<BTreeMap<&'static str, (u64, u64)>>;

struct Pool {
    free: Mutex<Vec<Client>>,
    ready: Condvar,
}

impl Pool {
    fn with<T>(&self, f: impl FnOnce(&mut Client) -> T) -> T {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let mut c = loop {
            if let Some(c) = free.pop() {
                break c;
            }
            free = self.ready.wait(free).unwrap_or_else(|e| e.into_inner());
        };
        drop(free);
        let out = f(&mut c);
        self.free.lock().unwrap_or_else(|e| e.into_inner()).push(c);
        self.ready.notify_one();
        out
    }
}

const INIT: &str = "
DROP TABLE IF EXISTS orders, items;
CREATE TABLE items (id int PRIMARY KEY, code text NOT NULL, name text, price numeric(10,2), category text);
INSERT INTO items SELECT i, 'C' || lpad(i::text, 6, '0'), 'item ' || i, (i % 1000) / 10.0, 'cat' || (i % 12)
  FROM generate_series(1, 20000) i;
CREATE INDEX items_code ON items (code);
CREATE TABLE orders (id bigserial PRIMARY KEY, item_id int, qty int, created_at timestamptz DEFAULT now());
ANALYZE items;
";

/// (status, body) of one request.
fn answer(pool: &Pool, method: &str, path: &str, body: &str) -> (u16, String) {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let item = |r: &postgres::Row| {
        format!(
            "{{\"id\":{},\"code\":\"{}\",\"price\":{}}}",
            r.get::<_, i32>(0),
            r.get::<_, String>(1),
            r.get::<_, f64>(2)
        )
    };
    let db =
        |sql: &str, arg: &(dyn postgres::types::ToSql + Sync)| pool.with(|c| c.query(sql, &[arg]));
    let found = |rows: Result<Vec<postgres::Row>, postgres::Error>| match rows {
        Ok(rows) if rows.is_empty() => (404, "{}".to_string()),
        Ok(rows) => (200, rows.iter().map(item).collect::<Vec<_>>().join(",")),
        Err(e) => (500, format!("{{\"error\":\"{e}\"}}")),
    };
    match (method, route) {
        ("GET", "/health") => (200, "{}".into()),
        ("GET", r) if r.starts_with("/api/items/") => match r[11..].parse::<i32>() {
            Ok(id) => found(db(
                "SELECT id, code, price::float8 FROM items WHERE id = $1",
                &id,
            )),
            Err(_) => (404, "{}".into()),
        },
        ("GET", "/api/search") => {
            let code = query.strip_prefix("code=").unwrap_or("").to_string();
            found(db(
                "SELECT id, code, price::float8 FROM items WHERE code = $1",
                &code,
            ))
        }
        ("POST", "/api/orders") => {
            let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            let num = |k: &str| {
                v[k].as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .unwrap_or(1)
            };
            let (item, qty) = (num("item"), num("qty"));
            match pool.with(|c| {
                c.query_one(
                    "INSERT INTO orders (item_id, qty) VALUES ($1, $2) RETURNING id",
                    &[&item, &qty],
                )
            }) {
                Ok(r) => (201, format!("{{\"id\":{}}}", r.get::<_, i64>(0))),
                Err(e) => (500, format!("{{\"error\":\"{e}\"}}")),
            }
        }
        _ => (404, "{}".into()),
    }
}

fn endpoint(method: &str, path: &str) -> &'static str {
    let route = path.split('?').next().unwrap_or("");
    match (method, route) {
        ("GET", r) if r.starts_with("/api/items/") => "items",
        ("GET", "/api/search") => "search",
        ("POST", "/api/orders") => "orders",
        _ => "other",
    }
}

fn serve(stream: TcpStream, pool: &Pool, counts: &Counts) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut out = stream.try_clone()?;
    let mut rd = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if rd.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let (mut length, mut close) = (0usize, false);
        loop {
            let mut h = String::new();
            if rd.read_line(&mut h)? == 0 || h.trim().is_empty() {
                break;
            }
            let lower = h.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            close |= lower.starts_with("connection:") && lower.contains("close");
        }
        let mut body = vec![0; length];
        rd.read_exact(&mut body)?;
        let (status, text) = if path == "/stats" {
            let c = counts.lock().unwrap_or_else(|e| e.into_inner());
            let fields: Vec<String> = c
                .iter()
                .map(|(k, (n, e))| format!("\"{k}\":{{\"requests\":{n},\"errors\":{e}}}"))
                .collect();
            (200, format!("{{{}}}", fields.join(",")))
        } else {
            let (s, t) = answer(pool, &method, &path, &String::from_utf8_lossy(&body));
            let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
            let e = c.entry(endpoint(&method, &path)).or_insert((0, 0));
            e.0 += 1;
            e.1 += u64::from(s >= 500);
            (s, t)
        };
        // one write, no Nagle: a response in pieces waits for the client's delayed ACK
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        out.write_all(response.as_bytes())?;
        if close {
            return Ok(());
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let dsn = opt("--dsn").ok_or("--dsn DSN is required")?;
    let size: usize = opt("--pool").map_or(Ok(4), |p| p.parse())?;
    if args.iter().any(|a| a == "--init") {
        Client::connect(&dsn, NoTls)?.batch_execute(INIT)?;
    }
    let clients = (0..size)
        .map(|_| Client::connect(&dsn, NoTls))
        .collect::<Result<Vec<_>, _>>()?;
    let pool = Arc::new(Pool {
        free: Mutex::new(clients),
        ready: Condvar::new(),
    });
    let counts: Arc<Counts> = Arc::default();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    for stream in listener.incoming().flatten() {
        let (pool, counts) = (pool.clone(), counts.clone());
        std::thread::spawn(move || {
            let _ = serve(stream, &pool, &counts);
        });
    }
    Ok(())
}
