-- perfledger's database-health export: one JSON object with pg_stat_statements,
-- pg_stat_database, client connections by state against max_connections and
-- pg_stat_replication, as `perfledger snapshot postgres` takes them live. For a server
-- perfledger cannot reach, or a snapshot taken by cron:
--   psql -XAtq -d "$DSN" -f pg_health_export.sql > snapshot-$(date +%s).json
--   perfledger import snapshot-*.json --server db1
-- Run it as a role with pg_read_all_stats, or other roles' statements and states are hidden.
-- PostgreSQL 14 or later (pg_stat_statements_info). With -v explain='SELECT ...' the export
-- also holds that statement's EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), run in a transaction
-- that is rolled back (ANALYZE executes the statement).
\if :{?explain}
CREATE FUNCTION pg_temp.perfledger_explain(q text) RETURNS json LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ' || q INTO plan;
  RETURN plan;
END $$;
BEGIN;
SELECT json_build_array(json_build_object('query', :'explain',
                                          'explain', pg_temp.perfledger_explain(:'explain')))
       AS plans \gset
ROLLBACK;
\else
\set plans '[]'
\endif
SELECT json_build_object(
  'perfledger_export', 'pg-health/1',
  'server', coalesce(host(inet_server_addr()), 'localhost') || ':' || current_setting('port')
            || '/' || current_database(),
  'taken_at', extract(epoch FROM clock_timestamp())::float8,
  'server_version', current_setting('server_version'),
  'stats_reset', (SELECT extract(epoch FROM stats_reset)::float8 FROM pg_stat_statements_info),
  'max_connections', current_setting('max_connections')::bigint,
  'pg_stat_statements', coalesce((SELECT json_agg(s) FROM pg_stat_statements s), '[]'),
  'pg_stat_database', coalesce((SELECT json_agg(d ORDER BY datname) FROM pg_stat_database d
                                WHERE datname IS NOT NULL), '[]'),
  -- client sessions by state, this export's own session left out (it is not the load);
  -- another role's session shows no backend_type without pg_read_all_stats
  'connections', coalesce((SELECT json_agg(c ORDER BY state) FROM (
      SELECT coalesce(state, 'unknown (no pg_read_all_stats)') AS state, count(*) AS count
      FROM pg_stat_activity
      WHERE (backend_type = 'client backend'
             OR (backend_type IS NULL AND datid IS NOT NULL AND usesysid IS NOT NULL))
        AND pid <> pg_backend_pid()
      GROUP BY 1) c), '[]'),
  'pg_stat_replication', coalesce((SELECT json_agg(r ORDER BY application_name) FROM (
      SELECT coalesce(application_name, '') AS application_name, client_addr::text AS client_addr,
             state, sync_state,
             (extract(epoch FROM write_lag) * 1000)::float8 AS write_lag_ms,
             (extract(epoch FROM flush_lag) * 1000)::float8 AS flush_lag_ms,
             (extract(epoch FROM replay_lag) * 1000)::float8 AS replay_lag_ms,
             pg_wal_lsn_diff(sent_lsn, replay_lsn)::bigint AS lag_bytes
      FROM pg_stat_replication) r), '[]'),
  'plans', :'plans'::json
);
