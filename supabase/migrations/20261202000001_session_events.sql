-- whatsapp_session_events: the history of every WhatsApp session, one row
-- per write that changed a whatsapp_sessions row.
--
-- Triggers on whatsapp_sessions write it in the same transaction as the
-- change, so no writer (the gateway, the dashboard, SQL, a migration) can
-- change a session without leaving an entry, and a rolled-back change
-- leaves none. The gateway says who is writing through the request headers
-- PostgREST hands to the database (request.headers): X-Gateway-Source and
-- X-Request-ID. A write that does not come through the gateway is "other".
-- There is no foreign key to whatsapp_sessions: the history of a deleted
-- session outlives it.

create table if not exists public.whatsapp_session_events (
  id bigint generated always as identity primary key,
  whatsapp_session_id bigint not null,
  session_id text not null,
  sesion_id bigint,
  from_status text,
  to_status text,
  changes text[] not null default '{}',
  source text not null,
  request_id text,
  at timestamptz not null default now(),
  -- json, not jsonb: keys stay in column order, exactly as the Data API
  -- renders the row, so a reader can pass it on as the session itself.
  row_after json,
  constraint whatsapp_session_events_source_check
    check (source in ('create', 'webhook', 'patch', 'expiry', 'delete', 'other'))
);

-- The history of one session, in order; and the retention sweep by age.
create index if not exists whatsapp_session_events_session_idx
  on public.whatsapp_session_events (whatsapp_session_id, id);
create index if not exists whatsapp_session_events_at_idx
  on public.whatsapp_session_events (at);

-- Who is writing, as (source, request_id). The expiry function says so with
-- the transaction's whatsapp_sessions.write_source setting; the gateway
-- with the headers PostgREST passes as request.headers. Anything else, or a
-- source the gateway does not send, is "other" with no request id.
create or replace function public.whatsapp_session_write_context(out source text, out request_id text)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_headers json;
begin
  source := nullif(pg_catalog.current_setting('whatsapp_sessions.write_source', true), '');
  if source is not null then
    request_id := null;
    return;
  end if;
  begin
    v_headers := nullif(pg_catalog.current_setting('request.headers', true), '')::json;
  exception when invalid_text_representation then
    v_headers := null; -- not JSON: not PostgREST, so not the gateway
  end;
  source := v_headers ->> 'x-gateway-source';
  if source is null or source not in ('create', 'webhook', 'patch', 'delete') then
    source := 'other';
    request_id := null;
    return;
  end if;
  request_id := pg_catalog.left(v_headers ->> 'x-request-id', 128);
end
$$;

-- One entry per changed row. An UPDATE that changes nothing but
-- updated_at (which the database moves on every write) is no change and
-- leaves no entry. changes lists the columns the write set (an insert: its
-- non-null columns; a delete: none), in column order.
create or replace function public.whatsapp_sessions_record_event()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_source text;
  v_request_id text;
  v_changes text[];
begin
  if tg_op = 'INSERT' then
    select coalesce(pg_catalog.array_agg(n.key order by n.ord), '{}') into v_changes
    from pg_catalog.json_each(pg_catalog.to_json(new)) with ordinality n(key, value, ord)
    where n.key <> 'updated_at' and pg_catalog.json_typeof(n.value) <> 'null';
  elsif tg_op = 'UPDATE' then
    select coalesce(pg_catalog.array_agg(n.key order by n.ord), '{}') into v_changes
    from pg_catalog.json_each(pg_catalog.to_json(new)) with ordinality n(key, value, ord)
    join pg_catalog.json_each(pg_catalog.to_json(old)) o(key, value) on o.key = n.key
    where n.key <> 'updated_at' and n.value::text is distinct from o.value::text;
    if pg_catalog.cardinality(v_changes) = 0 then
      return null;
    end if;
  else
    v_changes := '{}';
  end if;

  select c.source, c.request_id into v_source, v_request_id
  from public.whatsapp_session_write_context() c;

  if tg_op = 'DELETE' then
    insert into public.whatsapp_session_events
      (whatsapp_session_id, session_id, sesion_id, from_status, to_status, changes, source, request_id, row_after)
    values
      (old.id, old.session_id, old.sesion_id, old.status, null, v_changes, v_source, v_request_id, null);
  else
    insert into public.whatsapp_session_events
      (whatsapp_session_id, session_id, sesion_id, from_status, to_status, changes, source, request_id, row_after)
    values
      (new.id, new.session_id, new.sesion_id,
       case when tg_op = 'UPDATE' then old.status end,
       new.status, v_changes, v_source, v_request_id, pg_catalog.to_json(new));
  end if;
  return null;
end
$$;

-- TRUNCATE fires no row triggers; before the rows go, each gets its
-- closing entry, as a DELETE would give it.
create or replace function public.whatsapp_sessions_record_truncate()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_source text;
  v_request_id text;
begin
  select c.source, c.request_id into v_source, v_request_id
  from public.whatsapp_session_write_context() c;
  insert into public.whatsapp_session_events
    (whatsapp_session_id, session_id, sesion_id, from_status, to_status, changes, source, request_id, row_after)
  select s.id, s.session_id, s.sesion_id, s.status, null, '{}', v_source, v_request_id, null
  from public.whatsapp_sessions s
  order by s.id;
  return null;
end
$$;

