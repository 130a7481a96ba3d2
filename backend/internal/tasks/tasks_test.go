package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	ts := time.Date(2026, 11, 27, 3, 4, 5, 123456000, time.UTC)
	for _, title := range []string{"buy milk", `quote " back \ slash`, "<b>&amp;</b>", "tab\tnew\nline\rcr\x00\x1f\x7f",
		"emoji 🥛 ünïcødé", "line\u2028para\u2029", "bad \xff utf8 \xe2\x82", ""} {
		task := Task{ID: 42, Title: title, Description: title + " desc", Completed: true, CreatedAt: ts, UpdatedAt: ts.Add(time.Second)}
		want, _ := json.Marshal(task)
		if got := task.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON(%q)\n got %s\nwant %s", title, got, want)
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("buy milk", "", int64(1), true, int64(0))
	f.Add("\u2028<>&\"\\", "\xff", int64(-5), false, int64(1234567891))
	f.Fuzz(func(t *testing.T, title, desc string, id int64, done bool, nanos int64) {
		at := time.Unix(1_800_000_000, nanos%1e9).UTC()
		task := Task{ID: id, Title: title, Description: desc, Completed: done, CreatedAt: at, UpdatedAt: at}
		want, _ := json.Marshal(task)
		if got := task.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

// memRepo is the smallest Repository for testing the service's validation.
type memRepo struct{ created []NewTask }

func (m *memRepo) CreateTask(_ context.Context, _ string, t NewTask) (Task, error) {
	m.created = append(m.created, t)
	return Task{ID: int64(len(m.created)), Title: t.Title, Description: t.Description}, nil
}
func (m *memRepo) ListTasks(context.Context, string, Status) ([]Task, error) { return nil, nil }
func (m *memRepo) GetTask(context.Context, string, int64) (Task, error)      { return Task{}, ErrNotFound }
func (m *memRepo) UpdateTask(context.Context, string, int64, Patch) (Task, error) {
	return Task{}, ErrNotFound
}
func (m *memRepo) DeleteTask(context.Context, string, int64) error { return ErrNotFound }

func TestCreateValidation(t *testing.T) {
	tests := []struct {
		title, desc string
		wantTitle   string
		wantField   string
	}{
		{"  buy milk \n", "", "buy milk", ""},
		{strings.Repeat("é", 200), "", strings.Repeat("é", 200), ""},
		{strings.Repeat("é", 201), "", "", "title"},
		{"", "", "", "title"},
		{" \t ", "", "", "title"},
		{"a\x00b", "", "", "title"},
		{"a\nb", "", "", "title"},
		{"\xff", "", "", "title"},
		{"ok", strings.Repeat("d", 1000), "ok", ""},
		{"ok", strings.Repeat("d", 1001), "", "description"},
		{"ok", "line 1\nline 2\ttabbed", "ok", ""},
		{"ok", "bell\x07", "", "description"},
	}
	for _, tt := range tests {
		repo := &memRepo{}
		got, err := NewService(repo).Create(context.Background(), "u", NewTask{Title: tt.title, Description: tt.desc})
		var ve *ValidationError
		switch {
		case tt.wantField == "" && err != nil:
			t.Errorf("Create(%q, %q): %v", tt.title, tt.desc, err)
		case tt.wantField == "" && got.Title != tt.wantTitle:
			t.Errorf("Create(%q) stored title %q, want %q", tt.title, got.Title, tt.wantTitle)
		case tt.wantField != "" && (!errors.As(err, &ve) || ve.Field != tt.wantField):
			t.Errorf("Create(%q, %q): %v, want a %s validation error", tt.title, tt.desc, err, tt.wantField)
		case tt.wantField != "" && len(repo.created) != 0:
			t.Errorf("Create(%q): invalid input reached the repository", tt.title)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for in, want := range map[string]Status{"": StatusAll, "all": StatusAll, "PENDING": StatusPending, " completed ": StatusCompleted} {
		if got, err := ParseStatus(in); err != nil || got != want {
			t.Errorf("ParseStatus(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseStatus("done"); err == nil {
		t.Error(`ParseStatus("done") accepted`)
	}
}

func TestEmptyPatchReadsWithoutWriting(t *testing.T) {
	_, err := NewService(&memRepo{}).Update(context.Background(), "u", 1, Patch{})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty patch of a missing task: %v", err)
	}
}
