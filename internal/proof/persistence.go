package proof

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Persistence creates tasks and a conversation, restarts every pod of the
// release at once (PostgreSQL, backend, frontend) and finds every row again
// (goal: 0 rows lost).
func Persistence(ctx context.Context, env Env) Result {
	s, err := signUp(ctx, env)
	if err != nil {
		return Result{Figures: "could not sign up", Err: err}
	}
	titles := []string{"persist one", "persist two", "persist three"}
	for _, title := range titles {
		if err := s.Expect(ctx, "POST", "/api/tasks", map[string]string{"title": title}, 201, nil); err != nil {
			return Result{Figures: "could not create tasks", Err: err}
		}
	}
	var reply struct {
		ConversationID int64 `json:"conversation_id"`
	}
	if err := s.Expect(ctx, "POST", "/api/chat", map[string]string{"message": "add persist four"}, 200, &reply); err != nil {
		return Result{Figures: "could not chat", Err: err}
	}
	rows := len(titles) + 1 + 2 // tasks, the chat's task, its two messages

	// Every pod at once, as after a power cut: the apps start again before
	// their database does, and must wait for it.
	start := time.Now()
	type restart struct {
		selector  string
		deleted   []types.UID
		wereReady int
	}
	var restarts []restart
	for _, component := range []string{"postgresql", "backend", "frontend"} {
		sel := env.selector(component)
		deleted, wereReady, err := deletePods(ctx, env, sel)
		if err != nil {
			if component == "postgresql" && strings.Contains(err.Error(), "no pods match") {
				continue // an external database: nothing in the cluster to restart
			}
			return Result{Figures: "restart failed", Err: err}
		}
		restarts = append(restarts, restart{sel, deleted, max(wereReady, 1)})
	}
	for _, r := range restarts {
		if err := waitReplaced(ctx, env, r.selector, r.deleted, r.wereReady); err != nil {
			return Result{Figures: "restart failed", Err: err}
		}
	}
	// Serving again means both apps routed again, and the rows read back;
	// reads may fail while connections re-establish: retry until the deadline.
	if err := awaitServing(ctx, env); err != nil {
		return Result{Figures: "not serving again after the restart", Err: err}
	}
	var found int
	var lastErr error
	deadline := time.Now().Add(env.timeout())
	for time.Now().Before(deadline) {
		found, lastErr = countRows(ctx, s, reply.ConversationID, append(titles, "persist four"))
		if lastErr == nil {
			break
		}
		time.Sleep(env.poll())
	}
	figures := fmt.Sprintf("rows lost %d of %d after restarting every pod, serving again in %s",
		rows-found, rows, time.Since(start).Round(100*time.Millisecond))
	if lastErr != nil {
		return Result{Figures: figures, Err: lastErr}
	}
	if found != rows {
		return Result{Figures: figures, Err: fmt.Errorf("%d rows lost", rows-found)}
	}
	return Result{Figures: figures}
}

type session interface {
	Expect(ctx context.Context, method, path string, body any, status int, out any) error
}

// countRows counts the expected tasks and the conversation's messages.
func countRows(ctx context.Context, s session, conversation int64, titles []string) (int, error) {
	var list struct {
		Tasks []struct{ Title string }
	}
	if err := s.Expect(ctx, "GET", "/api/tasks", nil, 200, &list); err != nil {
		return 0, err
	}
	found := 0
	for _, want := range titles {
		for _, t := range list.Tasks {
			if t.Title == want {
				found++
				break
			}
		}
	}
	var msgs struct {
		Messages []struct{ Role string }
	}
	if err := s.Expect(ctx, "GET", fmt.Sprintf("/api/conversations/%d/messages", conversation), nil, 200, &msgs); err != nil {
		return found, err
	}
	return found + min(len(msgs.Messages), 2), nil
}