drop trigger if exists whatsapp_sessions_record_event on public.whatsapp_sessions;
create trigger whatsapp_sessions_record_event
  after insert or update or delete on public.whatsapp_sessions
  for each row execute function public.whatsapp_sessions_record_event();

drop trigger if exists whatsapp_sessions_record_truncate on public.whatsapp_sessions;
create trigger whatsapp_sessions_record_truncate
  before truncate on public.whatsapp_sessions
  for each statement execute function public.whatsapp_sessions_record_truncate();

-- GET /api/whatsapp_sessions/{id}/history: the entries of one session,
-- oldest first, served through RPC so the Data API's filters, order and
-- paging apply to it. A session that never existed (no row, no entry) is
-- SQLSTATE PT404, which PostgREST answers with HTTP 404. row_after is the
-- live stream's, not part of the history.
create or replace function public.whatsapp_session_history(p_id bigint)
returns table (
  id bigint,
  whatsapp_session_id bigint,
  session_id text,
  from_status text,
  to_status text,
  changes text[],
  source text,
  request_id text,
  at timestamptz
)
language plpgsql
stable
set search_path = ''
as $$
begin
  if not exists (select 1 from public.whatsapp_session_events e where e.whatsapp_session_id = p_id)
     and not exists (select 1 from public.whatsapp_sessions s where s.id = p_id) then
    raise sqlstate 'PT404'
      using message = pg_catalog.format('no WhatsApp session with id %s', p_id),
            hint = 'not_found';
  end if;
  return query
    select e.id, e.whatsapp_session_id, e.session_id, e.from_status, e.to_status,
           e.changes, e.source, e.request_id, e.at
    from public.whatsapp_session_events e
    where e.whatsapp_session_id = p_id
    order by e.id;
end
$$;

-- Only the secret (service-role) key reaches the history, like the sessions.
alter table public.whatsapp_session_events enable row level security;

revoke all on function public.whatsapp_session_write_context() from public;
revoke all on function public.whatsapp_sessions_record_event() from public;
revoke all on function public.whatsapp_sessions_record_truncate() from public;
revoke all on function public.whatsapp_session_history(bigint) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      execute pg_catalog.format('revoke all on table public.whatsapp_session_events from %I', r);
      execute pg_catalog.format('revoke all on function public.whatsapp_session_write_context() from %I', r);
      execute pg_catalog.format('revoke all on function public.whatsapp_sessions_record_event() from %I', r);
      execute pg_catalog.format('revoke all on function public.whatsapp_sessions_record_truncate() from %I', r);
      execute pg_catalog.format('revoke all on function public.whatsapp_session_history(bigint) from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    -- Read only: entries are written by the triggers and removed by the
    -- retention function, never by a client.
    grant select on table public.whatsapp_session_events to service_role;
    grant execute on function public.whatsapp_session_history(bigint) to service_role;
    grant execute on function public.whatsapp_session_write_context() to service_role;
  end if;
end
$$;

comment on table public.whatsapp_session_events is
  'History of every WhatsApp session: one row per write that changed a whatsapp_sessions row, written by its triggers in the same transaction. Kept after the session is deleted; older rows are pruned after HISTORY_RETENTION. Reachable only with the secret (service-role) key.';
comment on column public.whatsapp_session_events.id is
  'Order of the entries: increasing.';
comment on column public.whatsapp_session_events.whatsapp_session_id is
  'whatsapp_sessions.id of the session written (no foreign key: the history outlives the session).';
comment on column public.whatsapp_session_events.session_id is
  'The orchestrator''s session_id of that session.';
comment on column public.whatsapp_session_events.sesion_id is
  'The sesiones row the session belonged to after the write (before it, for a delete).';
comment on column public.whatsapp_session_events.from_status is
  'Status before the write; null for the insert.';
comment on column public.whatsapp_session_events.to_status is
  'Status after the write; null for the delete.';
comment on column public.whatsapp_session_events.changes is
  'Columns the write changed, in column order (an insert: its non-null columns; a delete: none). updated_at, which every write moves, is not listed.';
comment on column public.whatsapp_session_events.source is
  'Who wrote: create, webhook, patch, delete (the gateway''s routes), expiry (the pending-expiry sweep) or other (anything outside the gateway: dashboard, SQL, migrations).';
comment on column public.whatsapp_session_events.request_id is
  'The gateway''s X-Request-ID of the write; null when it did not come through the gateway.';
comment on column public.whatsapp_session_events.at is
  'When the writing transaction started.';
comment on column public.whatsapp_session_events.row_after is
  'The whatsapp_sessions row after the write, as the Data API renders it (null for a delete); the live status stream sends it.';
comment on function public.whatsapp_session_write_context() is
  'Who is writing whatsapp_sessions in this transaction: the whatsapp_sessions.write_source setting, else the gateway''s X-Gateway-Source and X-Request-ID from request.headers, else other.';
comment on function public.whatsapp_sessions_record_event() is
  'Trigger: writes one whatsapp_session_events row for each inserted, changed or deleted whatsapp_sessions row.';
comment on function public.whatsapp_sessions_record_truncate() is
  'Trigger: before whatsapp_sessions is truncated, writes the closing whatsapp_session_events row of each session.';
comment on function public.whatsapp_session_history(bigint) is
  'History of the WhatsApp session p_id, oldest first; SQLSTATE PT404 (HTTP 404) when no such session ever existed.';

notify pgrst, 'reload schema';
