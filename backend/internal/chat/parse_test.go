package chat

import (
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		msg  string
		want Intent
	}{
		{"add buy milk", Intent{Action: ActionAdd, Title: "buy milk"}},
		{"Add Call Mom", Intent{Action: ActionAdd, Title: "Call Mom"}},
		{"add task: pay rent", Intent{Action: ActionAdd, Title: "pay rent"}},
		{"add eggs to my list", Intent{Action: ActionAdd, Title: "eggs"}},
		{"create a new task to water plants", Intent{Action: ActionAdd, Title: "water plants"}},
		{"remind me to call mom tomorrow", Intent{Action: ActionAdd, Title: "call mom tomorrow"}},
		{"I need to renew my passport.", Intent{Action: ActionAdd, Title: "renew my passport"}},
		{"please add \"book flights\"", Intent{Action: ActionAdd, Title: "book flights"}},
		{"show my tasks", Intent{Action: ActionList, Status: "all"}},
		{"list tasks", Intent{Action: ActionList, Status: "all"}},
		{"what's pending?", Intent{Action: ActionList, Status: "pending"}},
		{"What’s left to do?", Intent{Action: ActionList, Status: "pending"}},
		{"list completed tasks", Intent{Action: ActionList, Status: "completed"}},
		{"which tasks are done", Intent{Action: ActionList, Status: "completed"}},
		{"mark task 3 as done", Intent{Action: ActionComplete, TargetID: 3}},
		{"mark #12 complete", Intent{Action: ActionComplete, TargetID: 12}},
		{"complete buy milk", Intent{Action: ActionComplete, TargetTitle: "buy milk"}},
		{"mark buy milk done", Intent{Action: ActionComplete, TargetTitle: "buy milk"}},
		{"I finished the laundry", Intent{Action: ActionComplete, TargetTitle: "laundry"}},
		{"buy milk is done", Intent{Action: ActionComplete, TargetTitle: "buy milk"}},
		{"check off task 7", Intent{Action: ActionComplete, TargetID: 7}},
		{"delete the groceries task", Intent{Action: ActionDelete, TargetTitle: "groceries"}},
		{"delete task 2", Intent{Action: ActionDelete, TargetID: 2}},
		{"remove buy milk from my list", Intent{Action: ActionDelete, TargetTitle: "buy milk"}},
		{"rename task 2 to pay rent", Intent{Action: ActionUpdate, TargetID: 2, Title: "pay rent"}},
		{"rename call mom to call Dad", Intent{Action: ActionUpdate, TargetTitle: "call mom", Title: "call Dad"}},
		{"change task 4 to walk to the park", Intent{Action: ActionUpdate, TargetID: 4, Title: "walk to the park"}},
		{"set the description of task 5 to Two litres, oat", Intent{Action: ActionUpdate, TargetID: 5, Description: "Two litres, oat"}},
		{"help", Intent{Action: ActionHelp}},
		{"hello!", Intent{Action: ActionHelp}},
		{"what can you do?", Intent{Action: ActionHelp}},
		{"", Intent{Action: ActionHelp}},
		{"the weather in Paris", Intent{Action: ActionUnknown}},
		{"delete", Intent{Action: ActionUnknown}},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			if got := Parse(tt.msg); got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.msg, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"add buy milk", "mark task 3 as done", "rename task 2 to pay rent",
		"delete the groceries task", "what's pending?", "set the description of 1 to x", "İstanbul add ǅ", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		in := Parse(msg) // must not panic
		if in.Action < ActionUnknown || in.Action > ActionUpdate {
			t.Fatalf("Parse(%q): action %d out of range", msg, in.Action)
		}
		if in.TargetID < 0 {
			t.Fatalf("Parse(%q): negative target id %d", msg, in.TargetID)
		}
		if utf8.ValidString(msg) && (!utf8.ValidString(in.Title) || !utf8.ValidString(in.TargetTitle)) {
			t.Fatalf("Parse(%q) produced invalid UTF-8: %+v", msg, in)
		}
		if len(in.Title) > len(msg) || len(in.TargetTitle) > len(msg) || len(in.Description) > len(msg) {
			t.Fatalf("Parse(%q) invented text: %+v", msg, in)
		}
	})
}
