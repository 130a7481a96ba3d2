-- A random version per user, replaced in the same transaction as every
-- change to that user's tasks (see the PostgreSQL migration of the same name).
CREATE TABLE task_list_versions (
    user_id TEXT    PRIMARY KEY,
    version INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER tasks_new_list_version_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_list_versions (user_id, version) VALUES (NEW.user_id, random())
    ON CONFLICT (user_id) DO UPDATE SET version = excluded.version;
END;

CREATE TRIGGER tasks_new_list_version_update AFTER UPDATE ON tasks BEGIN
    INSERT INTO task_list_versions (user_id, version) VALUES (OLD.user_id, random())
    ON CONFLICT (user_id) DO UPDATE SET version = excluded.version;
    INSERT INTO task_list_versions (user_id, version)
    SELECT NEW.user_id, random() WHERE NEW.user_id IS NOT OLD.user_id
    ON CONFLICT (user_id) DO UPDATE SET version = excluded.version;
END;

CREATE TRIGGER tasks_new_list_version_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO task_list_versions (user_id, version) VALUES (OLD.user_id, random())
    ON CONFLICT (user_id) DO UPDATE SET version = excluded.version;
END;
