-- Per-user ownership of WhatsApp sessions (docs/api.md, "Who may call
-- what"). The owner lives in a column of the project's own sesiones table,
-- named by the gateway's SESIONES_OWNER_COLUMN; this file does not add one,
-- because a project's sesiones is its own to shape. A session belongs to
-- whoever owns its sesiones row; a session with no sesion_id yet belongs to
-- nobody.
--
-- Reads are scoped by the Data API itself (an inner embed of sesiones with
-- a filter on the owner column). Writes go through the functions below, so
-- that ownership is decided in the same transaction as the write: the
-- session row is locked, its sesión is checked (and share-locked, so its
-- owner cannot change before the write commits), then the write happens. A
-- refused write raises SQLSTATE PT404, which the Data API answers as 404,
-- and changes nothing: the same answer as for a row that does not exist, so
-- other users' ids cannot be probed.
--
-- The owner column's name reaches SQL only through format('%I'), after it
-- was checked to be a uuid or text column of sesiones.

-- The start-up check of the gateway: the type of sesiones.<p_column>, or
-- null when there is no such column.
create or replace function public.whatsapp_sessions_owner_column_type(p_column text)
returns text
language sql
stable
set search_path = ''
as $$
  select pg_catalog.format_type(a.atttypid, null)
  from pg_catalog.pg_attribute a
  where a.attrelid = 'public.sesiones'::pg_catalog.regclass
    and a.attname = p_column
    and a.attnum > 0
    and not a.attisdropped
$$;

-- Refuses an owner column that is missing or cannot hold a user id, before
-- its name is used in dynamic SQL.
create or replace function public.whatsapp_sessions_check_owner_column(p_column text)
returns void
language plpgsql
stable
set search_path = ''
as $$
declare
  v_type text := public.whatsapp_sessions_owner_column_type(p_column);
begin
  if v_type is null or v_type not in ('uuid', 'text', 'character varying') then
    raise invalid_parameter_value
      using message = pg_catalog.format('sesiones.%I is not a uuid or text column', p_column);
  end if;
end
$$;

-- Whether sesiones row p_sesion_id exists and belongs to p_owner, locking it
-- FOR SHARE when it does: neither its owner nor its existence can change
-- before the caller's transaction ends.
create or replace function public.whatsapp_sessions_sesion_owned(p_sesion_id bigint, p_column text, p_owner text)
returns boolean
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_owned boolean;
begin
  perform public.whatsapp_sessions_check_owner_column(p_column);
  if p_sesion_id is null or p_owner is null then
    return false;
  end if;
  execute pg_catalog.format(
    'select true from public.sesiones where id = $1 and %I::text = $2 for share', p_column)
    into v_owned
    using p_sesion_id, p_owner;
  return coalesce(v_owned, false);
end
$$;

-- The row p_id, locked FOR UPDATE, when it is linked to a sesión owned by
-- p_owner; otherwise PT404 (no such row, unlinked, or someone else's).
create or replace function public.whatsapp_sessions_lock_owned(p_id bigint, p_column text, p_owner text)
returns public.whatsapp_sessions
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_row public.whatsapp_sessions;
begin
  select * into v_row from public.whatsapp_sessions where id = p_id for update;
  if not found or not public.whatsapp_sessions_sesion_owned(v_row.sesion_id, p_column, p_owner) then
    raise sqlstate 'PT404' using message = 'no WhatsApp session with this id', hint = 'not_found';
  end if;
  return v_row;
end
$$;

-- PATCH /api/whatsapp_sessions/{id} for a user: p_patch holds the columns
-- to change (present keys only; a JSON null clears). Returns the row.
create or replace function public.update_owned_whatsapp_session(
  p_id bigint, p_patch jsonb, p_owner_column text, p_owner text)
returns json
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_row public.whatsapp_sessions := public.whatsapp_sessions_lock_owned(p_id, p_owner_column, p_owner);
begin
  update public.whatsapp_sessions
  set status = case when p_patch ? 'status' then p_patch->>'status' else status end,
      phone_number = case when p_patch ? 'phone_number' then p_patch->>'phone_number' else phone_number end,
      last_seen = case when p_patch ? 'last_seen' then (p_patch->>'last_seen')::timestamptz else last_seen end,
      auth_folder_path = case when p_patch ? 'auth_folder_path' then p_patch->>'auth_folder_path' else auth_folder_path end,
      server_port = case when p_patch ? 'server_port' then (p_patch->>'server_port')::integer else server_port end,
      whatsapp_user_id = case when p_patch ? 'whatsapp_user_id' then p_patch->>'whatsapp_user_id' else whatsapp_user_id end
  where id = v_row.id
  returning * into v_row;
  return pg_catalog.to_json(v_row);
end
$$;

-- DELETE /api/whatsapp_sessions/{id} for a user. Returns the deleted row.
create or replace function public.delete_owned_whatsapp_session(
  p_id bigint, p_owner_column text, p_owner text)
returns json
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_row public.whatsapp_sessions := public.whatsapp_sessions_lock_owned(p_id, p_owner_column, p_owner);
begin
  delete from public.whatsapp_sessions where id = v_row.id returning * into v_row;
  return pg_catalog.to_json(v_row);
end
$$;

-- POST /api/whatsapp_sessions, now with an optional owner: when
-- p_owner_column is given, the sesión must belong to p_owner, and one that
-- does not is refused exactly like one that does not exist (23503).
-- Otherwise as in 20261126000004_session_functions.sql.
drop function if exists public.create_whatsapp_session(text, bigint);
create or replace function public.create_whatsapp_session(
  p_session_id text, p_sesion_id bigint, p_owner_column text default null, p_owner text default null)
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

  if p_owner_column is not null then
    if not public.whatsapp_sessions_sesion_owned(p_sesion_id, p_owner_column, p_owner) then
      raise foreign_key_violation
        using message = pg_catalog.format('sesion_id %s does not exist', p_sesion_id);
    end if;
  else
    -- The same lock a foreign key check takes: the sesión cannot be deleted
    -- before this transaction ends, and the existence check below holds.
    perform 1 from public.sesiones where id = p_sesion_id for key share;
    if not found then
      raise foreign_key_violation
        using message = pg_catalog.format('sesion_id %s does not exist', p_sesion_id);
    end if;
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

-- Only the gateway (service_role) may call them; see 20261126000004 for why
-- anon and authenticated are revoked by name.
do $$
declare
  f text;
  r text;
begin
  foreach f in array array[
    'public.whatsapp_sessions_owner_column_type(text)',
    'public.whatsapp_sessions_check_owner_column(text)',
    'public.whatsapp_sessions_sesion_owned(bigint, text, text)',
    'public.whatsapp_sessions_lock_owned(bigint, text, text)',
    'public.update_owned_whatsapp_session(bigint, jsonb, text, text)',
    'public.delete_owned_whatsapp_session(bigint, text, text)',
    'public.create_whatsapp_session(text, bigint, text, text)'
  ] loop
    execute pg_catalog.format('revoke all on function %s from public', f);
    foreach r in array array['anon', 'authenticated'] loop
      if exists (select 1 from pg_catalog.pg_roles where rolname = r) then
        execute pg_catalog.format('revoke all on function %s from %I', f, r);
      end if;
    end loop;
    if exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
      execute pg_catalog.format('grant execute on function %s to service_role', f);
    end if;
  end loop;
end
$$;

comment on function public.whatsapp_sessions_owner_column_type(text) is
  'The type of sesiones.<p_column>, or null when there is no such column; the gateway checks SESIONES_OWNER_COLUMN with it at start-up.';
comment on function public.whatsapp_sessions_check_owner_column(text) is
  'Raises 22023 unless sesiones.<p_column> exists and is uuid or text; run before the name is used in dynamic SQL.';
comment on function public.whatsapp_sessions_sesion_owned(bigint, text, text) is
  'Whether sesiones row p_sesion_id belongs to p_owner (by column p_column), share-locking it when it does.';
comment on function public.whatsapp_sessions_lock_owned(bigint, text, text) is
  'Locks and returns WhatsApp session p_id when its sesión belongs to p_owner; raises PT404 otherwise.';
comment on function public.update_owned_whatsapp_session(bigint, jsonb, text, text) is
  'Applies p_patch to WhatsApp session p_id when its sesión belongs to p_owner, in one transaction; PT404 otherwise. Returns the row.';
comment on function public.delete_owned_whatsapp_session(bigint, text, text) is
  'Deletes WhatsApp session p_id when its sesión belongs to p_owner, in one transaction; PT404 otherwise. Returns the deleted row.';
comment on function public.create_whatsapp_session(text, bigint, text, text) is
  'Creates the WhatsApp session p_session_id for sesiones row p_sesion_id, or links the row the orchestrator''s webhook created first (activating the sesión when it is connected). With p_owner_column, the sesión must belong to p_owner (23503 otherwise, as for a missing sesión). Returns {"outcome": "created"|"linked", "session": row}.';

notify pgrst, 'reload schema';
