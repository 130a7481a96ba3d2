-- One counter per user, bumped in the same transaction as every change to
-- that user's tasks. Reading it is far cheaper than reading the list, so a
-- replica can keep lists in memory and check them against it (tasks.ListCache).
-- A trigger, not the store's statements, bumps it, so that writes by any
-- binary (an older replica during a rolling update, too) keep caches honest.
CREATE TABLE task_list_versions (
    user_id TEXT   PRIMARY KEY,
    version BIGINT NOT NULL
);

CREATE FUNCTION bump_task_list_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO task_list_versions AS v (user_id, version) VALUES (OLD.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET version = v.version + 1;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
        INSERT INTO task_list_versions AS v (user_id, version) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET version = v.version + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_bump_list_version
    AFTER INSERT OR UPDATE OR DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION bump_task_list_version();
