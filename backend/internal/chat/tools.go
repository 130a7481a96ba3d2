// Package chat runs the assistant: it keeps conversations, and lets a model
// (an OpenAI-compatible API or the built-in offline assistant) manage the
// user's tasks through five tools.
package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/todo-app/todo-app/backend/internal/tasks"
)

// Tool names.
const (
	ToolAddTask      = "add_task"
	ToolListTasks    = "list_tasks"
	ToolCompleteTask = "complete_task"
	ToolDeleteTask   = "delete_task"
	ToolUpdateTask   = "update_task"
)

// ToolSpec describes a tool to a model.
type ToolSpec struct {
	Name        string
	Description string
	Parameters  map[string]any // JSON Schema
}

var taskIDParam = map[string]any{"type": "integer", "description": "The task's id, as shown by list_tasks."}

// ToolSpecs are the tools every assistant gets.
var ToolSpecs = []ToolSpec{
	{ToolAddTask, "Create a task for the user.", object(map[string]any{
		"title":       map[string]any{"type": "string", "description": "Short title, 1-200 characters."},
		"description": map[string]any{"type": "string", "description": "Optional details, up to 1000 characters."},
	}, "title")},
	{ToolListTasks, "List the user's tasks, newest first.", object(map[string]any{
		"status": map[string]any{"type": "string", "enum": []string{"all", "pending", "completed"}, "description": "Which tasks; default all."},
	})},
	{ToolCompleteTask, "Mark a task as completed.", object(map[string]any{"task_id": taskIDParam}, "task_id")},
	{ToolDeleteTask, "Delete a task permanently.", object(map[string]any{"task_id": taskIDParam}, "task_id")},
	{ToolUpdateTask, "Change a task's title and/or description.", object(map[string]any{
		"task_id":     taskIDParam,
		"title":       map[string]any{"type": "string", "description": "New title."},
		"description": map[string]any{"type": "string", "description": "New description."},
	}, "task_id")},
}

func object(props map[string]any, required ...string) map[string]any {
	schema := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		schema["required"] = required
	}
	return schema
}

// MaxToolCalls bounds the tools one reply may run, whatever the model asks.
const MaxToolCalls = 10

// Toolbox runs tools for one user. The user id is bound when the Toolbox is
// made, never taken from a model's arguments.
type Toolbox struct {
	tasks  *tasks.Service
	userID string
	onCall func(ToolCall)

	mu    sync.Mutex
	calls []ToolCall
}

func newToolbox(svc *tasks.Service, userID string, onCall func(ToolCall)) *Toolbox {
	return &Toolbox{tasks: svc, userID: userID, onCall: onCall}
}

// Calls returns the tool calls made so far.
func (b *Toolbox) Calls() []ToolCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]ToolCall(nil), b.calls...)
}

// Call runs the named tool with JSON arguments and records it. Bad arguments,
// unknown tools and task errors become a result of the form {"error": "..."},
// which a model can read and explain; only infrastructure failures return an error.
func (b *Toolbox) Call(ctx context.Context, name string, args json.RawMessage) (ToolCall, error) {
	if len(bytes.TrimSpace(args)) == 0 {
		args = json.RawMessage("{}")
	}
	b.mu.Lock()
	over := len(b.calls) >= MaxToolCalls
	b.mu.Unlock()
	var (
		result any
		err    error
	)
	if over {
		err = &toolError{fmt.Sprintf("tool call limit of %d reached for this message", MaxToolCalls)}
	} else {
		result, err = b.run(ctx, name, args)
	}
	var te *toolError
	var ve *tasks.ValidationError
	switch {
	case err == nil:
	case errors.As(err, &te), errors.As(err, &ve):
		result = map[string]string{"error": err.Error()}
	case errors.Is(err, tasks.ErrNotFound):
		result = map[string]string{"error": "task not found"}
	default:
		return ToolCall{}, fmt.Errorf("tool %s: %w", name, err)
	}
	encoded, err := json.Marshal(result)
	if err != nil {
		return ToolCall{}, fmt.Errorf("tool %s: encode result: %w", name, err)
	}
	if !json.Valid(args) {
		args, _ = json.Marshal(string(args)) // keep what the model sent, as a JSON string
	}
	call := ToolCall{Name: name, Arguments: args, Result: encoded}
	b.mu.Lock()
	b.calls = append(b.calls, call)
	b.mu.Unlock()
	if b.onCall != nil {
		b.onCall(call)
	}
	return call, nil
}

