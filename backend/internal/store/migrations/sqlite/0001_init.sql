CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT     NOT NULL,
    title       TEXT     NOT NULL,
    description TEXT     NOT NULL DEFAULT '',
    completed   BOOLEAN  NOT NULL DEFAULT 0,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
-- Every query is per user; listings are newest first (by id).
CREATE INDEX tasks_user_id_idx ON tasks (user_id, id DESC);

CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT     NOT NULL,
    title      TEXT     NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX conversations_user_updated_idx ON conversations (user_id, updated_at DESC, id DESC);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER  NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         TEXT     NOT NULL,
    role            TEXT     NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT     NOT NULL,
    tool_calls      TEXT     NOT NULL DEFAULT '[]',
    created_at      DATETIME NOT NULL
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, id DESC);
