package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/todo-app/todo-app/backend/internal/tasks"
)

// pathID parses the {id} path segment; a malformed id is a 404, like a missing one.
func pathID(w http.ResponseWriter, r *http.Request, what string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, r, http.StatusNotFound, "not_found", what+" not found")
		return 0, false
	}
	return id, true
}

// revalidate says the client wants what the database holds now, not what a
// replica believes current (Cache-Control: no-cache or max-age=0, as after
// its own write through another replica).
func revalidate(r *http.Request) bool {
	for _, v := range r.Header.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if d := strings.ToLower(strings.TrimSpace(d)); d == "no-cache" || d == "max-age=0" {
				return true
			}
		}
	}
	return false
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) {
	status, err := tasks.ParseStatus(r.URL.Query().Get("status"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	doc, err := s.tasks.ListDocument(r.Context(), userID(r.Context()), status, revalidate(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The hot path: the listing comes encoded, often straight from memory,
	// and goes out in one write (three writes made three system calls).
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	w.Write(doc)
}

type createTaskRequest struct {
	Title       string `json:"title"`
	Description string `json:"description"`
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) {
	var req createTaskRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.tasks.Create(r.Context(), userID(r.Context()), tasks.NewTask{Title: req.Title, Description: req.Description})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/tasks/"+strconv.FormatInt(t.ID, 10))
	writeJSON(w, http.StatusCreated, t)
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "task")
	if !ok {
		return
	}
	t, err := s.tasks.Get(r.Context(), userID(r.Context()), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

type patchTaskRequest struct {
	Title       *string `json:"title"`
	Description *string `json:"description"`
	Completed   *bool   `json:"completed"`
}

func (s *Server) updateTask(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "task")
	if !ok {
		return
	}
	var req patchTaskRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.tasks.Update(r.Context(), userID(r.Context()), id,
		tasks.Patch{Title: req.Title, Description: req.Description, Completed: req.Completed})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) deleteTask(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "task")
	if !ok {
		return
	}
	if err := s.tasks.Delete(r.Context(), userID(r.Context()), id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
