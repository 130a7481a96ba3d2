package chat

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Message roles stored in a conversation.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// ToolCall is one tool the assistant ran while answering, with its result.
type ToolCall struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	Result    json.RawMessage `json:"result"`
}

// Conversation is one chat thread of a user.
type Conversation struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Message is one stored turn of a conversation.
type Message struct {
	ID        int64      `json:"id"`
	Role      string     `json:"role"`
	Content   string     `json:"content"`
	ToolCalls []ToolCall `json:"tool_calls"`
	CreatedAt time.Time  `json:"created_at"`
}

// ErrConversationNotFound means the conversation does not exist for this user.
var ErrConversationNotFound = errors.New("conversation not found")

// Repository stores conversations and their messages, scoped to one user.
type Repository interface {
	CreateConversation(ctx context.Context, userID, title string) (Conversation, error)
	GetConversation(ctx context.Context, userID string, id int64) (Conversation, error)
	ListConversations(ctx context.Context, userID string) ([]Conversation, error)
	DeleteConversation(ctx context.Context, userID string, id int64) error
	// RecentMessages returns up to limit of the newest messages, oldest first.
	RecentMessages(ctx context.Context, userID string, conversationID int64, limit int) ([]Message, error)
	// AppendMessages stores messages in order and touches the conversation.
	AppendMessages(ctx context.Context, userID string, conversationID int64, msgs []Message) error
}
