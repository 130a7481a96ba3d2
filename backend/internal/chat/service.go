package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/todo-app/todo-app/backend/internal/tasks"
)

// MaxMessageLen is the longest user message, in characters.
const MaxMessageLen = 4000

// historyLimit is how many stored messages give an assistant its context.
const historyLimit = 20

// Events receives a reply as it is produced. Either method may be called
// from the goroutine running Send only.
type Events interface {
	Token(text string)
	ToolCall(call ToolCall)
}

// Assistant answers the last user message of history, using tools.
type Assistant interface {
	Respond(ctx context.Context, history []Message, tools *Toolbox, events Events) (string, error)
}

// Request is one user message.
type Request struct {
	ConversationID int64 // 0 starts a new conversation
	Message        string
}

// Reply is the assistant's answer and what it did.
type Reply struct {
	ConversationID int64      `json:"conversation_id"`
	Response       string     `json:"response"`
	ToolCalls      []ToolCall `json:"tool_calls"`
}

// ErrAssistant wraps failures of the model provider.
var ErrAssistant = errors.New("assistant unavailable")

// Service runs chat turns. It keeps no state between requests: history is
// loaded from the repository and every turn is stored there.
type Service struct {
	repo      Repository
	tasks     *tasks.Service
	assistant Assistant
}

// NewService returns a chat Service.
func NewService(repo Repository, taskSvc *tasks.Service, assistant Assistant) *Service {
	return &Service{repo: repo, tasks: taskSvc, assistant: assistant}
}

type noEvents struct{}

func (noEvents) Token(string)      {}
func (noEvents) ToolCall(ToolCall) {}

// Send answers one message. events may be nil.
func (s *Service) Send(ctx context.Context, userID string, req Request, events Events) (Reply, error) {
	msg := strings.TrimSpace(req.Message)
	if n := utf8.RuneCountInString(msg); n == 0 || n > MaxMessageLen || !utf8.ValidString(msg) || strings.ContainsRune(msg, 0) {
		return Reply{}, &tasks.ValidationError{Field: "message", Message: fmt.Sprintf("must be 1-%d characters of text", MaxMessageLen)}
	}
	if events == nil {
		events = noEvents{}
	}
	var history []Message
	conv := Conversation{ID: req.ConversationID}
	if conv.ID != 0 {
		var err error
		if conv, err = s.repo.GetConversation(ctx, userID, conv.ID); err != nil {
			return Reply{}, err
		}
		if history, err = s.repo.RecentMessages(ctx, userID, conv.ID, historyLimit); err != nil {
			return Reply{}, fmt.Errorf("load history: %w", err)
		}
	}
	userMsg := Message{Role: RoleUser, Content: msg}
	box := newToolbox(s.tasks, userID, events.ToolCall)
	response, err := s.assistant.Respond(ctx, append(history, userMsg), box, events)
	calls := box.Calls()
	if err != nil {
		if len(calls) == 0 {
			return Reply{}, fmt.Errorf("%w: %v", ErrAssistant, err)
		}
		// Tools already changed tasks: record that truthfully before failing.
		response = "I could not finish answering, but I did run the actions listed."
	}
	if conv.ID == 0 {
		if conv, err = s.repo.CreateConversation(context.WithoutCancel(ctx), userID, titleFrom(msg)); err != nil {
			return Reply{}, fmt.Errorf("create conversation: %w", err)
		}
	}
	// Store the turn even if the client went away: its tool calls already ran.
	if err := s.repo.AppendMessages(context.WithoutCancel(ctx), userID, conv.ID, []Message{
		userMsg, {Role: RoleAssistant, Content: response, ToolCalls: calls},
	}); err != nil {
		return Reply{}, fmt.Errorf("store turn: %w", err)
	}
	reply := Reply{ConversationID: conv.ID, Response: response, ToolCalls: calls}
	if reply.ToolCalls == nil {
		reply.ToolCalls = []ToolCall{}
	}
	return reply, nil
}

// titleFrom names a conversation after its first message.
func titleFrom(msg string) string {
	const max = 60
	msg = strings.Join(strings.Fields(msg), " ")
	if utf8.RuneCountInString(msg) <= max {
		return msg
	}
	r := []rune(msg)
	return strings.TrimSpace(string(r[:max-1])) + "…"
}

// Conversations lists the user's conversations.
func (s *Service) Conversations(ctx context.Context, userID string) ([]Conversation, error) {
	return s.repo.ListConversations(ctx, userID)
}

// Messages returns a conversation's newest messages, oldest first.
func (s *Service) Messages(ctx context.Context, userID string, id int64, limit int) ([]Message, error) {
	if _, err := s.repo.GetConversation(ctx, userID, id); err != nil {
		return nil, err
	}
	return s.repo.RecentMessages(ctx, userID, id, limit)
}

// DeleteConversation removes a conversation and its messages.
func (s *Service) DeleteConversation(ctx context.Context, userID string, id int64) error {
	return s.repo.DeleteConversation(ctx, userID, id)
}
