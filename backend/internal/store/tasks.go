package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/todo-app/todo-app/backend/internal/tasks"
)

const taskColumns = "id, title, description, completed, created_at, updated_at"

func scanTask(row interface{ Scan(...any) error }) (tasks.Task, error) {
	var t tasks.Task
	err := row.Scan(&t.ID, &t.Title, &t.Description, &t.Completed, timestamp{&t.CreatedAt}, timestamp{&t.UpdatedAt})
	return t, err
}

// CreateTask stores a new task for userID.
func (s *DB) CreateTask(ctx context.Context, userID string, in tasks.NewTask) (tasks.Task, error) {
	ts := now()
	row := s.db.QueryRowContext(ctx, s.q(`INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at)
		VALUES (?, ?, ?, FALSE, ?, ?) RETURNING `+taskColumns), userID, in.Title, in.Description, ts, ts)
	t, err := scanTask(row)
	if err != nil {
		return tasks.Task{}, fmt.Errorf("insert task: %w", err)
	}
	return t, nil
}

// ListTasks returns userID's tasks, newest first.
func (s *DB) ListTasks(ctx context.Context, userID string, status tasks.Status) ([]tasks.Task, error) {
	query := "SELECT " + taskColumns + " FROM tasks WHERE user_id = ?"
	args := []any{userID}
	switch status {
	case tasks.StatusPending:
		query += " AND completed = ?"
		args = append(args, false)
	case tasks.StatusCompleted:
		query += " AND completed = ?"
		args = append(args, true)
	}
	rows, err := s.db.QueryContext(ctx, s.q(query+" ORDER BY id DESC"), args...)
	if err != nil {
		return nil, fmt.Errorf("query tasks: %w", err)
	}
	defer rows.Close()
	list := []tasks.Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("scan task: %w", err)
		}
		list = append(list, t)
	}
	return list, rows.Err()
}

// TaskListVersions returns, for each of userIDs that has one, a random
// number replaced in the same transaction as every change to that user's
// tasks (a user without one has had no task yet: version 0). Equal versions
// mean equal tasks, even across a database recreated or restored.
func (s *DB) TaskListVersions(ctx context.Context, userIDs []string) (map[string]int64, error) {
	versions := make(map[string]int64, len(userIDs))
	if len(userIDs) == 0 {
		return versions, nil
	}
	args := make([]any, len(userIDs))
	for i, u := range userIDs {
		args[i] = u
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT user_id, version FROM task_list_versions WHERE user_id IN (?"+
		strings.Repeat(", ?", len(userIDs)-1)+")"), args...)
	if err != nil {
		return nil, fmt.Errorf("task list versions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var user string
		var v int64
		if err := rows.Scan(&user, &v); err != nil {
			return nil, fmt.Errorf("task list versions: %w", err)
		}
		versions[user] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("task list versions: %w", err)
	}
	return versions, nil
}

// GetTask returns one of userID's tasks, or tasks.ErrNotFound.
func (s *DB) GetTask(ctx context.Context, userID string, id int64) (tasks.Task, error) {
	row := s.db.QueryRowContext(ctx, s.q("SELECT "+taskColumns+" FROM tasks WHERE id = ? AND user_id = ?"), id, userID)
	return taskResult(scanTask(row))
}

// UpdateTask applies the non-nil fields of p in one statement.
func (s *DB) UpdateTask(ctx context.Context, userID string, id int64, p tasks.Patch) (tasks.Task, error) {
	row := s.db.QueryRowContext(ctx, s.q(`UPDATE tasks SET
		title = COALESCE(?, title), description = COALESCE(?, description),
		completed = COALESCE(?, completed), updated_at = ?
		WHERE id = ? AND user_id = ? RETURNING `+taskColumns),
		p.Title, p.Description, p.Completed, now(), id, userID)
	return taskResult(scanTask(row))
}

// DeleteTask removes one of userID's tasks, or returns tasks.ErrNotFound.
func (s *DB) DeleteTask(ctx context.Context, userID string, id int64) error {
	res, err := s.db.ExecContext(ctx, s.q("DELETE FROM tasks WHERE id = ? AND user_id = ?"), id, userID)
	if err != nil {
		return fmt.Errorf("delete task: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete task: %w", err)
	} else if n == 0 {
		return tasks.ErrNotFound
	}
	return nil
}

func taskResult(t tasks.Task, err error) (tasks.Task, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return tasks.Task{}, tasks.ErrNotFound
	}
	if err != nil {
		return tasks.Task{}, fmt.Errorf("task row: %w", err)
	}
	return t, nil
}
