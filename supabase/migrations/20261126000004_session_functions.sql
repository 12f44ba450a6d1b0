-- The two writes the gateway makes through PostgREST RPC, each one
-- transaction, each correct at READ COMMITTED with any number of concurrent
-- callers. They never read and then write on what they read unlocked: a row
-- is either inserted with ON CONFLICT DO NOTHING or, when it exists, locked
-- with SELECT ... FOR UPDATE before it is looked at. If the conflicting row
-- disappears between the two statements (a concurrent delete) the loop
-- simply tries again.
--
-- Both run with the caller's privileges (service_role through the gateway;
-- it bypasses RLS) and return {"outcome": ..., "session": <row>}.

-- POST /api/whatsapp_sessions (docs/api.md).
--   created: no row had this session_id; one is inserted, status pending.
--   linked:  the orchestrator's connection arrived first (a row with no
--            sesion_id); it is linked, and if connected the sesiones row
--            becomes activo with the session's phone number.
-- Errors: 23503 when the sesiones row does not exist, 23505 when the
-- session_id is already linked to a sesión.
create or replace function public.create_whatsapp_session(p_session_id text, p_sesion_id bigint)
returns json
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_row public.whatsapp_sessions;
begin
  if p_sesion_id is null then
    raise not_null_violation using message = 'sesion_id is required';
  end if;

  -- The same lock a foreign key check takes: the sesión cannot be deleted
  -- before this transaction ends, and the existence check below holds.
  perform 1 from public.sesiones where id = p_sesion_id for key share;
  if not found then
    raise foreign_key_violation
      using message = pg_catalog.format('sesion_id %s does not exist', p_sesion_id);
  end if;

  loop
    insert into public.whatsapp_sessions (session_id, sesion_id)
    values (p_session_id, p_sesion_id)
    on conflict (session_id) do nothing
    returning * into v_row;
    if found then
      return pg_catalog.json_build_object('outcome', 'created', 'session', pg_catalog.to_json(v_row));
    end if;

    select * into v_row
    from public.whatsapp_sessions
    where session_id = p_session_id
    for update;
    exit when found;
  end loop;

  if v_row.sesion_id is not null then
    raise unique_violation
      using message = pg_catalog.format('session_id %s already exists', p_session_id);
  end if;

  update public.whatsapp_sessions
  set sesion_id = p_sesion_id
  where id = v_row.id
  returning * into v_row;

  if v_row.status = 'connected' then
    -- A null phone on the session does not erase one the sesión already has.
    update public.sesiones
    set estado = 'activo',
        phone_number = coalesce(v_row.phone_number, phone_number),
        updated_at = pg_catalog.now()
    where id = v_row.sesion_id;
  end if;

  return pg_catalog.json_build_object('outcome', 'linked', 'session', pg_catalog.to_json(v_row));
end
$$;

-- POST /api/whatsapp_sessions/new-session-connected, the orchestrator's
-- webhook (docs/api.md). A null status means connected, a null
-- last_seen means now; other null arguments keep what is stored.
--   early:     no row had this session_id; it is kept, unlinked, until the
--              frontend's create links it.
--   stale:     the report's last_seen is older than the stored one; nothing
--              changes, so a late delivery cannot roll the row back.
--   duplicate: the report would change nothing; nothing is written, not even
--              updated_at, so a redelivery is invisible.
--   applied:   the row is updated; the status change goes through the
--              transition trigger (SQLSTATE PT409 when forbidden).
-- When the row ends up linked and connected by an applied or early report,
-- its sesiones row becomes activo with the session's phone number.
create or replace function public.whatsapp_session_connected(
  p_session_id text,
  p_phone_number text default null,
  p_status text default 'connected',
  p_last_seen timestamptz default null,
  p_auth_folder_path text default null,
  p_server_port integer default null,
  p_whatsapp_user_id text default null
)
returns json
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_status text := coalesce(p_status, 'connected');
  v_last_seen timestamptz := coalesce(p_last_seen, pg_catalog.now());
  v_row public.whatsapp_sessions;
  v_outcome text;