type toolError struct{ msg string }

func (e *toolError) Error() string { return e.msg }

// taskID accepts 3 and "3": models send both.
type taskID int64

func (id *taskID) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		b = []byte(s)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n <= 0 {
		return &toolError{"task_id must be a positive integer"}
	}
	*id = taskID(n)
	return nil
}

type toolArgs struct {
	Title       *string `json:"title"`
	Description *string `json:"description"`
	Status      string  `json:"status"`
	TaskID      *taskID `json:"task_id"`
}

// TaskSummary is how list_tasks shows a task to a model.
type TaskSummary struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Completed   bool   `json:"completed"`
}

type taskResult struct {
	TaskID int64  `json:"task_id"`
	Status string `json:"status"`
	Title  string `json:"title"`
}

func (b *Toolbox) run(ctx context.Context, name string, raw json.RawMessage) (any, error) {
	var a toolArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		var te *toolError
		if errors.As(err, &te) {
			return nil, te
		}
		return nil, &toolError{"arguments must be a JSON object: " + err.Error()}
	}
	needID := func() (int64, error) {
		if a.TaskID == nil {
			return 0, &toolError{"task_id is required"}
		}
		return int64(*a.TaskID), nil
	}
	switch name {
	case ToolAddTask:
		if a.Title == nil {
			return nil, &toolError{"title is required"}
		}
		t, err := b.tasks.Create(ctx, b.userID, tasks.NewTask{Title: *a.Title, Description: deref(a.Description)})
		if err != nil {
			return nil, err
		}
		return taskResult{t.ID, "created", t.Title}, nil
	case ToolListTasks:
		status, err := tasks.ParseStatus(a.Status)
		if err != nil {
			return nil, err
		}
		list, err := b.tasks.List(ctx, b.userID, status)
		if err != nil {
			return nil, err
		}
		out := make([]TaskSummary, len(list))
		for i, t := range list {
			out[i] = TaskSummary{t.ID, t.Title, t.Description, t.Completed}
		}
		return map[string]any{"tasks": out, "count": len(out)}, nil
	case ToolCompleteTask:
		id, err := needID()
		if err != nil {
			return nil, err
		}
		done := true
		t, err := b.tasks.Update(ctx, b.userID, id, tasks.Patch{Completed: &done})
		if err != nil {
			return nil, err
		}
		return taskResult{t.ID, "completed", t.Title}, nil
	case ToolDeleteTask:
		id, err := needID()
		if err != nil {
			return nil, err
		}
		t, err := b.tasks.Get(ctx, b.userID, id)
		if err != nil {
			return nil, err
		}
		if err := b.tasks.Delete(ctx, b.userID, id); err != nil {
			return nil, err
		}
		return taskResult{t.ID, "deleted", t.Title}, nil
	case ToolUpdateTask:
		id, err := needID()
		if err != nil {
			return nil, err
		}
		if a.Title == nil && a.Description == nil {
			return nil, &toolError{"give a new title or description"}
		}
		t, err := b.tasks.Update(ctx, b.userID, id, tasks.Patch{Title: a.Title, Description: a.Description})
		if err != nil {
			return nil, err
		}
		return taskResult{t.ID, "updated", t.Title}, nil
	}
	return nil, &toolError{fmt.Sprintf("unknown tool %q", name)}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
