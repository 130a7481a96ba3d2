package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Local is the built-in offline assistant: deterministic, no network, and it
// acts only through the same Toolbox a model gets.
type Local struct{}

// HelpText says what the offline assistant understands.
const HelpText = "I can manage your tasks. Try:\n" +
	"• \"add buy milk\" or \"remind me to call mom tomorrow\"\n" +
	"• \"show my tasks\", \"what's pending?\", \"list completed tasks\"\n" +
	"• \"mark task 3 as done\" or \"complete buy milk\"\n" +
	"• \"delete the groceries task\"\n" +
	"• \"rename task 2 to pay rent\""

// Respond answers the last message of history.
func (Local) Respond(ctx context.Context, history []Message, tools *Toolbox, events Events) (string, error) {
	var last string
	if n := len(history); n > 0 {
		last = history[n-1].Content
	}
	reply, err := respond(ctx, Parse(last), tools)
	if err != nil {
		return "", err
	}
	// Stream word by word so clients exercise the same path as with a model.
	for _, w := range strings.SplitAfter(reply, " ") {
		events.Token(w)
	}
	return reply, nil
}

func respond(ctx context.Context, in Intent, tools *Toolbox) (string, error) {
	switch in.Action {
	case ActionHelp:
		return HelpText, nil
	case ActionAdd:
		if in.Title == "" {
			return "What should I add? For example: \"add buy milk\".", nil
		}
		return callAndSay(ctx, tools, ToolAddTask, map[string]any{"title": in.Title}, "Added task #%d '%s'.")
	case ActionList:
		return list(ctx, tools, in.Status)
	case ActionComplete, ActionDelete, ActionUpdate:
		id, question, err := resolve(ctx, tools, in)
		if err != nil || question != "" {
			return question, err
		}
		switch in.Action {
		case ActionComplete:
			return callAndSay(ctx, tools, ToolCompleteTask, map[string]any{"task_id": id}, "Marked task #%d '%s' as done.")
		case ActionDelete:
			return callAndSay(ctx, tools, ToolDeleteTask, map[string]any{"task_id": id}, "Deleted task #%d '%s'.")
		}
		args := map[string]any{"task_id": id}
		if in.Title != "" {
			args["title"] = in.Title
		}
		if in.Description != "" {
			args["description"] = in.Description
		}
		return callAndSay(ctx, tools, ToolUpdateTask, args, "Updated task #%d: it is now '%s'.")
	}
	return "Sorry, I didn't understand that. " + HelpText, nil
}

// callAndSay runs a tool and phrases its result with format (id, title), or
// its error.
func callAndSay(ctx context.Context, tools *Toolbox, name string, args map[string]any, format string) (string, error) {
	raw, _ := json.Marshal(args)
	call, err := tools.Call(ctx, name, raw)
	if err != nil {
		return "", err
	}
	var res struct {
		TaskID int64  `json:"task_id"`
		Title  string `json:"title"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal(call.Result, &res); err != nil {
		return "", fmt.Errorf("read %s result: %w", name, err)
	}
	if res.Error != "" {
		return "I couldn't do that: " + res.Error + ".", nil
	}
	return fmt.Sprintf(format, res.TaskID, res.Title), nil
}

func listTasks(ctx context.Context, tools *Toolbox, status string) ([]TaskSummary, error) {
	raw, _ := json.Marshal(map[string]string{"status": status})
	call, err := tools.Call(ctx, ToolListTasks, raw)
	if err != nil {
		return nil, err
	}
	var res struct {
		Tasks []TaskSummary `json:"tasks"`
	}
	if err := json.Unmarshal(call.Result, &res); err != nil {
		return nil, fmt.Errorf("read list_tasks result: %w", err)
	}
	return res.Tasks, nil
}

func list(ctx context.Context, tools *Toolbox, status string) (string, error) {
	ts, err := listTasks(ctx, tools, status)
	if err != nil {
		return "", err
	}
	kind := map[string]string{"all": "", "pending": "pending ", "completed": "completed "}[status]
	if len(ts) == 0 {
		return fmt.Sprintf("You have no %stasks.", kind), nil
	}
	var b strings.Builder
	noun := "tasks"
	if len(ts) == 1 {
		noun = "task"
	}
	fmt.Fprintf(&b, "You have %d %s%s:", len(ts), kind, noun)
	for _, t := range ts {
		mark := "☐"
		if t.Completed {
			mark = "☑"
		}
		fmt.Fprintf(&b, "\n%s #%d %s", mark, t.ID, t.Title)
	}
	return b.String(), nil
}

// resolve finds the one task an intent targets. When a title matches none or
// several tasks it returns a question for the user instead of guessing.
func resolve(ctx context.Context, tools *Toolbox, in Intent) (id int64, question string, err error) {
	if in.TargetID != 0 {
		return in.TargetID, "", nil
	}
	if in.TargetTitle == "" {
		return 0, "Which task? Give its number or title, for example \"task 3\".", nil
	}
	all, err := listTasks(ctx, tools, "all")
	if err != nil {
		return 0, "", err
	}
	matches := matchTitle(all, in.TargetTitle)
	if in.Action == ActionComplete { // completing: prefer tasks not done yet
		var pending []TaskSummary
		for _, t := range matches {
			if !t.Completed {
				pending = append(pending, t)
			}
		}
		if len(pending) > 0 {
			matches = pending
		}
	}
	switch len(matches) {
	case 0:
		return 0, fmt.Sprintf("I couldn't find a task matching '%s'. Say \"show my tasks\" to see them.", in.TargetTitle), nil
	case 1:
		return matches[0].ID, "", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Several tasks match '%s'. Which one do you mean?", in.TargetTitle)
	for _, t := range matches {
		fmt.Fprintf(&b, "\n• task #%d %s", t.ID, t.Title)
	}
	return 0, b.String(), nil
}

// matchTitle returns the tasks titled exactly like query (ignoring case), or,
// when none is, those whose title contains it.
func matchTitle(ts []TaskSummary, query string) []TaskSummary {
	q := strings.ToLower(strings.TrimSpace(query))
	var exact, partial []TaskSummary
	for _, t := range ts {
		title := strings.ToLower(t.Title)
		switch {
		case title == q:
			exact = append(exact, t)
		case strings.Contains(title, q):
			partial = append(partial, t)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return partial
}
