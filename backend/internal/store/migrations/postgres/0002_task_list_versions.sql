-- A version per user, replaced in the same transaction as every change to
-- that user's tasks. Reading it is far cheaper than reading the list, so a
-- replica can keep lists in memory and check them against it (tasks.ListCache).
-- A trigger, not the store's statements, sets it, so that writes by any
-- binary (an older replica during a rolling update, too) keep caches honest.
-- Versions are random rather than counted: a database recreated or restored
-- under running replicas must not repeat a version they hold another list for.
CREATE TABLE task_list_versions (
    user_id TEXT   PRIMARY KEY,
    version BIGINT NOT NULL
);

CREATE FUNCTION new_task_list_version(uid TEXT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO task_list_versions (user_id, version) VALUES (uid, (random() * 9007199254740991)::bigint)
    ON CONFLICT (user_id) DO UPDATE SET version = EXCLUDED.version;
$$;

CREATE FUNCTION tasks_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM new_task_list_version(OLD.user_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
        PERFORM new_task_list_version(NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_new_list_version
    AFTER INSERT OR UPDATE OR DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_changed();
