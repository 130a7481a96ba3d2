package store

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// taskListChannel is what migration 0003 notifies with every new list version.
const taskListChannel = "todo_task_list_versions"

// Waits between attempts to restore the notifications.
const (
	watchFirstRetry = 100 * time.Millisecond
	watchMaxRetry   = 5 * time.Second
)

// WatchTaskLists tells changed of every change to a user's tasks that
// commits, through any connection or process, in commit order, and connected
// whether that holds: true once it listens, false as soon as its connection
// is lost (changes may be missed until the next true). It keeps a connection
// of its own and restores it with growing waits, until ctx ends. It reports
// false when the database cannot notify (SQLite: one process, whose own
// writes the cache sees) and then does nothing.
func (s *DB) WatchTaskLists(ctx context.Context, changed func(userID string), connected func(bool)) bool {
	if s.dialect.name != "postgres" {
		return false
	}
	go func() {
		for wait := watchFirstRetry; ctx.Err() == nil; wait = min(2*wait, watchMaxRetry) {
			if s.listen(ctx, changed, connected) {
				wait = watchFirstRetry // it listened: the next loss starts the waits over
			}
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}()
	return true
}

// listen listens until the connection fails or ctx ends; it reports whether
// it got as far as listening.
func (s *DB) listen(ctx context.Context, changed func(userID string), connected func(bool)) bool {
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		slog.WarnContext(ctx, "task list notifications: cannot connect; listings are checked against the database", "err", err)
		return false
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+taskListChannel); err != nil {
		slog.WarnContext(ctx, "task list notifications: cannot listen; listings are checked against the database", "err", err)
		return false
	}
	connected(true)
	defer connected(false)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() == nil {
				slog.WarnContext(ctx, "task list notifications lost; listings are checked against the database until they are back", "err", err)
			}
			return true
		}
		changed(n.Payload)
	}
}
