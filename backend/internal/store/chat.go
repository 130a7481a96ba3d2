package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/todo-app/todo-app/backend/internal/chat"
)

const conversationColumns = "id, title, created_at, updated_at"

func scanConversation(row interface{ Scan(...any) error }) (chat.Conversation, error) {
	var c chat.Conversation
	err := row.Scan(&c.ID, &c.Title, timestamp{&c.CreatedAt}, timestamp{&c.UpdatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Conversation{}, chat.ErrConversationNotFound
	}
	if err != nil {
		return chat.Conversation{}, fmt.Errorf("conversation row: %w", err)
	}
	return c, nil
}

// CreateConversation starts a conversation for userID.
func (s *DB) CreateConversation(ctx context.Context, userID, title string) (chat.Conversation, error) {
	ts := now()
	return scanConversation(s.db.QueryRowContext(ctx, s.q(`INSERT INTO conversations (user_id, title, created_at, updated_at)
		VALUES (?, ?, ?, ?) RETURNING `+conversationColumns), userID, title, ts, ts))
}

// GetConversation returns one of userID's conversations or chat.ErrConversationNotFound.
func (s *DB) GetConversation(ctx context.Context, userID string, id int64) (chat.Conversation, error) {
	return scanConversation(s.db.QueryRowContext(ctx,
		s.q("SELECT "+conversationColumns+" FROM conversations WHERE id = ? AND user_id = ?"), id, userID))
}

// ListConversations returns userID's conversations, most recently active first.
func (s *DB) ListConversations(ctx context.Context, userID string) ([]chat.Conversation, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+conversationColumns+
		" FROM conversations WHERE user_id = ? ORDER BY updated_at DESC, id DESC"), userID)
	if err != nil {
		return nil, fmt.Errorf("query conversations: %w", err)
	}
	defer rows.Close()
	list := []chat.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	return list, rows.Err()
}

// DeleteConversation removes a conversation and its messages.
func (s *DB) DeleteConversation(ctx context.Context, userID string, id int64) error {
	res, err := s.db.ExecContext(ctx, s.q("DELETE FROM conversations WHERE id = ? AND user_id = ?"), id, userID)
	if err != nil {
		return fmt.Errorf("delete conversation: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete conversation: %w", err)
	} else if n == 0 {
		return chat.ErrConversationNotFound
	}
	return nil
}

// RecentMessages returns up to limit of the newest messages, oldest first.
func (s *DB) RecentMessages(ctx context.Context, userID string, conversationID int64, limit int) ([]chat.Message, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, role, content, tool_calls, created_at FROM messages
		WHERE conversation_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?`), conversationID, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("query messages: %w", err)
	}
	defer rows.Close()
	msgs := []chat.Message{}
	for rows.Next() {
		var (
			m     chat.Message
			calls []byte
		)
		if err := rows.Scan(&m.ID, &m.Role, &m.Content, &calls, timestamp{&m.CreatedAt}); err != nil {
			return nil, fmt.Errorf("scan message: %w", err)
		}
		if err := json.Unmarshal(calls, &m.ToolCalls); err != nil {
			return nil, fmt.Errorf("message %d: tool calls: %w", m.ID, err)
		}
		if m.ToolCalls == nil {
			m.ToolCalls = []chat.ToolCall{}
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Reverse(msgs)
	return msgs, nil
}

// AppendMessages stores msgs atomically and marks the conversation active.
// It fails with chat.ErrConversationNotFound, storing nothing, when the
// conversation is not userID's (or was deleted meanwhile).
func (s *DB) AppendMessages(ctx context.Context, userID string, conversationID int64, msgs []chat.Message) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append messages: begin: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	ts := now()
	res, err := tx.ExecContext(ctx, s.q("UPDATE conversations SET updated_at = ? WHERE id = ? AND user_id = ?"),
		ts, conversationID, userID)
	if err != nil {
		return fmt.Errorf("append messages: touch conversation: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("append messages: %w", err)
	} else if n == 0 {
		return chat.ErrConversationNotFound
	}
	insert := s.q(`INSERT INTO messages (conversation_id, user_id, role, content, tool_calls, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`)
	for _, m := range msgs {
		calls := m.ToolCalls
		if calls == nil {
			calls = []chat.ToolCall{}
		}
		encoded, err := json.Marshal(calls)
		if err != nil {
			return fmt.Errorf("append messages: encode tool calls: %w", err)
		}
		if _, err := tx.ExecContext(ctx, insert, conversationID, userID, m.Role, m.Content, string(encoded), ts); err != nil {
			return fmt.Errorf("append messages: insert: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("append messages: commit: %w", err)
	}
	return nil
}
