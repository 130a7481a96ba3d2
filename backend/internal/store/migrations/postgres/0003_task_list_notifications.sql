-- Every new list version is also announced (NOTIFY todo_task_list_versions,
-- the user's id), at commit and in commit order, so that replicas can trust
-- the listings they hold until told otherwise instead of checking the
-- version on every listing (store.DB.WatchTaskLists, tasks.ListCache).
CREATE OR REPLACE FUNCTION new_task_list_version(uid TEXT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO task_list_versions (user_id, version) VALUES (uid, (random() * 9007199254740991)::bigint)
    ON CONFLICT (user_id) DO UPDATE SET version = EXCLUDED.version;
    SELECT pg_notify('todo_task_list_versions', uid);
$$;
