// Package tasks is the task domain: validation and the per-user operations
// that both the REST API and the chat tools call.
package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on task fields, in characters.
const (
	MaxTitleLen       = 200
	MaxDescriptionLen = 1000
)

// Task is one user's to-do item.
type Task struct {
	ID          int64     `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Completed   bool      `json:"completed"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Status filters a listing.
type Status string

// Status values accepted by List.
const (
	StatusAll       Status = "all"
	StatusPending   Status = "pending"
	StatusCompleted Status = "completed"
)

// ParseStatus accepts "", all, pending or completed.
func ParseStatus(s string) (Status, error) {
	switch Status(strings.ToLower(strings.TrimSpace(s))) {
	case "", StatusAll:
		return StatusAll, nil
	case StatusPending:
		return StatusPending, nil
	case StatusCompleted:
		return StatusCompleted, nil
	}
	return "", &ValidationError{Field: "status", Message: "must be all, pending or completed"}
}

// NewTask is what a user supplies to create a task.
type NewTask struct {
	Title       string
	Description string
}

// Patch changes the fields that are non-nil.
type Patch struct {
	Title       *string
	Description *string
	Completed   *bool
}

// ErrNotFound means the task does not exist for this user (it may exist for
// another user: the two cases are indistinguishable on purpose).
var ErrNotFound = errors.New("task not found")

// ValidationError reports bad input on one field.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// Repository stores tasks. Every method is scoped to one user.
type Repository interface {
	CreateTask(ctx context.Context, userID string, t NewTask) (Task, error)
	ListTasks(ctx context.Context, userID string, status Status) ([]Task, error)
	GetTask(ctx context.Context, userID string, id int64) (Task, error)
	UpdateTask(ctx context.Context, userID string, id int64, p Patch) (Task, error)
	DeleteTask(ctx context.Context, userID string, id int64) error
}

// Service validates input and calls the repository.
type Service struct {
	repo Repository
}

// NewService returns a Service over repo.
func NewService(repo Repository) *Service { return &Service{repo: repo} }

// Create validates and stores a new task.
func (s *Service) Create(ctx context.Context, userID string, in NewTask) (Task, error) {
	title, err := cleanTitle(in.Title)
	if err != nil {
		return Task{}, err
	}
	desc, err := cleanDescription(in.Description)
	if err != nil {
		return Task{}, err
	}
	t, err := s.repo.CreateTask(ctx, userID, NewTask{Title: title, Description: desc})
	if err != nil {
		return Task{}, fmt.Errorf("create task: %w", err)
	}
	return t, nil
}

// List returns the user's tasks, newest first.
func (s *Service) List(ctx context.Context, userID string, status Status) ([]Task, error) {
	ts, err := s.repo.ListTasks(ctx, userID, status)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	return ts, nil
}

// documentLister is a Repository that keeps listings encoded, like ListCache.
type documentLister interface {
	ListTasksDocument(ctx context.Context, userID string, status Status, revalidate bool) ([]byte, error)
}

// ListDocument returns what List returns as the API's listing document
// (AppendListDocument), ready to send in one write; revalidate asks a cache
// to check it against the database whatever it believes. The bytes may be
// shared with other callers and must not be modified.
func (s *Service) ListDocument(ctx context.Context, userID string, status Status, revalidate bool) ([]byte, error) {
	if c, ok := s.repo.(documentLister); ok {
		b, err := c.ListTasksDocument(ctx, userID, status, revalidate)
		if err != nil {
			return nil, fmt.Errorf("list tasks: %w", err)
		}
		return b, nil
	}
	ts, err := s.List(ctx, userID, status)
	if err != nil {
		return nil, err
	}
	return AppendListDocument(make([]byte, 0, 16+len(ts)*256), ts), nil
}

// Get returns one task or ErrNotFound.
func (s *Service) Get(ctx context.Context, userID string, id int64) (Task, error) {
	t, err := s.repo.GetTask(ctx, userID, id)
	if err != nil {
		return Task{}, fmt.Errorf("get task %d: %w", id, err)
	}
	return t, nil
}

// Update validates and applies a patch. An empty patch returns the task unchanged.
func (s *Service) Update(ctx context.Context, userID string, id int64, p Patch) (Task, error) {
	if p.Title != nil {
		title, err := cleanTitle(*p.Title)
		if err != nil {
			return Task{}, err
		}
		p.Title = &title
	}
	if p.Description != nil {
		desc, err := cleanDescription(*p.Description)
		if err != nil {
			return Task{}, err
		}
		p.Description = &desc
	}
	if p == (Patch{}) {
		return s.Get(ctx, userID, id)
	}
	t, err := s.repo.UpdateTask(ctx, userID, id, p)
	if err != nil {
		return Task{}, fmt.Errorf("update task %d: %w", id, err)
	}
	return t, nil
}

// Delete removes a task or returns ErrNotFound.
func (s *Service) Delete(ctx context.Context, userID string, id int64) error {
	if err := s.repo.DeleteTask(ctx, userID, id); err != nil {
		return fmt.Errorf("delete task %d: %w", id, err)
	}
	return nil
}

func cleanTitle(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		return "", &ValidationError{Field: "title", Message: "must be valid UTF-8"}
	case strings.ContainsFunc(s, unicode.IsControl):
		return "", &ValidationError{Field: "title", Message: "must not contain control characters"}
	case n == 0:
		return "", &ValidationError{Field: "title", Message: "is required"}
	case n > MaxTitleLen:
		return "", &ValidationError{Field: "title", Message: fmt.Sprintf("must be at most %d characters, got %d", MaxTitleLen, n)}
	}
	return s, nil
}

func cleanDescription(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		return "", &ValidationError{Field: "description", Message: "must be valid UTF-8"}
	case strings.ContainsFunc(s, isForbiddenInText):
		return "", &ValidationError{Field: "description", Message: "must not contain control characters other than newlines and tabs"}
	case n > MaxDescriptionLen:
		return "", &ValidationError{Field: "description", Message: fmt.Sprintf("must be at most %d characters, got %d", MaxDescriptionLen, n)}
	}
	return s, nil
}

// isForbiddenInText allows line breaks and tabs in multi-line text.
func isForbiddenInText(r rune) bool {
	return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t'
}