begin
  loop
    insert into public.whatsapp_sessions
      (session_id, status, phone_number, last_seen, auth_folder_path, server_port, whatsapp_user_id)
    values
      (p_session_id, v_status, p_phone_number, v_last_seen, p_auth_folder_path, p_server_port, p_whatsapp_user_id)
    on conflict (session_id) do nothing
    returning * into v_row;
    if found then
      v_outcome := 'early';
      exit;
    end if;

    select * into v_row
    from public.whatsapp_sessions
    where session_id = p_session_id
    for update;
    exit when found;
  end loop;

  if v_outcome is null then
    if v_last_seen < v_row.last_seen then
      v_outcome := 'stale';
    elsif (v_status,
           coalesce(p_phone_number, v_row.phone_number),
           v_last_seen,
           coalesce(p_auth_folder_path, v_row.auth_folder_path),
           coalesce(p_server_port, v_row.server_port),
           coalesce(p_whatsapp_user_id, v_row.whatsapp_user_id))
          is not distinct from
          (v_row.status,
           v_row.phone_number,
           v_row.last_seen,
           v_row.auth_folder_path,
           v_row.server_port,
           v_row.whatsapp_user_id) then
      v_outcome := 'duplicate';
    else
      update public.whatsapp_sessions
      set status = v_status,
          phone_number = coalesce(p_phone_number, phone_number),
          last_seen = v_last_seen,
          auth_folder_path = coalesce(p_auth_folder_path, auth_folder_path),
          server_port = coalesce(p_server_port, server_port),
          whatsapp_user_id = coalesce(p_whatsapp_user_id, whatsapp_user_id)
      where id = v_row.id
      returning * into v_row;
      v_outcome := 'applied';
    end if;
  end if;

  if v_outcome in ('applied', 'early') and v_row.sesion_id is not null and v_row.status = 'connected' then
    -- A null phone on the session does not erase one the sesión already has.
    update public.sesiones
    set estado = 'activo',
        phone_number = coalesce(v_row.phone_number, phone_number),
        updated_at = pg_catalog.now()
    where id = v_row.sesion_id;
  end if;

  return pg_catalog.json_build_object('outcome', v_outcome, 'session', pg_catalog.to_json(v_row));
end
$$;

-- Only the gateway (service_role) may call them. Supabase grants execute on
-- new functions in public to anon and authenticated explicitly, so revoking
-- from public alone would leave them callable with the anon key.
revoke all on function public.create_whatsapp_session(text, bigint) from public;
revoke all on function public.whatsapp_session_connected(text, text, text, timestamptz, text, integer, text) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      execute pg_catalog.format('revoke all on function public.create_whatsapp_session(text, bigint) from %I', r);
      execute pg_catalog.format('revoke all on function public.whatsapp_session_connected(text, text, text, timestamptz, text, integer, text) from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    grant execute on function public.create_whatsapp_session(text, bigint) to service_role;
    grant execute on function public.whatsapp_session_connected(text, text, text, timestamptz, text, integer, text) to service_role;
  end if;
end
$$;

comment on function public.create_whatsapp_session(text, bigint) is
  'Creates the WhatsApp session p_session_id for sesiones row p_sesion_id, or links the row the orchestrator''s webhook created first (activating the sesión when it is connected). Returns {"outcome": "created"|"linked", "session": row}.';
comment on function public.whatsapp_session_connected(text, text, text, timestamptz, text, integer, text) is
  'Records a connection report from the WhatsApp orchestrator in one transaction and activates the linked sesión when connected. Returns {"outcome": "applied"|"duplicate"|"stale"|"early", "session": row}.';

-- A PostgREST that is already running learns about the new functions now
-- rather than at its next restart (Supabase does this by itself; on plain
-- PostgreSQL nobody may be listening, which is fine).
notify pgrst, 'reload schema';
